-- check: container-snapshot-missing
-- severity: error
-- meaning: a container whose snapshotKey names no snapshot
-- store: containerd
--
-- ctr snapshots rm removes a snapshot a container still names; the
-- container then cannot start. Object: <namespace>/<container id>.
SELECT c.ns || '/' || c.id AS object,
       NULL AS path,
       'snapshot ' || (SELECT z.s FROM cd_str z WHERE z.id = c.snapshot_key) || ' of snapshotter '
       || coalesce(c.snapshotter, '?') || ' does not exist' AS detail,
       c.updated AS mtime
FROM cdi_container c
WHERE c.snapshot_key IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM cdi_snapshot s
                  WHERE s.ns = c.ns AND s.snapshotter = coalesce(c.snapshotter, '') AND s.key = c.snapshot_key)
  AND (SELECT z.s FROM cd_str z WHERE z.id = c.snapshot_key) <> '';
