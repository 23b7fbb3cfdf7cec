#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Turns the raw figures of one `make bench` run (scripts/bench.sh) into medians, ratios and the
targets of issue 5; writes them as JSON and prints them as a table.

Ratios are taken within the run: for the live rate, per round (every receiver runs once per
round, so a round's receivers saw the same machine), then the median of the rounds' ratios."""
import argparse
import datetime
import json
import os
import platform
import statistics
import sys

LIVE_ORDER = ["floor", "voipwall", "xdp_filter", "nftables"]
LIVE_NAMES = {
    "floor": "floor (XDP_DROP)",
    "voipwall": "voipwall",
    "xdp_filter": "xdp-filter (deny, src allow)",
    "nftables": "nftables netdev ingress + set",
}


def summary(values):
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "rounds": len(values),
    }


def machine():
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    mem = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": mem,
        "kernel": platform.release(),
        "arch": platform.machine(),
    }


def ratio(a, b):
    return a / b if b else None


def build(args):
    with open(args.cost) as f:
        cost = json.load(f)
    out = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": machine(),
        "quick": args.quick == "1",
    }

    shapes = []
    for s in cost["program_cost"]:
        vw, fl = summary(s["voipwall_ns"]), summary(s["floor_ns"])
        shapes.append({
            "shape": s["shape"], "desc": s["desc"], "frame_bytes": s["frame_bytes"],
            "expect": s["expect"], "unexpected": s["unexpected"], "repeat": s["repeat"],
            "voipwall_ns": vw, "floor": s["floor"], "floor_ns": fl,
            "ratio_to_floor": ratio(vw["median"], fl["median"]),
        })
    out["program_cost"] = shapes

    scale = []
    base = {}
    for s in cost["allowlist_scale"]:
        vw = summary(s["voipwall_ns"])
        if s["path"] not in base:
            base[s["path"]] = vw["median"]
        fl = summary(s["floor_ns"])
        scale.append({
            "prefixes": s["prefixes"], "path": s["path"], "packets": s["packets"],
            "unexpected": s["unexpected"], "voipwall_ns": vw, "floor_ns": fl,
            "voipwall_seen_ns": summary(s["voipwall_seen_ns"]),
            "ratio_to_floor": ratio(vw["median"], fl["median"]),
            "ratio_to_smallest": ratio(vw["median"], base[s["path"]]),
        })
    out["allowlist_scale"] = scale
    out["apply_in_process"] = cost["apply"]

    runs = {}
    modes = set()
    with open(args.live) as f:
        for line in f:
            kind, rnd, pps, offered, mode, percpu = line.split()
            runs.setdefault(kind, {})[int(rnd)] = (float(pps), float(offered), float(percpu))
            modes.add(mode)
    receivers = []
    for kind in LIVE_ORDER:
        r = runs[kind]
        rounds = sorted(r)
        entry = {
            "receiver": kind, "name": LIVE_NAMES[kind],
            "dropped_pps": summary([r[i][0] for i in rounds]),
            "offered_pps": summary([r[i][1] for i in rounds]),
        }
        for ref in ("floor", "voipwall"):
            entry["ratio_to_" + ref] = statistics.median(
                [r[i][0] / runs[ref][i][0] for i in rounds if runs[ref].get(i, (0,))[0] > 0])
        # Packets per CPU-second of the receiver's NAPI thread (threaded NAPI only): its cost per
        # packet, whatever share of its CPU the machine's other load left it.
        if all(r[i][2] > 0 for i in rounds):
            entry["dropped_per_cpu_second"] = summary([r[i][2] for i in rounds])
            for ref in ("floor", "voipwall"):
                entry["cpu_ratio_to_" + ref] = statistics.median(
                    [r[i][2] / runs[ref][i][2] for i in rounds
                     if runs[ref].get(i, (0, 0, 0))[2] > 0])
        receivers.append(entry)
    out["live"] = {
        "frame_bytes": 64, "sources": 65536, "dport": 5060,
        "napi": "/".join(sorted(modes)), "receivers": receivers,
    }

    control = {}
    with open(args.control) as f:
        for line in f:
            name, secs = line.split()
            control.setdefault(name, []).append(float(secs))
    out["control_plane"] = {
        "reload_1m_s": summary(control["reload_1m"]),
        "reload_100k_s": summary(control["reload_100k"]),
        "stats_ms": summary([s * 1000 for s in control["stats"]]),
    }

    live = {e["receiver"]: e for e in receivers}
    vwl = live["voipwall"]

    def scale_ratio(path):
        rows = [s for s in scale if s["path"] == path]
        return rows[-1]["ratio_to_smallest"], rows[0]["prefixes"], rows[-1]["prefixes"]

    targets = []

    def target(name, value, limit, holds, unit=""):
        targets.append({"target": name, "value": value, "limit": limit, "holds": bool(holds),
                        "unit": unit})

    target("live drop rate >= 0.9x floor", vwl["ratio_to_floor"], 0.9,
           vwl["ratio_to_floor"] >= 0.9, "x")
    xf = live["xdp_filter"]["ratio_to_voipwall"]
    target("live drop rate above xdp-filter", 1 / xf if xf else None, 1.0, xf < 1.0, "x")
    nf = live["nftables"]["ratio_to_voipwall"]
    target("live drop rate >= 3x nftables", 1 / nf if nf else None, 3.0, nf <= 1 / 3, "x")
    for path in ("attack_v4", "attack_v6"):
        r, lo, hi = scale_ratio(path)
        target("%s cost at %d prefixes <= 1.3x at %d" % (path, hi, lo), r, 1.3, r <= 1.3, "x")
    if "cpu_ratio_to_floor" in vwl:
        target("per receiver CPU-second: >= 0.9x floor", vwl["cpu_ratio_to_floor"], 0.9,
               vwl["cpu_ratio_to_floor"] >= 0.9, "x")
        xf = live["xdp_filter"]["cpu_ratio_to_voipwall"]
        target("per receiver CPU-second: above xdp-filter", 1 / xf, 1.0, xf < 1.0, "x")
        nf = live["nftables"]["cpu_ratio_to_voipwall"]
        target("per receiver CPU-second: >= 3x nftables", 1 / nf, 3.0, nf <= 1 / 3, "x")
    cp = out["control_plane"]
    target("1,000,000 prefixes applied < 3 s (voipwall reload)", cp["reload_1m_s"]["median"], 3.0,
           cp["reload_1m_s"]["median"] < 3.0, "s")
    target("stats < 50 ms", cp["stats_ms"]["median"], 50.0, cp["stats_ms"]["median"] < 50.0, "ms")
    out["targets"] = targets
    return out


def fmt_summary(s, unit_fmt="%.0f"):
    return (unit_fmt + " (" + unit_fmt + ".." + unit_fmt + ")") % (s["median"], s["min"], s["max"])


def print_table(d, f):
    m = d["machine"]
    f.write("voipwall bench, %s%s\n" % (d["date"], ", QUICK" if d["quick"] else ""))
    f.write("machine: %s, %d cores, %s GiB, kernel %s\n" % (m["cpu"], m["cores"],
                                                              m["memory_gib"], m["kernel"]))
    f.write("figures: median (min..max) over rounds; ratios within this run\n\n")

    f.write("1. Program cost, ns per packet (bpf_prog_test_run_opts, repeat %d)\n" %
            d["program_cost"][0]["repeat"])
    f.write("  %-17s %-6s %-24s %-18s %s\n" % ("shape", "verdict", "voipwall ns", "floor ns",
                                               "x floor"))
    for s in d["program_cost"]:
        f.write("  %-17s %-7s %-24s %-18s %.2f\n" % (
            s["shape"], s["expect"], fmt_summary(s["voipwall_ns"]), fmt_summary(s["floor_ns"]),
            s["ratio_to_floor"]))

    f.write("\n2. Allowlist scale, ns per packet, distinct sources, each run once (repeat=1)\n")
    f.write("  %-9s %-11s %-24s %-22s %-20s %-8s %s\n" % (
        "prefixes", "path", "voipwall ns", "(sources seen) ns", "floor ns", "x floor",
        "x smallest"))
    for s in d["allowlist_scale"]:
        f.write("  %-9d %-11s %-24s %-22s %-20s %-8.2f %.2f\n" % (
            s["prefixes"], s["path"], fmt_summary(s["voipwall_ns"]),
            fmt_summary(s["voipwall_seen_ns"]), fmt_summary(s["floor_ns"]),
            s["ratio_to_floor"], s["ratio_to_smallest"]))
    f.write("  in-process vw_apply: %s\n" % ", ".join(
        "%d prefixes %.2f s" % (a["prefixes"], a["seconds"]) for a in d["apply_in_process"]))

    lv = d["live"]
    f.write("\n3. Live drop rate, 64-byte UDP to 5060 from %d sources over veth (NAPI %s)\n" %
            (lv["sources"], lv["napi"]))
    f.write("  %-29s %-19s %-7s %-7s %-19s %-7s %-7s %s\n" % (
        "receiver", "dropped Mpps", "x floor", "x vw", "Mpps per rx CPU-s", "x floor", "x vw",
        "offered Mpps"))

    def mpps(s):
        return {k: v / 1e6 if k != "rounds" else v for k, v in s.items()}

    for r in lv["receivers"]:
        if "dropped_per_cpu_second" in r:
            cpu = (fmt_summary(mpps(r["dropped_per_cpu_second"]), "%.2f"),
                   "%.2f" % r["cpu_ratio_to_floor"], "%.2f" % r["cpu_ratio_to_voipwall"])
        else:
            cpu = ("n/a (inline NAPI)", "", "")
        f.write("  %-29s %-19s %-7.2f %-7.2f %-19s %-7s %-7s %s\n" % (
            r["name"], fmt_summary(mpps(r["dropped_pps"]), "%.2f"), r["ratio_to_floor"],
            r["ratio_to_voipwall"], cpu[0], cpu[1], cpu[2],
            fmt_summary(mpps(r["offered_pps"]), "%.2f")))

    cp = d["control_plane"]
    f.write("\n4. Control plane (voipwall command)\n")
    f.write("  reload with 1,000,000 prefixes  %s s\n" % fmt_summary(cp["reload_1m_s"], "%.2f"))
    f.write("  reload with 100,000 prefixes    %s s\n" % fmt_summary(cp["reload_100k_s"], "%.2f"))
    f.write("  voipwall stats                  %s ms\n" % fmt_summary(cp["stats_ms"], "%.1f"))

    f.write("\nTargets (issue 5)\n")
    for t in d["targets"]:
        v = "n/a" if t["value"] is None else "%.2f%s" % (t["value"], t["unit"])
        f.write("  %-4s %-52s %s\n" % ("HOLD" if t["holds"] else "MISS", t["target"], v))
    bad = [s for s in d["program_cost"] + d["allowlist_scale"] if s["unexpected"]]
    if bad:
        f.write("\nWARNING: voipwall returned an unexpected action in %d measurements "
                "(see 'unexpected' in the JSON)\n" % len(bad))


def print_markdown(d, f):
    """The figures of a bench.json as the Markdown tables of docs/performance.md."""
    m = d["machine"]
    f.write("Run of %s%s on %s (%d cores, %s GiB), kernel %s.\n\n" % (
        d["date"], " (QUICK)" if d["quick"] else "", m["cpu"], m["cores"], m["memory_gib"],
        m["kernel"]))
    f.write("Program cost, ns per packet (test runs, repeat %d), median (min..max):\n\n" %
            d["program_cost"][0]["repeat"])
    f.write("| shape | verdict | voipwall ns | floor ns | x floor |\n|---|---|---|---|---|\n")
    for s in d["program_cost"]:
        f.write("| %s | %s | %s | %s | %.2f |\n" % (
            s["desc"], s["expect"], fmt_summary(s["voipwall_ns"]), fmt_summary(s["floor_ns"]),
            s["ratio_to_floor"]))
    f.write("\nAllowlist scale, ns per packet, %d distinct sources per round, each run once:\n\n"
            % d["allowlist_scale"][0]["packets"])
    f.write("| prefixes | path | voipwall ns | same sources again | floor ns | x floor "
            "| x at %d |\n|---|---|---|---|---|---|---|\n" % d["allowlist_scale"][0]["prefixes"])
    for s in d["allowlist_scale"]:
        f.write("| %s | %s | %s | %s | %s | %.2f | %.2f |\n" % (
            "{:,}".format(s["prefixes"]), s["path"], fmt_summary(s["voipwall_ns"]),
            fmt_summary(s["voipwall_seen_ns"]), fmt_summary(s["floor_ns"]),
            s["ratio_to_floor"], s["ratio_to_smallest"]))
    lv = d["live"]
    f.write("\nLive, 64-byte UDP to 5060 from %s sources over veth (NAPI %s), Mpps:\n\n" % (
        "{:,}".format(lv["sources"]), lv["napi"]))
    f.write("| receiver | dropped Mpps | x floor | x voipwall | Mpps per receiver CPU-second "
            "| x floor | x voipwall |\n|---|---|---|---|---|---|---|\n")

    def mpps(s):
        return {k: v / 1e6 if k != "rounds" else v for k, v in s.items()}

    for r in lv["receivers"]:
        cpu = ("n/a", "", "")
        if "dropped_per_cpu_second" in r:
            cpu = (fmt_summary(mpps(r["dropped_per_cpu_second"]), "%.2f"),
                   "%.2f" % r["cpu_ratio_to_floor"], "%.2f" % r["cpu_ratio_to_voipwall"])
        f.write("| %s | %s | %.2f | %.2f | %s | %s | %s |\n" % (
            r["name"], fmt_summary(mpps(r["dropped_pps"]), "%.2f"), r["ratio_to_floor"],
            r["ratio_to_voipwall"], cpu[0], cpu[1], cpu[2]))
    cp = d["control_plane"]
    f.write("\n| control plane | median (min..max) |\n|---|---|\n")
    f.write("| `voipwall reload`, 1,000,000 prefixes | %s s |\n" %
            fmt_summary(cp["reload_1m_s"], "%.2f"))
    f.write("| `voipwall reload`, 100,000 prefixes | %s s |\n" %
            fmt_summary(cp["reload_100k_s"], "%.2f"))
    f.write("| `voipwall stats` | %s ms |\n" % fmt_summary(cp["stats_ms"], "%.1f"))
    f.write("\n| target | figure | holds |\n|---|---|---|\n")
    for t in d["targets"]:
        v = "n/a" if t["value"] is None else "%.2f%s" % (t["value"], t["unit"])
        f.write("| %s | %s | %s |\n" % (t["target"], v, "yes" if t["holds"] else "**no**"))


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--markdown":
        with open(sys.argv[2]) as f:
            print_markdown(json.load(f), sys.stdout)
        return 0
    ap = argparse.ArgumentParser(description=__doc__ + "\n\nOr: report.py --markdown bench.json")
    ap.add_argument("--cost", required=True)
    ap.add_argument("--live", required=True)
    ap.add_argument("--control", required=True)
    ap.add_argument("--quick", default="0")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    try:
        d = build(args)
    except (OSError, ValueError, KeyError, statistics.StatisticsError) as e:
        print("bench: cannot build the report: %s" % e, file=sys.stderr)
        return 1
    tmp = args.out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(d, f, indent=1)
        f.write("\n")
    os.replace(tmp, args.out)
    print_table(d, sys.stdout)
    print("\nJSON: %s" % args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
