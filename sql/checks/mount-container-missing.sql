-- check: mount-container-missing
-- severity: garbage
-- meaning: a layerdb/mounts/<id> entry has no containers/<id>
-- action: reap
--
-- Left by an interrupted container create or remove; it pins its image's
-- layers forever. Owns the container's RW and -init dirs and their links.
SELECT m.container_id AS object,
       'image/overlay2/layerdb/mounts/' || m.container_id AS path,
       'no container ' || m.container_id ||
           CASE WHEN m.mount_id_state = 'ok' THEN ' (RW layer overlay2/' || m.mount_id || ')' ELSE '' END AS detail,
       nullif(
           coalesce((SELECT 'overlay2/' || o.name || coalesce(char(10) || 'overlay2/l/' || k.name, '')
                     FROM overlay_dir o LEFT JOIN link k ON k.name = o.link AND k.target_dir = o.name
                     WHERE m.mount_id_state = 'ok' AND o.name = m.mount_id), '') ||
           coalesce((SELECT char(10) || 'overlay2/' || o.name || coalesce(char(10) || 'overlay2/l/' || k.name, '')
                     FROM overlay_dir o LEFT JOIN link k ON k.name = o.link AND k.target_dir = o.name
                     WHERE m.init_id_state = 'ok' AND o.name = m.init_id), ''),
           '') AS owned,
       m.mtime
FROM mount m
WHERE m.name_ok
  AND NOT EXISTS (SELECT 1 FROM container c WHERE c.id = m.container_id)
  AND NOT EXISTS (SELECT 1 FROM scan_error);
