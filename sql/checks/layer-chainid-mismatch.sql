-- check: layer-chainid-mismatch
-- severity: error
-- meaning: a layer's dir name differs from chainID(parent, diff)
SELECT chain_id AS object,
       'image/overlay2/layerdb/sha256/' || chain_id AS path,
       'parent and diff give chainID sha256:' || computed_chain AS detail,
       NULL AS mtime
FROM layer
WHERE name_ok AND computed_chain IS NOT NULL AND computed_chain <> chain_id;
