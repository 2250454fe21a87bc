-- check: overlay-lower-invalid
-- severity: error
-- meaning: a lower file is empty or malformed, names missing l/ entries, or disagrees with the layer's parent chain
--
-- The expected lower of a dir is "l/<parent's link>" followed by the
-- parent's own lower entries (nearest parent first); a container's RW dir
-- sits on its -init dir, the -init dir on the image's top layer.
WITH dir_parent(dir, parent_dir) AS (
    -- image layers: the dir of the parent layer (NULL for a base layer)
    SELECT l.cache_id, p.cache_id
    FROM layer l LEFT JOIN layer p ON p.chain_id = l.parent AND l.parent_state = 'ok'
    WHERE l.cache_id_state = 'ok' AND l.parent_state IN ('ok', 'missing')
    UNION ALL
    -- a container's -init dir sits on the image's top layer
    SELECT m.init_id, p.cache_id
    FROM mount m LEFT JOIN layer p ON p.chain_id = m.parent AND m.parent_state = 'ok'
    WHERE m.init_id_state = 'ok' AND m.parent_state IN ('ok', 'missing')
    UNION ALL
    -- a container's RW dir sits on its -init dir
    SELECT m.mount_id, m.init_id FROM mount m
    WHERE m.mount_id_state = 'ok' AND m.init_id_state = 'ok'
),
expected(dir, lower) AS (
    SELECT d.dir,
           CASE WHEN d.parent_dir IS NULL THEN NULL
                ELSE 'l/' || pd.link || coalesce(':' || pd.lower, '') END
    FROM dir_parent d LEFT JOIN overlay_dir pd ON pd.name = d.parent_dir
    WHERE d.parent_dir IS NULL
       OR (pd.link_state = 'ok' AND pd.lower_state IN ('ok', 'missing'))
),
problem(dir, rank, detail) AS (
    SELECT o.name, 1, 'lower file is ' || o.lower_state || coalesce(': ' || substr(o.lower, 1, 80), '')
    FROM overlay_dir o WHERE o.lower_state IN ('empty', 'invalid', 'unreadable')
    UNION ALL
    SELECT e.dir, 2, 'lower file is missing; expected ' || e.lower
    FROM expected e JOIN overlay_dir o ON o.name = e.dir
    WHERE o.lower_state = 'missing' AND e.lower IS NOT NULL
    UNION ALL
    SELECT x.dir, 3, 'entry ' || (x.idx + 1) || ' (' || x.entry || ') names no l/ symlink'
    FROM overlay_lower x
    WHERE x.short IS NOT NULL AND NOT EXISTS (SELECT 1 FROM link k WHERE k.name = x.short)
    UNION ALL
    SELECT e.dir, 4, CASE WHEN e.lower IS NULL THEN 'base layer has a lower file'
                          ELSE 'does not match the parent chain; expected ' || e.lower END
    FROM expected e JOIN overlay_dir o ON o.name = e.dir
    WHERE o.lower_state = 'ok' AND (e.lower IS NULL OR e.lower <> o.lower)
)
-- one finding per dir: the row of its most basic problem (SQLite takes bare
-- columns from the row that holds the min())
SELECT p.dir AS object,
       'overlay2/' || p.dir || '/lower' AS path,
       p.detail AS detail,
       min(p.rank) AS rank,
       o.mtime
FROM problem p JOIN overlay_dir o ON o.name = p.dir
WHERE EXISTS (SELECT 1 FROM overlay_ref r WHERE r.dir = o.name)
GROUP BY p.dir;
