-- check: snapshot-extract-leftover
-- severity: garbage
-- meaning: an extract-* active snapshot of an interrupted unpack
-- store: containerd
--
-- An unpack prepares "extract-<nanos>-<rand> <chainID>", applies the layer
-- and commits it under the chainID; a killed containerd leaves the active
-- snapshot with partial files, held by the unpack's lease until that
-- expires (24 h for ctr and the Go client) and by nothing after. Object:
-- <namespace>/<key>; the detail names the holding lease and its expiry.
WITH s(ns, snapshotter, key, name, updated, id) AS (
    SELECT x.ns, x.snapshotter, (SELECT z.s FROM cd_str z WHERE z.id = x.key),
           (SELECT z.s FROM cd_str z WHERE z.id = x.name), x.updated, b.id
    FROM cdi_snapshot x
    LEFT JOIN cdi_backend b ON b.name = x.name
    WHERE x.key IN (SELECT z.id FROM cd_str z WHERE z.s GLOB 'extract-*')
)
SELECT s.ns || '/' || s.key AS object,
       CASE WHEN s.id IS NOT NULL THEN 'io.containerd.snapshotter.v1.overlayfs/snapshots/' || s.id END AS path,
       'interrupted unpack of ' || coalesce(substr(s.key, instr(s.key, ' ') + 1), '?')
       || coalesce('; held by lease ' || (SELECT group_concat(l.id || CASE WHEN l.expire IS NULL THEN ' (never expires)'
                                                                      WHEN l.expire_at < (SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'scan_time')
                                                                      THEN ' (expired ' || l.expire || ')'
                                                                      ELSE ' (expires ' || l.expire || ')' END, ', ')
                                          FROM cd_lease_resource r JOIN cd_lease l ON l.ns = r.ns AND l.id = r.lease
                                          WHERE r.kind = 'snapshot' AND r.ns = s.ns AND r.sub = s.snapshotter AND r.id = s.key),
                  '; no lease holds it') AS detail,
       coalesce((SELECT d.mtime FROM cd_snapdir d WHERE d.name = CAST(s.id AS TEXT)), s.updated) AS mtime
FROM s
ORDER BY s.name, s.ns, s.snapshotter, s.key;
