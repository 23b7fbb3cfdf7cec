#!/usr/bin/python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Counters from `voipwall stats -j` as flat {"iface|class|verdict|reason": [packets, bytes]}.
The files that delta, check and total read are flat files or `stats -j` output as it is.

flatten          read stats JSON on stdin, print the flat form
delta A B        print the non-zero differences B - A (flat files), one "key packets bytes" a line
check A B IFACE KEY=N...   exit 0 when, on IFACE, the packet deltas are exactly the KEY=N given
                 ("class|verdict|reason=N") and every other key is zero, noise aside (pass
                 non_ip/unprotected with class none); else print what differed and exit 1
"""
import json
import sys

VERDICTS = ("pass", "drop", "monitor")
REASONS = ("allowlisted", "not_allowlisted", "unprotected", "malformed", "fragment",
           "fragment_unknown", "non_ip", "open", "rate_limited", "banned", "blocklisted")
IFACE_KEYS = ("interface", "iface", "ifname", "dev")
NOISE = {("none", "pass", "non_ip"), ("none", "pass", "unprotected")}


def _num(v):
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def flatten(doc):
    """Walk any nesting; a dict with integer "packets" is one counter row. Labels come from the
    row's own string fields or its ancestors' (interface/class/verdict/reason), or from the keys
    leading to it when those keys are verdict or reason names."""
    out = {}

    def walk(node, ctx, path):
        if isinstance(node, dict):
            ctx = dict(ctx)
            for k in IFACE_KEYS:
                if isinstance(node.get(k), str):
                    ctx["iface"] = node[k]
            for k in ("class", "verdict", "reason"):
                if isinstance(node.get(k), str):
                    ctx[k] = node[k]
            pk = _num(node.get("packets"))
            if pk is not None:
                row = dict(ctx)
                for p in path:
                    if p in VERDICTS and "verdict" not in row:
                        row["verdict"] = p
                    elif p in REASONS and "reason" not in row:
                        row["reason"] = p
                if all(k in row for k in ("iface", "class", "verdict", "reason")):
                    key = "|".join((row["iface"], row["class"], row["verdict"], row["reason"]))
                    old = out.get(key, [0, 0])
                    out[key] = [old[0] + pk, old[1] + (_num(node.get("bytes")) or 0)]
                    return
            for k, v in node.items():
                walk(v, ctx, path + [k])
        elif isinstance(node, list):
            for v in node:
                walk(v, ctx, path)

    walk(doc, {}, [])
    return out


def load(path):
    with open(path) as f:
        return json.load(f)


def load_counters(path):
    """The counters of a flat file or of a `voipwall stats -j` document (flattened here)."""
    with open(path) as f:
        text = f.read()
    try:
        doc = json.loads(text)
    except ValueError as e:
        sys.exit("vwstats: %s is not JSON: %s: %.200s" % (path, e, text))
    if isinstance(doc, dict) and "counters" in doc:
        flat = flatten(doc)
        if not flat and '"packets"' in text:
            print("vwstats: no counter rows recognised in: %.300s" % text, file=sys.stderr)
        return flat
    return doc


def deltas(a, b):
    d = {}
    for k in set(a) | set(b):
        pa, ba = a.get(k, [0, 0])
        pb, bb = b.get(k, [0, 0])
        if pb != pa or bb != ba:
            d[k] = [pb - pa, bb - ba]
    return d


def check(a, b, iface, expected):
    """expected: {"class|verdict|reason": packets}. Returns a list of differences (empty: ok)."""
    d = deltas(a, b)
    got = {}
    for k, (p, _) in d.items():
        i, c, v, r = k.split("|")
        if i == iface and p:
            got["|".join((c, v, r))] = p
    problems = []
    for k, n in sorted(expected.items()):
        if got.get(k, 0) != n:
            problems.append("%s: expected +%d, got +%d" % (k, n, got.get(k, 0)))
    for k, p in sorted(got.items()):
        if k in expected or tuple(k.split("|")) in NOISE:
            continue
        problems.append("%s: unexpected +%d" % (k, p))
    return problems


def total(a, b, iface):
    """(packets counted, packets passed) on iface between a and b, noise aside."""
    counted = passed = 0
    for k, (p, _) in deltas(a, b).items():
        i, c, v, r = k.split("|")
        if i == iface and (c, v, r) not in NOISE:
            counted += p
            passed += p if v == "pass" else 0
    return counted, passed


def main(argv):
    if len(argv) >= 1 and argv[0] == "flatten":
        text = sys.stdin.read()
        try:
            doc = json.loads(text)
        except ValueError as e:
            print("vwstats: stats -j is not JSON: %s: %.200s" % (e, text), file=sys.stderr)
            return 1
        flat = flatten(doc)
        if not flat and '"packets"' in text:
            print("vwstats: no counter rows recognised in: %.300s" % text, file=sys.stderr)
        json.dump(flat, sys.stdout, sort_keys=True)
        print()
        return 0
    if len(argv) == 3 and argv[0] == "delta":
        for k, (p, b) in sorted(deltas(load_counters(argv[1]), load_counters(argv[2])).items()):
            print(k, p, b)
        return 0
    if len(argv) >= 4 and argv[0] == "check":
        exp = {}
        for item in argv[4:]:
            k, _, n = item.rpartition("=")
            exp[k] = int(n)
        problems = check(load_counters(argv[1]), load_counters(argv[2]), argv[3], exp)
        for p in problems:
            print(p)
        return 1 if problems else 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
