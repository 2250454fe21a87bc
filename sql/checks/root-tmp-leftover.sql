-- check: root-tmp-leftover
-- severity: garbage
-- meaning: an entry in the root's tmp/ (or tmp-old/) left by an interrupted load, import or build
-- action: reap
--
-- dockerd keeps the archive of a docker load/import (docker-import-*), the
-- context of a classic build (docker-builder*), BuildKit mounts
-- (buildkit-mount*) and tar-split scratch files (docker-tarsplit*) in
-- ROOT/tmp, and empties it only when it starts: after a killed load they
-- hold the whole archive. Anything there older than --min-age is garbage
-- (dockerd itself deletes all of it); ROOT/tmp-old is the previous tmp dir
-- that a dockerd killed while starting did not finish deleting.
SELECT CASE WHEN t.dir = '' THEN t.name ELSE t.dir || '/' || t.name END AS object,
       CASE WHEN t.dir = '' THEN t.name ELSE t.dir || '/' || t.name END AS path,
       CASE WHEN t.dir = '' THEN 'the tmp dir of an earlier dockerd, renamed aside at its start and never deleted'
            WHEN t.name GLOB 'docker-import-*' THEN 'archive of an interrupted docker load or import'
            WHEN t.name GLOB 'docker-builder*' THEN 'context of an interrupted classic build'
            WHEN t.name GLOB 'buildkit-mount*' THEN 'mount of an interrupted BuildKit build'
            WHEN t.name GLOB 'docker-tarsplit*' THEN 'tar-split scratch of an interrupted layer registration'
            ELSE 'left in dockerd''s temp dir (' || t.type || '), which dockerd empties when it starts' END AS detail,
       t.mtime
FROM root_tmp t
-- dockerd 25+ probes for read-only recursive mounts in an empty
-- tmp/moby-detect-rro* dir it never removes (until its next start): normal
WHERE NOT (t.dir = 'tmp' AND t.type = 'dir' AND t.name GLOB 'moby-detect-rro*');
