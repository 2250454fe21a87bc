-- check: content-blob-missing
-- severity: error
-- meaning: a content record without its blob file, or with a file of another size
-- store: containerd
--
-- containerd trusts the record: ctr images check says complete, a push or
-- an unpack then fails with "content digest ... not found". Object: the
-- digest; the detail names the namespaces that record it.
SELECT b.digest AS object,
       'io.containerd.content.v1.content/blobs/sha256/' || substr(b.digest, 8) AS path,
       'recorded in ' || group_concat(b.ns, ', ')
       || CASE WHEN f.name IS NULL THEN ': no blob file'
               WHEN f.type <> 'file' THEN ': the blob is a ' || f.type
               ELSE ': the file has ' || f.size || ' bytes, the record says ' || max(b.size) END AS detail,
       max(b.updated) AS mtime
FROM cd_blob b
LEFT JOIN cd_blobfile f ON f.name = substr(b.digest, 8)
WHERE b.digest GLOB 'sha256:*'
  AND (f.name IS NULL OR f.type <> 'file' OR (b.size IS NOT NULL AND f.size <> b.size))
  AND NOT EXISTS (SELECT 1 FROM scan_error WHERE path = 'io.containerd.content.v1.content/blobs/sha256')
GROUP BY b.digest;
