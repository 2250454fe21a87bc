-- check: overlay-link-broken
-- severity: garbage
-- meaning: an l/ symlink whose target dir does not exist (or that points outside overlay2/)
-- action: reap
--
-- Removing it removes the link only, never what it points to.
SELECT k.name AS object,
       'overlay2/l/' || k.name AS path,
       CASE WHEN k.target_dir IS NULL THEN 'points to "' || k.target || '", not ../<id>/diff'
            ELSE 'points to ../' || k.target_dir || '/diff, which does not exist' END AS detail,
       k.mtime
FROM link k
WHERE k.type = 'symlink'
  AND (k.target_dir IS NULL OR NOT EXISTS (SELECT 1 FROM overlay_dir o INDEXED BY overlay_dir_name WHERE o.name = k.target_dir))
  AND NOT EXISTS (SELECT 1 FROM scan_error);
