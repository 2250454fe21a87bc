-- check: containerd-db-invalid
-- severity: error
-- meaning: containerd's meta.db or the overlayfs snapshotter's metadata.db cannot be read or is corrupt
-- store: containerd
--
-- Nothing is loaded from a file that does not read cleanly, and while one
-- is bad nothing is called unreferenced (no snapshot, blob or ingest is
-- reported as garbage). A missing metadata.db is fine while there are no
-- overlayfs snapshots and no snapshot dirs.
SELECT db.name AS object,
       db.path,
       db.state || coalesce(': ' || db.error, '') AS detail,
       NULL AS mtime
FROM cd_db db
WHERE db.state <> 'ok'
  AND NOT (db.name = 'metadata.db' AND db.state = 'missing'
           AND NOT EXISTS (SELECT 1 FROM cd_snapdir)
           AND NOT EXISTS (SELECT 1 FROM cd_snapshot WHERE snapshotter = 'overlayfs'));
