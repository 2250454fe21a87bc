"""bbolt_io.py — a small reader and writer of bbolt (BoltDB) files, for the
containerd bench generator (tools/bench/genctrd.py) and the fuzz seeds of
the containerd scan (tests/fuzz/mkctrdseeds.py).

A tree is a Bucket: .items = {key bytes: value bytes | Bucket}, .seq = the
bucket's sequence. write(tree) lays it out as go.etcd.io/bbolt does (4 KiB
pages; metas 0 and 1, an empty freelist page 2, then the data pages; a
bucket without sub-buckets whose page fits in a quarter page is inline,
else it gets its own leaf/branch pages; a page too big for one page spans
overflow pages) and returns the bytes plus a map of the pages it wrote
(for corrupting seeds on purpose). read(data) gives the tree back."""
import struct

PAGE = 4096
BRANCH, LEAF, META, FREELIST = 0x01, 0x02, 0x04, 0x10
MAGIC, VERSION = 0xED0CDAED, 2


class Bucket:
    __slots__ = ("items", "seq")

    def __init__(self, items=None, seq=0):
        self.items = items if items is not None else {}
        self.seq = seq

    def sub(self, key):
        """The sub-bucket key (created when absent)."""
        b = self.items.get(key)
        if b is None:
            b = self.items[key] = Bucket()
        return b


def fnv1a64(b):
    h = 0xCBF29CE484222325
    for c in b:
        h = ((h ^ c) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


class Writer:
    def __init__(self, page_size=PAGE):
        self.ps = page_size
        self.pages = []          # (pgid, bytes of all its pages)
        self.next = 3            # 0, 1 metas, 2 freelist
        self.kinds = {}          # pgid -> "leaf" | "branch"

    def _alloc(self, body, flags, count):
        n = max(1, -(-(16 + len(body)) // self.ps))
        pgid = self.next
        self.next += n
        hdr = struct.pack("<QHHI", pgid, flags, count, n - 1)
        raw = hdr + body
        raw += b"\0" * (n * self.ps - len(raw))
        self.pages.append((pgid, raw))
        self.kinds[pgid] = "leaf" if flags == LEAF else "branch"
        return pgid

    @staticmethod
    def _leaf_body(elems):
        """elems: [(flags, key, value)] -> element array + data."""
        n = len(elems)
        arr, data = [], []
        off = 16 * n
        for i, (fl, k, v) in enumerate(elems):
            pos = off - 16 * i
            arr.append(struct.pack("<IIII", fl, pos, len(k), len(v)))
            data.append(k + v)
            off += len(k) + len(v)
        return b"".join(arr) + b"".join(data)

    def _value(self, v):
        if isinstance(v, Bucket):
            return 1, self.bucket_value(v)
        return 0, v

    def bucket_value(self, b):
        """The 16-byte header {root, seq}, plus the page when inline."""
        elems = []
        for k in sorted(b.items):
            fl, v = self._value(b.items[k])
            elems.append((fl, k, v))
        inline = all(fl == 0 for fl, _, _ in elems)
        if inline:
            body = self._leaf_body(elems)
            if 16 + 16 + len(body) <= self.ps // 4:
                return struct.pack("<QQ", 0, b.seq) + struct.pack("<QHHI", 0, LEAF, len(elems), 0) + body
        return struct.pack("<QQ", self.tree(elems), b.seq)

    def tree(self, elems):
        """Leaf pages for elems (sorted), then branch levels; the root pgid."""
        level = []               # (first key, pgid)
        cur, size = [], 16
        for e in elems:
            esz = 16 + len(e[1]) + len(e[2])
            if cur and size + esz > self.ps:
                level.append((cur[0][1], self._alloc(self._leaf_body(cur), LEAF, len(cur))))
                cur, size = [], 16
            cur.append(e)
            size += esz
        if cur or not level:
            level.append((cur[0][1] if cur else b"", self._alloc(self._leaf_body(cur), LEAF, len(cur))))
        while len(level) > 1:
            up, cur, size = [], [], 16
            for k, pg in level:
                esz = 16 + len(k)
                if cur and size + esz > self.ps:
                    up.append((cur[0][0], self._branch(cur)))
                    cur, size = [], 16
                cur.append((k, pg))
                size += esz
            up.append((cur[0][0], self._branch(cur)))
            level = up
        return level[0][1]

    def _branch(self, kids):
        n = len(kids)
        arr, data = [], []
        off = 16 * n
        for i, (k, pg) in enumerate(kids):
            arr.append(struct.pack("<IIQ", off - 16 * i, len(k), pg))
            data.append(k)
            off += len(k)
        return self._alloc(b"".join(arr) + b"".join(data), BRANCH, n)

    def meta(self, pgid, root, txid):
        m = struct.pack("<IIIIQQQQQ", MAGIC, VERSION, self.ps, 0, root, 0, 2, self.next, txid)
        m += struct.pack("<Q", fnv1a64(m))
        raw = struct.pack("<QHHI", pgid, META, 0, 0) + m
        return raw + b"\0" * (self.ps - len(raw))


def write(tree, txid=10):
    """bytes of a bbolt file holding tree (a Bucket: the root bucket), and
    {pgid: "leaf"|"branch"} of its data pages."""
    w = Writer()
    elems = [(fl, k, v) for k, (fl, v) in ((k, w._value(tree.items[k])) for k in sorted(tree.items))]
    root = w.tree(elems)
    out = bytearray(w.next * w.ps)
    out[0:w.ps] = w.meta(0, root, txid)
    out[w.ps:2 * w.ps] = w.meta(1, root, txid - 1)
    out[2 * w.ps:2 * w.ps + 16] = struct.pack("<QHHI", 2, FREELIST, 0, 0)
    for pgid, raw in w.pages:
        out[pgid * w.ps:pgid * w.ps + len(raw)] = raw
    return bytes(out), dict(w.kinds)


def read(data):
    """The root Bucket of a bbolt file (the meta with the higher txid)."""
    best = None
    for off in (0, PAGE):
        magic, ver, ps, _, root, _, _, pgid, txid = struct.unpack_from("<IIIIQQQQQ", data, off + 16)
        if magic == MAGIC and (best is None or txid > best[2]):
            best = (ps, root, txid)
    ps, root, _ = best
    top = Bucket()
    _read_page(data, ps, root, top)
    return top


def _read_page(data, ps, pgid, b):
    base = pgid * ps
    _, flags, count, _ = struct.unpack_from("<QHHI", data, base)
    if flags == BRANCH:
        for i in range(count):
            _, _, child = struct.unpack_from("<IIQ", data, base + 16 + 16 * i)
            _read_page(data, ps, child, b)
    else:
        _read_leaf(data, ps, base, count, b)


def _read_leaf(data, ps, base, count, b):
    for i in range(count):
        e = base + 16 + 16 * i
        fl, pos, ks, vs = struct.unpack_from("<IIII", data, e)
        k = bytes(data[e + pos:e + pos + ks])
        v = bytes(data[e + pos + ks:e + pos + ks + vs])
        if fl & 1:
            root, seq = struct.unpack_from("<QQ", v, 0)
            sub = Bucket(seq=seq)
            if root == 0:
                _, _, n, _ = struct.unpack_from("<QHHI", v, 16)
                _read_leaf(v, ps, 16, n, sub)
            else:
                _read_page(data, ps, root, sub)
            b.items[k] = sub
        else:
            b.items[k] = v
