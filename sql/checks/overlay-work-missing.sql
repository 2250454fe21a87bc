-- check: overlay-work-missing
-- severity: error
-- meaning: a referenced overlay2 dir of a layer with a parent has no work/ directory
--
-- dockerd's overlay2 driver makes work/ (mode 0700) in every dir that has a
-- parent: image layers above the base, a container's -init and RW dirs
-- (and BuildKit dirs with a lower file). Its overlay mount needs it: a
-- container whose RW dir lost work/ fails to start with "error creating
-- overlay mount to .../merged: no such file or directory". Dirs without
-- diff/ are reported by overlay-diff-missing instead.
WITH has_parent(dir) AS (
    SELECT cache_id FROM layer WHERE cache_id_state = 'ok' AND parent_state = 'ok'
    UNION
    SELECT init_id FROM mount WHERE init_id_state = 'ok' AND parent_state = 'ok'
    UNION
    SELECT mount_id FROM mount WHERE mount_id_state = 'ok' AND (init_id_state = 'ok' OR parent_state = 'ok')
    UNION
    SELECT name FROM overlay_dir WHERE lower_state <> 'missing'
)
SELECT o.name AS object,
       'overlay2/' || o.name || '/work' AS path,
       'work/ is missing or not a directory' AS detail,
       o.mtime
FROM overlay_dir o
WHERE o.has_work = 0 AND o.has_diff = 1
  AND o.name IN (SELECT dir FROM has_parent)
  AND EXISTS (SELECT 1 FROM overlay_ref r WHERE r.dir = o.name);
