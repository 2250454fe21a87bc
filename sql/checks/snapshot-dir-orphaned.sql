-- check: snapshot-dir-orphaned
-- severity: garbage
-- meaning: a snapshots/ dir of the overlayfs snapshotter that is no snapshot id in its metadata.db
-- store: containerd
-- action: reap
--
-- A numeric dir whose id metadata.db does not have (a crash between the
-- rename and the commit), or a transient new-* dir of a Prepare that never
-- finished. containerd's GC removes them only after it deleted a snapshot
-- record; a restart alone does not. The dir numbered sequence + 1 is
-- snapshot-dir-blocks-create instead. Not reported while metadata.db
-- cannot be read or a dir could not be listed.
SELECT d.name AS object,
       'io.containerd.snapshotter.v1.overlayfs/snapshots/' || d.name AS path,
       CASE WHEN d.name GLOB 'new-*' THEN 'transient dir of a Prepare that never finished'
            ELSE 'metadata.db has no snapshot with this id' END AS detail,
       d.mtime
FROM cd_snapdir d
WHERE NOT (d.name GLOB '[1-9]*' AND d.name NOT GLOB '*[^0-9]*' AND length(d.name) <= 18
           AND (EXISTS (SELECT 1 FROM cdi_backend b WHERE b.id = CAST(d.name AS INTEGER))
                OR CAST(d.name AS INTEGER) = (SELECT sequence + 1 FROM cd_db WHERE name = 'metadata.db')))
  AND EXISTS (SELECT 1 FROM cd_db WHERE name = 'metadata.db' AND state = 'ok')
  AND NOT EXISTS (SELECT 1 FROM cd_db_bad)
  AND NOT EXISTS (SELECT 1 FROM scan_error);
