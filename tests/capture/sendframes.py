#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Send COUNT copies of one crafted frame out of IFACE through a raw socket, as fast as it goes,
and print how many seconds that took.

    sendframes.py IFACE KIND COUNT SRC DST [SIZE]

KIND: sip (UDP to 5060 carrying an OPTIONS request), rtp (UDP to 10000), mgmt (TCP SYN to 22),
malformed (IPv4 total length past the frame). SIZE pads the frame to that many bytes.
Frames are built by hand (no scapy): the tests time what they send, and importing scapy takes
seconds on a busy machine."""
import os
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from frames import ipv4, raw_socket, tcp_syn, udp  # noqa: E402 (tests/lib/frames.py)


def frame(kind, src, dst, size):
    eth = bytes.fromhex("020000000002" "020000000001" "0800")
    options = (f"OPTIONS sip:100@{dst} SIP/2.0\r\nVia: SIP/2.0/UDP {src}:5099;branch=z9hG4bK1\r\n"
               f"From: <sip:100@{src}>;tag=1\r\nTo: <sip:100@{dst}>\r\nCall-ID: capture-test\r\n"
               "CSeq: 1 OPTIONS\r\nUser-Agent: friendly-scanner\r\nContent-Length: 0\r\n\r\n").encode()
    pad = max(0, size - (14 + 20 + 8 + len(options)))
    if kind == "sip":
        return eth + ipv4(src, dst, 17, udp(src, dst, 5099, 5060, options + b" " * pad))
    if kind == "rtp":
        return eth + ipv4(src, dst, 17, udp(src, dst, 5099, 10000, b"\x80" * 40))
    if kind == "mgmt":
        return eth + ipv4(src, dst, 6, tcp_syn(src, dst, 40000, 22, seq=1, window=65535))
    if kind == "malformed":
        return eth + ipv4(src, dst, 17, udp(src, dst, 5099, 5060, b"x" * 20), tot=1400)
    sys.exit(f"unknown kind {kind}")


def main():
    iface, kind, count, src, dst = sys.argv[1:6]
    size = int(sys.argv[6]) if len(sys.argv) > 6 else 0
    data = frame(kind, src, dst, size)
    s = raw_socket(iface)
    start = time.monotonic()
    for _ in range(int(count)):
        s.send(data)
    print(f"{time.monotonic() - start:.3f}")


if __name__ == "__main__":
    main()
