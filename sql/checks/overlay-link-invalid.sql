-- check: overlay-link-invalid
-- severity: error
-- meaning: a referenced overlay2 dir's link file is not 26 chars of [A-Z2-7]
-- needs: overlay_ref
-- action: repair
SELECT o.name AS object,
       'overlay2/' || o.name || '/link' AS path,
       'link file is ' || o.link_state || coalesce(': ' || o.link, '') AS detail,
       o.mtime
FROM overlay_dir o
WHERE o.link_state IN ('invalid', 'unreadable')
  AND EXISTS (SELECT 1 FROM overlay_ref r WHERE r.dir = o.name)
  AND o.name NOT IN (SELECT dir FROM removal_dir);
