-- check: overlay-dir-orphaned
-- severity: garbage
-- meaning: an overlay2 dir that no layer, mount or BuildKit snapshot references
-- needs: overlay_ref, lower_unresolved, lower_unknown
-- action: reap
--
-- Typically left by an interrupted pull, load or container create. Owns the
-- dir's l/ symlink. A dir is claimed (overlay_ref) by a cache-id, mount-id
-- or init-id, by snapshots.db, or as a lower dir of a claimed dir. Nothing is
-- reported while a claim could have been missed: scan errors, unreadable
-- cache-id or mount-id files, a container whose mount names neither its
-- mount-id nor its init-id (unless dockerd was removing it: its dirs go first), or (for layer dirs) a layer dir that is not
-- empty but whose cache-id is missing, empty or malformed. BuildKit dirs are not reported while
-- snapshots.db cannot be read. Nor is anything while a directly claimed dir's
-- lower file cannot be trusted (lower_unknown, sql/derive_lower.sql: it
-- cannot be read, is empty or malformed, or is missing while the parent
-- layer is lost), nor a dir with no short name of its own (no well-formed link
-- file, no l/ symlink to it) while a claimed dir's lower file names a short
-- name no l/ entry has (it may be that dir's). src/reap_refs.c re-verifies
-- the same before removing.
SELECT o.name AS object,
       'overlay2/' || o.name AS path,
       CASE o.kind WHEN 'init' THEN 'container init dir nothing references'
                   WHEN 'buildkit' THEN 'BuildKit dir that snapshots.db does not reference'
                   ELSE 'no layer or container references it' END AS detail,
       (SELECT 'overlay2/l/' || k.name FROM link k WHERE k.name = o.link AND k.target_dir = o.name) AS owned,
       o.mtime
FROM overlay_dir o
WHERE NOT EXISTS (SELECT 1 FROM overlay_ref r WHERE r.dir = o.name)
  AND (o.kind <> 'buildkit' OR NOT EXISTS (SELECT 1 FROM buildkit_db WHERE state <> 'ok'))
  AND NOT EXISTS (SELECT 1 FROM scan_error)
  AND NOT EXISTS (SELECT 1 FROM layer WHERE cache_id_state = 'unreadable')
  AND NOT EXISTS (SELECT 1 FROM mount WHERE mount_id_state = 'unreadable' OR init_id_state = 'unreadable')
  AND NOT EXISTS (SELECT 1 FROM mount m JOIN container c ON c.id = m.container_id
                  WHERE m.mount_id_state <> 'ok' AND m.init_id_state <> 'ok' AND NOT (c.dead OR c.removing))
  AND (o.kind NOT IN ('layer', 'buildkit') OR NOT EXISTS (SELECT 1 FROM layer WHERE cache_id_state <> 'ok' AND entries <> 0))
  AND NOT EXISTS (SELECT 1 FROM lower_unknown)
  AND NOT ((o.link_state <> 'ok' OR o.link IS NULL)
           AND o.name NOT IN (SELECT target_dir FROM link WHERE target_dir IS NOT NULL)
           AND EXISTS (SELECT 1 FROM lower_unresolved u JOIN overlay_ref r ON r.dir = u.dir AND r.by_kind <> 'lower'));
