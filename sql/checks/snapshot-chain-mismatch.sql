-- check: snapshot-chain-mismatch
-- severity: error
-- meaning: an unpacked image's snapshot keys differ from the chainIDs of its config's diff_ids
-- store: containerd
--
-- An image counts as unpacked when its config carries the label
-- containerd.io/gc.ref.snapshot.overlayfs (written after a complete
-- unpack). Its snapshots must then be exactly chainID(1..n) of the
-- config's rootfs.diff_ids, each the parent of the next. Object:
-- <namespace>/<image name>; the detail names the first difference.
-- (unpacked is materialized once; one probe of cdi_snapshot per layer; the
-- tables are joined by interned ids, see cd_str in sql/schema.sql.)
WITH RECURSIVE k(id, s) AS MATERIALIZED (
    SELECT z.id, z.s FROM cd_str z
    WHERE z.s GLOB 'containerd.io/gc.ref.content.m.*'
       OR z.s IN ('containerd.io/gc.ref.content.config', 'containerd.io/gc.ref.snapshot.overlayfs')
),
manifest(ns, image, digest) AS (
    SELECT ns, name, digest FROM cdi_image WHERE digest IS NOT NULL
    UNION
    SELECT m.ns, m.image, l.value
    FROM manifest m
    JOIN cdi_label l ON l.ns = m.ns AND l.kind = 'blob' AND l.sub = '' AND l.owner = m.digest
    WHERE l.key IN (SELECT id FROM k WHERE s GLOB 'containerd.io/gc.ref.content.m.*')
),
unpacked(ns, image, config, top) AS MATERIALIZED (
    SELECT m.ns, m.image, c.value, u.value
    FROM manifest m
    JOIN cdi_label c ON c.ns = m.ns AND c.kind = 'blob' AND c.sub = '' AND c.owner = m.digest
                    AND c.key = (SELECT id FROM k WHERE s = 'containerd.io/gc.ref.content.config')
    JOIN cdi_label u ON u.ns = m.ns AND u.kind = 'blob' AND u.sub = '' AND u.owner = c.value
                    AND u.key = (SELECT id FROM k WHERE s = 'containerd.io/gc.ref.snapshot.overlayfs')
),
problem(ns, image, why) AS (
    SELECT u.ns, u.image, 'its config names snapshot ' || (SELECT z.s FROM cd_str z WHERE z.id = u.top)
                          || ', its diff_ids chain to ' || (SELECT z.s FROM cd_str z WHERE z.id = t.chain_id)
    FROM unpacked u
    JOIN cdi_config_layer t ON t.config = u.config
    WHERE t.idx = (SELECT max(x.idx) FROM cdi_config_layer x WHERE x.config = u.config) AND t.chain_id <> u.top
    UNION ALL
    SELECT u.ns, u.image,
           CASE WHEN s.key IS NULL THEN 'layer ' || t.idx || ': no snapshot ' || (SELECT z.s FROM cd_str z WHERE z.id = t.chain_id)
                ELSE 'layer ' || t.idx || ': snapshot ' || (SELECT z.s FROM cd_str z WHERE z.id = t.chain_id)
                     || ' has parent ' || coalesce((SELECT z.s FROM cd_str z WHERE z.id = s.parent), '(none)')
                     || ', its chain says ' || coalesce((SELECT z.s FROM cd_str z WHERE z.id = pt.chain_id), '(none)') END
    FROM unpacked u
    JOIN cdi_config_layer t ON t.config = u.config
    LEFT JOIN cdi_snapshot s ON s.ns = u.ns AND s.snapshotter = 'overlayfs' AND s.key = t.chain_id
    LEFT JOIN cdi_config_layer pt ON pt.config = u.config AND pt.idx = t.idx - 1
    WHERE s.key IS NULL
       OR (s.parent IS NOT pt.chain_id
           AND NOT (pt.chain_id IS NULL AND (SELECT z.s FROM cd_str z WHERE z.id = s.parent) = ''))
)
SELECT ns || '/' || (SELECT z.s FROM cd_str z WHERE z.id = image) AS object, NULL AS path,
       min(why) || CASE WHEN count(*) > 1 THEN ' (and ' || (count(*) - 1) || ' more)' ELSE '' END AS detail,
       NULL AS mtime
FROM problem
GROUP BY ns, image
ORDER BY ns, (SELECT z.s FROM cd_str z WHERE z.id = image);
