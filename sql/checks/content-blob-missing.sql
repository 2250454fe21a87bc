-- check: content-blob-missing
-- severity: error
-- meaning: a content record without its blob file, or with a file of another size
-- store: containerd
--
-- containerd trusts the record: ctr images check says complete, a push or
-- an unpack then fails with "content digest ... not found". Object: the
-- digest; the detail names the namespaces that record it.
SELECT (SELECT z.s FROM cd_str z WHERE z.id = b.digest) AS object,
       'io.containerd.content.v1.content/blobs/sha256/' || (SELECT substr(z.s, 8) FROM cd_str z WHERE z.id = b.digest) AS path,
       'recorded in ' || group_concat(b.ns, ', ')
       || CASE WHEN f.name IS NULL THEN ': no blob file'
               WHEN f.type <> 'file' THEN ': the blob is a ' || f.type
               ELSE ': the file has ' || f.size || ' bytes, the record says ' || max(b.size) END AS detail,
       max(b.updated) AS mtime
FROM cdi_blob b
LEFT JOIN cdi_blobfile f ON f.name = b.digest
WHERE (f.name IS NOT NULL AND (f.type <> 'file' OR (b.size IS NOT NULL AND f.size <> b.size))
       OR f.name IS NULL AND (SELECT z.s FROM cd_str z WHERE z.id = b.digest) GLOB 'sha256:*')
  AND NOT EXISTS (SELECT 1 FROM scan_error WHERE path = 'io.containerd.content.v1.content/blobs/sha256')
GROUP BY b.digest
ORDER BY object;
