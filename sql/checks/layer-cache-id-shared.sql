-- check: layer-cache-id-shared
-- severity: error
-- meaning: two layers, or a layer and a mount, claim the same overlay2 dir
-- needs: overlay_ref
--
-- Removing either claimant would destroy the other's content.
--
-- The dirs claimed twice are found on overlay_ref_dir alone (dir, by_kind:
-- a covering scan in dir order); only their rows are read for the text, in
-- the order the claims were derived (layers, then containers).
WITH shared AS (SELECT dir FROM overlay_ref WHERE by_kind NOT IN ('buildkit', 'lower') GROUP BY dir HAVING count(*) > 1)
SELECT dir AS object,
       'overlay2/' || dir AS path,
       'claimed by ' || group_concat(CASE by_kind WHEN 'layer' THEN 'layer sha256:' || by_id
                                                 WHEN 'mount' THEN 'container ' || by_id
                                                 WHEN 'init' THEN 'container ' || by_id || ' (init)'
                                                 ELSE 'BuildKit snapshot ' || by_id END, ', ') AS detail,
       NULL AS mtime
FROM (SELECT r.dir, r.by_kind, r.by_id FROM shared s JOIN overlay_ref r ON r.dir = s.dir
      WHERE r.by_kind NOT IN ('buildkit', 'lower') ORDER BY r.dir, r.rowid)
GROUP BY dir;
