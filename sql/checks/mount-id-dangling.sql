-- check: mount-id-dangling
-- severity: error
-- meaning: a mount's mount-id or init-id names no overlay2 dir (or is missing or malformed)
--
-- Not for a container that dockerd was removing (Dead, RemovalInProgress):
-- that is container-removal-leftover, garbage.
SELECT m.container_id AS object,
       'image/overlay2/layerdb/mounts/' || m.container_id AS path,
       CASE WHEN m.mount_id_state <> 'ok' THEN 'mount-id file is ' || m.mount_id_state
            WHEN NOT EXISTS (SELECT 1 FROM overlay_dir o INDEXED BY overlay_dir_name WHERE o.name = m.mount_id)
                THEN 'mount-id names overlay2/' || m.mount_id || ', which does not exist'
            WHEN m.init_id_state NOT IN ('ok', 'missing') THEN 'init-id file is ' || m.init_id_state
            ELSE 'init-id names overlay2/' || m.init_id || ', which does not exist' END AS detail,
       m.mtime
FROM mount m
WHERE (m.mount_id_state <> 'ok'
       OR NOT EXISTS (SELECT 1 FROM overlay_dir o INDEXED BY overlay_dir_name WHERE o.name = m.mount_id)
       OR m.init_id_state NOT IN ('ok', 'missing')
       OR (m.init_id_state = 'ok' AND NOT EXISTS (SELECT 1 FROM overlay_dir o INDEXED BY overlay_dir_name WHERE o.name = m.init_id)))
  AND NOT EXISTS (SELECT 1 FROM container c WHERE c.id = m.container_id AND (c.dead OR c.removing)
                  AND c.name_ok AND m.name_ok AND m.mount_id_state <> 'unreadable'
                  AND m.init_id_state <> 'unreadable' AND NOT EXISTS (SELECT 1 FROM scan_error));
