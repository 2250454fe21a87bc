-- check: overlay-diff-missing
-- severity: error
-- meaning: a referenced overlay2 dir has no diff/ directory
-- needs: overlay_ref
--
-- The layer's content is lost; re-pull the images that use it.
SELECT o.name AS object,
       'overlay2/' || o.name || '/diff' AS path,
       CASE WHEN o.diff_kind IS NULL THEN 'diff/ does not exist'
            ELSE 'diff is a ' || o.diff_kind || ', not a directory' END AS detail,
       o.mtime
FROM overlay_dir o
WHERE o.has_diff = 0
  AND EXISTS (SELECT 1 FROM overlay_ref r WHERE r.dir = o.name)
  AND o.name NOT IN (SELECT dir FROM removal_dir);
