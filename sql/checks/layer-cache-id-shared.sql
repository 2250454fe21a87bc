-- check: layer-cache-id-shared
-- severity: error
-- meaning: two layers, or a layer and a mount, claim the same overlay2 dir
--
-- Removing either claimant would destroy the other's content.
SELECT dir AS object,
       'overlay2/' || dir AS path,
       'claimed by ' || group_concat(CASE by_kind WHEN 'layer' THEN 'layer sha256:' || by_id
                                                 WHEN 'mount' THEN 'container ' || by_id
                                                 WHEN 'init' THEN 'container ' || by_id || ' (init)'
                                                 ELSE 'BuildKit snapshot ' || by_id END, ', ') AS detail,
       NULL AS mtime
FROM overlay_ref
WHERE by_kind NOT IN ('buildkit', 'lower')
GROUP BY dir
HAVING count(*) > 1;
