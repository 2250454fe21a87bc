-- check: lease-container-missing
-- severity: garbage
-- meaning: a Docker container lease (namespace moby) whose container no longer exists: a leaked rw layer
-- store: containerd
--
-- Docker on the containerd image store holds each container's rw
-- snapshot with a lease named after the container id that never expires;
-- a removal that did not finish leaves it and its snapshots for ever.
-- Only checked for a Docker root (its containers/ is scanned too).
SELECT l.ns || '/' || l.id AS object,
       NULL AS path,
       'no containers/' || l.id || ' in the Docker root; holds '
       || coalesce((SELECT group_concat(r.id, ', ') FROM cd_lease_resource r
                    WHERE r.ns = l.ns AND r.lease = l.id AND r.kind = 'snapshot'), 'no snapshot') AS detail,
       l.created AS mtime
FROM cd_lease l
WHERE l.ns = 'moby' AND l.expire IS NULL
  AND length(l.id) = 64 AND l.id NOT GLOB '*[^0-9a-f]*'
  AND EXISTS (SELECT 1 FROM meta WHERE key = 'docker_root')
  AND NOT EXISTS (SELECT 1 FROM container c WHERE c.id = l.id)
  AND NOT EXISTS (SELECT 1 FROM scan_error);
