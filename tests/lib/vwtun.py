#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""A tun device (IFF_TUN, no packet information: frames are bare IP packets) for tests.

  vwtun.py create NAME                      create a persistent tun device NAME
  vwtun.py send NAME SRC DST DPORT COUNT    write COUNT UDP datagrams SRC -> DST:DPORT into it
                                            (IPv4 or IPv6, by the addresses), as if they had
                                            arrived through the tunnel
  vwtun.py listen PORT SECONDS [N]          count UDP datagrams on [::]:PORT (IPv4 and IPv6) for
                                            SECONDS after "ready" (or until N arrived), then
                                            print "SRC COUNT" lines
"""
import fcntl
import ipaddress
import os
import socket
import struct
import sys
import time

TUNSETIFF = 0x400454CA
TUNSETPERSIST = 0x400454CB
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000


def open_tun(name):
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def udp_packet(src, dst, dport, payload):
    s, d = ipaddress.ip_address(src), ipaddress.ip_address(dst)
    ulen = 8 + len(payload)
    if s.version == 4:
        pseudo = s.packed + d.packed + struct.pack("!BBH", 0, 17, ulen)
    else:
        pseudo = s.packed + d.packed + struct.pack("!IxxxB", ulen, 17)
    udp = struct.pack("!HHHH", 40000, dport, ulen, 0) + payload
    c = csum(pseudo + udp) or 0xFFFF
    udp = udp[:6] + struct.pack("!H", c) + udp[8:]
    if s.version == 4:
        hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + ulen, 1, 0, 64, 17, 0, s.packed, d.packed)
        hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
        return hdr + udp
    return struct.pack("!IHBB16s16s", 6 << 28, ulen, 17, 64, s.packed, d.packed) + udp


def main():
    cmd = sys.argv[1]
    if cmd == "create":
        fd = open_tun(sys.argv[2])
        fcntl.ioctl(fd, TUNSETPERSIST, 1)
        os.close(fd)
    elif cmd == "send":
        name, src, dst, dport, count = sys.argv[2:7]
        fd = open_tun(name)
        for i in range(int(count)):
            os.write(fd, udp_packet(src, dst, int(dport), b"OPTIONS sip:x SIP/2.0 %d\r\n\r\n" % i))
        os.close(fd)
    elif cmd == "listen":
        s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        s.bind(("::", int(sys.argv[2])))
        s.settimeout(0.1)
        print("ready", flush=True)
        seen, end = {}, time.time() + float(sys.argv[3])
        enough = int(sys.argv[4]) if len(sys.argv) > 4 else -1
        while time.time() < end and sum(seen.values()) != enough:
            try:
                _, addr = s.recvfrom(2048)
            except socket.timeout:
                continue
            a = addr[0][7:] if addr[0].startswith("::ffff:") else addr[0]
            seen[a] = seen.get(a, 0) + 1
        for a, n in sorted(seen.items()):
            print(a, n)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
