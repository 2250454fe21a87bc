-- check: snapshot-backend-orphaned
-- severity: garbage
-- meaning: a snapshot in the overlayfs snapshotter's metadata.db that no meta.db snapshot names and no lease holds
-- store: containerd
--
-- containerd's GC removes such a snapshot only after it deleted a snapshot
-- record of its own (a crash between the two databases' commits, or a
-- stop right after a removal, leaves it). Not reported while either
-- database cannot be read, nor while a child in meta.db still names it.
SELECT (SELECT z.s FROM cd_str z WHERE z.id = b.name) AS object,
       'io.containerd.snapshotter.v1.overlayfs/snapshots/' || b.id AS path,
       'id ' || b.id || CASE b.kind WHEN 3 THEN ', committed' WHEN 2 THEN ', active' WHEN 1 THEN ', view' ELSE '' END
       || ': no snapshot record in namespace ' || coalesce(b.ns, '?') || ' names it' AS detail,
       coalesce((SELECT d.mtime FROM cd_snapdir d WHERE d.name = CAST(b.id AS TEXT)), b.updated) AS mtime
FROM cdi_backend b
WHERE NOT EXISTS (SELECT 1 FROM cdi_snapshot s WHERE s.name = b.name AND s.snapshotter = 'overlayfs')
  AND NOT EXISTS (SELECT 1 FROM cd_lease_resource r
                  WHERE r.kind = 'snapshot' AND r.ns = b.ns AND r.sub = 'overlayfs'
                    AND r.id = (SELECT z.s FROM cd_str z WHERE z.id = b.key))
  AND NOT EXISTS (SELECT 1 FROM cdi_backend c JOIN cdi_snapshot s2 ON s2.name = c.name AND s2.snapshotter = 'overlayfs'
                  WHERE c.parent = b.name)
  AND EXISTS (SELECT 1 FROM cd_db WHERE name = 'meta.db' AND state = 'ok')
  AND EXISTS (SELECT 1 FROM cd_db WHERE name = 'metadata.db' AND state = 'ok')
  AND NOT EXISTS (SELECT 1 FROM cd_db_bad)
  AND NOT EXISTS (SELECT 1 FROM scan_error)
ORDER BY object;
