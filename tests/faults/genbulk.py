#!/usr/bin/python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Large allowlists for the fault tests, inside the documentation ranges only.

config CLASS N   N "allow CLASS PREFIX" lines: the 65,536 hosts of 198.19.0.0/16 first, then
                 IPv6 /64 networks under 2001:db8:8000::/33 (at most 2^31 in all)
prefixes N       N IPv6 hosts under 2001:db8:4000::/34, one a line (for allow add arguments)
"""
import sys


def v4_hosts():
    for i in range(1 << 16):
        yield "198.19.%d.%d" % (i >> 8, i & 255)


def v6_nets():
    for i in range(1 << 31):
        yield "2001:db8:%x:%x::/64" % (0x8000 | (i >> 16), i & 0xffff)


def main(argv):
    out = sys.stdout
    if len(argv) == 3 and argv[0] == "config":
        cls, n = argv[1], int(argv[2])
        done = 0
        for gen in (v4_hosts(), v6_nets()):
            for p in gen:
                if done == n:
                    return 0
                out.write("allow %s %s\n" % (cls, p))
                done += 1
        return 0
    if len(argv) == 2 and argv[0] == "prefixes":
        n = int(argv[1])
        for i in range(n):
            out.write("2001:db8:%x:%x::%x\n" % (0x4000 | (i >> 32), (i >> 16) & 0xffff,
                                                 i & 0xffff))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
