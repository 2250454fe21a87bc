-- check: layer-metadata-missing
-- severity: error
-- meaning: a layer's diff, cache-id or size file is missing or empty (incl. empty layer dirs)
--
-- dockerd skips such a layer, its children and their images; every later
-- pull of it fails with "rename ... file exists" (moby#44909).
SELECT chain_id AS object,
       'image/overlay2/layerdb/sha256/' || chain_id AS path,
       CASE WHEN entries = 0 THEN 'empty layer dir'
            ELSE trim(
                 CASE WHEN diff_state IN ('missing', 'empty') THEN 'diff ' || diff_state || '; ' ELSE '' END ||
                 CASE WHEN cache_id_state IN ('missing', 'empty') THEN 'cache-id ' || cache_id_state || '; ' ELSE '' END ||
                 CASE WHEN size_state IN ('missing', 'empty') THEN 'size ' || size_state || '; ' ELSE '' END,
                 '; ') END AS detail,
       mtime
FROM layer
WHERE is_dir AND name_ok
  AND (diff_state IN ('missing', 'empty') OR cache_id_state IN ('missing', 'empty')
       OR size_state IN ('missing', 'empty'));
