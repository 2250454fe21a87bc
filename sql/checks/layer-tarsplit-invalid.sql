-- check: layer-tarsplit-invalid
-- severity: error
-- meaning: a layer's tar-split.json.gz is not gzip, has a bad JSON line or base64, a duplicate path or a name escaping diff/ (--deep)
--
-- Runs only with --deep: the rebuild of each layer's tar stream (src/deep.c,
-- driven by src/verify.c) stores what it finds in deep_finding.
SELECT f.chain_id AS object,
       'image/overlay2/layerdb/sha256/' || f.chain_id || '/tar-split.json.gz' AS path,
       f.detail AS detail,
       NULL AS mtime
FROM deep_finding f
JOIN layer l ON l.chain_id = f.chain_id
WHERE f.check_name = 'layer-tarsplit-invalid';
