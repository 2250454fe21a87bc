-- check: snapshot-dir-missing
-- severity: error
-- meaning: a snapshot in the overlayfs snapshotter's metadata.db whose snapshots/<id>/fs is absent
-- store: containerd
--
-- Mounting it (or any snapshot above it) fails with "failed to stat
-- parent: ... no such file or directory"; containerd does not notice
-- (ctr images check still says complete) and never recovers on its own.
SELECT CAST(b.id AS TEXT) AS object,
       'io.containerd.snapshotter.v1.overlayfs/snapshots/' || b.id || '/fs' AS path,
       'snapshot ' || (SELECT z.s FROM cd_str z WHERE z.id = b.name)
       || CASE b.kind WHEN 3 THEN ' (committed)' WHEN 2 THEN ' (active)' WHEN 1 THEN ' (view)' ELSE '' END
       || CASE WHEN d.name IS NULL THEN ': its dir is missing' ELSE ': its dir has no fs/' END AS detail,
       b.updated AS mtime
FROM cdi_backend b
LEFT JOIN cd_snapdir d ON d.name = CAST(b.id AS TEXT)
WHERE b.id IS NOT NULL AND (d.name IS NULL OR d.has_fs = 0)
  AND NOT EXISTS (SELECT 1 FROM scan_error WHERE path = 'io.containerd.snapshotter.v1.overlayfs/snapshots')
ORDER BY b.id, (SELECT z.s FROM cd_str z WHERE z.id = b.name);
