#!/usr/bin/env python3
"""stracecheck.py — prove from an strace log that a run stayed inside its root.

    strace -ff -y -qq -e trace=%file,openat2 -e signal=none -o LOG ovl2fsck --root ROOT ...
    stracecheck.py --root ROOT [--allow PREFIX]... [--allow-exact PATH]... LOG.*

Every path a traced syscall names is resolved: absolute as is, relative
against the dir fd strace -y printed for it (AT_FDCWD<cwd> included), ""
with AT_EMPTY_PATH as the fd itself; a successful open's returned fd path
(the kernel's view, after any symlink) is checked too. A path is allowed
when it is ROOT or below it, below an --allow prefix (the binary's own files:
shared libraries, /proc/self, the liveness probe, the temp database dir ...),
equal to an --allow-exact path (ancestors of the root, which realpath()
readlinks), or matches an --allow-re regex (/proc/<pid>/cmdline ...). Inside ROOT nothing may be written: no open for writing or
creating, no unlink/rename/mkdir/link/symlink/chmod/chown/utime/truncate/
xattr change. Prints one line per violation and exits 1 if there was any.
"""
import argparse
import os
import re
import sys

LINE = re.compile(r'^(\w+)\((.*)\)\s+=\s+(.*)$')
# a dir fd as strace -y prints it: 3</a/b> or AT_FDCWD</cwd>
FD = re.compile(r'^(?:\d+|AT_FDCWD)<(.*)>$')
RET_FD = re.compile(r'^\d+<(.*)>')

WRITE_CALLS = {
    "unlink", "unlinkat", "rename", "renameat", "renameat2", "mkdir", "mkdirat", "rmdir",
    "link", "linkat", "symlink", "symlinkat", "chmod", "fchmodat", "chown", "lchown", "fchownat",
    "utime", "utimes", "utimensat", "futimesat", "truncate", "mknod", "mknodat", "creat",
    "setxattr", "lsetxattr", "removexattr", "lremovexattr", "swapon", "swapoff", "mount", "umount2",
    "chroot", "pivot_root",
}
NOT_A_PATH_CALLS = {"getcwd"}
OPEN_CALLS = {"open", "openat", "openat2", "creat"}
WRITE_FLAGS = re.compile(r'O_WRONLY|O_RDWR|O_CREAT|O_TRUNC|O_APPEND')


def split_args(s):
    """Top-level comma split that respects "strings", [arrays] and {structs}."""
    out, cur, depth, i, n = [], [], 0, 0, len(s)
    while i < n:
        c = s[i]
        if c == '"':
            j = i + 1
            while j < n and s[j] != '"':
                j += 2 if s[j] == '\\' else 1
            cur.append(s[i:j + 1])
            i = j + 1
            continue
        if c in "[{(":
            depth += 1
        elif c in "]})":
            depth -= 1
        if c == "," and depth == 0:
            out.append("".join(cur).strip())
            cur = []
        else:
            cur.append(c)
        i += 1
    if cur:
        out.append("".join(cur).strip())
    return out


def unquote(tok):
    """strace's C-escaped "string" (with a trailing ... when cut) -> str, or None."""
    if not tok.startswith('"'):
        return None
    end = tok.rfind('"')
    body = tok[1:end]
    b = bytearray()
    i = 0
    while i < len(body):
        c = body[i]
        if c == "\\" and i + 1 < len(body):
            d = body[i + 1]
            if d == "x":
                b.append(int(body[i + 2:i + 4], 16))
                i += 4
                continue
            if d in "01234567":
                m = re.match(r"[0-7]{1,3}", body[i + 1:])
                b.append(int(m.group(0), 8))
                i += 1 + len(m.group(0))
                continue
            b += {"n": b"\n", "t": b"\t", "r": b"\r", "v": b"\v", "f": b"\f", "\\": b"\\", '"': b'"'}.get(d, d.encode())
            i += 2
            continue
        b += c.encode()
        i += 1
    return b.decode("utf-8", "surrogateescape")


def paths_of(call, args):
    """(path, dirfd_path_or_None) pairs a syscall names."""
    if call in NOT_A_PATH_CALLS:
        return []
    if call in ("execve", "execveat"):
        args = args[:2] if call == "execveat" else args[:1]
    if call == "readlink":
        args = args[:1]          # then the output buffer
    if call == "readlinkat":
        args = args[:2]
    if call in ("symlink",):
        args = args[1:]          # the target is content, not an access
    if call == "symlinkat":
        args = args[1:]
    if call in ("getxattr", "lgetxattr", "setxattr", "lsetxattr", "removexattr", "lremovexattr"):
        args = args[:1]
    res = []
    prev_fd = None
    for a in args:
        m = FD.match(a)
        if m:
            prev_fd = m.group(1)
            continue
        p = unquote(a)
        if p is None:
            prev_fd = None
            continue
        res.append((p, prev_fd))
        prev_fd = None
    return res


def resolve(path, dirfd, cwd):
    if path.startswith("/"):
        full = path
    elif path == "":
        full = dirfd or cwd
    else:
        full = os.path.join(dirfd if dirfd is not None else cwd, path)
    return os.path.normpath(full)


def under(p, prefix):
    prefix = prefix.rstrip("/") or "/"
    return p == prefix or p.startswith(prefix + "/") or prefix == "/"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--allow", action="append", default=[])
    ap.add_argument("--allow-exact", action="append", default=[])
    ap.add_argument("--allow-re", action="append", default=[], help="full-match regex")
    ap.add_argument("--cwd", default=os.getcwd())
    ap.add_argument("--from-exec", help="ignore each log up to the execve of this binary (a wrapper's own files)")
    ap.add_argument("--allow-readlink", action="store_true",
                    help="allow plain readlink() anywhere but under a --deny prefix: realpath() of the data "
                         "roots of other dockerds (the liveness probe), which may come and go during the run")
    ap.add_argument("--deny", action="append", default=[], help="never allowed, whatever the call")
    ap.add_argument("--writes-ok", action="store_true", help="writes inside the root are allowed (the reaper)")
    ap.add_argument("--allow-write", action="append", default=[],
                    help="outside the root, writes are allowed only below these (temp dbs, journal)")
    ap.add_argument("--allow-write-re", action="append", default=[],
                    help="... or to a path that fully matches one of these regexes (the sweep of killed "
                         "runs' temp databases in the full-disk fallback dirs)")
    ap.add_argument("logs", nargs="+")
    a = ap.parse_args()
    root = os.path.realpath(a.root)
    # realpath() of the root readlinks each of its ancestors
    anc = root
    while anc != "/":
        anc = os.path.dirname(anc)
        a.allow_exact.append(anc)
    bad = []
    seen = 0
    for log in a.logs:
        # strace -ff names each log LOG.<pid>: the process's own /proc/<pid>/
        # (what -y shows for /proc/self/...) is /proc/self/
        m_pid = re.search(r"\.(\d+)$", log)
        own = "/proc/%s" % m_pid.group(1) if m_pid else None
        with open(log, encoding="utf-8", errors="surrogateescape") as f:
            started = a.from_exec is None
            for raw in f:
                raw = raw.rstrip("\n")
                m = LINE.match(raw)
                if not m:
                    continue
                call, argstr, ret = m.groups()
                if not started:
                    started = call == "execve" and argstr.startswith('"%s"' % a.from_exec) and ret.startswith("0")
                    if not started:
                        continue
                args = split_args(argstr)
                checks = [resolve(p, d, a.cwd) for p, d in paths_of(call, args)]
                rm = RET_FD.match(ret)
                if call in OPEN_CALLS and rm:
                    checks.append(os.path.normpath(rm.group(1)))
                for p in checks:
                    seen += 1
                    if own and (p == own or p.startswith(own + "/")):
                        p = "/proc/self" + p[len(own):]
                    inside = under(p, root)
                    denied = any(under(p, x) for x in a.deny)
                    if denied or (not inside and not any(under(p, x) for x in a.allow) and p not in a.allow_exact
                                  and not any(re.fullmatch(r, p) for r in a.allow_re)
                                  and not (a.allow_readlink and call == "readlink")):
                        bad.append("outside the root: %s  <- %s" % (p, raw[:300]))
                    writes = call in WRITE_CALLS or (call in OPEN_CALLS and WRITE_FLAGS.search(argstr))
                    if call in ("mkdir", "mkdirat") and ret.startswith("-1 EEXIST"):
                        writes = False   # mkdir -p of a dir that exists changes nothing
                    if inside and not a.writes_ok and writes:
                        bad.append("writes in the root: %s  <- %s" % (p, raw[:300]))
                    if (not inside and writes and not any(under(p, x) for x in a.allow_write)
                            and not any(re.fullmatch(r, p) for r in a.allow_write_re)):
                        bad.append("writes outside the root: %s  <- %s" % (p, raw[:300]))
    for b in bad:
        print(b)
    if seen == 0:
        print("no path seen at all: is this an strace -y log?")
        return 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
