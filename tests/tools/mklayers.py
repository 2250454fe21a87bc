#!/usr/bin/env python3
"""mklayers.py — write `docker save`-format archives with hostile layer content.

Owns: the test images that exercise the deep verifier on layers dockerd
registered itself (`docker load` of these archives). No registry needed.

    tests/tools/mklayers.py OUTDIR [NAME...]   # writes OUTDIR/<name>.tar, one per image
                                               # (all, or only the NAMEs given)

Images (tag deep-<name>:1):
  hostile   four layers: GNU-format base with "./" names, long names,
            non-UTF-8 names, hard links, symlinks, fifo, char device, empty
            files, sizes around 512 and the 256 KiB read chunk, odd names
            (newline, quote, backslash, UTF-8); a PAX layer with long names
            and links, xattrs, big uid/gid, fractional mtimes, a mostly-zero
            4 MiB file; an upper layer with whiteouts (.wh.x) and an opaque
            dir (.wh..wh..opq); a layer that only deletes.
            Expected deep findings: none.
  fixture   two small layers (files, links, non-UTF-8 and long names, a
            300 KiB file; then whiteouts, an opaque dir, an xattr) captured
            into fixtures/deep/. Expected: none.
  dup       one layer listing the same file twice. dockerd 20.10 refuses to
            load it ("duplicates of file paths not supported").
  symdir    a file written through a symlinked dir ("lnk -> sub", "lnk/f").
            Expected: layer-file-missing (symlink component not followed)
            and layer-content-mismatch.
  gnusparse one layer holding an old-GNU sparse entry ('S'). dockerd 20.10
            refuses to load it ("unhandled tar header type 83"); sparse files
            reach a store only as plain entries written by docker's own tar
            writer (a file with holes in a container's RW layer).

Everything is deterministic (fixed seed, fixed mtimes), so the diffIDs are
stable from run to run.
"""
import hashlib
import io
import json
import os
import random
import sys
import tarfile

MTIME = 1700000000
RNG = random.Random(20240501)


def rand_bytes(n):
    return bytes(RNG.getrandbits(8) for _ in range(n)) if n < 4096 else RNG.randbytes(n)


def info(name, kind=tarfile.REGTYPE, size=0, mode=0o644, **kw):
    ti = tarfile.TarInfo(name)
    ti.type = kind
    ti.size = size
    ti.mode = mode
    ti.mtime = kw.pop("mtime", MTIME)
    ti.uname = ti.gname = "root"
    for k, v in kw.items():
        setattr(ti, k, v)
    return ti


class Layer:
    """One layer tar built in memory."""

    def __init__(self, fmt):
        self.buf = io.BytesIO()
        self.tar = tarfile.open(fileobj=self.buf, mode="w", format=fmt,
                                encoding="utf-8", errors="surrogateescape")

    def dir(self, name, **kw):
        self.tar.addfile(info(name, tarfile.DIRTYPE, mode=0o755, **kw))

    def file(self, name, data, **kw):
        self.tar.addfile(info(name, size=len(data), **kw), io.BytesIO(data))

    def link(self, name, target, kind=tarfile.SYMTYPE):
        self.tar.addfile(info(name, kind, mode=0o777, linkname=target))

    def special(self, name, kind, major=0, minor=0):
        self.tar.addfile(info(name, kind, devmajor=major, devminor=minor))

    def raw(self, data):
        """Append raw blocks (already 512-aligned) before closing."""
        self.tar.fileobj.write(data)
        self.tar.offset += len(data)

    def bytes(self):
        self.tar.close()
        return self.buf.getvalue()


def name(b):
    """A str tarfile writes back as exactly these bytes."""
    return b.decode("utf-8", "surrogateescape")


def layer_base():
    ly = Layer(tarfile.GNU_FORMAT)
    ly.dir("./")
    ly.dir("./a/")
    ly.file("./a/file", b"hello, layer\n")
    ly.link("./a/hard", "./a/file", tarfile.LNKTYPE)
    ly.link("./a/sym", "file")
    ly.link("./a/abs", "/etc/passwd")
    ly.link("./a/dangling", "../nowhere/at/all")
    ly.file("./a/empty", b"")
    ly.special("./a/fifo", tarfile.FIFOTYPE)
    ly.special("./a/null", tarfile.CHRTYPE, 1, 3)
    ly.file("./a/mode000", b"secret\n", mode=0o000)
    ly.dir("./sizes/")
    for n in (1, 511, 512, 513, 262143, 262144, 262145, 1048583):
        ly.file("./sizes/f%d" % n, rand_bytes(n))
    longdir = "./long/" + "d" * 90 + "/" + "e" * 90
    ly.dir("./long/")
    ly.dir(longdir[:-91] + "/")
    ly.dir(longdir + "/")
    ly.file(longdir + "/" + "f" * 120, b"long gnu name\n")
    ly.dir(name(b"./caf\xe9/"))
    ly.file(name(b"./caf\xe9/l\xe0t\xff.txt"), b"latin-1 names\n")
    ly.dir("./odd/")
    for nm in ("with\nnewline", 'quo"te', "back\\slash", "tab\there",
               "ünïcødé ✓", "sp ace", "-dash", "percent%s%n", ".hidden",
               "x.wh.notawhiteout"):
        ly.file("./odd/" + nm, nm.encode("utf-8", "surrogateescape") + b"\n")
    return ly.bytes()


def layer_pax():
    ly = Layer(tarfile.PAX_FORMAT)
    ly.dir("p/")
    deep = "p/" + "/".join(["segment%02d" % i for i in range(12)])
    parts = deep.split("/")
    for i in range(2, len(parts) + 1):
        ly.dir("/".join(parts[:i]) + "/")
    ly.file(deep + "/" + "n" * 200, b"pax long name\n")
    ly.link("p/longlink", deep + "/" + "n" * 200)
    ly.link("p/longhard", deep + "/" + "n" * 200, tarfile.LNKTYPE)
    ti = info("p/xattr", size=6, pax_headers={"SCHILY.xattr.user.deep": "value",
                                             "SCHILY.xattr.trusted.deeptest": "t"})
    ly.tar.addfile(ti, io.BytesIO(b"attrs\n"))
    ly.file("p/biguid", b"uid\n", uid=3000000, gid=3000001)
    ly.file("p/frac", b"frac mtime\n", mtime=MTIME + 0.123456789)
    zeros = bytearray(4 * 1024 * 1024)
    zeros[1000000:1000005] = b"data!"
    zeros[-1] = 1
    ly.file("p/mostlyzero", bytes(zeros))
    ly.file(name(b"p/utf8-in-pax-\xc3\xa9t\xc3\xa9"), b"pax utf8\n")
    ly.file("a/file", b"overwritten in the pax layer\n")
    return ly.bytes()


def layer_whiteouts():
    ly = Layer(tarfile.PAX_FORMAT)
    ly.dir("a/")
    ly.file("a/.wh.sym", b"")
    ly.file("a/.wh.mode000", b"")
    ly.dir("sizes/")
    ly.file("sizes/.wh..wh..opq", b"")
    ly.file("sizes/after-opaque", b"only file left in sizes/\n")
    ly.dir(name(b"caf\xe9/"))
    ly.file(name(b"caf\xe9/.wh.l\xe0t\xff.txt"), b"")
    ly.dir("p/")
    ly.file("p/.wh.mostlyzero", b"")
    ly.file("new-in-upper", rand_bytes(70000))
    return ly.bytes()


def layer_delete_only():
    ly = Layer(tarfile.PAX_FORMAT)
    ly.file(".wh.odd", b"")
    ly.file(".wh.long", b"")
    return ly.bytes()


def layer_dup():
    ly = Layer(tarfile.PAX_FORMAT)
    ly.file("dup", b"first version\n")
    ly.file("dup", b"second version, longer\n")
    return ly.bytes()


def layer_symdir():
    ly = Layer(tarfile.PAX_FORMAT)
    ly.dir("sub/")
    ly.link("lnk", "sub")
    ly.file("lnk/f", b"written through a symlink\n")
    return ly.bytes()


def octal(n, width):
    return ("%0*o" % (width - 1, n)).encode() + b"\0"


def layer_gnusparse():
    """Old-GNU sparse: 16 KiB logical file with two 512-byte data extents."""
    data1, data2 = b"A" * 512, b"B" * 512
    realsize = 16384
    hdr = bytearray(512)
    hdr[0:6] = b"sparse"
    hdr[100:108] = octal(0o644, 8)
    hdr[108:116] = octal(0, 8)
    hdr[116:124] = octal(0, 8)
    hdr[124:136] = octal(len(data1) + len(data2), 12)
    hdr[136:148] = octal(MTIME, 12)
    hdr[156:157] = b"S"
    hdr[257:265] = b"ustar  \0"
    sparse = [(0, 512), (8192, 512)]
    for i, (off, nb) in enumerate(sparse):
        base = 386 + i * 24
        hdr[base:base + 12] = octal(off, 12)
        hdr[base + 12:base + 24] = octal(nb, 12)
    hdr[482] = 0
    hdr[483:495] = octal(realsize, 12)
    hdr[148:156] = b" " * 8
    hdr[148:156] = ("%06o" % sum(hdr)).encode() + b"\0 "
    ly = Layer(tarfile.GNU_FORMAT)
    ly.file("before", b"x\n")
    ly.raw(bytes(hdr) + data1 + data2)
    ly.file("after", b"y\n")
    return ly.bytes()


def layer_fixture_base():
    ly = Layer(tarfile.PAX_FORMAT)
    ly.dir("etc/")
    ly.file("etc/hosts", b"127.0.0.1 localhost\n")
    ly.file("etc/empty", b"")
    ly.link("etc/hosts.hard", "etc/hosts", tarfile.LNKTYPE)
    ly.link("etc/hosts.sym", "hosts")
    ly.dir("big/")
    text = b"".join(b"line %06d of a compressible file\n" % i for i in range(9000))
    ly.file("big/text", text)  # ~300 KiB: crosses the 256 KiB read chunk
    ly.file(name(b"big/n\xe9-raw"), b"non-utf8 name\n")
    ly.dir("big/" + "L" * 100 + "/")
    ly.file("big/" + "L" * 100 + "/" + "M" * 100, b"long\n")
    ly.dir("gone/")
    ly.file("gone/a", b"a\n")
    ly.dir("opq/")
    ly.file("opq/old", b"old\n")
    return ly.bytes()


def layer_fixture_upper():
    ly = Layer(tarfile.PAX_FORMAT)
    ly.file(".wh.gone", b"")
    ly.dir("etc/")
    ly.file("etc/.wh.hosts.sym", b"")
    ly.file("etc/motd", b"fixture upper layer\n")
    ti = info("etc/xattr", size=4, pax_headers={"SCHILY.xattr.user.fixture": "yes"})
    ly.tar.addfile(ti, io.BytesIO(b"xat\n"))
    ly.dir("opq/")
    ly.file("opq/.wh..wh..opq", b"")
    ly.file("opq/new", b"new\n")
    return ly.bytes()


def write_image(path, tag, layers):
    diff_ids = ["sha256:" + hashlib.sha256(l).hexdigest() for l in layers]
    config = {
        "architecture": "amd64", "os": "linux",
        "created": "2024-05-01T00:00:00Z",
        "config": {"Cmd": ["/bin/sh"], "Env": ["PATH=/bin"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created": "2024-05-01T00:00:00Z", "created_by": "mklayers %d" % i}
                    for i in range(len(layers))],
    }
    cfg = json.dumps(config, sort_keys=True).encode()
    cfg_name = hashlib.sha256(cfg).hexdigest() + ".json"
    manifest = [{"Config": cfg_name, "RepoTags": [tag], "Layers": []}]
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as out:
        def add(nm, data):
            out.addfile(info(nm, size=len(data)), io.BytesIO(data))
        add(cfg_name, cfg)
        for d, l in zip(diff_ids, layers):
            ldir = d[7:]
            out.addfile(info(ldir + "/", tarfile.DIRTYPE, mode=0o755))
            add(ldir + "/layer.tar", l)
            add(ldir + "/VERSION", b"1.0")
            manifest[0]["Layers"].append(ldir + "/layer.tar")
        add("manifest.json", json.dumps(manifest).encode())
    return diff_ids


IMAGES = {
    "hostile": lambda: [layer_base(), layer_pax(), layer_whiteouts(), layer_delete_only()],
    "fixture": lambda: [layer_fixture_base(), layer_fixture_upper()],
    "dup": lambda: [layer_dup()],
    "symdir": lambda: [layer_symdir()],
    "gnusparse": lambda: [layer_gnusparse()],
}


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: mklayers.py OUTDIR [NAME...]")
    out = sys.argv[1]
    names = sys.argv[2:] or list(IMAGES)
    unknown = [nm for nm in names if nm not in IMAGES]
    if unknown:
        sys.exit("mklayers.py: unknown image(s) %s; known: %s" % (" ".join(unknown), " ".join(IMAGES)))
    os.makedirs(out, exist_ok=True)
    for nm in names:
        make = IMAGES[nm]
        ids = write_image(os.path.join(out, nm + ".tar"), "deep-%s:1" % nm, make())
        print(nm, " ".join(ids))


if __name__ == "__main__":
    main()
