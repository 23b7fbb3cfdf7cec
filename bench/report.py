#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Turns the raw figures of one `make bench` run (scripts/bench.sh) into medians, ratios and the
targets; writes them as JSON and prints them as a table.

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
# The largest allowlist of the full run. A quick run (QUICK=1) leaves out the figures at this size
# (the allowlist scale's rows and `voipwall reload`): their targets stay in the report with no
# value and no verdict, marked FULL_RUN_ONLY.
FULL_SCALE = 1000000
FULL_RUN_ONLY = "full run only"
NOT_MEASURED = "not measured in a quick run (%s)" % FULL_RUN_ONLY
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


def live_section(runs, modes, what):
    """Receivers of one source distribution: medians, and ratios per round."""
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
    return {
        "frame_bytes": 64, "sources": 65536 if "one" in what else 0xdf000000, "dport": 5060,
        "source_spread": what, "napi": "/".join(sorted(modes)), "receivers": receivers,
    }



def med(v):
    return statistics.median(v) if v else None


def hot_floods_worst(cost, out):
    """The test-run sections against xdp-filter and the worst-case sources."""
    hot = []
    for h in cost["hot_path"]:
        e = {"family": h["family"], "source": h["source"], "repeat": h["repeat"],
             "unexpected": h["unexpected"], "voipwall_ns": summary(h["voipwall_ns"]),
             "floor_ns": summary(h["floor_ns"])}
        if "xdp_filter_ns" in h:
            e["xdp_filter_ns"] = summary(h["xdp_filter_ns"])
            e["ratio_to_xdp_filter"] = med([v / x for v, x in
                                            zip(h["voipwall_ns"], h["xdp_filter_ns"]) if x])
        hot.append(e)
    out["hot_path"] = hot
    worst = []
    for w in cost["worst_case"]:
        worst.append({"family": w["family"], "repeat": w["repeat"],
                      "worst_lookups": w["worst_lookups"], "typical_lookups": w["typical_lookups"],
                      "bound_lookups": w["bound_lookups"], "worst_ns": summary(w["worst_ns"]),
                      "typical_ns": summary(w["typical_ns"]), "ratio": summary(w["ratio"]),
                      # Each frame's fastest round (the machine's other load only ever adds
                      # time); the slowest worst-case frame's over the typical frames' median.
                      "frame_min_ratio": ratio(
                          max(min(f) for f in w["worst_frames_ns"]),
                          statistics.median([min(f) for f in w["typical_frames_ns"]]))})
    out["worst_case"] = worst
    floods = []
    for fl in cost["floods"]:
        e = {"prefixes": fl["prefixes"], "family": fl["family"], "packets": fl["packets"],
             "unexpected": fl["unexpected"], "voipwall_ns": summary(fl["voipwall_ns"]),
             "floor_ns": summary(fl["floor_ns"]),
             "voipwall_above_floor_ns": summary([v - f for v, f in
                                                 zip(fl["voipwall_ns"], fl["floor_ns"])])}
        if "xdp_filter_ns" in fl:
            e["xdp_filter_ns"] = summary(fl["xdp_filter_ns"])
            e["xdp_filter_above_floor_ns"] = summary(
                [x - f for x, f in zip(fl["xdp_filter_ns"], fl["floor_ns"])])
            e["ratio_to_xdp_filter"] = med([(v - f) / (x - f) for v, x, f in
                                            zip(fl["voipwall_ns"], fl["xdp_filter_ns"],
                                                fl["floor_ns"]) if x > f])
        floods.append(e)
    # The same flood at 1,000,000 prefixes: the allowlist scale's attack rows (random sources,
    # each run once, floor run the same way); xdp-filter holds at most 10,000 addresses a family.
    for sc in cost["allowlist_scale"]:
        if sc["prefixes"] >= 1000000 and sc["path"] in ("attack_v4", "attack_v6"):
            floods.append({
                "prefixes": sc["prefixes"], "family": 4 if sc["path"] == "attack_v4" else 6,
                "packets": sc["packets"], "unexpected": sc["unexpected"],
                "voipwall_ns": summary(sc["voipwall_ns"]), "floor_ns": summary(sc["floor_ns"]),
                "voipwall_above_floor_ns": summary([v - f for v, f in
                                                    zip(sc["voipwall_ns"], sc["floor_ns"])]),
                "from": "allowlist_scale"})
    out["floods"] = floods
    blocks = []
    for b in cost.get("blocks", []):
        e = {"entries": b["entries"], "family": b["family"], "path": b["path"],
             "packets": b["packets"], "unexpected": b["unexpected"],
             "voipwall_ns": summary(b["voipwall_ns"]), "floor_ns": summary(b["floor_ns"]),
             "voipwall_above_floor_ns": summary([v - f for v, f in
                                                 zip(b["voipwall_ns"], b["floor_ns"])])}
        if "xdp_filter_ns" in b:
            e["xdp_filter_ns"] = summary(b["xdp_filter_ns"])
            e["ratio_to_xdp_filter"] = med([(v - f) / (x - f) for v, x, f in
                                            zip(b["voipwall_ns"], b["xdp_filter_ns"],
                                                b["floor_ns"]) if x > f])
        blocks.append(e)
    out["blocks"] = blocks
    out["block_replace_in_process"] = cost.get("block_replace", [])


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

    allruns = {}
    modes = set()
    with open(args.live) as f:
        for line in f:
            kind, rnd, pps, offered, mode, percpu, spread = line.split()
            allruns.setdefault(spread, {}).setdefault(kind, {})[int(rnd)] = (
                float(pps), float(offered), float(percpu))
            modes.add(mode)
    out["live"] = live_section(allruns["one16"], modes, "one /16 (198.18.0.0/16), in turn")
    out["live_spread"] = live_section(allruns["spread"], modes,
                                      "scattered over 1.0.0.0-223.255.255.255")
    hot_floods_worst(cost, out)
    control = {}
    with open(args.control) as f:
        for line in f:
            name, secs = line.split()
            control.setdefault(name, []).append(float(secs))
    quick = out["quick"]
    # What this run left out: only a quick run may, and only the figures at FULL_SCALE.
    out["full_run_only"] = []
    if quick and not any(s["prefixes"] == FULL_SCALE for s in scale):
        out["full_run_only"].append("allowlist_scale at %d prefixes" % FULL_SCALE)
    if quick and "reload_1m" not in control:
        out["full_run_only"].append("control_plane.reload_1m_s")
    out["control_plane"] = {
        "reload_1m_s": summary(control["reload_1m"]) if "reload_1m" in control or not quick
        else None,
        "reload_100k_s": summary(control["reload_100k"]),
        "block_replace_100k_s": summary(control["block_replace_100k"]),
        "stats_ms": summary([s * 1000 for s in control["stats"]]),
    }

    live = {e["receiver"]: e for e in out["live"]["receivers"]}
    vwl = live["voipwall"]

    targets = []

    def target(name, value, limit, holds, unit="x"):
        targets.append({"target": name, "value": value, "limit": limit,
                        "holds": bool(value is not None and holds), "unit": unit})

    def full_run_only(name, limit, unit="x"):
        """A target of a figure this quick run left out: no value, no verdict."""
        targets.append({"target": name, "value": None, "limit": limit, "holds": None,
                        "unit": unit, "measured": FULL_RUN_ONLY})

    fam = {4: "IPv4", 6: "IPv6"}
    for w in out["worst_case"]:
        r = w["frame_min_ratio"]
        target("worst-case source <= 3x a typical attack source, %s (hostile config, test runs)"
               % fam[w["family"]], r, 3.0, r <= 3.0)
    for h in out["hot_path"]:
        r = h.get("ratio_to_xdp_filter")
        target("hot attack path %s <= 1.0x xdp-filter (test runs)" % fam[h["family"]], r, 1.0,
               r is not None and r <= 1.0)
        target("hot attack path %s <= 0.8x xdp-filter (stretch)" % fam[h["family"]], r, 0.8,
               r is not None and r <= 0.8)
    for fl in out["floods"]:
        if "ratio_to_xdp_filter" not in fl:
            continue
        r = fl["ratio_to_xdp_filter"]
        target("random-source flood %s, 10,000 hosts each: <= 0.8x xdp-filter (above floor)"
               % fam[fl["family"]], r, 0.8, r is not None and r <= 0.8)
    for key, what in (("live", "sources of one /16"), ("live_spread", "sources spread")):
        lv = {e["receiver"]: e for e in out[key]["receivers"]}
        if "cpu_ratio_to_voipwall" not in lv["voipwall"]:
            continue
        xf = lv["xdp_filter"]["cpu_ratio_to_voipwall"]
        nf = lv["nftables"]["cpu_ratio_to_voipwall"]
        target("live per receiver CPU-second, %s: >= 1.2x xdp-filter" % what,
               1 / xf if xf else None, 1.2, xf and 1 / xf >= 1.2)
        target("live per receiver CPU-second, %s: >= 3x nftables" % what,
               1 / nf if nf else None, 3.0, nf and 1 / nf >= 3.0)
    target("live drop rate >= 0.9x floor (sources of one /16)", vwl["ratio_to_floor"], 0.9,
           vwl["ratio_to_floor"] >= 0.9)
    for path in ("attack_v4", "attack_v6"):
        rows = [s for s in scale if s["path"] == path]
        name = "%s cost at %d prefixes <= 1.3x at %d" % (path, FULL_SCALE, rows[0]["prefixes"])
        if rows[-1]["prefixes"] == FULL_SCALE:
            r = rows[-1]["ratio_to_smallest"]
            target(name, r, 1.3, r <= 1.3)
        elif quick:
            full_run_only(name, 1.3)
        else:
            raise ValueError("no allowlist-scale figures at %d prefixes" % FULL_SCALE)
    if "cpu_ratio_to_floor" in vwl:
        target("per receiver CPU-second: >= 0.9x floor (sources of one /16)",
               vwl["cpu_ratio_to_floor"], 0.9, vwl["cpu_ratio_to_floor"] >= 0.9)
    # Block sets: a source of an open class costs the same with the large set as with 2 entries;
    # the attack path (strangers to a protected class) keeps its target with the large set loaded.
    rows = {(b["entries"], b["family"], b["path"]): b for b in out["blocks"]}
    big = max((b["entries"] for b in out["blocks"]), default=0)
    for f in (4, 6):
        lo, hi = rows.get((2, f, "open")), rows.get((big, f, "open"))
        if lo and hi and big > 2:
            r = ratio(hi["voipwall_above_floor_ns"]["median"],
                      lo["voipwall_above_floor_ns"]["median"])
            target("open-class source, %s, block set of %d entries <= 1.3x of 2 entries "
                   "(above floor)" % (fam[f], big), r, 1.3, r is not None and r <= 1.3)
        at = rows.get((big, f, "attack"))
        if at and "ratio_to_xdp_filter" in at:
            r = at["ratio_to_xdp_filter"]
            target("random-source flood %s with %d block entries loaded: <= 0.8x xdp-filter "
                   "(above floor)" % (fam[f], big), r, 0.8, r is not None and r <= 0.8)
    cp = out["control_plane"]
    target("block replace of 100,000 prefixes < 1 s (voipwall block replace)",
           cp["block_replace_100k_s"]["median"], 1.0,
           cp["block_replace_100k_s"]["median"] < 1.0, "s")
    if cp["reload_1m_s"]:
        target("1,000,000 prefixes applied < 3 s (voipwall reload)", cp["reload_1m_s"]["median"],
               3.0, cp["reload_1m_s"]["median"] < 3.0, "s")
    else:
        full_run_only("1,000,000 prefixes applied < 3 s (voipwall reload)", 3.0, "s")
    target("stats < 50 ms", cp["stats_ms"]["median"], 50.0, cp["stats_ms"]["median"] < 50.0, "ms")
    out["targets"] = targets
    return out


def scale_left_out(d):
    """Whether the run left out the allowlist scale's FULL_SCALE rows."""
    return any(x.startswith("allowlist_scale") for x in d.get("full_run_only", []))


def fmt_summary(s, unit_fmt="%.0f"):
    return (unit_fmt + " (" + unit_fmt + ".." + unit_fmt + ")") % (s["median"], s["min"], s["max"])


def print_live(lv, f):
    f.write("\n3. Live drop rate, 64-byte UDP to 5060, sources %s, over veth (NAPI %s)\n" %
            (lv["source_spread"], lv["napi"]))
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


def print_table(d, f):
    m = d["machine"]
    f.write("voipwall bench, %s%s\n" % (d["date"], ", QUICK" if d["quick"] else ""))
    f.write("machine: %s, %d cores, %s GiB, kernel %s\n" % (m["cpu"], m["cores"],
                                                              m["memory_gib"], m["kernel"]))
    f.write("figures: median (min..max) over rounds; ratios within this run\n\n")

    fam = {4: "IPv4", 6: "IPv6"}
    f.write("A. Hot attack path: UDP to 5060 from a non-allowlisted source, one frame, test runs "
            "(repeat %d), ns per packet\n" % d["hot_path"][0]["repeat"])
    f.write("  %-6s %-14s %-20s %-20s %-20s %s\n" % ("family", "source", "voipwall ns",
                                                     "xdp-filter ns", "floor ns", "x xdp-filter"))
    for h in d["hot_path"]:
        f.write("  %-6s %-14s %-20s %-20s %-20s %s\n" % (
            fam[h["family"]], h["source"], fmt_summary(h["voipwall_ns"]),
            fmt_summary(h["xdp_filter_ns"]) if "xdp_filter_ns" in h else "n/a",
            fmt_summary(h["floor_ns"]),
            "%.2f" % h["ratio_to_xdp_filter"] if h.get("ratio_to_xdp_filter") else "n/a"))
    f.write("\nB. Worst-case sources of a hostile config (every length /25../32 in one /24, "
            "/33../128 under one /32), test runs (repeat %d)\n" % d["worst_case"][0]["repeat"])
    f.write("  %-6s %-18s %-20s %-20s %-22s %s\n" % (
        "family", "lookups worst/typ", "worst ns", "typical ns", "per round (slowest)",
        "per frame (fastest rounds)"))
    for w in d["worst_case"]:
        f.write("  %-6s %-18s %-20s %-20s %-22s %.2f\n" % (
            fam[w["family"]], "%d/%d (bound %d)" % (w["worst_lookups"], w["typical_lookups"],
                                                   w["bound_lookups"]),
            fmt_summary(w["worst_ns"]), fmt_summary(w["typical_ns"]),
            fmt_summary(w["ratio"], "%.2f"), w["frame_min_ratio"]))
    f.write("\nC. Random-source floods: every frame a new source (unicast IPv4, 2000::/3), "
            "run once; ns per packet, and above the floor run the same way\n")
    f.write("  %-9s %-6s %-22s %-22s %-22s %-20s %s\n" % (
        "prefixes", "family", "voipwall ns", "xdp-filter ns", "floor ns",
        "voipwall - floor", "x xdp-filter (- floor)"))
    for fl in d["floods"]:
        f.write("  %-9d %-6s %-22s %-22s %-22s %-20s %s\n" % (
            fl["prefixes"], fam[fl["family"]], fmt_summary(fl["voipwall_ns"]),
            fmt_summary(fl["xdp_filter_ns"]) if "xdp_filter_ns" in fl else "n/a (not loaded)",
            fmt_summary(fl["floor_ns"]), fmt_summary(fl["voipwall_above_floor_ns"]),
            "%.2f" % fl["ratio_to_xdp_filter"] if fl.get("ratio_to_xdp_filter") else "n/a"))
    f.write("\nD. Block sets: a class open to every source (open: sources no entry covers; blocked: "
            "sources in an entry) and the attack path (strangers to sip), distinct sources "
            "run once\n")
    f.write("  %-9s %-6s %-8s %-22s %-22s %-20s %s\n" % (
        "entries", "family", "path", "voipwall ns", "floor ns", "voipwall - floor",
        "x xdp-filter (- floor)"))
    for b in d.get("blocks", []):
        f.write("  %-9d %-6s %-8s %-22s %-22s %-20s %s\n" % (
            b["entries"], fam[b["family"]], b["path"], fmt_summary(b["voipwall_ns"]),
            fmt_summary(b["floor_ns"]), fmt_summary(b["voipwall_above_floor_ns"]),
            "%.2f" % b["ratio_to_xdp_filter"] if b.get("ratio_to_xdp_filter") else ""))
    f.write("  in-process block replace: %s\n" % ", ".join(
        "%d entries %.2f s" % (a["entries"], a["seconds"])
        for a in d.get("block_replace_in_process", [])))
    f.write("\n")
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
    if scale_left_out(d):
        f.write("  %-9d %s\n" % (FULL_SCALE, NOT_MEASURED))
    f.write("  in-process vw_apply: %s\n" % ", ".join(
        "%d prefixes %.2f s" % (a["prefixes"], a["seconds"]) for a in d["apply_in_process"]))

    for key in ("live", "live_spread"):
        print_live(d[key], f)

    cp = d["control_plane"]
    f.write("\n4. Control plane (voipwall command)\n")
    f.write("  reload with 1,000,000 prefixes  %s\n" % (
        fmt_summary(cp["reload_1m_s"], "%.2f") + " s" if cp["reload_1m_s"] else NOT_MEASURED))
    f.write("  reload with 100,000 prefixes    %s s\n" % fmt_summary(cp["reload_100k_s"], "%.2f"))
    f.write("  block replace, 100,000 prefixes %s s\n" %
            fmt_summary(cp["block_replace_100k_s"], "%.2f"))
    f.write("  voipwall stats                  %s ms\n" % fmt_summary(cp["stats_ms"], "%.1f"))

    f.write("\nTargets\n")
    for t in d["targets"]:
        if t.get("measured") == FULL_RUN_ONLY:
            f.write("  %-4s %-84s %s (limit %s)\n" % ("----", t["target"], NOT_MEASURED,
                                                       t["limit"]))
            continue
        v = "n/a" if t["value"] is None else "%.2f%s" % (t["value"], t["unit"])
        f.write("  %-4s %-84s %s (limit %s)\n" % ("HOLD" if t["holds"] else "MISS", t["target"],
                                                   v, t["limit"]))
    bad = [s for s in d["program_cost"] + d["allowlist_scale"] + d["hot_path"] + d["floods"] +
           d.get("blocks", []) if s["unexpected"]]
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
    if scale_left_out(d):
        f.write("| %s | %s | | | | | |\n" % ("{:,}".format(FULL_SCALE), NOT_MEASURED))
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
    f.write("| `voipwall reload`, 1,000,000 prefixes | %s |\n" % (
        fmt_summary(cp["reload_1m_s"], "%.2f") + " s" if cp["reload_1m_s"] else NOT_MEASURED))
    f.write("| `voipwall reload`, 100,000 prefixes | %s s |\n" %
            fmt_summary(cp["reload_100k_s"], "%.2f"))
    f.write("| `voipwall block replace`, 100,000 prefixes | %s s |\n" %
            fmt_summary(cp["block_replace_100k_s"], "%.2f"))
    f.write("| `voipwall stats` | %s ms |\n" % fmt_summary(cp["stats_ms"], "%.1f"))
    if d.get("blocks"):
        f.write("\nBlock sets (class open to all; attack path = strangers to sip), ns per packet "
                "above the floor, distinct sources run once:\n\n")
        f.write("| entries | family | path | voipwall - floor ns | x xdp-filter |\n"
                "|---|---|---|---|---|\n")
        for b in d["blocks"]:
            f.write("| %d | %s | %s | %s | %s |\n" % (
                b["entries"], {4: "IPv4", 6: "IPv6"}[b["family"]], b["path"],
                fmt_summary(b["voipwall_above_floor_ns"]),
                "%.2f" % b["ratio_to_xdp_filter"] if b.get("ratio_to_xdp_filter") else ""))
    f.write("\n| target | figure | holds |\n|---|---|---|\n")
    for t in d["targets"]:
        if t.get("measured") == FULL_RUN_ONLY:
            f.write("| %s | %s | |\n" % (t["target"], NOT_MEASURED))
            continue
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
