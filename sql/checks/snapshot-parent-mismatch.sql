-- check: snapshot-parent-mismatch
-- severity: error
-- meaning: meta.db and the snapshotter's metadata.db (or its parents bucket) disagree on a snapshot's parent
-- store: containerd
--
-- A mount stacks the lower dirs metadata.db names: when they are not what
-- meta.db (and so the image's chain) says, the container sees other
-- layers. Object: <namespace>/<key> for a disagreement between the two
-- databases, the metadata.db name for one inside metadata.db.
WITH problem(object, why, mtime, part, k1, k2, k3) AS (
    SELECT s.ns || '/' || (SELECT z.s FROM cd_str z WHERE z.id = s.key),
           'meta.db parent ' || coalesce((SELECT z.s FROM cd_str z WHERE z.id = s.parent), '(none)') || ' is '
           || coalesce((SELECT z.s FROM cd_str z WHERE z.id = p.name),
                       CASE WHEN s.parent IS NULL THEN '(none)' ELSE '(no record)' END)
           || ', metadata.db parent is ' || coalesce((SELECT z.s FROM cd_str z WHERE z.id = b.parent), '(none)'),
           s.updated, 1, s.ns, s.snapshotter, (SELECT z.s FROM cd_str z WHERE z.id = s.key)
    FROM cdi_snapshot s
    JOIN cdi_backend b ON b.name = s.name
    LEFT JOIN cdi_snapshot p ON p.ns = s.ns AND p.snapshotter = s.snapshotter AND p.key = s.parent
    WHERE s.snapshotter = 'overlayfs' AND coalesce(p.name, s.parent) IS NOT b.parent
      AND NOT (coalesce(p.name, s.parent) IS NULL AND (SELECT z.s FROM cd_str z WHERE z.id = b.parent) = '')
      AND NOT (b.parent IS NULL AND (SELECT z.s FROM cd_str z WHERE z.id = coalesce(p.name, s.parent)) = '')
    UNION ALL
    SELECT (SELECT z.s FROM cd_str z WHERE z.id = b.name),
           'parent ' || (SELECT z.s FROM cd_str z WHERE z.id = b.parent) || ' is not in metadata.db', b.updated,
           2, (SELECT z.s FROM cd_str z WHERE z.id = b.name), NULL, NULL
    FROM cdi_backend b
    WHERE b.parent IS NOT NULL AND NOT EXISTS (SELECT 1 FROM cdi_backend pb WHERE pb.name = b.parent)
    UNION ALL
    SELECT (SELECT z.s FROM cd_str z WHERE z.id = b.name),
           'the parents bucket has no entry ' || pb.id || ' -> ' || b.id, b.updated,
           3, (SELECT z.s FROM cd_str z WHERE z.id = b.parent), (SELECT z.s FROM cd_str z WHERE z.id = b.name), NULL
    FROM cdi_backend b
    JOIN cdi_backend pb ON pb.name = b.parent
    WHERE NOT EXISTS (SELECT 1 FROM cd_backend_parent x WHERE x.parent_id = pb.id AND x.child_id = b.id)
    UNION ALL
    SELECT coalesce((SELECT z.s FROM cd_str z WHERE z.id = c.name), x.child_name, CAST(x.child_id AS TEXT)),
           'the parents bucket says ' || x.parent_id || ' -> ' || x.child_id || ', but '
           || CASE WHEN c.name IS NULL THEN 'no snapshot has id ' || x.child_id
                   ELSE 'its parent is ' || coalesce((SELECT z.s FROM cd_str z WHERE z.id = c.parent), '(none)') END,
           c.updated, 4, x.parent_id, x.child_id, (SELECT z.s FROM cd_str z WHERE z.id = c.name)
    FROM cd_backend_parent x
    LEFT JOIN cdi_backend c ON c.id = x.child_id
    WHERE c.name IS NULL OR NOT EXISTS (SELECT 1 FROM cdi_backend pb WHERE pb.name = c.parent AND pb.id = x.parent_id)
)
SELECT object, NULL AS path, why AS detail, mtime
FROM problem
WHERE EXISTS (SELECT 1 FROM cd_db WHERE name = 'meta.db' AND state = 'ok') AND EXISTS (SELECT 1 FROM cd_db WHERE name = 'metadata.db' AND state = 'ok')
ORDER BY part, k1, k2, k3;
