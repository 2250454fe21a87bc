-- check: scan-unreadable
-- severity: error
-- meaning: a directory of the store, or a layer under --deep, could not be read (permission or I/O error)
--
-- While any part of the store is unread, checks that prove something is
-- unreferenced report nothing.
SELECT path AS object,
       path,
       error AS detail,
       NULL AS mtime
FROM scan_error
UNION ALL
SELECT chain_id, 'image/overlay2/layerdb/sha256/' || chain_id, 'deep verification failed: ' || coalesce(error, '?'), NULL
FROM deep_layer
WHERE state = 'failed';
