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
-- (unpacked is materialized once; one probe of cd_snapshot per layer.)
WITH RECURSIVE manifest(ns, image, digest) AS (
    SELECT ns, name, digest FROM cd_image WHERE digest IS NOT NULL
    UNION
    SELECT m.ns, m.image, l.value
    FROM manifest m
    JOIN cd_label l ON l.ns = m.ns AND l.kind = 'blob' AND l.sub = '' AND l.owner = m.digest
    WHERE l.key GLOB 'containerd.io/gc.ref.content.m.*'
),
unpacked(ns, image, config, top) AS MATERIALIZED (
    SELECT m.ns, m.image, c.value, u.value
    FROM manifest m
    JOIN cd_label c ON c.ns = m.ns AND c.kind = 'blob' AND c.sub = '' AND c.owner = m.digest
                   AND c.key = 'containerd.io/gc.ref.content.config'
    JOIN cd_label u ON u.ns = m.ns AND u.kind = 'blob' AND u.sub = '' AND u.owner = c.value
                   AND u.key = 'containerd.io/gc.ref.snapshot.overlayfs'
),
problem(ns, image, why) AS (
    SELECT u.ns, u.image, 'its config names snapshot ' || u.top || ', its diff_ids chain to ' || t.chain_id
    FROM unpacked u
    JOIN cd_config_layer t ON t.config = u.config
    WHERE t.idx = (SELECT max(x.idx) FROM cd_config_layer x WHERE x.config = u.config) AND t.chain_id <> u.top
    UNION ALL
    SELECT u.ns, u.image,
           CASE WHEN s.key IS NULL THEN 'layer ' || t.idx || ': no snapshot ' || t.chain_id
                ELSE 'layer ' || t.idx || ': snapshot ' || t.chain_id || ' has parent ' || coalesce(s.parent, '(none)')
                     || ', its chain says ' || coalesce(pt.chain_id, '(none)') END
    FROM unpacked u
    JOIN cd_config_layer t ON t.config = u.config
    LEFT JOIN cd_snapshot s ON s.ns = u.ns AND s.snapshotter = 'overlayfs' AND s.key = t.chain_id
    LEFT JOIN cd_config_layer pt ON pt.config = u.config AND pt.idx = t.idx - 1
    WHERE s.key IS NULL OR coalesce(s.parent, '') <> coalesce(pt.chain_id, '')
)
SELECT ns || '/' || image AS object, NULL AS path,
       min(why) || CASE WHEN count(*) > 1 THEN ' (and ' || (count(*) - 1) || ' more)' ELSE '' END AS detail,
       NULL AS mtime
FROM problem
GROUP BY ns, image;
