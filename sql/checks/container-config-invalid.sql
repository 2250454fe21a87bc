-- check: container-config-invalid
-- severity: error
-- meaning: a container's config.v2.json is missing, not JSON or unreadable
--
-- dockerd skips such a container on start.
SELECT c.id AS object,
       'containers/' || c.id || '/config.v2.json' AS path,
       'config.v2.json is ' || c.config_state AS detail,
       c.mtime
FROM container c
WHERE c.config_state <> 'ok';
