-- check: ingest-leftover
-- severity: garbage
-- meaning: an ingest dir that no namespace records, or whose record has expired with its holding lease
-- store: containerd
-- action: reap
--
-- An interrupted upload (pull, import, push) leaves ingest/<sha256(ref)>/
-- with a partial data file. containerd keeps it while a namespace records
-- the ingest and the record or a lease holding it is unexpired; its GC
-- removes the rest only after it deleted some content record.
WITH live(dir) AS (
    SELECT i.dir FROM cd_ingest i
    WHERE i.dir IS NOT NULL
      AND ((i.expire_at IS NOT NULL AND i.expire_at >= (SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'scan_time'))
           OR EXISTS (SELECT 1 FROM cd_lease_resource r JOIN cd_lease l ON l.ns = r.ns AND l.id = r.lease
                      WHERE r.kind = 'ingest' AND r.ns = i.ns AND r.sub = '' AND r.id = i.ref
                        AND (l.expire IS NULL OR l.expire_at >= (SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'scan_time')))
           OR NOT EXISTS (SELECT 1 FROM cd_lease_resource r WHERE r.kind = 'ingest' AND r.ns = i.ns AND r.sub = ''
                          AND r.id = i.ref) AND i.expire_at IS NULL)
)
SELECT d.name AS object,
       'io.containerd.content.v1.content/ingest/' || d.name AS path,
       coalesce(d.data_size, 0) || ' of ' || coalesce(d.total, '?') || ' bytes written'
       || CASE WHEN EXISTS (SELECT 1 FROM cd_ingest i WHERE i.dir = d.name)
               THEN '; its record (' || (SELECT i.ns || '/' || i.ref FROM cd_ingest i WHERE i.dir = d.name LIMIT 1)
                    || ') and every lease holding it have expired'
               ELSE '; no namespace records it' END AS detail,
       d.mtime
FROM cd_ingestdir d
WHERE NOT EXISTS (SELECT 1 FROM live WHERE live.dir = d.name)
  AND EXISTS (SELECT 1 FROM cd_db WHERE name = 'meta.db' AND state = 'ok')
  AND NOT EXISTS (SELECT 1 FROM cd_db_bad)
  AND NOT EXISTS (SELECT 1 FROM scan_error);
