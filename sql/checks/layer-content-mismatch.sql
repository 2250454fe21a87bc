-- check: layer-content-mismatch
-- severity: error
-- meaning: the sha256 of the layer's rebuilt tar stream differs from its diffID (--deep)
--
-- Runs only with --deep: the rebuild of each layer's tar stream (src/deep.c,
-- driven by src/verify.c) stores what it finds in deep_finding.
SELECT f.chain_id AS object,
       'image/overlay2/layerdb/sha256/' || f.chain_id || '/diff' AS path,
       f.detail AS detail,
       NULL AS mtime
FROM deep_finding f
JOIN layer l ON l.chain_id = f.chain_id
WHERE f.check_name = 'layer-content-mismatch';
