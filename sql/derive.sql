-- derive.sql — facts derived from the loaded scan tables, computed once at
-- the start of the check pass (src/derive.c runs this file, then adds the
-- lower claims) so that every check can look them up through an index.
--
-- overlay_ref: every claim on an overlay2 dir — a layer's cache-id, a
-- container's mount-id or init-id (the RW dir is also claimed through
-- "<mount-id>-init" when the mount-id file itself is damaged, and the -init
-- dir through the mount-id when the init-id file is), a BuildKit
-- snapshot, or being a lower dir of a dir claimed in one of those ways (its
-- lower file names the dir's l/ short name, resolved through the l/ symlink
-- or through the dir's own link file).
DROP INDEX IF EXISTS overlay_ref_dir;   -- built again once every claim is in (src/derive.c)
DELETE FROM overlay_ref;

INSERT INTO overlay_ref (dir, by_kind, by_id)
    SELECT cache_id, 'layer', chain_id FROM layer WHERE cache_id_state = 'ok'
    UNION ALL
    SELECT mount_id, 'mount', container_id FROM mount WHERE mount_id_state = 'ok'
    UNION ALL
    SELECT substr(init_id, 1, 64), 'mount', container_id FROM mount
    WHERE init_id_state = 'ok' AND mount_id_state <> 'ok'
    UNION ALL
    SELECT init_id, 'init', container_id FROM mount WHERE init_id_state = 'ok'
    UNION ALL
    SELECT mount_id || '-init', 'init', container_id FROM mount
    WHERE mount_id_state = 'ok' AND init_id_state <> 'ok'
    UNION ALL
    SELECT dir, 'buildkit', snapshot_key FROM buildkit_dir;

-- Lower claims (a dir named by the lower file of a directly claimed dir)
-- are added after this file by src/derive.c: one row per claimed dir, by_id
-- a witness (the smallest claiming dir).

-- expected_lower: dockerd's overlay2 driver writes a dir's lower file as
-- "l/<parent's link>" followed by the parent's own lower entries, nearest
-- parent first. Built top-down from the base layers of the layer chain (not
-- from the parents' lower files, so that one bad file does not make every
-- dir above it look wrong). The layers' dirs are filled before this file
-- runs (src/derive.c: breadth first from the base layers, each dir's lower
-- "l/<parent dir's link>" + ":" + the parent's expected lower, up to depth
-- 200, for layers whose parent and cache-id files are well-formed and whose
-- parent's dir has a well-formed link file); here: a container's -init dir
-- sits on the image's top layer, its RW dir on the -init dir.
INSERT OR IGNORE INTO expected_lower (dir, lower, depth)
    SELECT m.init_id, NULL, 0 FROM mount m
    WHERE m.init_id_state = 'ok' AND m.parent_state = 'missing'
    UNION ALL
    SELECT m.init_id, 'l/' || pd.link || coalesce(':' || e.lower, ''), e.depth + 1
    FROM mount m
    JOIN layer p ON p.chain_id = m.parent AND p.cache_id_state = 'ok'
    JOIN expected_lower e ON e.dir = p.cache_id
    JOIN overlay_dir pd INDEXED BY overlay_dir_name ON pd.name = p.cache_id AND pd.link_state = 'ok'
    WHERE m.init_id_state = 'ok' AND m.parent_state = 'ok';

INSERT OR IGNORE INTO expected_lower (dir, lower, depth)
    SELECT m.mount_id, 'l/' || i.link || coalesce(':' || e.lower, ''), e.depth + 1
    FROM mount m
    JOIN expected_lower e ON e.dir = m.init_id
    JOIN overlay_dir i INDEXED BY overlay_dir_name ON i.name = m.init_id AND i.link_state = 'ok'
    WHERE m.mount_id_state = 'ok' AND m.init_id_state = 'ok';
