-- check: overlay-stray-entry
-- severity: warning
-- meaning: an entry in overlay2/ or overlay2/l/ that dockerd never creates
--
-- Files, symlinks and oddly named dirs are listed, never removed.
SELECT name AS object,
       'overlay2/' || name AS path,
       'unexpected ' || type || ' in overlay2/' AS detail,
       NULL AS mtime
FROM overlay_stray
UNION ALL
SELECT name, 'overlay2/l/' || name, 'unexpected ' || type || ' in overlay2/l/ (not a symlink)', NULL
FROM link WHERE type <> 'symlink';
