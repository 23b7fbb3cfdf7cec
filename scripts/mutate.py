#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""make mutate: prove that the fast test suites catch small wrong changes.

Reads a catalog of mutants (tests/mutants.txt), copies the tree (tracked and untracked, not
ignored files, as they are now) to scratch directories (one per worker, --workers), builds them
and runs the fast suites once on the unchanged tree (they must pass), then for each mutant: puts
its one change into a scratch copy, rebuilds, runs the suites named for it until one fails
(caught) or all pass (missed), and puts the file back. The working tree is never written.

Prints a caught/missed table. A suite that runs out of time (--timeout) catches nothing: a
mutant that no suite fails and one times out is TIMEOUT, not caught. Exits non-zero when a mutant
is missed or timed out, when its original text is no longer found exactly once in its file (the
catalog has gone stale), when a mutant does not build or its program does not load (a mutant
must be a plausible wrong change, not a broken one), or when the unchanged tree fails a suite.

Catalog format (one mutant per block, blank lines and '#' comments between blocks):

    mutant NAME
    file PATH
    what ONE-LINE DESCRIPTION
    suites xdp fuzz            (optional: the suites to try, in order; default by file)
    -ORIGINAL TEXT             (one or more lines; the text after '-' is taken verbatim)
    +REPLACEMENT TEXT          (zero or more lines)

The original text (the '-' lines joined by newlines) must occur exactly once in the file; it may
be part of a line. Suites: config (tests/unit/test_config), xdp (tests/unit/test_xdp), fuzz (the
differential fuzzer on the seeds of tests/fuzz/seeds), bench (tests/bench/test_bench_smoke.sh).
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

DEFAULT_SUITES = [("bpf/", ["xdp", "fuzz"]), ("user/tables.c", ["xdp", "fuzz"]),
                  ("user/config.c", ["config"]), ("", ["xdp", "config", "fuzz"])]
SUITE_NAMES = ("config", "xdp", "fuzz", "bench")


class Mutant:
    def __init__(self, name, line):
        self.name = name
        self.line = line
        self.file = None
        self.what = ""
        self.suites = None
        self.old = []
        self.new = []

    @property
    def original(self):
        return "\n".join(self.old)

    @property
    def replacement(self):
        return "\n".join(self.new)


def parse_catalog(path):
    mutants, cur, errors = [], None, []
    with open(path) as f:
        for no, raw in enumerate(f, 1):
            line = raw.rstrip("\n")
            if line.startswith("-") and cur:
                cur.old.append(line[1:])
            elif line.startswith("+") and cur:
                cur.new.append(line[1:])
            elif not line.strip() or line.lstrip().startswith("#"):
                continue
            else:
                key, _, val = line.partition(" ")
                if key == "mutant":
                    cur = Mutant(val.strip(), no)
                    mutants.append(cur)
                elif cur and key == "file":
                    cur.file = val.strip()
                elif cur and key == "what":
                    cur.what = val.strip()
                elif cur and key == "suites":
                    cur.suites = val.split()
                else:
                    errors.append("%s:%d: unexpected line: %s" % (path, no, line))
    names = set()
    for m in mutants:
        if not m.name or not m.file or not m.old or not m.what:
            errors.append("%s:%d: mutant %r needs a file, a what line and '-' lines"
                          % (path, m.line, m.name))
        if m.name in names:
            errors.append("%s:%d: mutant %r defined twice" % (path, m.line, m.name))
        names.add(m.name)
        if m.suites is None:
            m.suites = next(s for p, s in DEFAULT_SUITES if m.file.startswith(p))
        bad = [s for s in m.suites if s not in SUITE_NAMES]
        if bad:
            errors.append("%s:%d: mutant %r: unknown suite %s" % (path, m.line, m.name,
                                                                  " ".join(bad)))
        if m.original == m.replacement:
            errors.append("%s:%d: mutant %r changes nothing" % (path, m.line, m.name))
    return mutants, errors


def tree_files(root):
    out = subprocess.run(["git", "-C", root, "ls-files", "-z", "--cached", "--others",
                          "--exclude-standard"], check=True, capture_output=True).stdout
    return [p for p in out.decode().split("\0") if p and os.path.isfile(os.path.join(root, p))]


def copy_tree(root, dest):
    for rel in tree_files(root):
        d = os.path.join(dest, rel)
        os.makedirs(os.path.dirname(d), exist_ok=True)
        shutil.copy2(os.path.join(root, rel), d)


def run(cmd, cwd, log, env=None, timeout=None):
    """Run cmd, appending its output to log; returns (exit status, seconds)."""
    t0 = time.monotonic()
    with open(log, "a") as lf:
        lf.write("\n$ %s\n" % " ".join(cmd))
        lf.flush()
        try:
            rc = subprocess.run(cmd, cwd=cwd, stdout=lf, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=env, timeout=timeout).returncode
        except subprocess.TimeoutExpired:
            lf.write("\n(timed out after %s s)\n" % timeout)
            rc = 124
    return rc, time.monotonic() - t0


class Runner:
    def __init__(self, args, scratch):
        self.args = args
        self.scratch = scratch
        self.build = "build"
        self.log = os.path.join(scratch, "mutate.log")
        self.env = dict(os.environ, VW_TEST_QUICK="1", VW_TEST_FAILFAST="1",
                        VW_TEST_BPF_OBJ=os.path.join(scratch, self.build, "voipwall.bpf.o"))
        self.env.pop("MAKEFLAGS", None)
        self.env.pop("MAKELEVEL", None)
        seeds_file = os.path.join(scratch, "tests/fuzz/seeds")
        self.seeds = [l.split()[0] for l in open(seeds_file)
                      if l.strip() and not l.startswith("#")]

    def make(self, suites, file=None):
        """Build what the suites run. A change under bpf/ rebuilds only the object: the tests
        load it from the file (VW_TEST_BPF_OBJ) instead of the copy built into them."""
        bins = {"config": "tests/unit/test_config", "xdp": "tests/unit/test_xdp",
                "fuzz": "tests/fuzz/diff"}
        targets = ["%s/%s" % (self.build, bins[s]) for s in suites if s in bins]
        if "bench" in suites:
            targets = ["all"]
        elif file and file.startswith("bpf/"):
            targets = ["%s/voipwall.bpf.o" % self.build]
        return run(["make", "--no-print-directory", "-j%d" % self.args.jobs,
                    "BUILD=" + self.build] + targets,
                   self.scratch, self.log, self.env)

    def suite(self, name):
        """Run one suite; returns (status, seconds, note): status 'pass', 'fail', 'timeout' or
        'noload'. A run that times out proves nothing about the mutant: it is not a failure."""
        b = self.build
        if name == "config":
            cmds = [["%s/tests/unit/test_config" % b]]
        elif name == "xdp":
            cmds = [["%s/tests/unit/test_xdp" % b]]
        elif name == "fuzz":
            cmds = [["%s/tests/fuzz/diff" % b, "--frames", str(self.args.fuzz_frames), "--seed",
                     s, "--max-mismatches", "1", "--pcaps", "tests/data/pcaps"] +
                    (["--regressions", "tests/fuzz/regressions.txt"] if i == 0 else
                     ["--no-regressions"]) for i, s in enumerate(self.seeds)]
        else:
            cmds = [["tests/bench/test_bench_smoke.sh"]]
        total = 0.0
        for cmd in cmds:
            start = os.path.getsize(self.log) if os.path.exists(self.log) else 0
            rc, secs = run(cmd, self.scratch, self.log, dict(self.env, BUILD=b),
                           self.args.timeout)
            total += secs
            with open(self.log) as lf:
                lf.seek(start)
                out = lf.read()
            if "cannot load the XDP program" in out or "loading the XDP object" in out:
                return "noload", total, "the program does not load"
            if "\n(timed out after " in out:
                return "timeout", total, "timed out after %s s" % self.args.timeout
            fails = [l for l in out.splitlines() if l.startswith("FAIL ")]
            if rc != 0 or fails:
                note = fails[0][5:] if fails else "exit status %d" % rc
                if name == "fuzz":
                    note = "seed %s: %s" % (cmd[cmd.index("--seed") + 1], note)
                return "fail", total, note
        return "pass", total, ""


def run_mutant(r, m):
    """Apply m in r's scratch copy, build, run its suites; put the file back.
    Returns (result, suite, note): caught, MISSED, TIMEOUT (a suite ran out of time: not
    caught) or BROKEN."""
    path = os.path.join(r.scratch, m.file)
    with open(path) as f:
        pristine = f.read()
    try:
        with open(path, "w") as f:
            f.write(pristine.replace(m.original, m.replacement, 1))
        with open(r.log, "a") as lf:
            lf.write("\n==== mutant %s (%s): %s\n" % (m.name, m.file, m.what))
        rc, _ = r.make(m.suites, m.file)
        if rc:
            return "BROKEN", "-", "does not build"
        timed_out = None
        for s in m.suites:
            st, _, why = r.suite(s)
            if st == "noload":
                return "BROKEN", s, why
            if st == "timeout":
                timed_out = timed_out or (s, why)
            if st == "fail":
                return "caught", s, why
        if timed_out:
            return ("TIMEOUT",) + timed_out
        return "MISSED", "-", "every suite passed"
    finally:
        with open(path, "w") as f:
            f.write(pristine)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--catalog", default="tests/mutants.txt")
    ap.add_argument("--only", nargs="*", help="names of the mutants to run (default: all)")
    ap.add_argument("--workers", type=int, default=2,
                    help="scratch copies working on mutants side by side (default 2)")
    ap.add_argument("--jobs", type=int, default=2, help="make -j for each build")
    ap.add_argument("--fuzz-frames", type=int, default=int(os.environ.get("FUZZ_FRAMES") or
                                                           4000))
    ap.add_argument("--timeout", type=int, default=600, help="seconds per suite run")
    ap.add_argument("--keep", action="store_true", help="keep the scratch directories")
    ap.add_argument("--no-baseline", action="store_true",
                    help="skip the run of the unchanged tree (faster; for catalog work)")
    ap.add_argument("--check", action="store_true",
                    help="only check that every mutant applies; build and run nothing")
    args = ap.parse_args()

    root = subprocess.run(["git", "rev-parse", "--show-toplevel"], check=True,
                          capture_output=True, text=True).stdout.strip()
    catalog = os.path.join(root, args.catalog) if not os.path.isabs(args.catalog) \
        else args.catalog
    mutants, errors = parse_catalog(catalog)
    for e in errors:
        print("mutate: " + e)
    if errors:
        return 2
    if args.only:
        unknown = set(args.only) - {m.name for m in mutants}
        if unknown:
            print("mutate: no such mutant: " + " ".join(sorted(unknown)))
            return 2
        mutants = [m for m in mutants if m.name in args.only]

    # Does every mutant still apply? (Checked on the working tree, before anything is built.)
    stale = []
    for m in mutants:
        try:
            text = open(os.path.join(root, m.file)).read()
        except OSError as e:
            stale.append((m, "cannot read %s: %s" % (m.file, e.strerror)))
            continue
        n = text.count(m.original)
        if n != 1:
            stale.append((m, "original text found %d times in %s" % (n, m.file)))
    for m, why in stale:
        print("mutate: STALE %s (%s:%d): %s" % (m.name, args.catalog, m.line, why))
    if args.check:
        print("mutate: %d mutants, %d apply, %d stale" % (len(mutants), len(mutants) - len(stale),
                                                          len(stale)))
        return 1 if stale else 0
    if os.geteuid() != 0:
        print("mutate: needs root (the suites run the XDP program with bpf_prog_test_run)")
        return 2

    stale_names = {m.name for m, _ in stale}
    # Mutants of one file in a row: fewer objects to rebuild.
    todo = sorted((m for m in mutants if m.name not in stale_names), key=lambda m: (m.file, m.line))
    nworkers = max(1, min(args.workers, len(todo)))
    all_suites = sorted({s for m in mutants for s in m.suites}, key=SUITE_NAMES.index)
    t_start = time.monotonic()
    runners, rows, failed = [None] * nworkers, {}, []
    lock = threading.Lock()

    def setup(i):
        scratch = tempfile.mkdtemp(prefix="voipwall-mutate.")
        copy_tree(root, scratch)
        r = Runner(args, scratch)
        runners[i] = r
        rc, secs = r.make(all_suites)
        with lock:
            print("mutate: scratch copy %d in %s (log: %s): %s in %.0f s"
                  % (i + 1, scratch, r.log, "built" if not rc else "BUILD FAILED", secs),
                  flush=True)
        if rc:
            failed.append("the unchanged tree does not build")
            return
        if i == 0 and not args.no_baseline:
            for s in all_suites:
                st, secs, note = r.suite(s)
                with lock:
                    print("mutate: unchanged tree, suite %s: %s (%.0f s)%s"
                          % (s, st, secs, " " + note if note else ""), flush=True)
                if st != "pass":
                    failed.append("the unchanged tree fails suite %s" % s)

    def work(i):
        setup(i)
        while not failed:
            with lock:
                if not todo:
                    return
                m = todo.pop(0)
                n = len(rows) + len(todo) + 1
            t0 = time.monotonic()
            result, by, note = run_mutant(runners[i], m)
            secs = time.monotonic() - t0
            with lock:
                rows[m.name] = (m, result, by, note, secs)
                print("mutate: [%d/%d] %-36s %-7s %-6s %4.0f s  %s"
                      % (len(rows), n, m.name, result, by, secs, note[:70]), flush=True)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(nworkers)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        for r in (r for r in runners if r):
            if args.keep:
                print("mutate: kept %s" % r.scratch)
            else:
                shutil.rmtree(r.scratch, ignore_errors=True)
    if failed:
        print("mutate: %s; stopping (the results would mean nothing)" % failed[0])
        return 2

    ordered = [rows[m.name] for m in mutants if m.name in rows]
    caught = sum(1 for row in ordered if row[1] == "caught")
    missed = sum(1 for row in ordered if row[1] == "MISSED")
    broken = sum(1 for row in ordered if row[1] == "BROKEN")
    timeouts = sum(1 for row in ordered if row[1] == "TIMEOUT")
    print()
    print("%-36s %-22s %-7s %-6s %s" % ("mutant", "file", "result", "suite", "what"))
    for m, result, by, note, secs in ordered:
        print("%-36s %-22s %-7s %-6s %s" % (m.name, m.file, result, by, m.what))
    for m, why in stale:
        print("%-36s %-22s %-7s %-6s %s" % (m.name, m.file, "STALE", "-", why))
    print()
    print("mutate: %d mutants: %d caught, %d missed, %d timed out, %d stale, %d broken (%.0f s)"
          % (len(mutants), caught, missed, timeouts, len(stale), broken,
             time.monotonic() - t_start))
    return 1 if missed or timeouts or stale or broken else 0


if __name__ == "__main__":
    sys.exit(main())
