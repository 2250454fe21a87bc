-- check: layer-file-missing
-- severity: error
-- meaning: a file the tar-split lists (size > 0) is absent from the layer's diff/ (--deep)
--
-- Runs only with --deep: the rebuild of each layer's tar stream (src/deep.c,
-- driven by src/verify.c) stores what it finds in deep_finding.
SELECT f.chain_id AS object,
       'overlay2/' || l.cache_id || '/diff' AS path,
       f.detail AS detail,
       NULL AS mtime
FROM deep_finding f
JOIN layer l ON l.chain_id = f.chain_id
WHERE f.check_name = 'layer-file-missing';
