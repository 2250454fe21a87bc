-- check: layer-metadata-invalid
-- severity: error
-- meaning: a layer's diff, parent, cache-id or size is malformed, or its dir name is not a chainID
--
-- A cache-id such as "../../etc" is reported here and never used as a path.
SELECT chain_id AS object,
       'image/overlay2/layerdb/sha256/' || chain_id AS path,
       CASE WHEN NOT is_dir THEN 'not a directory'
            WHEN NOT name_ok THEN 'dir name is not a chainID'
            ELSE trim(
                 CASE WHEN diff_state IN ('invalid', 'unreadable') THEN 'diff ' || diff_state || ': ' || coalesce(diff, '') || '; ' ELSE '' END ||
                 CASE WHEN parent_state IN ('invalid', 'unreadable', 'empty') THEN 'parent ' || parent_state || ': ' || coalesce(parent, '') || '; ' ELSE '' END ||
                 CASE WHEN cache_id_state IN ('invalid', 'unreadable') THEN 'cache-id ' || cache_id_state || ': ' || coalesce(cache_id, '') || '; ' ELSE '' END ||
                 CASE WHEN size_state IN ('invalid', 'unreadable') THEN 'size ' || size_state || '; ' ELSE '' END,
                 '; ') END AS detail,
       NULL AS mtime
FROM layer
WHERE NOT is_dir OR NOT name_ok
   OR diff_state IN ('invalid', 'unreadable') OR parent_state IN ('invalid', 'unreadable', 'empty')
   OR cache_id_state IN ('invalid', 'unreadable') OR size_state IN ('invalid', 'unreadable');
