#!/usr/bin/python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""The verdict of one probe of tests/faults (udpseq.py matrix: N datagrams from each source to
each port), in one process where it took a shell loop and three.

probe.py --before FILE --log FILE --tag TAG --n N --port PORT=CLASS... --names NAME... -- STATS...

STATS is the command that prints `voipwall stats -j`; FILE (--before) its output before the
probe. Frames cross the veth asynchronously: waits (5 s at most) until the counters on wan hold
every datagram of the probe, then (5 s at most) until the listener's log holds as many of them
as the counters say were passed. Prints two lines: the pairs delivered whole, as udpseq.py
signature prints them, and how the counters disagree with them, empty when they agree: each
delivered pair must count +N pass/allowlisted, each other pair +N drop/not_allowlisted, on the
class of its port."""
import argparse
import json
import os
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import udpseq  # noqa: E402
import vwstats  # noqa: E402

DEADLINE = 5


def snapshot(cmd):
    out = subprocess.run(cmd, capture_output=True, text=True)
    try:
        return vwstats.flatten(json.loads(out.stdout))
    except ValueError:
        sys.exit("probe.py: stats -j gave no JSON (exit %d): %.200s" %
                 (out.returncode, out.stderr))


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--before", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--tag", required=True)
    p.add_argument("--n", type=int, default=3)
    p.add_argument("--port", action="append", required=True, metavar="PORT=CLASS")
    p.add_argument("--names", nargs="+", required=True)
    p.add_argument("stats", nargs="+")
    a = p.parse_args()
    ports = [(int(port), cls) for port, _, cls in (x.partition("=") for x in a.port)]
    s0 = vwstats.load_counters(a.before)
    want = a.n * len(ports) * len(a.names)
    end = time.monotonic() + DEADLINE
    while True:
        s1 = snapshot(a.stats)
        counted, passed = vwstats.total(s0, s1, "wan")
        if counted >= want or time.monotonic() > end:
            break
        time.sleep(0.1)
    got = udpseq.tagged(a.log, a.tag)
    end = time.monotonic() + DEADLINE
    while sum(map(len, got.values())) < passed and time.monotonic() < end:
        time.sleep(0.02)
        got = udpseq.tagged(a.log, a.tag)
    sig = udpseq.signature(got, a.tag, a.names, [port for port, _ in ports], a.n)
    expected = {}
    for name in a.names:
        for port, cls in ports:
            key = cls + ("|pass|allowlisted" if "%s:%d" % (name, port) in sig
                         else "|drop|not_allowlisted")
            expected[key] = expected.get(key, 0) + a.n
    print(" ".join(sig) if sig else "-")
    print(";".join(vwstats.check(s0, s1, "wan", expected)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
