-- check: docker-container-image-missing
-- severity: warning
-- meaning: a Docker container whose image is no image of namespace moby
-- store: containerd
--
-- On the containerd image store a container's Image is its image's target
-- (index or manifest digest); `docker rmi -f` of an image in use keeps a
-- moby-dangling@<digest> record, so a container whose image is in no
-- record of namespace moby lost it another way (ctr images rm, a lost
-- meta.db update). It still runs from its snapshots; it cannot be
-- recreated. The Docker store's container-image-missing does not apply
-- here (its images live in containerd). Object: moby/<container id>.
SELECT 'moby/' || c.id AS object,
       NULL AS path,
       'container ' || coalesce(nullif(ltrim(c.name, '/'), ''), c.id) || ': image sha256:' || c.image
       || ' is no image of namespace moby' AS detail,
       c.mtime AS mtime
FROM container c
WHERE c.config_state = 'ok' AND NOT c.dead AND NOT c.removing AND c.image IS NOT NULL
  AND EXISTS (SELECT 1 FROM meta WHERE key = 'docker_root')
  AND NOT EXISTS (SELECT 1 FROM cdi_image i CROSS JOIN cd_str z ON z.id = i.digest
                  WHERE i.ns = 'moby' AND z.s = 'sha256:' || c.image)
  AND NOT EXISTS (SELECT 1 FROM scan_error);
