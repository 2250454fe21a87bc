-- check: reference-graph-incomplete
-- severity: warning
-- meaning: a reference may have been missed, so orphaned dirs and unreferenced layers are not reported
-- needs: overlay_ref, lower_unresolved, lower_unknown
--
-- The checks that prove something is garbage (overlay-dir-orphaned,
-- layer-unreferenced, ...) stay silent while the store could hold a claim
-- the scan cannot see. This names each reason, so that an operator knows
-- why no garbage is reported until the errors behind it are dealt with:
-- one finding, whose detail names the first reason and counts the others.
WITH unresolved(entry) AS MATERIALIZED (   -- a claimed dir's lower names a short name no l/ entry has
    SELECT min(u.entry) FROM lower_unresolved u JOIN overlay_ref r ON r.dir = u.dir AND r.by_kind <> 'lower'
),
reason(what, why) AS (
    SELECT path AS what, 'could not be read: ' || error AS why
    FROM scan_error
    UNION ALL
    SELECT 'image/overlay2/imagedb/content/sha256/' || id, 'image config ' || config_state || ': its layers are unknown'
    FROM image WHERE config_state <> 'ok'
    UNION ALL
    SELECT path, 'snapshots.db unreadable: BuildKit dirs are never reported as orphaned'
    FROM buildkit_db WHERE state <> 'ok'
    UNION ALL
    SELECT 'image/overlay2/layerdb/sha256/' || chain_id, 'cache-id is ' || cache_id_state || ': the layer''s content may sit in any overlay2 dir'
    FROM layer WHERE cache_id_state <> 'ok' AND entries <> 0
    UNION ALL
    SELECT 'image/overlay2/layerdb/mounts/' || m.container_id, 'neither mount-id nor init-id names the container''s dirs'
    FROM mount m JOIN container c ON c.id = m.container_id
    WHERE m.mount_id_state <> 'ok' AND m.init_id_state <> 'ok' AND NOT (c.dead OR c.removing)
    UNION ALL
    SELECT 'image/overlay2/layerdb/sha256/' || chain_id, 'parent file is ' || parent_state || ': the layer graph is unreliable'
    FROM layer WHERE parent_state IN ('invalid', 'unreadable', 'empty')
    UNION ALL
    SELECT 'image/overlay2/layerdb/mounts/' || container_id, 'parent file is ' || parent_state || ': the container''s layers are unknown'
    FROM mount WHERE parent_state IN ('invalid', 'unreadable', 'empty')
    UNION ALL
    SELECT 'image/overlay2/layerdb/sha256/' || chain_id, 'chainID does not match: the layer graph is unreliable'
    FROM layer WHERE name_ok AND computed_chain IS NOT NULL AND computed_chain <> chain_id
    UNION ALL
    SELECT 'overlay2/' || dir || '/lower', why FROM lower_unknown
    UNION ALL
    SELECT 'overlay2/' || o.name, 'has no short name, and a lower file names ' || (SELECT entry FROM unresolved)
           || ', which no l/ entry has: it may be this dir'
    FROM overlay_dir o INDEXED BY overlay_dir_name
    WHERE (SELECT entry FROM unresolved) IS NOT NULL
      AND (o.link_state <> 'ok' OR o.link IS NULL)
      AND NOT EXISTS (SELECT 1 FROM overlay_ref r WHERE r.dir = o.name)
      AND o.name NOT IN (SELECT target_dir FROM link WHERE target_dir IS NOT NULL)
)
-- (SQLite takes the bare column "why" from the row holding min(what))
SELECT 'orphan-checks' AS object, first AS path,
       n || ' reason(s); first: ' || first || ': ' || why AS detail,
       NULL AS mtime
FROM (SELECT count(*) AS n, min(what) AS first, why FROM reason)
WHERE n > 0;
