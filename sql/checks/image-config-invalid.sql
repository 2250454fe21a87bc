-- check: image-config-invalid
-- severity: error
-- meaning: an image config is not JSON, has no rootfs, or cannot be read
--
-- dockerd skips such an image on start; its tags and layers stay behind.
-- Any such config (torn by a power loss, too large, an I/O error) also stops
-- layer-unreferenced from reporting anything: the image's layers cannot be
-- known.
SELECT id AS object,
       'image/overlay2/imagedb/content/sha256/' || id AS path,
       config_error AS detail,
       NULL AS mtime
FROM image
WHERE config_state <> 'ok';
