-- check: layer-unreferenced
-- severity: garbage
-- meaning: no image, mount, child layer or BuildKit snapshot uses a layer
-- needs: layer_dead
-- action: reap
--
-- Reported for the whole unreferenced tail: a layer is live when an image's
-- diff_ids, a mount's parent or snapshots.db names it, or when it is the
-- parent of a live layer; the others are in layer_dead (src/derive.c walks
-- the parent chains and notes the layers a parent file names). Nothing is
-- reported while the reference graph is unreliable (scan errors, an
-- unreadable or invalid image config -- a torn write: its layers are
-- unknown --, an unreadable snapshots.db, a layer or mount whose parent
-- file is malformed, a chainID that does not match), since then a
-- reference may have been missed.
SELECT l.chain_id AS object,
       'image/overlay2/layerdb/sha256/' || l.chain_id AS path,
       CASE WHEN d.has_child
            THEN 'only unreferenced layers are built on it'
            ELSE 'no image, container or BuildKit snapshot uses it' END ||
       CASE WHEN l.cache_id_state = 'ok' THEN ' (overlay2/' || l.cache_id || ')' ELSE '' END AS detail,
       CASE WHEN l.cache_id_state = 'ok' AND EXISTS (SELECT 1 FROM overlay_dir o INDEXED BY overlay_dir_name WHERE o.name = l.cache_id)
            THEN 'overlay2/' || l.cache_id ||
                 coalesce((SELECT char(10) || 'overlay2/l/' || k.name FROM overlay_dir o INDEXED BY overlay_dir_name JOIN link k
                           ON k.name = o.link AND k.target_dir = o.name WHERE o.name = l.cache_id), '')
       END AS owned,
       l.mtime
FROM layer_dead d
CROSS JOIN layer l ON l.chain_id = d.chain_id   -- few dead layers: the outer loop
WHERE l.name_ok AND l.is_dir
  AND NOT EXISTS (SELECT 1 FROM scan_error)
  AND NOT EXISTS (SELECT 1 FROM image WHERE config_state <> 'ok')
  AND NOT EXISTS (SELECT 1 FROM buildkit_db WHERE state <> 'ok')
  AND NOT EXISTS (SELECT 1 FROM mount WHERE parent_state IN ('invalid', 'unreadable', 'empty'))
  AND NOT EXISTS (SELECT 1 FROM layer b WHERE b.parent_state IN ('invalid', 'unreadable', 'empty')
                     OR (b.name_ok AND b.computed_chain IS NOT NULL AND b.computed_chain <> b.chain_id));
