-- check: image-layer-missing
-- severity: error
-- meaning: a chainID from an image's rootfs.diff_ids has no layer
-- action: reap-include
--
-- One finding per image, naming the lowest missing layer. dockerd skips the
-- image; `--reap --apply --include image-layer-missing` removes it so that it
-- can be pulled again.
SELECT il.image_id AS object,
       'image/overlay2/imagedb/content/sha256/' || il.image_id AS path,
       'layer ' || (min(il.idx) + 1) || ' of ' ||
           (SELECT count(*) FROM image_layer n WHERE n.image_id = il.image_id) ||
           ' (chainID sha256:' || il.chain_id || ') has no layerdb entry' AS detail,
       NULL AS mtime
FROM image_layer il
WHERE il.chain_id IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM layer l INDEXED BY layer_chain WHERE l.chain_id = il.chain_id)
GROUP BY il.image_id;
