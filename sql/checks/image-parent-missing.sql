-- check: image-parent-missing
-- severity: warning
-- meaning: an image's metadata parent names no image
--
-- Harmless for running containers; `docker image ls` history is cut short.
SELECT p.image_id AS object,
       'image/overlay2/imagedb/metadata/sha256/' || p.image_id || '/parent' AS path,
       CASE WHEN p.parent_state = 'ok' THEN 'parent sha256:' || p.parent || ' does not exist'
            ELSE 'parent file is ' || p.parent_state END AS detail,
       NULL AS mtime
FROM image_parent p
WHERE p.parent_state <> 'ok'
   OR NOT EXISTS (SELECT 1 FROM image i WHERE i.id = p.parent);
