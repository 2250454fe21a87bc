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
WITH RECURSIVE edge(ns, owner, value) AS MATERIALIZED (
    SELECT ns, owner, value FROM cd_label
    WHERE key GLOB 'containerd.io/gc.ref.content.*' AND kind = 'blob' AND sub = ''
),
bad(ns, digest) AS (
    SELECT c.ns, c.digest
    FROM (SELECT ns, digest FROM cd_image WHERE digest IS NOT NULL UNION ALL SELECT ns, value FROM edge) c
    WHERE NOT EXISTS (SELECT 1 FROM cd_blob b WHERE b.ns = c.ns AND b.digest = c.digest)
       OR (c.digest GLOB 'sha256:*' AND NOT EXISTS (SELECT 1 FROM cd_blobfile f WHERE f.name = substr(c.digest, 8)
                                                    AND f.type = 'file'))
),
up(ns, digest) AS (
    SELECT ns, digest FROM bad
    UNION
    SELECT u.ns, e.owner FROM up u JOIN edge e ON e.ns = u.ns AND e.value IS u.digest
),
need(ns, image, digest, via) AS (
    SELECT ns, name, digest, 'target' FROM cd_image
    WHERE digest IS NOT NULL AND (+ns, digest) IN (SELECT ns, digest FROM up)
    UNION
    SELECT n.ns, n.image, l.value, substr(l.key, 26)
    FROM need n
    JOIN cd_label l ON l.ns = n.ns AND l.kind = 'blob' AND l.sub = '' AND l.owner = n.digest
    WHERE l.key GLOB 'containerd.io/gc.ref.content.*'
),
missing(ns, image, what) AS (
    SELECT n.ns, n.image, n.via || ' ' || n.digest
           || CASE WHEN NOT EXISTS (SELECT 1 FROM cd_blob b WHERE b.ns = n.ns AND b.digest = n.digest)
                   THEN ' has no content record' ELSE ' has no blob file' END
    FROM need n
    WHERE NOT EXISTS (SELECT 1 FROM cd_blob b WHERE b.ns = n.ns AND b.digest = n.digest)
       OR (n.digest GLOB 'sha256:*' AND NOT EXISTS (SELECT 1 FROM cd_blobfile f WHERE f.name = substr(n.digest, 8)
                                                    AND f.type = 'file'))
)
SELECT ns || '/' || image AS object, NULL AS path,
       min(what) || CASE WHEN count(*) > 1 THEN ' (and ' || (count(*) - 1) || ' more)' ELSE '' END AS detail,
       NULL AS mtime
FROM missing
WHERE NOT EXISTS (SELECT 1 FROM scan_error WHERE path = 'io.containerd.content.v1.content/blobs/sha256')
GROUP BY ns, image;
