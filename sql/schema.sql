-- schema.sql — the scan database: every fact about a Docker root that a check needs.
--
-- The scanner (src/scan*.c) fills these tables in one transaction; the checks
-- (sql/checks/*.sql) only read them. Conventions:
--   * ids are stored as found on disk (raw bytes, trimmed of whitespace); output
--     escapes anything that is not printable UTF-8.
--   * a column *_state tells how a metadata file was read:
--       'ok'         present and well-formed
--       'missing'    the file does not exist
--       'empty'      the file is empty (or only whitespace)
--       'invalid'    present but malformed (bad digest, '/', '..', NUL, wrong chars)
--       'unreadable' not a regular file, too large, or an I/O / permission error
--   * mtime is seconds since the epoch of the object's own dir or file (lstat);
--     checks return it so that --min-age can skip objects still being written.
--   * path columns are relative to the root.
--   * indexes live in sql/indexes.sql: they are built after the load.

-- Run facts: root, scan time, options (key/value).
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT) WITHOUT ROWID;

-- Counters that are statistics, not findings (e.g. distribution entries).
CREATE TABLE stat (key TEXT PRIMARY KEY, value INTEGER) WITHOUT ROWID;

-- A dir or file the scanner could not read at all (permission, I/O error).
CREATE TABLE scan_error (path TEXT PRIMARY KEY, error TEXT) WITHOUT ROWID;

-- image/overlay2/imagedb/content/sha256/<id>: one row per image config file.
CREATE TABLE image (
    id           TEXT PRIMARY KEY,  -- file name (64 hex when well-formed)
    name_ok      INTEGER NOT NULL,  -- file name is 64 lowercase hex
    config_state TEXT NOT NULL,     -- ok | invalid | unreadable
    config_error TEXT,              -- why the config is invalid/unreadable
    digest_ok    INTEGER NOT NULL,  -- sha256(bytes) == file name
    digest       TEXT,              -- sha256 of the bytes as read (64 hex)
    size         INTEGER,
    mtime        INTEGER
) WITHOUT ROWID;

-- rootfs.diff_ids of each valid image config (config_state 'ok'), bottom
-- first, with the computed chainIDs. An invalid config has no rows.
CREATE TABLE image_layer (
    image_id TEXT NOT NULL,
    idx      INTEGER NOT NULL,
    diff_id  TEXT NOT NULL,
    chain_id TEXT,                 -- 64 hex, no "sha256:"
    PRIMARY KEY (image_id, idx)
) WITHOUT ROWID;

-- image/overlay2/imagedb/metadata/sha256/<id>/parent.
CREATE TABLE image_parent (
    image_id     TEXT PRIMARY KEY,
    parent       TEXT,             -- 64 hex when parent_state = 'ok'
    parent_state TEXT NOT NULL,
    mtime        INTEGER
) WITHOUT ROWID;

-- image/overlay2/imagedb/content/sha256/.tmp-* leftovers.
CREATE TABLE imagedb_tmp (name TEXT PRIMARY KEY, size INTEGER, mtime INTEGER) WITHOUT ROWID;

-- dockerd's temp dir: ROOT/tmp/<name> (dir 'tmp'), and ROOT/tmp-old itself
-- (dir '', name 'tmp-old'). dockerd empties both only when it starts.
CREATE TABLE root_tmp (
    dir   TEXT NOT NULL,           -- 'tmp', or '' for a top-level entry
    name  TEXT NOT NULL,
    type  TEXT NOT NULL,           -- dir | file | symlink | ...
    mtime INTEGER,
    PRIMARY KEY (dir, name)
) WITHOUT ROWID;

-- image/overlay2/repositories.json as a whole (at most one row; none when absent).
CREATE TABLE tag_file (
    path  TEXT PRIMARY KEY,
    state TEXT NOT NULL,           -- ok | invalid | unreadable
    error TEXT,
    mtime INTEGER
) WITHOUT ROWID;

-- One row per reference in repositories.json.
CREATE TABLE tag (
    ref      TEXT PRIMARY KEY,     -- "repo:tag" or "repo@sha256:..."
    repo     TEXT NOT NULL,
    image_id TEXT,                 -- 64 hex when id_ok
    id_ok    INTEGER NOT NULL,
    raw_id   TEXT                  -- the value as found
) WITHOUT ROWID;

-- image/overlay2/layerdb/sha256/<chainID>/.
CREATE TABLE layer (
    chain_id       TEXT PRIMARY KEY,  -- dir name
    name_ok        INTEGER NOT NULL,  -- dir name is 64 hex
    is_dir         INTEGER NOT NULL,  -- 0: a file or symlink sits there
    diff           TEXT,              -- 64 hex when diff_state = 'ok', else the raw value
    diff_state     TEXT NOT NULL,
    parent         TEXT,              -- 64 hex when parent_state = 'ok'
    parent_state   TEXT NOT NULL,     -- 'missing' is normal for a base layer
    cache_id       TEXT,
    cache_id_state TEXT NOT NULL,
    size           INTEGER,
    size_state     TEXT NOT NULL,
    has_tarsplit   INTEGER NOT NULL,
    computed_chain TEXT,              -- chainID(parent, diff), 64 hex, when both are ok
    entries        INTEGER NOT NULL,  -- entries in the dir; -1 (not counted) unless metadata is missing
    mtime          INTEGER
) WITHOUT ROWID;
-- The layer rows are wide (every metadata file): existence probes by
-- chainID and walks up the parent chain read this narrow copy of the key
-- instead (a third of the pages; at 100k layers, probes that stay in the CPU
-- cache or not). Checks name it with INDEXED BY where the planner would take
-- the primary key, so it is part of the schema: the scanner inserts layers
-- in chainID order, appending to it as to the table.
CREATE INDEX layer_chain ON layer (chain_id, parent_state, parent);

-- layerdb/sha256/<chainID>-<rand>-removing: a deletion dockerd did not finish.
CREATE TABLE layer_removing (name TEXT PRIMARY KEY, cache_id TEXT, mtime INTEGER) WITHOUT ROWID;

-- layerdb/tmp/* (write-set-* of a layer registration that never finished).
CREATE TABLE layerdb_tmp (name TEXT PRIMARY KEY, cache_id TEXT, mtime INTEGER) WITHOUT ROWID;

-- layerdb/mounts/<container-id>/: a container's RW layer (and the image
-- mounts of Docker 28, see image_mount).
CREATE TABLE mount (
    container_id   TEXT PRIMARY KEY,  -- the entry's path below mounts/
    name_ok        INTEGER NOT NULL,  -- a container id (64 hex); 0 for image mounts
    mount_id       TEXT,
    mount_id_state TEXT NOT NULL,
    init_id        TEXT,
    init_id_state  TEXT NOT NULL,   -- 'missing' is allowed (no init layer)
    parent         TEXT,            -- 64 hex chainID when parent_state = 'ok'
    parent_state   TEXT NOT NULL,   -- 'missing' is allowed (empty rootfs)
    mtime          INTEGER
) WITHOUT ROWID;

-- Image mounts of Docker 28 (docker run --mount type=image,source=REF):
-- layerdb/mounts/<container id>-<REF>/ with mount-id and parent (no
-- init-id), one dir level per '/' of REF (o2t/app:1 is
-- <id>-o2t/app:1/). Each has a mount row whose container_id is this path
-- and whose name_ok is 0 (it is not a container's own mount).
CREATE TABLE image_mount (
    path         TEXT PRIMARY KEY,  -- below layerdb/mounts/ (= mount.container_id)
    container_id TEXT NOT NULL,     -- the container it belongs to (64 hex)
    ref          TEXT NOT NULL      -- REF as the path spells it
) WITHOUT ROWID;

-- containers/<id>/config.v2.json.
CREATE TABLE container (
    id           TEXT PRIMARY KEY,
    name_ok      INTEGER NOT NULL,
    config_state TEXT NOT NULL,    -- ok | missing | invalid | unreadable
    image        TEXT,             -- 64 hex image id when well-formed
    driver       TEXT,
    name         TEXT,
    dead         INTEGER NOT NULL DEFAULT 0,  -- State.Dead: dockerd gave up on it (a failed removal)
    removing     INTEGER NOT NULL DEFAULT 0,  -- State.RemovalInProgress: written when docker rm began
    mtime        INTEGER
) WITHOUT ROWID;

-- overlay2/<name>/ (real dirs only; anything else is an overlay_stray row).
CREATE TABLE overlay_dir (
    name        TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,      -- layer | init | buildkit | other (by name)
    has_diff    INTEGER NOT NULL,   -- diff/ is a real dir
    diff_kind   TEXT,               -- dir | symlink | file | other | NULL when absent
    link        TEXT,               -- the link file's content (trimmed)
    link_state  TEXT NOT NULL,
    lower       TEXT,               -- the lower file's content (trimmed)
    lower_state TEXT NOT NULL,      -- 'missing' is normal for base layers
    has_work    INTEGER NOT NULL,
    committed   INTEGER NOT NULL,
    has_merged  INTEGER NOT NULL,
    mtime       INTEGER
) WITHOUT ROWID;
-- The narrow side of overlay_dir for probes by name (a quarter of the pages:
-- the rows carry the lower files; 11 vs 44 MB at 113k layers). Named with INDEXED BY, as layer_chain;
-- the scanner inserts dirs in name order, appending to it.
CREATE INDEX overlay_dir_name ON overlay_dir (name, link_state, link, mtime);
-- The dirs whose lower file cannot be read or trusted (a partial index: a
-- handful of entries, kept as the rows go in): the orphan checks look for
-- claimed ones without reading every lower file.
CREATE INDEX overlay_dir_lower_bad ON overlay_dir (name) WHERE lower_state NOT IN ('ok', 'missing');

-- Entries of each lower file, nearest parent first: "l/<short>" split at
-- every ':' (a view over overlay_dir.lower: the scanner stores each lower
-- file once; the check pass derives what it needs from it in src/derive.c).
-- Rows for every lower file that was read (lower_state ok, or invalid
-- because of an entry); short is set when entry is "l/<26 base32>".
CREATE VIEW overlay_lower (dir, idx, entry, short) AS
WITH RECURSIVE split(dir, idx, entry, rest) AS (
    SELECT name, -1, NULL, lower || ':' FROM overlay_dir
    WHERE lower IS NOT NULL AND lower_state IN ('ok', 'invalid')
    UNION ALL
    SELECT dir, idx + 1, substr(rest, 1, instr(rest, ':') - 1), substr(rest, instr(rest, ':') + 1)
    FROM split WHERE rest <> ''
)
SELECT dir, idx, entry,
       CASE WHEN entry GLOB 'l/[A-Z2-7][A-Z2-7][A-Z2-7][A-Z2-7][A-Z2-7][A-Z2-7][A-Z2-7][A-Z2-7][A-Z2-7][A-Z2-7][A-Z2-7][A-Z2-7][A-Z2-7][A-Z2-7][A-Z2-7][A-Z2-7][A-Z2-7][A-Z2-7][A-Z2-7][A-Z2-7][A-Z2-7][A-Z2-7][A-Z2-7][A-Z2-7][A-Z2-7][A-Z2-7]' THEN substr(entry, 3) END AS short
FROM split WHERE idx >= 0;

-- The RW and -init dirs of containers dockerd was removing (State.Dead or
-- RemovalInProgress, see container): docker rm deletes them file by file, so
-- their damage (no link file, no lower, part of diff/) is the removal's,
-- container-removal-leftover's, not an error of the dir.
CREATE VIEW removal_dir (dir, container_id) AS
    SELECT m.mount_id, c.id FROM mount m JOIN container c ON c.id = m.container_id
    WHERE (c.dead OR c.removing) AND m.mount_id_state = 'ok'
    UNION
    SELECT m.init_id, c.id FROM mount m JOIN container c ON c.id = m.container_id
    WHERE (c.dead OR c.removing) AND m.init_id_state = 'ok';

-- Derived by the check pass (src/derive.c): layers that no image's
-- diff_ids, mount's parent file or snapshots.db names, directly or through
-- the parent files of the layers they name. has_child: some layer's parent
-- column names it (such a child is dead too, or its parent would be live).
CREATE TABLE layer_dead (chain_id TEXT PRIMARY KEY, has_child INTEGER NOT NULL) WITHOUT ROWID;

-- Derived by the check pass (src/derive.c): lower-file entries of the form
-- l/<short> whose short name has no overlay2/l/ entry.
CREATE TABLE lower_unresolved (
    dir   TEXT NOT NULL,
    idx   INTEGER NOT NULL,
    entry TEXT NOT NULL
);

-- .tmp-* entries left by the atomic writer of Docker 26+ (link, lower and
-- committed are written to .tmp-<name><random>, synced, renamed into
-- place): inside an overlay2 dir (dir = its name) or in overlay2/l/
-- (dir = 'l'; such entries have no link row). A crash leaves them.
CREATE TABLE overlay_tmp (
    dir   TEXT NOT NULL,
    name  TEXT NOT NULL,
    type  TEXT NOT NULL,           -- file | symlink | dir | ...
    size  INTEGER,
    mtime INTEGER,
    PRIMARY KEY (dir, name)
) WITHOUT ROWID;

-- overlay2/ entries that are not dirs, or dirs whose names dockerd never makes.
CREATE TABLE overlay_stray (name TEXT PRIMARY KEY, type TEXT NOT NULL, mtime INTEGER) WITHOUT ROWID;

-- overlay2/l/<short>.
CREATE TABLE link (
    name       TEXT PRIMARY KEY,
    type       TEXT NOT NULL,      -- symlink | file | dir | other
    target     TEXT,               -- readlink() result
    target_dir TEXT,               -- <X> when target is exactly "../<X>/diff" with a valid X
    mtime      INTEGER
) WITHOUT ROWID;

-- buildkit/snapshots.db: one row per top-level bucket.
CREATE TABLE buildkit_snapshot (
    key       TEXT PRIMARY KEY,
    parent    TEXT,
    committed TEXT,
    chainid   TEXT
) WITHOUT ROWID;

-- Derived while scanning: the overlay2 dir each snapshot bucket stands for
-- (the committed value, else the key itself) and chainIDs it pins.
CREATE TABLE buildkit_dir (dir TEXT PRIMARY KEY, snapshot_key TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE buildkit_layer (chain_id TEXT PRIMARY KEY) WITHOUT ROWID;

-- snapshots.db itself (at most one row).
CREATE TABLE buildkit_db (path TEXT PRIMARY KEY, state TEXT NOT NULL, error TEXT) WITHOUT ROWID;

-- Every claim on an overlay2 dir. Derived from the tables above by
-- sql/derive.sql at the start of the check pass (see there). Direct claims
-- (layer, mount, init, buildkit) have one row per claimant; a 'lower' claim
-- has one row per dir, by_id naming one directly claimed dir whose lower
-- file names it (the reaper looks up every such dir in overlay_lower).
CREATE TABLE overlay_ref (
    dir     TEXT NOT NULL,
    by_kind TEXT NOT NULL,         -- layer | mount | init | buildkit | lower
    by_id   TEXT NOT NULL          -- chainID, container id, snapshot key, or a dir whose lower names it
);
CREATE INDEX overlay_ref_dir ON overlay_ref (dir, by_kind);

-- The lower file each claimed dir must have, built from the layer chain in
-- layerdb and the link files (sql/derive.sql). lower NULL: the dir must have
-- no lower file (a base layer). Dirs whose chain passes through a dir with
-- a bad link file have no row: their lower cannot be known.
CREATE TABLE expected_lower (
    dir   TEXT PRIMARY KEY,
    lower TEXT,
    depth INTEGER NOT NULL         -- entries in lower (dockerd allows at most 128)
) WITHOUT ROWID;

-- Filled by the check runner: one row per finding.
CREATE TABLE finding (
    seq      INTEGER PRIMARY KEY,
    check_name TEXT NOT NULL,
    severity TEXT NOT NULL,        -- error | garbage | warning
    object   TEXT NOT NULL,
    path     TEXT,
    detail   TEXT,
    owned    TEXT,                 -- further paths this finding owns, '\n'-separated
    mtime    INTEGER,
    young    INTEGER NOT NULL DEFAULT 0,
    bytes    INTEGER NOT NULL DEFAULT 0
);

-- --deep: layers whose tar stream was rebuilt, and what that found.
CREATE TABLE deep_layer (
    chain_id TEXT PRIMARY KEY,
    state    TEXT NOT NULL,        -- verified | findings | failed (could not be processed)
    error    TEXT,                 -- why it failed
    bytes    INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE TABLE deep_finding (
    seq        INTEGER PRIMARY KEY,
    chain_id   TEXT NOT NULL,
    check_name TEXT NOT NULL,      -- layer-tarsplit-missing, layer-file-modified, ...
    detail     TEXT
);

-- ---- containerd (store kind containerd: src/scan_containerd*.c) ----------
-- A containerd root: io.containerd.metadata.v1.bolt/meta.db (the namespaced
-- metadata, GC's view), the overlayfs snapshotter's metadata.db, and the
-- files on disk. Paths are relative to the containerd root; ns is the
-- namespace; times are epoch seconds (Go time.MarshalBinary decoded).
-- The rows of a bbolt file are loaded only when the whole file reads
-- without error (cd_db.state 'ok'): a corrupt file loads nothing, and then
-- nothing is called unreferenced.

-- The two databases (one row each).
CREATE TABLE cd_db (
    name     TEXT PRIMARY KEY,     -- meta.db | metadata.db
    path     TEXT NOT NULL,
    state    TEXT NOT NULL,        -- ok | missing | invalid | unreadable
    error    TEXT,
    version  INTEGER,              -- meta.db: v1/version (3: containerd 1.6/1.7, 4: 2.x)
    sequence INTEGER,              -- metadata.db: v1/snapshots bucket sequence (the last id handed out)
    mtime    INTEGER
) WITHOUT ROWID;

CREATE TABLE cd_namespace (ns TEXT PRIMARY KEY) WITHOUT ROWID;

-- v1/<ns>/images/<name>/target.
CREATE TABLE cd_image (
    ns TEXT NOT NULL, name TEXT NOT NULL,
    digest TEXT, mediatype TEXT, size INTEGER,
    created INTEGER, updated INTEGER,
    PRIMARY KEY (ns, name)
) WITHOUT ROWID;

-- v1/<ns>/content/blob/<digest>: one content record.
CREATE TABLE cd_blob (
    ns TEXT NOT NULL, digest TEXT NOT NULL,
    size INTEGER, created INTEGER, updated INTEGER,
    PRIMARY KEY (ns, digest)
) WITHOUT ROWID;

-- Labels of records: kind blob | image | snapshot | container | lease |
-- sandbox; sub = the snapshotter for snapshots, else ''. The
-- containerd.io/gc.ref.* labels are GC's edges.
CREATE TABLE cd_label (
    ns TEXT NOT NULL, kind TEXT NOT NULL, sub TEXT NOT NULL, owner TEXT NOT NULL,
    key TEXT NOT NULL, value TEXT,
    PRIMARY KEY (ns, kind, sub, owner, key)
) WITHOUT ROWID;

-- v1/<ns>/content/ingests/<ref>: an upload in progress. dir = the ingest
-- dir it writes (sha256 hex of backend_ref).
CREATE TABLE cd_ingest (
    ns TEXT NOT NULL, ref TEXT NOT NULL,
    backend_ref TEXT, dir TEXT, expected TEXT, expire_at INTEGER,
    PRIMARY KEY (ns, ref)
) WITHOUT ROWID;

-- v1/<ns>/snapshots/<snapshotter>/<key>: name = the key in the
-- snapshotter's own db ("<ns>/<seq>/<key>"), parent = the parent's key.
CREATE TABLE cd_snapshot (
    ns TEXT NOT NULL, snapshotter TEXT NOT NULL, key TEXT NOT NULL,
    name TEXT, parent TEXT, created INTEGER, updated INTEGER,
    PRIMARY KEY (ns, snapshotter, key)
) WITHOUT ROWID;
CREATE TABLE cd_snapshot_child (
    ns TEXT NOT NULL, snapshotter TEXT NOT NULL, key TEXT NOT NULL, child TEXT NOT NULL,
    PRIMARY KEY (ns, snapshotter, key, child)
) WITHOUT ROWID;

-- v1/<ns>/containers/<id>.
CREATE TABLE cd_container (
    ns TEXT NOT NULL, id TEXT NOT NULL,
    snapshotter TEXT, snapshot_key TEXT, image TEXT,
    created INTEGER, updated INTEGER,
    PRIMARY KEY (ns, id)
) WITHOUT ROWID;

-- v1/<ns>/leases/<id>: expire = the containerd.io/gc.expire label as
-- written (RFC 3339), expire_at its epoch seconds (NULL: never expires, or
-- unparsable: expire set and expire_at NULL), flat = gc.flat is set.
CREATE TABLE cd_lease (
    ns TEXT NOT NULL, id TEXT NOT NULL,
    created INTEGER, expire TEXT, expire_at INTEGER, flat INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (ns, id)
) WITHOUT ROWID;

-- What a lease holds: kind content (id = digest) | ingest (id = ref) |
-- snapshot (sub = snapshotter, id = key) | image (2.x; id = name).
CREATE TABLE cd_lease_resource (
    ns TEXT NOT NULL, lease TEXT NOT NULL, kind TEXT NOT NULL, sub TEXT NOT NULL, id TEXT NOT NULL,
    PRIMARY KEY (ns, lease, kind, sub, id)
) WITHOUT ROWID;

-- v1/<ns>/sandboxes/<id> (containerd 2.x).
CREATE TABLE cd_sandbox (ns TEXT NOT NULL, id TEXT NOT NULL, created INTEGER, updated INTEGER,
                         PRIMARY KEY (ns, id)) WITHOUT ROWID;

-- The overlayfs snapshotter's metadata.db, v1/snapshots/<name>: id (the
-- dir snapshots/<id>), kind 1 view | 2 active | 3 committed, parent =
-- the parent's name; ns and key split from name ("<ns>/<seq>/<key>").
CREATE TABLE cd_backend (
    name TEXT PRIMARY KEY, id INTEGER, kind INTEGER, parent TEXT,
    ns TEXT, key TEXT, created INTEGER, updated INTEGER
) WITHOUT ROWID;
-- metadata.db v1/parents: key uvarint(parent id) 0x00 uvarint(child id).
CREATE TABLE cd_backend_parent (
    parent_id INTEGER NOT NULL, child_id INTEGER NOT NULL, child_name TEXT,
    PRIMARY KEY (parent_id, child_id)
) WITHOUT ROWID;

-- io.containerd.snapshotter.v1.overlayfs/snapshots/<name>.
CREATE TABLE cd_snapdir (
    name TEXT PRIMARY KEY, type TEXT NOT NULL, has_fs INTEGER NOT NULL, has_work INTEGER NOT NULL,
    mtime INTEGER
) WITHOUT ROWID;

-- The databases that containerd-db-invalid reports (a missing metadata.db
-- is fine while there are no overlayfs snapshots and no snapshot dirs):
-- while one is listed, no check calls anything unreferenced.
CREATE VIEW cd_db_bad (name) AS
SELECT db.name FROM cd_db db
WHERE db.state <> 'ok'
  AND NOT (db.name = 'metadata.db' AND db.state = 'missing'
           AND NOT EXISTS (SELECT 1 FROM cd_snapdir)
           AND NOT EXISTS (SELECT 1 FROM cd_snapshot WHERE snapshotter = 'overlayfs'));

-- io.containerd.content.v1.content/blobs/sha256/<hex>; sha256 (--deep
-- only): the hash of the bytes as read.
CREATE TABLE cd_blobfile (
    name TEXT PRIMARY KEY, name_ok INTEGER NOT NULL, type TEXT NOT NULL,
    size INTEGER, mtime INTEGER, sha256 TEXT, error TEXT
) WITHOUT ROWID;

-- io.containerd.content.v1.content/ingest/<sha256(ref)>/: ref = its ref
-- file, data_size = data's size, total = the total file (expected size).
CREATE TABLE cd_ingestdir (
    name TEXT PRIMARY KEY, type TEXT NOT NULL, ref TEXT, ref_state TEXT NOT NULL,
    data_size INTEGER, total INTEGER, mtime INTEGER
) WITHOUT ROWID;

-- Image configs (blobs named by a containerd.io/gc.ref.content.config
-- label), parsed from their files: rootfs.diff_ids with the chainIDs
-- ("sha256:<hex>"), bottom first; state of the parse per config.
CREATE TABLE cd_config (digest TEXT PRIMARY KEY, state TEXT NOT NULL, error TEXT) WITHOUT ROWID;
CREATE TABLE cd_config_layer (
    config TEXT NOT NULL, idx INTEGER NOT NULL, diff_id TEXT NOT NULL, chain_id TEXT NOT NULL,
    PRIMARY KEY (config, idx)
) WITHOUT ROWID;
