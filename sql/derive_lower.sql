-- derive_lower.sql — run by src/derive.c once every claim on an overlay2
-- dir is in overlay_ref (direct and lower claims, indexed): lower_unknown,
-- the directly claimed dirs whose lower file cannot be trusted, so that
-- the dirs it names are unknown. overlay-dir-orphaned reports nothing while
-- one is listed, and reference-graph-incomplete names each; the reaper's
-- re-verification (src/reap_refs.c, lower_claim_unknown) is the same rule.
DELETE FROM lower_unknown;

-- A lower file that cannot be read, is empty or is malformed (the partial
-- index holds only those dirs).
INSERT OR IGNORE INTO lower_unknown (dir, why)
SELECT c.name, 'lower file is ' || c.lower_state || ': the dirs it names are unknown'
FROM overlay_dir c INDEXED BY overlay_dir_lower_bad
WHERE c.lower_state NOT IN ('ok', 'missing')
  AND EXISTS (SELECT 1 FROM overlay_ref r WHERE r.dir = c.name AND r.by_kind <> 'lower');

-- A missing lower file is normal for a base layer. But a layer with a
-- parent, and a container's RW and -init dirs, sit on lower dirs: when the
-- parent layer itself is lost (no layerdb entry, or the parent file is
-- damaged), the lower file was the only thing still naming the dirs below.
-- The layers with a lost parent are found by src/derive.c, which holds
-- every layer in memory (temp.lost_parent); the few containers here.
WITH lost_parent (dir, why) AS MATERIALIZED (
    SELECT dir, why FROM temp.lost_parent
    UNION ALL
    SELECT r.dir, CASE WHEN m.parent_state = 'ok'
                       THEN 'its container''s layer sha256:' || m.parent || ' has no layerdb entry'
                       ELSE 'its container''s parent file is ' || m.parent_state END
    FROM mount m CROSS JOIN overlay_ref r ON r.by_id = m.container_id AND r.by_kind IN ('mount', 'init')
    WHERE m.parent_state IN ('invalid', 'unreadable', 'empty')
       OR (m.parent_state = 'ok' AND NOT EXISTS (SELECT 1 FROM layer p WHERE p.chain_id = m.parent))
)
INSERT OR IGNORE INTO lower_unknown (dir, why)
SELECT o.name, 'lower file is missing and ' || x.why || ': the dirs below it are unknown'
FROM lost_parent x JOIN overlay_dir o ON o.name = x.dir
WHERE o.lower_state = 'missing';
