-- check: layer-tarsplit-missing
-- severity: error
-- meaning: a layer has no tar-split.json.gz (--deep)
--
-- Runs only with --deep: the rebuild of each layer's tar stream (src/deep.c,
-- driven by src/verify.c) stores what it finds in deep_finding.
SELECT f.chain_id AS object,
       'image/overlay2/layerdb/sha256/' || f.chain_id || '/tar-split.json.gz' AS path,
       f.detail AS detail,
       NULL AS mtime
FROM deep_finding f
JOIN layer l ON l.chain_id = f.chain_id
WHERE f.check_name = 'layer-tarsplit-missing';
