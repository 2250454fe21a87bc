#!/usr/bin/env bash
# --deep on a real dockerd store (issue 5's proof): every layer of a store with
# an imported base, classic and BuildKit builds and `docker load`ed hostile
# layers (tests/tools/mklayers.py) verifies with no finding; the rebuilt
# streams are byte for byte docker save's layer.tar; each injected damage
# (byte flip, deleted file, corrupt gzip, "../../etc/passwd" entry, missing
# tar-split) gives exactly its check on exactly its layer, exit 4; --layer and
# --image restrict the work; a progress line shows on a tty only.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/store.sh"
export PYTHONDONTWRITEBYTECODE=1

[ -x "$OVL2FSCK" ] || bail_out "$OVL2FSCK is not built (run make)"
why=$(store_prereq_missing)
[ -z "$why" ] || skip_all "cannot run a real dockerd: $why"
for c in sqlite3 strace script cc pkg-config; do
    command -v "$c" >/dev/null || skip_all "no $c"
done
LIB=$TAP_TOP/build/libovl2fsck.a
[ -f "$LIB" ] || bail_out "$LIB is not built (run make)"
tap_tmpdir
T=$TAP_TMP
TOOLS=$TAP_TOP/tests/tools
findings() { python3 "$TOOLS/findings.py" "$@"; }
# details JSON CHECK: the detail of each finding of that check, one a line
details() {
    python3 -c 'import json, sys
for f in json.load(open(sys.argv[1])).get("findings", []):
    if f.get("check") == sys.argv[2]: print(f.get("detail"))' "$1" "$2"
}

# The helper that writes a layer's rebuilt stream with deep_rebuild_stream().
# shellcheck disable=SC2046
cc -std=c11 -D_GNU_SOURCE -O2 ${OVL2FSCK_SAN_CFLAGS:-} -I"$TAP_TOP/include" -o "$T/deeprebuild" "$TOOLS/deeprebuild.c" "$LIB" \
    $(pkg-config --libs sqlite3 libcjson libcrypto zlib) -lpthread ||
    bail_out "cannot build tests/tools/deeprebuild.c"

# ---------------------------------------------------------------- the store
# The shared reference store (busybox import, classic builds, a BuildKit
# build, mkimage.py layers, containers), plus on a private dockerd: the
# mklayers.py hostile images, a classic build with a big sparse file made in
# RUN, and a BuildKit build on a loaded image (hard link, whiteout, opaque dir,
# sparse file). dockerd 20.10 refuses GNU sparse tar entries, so sparse files
# come from RUN steps.
ref_store_template || bail_out "could not build the reference store with dockerd"
S=$T/store
ref_store_copy "$S" || bail_out "cannot copy the reference store"
E=$(mktemp -d /tmp/o2d.XXXXXX)
at_exit 'rm -rf --one-file-system "$E"'
DOCKERD_LOG_FILE=$T/dockerd.log
dockerd_start "$S" "$E/e" || bail_out "dockerd did not start"
d() { dockerd_docker "$@" >>"$T/docker.out" 2>&1 || { tail -n 20 "$T/docker.out" >&2; return 1; }; }

python3 "$TOOLS/mklayers.py" "$T/ml" hostile fixture >"$T/ml.ids" || bail_out "mklayers.py failed"
d load -i "$T/ml/hostile.tar" || bail_out "docker load hostile"
d load -i "$T/ml/fixture.tar" || bail_out "docker load fixture"

mkdir -p "$T/sparse" "$T/bkdeep"
cat >"$T/sparse/Dockerfile" <<'EOF'
FROM o2t/busybox:latest
RUN busybox dd if=/dev/urandom of=/sparse bs=65536 count=2 2>/dev/null && \
    busybox dd if=/dev/urandom of=/sparse bs=65536 count=1 seek=1000 conv=notrunc 2>/dev/null && \
    busybox truncate -s 100663296 /sparse && busybox truncate -s 0 /empty
EOF
DOCKER_BUILDKIT=0 d build --network none -t o2t/deep-sparse:1 "$T/sparse" || bail_out "classic build"
cat >"$T/bkdeep/Dockerfile" <<'EOF'
FROM deep-fixture:1
COPY --from=o2t/busybox:latest /bin/ /bin/
RUN ln /etc/motd /etc/motd.hard && ln -s /etc/motd /etc/motd.sym && rm /etc/hosts.hard && \
    rm -rf /big && mkdir /big && echo fresh > /big/only && \
    busybox dd if=/dev/urandom of=/bk-sparse bs=4096 count=1 seek=4000 2>/dev/null && \
    busybox truncate -s 33554432 /bk-sparse
EOF
DOCKER_BUILDKIT=1 d build --network none -t o2t/deep-bk:1 "$T/bkdeep" || bail_out "BuildKit build"

_store_facts >"$T/facts" 2>>"$T/docker.out" || bail_out "docker facts"
SAVED=(deep-hostile:1 deep-fixture:1 o2t/deep-sparse:1 o2t/deep-bk:1 o2t/bk:latest o2t/classic-b:latest)
d save -o "$T/save.tar" "${SAVED[@]}" || bail_out "docker save"
dockerd_stop
DOCKER_LAYERS=$(sed -n 's/^layers=//p' "$T/facts")

LAYERDB=$S/image/overlay2/layerdb/sha256
N_LAYERDB=$(find "$LAYERDB" -mindepth 1 -maxdepth 1 -type d -regextype posix-extended \
    -regex '.*/[0-9a-f]{64}' | wc -l)
is "$N_LAYERDB" "$DOCKER_LAYERS" "store: the layerdb holds the $DOCKER_LAYERS layers docker reported"

# chain ID of the top layer of an image, and the chain IDs of all its layers
# (from the saved archive: manifest + config diff_ids).
mkdir -p "$T/saved" && tar -C "$T/saved" -xf "$T/save.tar" || bail_out "cannot unpack docker save output"
python3 - "$T/saved" >"$T/saved.map" <<'EOF' || bail_out "cannot read the saved manifest"
import hashlib, json, os, sys
root = sys.argv[1]
for m in json.load(open(os.path.join(root, "manifest.json"))):
    cfg = json.load(open(os.path.join(root, m["Config"])))
    chain = None
    for diff, tarpath in zip(cfg["rootfs"]["diff_ids"], m["Layers"]):
        chain = diff if chain is None else "sha256:" + hashlib.sha256((chain + " " + diff).encode()).hexdigest()
        for tag in m["RepoTags"]:
            print(tag, chain[7:], diff, tarpath)
EOF
chains_of() { awk -v t="$1" '$1 == t { print $2 }' "$T/saved.map"; }
top_of() { chains_of "$1" | tail -n 1; }
cache_of() { cat "$LAYERDB/$1/cache-id"; }

# the sparse file in the classic build's top layer: 96 MiB, mostly holes in the
# RW layer; note how much of it diff/ really allocates.
SP_TOP=$(top_of o2t/deep-sparse:1)
SP_FILE=$S/overlay2/$(cache_of "$SP_TOP")/diff/sparse
is "$(stat -c %s "$SP_FILE" 2>/dev/null)" 100663296 "store: the RUN-made sparse file is in its layer's diff/"
note "sparse file: $(stat -c '%s bytes, %b blocks of %B' "$SP_FILE") in diff/"
# the BuildKit RUN layer: a whiteout (char 0:0 in diff/, .wh. in the stream),
# an opaque dir, a hard link and a symlink, as dockerd registered them
BK_TOP=$(top_of o2t/deep-bk:1)
BKD=$S/overlay2/$(cache_of "$BK_TOP")/diff
is "$(stat -c '%F %t:%T' "$BKD/etc/hosts.hard" 2>&1)" "character special file 0:0" \
    "store: the BuildKit layer's deletion is a 0:0 whiteout in diff/"
ts_names=$(python3 -c 'import gzip, json, sys
for l in gzip.open(sys.argv[1]):
    e = json.loads(l)
    if e.get("type") == 1: print(e.get("name"))' "$LAYERDB/$BK_TOP/tar-split.json.gz" | sort | paste -sd' ')
like " $ts_names " ' big/\.wh\.\.wh\.\.opq .* etc/\.wh\.hosts\.hard ' \
    "store: its tar-split has the whiteout and the opaque-dir marker"

# ---------------------------------------------------------------- clean store
deep() { # deep ROOT NAME [ARGS]: --deep --json into $T/NAME.json, db $T/NAME.db; RC
    local root=$1 name=$2; shift 2
    rm -f "$T/$name.db"
    "$OVL2FSCK" --root "$root" --deep --min-age 0 --json --db "$T/$name.db" "$@" \
        >"$T/$name.json" 2>"$T/$name.err"
    RC=$?
}
q() { sqlite3 "$T/$1.db" "$2"; }

t0=$SECONDS
deep "$S" clean
is "$RC" 0 "clean: exit 0"
ok "clean: no findings" findings none "$T/clean.json" || diag "$(findings list "$T/clean.json")"
is "$(q clean "SELECT count(*) FROM deep_layer WHERE state = 'verified'")" "$DOCKER_LAYERS" \
    "clean: all $DOCKER_LAYERS layers verified (deep_layer state = verified)"
is "$(q clean "SELECT count(*) FROM deep_layer")" "$DOCKER_LAYERS" "clean: no layer failed or had findings"
is "$(q clean "SELECT count(*) FROM deep_finding")" 0 "clean: deep_finding is empty"
note "clean store: $DOCKER_LAYERS layers, --deep in $((SECONDS - t0))s"

# every mklayers.py diffID is a layer of the store, and verified
ids=$(cut -d' ' -f2- "$T/ml.ids" | tr ' ' '\n' | sort -u)
n_ml=$(grep -c . <<<"$ids")
n_ml_ok=$(q clean "SELECT count(*) FROM deep_layer d JOIN layer l ON l.chain_id = d.chain_id
                   WHERE d.state = 'verified' AND 'sha256:' || l.diff IN ($(sed "s/.*/'&'/" <<<"$ids" | paste -sd,))")
is "$n_ml_ok" "$n_ml" "clean: all $n_ml mklayers.py layers (PAX, non-UTF-8, links, whiteouts, opaque) verified"

# ---------------------------------------------------------------- cross-check
# the rebuilt stream of each layer in the saved images equals its layer.tar,
# byte for byte (so its sha256 is the layer.tar digest), and deep_layer.bytes
# of the clean run is its size
n=0; bad=0; badsize=0
while read -r tag chain diff tarpath; do
    [ -f "$T/x.$chain" ] && continue     # layers shared between images: once
    : >"$T/x.$chain"
    n=$((n + 1))
    "$T/deeprebuild" "$S" "$chain" >"$T/rebuilt.tar" 2>"$T/rebuilt.err" || { bad=$((bad + 1)); diag "$(cat "$T/rebuilt.err")"; continue; }
    sum=$(sha256sum <"$T/saved/$tarpath" | cut -d' ' -f1)
    if ! cmp -s "$T/rebuilt.tar" "$T/saved/$tarpath" || [ "sha256:$sum" != "$diff" ]; then
        bad=$((bad + 1)); diag "$tag $chain: rebuilt stream differs from $tarpath"
    fi
    size=$(stat -c %s "$T/saved/$tarpath")
    got=$(q clean "SELECT bytes FROM deep_layer WHERE chain_id = '$chain'")
    [ "$got" = "$size" ] || { badsize=$((badsize + 1)); diag "$chain: deep_layer.bytes $got, layer.tar $size bytes"; }
done <"$T/saved.map"
rm -f "$T"/x.* "$T/rebuilt.tar"
is "$bad" 0 "cross-check: $n rebuilt streams equal docker save's layer.tar (and their sha256 the diffID)"
is "$badsize" 0 "cross-check: deep_layer.bytes is the size of layer.tar for all $n"
ok "cross-check: the sample covers all ${#SAVED[@]} saved images' layers (>= 12)" test "$n" -ge 12
note "cross-check: $n layers"

# ---------------------------------------------------------------- --layer / --image
FX_TOP=$(top_of deep-fixture:1)
HO=$(chains_of deep-hostile:1 | sort -u | wc -l)
deep "$S" sel1 --layer "$FX_TOP"
is "$RC:$(q sel1 "SELECT group_concat(chain_id) FROM deep_layer")" "0:$FX_TOP" "--layer: only that layer is verified"
deep "$S" sel2 --layer "sha256:$FX_TOP" --layer "$SP_TOP"
is "$RC:$(q sel2 "SELECT count(*) FROM deep_layer")" "0:2" "--layer twice (with and without sha256:): two layers"
deep "$S" sel3 --image deep-hostile:1
is "$RC:$(q sel3 "SELECT count(*) FROM deep_layer WHERE state = 'verified'")" "0:$HO" "--image deep-hostile:1: its $HO layers"
want=$(chains_of deep-hostile:1 | sort -u | paste -sd,)
is "$(q sel3 "SELECT group_concat(chain_id) FROM (SELECT chain_id FROM deep_layer ORDER BY chain_id)")" "$want" \
    "--image: exactly that image's chain IDs"
BK=$(chains_of o2t/deep-bk:1 | sort -u | wc -l)
deep "$S" sel4 --image o2t/deep-bk:1 --layer "$SP_TOP"
is "$RC:$(q sel4 "SELECT count(*) FROM deep_layer")" "0:$((BK + 1))" "--image and --layer together: the union ($((BK + 1)))"
deep "$S" sel5 --layer "$(printf '%064d' 0)"
is "$RC" 16 "--layer naming no layer: usage error (16)"

# ---------------------------------------------------------------- injections
# Each on a fresh copy of the clean store; findings must be exactly these.
copy() { C=$T/$1; rm -rf --one-file-system "$C"; cp -a --preserve=all "$S" "$C" || bail_out "cp -a"; }
drop() { rm -rf --one-file-system "$C"; }
FXD=$S/overlay2/$(cache_of "$FX_TOP")/diff
FX_BASE=$(chains_of deep-fixture:1 | head -n 1)

# 1. one byte of one file flipped (etc/motd, only in the fixture's top layer)
copy flip
f=$C/overlay2/$(cache_of "$FX_TOP")/diff/etc/motd
printf 'F' | dd of="$f" bs=1 seek=0 conv=notrunc status=none
deep "$C" flip
is "$RC" 4 "flip a byte: exit 4"
out=$(findings expect "$T/flip.json" --want layer-file-modified="$FX_TOP" --want layer-content-mismatch="$FX_TOP") ||
    diag "$out"
ok "flip a byte: exactly layer-file-modified + layer-content-mismatch on that layer" test -z "$out"
is "$(findings list "$T/flip.json" | grep -c layer-file-modified)" 1 "flip a byte: one layer-file-modified"
like "$(details "$T/flip.json" layer-file-modified)" '"etc/motd"' "flip a byte: the finding names etc/motd"
is "$(q flip "SELECT state || ':' || count(*) FROM deep_layer GROUP BY state ORDER BY state" | paste -sd' ')" \
    "findings:1 verified:$((DOCKER_LAYERS - 1))" "flip a byte: that layer has findings, every other one verifies"
deep "$C" flip-other --image o2t/deep-sparse:1
is "$RC:$(findings list "$T/flip-other.json" | grep -c .)" "0:0" "flip a byte: --image of another image does not see it"
deep "$C" flip-one --layer "$FX_TOP"
is "$RC:$(q flip-one "SELECT count(*) FROM deep_finding")" "4:2" "flip a byte: --layer that layer finds both"
drop

# 2. a file deleted (big/text, 300 KiB, in the fixture's base layer)
copy missing
rm "$C/overlay2/$(cache_of "$FX_BASE")/diff/big/text"
deep "$C" missing
is "$RC" 4 "delete a file: exit 4"
out=$(findings expect "$T/missing.json" --want layer-file-missing="$FX_BASE" --want layer-content-mismatch="$FX_BASE") ||
    diag "$out"
ok "delete a file: exactly layer-file-missing + layer-content-mismatch on that layer" test -z "$out"
like "$(details "$T/missing.json" layer-file-missing)" '"big/text"' "delete a file: the finding names big/text"
drop

# 3. the tar-split gzip corrupted (bytes overwritten in the middle)
copy gzip
TS=$C/image/overlay2/layerdb/sha256/$FX_BASE/tar-split.json.gz
sz=$(stat -c %s "$TS")
head -c 64 /dev/zero | tr '\0' 'Z' | dd of="$TS" bs=1 seek=$((sz / 2)) conv=notrunc status=none
deep "$C" gzip
is "$RC" 4 "corrupt gzip: exit 4"
out=$(findings expect "$T/gzip.json" --want layer-tarsplit-invalid="$FX_BASE") || diag "$out"
ok "corrupt gzip: exactly layer-tarsplit-invalid on that layer" test -z "$out"
drop

# 4. a tar-split entry renamed ../../etc/passwd: invalid, and no path outside
#    the store (or the database, or system files) is ever opened
copy escape
TS=$C/image/overlay2/layerdb/sha256/$FX_TOP/tar-split.json.gz
python3 - "$TS" <<'EOF' || bail_out "cannot rewrite tar-split"
import gzip, json, sys
p = sys.argv[1]
lines = gzip.open(p).read().splitlines()
out, done = [], False
for l in lines:
    e = json.loads(l)
    if not done and e.get("type") == 1 and e.get("name") == "etc/motd":
        e["name"] = "../../etc/passwd"
        e.pop("name_raw", None)
        done = True
    out.append(json.dumps(e, separators=(",", ":")).encode())
assert done
with gzip.open(p, "wb") as f:
    f.write(b"\n".join(out) + b"\n")
EOF
mkdir -p "$T/tmpdir"
# LeakSanitizer cannot run under ptrace: no leak check in the strace run of a sanitizer build
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
TMPDIR=$T/tmpdir with_procs_lock strace -f -y -qq -e trace=%file -o "$T/escape.strace" \
    "$OVL2FSCK" --root "$C" --deep --min-age 0 --json --db "$T/escape.db" >"$T/escape.json" 2>"$T/escape.err"
RC=$?
is "$RC" 4 "../../etc/passwd entry: exit 4"
out=$(findings expect "$T/escape.json" --want layer-tarsplit-invalid="$FX_TOP") || diag "$out"
ok "../../etc/passwd entry: exactly layer-tarsplit-invalid on that layer" test -z "$out"
like "$(details "$T/escape.json" layer-tarsplit-invalid)" '"\.\./\.\./etc/passwd".*escapes diff/' \
    "../../etc/passwd entry: the finding says why"
# What the process named, from strace -y: absolute paths as given, relative
# ones joined to the dir fd's path (or the cwd). No call of any kind may name
# the escape target (overlay2/etc/passwd) or /etc/passwd; no open may pass a
# ".." component; and nothing outside the store may be opened except the
# database (--db, and the scan's temporary one in TMPDIR, which is listed
# for the temp files of killed runs), /proc,
# /var/run/docker.pid and /etc/docker/daemon.json (is dockerd running? the
# data root of a dockerd started without --data-root, as Debian's
# docker.service starts it, is in that file), "/" as an O_PATH probe of
# openat2, and the files every program opens.
python3 - "$T/escape.strace" "$C" "$T/escape.db" "$T/tmpdir" >"$T/escape.bad" 2>"$T/escape.count" <<'EOF'
import os, re, sys
log, store, db, tmpdir = sys.argv[1], os.path.realpath(sys.argv[2]), sys.argv[3], sys.argv[4]
target = os.path.join(store, "overlay2/etc/passwd")
system = ("/etc/ld.so.", "/lib/", "/lib64/", "/usr/lib/", "/proc/", "/sys/", "/dev/",
          "/usr/share/zoneinfo/", "/etc/localtime", "/etc/ovl2fsck", "/usr/lib/ssl/", "/etc/ssl/")
def allowed(path):
    return (path == store or path.startswith(store + "/") or path.startswith(db)
            or path == tmpdir or path.startswith(tmpdir + "/") or path.startswith(system)
            or path in ("/proc", "/var/run/docker.pid", "/run/docker.pid", "/etc/docker/daemon.json",
                        "/run")   # listed for killed runs' temp databases (the /dev/shm fallback: /dev/)
            or path.startswith("/run/ovl2fsck-"))
OPENS = ("open", "openat", "openat2", "creat", "open_tree")
call = re.compile(r'^\d+\s+(\w+)\((.*)')
withfd = re.compile(r'^(-?\d+|AT_FDCWD)(?:<([^>]*)>)?, "((?:[^"\\]|\\.)*)"')
first = re.compile(r'^"((?:[^"\\]|\\.)*)"')
n = opened = 0
for line in open(log, errors="replace"):
    m = call.match(line)
    if not m:
        continue
    fn, args = m.groups()
    fm = withfd.match(args)
    if fm:
        base, rel = fm.group(2) or os.getcwd(), fm.group(3)
    else:
        am = first.match(args)
        if not am:
            continue
        base, rel = os.getcwd(), am.group(1)
    if rel == "":
        continue
    path = os.path.normpath(rel if rel.startswith("/") else os.path.join(base, rel))
    n += 1
    if path in (target, "/etc/passwd"):
        print("escape target:", line.strip())
    if fn in OPENS:
        opened += 1
        if ".." in rel.split("/"):
            print("'..' passed to", line.strip())
        if not allowed(path) and not (path == "/" and "O_PATH" in args):
            print("opened outside:", fn, path)
print("%d calls naming a path, %d opens" % (n, opened), file=sys.stderr)
EOF
note "strace: $(cat "$T/escape.count")"
is "$(head -c 2000 "$T/escape.bad")" "" \
    "../../etc/passwd entry: nothing opened outside the store and db, no '..' opened, the target never named (strace)"
ok "../../etc/passwd entry: strace saw the deep pass open files under diff/" \
    grep -q "$(cache_of "$FX_TOP")/diff" "$T/escape.strace"
drop

# 5. tar-split.json.gz removed
copy nots
rm "$C/image/overlay2/layerdb/sha256/$SP_TOP/tar-split.json.gz"
deep "$C" nots
is "$RC" 4 "tar-split removed: exit 4"
out=$(findings expect "$T/nots.json" --want layer-tarsplit-missing="$SP_TOP") || diag "$out"
ok "tar-split removed: exactly layer-tarsplit-missing on that layer" test -z "$out"
drop

# ---------------------------------------------------------------- progress on a tty
# script(1) gives the process a pty: the progress line is on its stderr there
# (the transcript has both streams), and not when stderr is a file or --json.
script -qec "'$OVL2FSCK' --root '$S' --deep --min-age 0 >/dev/null" "$T/tty.log" </dev/null >/dev/null 2>&1
like "$(tr '\r' '\n' <"$T/tty.log")" "deep: $DOCKER_LAYERS/$DOCKER_LAYERS layers, [0-9.]+ ?[KMGT]i?B hashed" \
    "progress: 'deep: N/M layers, X hashed' on a tty"
script -qec "'$OVL2FSCK' --root '$S' --deep --min-age 0 2>'$T/notty.err' >/dev/null" "$T/tty2.log" </dev/null >/dev/null 2>&1
nok "progress: none when stderr is not a tty (stdout is)" grep -q 'deep:' "$T/notty.err" "$T/tty2.log"
script -qec "'$OVL2FSCK' --root '$S' --deep --min-age 0 --json >/dev/null" "$T/tty3.log" </dev/null >/dev/null 2>&1
nok "progress: none with --json" grep -q 'deep:' "$T/tty3.log"
nok "progress: none in the --json runs above (stderr a file)" grep -q 'deep:' "$T/clean.err"

# ---------------------------------------------------------------- holes in diff/
# dockerd writes the RUN-made sparse files out in full when it registers the
# layer; punch the zeros back into holes (same bytes) and the layers still
# verify: holes read as zeros.
BK_FILE=$S/overlay2/$(cache_of "$BK_TOP")/diff/bk-sparse
if command -v fallocate >/dev/null && fallocate --dig-holes "$SP_FILE" 2>/dev/null &&
    fallocate --dig-holes "$BK_FILE" 2>/dev/null; then
    blocks=$(( $(stat -c '%b * %B' "$SP_FILE") + $(stat -c '%b * %B' "$BK_FILE") ))
    ok "holes: the two files now allocate < 1 MiB of their 128 MiB ($blocks bytes)" test "$blocks" -lt 1048576
    deep "$S" holes
    is "$RC:$(q holes "SELECT count(*) FROM deep_layer WHERE state = 'verified'")" "0:$DOCKER_LAYERS" \
        "holes: exit 0, all $DOCKER_LAYERS layers verified"
    ok "holes: no findings" findings none "$T/holes.json"
else
    skip 3 "fallocate --dig-holes does not work on this filesystem"
fi

done_testing
