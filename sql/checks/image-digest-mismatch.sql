-- check: image-digest-mismatch
-- severity: error
-- meaning: the sha256 of an image config differs from its file name
--
-- dockerd re-hashes every config it reads and skips the image on mismatch.
SELECT id AS object,
       'image/overlay2/imagedb/content/sha256/' || id AS path,
       CASE WHEN name_ok THEN 'content hashes to sha256:' || digest
            ELSE 'file name is not a sha256 digest (content hashes to sha256:' || digest || ')' END AS detail,
       NULL AS mtime
FROM image
WHERE config_state <> 'unreadable' AND digest_ok = 0;
