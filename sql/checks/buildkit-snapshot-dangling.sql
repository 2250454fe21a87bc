-- check: buildkit-snapshot-dangling
-- severity: warning
-- meaning: buildkit/snapshots.db names an overlay2 dir that does not exist
--
-- BuildKit recreates what it misses; `docker builder prune` clears it.
SELECT b.dir AS object,
       'buildkit/snapshots.db' AS path,
       'snapshot ' || b.snapshot_key || ' names overlay2/' || b.dir || ', which does not exist' AS detail,
       NULL AS mtime
FROM buildkit_dir b
WHERE NOT EXISTS (SELECT 1 FROM overlay_dir o INDEXED BY overlay_dir_name WHERE o.name = b.dir);
