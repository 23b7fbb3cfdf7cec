#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Smoke test of `make bench`: runs the QUICK mode and checks that it wrote a well-formed
# $BUILD/bench.json with every figure a quick run measures, that the figures it leaves out (those
# at 1,000,000 prefixes) are the only ones marked "full run only", and that every measured path
# got the verdict it is meant to measure. Not a speed assertion: no figure is compared with a
# limit here.
set -u
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
PYTHON=${PYTHON:-/usr/bin/python3}
JSON=$BUILD/bench.json
log=$(mktemp /tmp/vwbench-smoke.XXXXXX)
trap 'rm -f "$log"' EXIT

names="bench_quick_run bench_json bench_program_cost bench_allowlist_scale bench_live bench_blocks"
names+=" bench_control_plane bench_targets bench_measured_paths"
skip_all() {
	for n in $names; do echo "SKIP $n: $1"; done
	exit 0
}
[ "$(id -u)" -eq 0 ] || skip_all "needs root"
for t in xdp-filter nft ip; do
	command -v "$t" >/dev/null || skip_all "$t is not installed (make setup)"
done

rm -f "$JSON"
start=$(date +%s)
if ! make --no-print-directory -s BUILD="$BUILD" bench QUICK=1 >"$log" 2>&1; then
	echo "FAIL bench_quick_run: make bench QUICK=1 failed"
	tail -n 40 "$log"
	for n in $names; do [ "$n" = bench_quick_run ] || echo "FAIL $n: no run to check"; done
	exit 1
fi
echo "make bench QUICK=1 took $(($(date +%s) - start)) s"
cat "$log"
rc=0
if grep -q '^Targets$' "$log"; then
	echo "PASS bench_quick_run"
else
	echo "FAIL bench_quick_run: no table of figures on stdout"
	rc=1
fi

"$PYTHON" - "$JSON" <<'PY' || rc=1
import json, sys

failed = 0
def check(name, cond_fn):
    global failed
    try:
        why = cond_fn()
    except (KeyError, TypeError, IndexError, ValueError, ZeroDivisionError) as e:
        why = "missing or malformed: %r" % e
    print(("FAIL %s: %s" % (name, why)) if why else "PASS " + name)
    failed += bool(why)

try:
    with open(sys.argv[1]) as f:
        d = json.load(f)
    print("PASS bench_json")
except (OSError, ValueError) as e:
    print("FAIL bench_json: %s" % e)
    for n in ("program_cost", "allowlist_scale", "live", "control_plane", "blocks", "targets",
              "measured_paths"):
        print("FAIL bench_%s: no JSON" % n)
    sys.exit(1)

def figure(s, what):
    """A summary {median, min, max, rounds}: positive, ordered."""
    if not all(isinstance(s[k], (int, float)) for k in ("median", "min", "max", "rounds")):
        return "%s: not numbers: %r" % (what, s)
    if not (0 < s["min"] <= s["median"] <= s["max"]) or s["rounds"] < 1:
        return "%s: not a positive min <= median <= max: %r" % (what, s)
    return None

def first(errs):
    return next((e for e in errs if e), None)

SHAPES = ["udp5060_attack", "udp5060_allowed", "udp_unprotected", "tcp_syn_22", "ipv6_2ext",
          "qinq", "later_fragment"]
def program_cost():
    got = [s["shape"] for s in d["program_cost"]]
    if got != SHAPES:
        return "shapes %r, expected %r" % (got, SHAPES)
    return first([figure(s[k], "%s %s" % (s["shape"], k)) for s in d["program_cost"]
                  for k in ("voipwall_ns", "floor_ns")] +
                 [None if s["ratio_to_floor"] > 0 else "%s: no ratio" % s["shape"]
                  for s in d["program_cost"]])

# A quick run leaves out the allowlist of 1,000,000 prefixes (scale and reload): these targets
# stay in the list with no value and no verdict, and only these.
SCALES = [10, 10000, 100000]
FULL_ONLY = ["attack_v4 cost at 1000000 prefixes <= 1.3x at 10",
             "attack_v6 cost at 1000000 prefixes <= 1.3x at 10",
             "1,000,000 prefixes applied < 3 s (voipwall reload)"]
PATHS = ["attack_v4", "allowed_v4", "attack_v6", "allowed_v6"]
def allowlist_scale():
    got = [(s["prefixes"], s["path"]) for s in d["allowlist_scale"]]
    want = [(n, p) for n in SCALES for p in PATHS]
    if got != want:
        return "rows %r, expected %r" % (got, want)
    return first([figure(s[k], "%d %s %s" % (s["prefixes"], s["path"], k))
                  for s in d["allowlist_scale"]
                  for k in ("voipwall_ns", "floor_ns", "voipwall_seen_ns")] +
                 [None if s["ratio_to_smallest"] > 0 else "no ratio"
                  for s in d["allowlist_scale"]])

RX = ["floor", "voipwall", "xdp_filter", "nftables"]
def live():
    rx = d["live"]["receivers"]
    if [r["receiver"] for r in rx] != RX:
        return "receivers %r, expected %r" % ([r["receiver"] for r in rx], RX)
    return first([figure(r[k], "%s %s" % (r["receiver"], k)) for r in rx
                  for k in ("dropped_pps", "offered_pps")] +
                 [None if r["ratio_to_floor"] > 0 and r["ratio_to_voipwall"] > 0 else
                  "%s: no ratios" % r["receiver"] for r in rx])

def control_plane():
    cp = d["control_plane"]
    if d["quick"] is not True or "reload_1m_s" not in cp or cp["reload_1m_s"] is not None:
        return "not a quick run's: quick %r, reload_1m_s %r" % (d["quick"], cp.get("reload_1m_s"))
    if sorted(d["full_run_only"]) != ["allowlist_scale at 1000000 prefixes",
                                      "control_plane.reload_1m_s"]:
        return "full_run_only is %r" % d["full_run_only"]
    return first([figure(cp[k], k) for k in ("reload_100k_s", "block_replace_100k_s",
                                             "stats_ms")])

def blocks():
    got = sorted({(b["entries"], b["family"], b["path"]) for b in d["blocks"]})
    big = max(b["entries"] for b in d["blocks"])
    want = sorted([(0, f, p) for f in (4, 6) for p in ("open", "attack")] +
                  [(n, f, p) for n in (2, big) for f in (4, 6)
                   for p in ("open", "blocked", "attack")])
    if got != want or big <= 2:
        return "rows %r, expected %r" % (got, want)
    return first([figure(b[k], "%d %d %s %s" % (b["entries"], b["family"], b["path"], k))
                  for b in d["blocks"] for k in ("voipwall_ns", "floor_ns")])

def targets():
    t = d["targets"]
    names = " ".join(x["target"] for x in t)
    for want in ("0.9x floor", "xdp-filter", "3x nftables", "attack_v4", "< 3 s", "stats",
                 "worst-case source", "hot attack path", "random-source flood", "sources spread",
                 "block replace", "block set of", "block entries loaded"):
        if want not in names:
            return "no target about %r" % want
    for want in FULL_ONLY:
        if want not in [x["target"] for x in t]:
            return "no target %r" % want
    return first([(None if x["value"] is None and x["holds"] is None and
                   x["measured"] == "full run only" else
                   "target %r: a quick run has no value for it, got %r" % (x["target"], x))
                  if x["target"] in FULL_ONLY else
                  (None if isinstance(x["holds"], bool) and isinstance(x["value"], (int, float))
                   and "measured" not in x else
                   "target %r has no value/verdict: %r" % (x["target"], x)) for x in t])

def measured_paths():
    bad = ["%s: %d" % (s.get("shape") or "%s %s" % (s.get("prefixes", ""), s.get("path", s.get("family"))), s["unexpected"])
           for s in d["program_cost"] + d["allowlist_scale"] + d["hot_path"] + d["floods"] +
           d["blocks"] if s["unexpected"]]
    return ("voipwall returned another verdict than the path's: " + ", ".join(bad)) if bad \
        else None

check("bench_program_cost", program_cost)
check("bench_allowlist_scale", allowlist_scale)
check("bench_live", live)
check("bench_control_plane", control_plane)
check("bench_blocks", blocks)
check("bench_targets", targets)
check("bench_measured_paths", measured_paths)
sys.exit(1 if failed else 0)
PY
exit "$rc"
