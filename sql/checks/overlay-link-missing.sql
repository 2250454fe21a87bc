-- check: overlay-link-missing
-- severity: error
-- meaning: a referenced overlay2 dir's link file is missing or empty, or its l/ symlink is absent
-- needs: overlay_ref
-- action: repair
--
-- Mounts fail with "readlink .../l/...: no such file or directory" or
-- "invalid argument" (moby#35747, moby#42456).
SELECT o.name AS object,
       CASE WHEN o.link_state = 'ok' THEN 'overlay2/l/' || o.link ELSE 'overlay2/' || o.name || '/link' END AS path,
       CASE WHEN o.link_state <> 'ok' THEN 'link file is ' || o.link_state
            WHEN k.name IS NULL THEN 'l/' || o.link || ' does not exist'
            ELSE 'l/' || o.link || ' is a ' || k.type || ', not a symlink' END AS detail,
       o.mtime
FROM overlay_dir o
LEFT JOIN link k ON k.name = o.link
WHERE (o.link_state IN ('missing', 'empty') OR (o.link_state = 'ok' AND (k.name IS NULL OR k.type <> 'symlink')))
  AND EXISTS (SELECT 1 FROM overlay_ref r WHERE r.dir = o.name)
  AND o.name NOT IN (SELECT dir FROM removal_dir);
