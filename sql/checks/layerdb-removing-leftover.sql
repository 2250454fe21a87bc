-- check: layerdb-removing-leftover
-- severity: garbage
-- meaning: a layerdb/sha256/*-removing dir of a layer deletion that never finished
-- action: reap
SELECT name AS object,
       'image/overlay2/layerdb/sha256/' || name AS path,
       'unfinished layer deletion' ||
           CASE WHEN cache_id IS NOT NULL THEN ' (cache-id ' || cache_id || ')' ELSE '' END AS detail,
       mtime
FROM layer_removing;
