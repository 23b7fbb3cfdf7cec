#!/usr/bin/python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Evasion cases for voipwall, run inside the sender's namespace by test_evasion.sh.

Each case sends crafted frames on IFACE (scapy, layer 2, to the gateway's WAN MAC) from a
non-allowlisted source and, as a control, from an allowlisted one, then checks:
  * the exact counter deltas of `voipwall stats -j` on the WAN interface, per class, verdict
    and reason (each frame states the row it must land in, per docs/datapath.md);
  * delivery: nothing from the non-allowlisted source reaches the gateway's listeners (no UDP
    datagram logged, no SYN-ACK/RST answered), and the control is delivered where the kernel
    stack would deliver that shape (UDP datagram logged, TCP SYN answered by a SYN-ACK).
The block cases (block_cases) send the same shapes from a source in a block set and from
unblocked ones, to classes with policy open and to an allowlisted class (--override-allowlist).
Prints one PASS/FAIL line per case.
"""
import argparse
import json
import os
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import vwstats  # noqa: E402
import quickscapy  # noqa: E402,F401 (tests/lib/quickscapy.py: before any scapy module)

from scapy.config import conf  # noqa: E402

conf.verb = 0
from scapy.layers.inet import IP, TCP, UDP, IPOption_NOP, IPOption_RR  # noqa: E402
from scapy.layers.inet6 import (IPv6, IPv6ExtHdrDestOpt, IPv6ExtHdrFragment,  # noqa: E402
                                IPv6ExtHdrHopByHop, IPv6ExtHdrRouting)
from scapy.layers.l2 import Dot1AD, Dot1Q, Ether  # noqa: E402
from scapy.layers.ppp import PPPoE, PPPoED  # noqa: E402
from scapy.packet import Raw  # noqa: E402
from scapy.sendrecv import AsyncSniffer, sendp  # noqa: E402

A = None  # parsed arguments

SIP = "sip"
MGMT = "mgmt"
NONE = "none"


def row(cls, verdict, reason):
    return "%s|%s|%s" % (cls, verdict, reason)


class Frame:
    """One frame to send and the counter row it must be counted under."""

    def __init__(self, pkt, counted):
        self.pkt = pkt
        self.counted = counted


class Case:
    def __init__(self, name, frames, udp_tokens=(), synack_ports=(), empty_udp=0, bad=(),
                 bad_flows=()):
        self.name = name
        self.frames = frames
        self.udp_tokens = list(udp_tokens)  # must appear in the UDP log (controls)
        self.synack_ports = list(synack_ports)  # TCP source ports that must get a SYN-ACK
        self.empty_udp = empty_udp  # empty datagrams expected from the good source
        self.bad = list(bad)  # source addresses from which nothing may be delivered
        # (source, "udp"|"tcp", gateway port): flows that may be neither delivered nor answered
        self.bad_flows = set(bad_flows)


# ---- frame builders ----------------------------------------------------------------------------

def eth(tags=()):
    """Ethernet to the WAN MAC with VLAN tags: tags is a list of (tpid, vid)."""
    e = Ether(dst=A.wan_mac, src=A.ext_mac)
    layers = e
    for tpid, vid in tags:
        layers = layers / (Dot1AD(vlan=vid) if tpid == 0x88a8 else Dot1Q(vlan=vid))
    return layers


def ip4(src, **kw):
    return IP(src=src, dst=A.gw4, **kw)


def ip6(src):
    return IPv6(src=src, dst=A.gw6)


SPORT = [40000]


def next_sport():
    SPORT[0] += 1
    return SPORT[0]


def udp(dport, token):
    return UDP(sport=next_sport(), dport=dport) / Raw(token.encode())


def tcp(dport, flags, sport=None):
    return TCP(sport=sport or next_sport(), dport=dport, flags=flags, seq=1000)


def l4_bytes(pkt):
    """The L4 bytes (with a correct checksum) of a built IPv4 or IPv6 packet."""
    raw = bytes(pkt)
    if pkt.haslayer(IPv6):
        return raw[40:]
    return raw[(raw[0] & 15) * 4:]


FRAG_ID = [0x3100]


def next_id():
    FRAG_ID[0] += 1
    return FRAG_ID[0]


def frags4(src, l4, proto, cuts, fid=None, first_row=None, later_row=None):
    """IPv4 fragments of the L4 bytes l4, cut at byte offsets cuts (multiples of 8)."""
    fid = fid or next_id()
    bounds = [0] + list(cuts) + [len(l4)]
    out = []
    for i in range(len(bounds) - 1):
        lo, hi = bounds[i], bounds[i + 1]
        mf = "MF" if i < len(bounds) - 2 else 0
        p = eth() / ip4(src, id=fid, flags=mf, frag=lo // 8, proto=proto) / Raw(l4[lo:hi])
        out.append(Frame(p, first_row if i == 0 else later_row))
    return out


def frags6(src, l4, nh, cuts, fid=None, first_row=None, later_row=None):
    fid = fid or next_id()
    bounds = [0] + list(cuts) + [len(l4)]
    out = []
    for i in range(len(bounds) - 1):
        lo, hi = bounds[i], bounds[i + 1]
        m = 1 if i < len(bounds) - 2 else 0
        p = (eth() / ip6(src) / IPv6ExtHdrFragment(nh=nh, offset=lo // 8, m=m, id=fid)
             / Raw(l4[lo:hi]))
        out.append(Frame(p, first_row if i == 0 else later_row))
    return out


# ---- the cases ---------------------------------------------------------------------------------

def verdict_rows(cls, good):
    return row(cls, "pass", "allowlisted") if good else row(cls, "drop", "not_allowlisted")


def shape_cases(name, build, deliver_udp, deliver_tcp):
    """One shape from the bad and the good source, to UDP 5060 (sip) and as a SYN to TCP 22
    (mgmt). build(good, l4) returns the frame around the L4 segment; deliver_udp/deliver_tcp say
    whether the stack delivers the good source's frames (then they must arrive)."""
    frames, tokens, synacks = [], [], []
    for good in (False, True):
        for port, proto, cls in ((5060, "udp", SIP), (22, "tcp", MGMT)):
            token = "%s-%s-%d" % (name, "good" if good else "bad", port)
            if proto == "udp":
                l4 = udp(port, token)
            else:
                l4 = tcp(port, "S")
            pkt = build(good, l4)
            frames.append(Frame(pkt, verdict_rows(cls, good)))
            if good and proto == "udp" and deliver_udp:
                tokens.append(token)
            if good and proto == "tcp" and deliver_tcp:
                synacks.append(l4.sport)
    return Case(name, frames, udp_tokens=tokens, synack_ports=synacks, bad=[A.bad4, A.bad6])


def src4(good):
    return A.good4 if good else A.bad4


def src6(good):
    return A.good6 if good else A.bad6


def build_cases():
    cases = []
    # 802.1Q: VID 0 (priority tag, delivered by the stack) and VID 100 (no VLAN device: the
    # stack drops it, so the control is judged by the counters only).
    cases.append(shape_cases(
        "vlan0", lambda g, l4: eth([(0x8100, 0)]) / ip4(src4(g)) / l4, True, True))
    cases.append(shape_cases(
        "vlan100", lambda g, l4: eth([(0x8100, 100)]) / ip4(src4(g)) / l4, False, False))
    # QinQ: 802.1ad outer, 802.1Q inner; and two 802.1Q tags (VIDs the stack does not deliver).
    cases.append(shape_cases(
        "qinq", lambda g, l4: eth([(0x88a8, 200), (0x8100, 100)]) / ip4(src4(g)) / l4,
        False, False))
    # Both tags with VID 0: the stack strips them and delivers, so the control is delivered.
    cases.append(shape_cases(
        "qinq0-v6", lambda g, l4: eth([(0x88a8, 0), (0x8100, 0)]) / ip6(src6(g)) / l4,
        True, True))
    cases.append(shape_cases(
        "vlan-double-8100", lambda g, l4: eth([(0x8100, 300), (0x8100, 301)]) / ip4(src4(g)) / l4,
        False, False))

    # IPv6 with eight extension headers (hop-by-hop first, as RFC 8200 requires).
    def chain8(g, l4):
        return (eth() / ip6(src6(g)) / IPv6ExtHdrHopByHop() / IPv6ExtHdrDestOpt()
                / IPv6ExtHdrRouting(type=0, segleft=0, addresses=[])
                / IPv6ExtHdrFragment(offset=0, m=0, id=next_id()) / IPv6ExtHdrDestOpt()
                / IPv6ExtHdrDestOpt() / IPv6ExtHdrDestOpt() / IPv6ExtHdrDestOpt() / l4)
    cases.append(shape_cases("ipv6-ext8", chain8, True, True))

    # Eight again, one of them AH (RFC 4302: its length counts 4-byte words, minus 2), built by
    # hand: 24 bytes with a 12-byte ICV. The stack drops AH without an SA: counters only.
    def chain8_ah(g, l4):
        ah = bytes([60, 24 // 4 - 2, 0, 0]) + (0x100).to_bytes(4, "big") + (1).to_bytes(4, "big")
        return (eth() / ip6(src6(g)) / IPv6ExtHdrHopByHop() / IPv6ExtHdrDestOpt()
                / IPv6ExtHdrRouting(type=0, segleft=0, addresses=[]) / IPv6ExtHdrDestOpt(nh=51)
                / Raw(ah + bytes(12)) / IPv6ExtHdrDestOpt() / IPv6ExtHdrDestOpt()
                / IPv6ExtHdrDestOpt() / l4)
    cases.append(shape_cases("ipv6-ext8-ah", chain8_ah, False, False))

    # Thirteen extension headers: over the walk limit (12), malformed for everyone.
    frames = []
    for g in (False, True):
        for port, l4f in ((5060, lambda: udp(5060, "ext13")), (22, lambda: tcp(22, "S"))):
            p = eth() / ip6(src6(g)) / IPv6ExtHdrHopByHop()
            for _ in range(12):
                p = p / IPv6ExtHdrDestOpt()
            frames.append(Frame(p / l4f(), row(NONE, "drop", "malformed")))
    cases.append(Case("ipv6-ext13", frames, bad=[A.bad6, A.good6]))

    # IPv4 options: 4 bytes of NOPs (IHL 6), and Record Route filling IHL 15.
    cases.append(shape_cases(
        "ipv4-opt-nop", lambda g, l4: eth() / ip4(src4(g), options=[IPOption_NOP()] * 4) / l4,
        True, True))
    cases.append(shape_cases(
        "ipv4-opt-rr40",
        lambda g, l4: eth() / ip4(src4(g), options=[IPOption_RR(routers=["0.0.0.0"] * 9),
                                                    IPOption_NOP()]) / l4,
        True, True))

    # Zero-length UDP: no payload (UDP length 8, delivered as an empty datagram to the good
    # source's listener), and a UDP length field of 0 (malformed for everyone).
    frames = []
    for g in (False, True):
        frames.append(Frame(eth() / ip4(src4(g)) / UDP(sport=next_sport(), dport=5060),
                            verdict_rows(SIP, g)))
        frames.append(Frame(eth() / ip6(src6(g)) / UDP(sport=next_sport(), dport=5060),
                            verdict_rows(SIP, g)))
    cases.append(Case("udp-empty", frames, empty_udp=2, bad=[A.bad4, A.bad6]))
    frames = []
    for g in (False, True):
        frames.append(Frame(eth() / ip4(src4(g)) / UDP(sport=next_sport(), dport=5060, len=0)
                            / Raw(b"udp-len0"), row(NONE, "drop", "malformed")))
        # IPv6 UDP length 0: Linux takes the length from the payload length and delivers it,
        # so it is judged by its ports like any other datagram.
        frames.append(Frame(eth() / ip6(src6(g)) / UDP(sport=next_sport(), dport=5060, len=0)
                            / Raw(b"udp-len0"), verdict_rows(SIP, g)))
    cases.append(Case("udp-len0", frames, udp_tokens=["udp-len0"], bad=[A.bad4, A.bad6, A.good4]))

    # TCP with odd flags to 22 (mgmt) and 5060 (sip): SYN+FIN, null, xmas (FIN+PSH+URG).
    # The stack answers none of them, so the good source's control is a plain SYN, answered.
    for fname, flags in (("synfin", "SF"), ("null", ""), ("xmas", "FPU")):
        frames, synacks = [], []
        for g in (False, True):
            for port, cls in ((22, MGMT), (5060, SIP)):
                frames.append(Frame(eth() / ip4(src4(g)) / tcp(port, flags), verdict_rows(cls, g)))
                frames.append(Frame(eth() / ip6(src6(g)) / tcp(port, flags), verdict_rows(cls, g)))
            if g:
                sp = next_sport()
                frames.append(Frame(eth() / ip4(src4(g)) / tcp(22, "S", sp), verdict_rows(MGMT, g)))
                synacks.append(sp)
        cases.append(Case("tcp-" + fname, frames, synack_ports=synacks, bad=[A.bad4, A.bad6]))

    # Tiny first fragments (RFC 1858): UDP with 4 bytes, TCP with 8 (IPv4) or 16 (IPv6) bytes,
    # short of the flags or of the whole header: the first is malformed and remembered, so the
    # rest follows it (drop, reason fragment, class none).
    frames = []
    for g in (False, True):
        # UDP: a first fragment of 4 bytes (ports, no length); offsets count 8 bytes.
        l4 = l4_bytes(ip4(src4(g)) / udp(5060, "tiny-udp4-payload-" + "x" * 16))
        fid = next_id()
        frames.append(Frame(eth() / ip4(src4(g), id=fid, flags="MF", frag=0, proto=17)
                            / Raw(l4[:4]), row(NONE, "drop", "malformed")))
        frames.append(Frame(eth() / ip4(src4(g), id=fid, frag=1, proto=17) / Raw(l4[8:]),
                            row(NONE, "drop", "fragment")))
        l4 = l4_bytes(ip4(src4(g)) / tcp(22, "S") / Raw(b"y" * 16))
        frames += frags4(src4(g), l4, 6, [8], first_row=row(NONE, "drop", "malformed"),
                         later_row=row(NONE, "drop", "fragment"))
        l4 = l4_bytes(ip6(src6(g)) / udp(5060, "tiny-udp6-payload-" + "x" * 16))
        fid = next_id()
        frames.append(Frame(eth() / ip6(src6(g)) / IPv6ExtHdrFragment(nh=17, offset=0, m=1, id=fid)
                            / Raw(l4[:4]), row(NONE, "drop", "malformed")))
        frames.append(Frame(eth() / ip6(src6(g)) / IPv6ExtHdrFragment(nh=17, offset=1, m=0, id=fid)
                            / Raw(l4[8:]), row(NONE, "drop", "fragment")))
        l4 = l4_bytes(ip6(src6(g)) / tcp(22, "S") / Raw(b"y" * 16))
        frames += frags6(src6(g), l4, 6, [16], first_row=row(NONE, "drop", "malformed"),
                         later_row=row(NONE, "drop", "fragment"))
    cases.append(Case("frag-tiny", frames, bad=[A.bad4, A.bad6, A.good4, A.good6]))

    # Ordinary fragments, the control for the fragment cases: the good source's datagrams
    # arrive whole (UDP logged, the fragmented SYN answered), the bad source's do not.
    frames, tokens, synacks = [], [], []
    for g in (False, True):
        tag = "frag-ok-%s" % ("good" if g else "bad")
        first, later = ((row(SIP, "pass", "allowlisted"), row(SIP, "pass", "fragment")) if g else
                        (row(SIP, "drop", "not_allowlisted"), row(SIP, "drop", "fragment")))
        l4 = l4_bytes(ip4(src4(g)) / udp(5060, tag + "-v4 " + "z" * 1200))
        frames += frags4(src4(g), l4, 17, [512, 1024], first_row=first, later_row=later)
        l4 = l4_bytes(ip6(src6(g)) / udp(5060, tag + "-v6 " + "z" * 1200))
        frames += frags6(src6(g), l4, 17, [512, 1024], first_row=first, later_row=later)
        sp = next_sport()
        first_t, later_t = ((row(MGMT, "pass", "allowlisted"), row(MGMT, "pass", "fragment")) if g
                            else (row(MGMT, "drop", "not_allowlisted"),
                                  row(MGMT, "drop", "fragment")))
        l4 = l4_bytes(ip4(src4(g)) / tcp(22, "S", sp) / Raw(b"w" * 40))
        frames += frags4(src4(g), l4, 6, [24], first_row=first_t, later_row=later_t)
        if g:
            tokens += [tag + "-v4", tag + "-v6"]
            synacks.append(sp)
    cases.append(Case("frag-control", frames, udp_tokens=tokens, synack_ports=synacks,
                      bad=[A.bad4, A.bad6]))

    # The smallest first fragment that is not tiny: exactly the 8-byte UDP header. Classified
    # by its port like any first fragment; the good source's datagram arrives whole.
    frames, tokens = [], []
    for g in (False, True):
        tag = "frag-min-%s" % ("good" if g else "bad")
        first, later = ((row(SIP, "pass", "allowlisted"), row(SIP, "pass", "fragment")) if g else
                        (row(SIP, "drop", "not_allowlisted"), row(SIP, "drop", "fragment")))
        l4 = l4_bytes(ip4(src4(g)) / udp(5060, tag + "-v4 " + "m" * 40))
        frames += frags4(src4(g), l4, 17, [8], first_row=first, later_row=later)
        l4 = l4_bytes(ip6(src6(g)) / udp(5060, tag + "-v6 " + "m" * 40))
        frames += frags6(src6(g), l4, 17, [8], first_row=first, later_row=later)
        if g:
            tokens += [tag + "-v4", tag + "-v6"]
    cases.append(Case("frag-min-header", frames, udp_tokens=tokens, bad=[A.bad4, A.bad6]))

    # Overlapping fragments: a first fragment to an unprotected port (passes), then a second
    # "first" fragment of the same datagram rewriting the port to 5060, then the rest; and a
    # later fragment overlapping the UDP header of a first fragment to 5060. The stack discards
    # overlapping datagrams (RFC 5722; Linux for IPv4 too) and keeps the first of two fragments
    # with the same offset and length, so the control is judged by the counters.
    frames = []
    for g in (False, True):
        fid = next_id()
        tag = "ovl-%s" % ("good" if g else "bad")
        data = Raw((tag + "-a " + "q" * 40).encode())
        decoy = l4_bytes(ip4(src4(g)) / UDP(sport=5555, dport=9999) / data)
        real = l4_bytes(ip4(src4(g)) / UDP(sport=5555, dport=5060) / data)
        frames.append(Frame(eth() / ip4(src4(g), id=fid, flags="MF", frag=0, proto=17)
                            / Raw(decoy[:16]), row(NONE, "pass", "unprotected")))
        frames.append(Frame(eth() / ip4(src4(g), id=fid, flags="MF", frag=0, proto=17)
                            / Raw(real[:16]), verdict_rows(SIP, g)))
        frames.append(Frame(eth() / ip4(src4(g), id=fid, frag=2, proto=17) / Raw(real[16:]),
                            row(SIP, "pass" if g else "drop", "fragment")))
        fid = next_id()
        frames.append(Frame(eth() / ip4(src4(g), id=fid, flags="MF", frag=0, proto=17)
                            / Raw(real[:16]), verdict_rows(SIP, g)))
        frames.append(Frame(eth() / ip4(src4(g), id=fid, flags="MF", frag=1, proto=17)
                            / Raw(real[8:24]), row(SIP, "pass" if g else "drop", "fragment")))
        frames.append(Frame(eth() / ip4(src4(g), id=fid, frag=3, proto=17) / Raw(real[24:]),
                            row(SIP, "pass" if g else "drop", "fragment")))
        fid = next_id()
        data = Raw((tag + "-6 " + "q" * 40).encode())
        d6 = l4_bytes(ip6(src6(g)) / UDP(sport=5555, dport=9999) / data)
        r6 = l4_bytes(ip6(src6(g)) / UDP(sport=5555, dport=5060) / data)
        frames.append(Frame(eth() / ip6(src6(g)) / IPv6ExtHdrFragment(nh=17, offset=0, m=1, id=fid)
                            / Raw(d6[:16]), row(NONE, "pass", "unprotected")))
        frames.append(Frame(eth() / ip6(src6(g)) / IPv6ExtHdrFragment(nh=17, offset=0, m=1, id=fid)
                            / Raw(r6[:16]), verdict_rows(SIP, g)))
        frames.append(Frame(eth() / ip6(src6(g)) / IPv6ExtHdrFragment(nh=17, offset=1, m=0, id=fid)
                            / Raw(r6[8:]), row(SIP, "pass" if g else "drop", "fragment")))
    cases.append(Case("frag-overlap", frames, bad=[A.bad4, A.bad6]))
    cases += pppoe_cases()
    cases += block_cases()
    return cases


# ---- PPPoE (RFC 2516) --------------------------------------------------------------------------

def pppoe(tags=(), proto=0x0021, sid=0x1234):
    """A PPPoE session header (its length filled in by scapy) and a two-byte PPP protocol field.
    Written by hand: scapy's PPP layer compresses the field to one byte (RFC 1661 PFC), which
    PPPoE peers do not negotiate and the kernel's PPPoE path does not expand."""
    return eth(tags) / PPPoE(sessionid=sid) / Raw(proto.to_bytes(2, "big"))


def pppoe_cases():
    """Session frames carrying IPv4 and IPv6, bare and behind one or two VLAN tags, judged like
    plain IP; discovery and PPP control protocols pass as non_ip; PPPoE/PPP headers the kernel
    would not turn into the packet they seem to carry are malformed. The gateway has no PPPoE
    session (the kernel has no PPPoE here), so nothing is delivered: counters only."""
    cases = [
        shape_cases("pppoe-v4", lambda g, l4: pppoe() / ip4(src4(g)) / l4, False, False),
        shape_cases("pppoe-v6", lambda g, l4: pppoe(proto=0x0057) / ip6(src6(g)) / l4,
                    False, False),
        shape_cases("pppoe-vlan-v4",
                    lambda g, l4: pppoe([(0x8100, 100)]) / ip4(src4(g)) / l4, False, False),
        shape_cases("pppoe-vlan-v6",
                    lambda g, l4: pppoe([(0x8100, 101)], 0x0057) / ip6(src6(g)) / l4,
                    False, False),
        shape_cases("pppoe-qinq-v4",
                    lambda g, l4: pppoe([(0x88a8, 200), (0x8100, 100)]) / ip4(src4(g)) / l4,
                    False, False),
        shape_cases("pppoe-qinq-v6",
                    lambda g, l4: pppoe([(0x88a8, 200), (0x8100, 101)], 0x0057)
                    / ip6(src6(g)) / l4, False, False),
    ]
    non_ip = row(NONE, "pass", "non_ip")
    # Discovery (EtherType 0x8863): PADI, PADO, PADR, PADS, PADT, bare and tagged.
    frames = [Frame(eth(tags) / PPPoED(code=code, sessionid=0 if code != 0xa7 else 0x1234)
                    / Raw(b"\x01\x01\x00\x00"), non_ip)
              for tags in ((), [(0x8100, 100)])
              for code in (0x09, 0x07, 0x19, 0x65, 0xa7)]
    cases.append(Case("pppoe-discovery", frames, bad=[A.bad4, A.bad6]))
    # PPP control protocols in a session: LCP Configure-Request and Echo-Request, PAP, CHAP,
    # IPCP, IPV6CP; and an IP packet behind a compressed (one-byte) protocol field.
    ctl = [(0xc021, b"\x01\x01\x00\x0a\x05\x06\x12\x34\x56\x78"),
           (0xc021, b"\x09\x02\x00\x08\x12\x34\x56\x78"),
           (0xc023, b"\x01\x01\x00\x06\x00\x00"),
           (0xc223, b"\x01\x01\x00\x04"),
           (0x8021, b"\x01\x01\x00\x0a\x03\x06\xc6\x12\x08\x14"),
           (0x8057, b"\x01\x01\x00\x0e\x01\x0a\x00\x00\x00\x00\x00\x00\x00\x01")]
    frames = [Frame(pppoe(tags, proto) / Raw(body), non_ip)
              for tags in ((), [(0x8100, 100)]) for proto, body in ctl]
    pfc = eth() / PPPoE(sessionid=0x1234) / Raw(b"\x21") / ip4(A.bad4) / udp(5060, "pfc")
    frames.append(Frame(pfc, non_ip))
    cases.append(Case("pppoe-control", frames, bad=[A.bad4, A.bad6]))
    # Malformed: a PPPoE length past the frame, a wrong version/type or code, Van Jacobson
    # compressed TCP/IP (the kernel may turn it into IP the program cannot read).
    mal = row(NONE, "drop", "malformed")
    frames = []
    for tags in ((), [(0x8100, 100)]):
        long_len = pppoe(tags) / ip4(A.bad4) / udp(5060, "long")
        long_len[PPPoE].len = len(bytes(long_len[PPPoE].payload)) + 20
        frames.append(Frame(long_len, mal))
        vt = pppoe(tags) / ip4(A.bad4) / udp(5060, "vt")
        vt[PPPoE].version = 2
        frames.append(Frame(vt, mal))
        code = pppoe(tags) / ip4(A.bad4) / udp(5060, "code")
        code[PPPoE].code = 0x09
        frames.append(Frame(code, mal))
        frames.append(Frame(pppoe(tags, 0x002d) / Raw(b"\x00" * 24), mal))
    cases.append(Case("pppoe-malformed", frames, bad=[A.bad4, A.bad6]))
    return cases


# ---- block sets (docs/flood.md) ----------------------------------------------------------------

PROV = "prov"  # policy open, the block set's entries list it (--class prov)
GUEST = "guest"  # policy open, not listed by the entries: a blocked source passes here


def block_flows_of(family):
    """The flows of the block cases from each kind of source, as (source, protocol, port, row):
    a source in a block set for prov (blk), one in no set and not allowlisted (free), one
    allowlisted and blocked for sip with --override-allowlist (ovr), one allowlisted and blocked
    nowhere (good)."""
    v6 = family == 6
    blk, free = (A.blk6, A.bad6) if v6 else (A.blk4, A.bad4)
    ovr, good = (A.ovr6, A.good6) if v6 else (A.ovr4, A.good4)
    return [
        (blk, "udp", 5070, row(PROV, "drop", "blocklisted")),
        (blk, "tcp", 2222, row(PROV, "drop", "blocklisted")),
        (blk, "udp", 5080, row(GUEST, "pass", "open")),  # a class the entry does not list
        (free, "udp", 5070, row(PROV, "pass", "open")),
        (free, "tcp", 2222, row(PROV, "pass", "open")),
        (ovr, "udp", 5060, row(SIP, "drop", "blocklisted")),
        (ovr, "tcp", 22, row(MGMT, "pass", "allowlisted")),  # override for sip only
        (good, "udp", 5060, row(SIP, "pass", "allowlisted")),
    ]


def block_bad_flows():
    """(source, protocol, gateway port) of the blocked flows: never delivered nor answered."""
    return [(src, proto, port) for family in (4, 6)
            for src, proto, port, r in block_flows_of(family) if r.endswith("blocklisted")]


def l3_of(src):
    return ip6(src) if ":" in src else ip4(src)


def block_shape_case(name, build, families=(4, 6), delivered=False):
    """Every flow of block_flows_of in one shape: build(l3, l4) wraps the L3 header and the L4
    segment. What a blocked source sends to a class its entry lists is dropped as blocklisted;
    everything else keeps the verdict it has without block sets (the same frames from an
    unblocked source pass as open) and, where the stack delivers the shape, arrives."""
    frames, tokens, synacks = [], [], []
    for family in families:
        for src, proto, port, r in block_flows_of(family):
            token = "%s-%s-%d" % (name, src, port)
            l4 = udp(port, token) if proto == "udp" else tcp(port, "S")
            frames.append(Frame(build(l3_of(src), l4), r))
            if delivered and not r.endswith("blocklisted"):
                if proto == "udp":
                    tokens.append(token)
                else:
                    synacks.append(l4.sport)
    return Case(name, frames, udp_tokens=tokens, synack_ports=synacks,
                bad_flows=block_bad_flows())


def block_frag_case(name, reorder):
    """The UDP flows of block_flows_of as datagrams cut in three fragments, in order, or with the
    last fragment sent first: it passes as fragment_unknown (no first fragment judged yet), and
    the datagram is whole, so delivered, only when its first fragment passes. Later fragments
    carry the first fragment's verdict and class, reason fragment."""
    frames, tokens = [], []
    for family in (4, 6):
        for src, proto, port, r in block_flows_of(family):
            if proto != "udp":
                continue
            token = "%s-%s-%d" % (name, src, port)
            cls, verdict, _ = r.split("|")
            l4 = l4_bytes(l3_of(src) / udp(port, token + " " + "f" * 64))
            cut = frags6 if family == 6 else frags4
            parts = cut(src, l4, 17, [16, 48], first_row=r, later_row=row(cls, verdict, "fragment"))
            if reorder:
                parts[2].counted = row(NONE, "pass", "fragment_unknown")
                parts = [parts[2], parts[0], parts[1]]
            frames += parts
            if verdict == "pass":
                tokens.append(token)
    return Case(name, frames, udp_tokens=tokens, bad_flows=block_bad_flows())


def block_cases():
    """A source in a block set of an open class (prov), and an allowlisted source blocked for sip
    with --override-allowlist, through every encapsulation the parser takes: untagged, 802.1Q,
    QinQ, PPPoE bare and tagged, IPv6 extension chains, fragments in and out of order."""
    def pp(tags):
        return lambda l3, l4: pppoe(tags, 0x0057 if l3.haslayer(IPv6) else 0x0021) / l3 / l4

    def ext(l3, l4):
        return (eth() / l3 / IPv6ExtHdrHopByHop() / IPv6ExtHdrDestOpt()
                / IPv6ExtHdrRouting(type=0, segleft=0, addresses=[]) / IPv6ExtHdrDestOpt() / l4)
    return [
        block_shape_case("block-untagged", lambda l3, l4: eth() / l3 / l4, delivered=True),
        block_shape_case("block-vlan", lambda l3, l4: eth([(0x8100, 100)]) / l3 / l4),
        block_shape_case("block-qinq",
                         lambda l3, l4: eth([(0x88a8, 200), (0x8100, 100)]) / l3 / l4),
        block_shape_case("block-pppoe", pp(())),
        block_shape_case("block-pppoe-vlan", pp([(0x8100, 100)])),
        block_shape_case("block-ipv6-ext", ext, families=(6,), delivered=True),
        block_frag_case("block-frag", False),
        block_frag_case("block-frag-reorder", True),
    ]


# ---- running and judging -----------------------------------------------------------------------

def snapshot():
    out = subprocess.run(A.stats_cmd, shell=True, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError("stats failed (%d): %s" % (out.returncode, out.stderr.strip()[:300]))
    return vwstats.flatten(json.loads(out.stdout))


def read_log():
    rows = []
    try:
        with open(A.rx_log) as f:
            for line in f:
                parts = line.rstrip("\n").split(" ", 2)
                if len(parts) >= 2:
                    rows.append((parts[0], parts[1], parts[2] if len(parts) > 2 else ""))
    except FileNotFoundError:
        pass
    return rows


def run_case(case):
    problems = []
    log0 = len(read_log())
    s0 = snapshot()
    started = threading.Event()
    sniffer = AsyncSniffer(iface=A.iface, store=True, started_callback=started.set,
                           lfilter=lambda p: p.haslayer(Ether) and p[Ether].src == A.wan_mac)
    sniffer.start()
    if not started.wait(5):  # its socket is open: it sees every answer from here on
        problems.append("the sniffer did not start within 5 s")
    sendp([f.pkt for f in case.frames], iface=A.iface)
    time.sleep(0.5)
    replies = sniffer.stop() or []
    s1 = snapshot()
    new = read_log()[log0:]

    expected = {}
    exp_bytes = {}
    for f in case.frames:
        expected[f.counted] = expected.get(f.counted, 0) + 1
        exp_bytes[f.counted] = exp_bytes.get(f.counted, 0) + len(bytes(f.pkt))
    problems += vwstats.check(s0, s1, "wan", expected)
    d = vwstats.deltas(s0, s1)
    for k, n in exp_bytes.items():
        got = d.get("wan|" + k, [0, 0])[1]
        if got != n:
            problems.append("%s: expected +%d bytes, got +%d" % (k, n, got))

    for src, port, payload in new:
        flow = (src, "tcp", int(port[4:])) if port.startswith("tcp:") else (src, "udp", int(port))
        if src in case.bad or flow in case.bad_flows:
            problems.append("delivered from %s to %s: %r" % (src, port, payload[:40]))
    got_tokens = {p.split(" ")[0] for _, _, p in new}
    for t in case.udp_tokens:
        if t not in got_tokens:
            problems.append("control %s not delivered" % t)
    empty = sum(1 for src, port, p in new if p == "" and src in (A.good4, A.good6))
    if empty != case.empty_udp:
        problems.append("%d empty datagrams from the good source, want %d"
                        % (empty, case.empty_udp))
    # The gateway retransmits SYN-ACKs of earlier cases' half-open connections: judge only
    # answers to this case's own TCP source ports.
    ours = {f.pkt[TCP].sport for f in case.frames if f.pkt.haslayer(TCP)}
    ours |= {int.from_bytes(bytes(f.pkt[Raw])[:2], "big") for f in case.frames
             if f.pkt.haslayer(Raw) and not f.pkt.haslayer(TCP) and not f.pkt.haslayer(UDP)
             and len(bytes(f.pkt[Raw])) >= 2}
    answered = set()
    for p in replies:
        if p.haslayer(TCP) and p[TCP].dport in ours:
            dst = p[IPv6].dst if p.haslayer(IPv6) else p[IP].dst if p.haslayer(IP) else None
            if dst in case.bad or (dst, "tcp", p[TCP].sport) in case.bad_flows:
                problems.append("TCP %s answered to %s:%d" % (p[TCP].flags, dst, p[TCP].dport))
            if str(p[TCP].flags) == "SA":
                answered.add(p[TCP].dport)
    for sp in case.synack_ports:
        if sp not in answered:
            problems.append("control SYN from port %d not answered" % sp)
    return problems


def main():
    global A
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--iface", required=True)
    ap.add_argument("--wan-mac", required=True)
    ap.add_argument("--ext-mac", required=True)
    ap.add_argument("--gw4", required=True)
    ap.add_argument("--gw6", required=True)
    ap.add_argument("--good4", required=True)
    ap.add_argument("--bad4", required=True)
    ap.add_argument("--good6", required=True)
    ap.add_argument("--bad6", required=True)
    ap.add_argument("--blk4", required=True, help="in a block set for class prov")
    ap.add_argument("--blk6", required=True)
    ap.add_argument("--ovr4", required=True, help="allowlisted, blocked for sip with override")
    ap.add_argument("--ovr6", required=True)
    ap.add_argument("--rx-log", required=True)
    ap.add_argument("--stats-cmd", required=True, help="shell command printing stats -j")
    ap.add_argument("--only", help="run only cases whose name contains this")
    A = ap.parse_args()
    for case in build_cases():
        if A.only and A.only not in case.name:
            continue
        name = "evasion-" + case.name
        try:
            problems = run_case(case)
        except Exception as e:  # a broken case must not hide the others
            problems = ["%s: %s" % (type(e).__name__, e)]
        if problems:
            print("FAIL %s: %s" % (name, "; ".join(problems)))
        else:
            print("PASS %s" % name)
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
