-- check: snapshot-name-dangling
-- severity: error
-- meaning: a meta.db overlayfs snapshot whose name is not in the snapshotter's metadata.db
-- store: containerd
--
-- The namespaced record survives, the snapshot itself is gone: every
-- mount of it, or of an image or container above it, fails. Object:
-- <namespace>/<key>.
SELECT s.ns || '/' || s.key AS object,
       NULL AS path,
       'names ' || coalesce(s.name, '(no name)') || ', which metadata.db does not have' AS detail,
       s.updated AS mtime
FROM cd_snapshot s
WHERE s.snapshotter = 'overlayfs'
  AND NOT EXISTS (SELECT 1 FROM cd_backend b WHERE b.name = s.name)
  AND EXISTS (SELECT 1 FROM cd_db WHERE name = 'metadata.db' AND state = 'ok');
