-- check: container-removal-leftover
-- severity: garbage
-- meaning: a container dockerd was removing (Dead or removal in progress) whose mount entry or RW dir is already gone in part
-- action: reap
--
-- docker rm marks the container Dead in config.v2.json, deletes its RW dir,
-- its -init dir, then layerdb/mounts/<id> file by file, then
-- containers/<id>. Killed part way, dockerd drops the container when it
-- starts ("mount does not exist"), docker rm answers "No such container",
-- and containers/<id> (logs included) and what is left of the mount entry
-- stay forever. Killed while a dir was being deleted (no link file, no
-- lower, part of diff/ left), dockerd keeps the container Dead and never
-- finishes it; that dir's damage is this finding's, not an overlay error
-- (the removal_dir view). The same damage on a container that was not
-- being removed is mount-id-dangling or an overlay error (errors). Owns the mount entry and what is left of
-- the container's dirs and their l/ links.
SELECT c.id AS object,
       'containers/' || c.id AS path,
       'container' || coalesce(' ' || c.name, '') || ' was being removed (' ||
           CASE WHEN c.dead THEN 'Dead' ELSE 'RemovalInProgress' END || '); its ' ||
           CASE WHEN m.mount_id_state <> 'ok' THEN 'mount-id file is ' || m.mount_id_state
                WHEN NOT EXISTS (SELECT 1 FROM overlay_dir o INDEXED BY overlay_dir_name WHERE o.name = m.mount_id)
                    THEN 'RW dir overlay2/' || m.mount_id || ' is gone'
                WHEN EXISTS (SELECT 1 FROM overlay_dir o WHERE o.name = m.mount_id AND
                             (o.link_state <> 'ok' OR NOT o.has_diff OR o.lower_state = 'missing'))
                    THEN 'RW dir overlay2/' || m.mount_id || ' is half deleted'
                WHEN m.init_id_state = 'ok' AND EXISTS (SELECT 1 FROM overlay_dir o WHERE o.name = m.init_id)
                    THEN 'init dir overlay2/' || m.init_id || ' is half deleted'
                ELSE 'init dir is gone' END ||
           ': dockerd will not load it' AS detail,
       'image/overlay2/layerdb/mounts/' || m.container_id ||
           coalesce((SELECT char(10) || 'overlay2/' || o.name || coalesce(char(10) || 'overlay2/l/' || k.name, '')
                     FROM overlay_dir o LEFT JOIN link k ON k.name = o.link AND k.target_dir = o.name
                     WHERE m.mount_id_state = 'ok' AND o.name = m.mount_id), '') ||
           coalesce((SELECT char(10) || 'overlay2/' || o.name || coalesce(char(10) || 'overlay2/l/' || k.name, '')
                     FROM overlay_dir o LEFT JOIN link k ON k.name = o.link AND k.target_dir = o.name
                     WHERE m.init_id_state = 'ok' AND o.name = m.init_id), '') AS owned,
       c.mtime
FROM container c JOIN mount m ON m.container_id = c.id
WHERE (c.dead OR c.removing) AND c.name_ok AND m.name_ok
  AND (m.mount_id_state <> 'ok'
       OR NOT EXISTS (SELECT 1 FROM overlay_dir o INDEXED BY overlay_dir_name WHERE o.name = m.mount_id)
       OR m.init_id_state NOT IN ('ok', 'missing')
       OR (m.init_id_state = 'ok' AND NOT EXISTS (SELECT 1 FROM overlay_dir o INDEXED BY overlay_dir_name WHERE o.name = m.init_id))
       -- docker rm was deleting a dir file by file: no link file, no diff/, the RW dir's lower gone
       OR EXISTS (SELECT 1 FROM overlay_dir o WHERE o.name = m.mount_id AND m.mount_id_state = 'ok'
                  AND (o.link_state <> 'ok' OR NOT o.has_diff OR o.lower_state = 'missing'))
       OR EXISTS (SELECT 1 FROM overlay_dir o WHERE o.name = m.init_id AND m.init_id_state = 'ok'
                  AND (o.link_state <> 'ok' OR NOT o.has_diff)))
  AND m.mount_id_state <> 'unreadable' AND m.init_id_state <> 'unreadable'
  AND NOT EXISTS (SELECT 1 FROM scan_error);
