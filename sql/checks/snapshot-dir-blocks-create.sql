-- check: snapshot-dir-blocks-create
-- severity: error
-- meaning: snapshots/N with N = the snapshotter's sequence + 1 and no snapshot: the next Prepare fails with "file exists"
-- store: containerd
-- action: reap
--
-- The overlayfs snapshotter hands out id sequence + 1 and renames its
-- new-* dir to snapshots/<id>; a dir already there (left by a crash) makes
-- that rename fail, and the failure's cleanup deletes the dir with
-- whatever it held: one pull or run fails per such leftover.
SELECT d.name AS object,
       'io.containerd.snapshotter.v1.overlayfs/snapshots/' || d.name AS path,
       'the next snapshot gets id ' || d.name || ' (sequence ' || (CAST(d.name AS INTEGER) - 1) || ' + 1): its rename '
       || 'onto this dir fails with "file exists"' AS detail,
       d.mtime
FROM cd_snapdir d
WHERE d.name = (SELECT CAST(db.sequence + 1 AS TEXT) FROM cd_db db
                WHERE db.name = 'metadata.db' AND db.state = 'ok' AND db.sequence IS NOT NULL)
  AND NOT EXISTS (SELECT 1 FROM cdi_backend b WHERE b.id = CAST(d.name AS INTEGER));
