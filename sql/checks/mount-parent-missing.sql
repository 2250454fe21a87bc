-- check: mount-parent-missing
-- severity: error
-- meaning: a mount's parent names no layer (or is malformed)
SELECT m.container_id AS object,
       'image/overlay2/layerdb/mounts/' || m.container_id || '/parent' AS path,
       CASE WHEN m.parent_state = 'ok' THEN 'parent sha256:' || m.parent || ' does not exist'
            ELSE 'parent file is ' || m.parent_state END AS detail,
       NULL AS mtime
FROM mount m
WHERE m.parent_state NOT IN ('ok', 'missing')
   OR (m.parent_state = 'ok' AND NOT EXISTS (SELECT 1 FROM layer l INDEXED BY layer_chain WHERE l.chain_id = m.parent));
