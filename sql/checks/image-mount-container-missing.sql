-- check: image-mount-container-missing
-- severity: garbage
-- meaning: an image mount entry layerdb/mounts/<id>-<ref> (Docker 28) whose container is gone
-- action: reap
--
-- docker run --mount type=image,source=REF (Docker 28) gives the container
-- an RW layer on REF's image: layerdb/mounts/<container id>-<REF>/ (one dir
-- level per '/' of REF) with mount-id and parent. docker rm of 28.5 leaves
-- it behind; it pins the image's layers and holds its RW dir forever. Owns
-- that dir and its l/ link (and the -init dir if it names one).
SELECT i.path AS object,
       'image/overlay2/layerdb/mounts/' || i.path AS path,
       'no container ' || i.container_id || ' (image mount of ' || i.ref ||
           CASE WHEN m.mount_id_state = 'ok' THEN ', RW layer overlay2/' || m.mount_id ELSE '' END || ')' AS detail,
       nullif(
           coalesce((SELECT 'overlay2/' || o.name || coalesce(char(10) || 'overlay2/l/' || k.name, '')
                     FROM overlay_dir o LEFT JOIN link k ON k.name = o.link AND k.target_dir = o.name
                     WHERE m.mount_id_state = 'ok' AND o.name = m.mount_id), '') ||
           coalesce((SELECT char(10) || 'overlay2/' || o.name || coalesce(char(10) || 'overlay2/l/' || k.name, '')
                     FROM overlay_dir o LEFT JOIN link k ON k.name = o.link AND k.target_dir = o.name
                     WHERE m.init_id_state = 'ok' AND o.name = m.init_id), ''),
           '') AS owned,
       m.mtime
FROM image_mount i JOIN mount m ON m.container_id = i.path
WHERE NOT EXISTS (SELECT 1 FROM container c WHERE c.id = i.container_id)
  AND NOT EXISTS (SELECT 1 FROM scan_error);
