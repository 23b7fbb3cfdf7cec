#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Send COUNT copies of one crafted frame out of IFACE through a raw socket, as fast as it goes,
and print how many seconds that took.

    sendframes.py IFACE KIND COUNT SRC DST [SIZE]

KIND: sip (UDP to 5060 carrying an OPTIONS request), rtp (UDP to 10000), mgmt (TCP SYN to 22),
malformed (IPv4 total length past the frame). SIZE pads the frame to that many bytes.
Frames are built by hand (no scapy): the tests time what they send, and importing scapy takes
seconds on a busy machine."""
import socket
import struct
import sys
import time


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ipv4(src, dst, proto, l4, tot=None):
    tot = 20 + len(l4) if tot is None else tot
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, tot, 1, 0, 64, proto, 0, socket.inet_aton(src),
                    socket.inet_aton(dst))
    return h[:10] + struct.pack("!H", csum(h)) + h[12:] + l4


def udp(src, dst, sport, dport, payload):
    hdr = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0)
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 17, 8 + len(payload))
    c = csum(pseudo + hdr + payload) or 0xFFFF
    return hdr[:6] + struct.pack("!H", c) + payload


def tcp_syn(src, dst, sport, dport):
    hdr = struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 5 << 4, 0x02, 65535, 0, 0)
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 6, len(hdr))
    return hdr[:16] + struct.pack("!H", csum(pseudo + hdr)) + hdr[18:]


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
        return eth + ipv4(src, dst, 6, tcp_syn(src, dst, 40000, 22))
    if kind == "malformed":
        return eth + ipv4(src, dst, 17, udp(src, dst, 5099, 5060, b"x" * 20), tot=1400)
    sys.exit(f"unknown kind {kind}")


def main():
    iface, kind, count, src, dst = sys.argv[1:6]
    size = int(sys.argv[6]) if len(sys.argv) > 6 else 0
    data = frame(kind, src, dst, size)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    start = time.monotonic()
    for _ in range(int(count)):
        s.send(data)
    print(f"{time.monotonic() - start:.3f}")


if __name__ == "__main__":
    main()
