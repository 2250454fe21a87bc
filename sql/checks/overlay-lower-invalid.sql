-- check: overlay-lower-invalid
-- severity: error
-- meaning: a lower file is empty or malformed, names missing l/ entries, or disagrees with the layer's parent chain
-- needs: overlay_ref, expected_lower, lower_unresolved
-- action: repair
--
-- The expected lower of each dir (expected_lower, built by sql/derive.sql
-- from the layer chain and the link files) is "l/<parent's link>" followed
-- by the parent's own entries, nearest parent first; a container's RW dir
-- sits on its -init dir, the -init dir on the image's top layer.
WITH problem(dir, rank, detail) AS (
    SELECT o.name, 1, 'lower file is ' || o.lower_state || coalesce(': ' || substr(o.lower, 1, 80), '')
    FROM overlay_dir o WHERE o.lower_state IN ('empty', 'invalid', 'unreadable')
    UNION ALL
    SELECT e.dir, 2, 'lower file is missing; expected ' || e.lower
    FROM expected_lower e JOIN overlay_dir o ON o.name = e.dir
    WHERE o.lower_state = 'missing' AND e.lower IS NOT NULL
    UNION ALL
    SELECT x.dir, 3, 'entry ' || (x.idx + 1) || ' (' || x.entry || ') names no l/ symlink'
    FROM lower_unresolved x
    UNION ALL
    SELECT e.dir, 4, CASE WHEN e.lower IS NULL THEN 'base layer has a lower file'
                          ELSE 'does not match the parent chain; expected ' || e.lower END
    FROM expected_lower e JOIN overlay_dir o ON o.name = e.dir
    WHERE o.lower_state = 'ok' AND (e.lower IS NULL OR e.lower <> o.lower)
)
-- one finding per dir: the row of its most basic problem (SQLite takes bare
-- columns from the row that holds the min())
SELECT p.dir AS object,
       'overlay2/' || p.dir || '/lower' AS path,
       p.detail AS detail,
       min(p.rank) AS rank,
       o.mtime
FROM problem p JOIN overlay_dir o ON o.name = p.dir
WHERE EXISTS (SELECT 1 FROM overlay_ref r WHERE r.dir = o.name)
  AND o.name NOT IN (SELECT dir FROM removal_dir)
GROUP BY p.dir;
