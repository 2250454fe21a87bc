-- check: layer-parent-missing
-- severity: error
-- meaning: a layer's parent names no layer
--
-- dockerd skips the layer and everything above it.
SELECT l.chain_id AS object,
       'image/overlay2/layerdb/sha256/' || l.chain_id || '/parent' AS path,
       'parent sha256:' || l.parent || ' does not exist' AS detail,
       NULL AS mtime
FROM layer l
WHERE l.parent_state = 'ok'
  AND NOT EXISTS (SELECT 1 FROM layer p INDEXED BY layer_chain WHERE p.chain_id = l.parent);
