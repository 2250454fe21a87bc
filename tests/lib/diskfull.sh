# tests/lib/diskfull.sh — small loop-mounted file systems filled to the last block.
#
#   . tests/lib/tap.sh; . tests/lib/diskfull.sh
#   df_prereq_missing ext4|xfs         # prints why it cannot run here (nothing when it can)
#   df_mkfs ext4|xfs SIZE_MB MNT        # sparse image in MNT.img, loop device, mkfs, mount on MNT;
#                                       # unmounted and detached at exit (whatever happens)
#   df_avail MNT                        # bytes a root process can still allocate (statvfs f_bavail)
#   df_used MNT                         # bytes in use ((f_blocks - f_bfree) * f_frsize)
#   df_set_free MNT BYTES               # grow/shrink the ballast file MNT/.ballast/b so that
#                                       # about BYTES are free (for one ENOSPC scenario)
#   df_fill MNT                         # fill to the last block as root: fallocate, then
#                                       # small files until even a 1-byte write fails
#   df_write_fails MNT                  # true when a 4 KiB write (fsync'ed) fails with ENOSPC
#   df_unfill MNT                       # remove the filler files (and the ballast)
#   df_kill_at_full MNT PID STOP [B]    # SIGKILL PID the moment MNT is (all but) full
#                                       # (0 when it did, 1 when STOP appeared first)
#   df_kill_strays DIR                  # SIGKILL processes whose command line names DIR
#                                       # (containerd shims a killed dockerd left), by pid
#   df_kill_containers ROOT             # SIGKILL what runs in the containers of dockerd root ROOT
#   df_umount MNT DEV FS [SECS]         # unmount (and wait up to SECS until the kernel let go)
#   df_mkarchive OUT TAG MB [BASE.tar]  # a `docker save` archive: TAG = busybox layer
#                                       # (+ a layer with an MB-MiB file when MB > 0)
#
# Only paths below the mount points this file made are written; nothing else is
# unmounted. Needs root, losetup, mkfs.ext4 (mkfs.xfs for xfs), python3.

DF_MOUNTS=()
DF_LOOPS=()
# the system's python: a pyenv shim in front of it costs 0.2 s a call, and
# the crash loops call it hundreds of times (stdlib only)
if [ -x /usr/bin/python3 ]; then DF_PY=/usr/bin/python3; else DF_PY=python3; fi

df_prereq_missing() {
    local fs=$1
    [ "$(id -u)" = 0 ] || { echo "not root"; return; }
    command -v losetup >/dev/null || { echo "no losetup (util-linux)"; return; }
    [ -e /dev/loop-control ] || modprobe loop 2>/dev/null ||
        { echo "no loop devices (/dev/loop-control missing)"; return; }
    command -v "mkfs.$fs" >/dev/null || {
        case $fs in
            xfs) echo "no mkfs.xfs (apt-get install xfsprogs)" ;;
            *) echo "no mkfs.$fs (apt-get install e2fsprogs)" ;;
        esac
        return
    }
    grep -qw "$fs" /proc/filesystems || modprobe "$fs" 2>/dev/null ||
        { echo "kernel has no $fs file system"; return; }
    command -v python3 >/dev/null || { echo "no python3"; return; }
}

_df_cleanup() {
    local i m idx
    idx=("${!DF_MOUNTS[@]}")
    for ((i = ${#idx[@]} - 1; i >= 0; i--)); do
        m=${DF_MOUNTS[${idx[$i]}]}
        [ -n "$m" ] || continue
        # whatever dockerd left mounted below it first (deepest first)
        awk -v p="$m" '{ x = $5; gsub(/\\040/, " ", x); if (index(x, p "/") == 1) print x }' \
            /proc/self/mountinfo | sort -r | while read -r x; do umount "$x" 2>/dev/null || umount -l "$x"; done
        if mountpoint -q "$m"; then
            fsfreeze -u "$m" 2>/dev/null   # when the test died while it was frozen
            umount "$m" 2>/dev/null || { sleep 1; umount "$m" 2>/dev/null; } || umount -l "$m"
        fi
    done
    idx=("${!DF_LOOPS[@]}")
    for ((i = ${#idx[@]} - 1; i >= 0; i--)); do
        [ -n "${DF_LOOPS[${idx[$i]}]}" ] && losetup -d "${DF_LOOPS[${idx[$i]}]}" 2>/dev/null
    done
    DF_MOUNTS=()
    DF_LOOPS=()
}

_DF_HOOKED=0
df_mkfs() {
    local fs=$1 mb=$2 mnt=$3 img dev
    img=$mnt.img
    if [ "$_DF_HOOKED" = 0 ]; then
        _DF_HOOKED=1
        at_exit _df_cleanup
    fi
    mkdir -p "$mnt" || return 1
    rm -f "$img"
    truncate -s "${mb}M" "$img" || return 1
    dev=$(losetup -f --show "$img") || return 1
    DF_LOOPS+=("$dev")
    case $fs in
        # -m 0: no blocks reserved for root (filling as root would use them anyway)
        ext4) mkfs.ext4 -q -F -m 0 -b 4096 -E lazy_itable_init=0,lazy_journal_init=0 "$dev" >/dev/null || return 1 ;;
        xfs) mkfs.xfs -q -f "$dev" >/dev/null || return 1 ;;
        *) echo "df_mkfs: unknown fs $fs" >&2; return 1 ;;
    esac
    mount -t "$fs" "$dev" "$mnt" || return 1
    DF_MOUNTS+=("$mnt")
}

df_avail() { local a; read -ra a < <(stat -f -c '%a %S' "$1") && echo $((a[0] * a[1])); }
df_used() { local a; read -ra a < <(stat -f -c '%b %f %S' "$1") && echo $(((a[0] - a[1]) * a[2])); }

# df_set_free MNT BYTES: the ballast file takes all but about BYTES.
df_set_free() {
    local mnt=$1 want=$2 avail bal cur
    bal=$mnt/.ballast/b
    mkdir -p "$mnt/.ballast" || return 1
    sync -f "$mnt"
    cur=$(stat -c %s "$bal" 2>/dev/null || echo 0)
    avail=$(df_avail "$mnt")
    local target=$((cur + avail - want))
    target=$(((target / 4096) * 4096))
    [ "$target" -lt 0 ] && target=0
    rm -f "$bal"
    sync -f "$mnt"
    [ "$target" -gt 0 ] && fallocate -l "$target" "$bal"
    sync -f "$mnt"
}

# df_fill MNT: every block taken, for root too. Filler files go in MNT/.filler.
df_fill() {
    "$DF_PY" - "$1" <<'PY'
import ctypes, errno, os, sys
mnt = sys.argv[1]
d = os.path.join(mnt, ".filler")
os.makedirs(d, exist_ok=True)
n = len(os.listdir(d))
libc = ctypes.CDLL(None, use_errno=True)
mfd = os.open(mnt, os.O_RDONLY)
def syncfs():   # this file system only (sync(2) would wait for the whole machine)
    libc.syncfs(mfd)
def avail():
    syncfs()
    s = os.statvfs(mnt)
    return s.f_bavail * s.f_frsize
def create():
    """a new filler file (None when not even an inode can be had)"""
    global n
    try:
        fd = os.open(os.path.join(d, "f%06d" % (n + 1)), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as e:
        if e.errno != errno.ENOSPC:
            raise
        return None
    n += 1
    return fd
last = None
# 1. big preallocations while there is room (halving on ENOSPC)
chunk = avail()
while chunk >= 64 * 1024:
    fd = create()
    if fd is None:
        break
    try:
        os.posix_fallocate(fd, 0, chunk)
    except OSError as e:
        if e.errno != errno.ENOSPC:
            raise
        chunk //= 2
    if last is not None:
        os.close(last)
    last = fd
    chunk = min(chunk, avail())
# 2. appends of one block to the last file (no new inode needed), then of
#    single bytes to new files, each until ENOSPC three times in a row
if last is None:
    last = create()
if last is not None:
    fails = 0
    while fails < 3:
        try:
            os.lseek(last, 0, os.SEEK_END)
            os.write(last, b"x" * 4096)
            os.fsync(last)
            fails = 0
        except OSError as e:
            if e.errno != errno.ENOSPC:
                raise
            fails += 1
            syncfs()
    os.close(last)
fails = 0
while fails < 3:
    fd = create()
    if fd is None:
        fails += 1
        continue
    try:
        os.write(fd, b"x")
        os.fsync(fd)
        fails = 0
    except OSError as e:
        if e.errno != errno.ENOSPC:
            raise
        fails += 1
    os.close(fd)
syncfs()
PY
}

df_unfill() { rm -rf --one-file-system "$1/.filler" "$1/.ballast"; sync -f "$1"; }

# df_write_fails MNT: a 4 KiB write + fsync as root must fail with ENOSPC.
df_write_fails() {
    "$DF_PY" - "$1" <<'PY'
import errno, os, sys
p = os.path.join(sys.argv[1], ".probe-%d" % os.getpid())
try:
    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
except OSError as e:
    sys.exit(0 if e.errno == errno.ENOSPC else 2)
rc = 1
try:
    os.write(fd, b"y" * 4096)
    os.fsync(fd)
except OSError as e:
    rc = 0 if e.errno == errno.ENOSPC else 2
os.close(fd)
os.unlink(p)
sys.exit(rc)
PY
}

# df_kill_at_full MNT PID STOPFILE [BYTES]: busy-poll statvfs; SIGKILL PID as
# soon as fewer than BYTES (default 4 MiB) are free. Start it in the
# background BEFORE the command that fills the disk (a page-cache write of
# 12 MiB takes less time than python takes to start): it creates
# STOPFILE.ready once it polls, and gives up (status 1) when STOPFILE
# appears (the command ended), PID ends, or after 60 s. dockerd cleans up a
# write that got ENOSPC within a millisecond or two, so the kill comes a few
# MiB before the last block (its untar child, when there is one, goes on
# writing to the end); df_fill takes the rest afterwards.
df_kill_at_full() {
    "$DF_PY" - "$@" <<'PY'
import os, signal, sys, time
mnt, pid, stop = sys.argv[1], int(sys.argv[2]), sys.argv[3]
limit = int(sys.argv[4]) if len(sys.argv) > 4 else 4 << 20
end = time.monotonic() + 60
open(stop + ".ready", "w").close()
def alive(p):
    try:
        with open("/proc/%d/stat" % p) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
i = 0
while True:
    s = os.statvfs(mnt)
    if s.f_bavail * s.f_frsize < limit:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            sys.exit(1)
        print("# killed with %d KiB free" % (s.f_bavail * s.f_frsize >> 10))
        sys.exit(0)
    i += 1
    if i % 200 == 0:
        if time.monotonic() > end or not alive(pid) or os.path.exists(stop):
            sys.exit(1)
    os.sched_yield()
PY
}

# df_kill_strays DIR: what a killed dockerd leaves running (containerd, shims)
# names our exec root on its command line; nothing else is touched.
df_kill_strays() {
    local dir=$1 p
    [ -n "$dir" ] || return 0
    for p in /proc/[0-9]*; do
        p=${p#/proc/}
        [ "$p" = $$ ] && continue
        if { tr '\0' ' ' <"/proc/$p/cmdline"; } 2>/dev/null | grep -qF -- "$dir"; then
            kill -KILL "$p" 2>/dev/null
        fi
    done
    return 0
}

# df_kill_containers ROOT: SIGKILL the processes of the containers of the
# dockerd data root ROOT (cgroup .../docker/<id> with ROOT/containers/<id>)
# that a dockerd killed -9 left running: the RUN of a build. Their mount
# namespace holds the overlay mounts of ROOT, and so keeps the file system
# alive after it is unmounted here. Nobody else's processes are touched.
df_kill_containers() {
    local root=$1 ids p
    ids=$(find "$root/containers" -mindepth 1 -maxdepth 1 -regextype egrep -regex '.*/[0-9a-f]{64}' -printf '%f\n' 2>/dev/null |
        paste -sd'|')
    [ -n "$ids" ] || return 0
    for p in /proc/[0-9]*; do
        if grep -qE "/docker/($ids)" "$p/cgroup" 2>/dev/null; then
            echo "# killed ${p#/proc/} ($(cat "$p/comm" 2>/dev/null)): left running in a container of $root"
            kill -KILL "${p#/proc/}" 2>/dev/null
        fi
    done
    return 0
}

# df_umount MNT DEV FS [SECS]: unmount MNT; with SECS, wait that long at most
# until the kernel has let go of the file system on DEV (/sys/fs/FS/loopN
# gone). A mount namespace that another program made while MNT was mounted
# keeps a copy of the mount, and the file system alive, as long as it lives:
# that is said, not fatal.
df_umount() {
    local mnt=$1 dev=$2 fs=$3 secs=${4:-0} i
    umount "$mnt" || return 1
    for ((i = 0; i < secs * 20; i++)); do
        [ -e "/sys/fs/$fs/${dev##*/}" ] || return 0
        sleep 0.05
    done
    [ "$secs" = 0 ] || echo "# $fs on $dev is still in use $secs s after unmounting $mnt (another mount namespace)"
    return 0
}

# df_mkarchive OUT TAG MB BUSYBOX: docker save archive of one image: a busybox
# layer, then (MB > 0) a layer holding /big/data of MB MiB.
df_mkarchive() {
    "$DF_PY" - "$@" <<'PY'
import hashlib, io, json, os, sys, tarfile
out, tag, mb, busybox = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
T = 1700000000
def info(name, kind=tarfile.REGTYPE, size=0, mode=0o644, link=""):
    ti = tarfile.TarInfo(name); ti.type = kind; ti.size = size; ti.mode = mode
    ti.mtime = T; ti.uid = ti.gid = 0; ti.linkname = link
    return ti
def layer(entries):
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for e in entries:
            tf.addfile(*e)
    return b.getvalue()
bb = open(busybox, "rb").read()
base = [(info("bin", tarfile.DIRTYPE, mode=0o755),), (info("tmp", tarfile.DIRTYPE, mode=0o1777),),
        (info("bin/busybox", size=len(bb), mode=0o755), io.BytesIO(bb))]
for a in ("sh", "true", "cat", "ls", "dd", "echo", "rm", "sleep"):
    base.append((info("bin/" + a, tarfile.SYMTYPE, mode=0o777, link="busybox"),))
layers = [layer(base)]
if mb > 0:
    blk = hashlib.sha256(tag.encode()).digest() * (1 << 15)    # 1 MiB, not zeros
    class Big(io.RawIOBase):
        def __init__(s): s.left = mb << 20
        def readinto(s, b):
            n = min(len(b), s.left, len(blk)); b[:n] = blk[:n]; s.left -= n; return n
        def readable(s): return True
    layers.append(layer([(info("big", tarfile.DIRTYPE, mode=0o755),),
                         (info("big/data", size=mb << 20), io.BufferedReader(Big(), 1 << 20))]))
sha = lambda b: hashlib.sha256(b).hexdigest()
ids = [sha(l) for l in layers]
cfg = json.dumps({"architecture": "amd64", "os": "linux", "created": "2023-11-14T22:13:20Z",
                  "config": {"Env": ["PATH=/bin"], "Cmd": ["/bin/sh"]},
                  "rootfs": {"type": "layers", "diff_ids": ["sha256:" + i for i in ids]},
                  "history": [{"created": "2023-11-14T22:13:20Z", "created_by": "df_mkarchive %d" % k}
                              for k in range(len(ids))]}, sort_keys=True).encode()
files = {sha(cfg) + ".json": cfg,
         "manifest.json": json.dumps([{"Config": sha(cfg) + ".json", "RepoTags": [tag],
                                       "Layers": [i + "/layer.tar" for i in ids]}]).encode()}
for i, l in zip(ids, layers):
    files[i + "/VERSION"] = b"1.0"
    files[i + "/json"] = json.dumps({"id": i}).encode()
    files[i + "/layer.tar"] = l
with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as tf:
    for i in ids:
        tf.addfile(info(i, tarfile.DIRTYPE, mode=0o755))
    for n in sorted(files):
        tf.addfile(info(n, size=len(files[n])), io.BytesIO(files[n]))
PY
}
