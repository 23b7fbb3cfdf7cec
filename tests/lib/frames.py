#!/usr/bin/python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Ethernet frames built by hand and sent through a raw socket: the plain UDP datagrams and TCP
SYNs over IPv4 and IPv6 that the suites send most often. No scapy: importing it costs seconds of
CPU per process (it reads Wireshark's vendor table and loads every layer), paid at every send.

    frames.py IFACE DSTMAC SPEC...

SPEC is src,dst,udp|tcp,dport,count: COUNT frames from SRC (source port 40000) to DST:DPORT with
18 bytes of payload, so an IPv4 UDP frame is 60 bytes, an IPv6 one 80, an IPv4 TCP SYN 72 and an
IPv6 one 92 (scapy's Ether()/IP()/UDP()/Raw(b"x" * 18), TCP with flags S). The source MAC is the
interface's own; the frames leave in the order given."""
import socket
import struct
import sys


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def addr(a):
    """(family, packed bytes) of an IPv4 or IPv6 address."""
    fam = socket.AF_INET6 if ":" in a else socket.AF_INET
    return fam, socket.inet_pton(fam, a)


def pseudo(src, dst, proto, length):
    """The pseudo-header of the UDP and TCP checksums (RFC 768, RFC 8200 section 8.1)."""
    fam, s = addr(src)
    d = addr(dst)[1]
    if fam == socket.AF_INET6:
        return s + d + struct.pack("!IxxxB", length, proto)
    return s + d + struct.pack("!BBH", 0, proto, length)


def ipv4(src, dst, proto, l4, tot=None):
    tot = 20 + len(l4) if tot is None else tot
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, tot, 1, 0, 64, proto, 0, addr(src)[1], addr(dst)[1])
    return h[:10] + struct.pack("!H", csum(h)) + h[12:] + l4


def ipv6(src, dst, nh, l4):
    return struct.pack("!IHBB16s16s", 6 << 28, len(l4), nh, 64, addr(src)[1], addr(dst)[1]) + l4


def ip(src, dst, proto, l4):
    """The IPv4 or IPv6 packet (by the source's family) carrying L4 segment l4."""
    return ipv6(src, dst, proto, l4) if ":" in src else ipv4(src, dst, proto, l4)


def udp(src, dst, sport, dport, payload):
    hdr = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0)
    c = csum(pseudo(src, dst, 17, 8 + len(payload)) + hdr + payload) or 0xFFFF
    return hdr[:6] + struct.pack("!H", c) + payload


def tcp_syn(src, dst, sport, dport, payload=b"", seq=0, window=8192):
    hdr = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, 5 << 4, 0x02, window, 0, 0)
    c = csum(pseudo(src, dst, 6, len(hdr) + len(payload)) + hdr + payload)
    return hdr[:16] + struct.pack("!H", c) + hdr[18:] + payload


def ether(dst, src, ethertype):
    return bytes.fromhex(dst.replace(":", "")) + bytes.fromhex(src.replace(":", "")) + \
        struct.pack("!H", ethertype)


def spec_frames(iface_mac, dst_mac, spec):
    """The frames of one SPEC (see the module's text)."""
    src, dst, proto, dport, count = spec.split(",")
    payload = b"x" * 18
    if proto == "udp":
        l4, num = udp(src, dst, 40000, int(dport), payload), 17
    elif proto == "tcp":
        l4, num = tcp_syn(src, dst, 40000, int(dport), payload), 6
    else:
        sys.exit(f"frames.py: unknown protocol '{proto}' in '{spec}'")
    eth = ether(dst_mac, iface_mac, 0x86DD if ":" in src else 0x0800)
    return [eth + ip(src, dst, num, l4)] * int(count)


def raw_socket(iface):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    return s


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    iface, dst_mac = sys.argv[1:3]
    with open(f"/sys/class/net/{iface}/address") as f:
        iface_mac = f.read().strip()
    frames = [fr for spec in sys.argv[3:] for fr in spec_frames(iface_mac, dst_mac, spec)]
    s = raw_socket(iface)
    for fr in frames:
        s.send(fr)


if __name__ == "__main__":
    main()
