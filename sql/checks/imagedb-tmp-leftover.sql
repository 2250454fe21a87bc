-- check: imagedb-tmp-leftover
-- severity: garbage
-- meaning: a .tmp-* file in imagedb/content left by an interrupted write
-- action: reap
SELECT name AS object,
       'image/overlay2/imagedb/content/sha256/' || name AS path,
       'leftover of an interrupted image config write (' || size || ' bytes)' AS detail,
       mtime
FROM imagedb_tmp;
