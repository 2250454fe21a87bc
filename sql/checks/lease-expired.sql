-- check: lease-expired
-- severity: garbage
-- meaning: a lease whose containerd.io/gc.expire has passed
-- store: containerd
--
-- containerd's GC drops an expired lease (and what only it held) only
-- when it next deletes something: on a quiet node it stays. Object:
-- <namespace>/<lease id>; young (--min-age) counts from the expiry.
SELECT l.ns || '/' || l.id AS object,
       NULL AS path,
       'expired ' || l.expire || '; holds ' || (SELECT count(*) FROM cd_lease_resource r WHERE r.ns = l.ns AND r.lease = l.id)
       || ' resource(s)' AS detail,
       l.expire_at AS mtime
FROM cd_lease l
WHERE l.expire_at IS NOT NULL AND l.expire_at < (SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'scan_time');
