#!/usr/bin/env python3
"""mkcorpus.py — generate the hostile store corpus (nothing of it is committed).

    mkcorpus.py OUTDIR [CASE...]     # all cases, or only those named
    mkcorpus.py --list               # the case names, one per line

Every case is OUTDIR/<case>/ holding
    root/      the Docker data root ovl2fsck is run on
    outside/   a dir next to it with a canary file (CANARY-<case>): symlinks
               in root/ point here, so a run that follows one is caught by
               strace reading the canary
    ids.env    NAME=value for the symbolic objects of tests/hostile/expect.tsv

The base store every case starts from is a small but complete overlay2
store laid out exactly as dockerd 20.10 writes one (see
shared/docs/overlay2-store.md): one image of two layers, tagged, one
container with its -init and RW dirs, l/ links and lower files. It is clean:
ovl2fsck reports nothing on it (case "base"). Each other case breaks it in
one hostile way; tests/hostile/expect.tsv says what ovl2fsck must answer and
tests/integration/t-hostile.t checks it.

Needs root only for the device-node case (mknod); the others work as anyone.
"""
import hashlib
import json
import os
import struct
import sys

# ---- ids of the base store -------------------------------------------------


def sha(b):
    return hashlib.sha256(b).hexdigest()


DIFF1 = "sha256:" + sha(b"hostile layer 1")
DIFF2 = "sha256:" + sha(b"hostile layer 2")
L1 = DIFF1[7:]                                   # chainID of a base layer = its diffID
L2 = sha((DIFF1 + " " + DIFF2).encode())         # chainID(L1, DIFF2)
C1 = sha(b"cache 1")                             # overlay2 dir of L1
C2 = sha(b"cache 2")                             # overlay2 dir of L2
CID = sha(b"container 1")                        # container id
MID = sha(b"mount 1")                            # its RW dir; MID-init its init dir
S1 = "AAAAAAAAAAAAAAAAAAAAAAAAAA"                # l/ short names (26 x [A-Z2-7])
S2 = "BBBBBBBBBBBBBBBBBBBBBBBBBB"
SI = "CCCCCCCCCCCCCCCCCCCCCCCCCC"
SM = "DDDDDDDDDDDDDDDDDDDDDDDDDD"
CONFIG = json.dumps({
    "architecture": "amd64", "os": "linux",
    "config": {"Cmd": ["sh"], "Env": ["PATH=/bin"]},
    "rootfs": {"type": "layers", "diff_ids": [DIFF1, DIFF2]},
    "history": [{"created_by": "hostile 1"}, {"created_by": "hostile 2"}],
}, separators=(",", ":")).encode()
IMG = sha(CONFIG)
TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

IDS = dict(L1=L1, L2=L2, C1=C1, C2=C2, CID=CID, MID=MID, MIDI=MID + "-init",
           S1=S1, S2=S2, SI=SI, SM=SM, IMG=IMG, LONG="a" * 255)

# ---- helpers ---------------------------------------------------------------


def w(path, data, mode=0o600):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, mode)


def rm(path):
    if os.path.islink(path) or os.path.isfile(path):
        os.unlink(path)
    elif os.path.isdir(path):
        for e in os.listdir(path):
            rm(os.path.join(path, e))
        os.rmdir(path)


def replace_with_symlink(path, target):
    rm(path)
    os.symlink(target, path)


def replace_with_fifo(path):
    rm(path)
    os.mkfifo(path, 0o600)


class Store:
    def __init__(self, case_dir):
        self.case_dir = case_dir
        self.root = os.path.join(case_dir, "root")
        self.outside = os.path.join(case_dir, "outside")

    def p(self, *parts):
        return os.path.join(self.root, *parts)

    # well-known paths
    def layer(self, chain, *f):
        return self.p("image", "overlay2", "layerdb", "sha256", chain, *f)

    def mount(self, *f):
        return self.p("image", "overlay2", "layerdb", "mounts", CID, *f)

    def ov(self, *f):
        return self.p("overlay2", *f)

    def config(self):
        return self.p("image", "overlay2", "imagedb", "content", "sha256", IMG)

    def repos(self):
        return self.p("image", "overlay2", "repositories.json")

    def snapshots(self):
        return self.p("buildkit", "snapshots.db")


def build_base(st):
    os.makedirs(st.root, mode=0o710)
    os.makedirs(st.outside)
    canary = os.path.join(st.outside, "CANARY-" + os.path.basename(st.case_dir))
    w(canary, "if ovl2fsck read this, it followed a symlink out of the root\n", 0o644)
    # an outside tree that looks like store parts, for symlinked dirs
    w(os.path.join(st.outside, "overlay2", C1, "link"), S1)
    os.makedirs(os.path.join(st.outside, "overlay2", C1, "diff"))
    w(os.path.join(st.outside, "layerdb", "sha256", L1, "cache-id"), C1)
    w(os.path.join(st.outside, "config.v2.json"), json.dumps({"ID": CID, "Image": "sha256:" + IMG}))

    w(st.config(), CONFIG)
    w(st.p("image", "overlay2", "imagedb", "metadata", "sha256", IMG, "lastUpdated"), "2024-01-01T00:00:00Z")
    w(st.repos(), json.dumps({"Repositories": {"hostile": {"hostile:1": "sha256:" + IMG}}},
                             separators=(",", ":")))
    for chain, diff, parent, cache, size in ((L1, DIFF1, None, C1, "12"), (L2, DIFF2, L1, C2, "34")):
        w(st.layer(chain, "diff"), diff)
        w(st.layer(chain, "cache-id"), cache)
        w(st.layer(chain, "size"), size)
        if parent:
            w(st.layer(chain, "parent"), "sha256:" + parent)
    w(st.mount("mount-id"), MID)
    w(st.mount("init-id"), MID + "-init")
    w(st.mount("parent"), "sha256:" + L2)
    w(st.p("containers", CID, "config.v2.json"),
      json.dumps({"ID": CID, "Image": "sha256:" + IMG, "Driver": "overlay2", "Name": "/hostile"}))
    w(st.p("containers", CID, "hostconfig.json"), "{}")
    # overlay2 dirs: name, link, lower
    dirs = ((C1, S1, None), (C2, S2, "l/" + S1), (MID + "-init", SI, "l/%s:l/%s" % (S2, S1)),
            (MID, SM, "l/%s:l/%s:l/%s" % (SI, S2, S1)))
    os.makedirs(st.ov("l"))
    for name, short, lower in dirs:
        os.makedirs(st.ov(name, "diff"))
        w(st.ov(name, "link"), short)
        if lower:
            w(st.ov(name, "lower"), lower)
            os.makedirs(st.ov(name, "work"))
        os.symlink("../%s/diff" % name, st.ov("l", short))
    w(st.ov(C1, "diff", "etc", "hostname"), "hostile\n", 0o644)
    w(st.ov(C1, "committed"), "")
    w(st.ov(C2, "committed"), "")
    w(st.ov(MID + "-init", "committed"), "")


# ---- bbolt helpers (snapshots.db cases start from a real BuildKit file) -----


def real_snapshots():
    with open(os.path.join(TOP, "fixtures", "bbolt", "small.snapshots.db"), "rb") as f:
        return bytearray(f.read())


def bbolt_meta(db):
    """(page_size, root pgid) of the meta with the highest txid."""
    best = None
    for off in (0, None):
        if off is None:
            off = struct.unpack_from("<I", db, 16 + 8)[0]   # page size from meta 0
        magic, version, psize = struct.unpack_from("<III", db, off + 16)
        root, = struct.unpack_from("<Q", db, off + 16 + 16)
        txid, = struct.unpack_from("<Q", db, off + 16 + 48)
        if magic == 0xED0CDAED and (best is None or txid > best[2]):
            best = (psize, root, txid)
    return best[0], best[1]


# ---- the cases ---------------------------------------------------------------
# Each takes the Store (base already built) and breaks it. Docstring: what
# the case is about (printed by t-hostile.t when it fails).


def c_base(st):
    """the untouched base store: clean"""


def c_cacheid_dotdot(st):
    """cache-id of a layer is ../../etc: a finding, never a path"""
    w(st.layer(L2, "cache-id"), "../../etc")
    w(st.ov(C2, "diff", "x"), "")   # C2 is now unreferenced


def c_cacheid_absolute(st):
    """cache-id is an absolute path into outside/ (and /etc)"""
    w(st.layer(L2, "cache-id"), os.path.join(st.outside, "overlay2", C1))
    w(st.layer(L1, "cache-id"), "/etc")


def c_abs_paths_in_ids(st):
    """absolute paths in diff, parent, mount-id, init-id, mount parent, link, lower"""
    w(st.layer(L2, "diff"), "sha256:/etc/passwd")
    w(st.layer(L2, "parent"), "/etc/shadow")
    w(st.mount("mount-id"), "/etc")
    w(st.mount("init-id"), "/etc/-init")
    w(st.mount("parent"), "/" + L2)
    w(st.ov(C2, "link"), "/etc/passwd")
    w(st.ov(MID, "lower"), "/etc:/:l/../../etc")


def c_l_symlink_root(st):
    """l/ symlinks to / and /etc"""
    os.symlink("/", st.ov("l", "ROOTROOTROOTROOTROOTROOTRO"))
    os.symlink("/etc", st.ov("l", "ETCETCETCETCETCETCETCETCET"))
    os.symlink("../../../../../../../../etc", st.ov("l", "DOTDOTDOTDOTDOTDOTDOTDOTDO"))


def c_l_symlink_outside(st):
    """l/ symlinks into outside/: an existing overlay2-like dir and the canary"""
    os.symlink(os.path.join(st.outside, "overlay2", C1, "diff"), st.ov("l", "OUTOUTOUTOUTOUTOUTOUTOUTOU"))
    os.symlink("../../outside/CANARY-" + os.path.basename(st.case_dir), st.ov("l", "CANARYCANARYCANARYCANARYCA"))


def c_symlink_loops(st):
    """symlink loops: l/ pair, a self-looping layer dir, diff/ -> itself, mounts/<id> -> ."""
    os.symlink("LOOPBLOOPBLOOPBLOOPBLOOPBL", st.ov("l", "LOOPALOOPALOOPALOOPALOOPAL"))
    os.symlink("LOOPALOOPALOOPALOOPALOOPAL", st.ov("l", "LOOPBLOOPBLOOPBLOOPBLOOPBL"))
    loop = "f" * 64
    os.symlink(loop, st.layer(loop))
    replace_with_symlink(st.ov(C2, "diff"), "diff")
    os.symlink(".", st.p("image", "overlay2", "layerdb", "mounts", "e" * 64))


def c_overlay2_symlink(st):
    """overlay2/ itself is a symlink to a dir outside the root (canary inside)"""
    rm(st.ov())
    w(os.path.join(st.outside, "overlay2", "CANARY"), "canary")
    os.symlink("../outside/overlay2", st.ov())


def c_layerdb_symlink(st):
    """image/overlay2/layerdb is a symlink to outside/layerdb"""
    rm(st.p("image", "overlay2", "layerdb"))
    os.symlink(os.path.join(st.outside, "layerdb"), st.p("image", "overlay2", "layerdb"))


def c_diff_symlink(st):
    """overlay2/<id>/diff of a referenced layer is a symlink to /etc"""
    replace_with_symlink(st.ov(C2, "diff"), "/etc")


def c_id_file_symlinks(st):
    """id files, config, repositories.json and config.v2.json are symlinks out"""
    canary = os.path.join(st.outside, "CANARY-" + os.path.basename(st.case_dir))
    replace_with_symlink(st.layer(L2, "cache-id"), canary)
    replace_with_symlink(st.ov(C1, "link"), "/etc/hostname")
    replace_with_symlink(st.repos(), canary)
    replace_with_symlink(st.p("containers", CID, "config.v2.json"), os.path.join(st.outside, "config.v2.json"))
    os.makedirs(st.p("buildkit"))
    replace_with_symlink(st.snapshots(), canary)


def c_container_dir_symlink(st):
    """containers/<id> is a symlink to outside/ (which holds a config.v2.json)"""
    rm(st.p("containers", CID))
    os.symlink(st.outside, st.p("containers", CID))


def c_big_config(st):
    """a 10 MB image config (over the 8 MiB cap)"""
    big = b'{"rootfs":{"type":"layers","diff_ids":[]},"pad":"' + b"x" * (10 * 1024 * 1024) + b'"}'
    name = sha(big)
    IDS_EXTRA["BIGIMG"] = name
    w(st.p("image", "overlay2", "imagedb", "content", "sha256", name), big)


def c_sparse_size(st):
    """a 1 GB sparse layer size file (and a 300 MB sparse snapshots.db)"""
    with open(st.layer(L2, "size"), "r+b") as f:
        f.truncate(1 << 30)
    os.makedirs(st.p("buildkit"))
    with open(st.snapshots(), "wb") as f:
        f.truncate(300 << 20)


def c_json_truncated(st):
    """truncated image config, repositories.json and config.v2.json"""
    w(st.config(), CONFIG[:len(CONFIG) // 2])
    with open(st.repos(), "rb") as f:
        r = f.read()
    w(st.repos(), r[:len(r) // 2])
    w(st.p("containers", CID, "config.v2.json"), '{"ID":"' + CID[:10])


def c_json_garbage(st):
    """binary garbage as image config, repositories.json and config.v2.json"""
    junk = bytes((i * 197 + 11) % 256 for i in range(4096))
    w(st.config(), junk)
    w(st.repos(), junk[::-1])
    w(st.p("containers", CID, "config.v2.json"), junk[100:])


def c_json_wrong_shape(st):
    """valid JSON of the wrong shape everywhere"""
    cfg = b'{"rootfs":{"diff_ids":"sha256:' + L1.encode() + b'"}}'
    IDS_EXTRA["SHAPEIMG"] = sha(cfg)
    w(st.p("image", "overlay2", "imagedb", "content", "sha256", sha(cfg)), cfg)
    cfg2 = b'[1,2,3]'
    IDS_EXTRA["ARRIMG"] = sha(cfg2)
    w(st.p("image", "overlay2", "imagedb", "content", "sha256", sha(cfg2)), cfg2)
    w(st.repos(), '{"Repositories":{"hostile":["sha256:%s"]}}' % IMG)


def c_deep_json(st):
    """100k levels of nesting in an image config and repositories.json"""
    deep = b'{"rootfs":' + b"[" * 100000 + b"]" * 100000 + b"}"
    IDS_EXTRA["DEEPIMG"] = sha(deep)
    w(st.p("image", "overlay2", "imagedb", "content", "sha256", sha(deep)), deep)
    w(st.repos(), b'{"Repositories":' + b'{"a":' * 100000 + b"1" + b"}" * 100001)


def _hostile_ids(st, bad):
    for f in ("diff", "parent", "cache-id", "size"):
        w(st.layer(L2, f), bad(f))
    for f in ("mount-id", "init-id", "parent"):
        w(st.mount(f), bad(f))
    w(st.ov(C2, "link"), bad("link"))
    w(st.ov(C2, "lower"), bad("lower"))
    w(st.p("image", "overlay2", "imagedb", "metadata", "sha256", IMG, "parent"), bad("image-parent"))
    w(st.repos(), b'{"Repositories":{"hostile":{"hostile:1":"sha256:' + bad("tag") + b'"}}}')


def c_nul_ids(st):
    """NUL bytes in every id file (a valid value, NUL, ../../etc), and in a tag"""
    valid = {"diff": DIFF2, "parent": "sha256:" + L1, "cache-id": C2, "size": "34", "mount-id": MID,
             "init-id": MID + "-init", "link": S2, "lower": "l/" + S1, "image-parent": "sha256:" + IMG}

    def bad(f):
        if f == "tag":
            return (IMG[:10] + "\\u0000" + IMG[10:]).encode()
        return valid[f].encode() + b"\x00../../etc"
    _hostile_ids(st, bad)


def c_nonutf8_ids(st):
    """non-UTF-8 bytes (and terminal escapes) in every id file, and in dir names"""
    def bad(f):
        if f == "tag":
            return b"\xff\xfe\\u001b[31m"
        return b"\xff\xfe\x1b[2J\xc3\x28" + f.encode() + b"\x80"
    _hostile_ids(st, bad)
    os.makedirs(st.ov(b"\xff\xfe\x1b[2Jodd".decode("utf-8", "surrogateescape")))
    os.makedirs(st.layer(b"\xe2\x82\x28bad".decode("utf-8", "surrogateescape")))
    os.symlink(b"\xff/\x1b]0;pwned\x07".decode("utf-8", "surrogateescape"),
               st.ov("l", b"\xc0\xafEEEEEEEEEEEEEEEEEEEEEEEE".decode("utf-8", "surrogateescape")))


def c_many_links(st):
    """100k broken symlinks in overlay2/l/"""
    base = st.ov("l")
    for i in range(100000):
        name = "Z%025d" % i
        name = name.replace("0", "A").replace("1", "B").replace("8", "Q").replace("9", "R")
        os.symlink("../%064x/diff" % i, os.path.join(base, name))


def c_many_overlay_entries(st):
    """100k stray files in overlay2/"""
    base = st.ov()
    for i in range(100000):
        with open(os.path.join(base, "stray-%06d" % i), "wb"):
            pass


def c_fifos(st):
    """FIFOs where files should be: config, repositories.json, cache-id, link,
    lower, mount-id, config.v2.json, snapshots.db (no hang: O_NONBLOCK)"""
    replace_with_fifo(st.config())
    replace_with_fifo(st.repos())
    replace_with_fifo(st.layer(L2, "cache-id"))
    replace_with_fifo(st.ov(C1, "link"))
    replace_with_fifo(st.ov(C2, "lower"))
    replace_with_fifo(st.mount("mount-id"))
    replace_with_fifo(st.p("containers", CID, "config.v2.json"))
    os.makedirs(st.p("buildkit"))
    replace_with_fifo(st.snapshots())


def c_devices_sockets(st):
    """a char device (/dev/zero's 1:5) as cache-id and a socket as link"""
    import socket
    rm(st.layer(L2, "cache-id"))
    os.mknod(st.layer(L2, "cache-id"), 0o600 | 0o020000, os.makedev(1, 5))
    rm(st.ov(C1, "link"))
    s = socket.socket(socket.AF_UNIX)
    cwd = os.getcwd()
    os.chdir(st.ov(C1))   # a relative bind: sun_path holds 108 bytes only
    try:
        s.bind("link")
    finally:
        os.chdir(cwd)
        s.close()


def c_snapshots_truncated(st):
    """a real snapshots.db cut to 10000 bytes"""
    w(st.snapshots(), bytes(real_snapshots()[:10000]))


def c_snapshots_page_loop(st):
    """a real snapshots.db whose root branch page points to itself"""
    db = real_snapshots()
    psize, root = bbolt_meta(db)
    off = root * psize
    flags, count = struct.unpack_from("<HH", db, off + 8)
    assert flags == 0x01 and count >= 2, "fixture root is not a branch page"
    struct.pack_into("<Q", db, off + 16 + 8, root)   # element 0's child = the root itself
    w(st.snapshots(), bytes(db))


def c_snapshots_garbage(st):
    """snapshots.db of 8 KiB of zeros"""
    w(st.snapshots(), bytes(8192))


def c_leftover_symlinks(st):
    """layerdb/tmp/write-set-* and a -removing dir that are symlinks to /etc"""
    os.makedirs(st.p("image", "overlay2", "layerdb", "tmp"))
    os.symlink("/etc", st.p("image", "overlay2", "layerdb", "tmp", "write-set-123"))
    os.symlink("/etc", st.p("image", "overlay2", "layerdb", "sha256", L1 + "-1234567890-removing"))
    os.symlink("/etc", st.p("image", "overlay2", "imagedb", "content", "sha256", ".tmp-repositories.json123"))


def c_orphan_with_symlinks(st):
    """an orphaned overlay2 dir whose diff/ holds symlinks to / and a hard link:
    its size is counted without following them"""
    o = sha(b"orphan")
    IDS_EXTRA["ORPHAN"] = o
    os.makedirs(st.ov(o, "diff"))
    os.symlink("/", st.ov(o, "diff", "root"))
    os.symlink("/etc", st.ov(o, "diff", "etc"))
    w(st.ov(o, "link"), "ORPHANORPHANORPHANORPHANOR")
    os.symlink("../%s/diff" % o, st.ov("l", "ORPHANORPHANORPHANORPHANOR"))


def c_long_lower(st):
    """a lower file of 64 KiB + 1 (over the id cap) and one of 2000 entries"""
    w(st.ov(C2, "lower"), "l/" + "A" * 65536)
    w(st.ov(MID, "lower"), ":".join(["l/" + S1] * 2000))


def c_long_names(st):
    """255-byte names in overlay2/, l/, layerdb and containers/"""
    n = "a" * 255
    os.makedirs(st.ov(n))
    os.symlink("../" + "b" * 250 + "/diff", st.ov("l", n))
    os.makedirs(st.layer(n))
    os.makedirs(st.p("containers", n))


def c_root_not_dir(st):
    """--root names a regular file (run on root/FILE)"""
    w(os.path.join(st.root, "FILE"), "not a dir")


def c_root_missing(st):
    """--root names a path that does not exist (run on root/MISSING)"""


def c_root_symlink_loop(st):
    """--root names a symlink loop (run on root/LOOP)"""
    os.symlink("LOOP", os.path.join(st.root, "LOOP"))


def c_root_unreadable(st):
    """an unprivileged user runs on a root it may not read (0700, owner root)"""
    os.chmod(st.root, 0o700)


def c_subdir_unreadable(st):
    """an unprivileged user may read the root but not overlay2/ or layerdb/"""
    os.chmod(st.root, 0o755)
    for d in (st.p("image"), st.p("image", "overlay2")):
        os.chmod(d, 0o755)
    os.chmod(st.ov(), 0o700)
    os.chmod(st.p("image", "overlay2", "layerdb"), 0o700)
    for d in (st.p("image", "overlay2", "imagedb"), st.p("image", "overlay2", "imagedb", "content"),
              st.p("image", "overlay2", "imagedb", "content", "sha256")):
        os.chmod(d, 0o755)
    os.chmod(st.config(), 0o644)
    os.chmod(st.repos(), 0o644)


IDS_EXTRA = {}

CASES = {name[2:].replace("_", "-"): fn for name, fn in list(globals().items())
         if name.startswith("c_") and callable(fn)}


def main(argv):
    if argv[1:2] == ["--list"]:
        for n in CASES:
            print(n)
        return 0
    out = argv[1]
    wanted = argv[2:] or list(CASES)
    os.makedirs(out, exist_ok=True)
    os.umask(0o022)
    for name in wanted:
        IDS_EXTRA.clear()
        st = Store(os.path.join(out, name))
        if os.path.lexists(st.case_dir):
            rm(st.case_dir)
        os.makedirs(st.case_dir)
        build_base(st)
        CASES[name](st)
        with open(os.path.join(st.case_dir, "ids.env"), "w") as f:
            for k, v in sorted({**IDS, **IDS_EXTRA}.items()):
                f.write("%s=%s\n" % (k, v))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
