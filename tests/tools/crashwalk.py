#!/usr/bin/env python3
"""crashwalk.py — an independent walk of a stopped Docker overlay2 root: the
garbage (and the few errors) a dockerd killed with -9 can leave, computed
from the files alone, with none of ovl2fsck's code or SQL.

    crashwalk.py ROOT        one "severity check object" line per finding, sorted

What it computes (the object names are ovl2fsck's, so that the two sets can
be compared line by line in tests/integration/t-crash.t):

  garbage overlay-dir-orphaned       overlay2/<dir> that nothing claims. Claims: a
                                     layer's cache-id (layerdb/sha256/<chainID>, not
                                     -removing), a mount's mount-id and init-id (image
                                     mounts of Docker 28 included), a snapshot of
                                     buildkit/snapshots.db, and, transitively, every
                                     dir a claimed dir's lower file names (l/<short>,
                                     resolved by the l/ symlink or a dir's link file)
  garbage layer-unreferenced         a layer no image (rootfs.diff_ids -> chainIDs),
                                     mount parent or snapshots.db chain id reaches
                                     through the parent chains
  garbage layerdb-tmp-leftover       layerdb/tmp/* (write-set-*)
  garbage layerdb-removing-leftover  layerdb/sha256/*-removing
  garbage mount-container-missing    layerdb/mounts/<64 hex> without containers/<id>
  garbage image-mount-container-missing  layerdb/mounts/<id>-<ref...> (nested) without
                                     containers/<id>
  garbage container-mount-missing    containers/<id> of the overlay2 driver without a
                                     mount entry
  garbage container-removal-leftover a Dead / RemovalInProgress container whose mount
                                     entry or dirs are already gone in part (a dir is
                                     gone in part when it, its link file, its diff/ or
                                     (RW dir) its lower file is missing: os.RemoveAll
                                     was deleting it). The dirs of a container being
                                     removed never get an error finding
  garbage root-tmp-leftover          ROOT/tmp/* (but dockerd 25+'s empty
                                     moby-detect-rro* dir) and ROOT/tmp-old
  garbage imagedb-tmp-leftover       imagedb/content/sha256/.tmp-*
  garbage overlay-tmp-leftover       .tmp-* files/symlinks in claimed overlay2 dirs
                                     and in l/ (those of orphaned dirs go with them)
  garbage overlay-link-broken        l/<short> symlinks whose ../<dir>/diff target dir
                                     does not exist
  error   image-layer-missing        an image's chainID has no layerdb dir
  error   layer-cache-id-dangling    a layer's cache-id names no overlay2 dir
  error   mount-id-dangling          a container's mount-id / init-id names no dir (or
                                     is missing) and the container was not being removed
  error   overlay-link-missing       a claimed dir without link file or l/ symlink
                                     (but the dirs of a container being removed)
  error   container-config-invalid   containers/<id> without a readable config.v2.json

Silence rules that ovl2fsck documents (garbage proving "unreferenced" is not
reported while a reference may have been missed) are not modelled: if they
ever apply after a crash, the comparison shows it.
"""
import json
import os
import re
import stat
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import boltdump  # noqa: E402
from storeinfo import chain_ids  # noqa: E402

HEX64 = re.compile(r"^[0-9a-f]{64}$")
LINK = re.compile(r"^[A-Z2-7]{26}$")


def rd(path, limit=1 << 20):
    try:
        with open(path, "rb") as f:
            return f.read(limit).decode("utf-8", "replace").strip()
    except OSError:
        return None


def ls(path):
    try:
        return sorted(os.listdir(path))
    except OSError:
        return []


def isdir(path):
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def main(root):
    ov = os.path.join(root, "overlay2")
    img = os.path.join(root, "image", "overlay2")
    ldb = os.path.join(img, "layerdb")
    found = set()

    def add(sev, check, obj):
        found.add("%s %s %s" % (sev, check, obj))

    # --- overlay2 dirs and l/ ---
    dirs = {n for n in ls(ov) if n != "l" and isdir(os.path.join(ov, n))}
    links = {}   # short name -> target dir (None: not ../<dir>/diff)
    for n in ls(os.path.join(ov, "l")):
        p = os.path.join(ov, "l", n)
        if n.startswith(".tmp-"):
            if not isdir(p):
                add("garbage", "overlay-tmp-leftover", "l/" + n)
            continue
        if not os.path.islink(p):
            continue
        t = os.readlink(p)
        m = re.match(r"^\.\./([^/]+)/diff$", t)
        links[n] = m.group(1) if m else None
        if not m or m.group(1) not in dirs:
            add("garbage", "overlay-link-broken", n)
    link_file = {d: rd(os.path.join(ov, d, "link")) for d in dirs}
    by_link = {v: d for d, v in link_file.items() if v}

    # --- layers ---
    layers = {}   # chain -> (cache_id, parent)
    for n in ls(os.path.join(ldb, "sha256")):
        p = os.path.join(ldb, "sha256", n)
        if n.endswith("-removing"):
            add("garbage", "layerdb-removing-leftover", n)
            continue
        if not HEX64.match(n) or not isdir(p):
            continue
        par = rd(os.path.join(p, "parent"))
        layers[n] = (rd(os.path.join(p, "cache-id")), par[7:] if par else None)
    for n in ls(os.path.join(ldb, "tmp")):
        add("garbage", "layerdb-tmp-leftover", n)

    # --- images ---
    live_chains = set()
    content = os.path.join(img, "imagedb", "content", "sha256")
    for n in ls(content):
        if n.startswith(".tmp-"):
            add("garbage", "imagedb-tmp-leftover", n)
            continue
        try:
            with open(os.path.join(content, n), "rb") as f:
                cfg = json.loads(f.read())
            chains = chain_ids(cfg["rootfs"]["diff_ids"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        for c in chains:
            if c not in layers:
                add("error", "image-layer-missing", n)
        live_chains.update(chains)

    # --- containers and mounts ---
    containers = {}
    cdir = os.path.join(root, "containers")
    for n in ls(cdir):
        if not HEX64.match(n):
            continue
        try:
            with open(os.path.join(cdir, n, "config.v2.json"), "rb") as f:
                cfg = json.loads(f.read())
            st = cfg.get("State") or {}
            containers[n] = (cfg.get("Driver"), bool(st.get("Dead")), bool(st.get("RemovalInProgress")))
        except (OSError, ValueError, AttributeError):
            containers[n] = None
            add("error", "container-config-invalid", n)
    removing = set()   # dirs of containers being removed: owned by their garbage finding
    mounts = {}   # rel path -> (container id, mount-id, init-id, parent)
    mroot = os.path.join(ldb, "mounts")

    def walk_mounts(rel, depth):
        p = os.path.join(mroot, rel)
        names = ls(p)
        subdirs = [x for x in names if isdir(os.path.join(p, x))]
        # an entry has a mount file; a dir with none and no sub-dir is an
        # entry whose files are gone (docker rm deletes them one by one, then
        # the dir): dockerd cannot load it
        if depth > 0 and (any(x in names for x in ("mount-id", "init-id", "parent")) or not subdirs):
            cid = rel.split("/", 1)[0][:64]
            par = rd(os.path.join(p, "parent"))
            mounts[rel] = (cid, rd(os.path.join(p, "mount-id")), rd(os.path.join(p, "init-id")),
                           par[7:] if par else None)
            return
        if depth >= 9:
            return
        for x in subdirs:
            walk_mounts(os.path.join(rel, x) if rel else x, depth + 1)

    walk_mounts("", 0)
    for rel, (cid, mid, iid, par) in mounts.items():
        plain = HEX64.match(rel) is not None
        if cid not in containers:
            add("garbage", "mount-container-missing" if plain else "image-mount-container-missing", rel)
        if par:
            live_chains.add(par)
    for cid, c in containers.items():
        if c is None or c[0] != "overlay2":
            continue
        if cid not in mounts:
            add("garbage", "container-mount-missing", cid)
            continue
        _, mid, iid, _ = mounts[cid]
        if c[1] or c[2]:
            # docker rm: config marked Dead, RW dir removed (os.RemoveAll: link,
            # lower, work, diff in any order), -init dir, the mount entry, the
            # container dir. A dir without its link file or diff/ is gone in part.
            # The RW dir always has a lower file (its -init dir at least).
            def part(d, rw):
                return (d not in dirs or not link_file.get(d) or not isdir(os.path.join(ov, d, "diff"))
                        or (rw and not os.path.lexists(os.path.join(ov, d, "lower"))))
            if not mid or part(mid, True) or (iid is not None and (not iid or part(iid, False))):
                add("garbage", "container-removal-leftover", cid)
            # whatever their state, these dirs' damage is the removal's: no error
            removing.update(x for x in (mid, iid) if x)
        elif not mid or mid not in dirs or (iid is not None and (not iid or iid not in dirs)):
            add("error", "mount-id-dangling", cid)

    # --- BuildKit ---
    bk_dirs = set()
    try:
        with open(os.path.join(root, "buildkit", "snapshots.db"), "rb") as f:
            tree = boltdump.Bolt(f.read()).tree()
    except FileNotFoundError:
        tree = {}
    for key, vals in tree.items():
        if not isinstance(vals, dict):
            continue
        committed, parent, chain = vals.get("committed"), vals.get("parent"), vals.get("chainid")
        if isinstance(committed, str) and committed:
            bk_dirs.add(committed)
        elif isinstance(parent, str):
            bk_dirs.add(key)
        for c in (key, chain):
            if isinstance(c, str) and c.startswith("sha256:"):
                live_chains.add(c[7:])

    # --- layer liveness (parent closure) ---
    live = set()
    for c in live_chains:
        while c and c in layers and c not in live:
            live.add(c)
            c = layers[c][1]
    for c in layers:
        if c not in live:
            add("garbage", "layer-unreferenced", c)

    # --- claims on overlay2 dirs ---
    claimed = set()
    for c, (cache, _) in layers.items():
        if cache:
            claimed.add(cache)
            if cache not in dirs:
                add("error", "layer-cache-id-dangling", c)
    for rel, (cid, mid, iid, _) in mounts.items():
        claimed.update(x for x in (mid, iid) if x)
    claimed |= bk_dirs
    todo = [d for d in claimed if d in dirs]
    while todo:
        d = todo.pop()
        low = rd(os.path.join(ov, d, "lower"))
        for ent in (low or "").split(":"):
            s = ent[2:] if ent.startswith("l/") else None
            t = links.get(s) or by_link.get(s)
            if t and t in dirs and t not in claimed:
                claimed.add(t)
                todo.append(t)
    for d in sorted(dirs):
        if d not in claimed:
            add("garbage", "overlay-dir-orphaned", d)
            continue
        lk = link_file.get(d)
        if d in removing:
            pass
        elif not lk or not os.path.islink(os.path.join(ov, "l", lk)):
            add("error", "overlay-link-missing", d)
        for n in ls(os.path.join(ov, d)):
            if n.startswith(".tmp-") and not isdir(os.path.join(ov, d, n)):
                add("garbage", "overlay-tmp-leftover", d + "/" + n)

    # --- ROOT/tmp, tmp-old ---
    for n in ls(os.path.join(root, "tmp")):
        p = os.path.join(root, "tmp", n)
        if n.startswith("moby-detect-rro") and isdir(p):
            continue
        add("garbage", "root-tmp-leftover", "tmp/" + n)
    if os.path.lexists(os.path.join(root, "tmp-old")):
        add("garbage", "root-tmp-leftover", "tmp-old")

    for line in sorted(found):
        print(line)
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1]))
