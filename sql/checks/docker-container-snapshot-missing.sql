-- check: docker-container-snapshot-missing
-- severity: error
-- meaning: a Docker container (containers/<id>) whose rw snapshot <id> is not in namespace moby
-- store: containerd
--
-- Docker on the containerd image store keeps each container's rw layer as
-- snapshot <container id> (parent <id>-init) of its snapshotter in
-- namespace moby; without it the container cannot start. Only checked for
-- a Docker root (its containers/ is scanned too); a container dockerd was
-- removing is docker-container-removal-leftover's. Object: moby/<container id>.
WITH cid(id, s) AS MATERIALIZED (
    SELECT z.id, z.s FROM cd_str z
    WHERE EXISTS (SELECT 1 FROM meta WHERE key = 'docker_root') AND z.s IN (SELECT id FROM container)
)
SELECT 'moby/' || c.id AS object,
       NULL AS path,
       'container ' || coalesce(nullif(ltrim(c.name, '/'), ''), c.id) || ': its rw snapshot ' || c.id
       || ' of snapshotter ' || coalesce(nullif(c.driver, ''), 'overlayfs') || ' does not exist' AS detail,
       c.mtime AS mtime
FROM container c
LEFT JOIN cid k ON k.s = c.id
WHERE c.config_state = 'ok' AND NOT c.dead AND NOT c.removing
  AND EXISTS (SELECT 1 FROM meta WHERE key = 'docker_root')
  AND NOT EXISTS (SELECT 1 FROM cdi_snapshot s
                  WHERE s.ns = 'moby' AND s.snapshotter = coalesce(nullif(c.driver, ''), 'overlayfs') AND s.key = k.id)
  AND NOT EXISTS (SELECT 1 FROM scan_error);
