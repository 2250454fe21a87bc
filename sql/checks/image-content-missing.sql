-- check: image-content-missing
-- severity: error
-- meaning: an image whose index, manifest, config or layer blob is missing
-- store: containerd
--
-- From the image's target along the containerd.io/gc.ref.content.*
-- labels (GC's own edges: the manifests, configs and layers containerd
-- keeps for it), every blob must have a record in the image's namespace
-- and a file. Object: <namespace>/<image name>.
-- (Cost: the blobs an edge or a target names are probed once, without a
-- closure; only when one is missing are its owners followed up to the
-- images that reach it (bad, up: the edges by value get an automatic index
-- then, built only when needed), and those images' closures (need) are
-- walked as the definition says.)
WITH RECURSIVE k(id, via) AS MATERIALIZED (
    SELECT z.id, substr(z.s, 26) FROM cd_str z WHERE z.s GLOB 'containerd.io/gc.ref.content.*'
),
edge(ns, owner, value) AS MATERIALIZED (
    SELECT ns, owner, value FROM cdi_label
    WHERE key IN (SELECT id FROM k) AND kind = 'blob' AND sub = ''
),
bad(ns, digest) AS (
    SELECT c.ns, c.digest
    FROM (SELECT ns, digest FROM cdi_image WHERE digest IS NOT NULL UNION ALL SELECT ns, value FROM edge) c
    WHERE NOT EXISTS (SELECT 1 FROM cdi_blob b WHERE b.ns = c.ns AND b.digest = c.digest)
       OR (NOT EXISTS (SELECT 1 FROM cdi_blobfile f WHERE f.name = c.digest AND f.type = 'file')
           AND (SELECT z.s FROM cd_str z WHERE z.id = c.digest) GLOB 'sha256:*')
),
up(ns, digest) AS (
    SELECT ns, digest FROM bad
    UNION
    SELECT u.ns, e.owner FROM up u JOIN edge e ON e.ns = u.ns AND e.value IS u.digest
),
need(ns, image, digest, via) AS (
    SELECT ns, name, digest, 'target' FROM cdi_image
    WHERE digest IS NOT NULL AND (+ns, digest) IN (SELECT ns, digest FROM up)
    UNION
    SELECT n.ns, n.image, l.value, k.via
    FROM need n
    JOIN cdi_label l ON l.ns = n.ns AND l.kind = 'blob' AND l.sub = '' AND l.owner = n.digest
    JOIN k ON k.id = l.key
),
missing(ns, image, what) AS (
    SELECT n.ns, n.image, n.via || ' ' || (SELECT z.s FROM cd_str z WHERE z.id = n.digest)
           || CASE WHEN NOT EXISTS (SELECT 1 FROM cdi_blob b WHERE b.ns = n.ns AND b.digest = n.digest)
                   THEN ' has no content record' ELSE ' has no blob file' END
    FROM need n
    WHERE NOT EXISTS (SELECT 1 FROM cdi_blob b WHERE b.ns = n.ns AND b.digest = n.digest)
       OR (NOT EXISTS (SELECT 1 FROM cdi_blobfile f WHERE f.name = n.digest AND f.type = 'file')
           AND (SELECT z.s FROM cd_str z WHERE z.id = n.digest) GLOB 'sha256:*')
)
SELECT ns || '/' || (SELECT z.s FROM cd_str z WHERE z.id = image) AS object, NULL AS path,
       min(what) || CASE WHEN count(*) > 1 THEN ' (and ' || (count(*) - 1) || ' more)' ELSE '' END AS detail,
       NULL AS mtime
FROM missing
WHERE NOT EXISTS (SELECT 1 FROM scan_error WHERE path = 'io.containerd.content.v1.content/blobs/sha256')
GROUP BY ns, image
ORDER BY ns, (SELECT z.s FROM cd_str z WHERE z.id = image);
