-- check: overlay-work-missing
-- severity: error
-- meaning: a referenced overlay2 dir with a lower file has no work/ directory
-- needs: overlay_ref
-- action: repair
--
-- dockerd's overlay2 driver makes work/ (mode 0700) in every dir that has a
-- parent (image layers above the base, a container's -init and RW dirs,
-- BuildKit dirs), and mounts a dir that has a lower file as an overlay with
-- work/ as its work dir: a container whose RW dir lost work/ fails to start
-- with "error creating overlay mount to .../merged: no such file or
-- directory". A dir with a parent whose lower file is missing too is
-- reported by overlay-lower-invalid (--repair makes both); dirs without
-- diff/ by overlay-diff-missing.
SELECT o.name AS object,
       'overlay2/' || o.name || '/work' AS path,
       'work/ is missing or not a directory' AS detail,
       o.mtime
FROM overlay_dir o
WHERE o.has_work = 0 AND o.has_diff = 1 AND o.lower_state <> 'missing'
  AND EXISTS (SELECT 1 FROM overlay_ref r WHERE r.dir = o.name)
  AND o.name NOT IN (SELECT dir FROM removal_dir);
