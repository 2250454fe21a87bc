-- check: container-image-missing
-- severity: warning
-- meaning: a container's image no longer exists
--
-- The container still runs from its own layers; it cannot be recreated.
SELECT c.id AS object,
       'containers/' || c.id || '/config.v2.json' AS path,
       'image sha256:' || c.image || ' does not exist' AS detail,
       NULL AS mtime
FROM container c
WHERE c.image IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM image i WHERE i.id = c.image);
