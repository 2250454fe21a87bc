-- check: snapshot-parent-mismatch
-- severity: error
-- meaning: meta.db and the snapshotter's metadata.db (or its parents bucket) disagree on a snapshot's parent
-- store: containerd
--
-- A mount stacks the lower dirs metadata.db names: when they are not what
-- meta.db (and so the image's chain) says, the container sees other
-- layers. Object: <namespace>/<key> for a disagreement between the two
-- databases, the metadata.db name for one inside metadata.db.
WITH problem(object, why, mtime) AS (
    SELECT s.ns || '/' || s.key,
           'meta.db parent ' || coalesce(s.parent, '(none)') || ' is '
           || coalesce(p.name, CASE WHEN s.parent IS NULL THEN '(none)' ELSE '(no record)' END)
           || ', metadata.db parent is ' || coalesce(b.parent, '(none)'),
           s.updated
    FROM cd_snapshot s
    JOIN cd_backend b ON b.name = s.name
    LEFT JOIN cd_snapshot p ON p.ns = s.ns AND p.snapshotter = s.snapshotter AND p.key = s.parent
    WHERE s.snapshotter = 'overlayfs' AND coalesce(p.name, s.parent, '') <> coalesce(b.parent, '')
    UNION ALL
    SELECT b.name, 'parent ' || b.parent || ' is not in metadata.db', b.updated
    FROM cd_backend b
    WHERE b.parent IS NOT NULL AND NOT EXISTS (SELECT 1 FROM cd_backend pb WHERE pb.name = b.parent)
    UNION ALL
    SELECT b.name, 'the parents bucket has no entry ' || pb.id || ' -> ' || b.id, b.updated
    FROM cd_backend b
    JOIN cd_backend pb ON pb.name = b.parent
    WHERE NOT EXISTS (SELECT 1 FROM cd_backend_parent x WHERE x.parent_id = pb.id AND x.child_id = b.id)
    UNION ALL
    SELECT coalesce(c.name, x.child_name, CAST(x.child_id AS TEXT)),
           'the parents bucket says ' || x.parent_id || ' -> ' || x.child_id || ', but '
           || CASE WHEN c.name IS NULL THEN 'no snapshot has id ' || x.child_id
                   ELSE 'its parent is ' || coalesce(c.parent, '(none)') END,
           c.updated
    FROM cd_backend_parent x
    LEFT JOIN cd_backend c ON c.id = x.child_id
    WHERE c.name IS NULL OR NOT EXISTS (SELECT 1 FROM cd_backend pb WHERE pb.name = c.parent AND pb.id = x.parent_id)
)
SELECT object, NULL AS path, why AS detail, mtime
FROM problem
WHERE EXISTS (SELECT 1 FROM cd_db WHERE name = 'meta.db' AND state = 'ok') AND EXISTS (SELECT 1 FROM cd_db WHERE name = 'metadata.db' AND state = 'ok');
