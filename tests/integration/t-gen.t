#!/usr/bin/env bash
# The synthetic store generator of the benchmark (tools/bench/genstore.c)
# against ovl2fsck: a generated store is deterministic by seed, its formats
# hold (chainIDs, config digests, id files without newline, tar-split streams
# that rebuild every layer: --deep verifies them all), and ovl2fsck finds
# exactly the leftovers genstore injected, class by class, and nothing else.
# (t-gen-dockerd.t loads a generated store into a real dockerd.)
. "$(dirname "$0")/../lib/tap.sh"
tap_tmpdir

TOP=$TAP_TOP
command -v python3 >/dev/null || skip_all "python3 missing"
command -v cc >/dev/null || skip_all "no C compiler"
tap_genstore

# summary value: sv FILE KEY
sv() { sed -n "s/^$2=//p" "$1" | head -n 1; }
# JSON value by dotted path: jv FILE a.b.c
jv() { python3 -c 'import json,sys
v = json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."): v = v[k]
print(json.dumps(v) if isinstance(v, (dict, list, bool)) or v is None else v)' "$1" "$2"; }
# fsck DIR ARGS...: JSON into DIR.json, exit code into FSCK_RC
fsck() {
    local d=$1; shift
    FSCK_RC=0
    "$OVL2FSCK" --root "$d" --json --min-age 0 "$@" >"$d.json" 2>"$d.err" || FSCK_RC=$?
}
# a listing of a tree: every path, type, size, symlink target and content hash
tree_digest() {
    (cd "$1" && find . -printf '%P %y %m %s %l\n' | LC_ALL=C sort &&
        find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum) | sha256sum | cut -d' ' -f1
}

# --- determinism ----------------------------------------------------------------
A=$TAP_TMP/a
ok "genstore --images 20 --garbage 10 --seed 7" sh -c "'$GEN' --out '$A' --images 20 --garbage 10 --seed 7 --quiet >'$A.sum'"
ok "a second run with the same seed" sh -c "'$GEN' --out '$TAP_TMP/a2' --images 20 --garbage 10 --seed 7 --quiet >'$TAP_TMP/a2.sum'"
is "$(tree_digest "$TAP_TMP/a2")" "$(tree_digest "$A")" "same seed: byte-identical trees (names, modes, sizes, links, contents)"
is "$(cat "$TAP_TMP/a2.sum")" "$(cat "$A.sum")" "same seed: same summary"
"$GEN" --out "$TAP_TMP/b" --images 20 --garbage 10 --seed 8 --quiet >"$TAP_TMP/b.sum"
isnt "$(cat "$TAP_TMP/b/image/overlay2/repositories.json")" "$(cat "$A/image/overlay2/repositories.json")" \
    "another seed: other image ids"
nok "refuses a non-empty --out" sh -c "'$GEN' --out '$A' --images 2 >/dev/null 2>&1"
rm -rf --one-file-system "$TAP_TMP/a2" "$TAP_TMP/b"

# --- the formats, checked without ovl2fsck ----------------------------------------
fmt=$(python3 - "$A" <<'EOF'
import gzip, hashlib, json, os, re, sys, base64
root = sys.argv[1]
bad = []
def rd(p):
    with open(p, "rb") as f: return f.read()
def sha(b): return hashlib.sha256(b).hexdigest()
hexre = re.compile(rb"sha256:[0-9a-f]{64}\Z")
ldb = os.path.join(root, "image/overlay2/layerdb/sha256")
chains = {}
for name in os.listdir(ldb):
    if name.endswith("-removing"): continue
    d = os.path.join(ldb, name)
    diff = rd(d + "/diff"); cache = rd(d + "/cache-id"); size = rd(d + "/size")
    parent = rd(d + "/parent") if os.path.exists(d + "/parent") else None
    for what, v in (("diff", diff), ("parent", parent)):
        if v is not None and not hexre.match(v): bad.append(f"{name}/{what}: {v!r}")
    if not re.fullmatch(rb"[0-9]+", size): bad.append(f"{name}/size: {size!r}")
    if not re.fullmatch(rb"[0-9a-f]{64}|[0-9a-z]{25}", cache): bad.append(f"{name}/cache-id: {cache!r}")
    want = diff[7:].decode() if parent is None else sha(parent + b" " + diff)
    if want != name: bad.append(f"{name}: chainID mismatch ({want})")
    # tar-split rebuild: segments verbatim + files from overlay2/<cache-id>/diff
    h = hashlib.sha256(); pos = 0
    with gzip.open(d + "/tar-split.json.gz") as f:
        for line in f:
            e = json.loads(line)
            if e["position"] != pos: bad.append(f"{name}: tar-split position {e['position']} != {pos}")
            pos += 1
            if e["type"] == 2: h.update(base64.b64decode(e["payload"]))
            elif e.get("size"): h.update(rd(os.path.join(root, "overlay2", cache.decode(), "diff", e["name"])))
    if "sha256:" + h.hexdigest() != diff.decode(): bad.append(f"{name}: tar-split rebuilds to {h.hexdigest()}")
    chains[name] = cache.decode()
content = os.path.join(root, "image/overlay2/imagedb/content/sha256")
for name in os.listdir(content):
    if name.startswith(".tmp-"): continue
    b = rd(os.path.join(content, name))
    if sha(b) != name: bad.append(f"image {name}: digest {sha(b)}")
    cfg = json.loads(b)
    for k in ("architecture", "os", "config", "history", "rootfs"):
        if k not in cfg: bad.append(f"image {name}: no {k}")
    if len(cfg["history"]) != len(cfg["rootfs"]["diff_ids"]): bad.append(f"image {name}: history length")
# overlay2: link = 26 base32, l/<link> -> ../<dir>/diff, lower entries are links
ov = os.path.join(root, "overlay2")
links = {l: os.readlink(os.path.join(ov, "l", l)) for l in os.listdir(os.path.join(ov, "l"))}
for name in os.listdir(ov):
    if name == "l": continue
    link = rd(os.path.join(ov, name, "link"))
    if not re.fullmatch(rb"[A-Z2-7]{26}", link): bad.append(f"overlay2/{name}/link: {link!r}")
    if links.get(link.decode()) != f"../{name}/diff": bad.append(f"overlay2/l/{link.decode()} does not point to {name}")
    lp = os.path.join(ov, name, "lower")
    if os.path.exists(lp):
        lower = rd(lp)
        if lower.endswith(b"\n") or not re.fullmatch(rb"l/[A-Z2-7]{26}(:l/[A-Z2-7]{26})*", lower):
            bad.append(f"overlay2/{name}/lower: {lower[:60]!r}")
        if not os.path.isdir(os.path.join(ov, name, "work")): bad.append(f"overlay2/{name}: lower without work/")
# no id file ends with a newline
for top, dirs, files in os.walk(os.path.join(root, "image/overlay2/layerdb")):
    for f in files:
        if f in ("diff", "parent", "cache-id", "size", "mount-id", "init-id") and rd(os.path.join(top, f)).endswith(b"\n"):
            bad.append(f"{top}/{f} ends with a newline")
print("\n".join(bad[:20]) if bad else "ok")
EOF
)
is "$fmt" ok "formats: chainIDs, digests, id files, links, lower files, tar-split rebuilds (independent check)"

# --- ovl2fsck finds exactly the injected garbage -----------------------------------
check_expected() {   # check_expected STORE NAME
    local s=$1 what=$2 out
    out=$(python3 - "$s.json" "$s.sum" <<'EOF'
import collections, json, sys
d = json.load(open(sys.argv[1]))
exp = {}
for line in open(sys.argv[2]):
    k, _, v = line.strip().partition("=")
    if k.startswith("expect.") and k != "expect.garbage_total" and int(v):
        exp[k[7:]] = int(v)
got = collections.Counter(f["check"] for f in d["findings"])
diff = [f"{c}: got {got.get(c, 0)}, injected {exp.get(c, 0)}" for c in sorted(set(got) | set(exp)) if got.get(c, 0) != exp.get(c, 0)]
print("\n".join(diff) if diff else "same")
EOF
)
    is "$out" same "$what: findings per check = the injected garbage per class"
}

fsck "$A"
is "$FSCK_RC" 4 "garbage store: exit 4 (garbage found)"
is "$(jv "$A.json" summary.errors)" 0 "garbage store: 0 errors"
is "$(jv "$A.json" summary.warnings)" 0 "garbage store: 0 warnings"
is "$(jv "$A.json" summary.garbage)" "$(sv "$A.sum" expect.garbage_total)" \
    "garbage store: $(sv "$A.sum" expect.garbage_total) garbage findings, as injected"
check_expected "$A" "garbage store"
for k in images layers containers mounts overlay_dirs links buildkit_snapshots; do
    is "$(jv "$A.json" scanned.$k)" "$(sv "$A.sum" $k)" "scanned.$k = $(sv "$A.sum" $k), as generated"
done
for k in orphan_layer_dirs orphan_container_pairs orphan_buildkit_dirs write_sets removing imagedb_tmp \
         broken_links unreferenced_layers mounts_without_container containers_without_mount; do
    ok "garbage class $k was injected ($(sv "$A.sum" garbage.$k))" test "$(sv "$A.sum" garbage.$k)" -ge 1
done
ok "reclaimable_bytes > 0" test "$(jv "$A.json" summary.reclaimable_bytes)" -gt 0

# a bigger store, another seed: more of everything, still exact
B=$TAP_TMP/big
"$GEN" --out "$B" --images 250 --garbage 4 --seed 3 --quiet >"$B.sum"
fsck "$B"
is "$(jv "$B.json" summary.errors)/$(jv "$B.json" summary.warnings)" 0/0 "250 images: 0 errors, 0 warnings"
check_expected "$B" "250 images"
is "$(jv "$B.json" scanned.layers)" "$(sv "$B.sum" layers)" "250 images: $(sv "$B.sum" layers) layers"
rm -rf --one-file-system "$B"

# --- a clean store: nothing at all, and --deep verifies every layer ------------------
C=$TAP_TMP/clean
"$GEN" --out "$C" --images 30 --garbage 0 --seed 11 --quiet >"$C.sum"
fsck "$C"
is "$FSCK_RC" 0 "clean store: exit 0"
is "$(jv "$C.json" findings)" "[]" "clean store: no findings"
fsck "$C" --deep --db "$TAP_TMP/clean.db"
is "$FSCK_RC" 0 "clean store --deep: exit 0"
is "$(jv "$C.json" findings)" "[]" "clean store --deep: no findings"
if command -v sqlite3 >/dev/null; then
    is "$(sqlite3 "$TAP_TMP/clean.db" "SELECT count(*) FROM deep_layer WHERE state = 'verified'")" \
        "$(sv "$C.sum" layers)" "--deep rebuilt and verified all $(sv "$C.sum" layers) layers"
else
    skip 1 "sqlite3 missing"
fi
is "$(sv "$C.sum" expect.garbage_total)" 0 "--garbage 0: nothing injected"

# BuildKit off: no snapshots.db, no 25-char dirs
N=$TAP_TMP/nobk
"$GEN" --out "$N" --images 10 --buildkit 0 --garbage 10 --quiet >"$N.sum"
ok "--buildkit 0: no buildkit/ dir" test ! -e "$N/buildkit"
fsck "$N"
check_expected "$N" "--buildkit 0"

done_testing
