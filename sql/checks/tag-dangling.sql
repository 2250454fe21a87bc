-- check: tag-dangling
-- severity: error
-- meaning: a tag or digest reference names no image
--
-- The finding is as young as repositories.json: dockerd rewrites it on every
-- tag and untag, and a live dockerd may write an image and its tag (or drop
-- them) between our reads of imagedb/ and of this file.
SELECT t.ref AS object,
       'image/overlay2/repositories.json' AS path,
       CASE WHEN t.id_ok THEN 'names image sha256:' || t.image_id || ', which does not exist'
            ELSE 'names "' || t.raw_id || '", which is not an image id' END AS detail,
       (SELECT f.mtime FROM tag_file f) AS mtime
FROM tag t
WHERE t.id_ok = 0
   OR NOT EXISTS (SELECT 1 FROM image i WHERE i.id = t.image_id);
