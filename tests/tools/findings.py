#!/usr/bin/env python3
"""findings.py — assertions on ovl2fsck --json output, for the integration tests.

    findings.py expect JSON_FILE [--want CHECK=OBJECT]... [--allow CHECK[=OBJECT]]...
        Exit 0 when every --want finding is present (exact check name and object)
        and every other finding matches an --allow (CHECK alone allows any object).
        Otherwise print what is wrong and exit 1.
    findings.py none JSON_FILE [SEVERITY...]
        Exit 0 when there is no finding (of these severities; default all).
    findings.py get JSON_FILE KEY.PATH
        Print a value (e.g. summary.young_skipped, scanned.images, dockerd_running).
    findings.py list JSON_FILE
        One line per finding: severity check object path.
    findings.py valid JSON_FILE
        Exit 0 when the output has the documented shape (keys and types).
"""
import json
import sys


def load(path):
    with open(path) as f:
        return json.load(f)


def fmt(f):
    return "%s %s %s %s (%s)" % (f.get("severity"), f.get("check"), f.get("object"),
                                 f.get("path"), f.get("detail"))


def expect(doc, args):
    want, allow = [], []
    i = 0
    while i < len(args):
        if args[i] == "--want":
            want.append(tuple(args[i + 1].split("=", 1)))
        elif args[i] == "--allow":
            a = args[i + 1].split("=", 1)
            allow.append((a[0], a[1] if len(a) > 1 else None))
        else:
            raise SystemExit("bad argument " + args[i])
        i += 2
    findings = doc.get("findings", [])
    ok = True
    for c, o in want:
        if not any(f.get("check") == c and f.get("object") == o for f in findings):
            print("missing finding: %s object %s" % (c, o))
            ok = False
    for f in findings:
        c, o = f.get("check"), f.get("object")
        if (c, o) in want:
            continue
        if any(c == ac and (ao is None or ao == o) for ac, ao in allow):
            continue
        print("unexpected finding: " + fmt(f))
        ok = False
    if not ok:
        print("all findings:")
        for f in findings:
            print("  " + fmt(f))
    return 0 if ok else 1


def valid(doc):
    errs = []

    def need(obj, key, types, where):
        if not isinstance(obj, dict) or key not in obj:
            errs.append("%s: no %s" % (where, key))
            return None
        if not isinstance(obj[key], types) or (types is int and isinstance(obj[key], bool)):
            errs.append("%s.%s: wrong type %s" % (where, key, type(obj[key]).__name__))
        return obj[key]

    if need(doc, "version", int, "top") != 1:
        errs.append("version is not 1")
    need(doc, "root", str, "top")
    need(doc, "dockerd_running", bool, "top")
    sc = need(doc, "scanned", dict, "top") or {}
    for k in ("images", "layers", "mounts", "containers", "overlay_dirs", "links", "buildkit_snapshots"):
        need(sc, k, int, "scanned")
    for n, f in enumerate(need(doc, "findings", list, "top") or []):
        for k in ("check", "severity", "object", "path", "detail"):
            need(f, k, str, "findings[%d]" % n)
        need(f, "bytes", int, "findings[%d]" % n)
        if f.get("severity") not in ("error", "garbage", "warning"):
            errs.append("findings[%d]: severity %r" % (n, f.get("severity")))
    sm = need(doc, "summary", dict, "top") or {}
    for k in ("errors", "garbage", "warnings", "young_skipped", "reclaimable_bytes"):
        need(sm, k, int, "summary")
    fs = doc.get("findings") or []
    for sev, key in (("error", "errors"), ("garbage", "garbage"), ("warning", "warnings")):
        n = sum(1 for f in fs if isinstance(f, dict) and f.get("severity") == sev)
        if isinstance(sm.get(key), int) and sm[key] != n:
            errs.append("summary.%s is %s but %d findings have severity %s" % (key, sm[key], n, sev))
    for e in errs:
        print(e)
    return 0 if not errs else 1


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    cmd, path = sys.argv[1], sys.argv[2]
    try:
        doc = load(path)
    except (OSError, ValueError) as e:
        print("cannot read JSON from %s: %s" % (path, e))
        return 1
    if cmd == "expect":
        return expect(doc, sys.argv[3:])
    if cmd == "none":
        sev = set(sys.argv[3:])
        bad = [f for f in doc.get("findings", []) if not sev or f.get("severity") in sev]
        for f in bad:
            print("finding: " + fmt(f))
        return 1 if bad else 0
    if cmd == "get":
        v = doc
        for k in sys.argv[3].split("."):
            v = v[k] if isinstance(v, dict) and k in v else None
        print(json.dumps(v) if isinstance(v, (bool, dict, list)) or v is None else v)
        return 0
    if cmd == "list":
        for f in doc.get("findings", []):
            print("%s %s %s %s" % (f.get("severity"), f.get("check"), f.get("object"), f.get("path")))
        return 0
    if cmd == "valid":
        return valid(doc)
    print("unknown command " + cmd, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
