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

-- Derived by the check pass (sql/derive_lower.sql): directly claimed dirs
-- whose lower file cannot be trusted, so the dirs it names are unknown: it
-- cannot be read, is empty or malformed, or is missing while the claim's
-- parent layer has no layerdb entry or a damaged parent file (then nothing
-- else names the dirs below it). While one is listed no dir is called
-- orphaned; src/reap_refs.c re-verifies the same.
CREATE TABLE lower_unknown (dir TEXT PRIMARY KEY, why TEXT NOT NULL) WITHOUT ROWID;

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
--
-- Interned strings. The long strings of the containerd tables (digests,
-- label keys and values, image names, snapshot keys, names and parents,
-- config and chain ids, blob file names as "sha256:<hex>") are stored once,
-- in cd_str; the tables cdi_* hold their ids (INTEGER). The scan assigns
-- the ids in C (src/cd_intern.c: one map shared by both of its lanes, so an
-- id means the same string in the main and the aux database) and writes
-- cd_str once its lanes are done. Two such strings are equal exactly when
-- their ids are: the checks join and compare ids (narrow rows, integer
-- keys) and turn ids back into text through cd_str only for what they
-- print. A table keyed by one id alone is a rowid table (the id is its
-- rowid); a composite key starts with its ids (an insert compares integers
-- first: the short text columns ns, kind, sub mostly tie). A blob file's name is the id of "sha256:<name>", so a file joins
-- its content records by id; metadata.db's names and meta.db's snapshot
-- names share ids the same way.
-- Readers that want text (the reaper, the tests, users of --db) read the
-- views cd_<table>: each shows a cdi_* table under its old name with the
-- same columns, as text. Their INSTEAD OF INSERT triggers intern in SQL
-- (a scan of cd_str per string): for small hand-made databases (the unit
-- tests), not for a database the scan is still writing.
CREATE TABLE cd_str (id INTEGER PRIMARY KEY, s TEXT NOT NULL);

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

-- v1/<ns>/images/<name>/target. Interned: name, digest.
CREATE TABLE cdi_image (
    ns TEXT NOT NULL, name INTEGER NOT NULL,
    digest INTEGER, mediatype TEXT, size INTEGER,
    created INTEGER, updated INTEGER,
    PRIMARY KEY (ns, name)
) WITHOUT ROWID;

-- v1/<ns>/content/blob/<digest>: one content record. Interned: digest.
CREATE TABLE cdi_blob (
    ns TEXT NOT NULL, digest INTEGER NOT NULL,
    size INTEGER, created INTEGER, updated INTEGER,
    PRIMARY KEY (digest, ns)
) WITHOUT ROWID;

-- Labels of records: kind blob | image | snapshot | container | lease |
-- sandbox; sub = the snapshotter for snapshots, else ''; owner = the
-- record's name (digest, image name, snapshot key, id). The
-- containerd.io/gc.ref.* labels are GC's edges. Interned: owner, key, value.
CREATE TABLE cdi_label (
    ns TEXT NOT NULL, kind TEXT NOT NULL, sub TEXT NOT NULL, owner INTEGER NOT NULL,
    key INTEGER NOT NULL, value INTEGER,
    PRIMARY KEY (owner, key, ns, kind, sub)
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
-- Interned: key, name, parent.
CREATE TABLE cdi_snapshot (
    ns TEXT NOT NULL, snapshotter TEXT NOT NULL, key INTEGER NOT NULL,
    name INTEGER, parent INTEGER, created INTEGER, updated INTEGER,
    PRIMARY KEY (key, ns, snapshotter)
) WITHOUT ROWID;
CREATE TABLE cd_snapshot_child (
    ns TEXT NOT NULL, snapshotter TEXT NOT NULL, key TEXT NOT NULL, child TEXT NOT NULL,
    PRIMARY KEY (ns, snapshotter, key, child)
) WITHOUT ROWID;

-- v1/<ns>/containers/<id>. Interned: snapshot_key.
CREATE TABLE cdi_container (
    ns TEXT NOT NULL, id TEXT NOT NULL,
    snapshotter TEXT, snapshot_key INTEGER, image TEXT,
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
-- Interned: name, parent, key.
CREATE TABLE cdi_backend (
    name INTEGER PRIMARY KEY, id INTEGER, kind INTEGER, parent INTEGER,
    ns TEXT, key INTEGER, created INTEGER, updated INTEGER
);
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
           AND NOT EXISTS (SELECT 1 FROM cdi_snapshot WHERE snapshotter = 'overlayfs'));

-- io.containerd.content.v1.content/blobs/sha256/<hex>; sha256 (--deep
-- only): the hash of the bytes as read. Interned: name, as "sha256:<name>"
-- (the view cd_blobfile shows the file name).
CREATE TABLE cdi_blobfile (
    name INTEGER PRIMARY KEY, name_ok INTEGER NOT NULL, type TEXT NOT NULL,
    size INTEGER, mtime INTEGER, sha256 TEXT, error TEXT
);

-- io.containerd.content.v1.content/ingest/<sha256(ref)>/: ref = its ref
-- file, data_size = data's size, total = the total file (expected size).
CREATE TABLE cd_ingestdir (
    name TEXT PRIMARY KEY, type TEXT NOT NULL, ref TEXT, ref_state TEXT NOT NULL,
    data_size INTEGER, total INTEGER, mtime INTEGER
) WITHOUT ROWID;

-- Image configs (blobs named by a containerd.io/gc.ref.content.config
-- label), parsed from their files: rootfs.diff_ids with the chainIDs
-- ("sha256:<hex>"), bottom first; state of the parse per config.
-- Interned: digest, config, diff_id, chain_id.
CREATE TABLE cdi_config (digest INTEGER PRIMARY KEY, state TEXT NOT NULL, error TEXT);
CREATE TABLE cdi_config_layer (
    config INTEGER NOT NULL, idx INTEGER NOT NULL, diff_id INTEGER NOT NULL, chain_id INTEGER NOT NULL,
    PRIMARY KEY (config, idx)
) WITHOUT ROWID;

-- The text views of the cdi_* tables (see cd_str above), and their
-- inserts for hand-made databases.
CREATE VIEW cd_image (ns, name, digest, mediatype, size, created, updated) AS
SELECT t.ns, (SELECT s FROM cd_str WHERE id = t.name) AS name,
       (SELECT s FROM cd_str WHERE id = t.digest) AS digest, t.mediatype, t.size, t.created, t.updated
FROM cdi_image t;
CREATE TRIGGER cd_image_insert INSTEAD OF INSERT ON cd_image BEGIN
    INSERT INTO cd_str(s) SELECT DISTINCT v FROM (SELECT NEW.name AS v UNION ALL SELECT NEW.digest)
    WHERE v IS NOT NULL AND v NOT IN (SELECT s FROM cd_str);
    INSERT OR REPLACE INTO cdi_image (ns, name, digest, mediatype, size, created, updated) VALUES (NEW.ns,
        (SELECT id FROM cd_str WHERE s = NEW.name), (SELECT id FROM cd_str WHERE s = NEW.digest),
        NEW.mediatype, NEW.size, NEW.created, NEW.updated);
END;
CREATE VIEW cd_blob (ns, digest, size, created, updated) AS
SELECT t.ns, (SELECT s FROM cd_str WHERE id = t.digest) AS digest, t.size, t.created, t.updated
FROM cdi_blob t;
CREATE TRIGGER cd_blob_insert INSTEAD OF INSERT ON cd_blob BEGIN
    INSERT INTO cd_str(s) SELECT DISTINCT v FROM (SELECT NEW.digest AS v)
    WHERE v IS NOT NULL AND v NOT IN (SELECT s FROM cd_str);
    INSERT OR REPLACE INTO cdi_blob (ns, digest, size, created, updated) VALUES (NEW.ns,
        (SELECT id FROM cd_str WHERE s = NEW.digest), NEW.size, NEW.created, NEW.updated);
END;
CREATE VIEW cd_label (ns, kind, sub, owner, key, value) AS
SELECT t.ns, t.kind, t.sub, (SELECT s FROM cd_str WHERE id = t.owner) AS owner,
       (SELECT s FROM cd_str WHERE id = t.key) AS key, (SELECT s FROM cd_str WHERE id = t.value) AS value
FROM cdi_label t;
CREATE TRIGGER cd_label_insert INSTEAD OF INSERT ON cd_label BEGIN
    INSERT INTO cd_str(s) SELECT DISTINCT v FROM (SELECT NEW.owner AS v UNION ALL SELECT NEW.key UNION ALL SELECT NEW.value)
    WHERE v IS NOT NULL AND v NOT IN (SELECT s FROM cd_str);
    INSERT OR REPLACE INTO cdi_label (ns, kind, sub, owner, key, value) VALUES (NEW.ns, NEW.kind, NEW.sub,
        (SELECT id FROM cd_str WHERE s = NEW.owner), (SELECT id FROM cd_str WHERE s = NEW.key),
        (SELECT id FROM cd_str WHERE s = NEW.value));
END;
CREATE VIEW cd_snapshot (ns, snapshotter, key, name, parent, created, updated) AS
SELECT t.ns, t.snapshotter, (SELECT s FROM cd_str WHERE id = t.key) AS key,
       (SELECT s FROM cd_str WHERE id = t.name) AS name, (SELECT s FROM cd_str WHERE id = t.parent) AS parent,
       t.created, t.updated
FROM cdi_snapshot t;
CREATE TRIGGER cd_snapshot_insert INSTEAD OF INSERT ON cd_snapshot BEGIN
    INSERT INTO cd_str(s) SELECT DISTINCT v FROM (SELECT NEW.key AS v UNION ALL SELECT NEW.name UNION ALL SELECT NEW.parent)
    WHERE v IS NOT NULL AND v NOT IN (SELECT s FROM cd_str);
    INSERT OR REPLACE INTO cdi_snapshot (ns, snapshotter, key, name, parent, created, updated) VALUES (NEW.ns,
        NEW.snapshotter, (SELECT id FROM cd_str WHERE s = NEW.key), (SELECT id FROM cd_str WHERE s = NEW.name),
        (SELECT id FROM cd_str WHERE s = NEW.parent), NEW.created, NEW.updated);
END;
CREATE VIEW cd_container (ns, id, snapshotter, snapshot_key, image, created, updated) AS
SELECT t.ns, t.id, t.snapshotter, (SELECT s FROM cd_str WHERE id = t.snapshot_key) AS snapshot_key, t.image,
       t.created, t.updated
FROM cdi_container t;
CREATE TRIGGER cd_container_insert INSTEAD OF INSERT ON cd_container BEGIN
    INSERT INTO cd_str(s) SELECT DISTINCT v FROM (SELECT NEW.snapshot_key AS v)
    WHERE v IS NOT NULL AND v NOT IN (SELECT s FROM cd_str);
    INSERT OR REPLACE INTO cdi_container (ns, id, snapshotter, snapshot_key, image, created, updated) VALUES (
        NEW.ns, NEW.id, NEW.snapshotter, (SELECT id FROM cd_str WHERE s = NEW.snapshot_key), NEW.image,
        NEW.created, NEW.updated);
END;
CREATE VIEW cd_backend (name, id, kind, parent, ns, key, created, updated) AS
SELECT (SELECT s FROM cd_str WHERE id = t.name) AS name, t.id, t.kind,
       (SELECT s FROM cd_str WHERE id = t.parent) AS parent, t.ns,
       (SELECT s FROM cd_str WHERE id = t.key) AS key, t.created, t.updated
FROM cdi_backend t;
CREATE TRIGGER cd_backend_insert INSTEAD OF INSERT ON cd_backend BEGIN
    INSERT INTO cd_str(s) SELECT DISTINCT v FROM (SELECT NEW.name AS v UNION ALL SELECT NEW.parent UNION ALL SELECT NEW.key)
    WHERE v IS NOT NULL AND v NOT IN (SELECT s FROM cd_str);
    INSERT OR REPLACE INTO cdi_backend (name, id, kind, parent, ns, key, created, updated) VALUES (
        (SELECT id FROM cd_str WHERE s = NEW.name), NEW.id, NEW.kind,
        (SELECT id FROM cd_str WHERE s = NEW.parent), NEW.ns, (SELECT id FROM cd_str WHERE s = NEW.key),
        NEW.created, NEW.updated);
END;
CREATE VIEW cd_blobfile (name, name_ok, type, size, mtime, sha256, error) AS
SELECT (SELECT substr(s, 8) FROM cd_str WHERE id = t.name) AS name, t.name_ok, t.type, t.size, t.mtime,
       t.sha256, t.error
FROM cdi_blobfile t;
CREATE TRIGGER cd_blobfile_insert INSTEAD OF INSERT ON cd_blobfile BEGIN
    INSERT INTO cd_str(s) SELECT DISTINCT v FROM (SELECT 'sha256:' || NEW.name AS v)
    WHERE v IS NOT NULL AND v NOT IN (SELECT s FROM cd_str);
    INSERT OR REPLACE INTO cdi_blobfile (name, name_ok, type, size, mtime, sha256, error) VALUES (
        (SELECT id FROM cd_str WHERE s = 'sha256:' || NEW.name), NEW.name_ok, NEW.type, NEW.size, NEW.mtime,
        NEW.sha256, NEW.error);
END;
CREATE VIEW cd_config (digest, state, error) AS
SELECT (SELECT s FROM cd_str WHERE id = t.digest) AS digest, t.state, t.error
FROM cdi_config t;
CREATE TRIGGER cd_config_insert INSTEAD OF INSERT ON cd_config BEGIN
    INSERT INTO cd_str(s) SELECT DISTINCT v FROM (SELECT NEW.digest AS v)
    WHERE v IS NOT NULL AND v NOT IN (SELECT s FROM cd_str);
    INSERT OR REPLACE INTO cdi_config (digest, state, error) VALUES (
        (SELECT id FROM cd_str WHERE s = NEW.digest), NEW.state, NEW.error);
END;
CREATE VIEW cd_config_layer (config, idx, diff_id, chain_id) AS
SELECT (SELECT s FROM cd_str WHERE id = t.config) AS config, t.idx,
       (SELECT s FROM cd_str WHERE id = t.diff_id) AS diff_id,
       (SELECT s FROM cd_str WHERE id = t.chain_id) AS chain_id
FROM cdi_config_layer t;
CREATE TRIGGER cd_config_layer_insert INSTEAD OF INSERT ON cd_config_layer BEGIN
    INSERT INTO cd_str(s) SELECT DISTINCT v FROM (SELECT NEW.config AS v UNION ALL SELECT NEW.diff_id UNION ALL SELECT NEW.chain_id)
    WHERE v IS NOT NULL AND v NOT IN (SELECT s FROM cd_str);
    INSERT OR REPLACE INTO cdi_config_layer (config, idx, diff_id, chain_id) VALUES (
        (SELECT id FROM cd_str WHERE s = NEW.config), NEW.idx, (SELECT id FROM cd_str WHERE s = NEW.diff_id),
        (SELECT id FROM cd_str WHERE s = NEW.chain_id));
END;
