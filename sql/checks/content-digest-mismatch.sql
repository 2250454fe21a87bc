-- check: content-digest-mismatch
-- severity: error
-- meaning: (--deep) a content blob whose sha256 differs from its name
-- store: containerd
--
-- Only --deep hashes the blobs. A changed blob breaks every image that
-- names it (a pull of it is refused; an unpack applies other bytes).
SELECT 'sha256:' || f.name AS object,
       'io.containerd.content.v1.content/blobs/sha256/' || f.name AS path,
       'its bytes hash to sha256:' || f.sha256 AS detail,
       NULL AS mtime
FROM (SELECT (SELECT substr(z.s, 8) FROM cd_str z WHERE z.id = b.name) AS name, b.sha256
      FROM cdi_blobfile b WHERE b.name_ok AND b.sha256 IS NOT NULL) f
WHERE f.sha256 <> f.name
ORDER BY f.name;
