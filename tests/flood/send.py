#!/usr/bin/python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""send.py IFACE DSTMAC SRC DST udp|tcp DPORT COUNT: COUNT frames at once (one sendp)."""
import logging
import sys

logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from scapy.all import Ether, IP, IPv6, TCP, UDP, Raw, sendp  # noqa: E402

iface, mac, src, dst, proto, dport, count = sys.argv[1:8]
l3 = IPv6(src=src, dst=dst) if ":" in src else IP(src=src, dst=dst)
l4 = UDP(sport=40000, dport=int(dport)) if proto == "udp" else TCP(sport=40000, dport=int(dport))
sendp([Ether(dst=mac) / l3 / l4 / Raw(b"x" * 18)] * int(count), iface=iface, verbose=False)
