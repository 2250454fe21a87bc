-- check: buildkit-db-invalid
-- severity: error
-- meaning: buildkit/snapshots.db cannot be read or is corrupt
--
-- While it is unreadable, no BuildKit dir is ever reported as orphaned.
SELECT 'snapshots.db' AS object,
       path,
       error AS detail,
       NULL AS mtime
FROM buildkit_db
WHERE state <> 'ok';
