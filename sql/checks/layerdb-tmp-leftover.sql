-- check: layerdb-tmp-leftover
-- severity: garbage
-- meaning: a layerdb/tmp/write-set-* dir of a layer registration that never finished
-- action: reap
SELECT name AS object,
       'image/overlay2/layerdb/tmp/' || name AS path,
       'unfinished layer registration' ||
           CASE WHEN cache_id IS NOT NULL THEN ' (cache-id ' || cache_id || ')' ELSE '' END AS detail,
       mtime
FROM layerdb_tmp;
