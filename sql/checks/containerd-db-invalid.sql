-- check: containerd-db-invalid
-- severity: error
-- meaning: containerd's meta.db or the overlayfs snapshotter's metadata.db cannot be read or is corrupt
-- store: containerd
--
-- Nothing is loaded from a file that does not read cleanly, and while one
-- is bad nothing is called unreferenced (no snapshot, blob or ingest is
-- reported as garbage). A missing metadata.db is fine while there are no
-- overlayfs snapshots and no snapshot dirs (the view cd_db_bad, which the
-- garbage checks consult).
SELECT db.name AS object,
       db.path,
       db.state || coalesce(': ' || db.error, '') AS detail,
       NULL AS mtime
FROM cd_db db
WHERE db.name IN (SELECT name FROM cd_db_bad);
