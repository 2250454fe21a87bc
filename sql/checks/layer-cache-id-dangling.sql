-- check: layer-cache-id-dangling
-- severity: error
-- meaning: a layer's cache-id names no overlay2 dir
-- action: reap-include
--
-- The layer's content is gone; dockerd fails to mount it (moby#41190).
-- `--reap --apply --include layer-cache-id-dangling` removes the layer's
-- metadata so that a pull can fetch it again.
SELECT l.chain_id AS object,
       'image/overlay2/layerdb/sha256/' || l.chain_id || '/cache-id' AS path,
       'overlay2/' || l.cache_id || ' does not exist' AS detail,
       NULL AS mtime
FROM layer l
WHERE l.cache_id_state = 'ok'
  AND NOT EXISTS (SELECT 1 FROM overlay_dir o INDEXED BY overlay_dir_name WHERE o.name = l.cache_id);
