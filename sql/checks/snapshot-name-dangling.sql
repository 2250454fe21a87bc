-- check: snapshot-name-dangling
-- severity: error
-- meaning: a meta.db overlayfs snapshot whose name is not in the snapshotter's metadata.db
-- store: containerd
--
-- The namespaced record survives, the snapshot itself is gone: every
-- mount of it, or of an image or container above it, fails. Object:
-- <namespace>/<key>.
SELECT s.ns || '/' || (SELECT z.s FROM cd_str z WHERE z.id = s.key) AS object,
       NULL AS path,
       'names ' || coalesce((SELECT z.s FROM cd_str z WHERE z.id = s.name), '(no name)')
       || ', which metadata.db does not have' AS detail,
       s.updated AS mtime
FROM cdi_snapshot s
WHERE s.snapshotter = 'overlayfs'
  AND NOT EXISTS (SELECT 1 FROM cdi_backend b WHERE b.name = s.name)
  AND EXISTS (SELECT 1 FROM cd_db WHERE name = 'metadata.db' AND state = 'ok')
ORDER BY s.ns, (SELECT z.s FROM cd_str z WHERE z.id = s.key);
