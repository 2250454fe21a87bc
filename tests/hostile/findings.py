#!/usr/bin/env python3
"""findings.py JSON IDS_ENV REQUIRED ALSO — compare an ovl2fsck --json report
with a row of expect.tsv (see there). Prints what differs; exit 1 if anything.
An error or garbage finding that the row neither requires nor allows fails;
warnings are informational and fail only when a required one is missing."""
import collections
import json
import sys


def main():
    report, ids_env, required, also = sys.argv[1:5]
    ids = {}
    with open(ids_env) as f:
        for line in f:
            k, _, v = line.rstrip("\n").partition("=")
            ids[k] = v

    def subst(s):
        for k in sorted(ids, key=len, reverse=True):
            s = s.replace("$" + k, ids[k])
        return s
    try:
        with open(report) as f:
            doc = json.load(f)
    except ValueError as e:
        print("report is not JSON: %s" % e)
        return 1
    found = collections.Counter((x["check"], x["object"]) for x in doc["findings"])
    severity = {x["check"]: x["severity"] for x in doc["findings"]}
    by_check = collections.Counter(x["check"] for x in doc["findings"])
    problems = []
    want_checks = set()
    optional = set()
    for item in ([] if required == "-" else required.split(" ")):
        if item.startswith("?"):
            check, _, obj = item[1:].partition(":")
            optional.add((check, subst(obj)))
            continue
        if "*" in item and ":" not in item:
            check, n = item.split("*")
            want_checks.add(check)
            if by_check[check] != int(n):
                problems.append("%s: %d findings, want %s" % (check, by_check[check], n))
            continue
        check, _, obj = item.partition(":")
        obj = subst(obj)
        want_checks.add(check)
        if not found[(check, obj)]:
            problems.append("missing: %s %s" % (check, obj))
    allowed = set() if also == "-" else set(also.split(","))
    required_pairs = {(c, subst(o)) for c, _, o in (i.partition(":") for i in required.split(" ")
                                                     if ":" in i and not i.startswith("?"))}
    for (check, obj), n in sorted(found.items()):
        if check in allowed or (check in want_checks and "*" in required and (check, obj) not in required_pairs
                                and any(r.startswith(check + "*") for r in required.split(" "))):
            continue
        if (check, obj) in optional:
            continue
        if severity[check] == "warning" and (check, obj) not in required_pairs:
            continue   # informational; asserted only where a case names it
        if (check, obj) not in required_pairs:
            problems.append("unexpected: %s %s" % (check, obj))
    for p in problems[:20]:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
