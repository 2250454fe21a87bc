-- check: overlay-link-mismatch
-- severity: error
-- meaning: an l/ symlink points to a dir whose link file names another short name
-- action: repair
SELECT k.name AS object,
       'overlay2/l/' || k.name AS path,
       'points to overlay2/' || o.name || ', whose link file says ' || o.link AS detail,
       k.mtime
FROM link k
JOIN overlay_dir o INDEXED BY overlay_dir_name ON o.name = k.target_dir
WHERE k.type = 'symlink' AND o.link_state = 'ok' AND o.link <> k.name;
