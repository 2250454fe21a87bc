-- check: content-blob-orphaned
-- severity: garbage
-- meaning: a content blob file that no namespace records
-- store: containerd
-- action: reap
--
-- Left by a crash between the blob's rename and its record's commit, or
-- by a GC that removed the record but not the file; containerd removes it
-- only after it next deletes a content record. Not reported while meta.db
-- or metadata.db is invalid (cd_db_bad) or a dir could not be listed.
SELECT (SELECT z.s FROM cd_str z WHERE z.id = f.name) AS object,
       'io.containerd.content.v1.content/blobs/sha256/' || (SELECT substr(z.s, 8) FROM cd_str z WHERE z.id = f.name) AS path,
       'no content record in any namespace (' || coalesce(f.size, 0) || ' bytes)' AS detail,
       f.mtime
FROM cdi_blobfile f
WHERE f.name_ok
  AND NOT EXISTS (SELECT 1 FROM cdi_blob b WHERE b.digest = f.name)
  AND EXISTS (SELECT 1 FROM cd_db WHERE name = 'meta.db' AND state = 'ok')
  AND NOT EXISTS (SELECT 1 FROM cd_db_bad)
  AND NOT EXISTS (SELECT 1 FROM scan_error)
ORDER BY object;
