-- check: overlay-tmp-leftover
-- severity: garbage
-- meaning: a .tmp-* file in an overlay2 dir or in overlay2/l/ left by an interrupted atomic write (Docker 26+)
-- needs: overlay_ref
-- action: reap
--
-- Docker 26 and later write an overlay2 dir's link, lower and committed
-- files through a temporary file in the same dir (.tmp-<name><random>,
-- synced, then renamed over the name); a crash in between leaves it, and
-- nothing ever removes it. dockerd keeps no .tmp-* file. Files and symlinks
-- only (anything else there is left alone), in dirs something claims or in
-- l/: a .tmp-* file inside a dir that nothing claims goes with the dir
-- (overlay-dir-orphaned), and reporting it twice would plan it twice.
SELECT t.dir || '/' || t.name AS object,
       'overlay2/' || t.dir || '/' || t.name AS path,
       CASE WHEN t.dir = 'l' THEN 'leftover of an interrupted write in overlay2/l/ ('
            ELSE 'leftover of an interrupted write of overlay2/' || t.dir || '/' ||
                 CASE WHEN t.name GLOB '.tmp-link*' THEN 'link'
                      WHEN t.name GLOB '.tmp-lower*' THEN 'lower'
                      WHEN t.name GLOB '.tmp-committed*' THEN 'committed'
                      ELSE substr(t.name, 6) END || ' (' END ||
           t.type || ', ' || t.size || ' bytes)' AS detail,
       t.mtime
FROM overlay_tmp t
WHERE t.type IN ('file', 'symlink')
  AND (t.dir = 'l' OR EXISTS (SELECT 1 FROM overlay_ref r WHERE r.dir = t.dir));
