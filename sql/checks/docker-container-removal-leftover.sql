-- check: docker-container-removal-leftover
-- severity: garbage
-- meaning: a Docker container dockerd was removing (Dead or removal in progress) whose rw snapshot is gone: containers/<id> stays for ever
-- store: containerd
--
-- docker rm on the containerd image store marks the container Dead in
-- config.v2.json, deletes its lease <id> (containerd's GC then removes
-- the rw snapshots <id> and <id>-init), then containers/<id>. Killed in
-- between (seen with Docker 28.5), dockerd no longer loads the container
-- when it starts, docker rm answers "No such container", and
-- containers/<id> (logs included) stays. Only checked for a Docker root
-- (its containers/ is scanned too). Object: moby/<container id>; remove
-- containers/<id> with dockerd stopped.
WITH cid(id, s) AS MATERIALIZED (
    SELECT z.id, z.s FROM cd_str z
    WHERE EXISTS (SELECT 1 FROM meta WHERE key = 'docker_root') AND z.s IN (SELECT id FROM container)
)
SELECT 'moby/' || c.id AS object,
       NULL AS path,
       'container ' || coalesce(nullif(ltrim(c.name, '/'), ''), c.id) || ' was being removed ('
       || CASE WHEN c.dead THEN 'Dead' ELSE 'RemovalInProgress' END || ') and its rw snapshot ' || c.id
       || ' is gone: dockerd does not load it; containers/' || c.id || ' in the Docker root is left' AS detail,
       c.mtime AS mtime
FROM container c
LEFT JOIN cid k ON k.s = c.id
WHERE c.config_state = 'ok' AND (c.dead OR c.removing)
  AND EXISTS (SELECT 1 FROM meta WHERE key = 'docker_root')
  AND NOT EXISTS (SELECT 1 FROM cdi_snapshot s
                  WHERE s.ns = 'moby' AND s.snapshotter = coalesce(nullif(c.driver, ''), 'overlayfs') AND s.key = k.id)
  AND NOT EXISTS (SELECT 1 FROM scan_error);
