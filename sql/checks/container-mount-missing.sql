-- check: container-mount-missing
-- severity: garbage
-- meaning: a containers/<id> dir of the overlay2 driver has no mount entry
-- action: reap
--
-- Left by an interrupted container removal; dockerd no longer shows it.
SELECT c.id AS object,
       'containers/' || c.id AS path,
       'container' || coalesce(' ' || c.name, '') || ' has no layerdb/mounts entry' AS detail,
       c.mtime
FROM container c
WHERE c.driver = 'overlay2' AND c.name_ok
  AND NOT EXISTS (SELECT 1 FROM mount m WHERE m.container_id = c.id)
  AND NOT EXISTS (SELECT 1 FROM scan_error);
