#!/usr/bin/python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Helpers for tests/integration/test_e2e.sh and scripts/demo.sh (run with Debian's python3).

prom FILE                       voipwall_packets_total/voipwall_bytes_total lines of a
                                `voipwall stats --prometheus` output, as JSON
                                {"iface|class|verdict|reason": [packets, bytes]}
json FILE                       the counters of a `voipwall -j stats` output, in the same JSON form
want FILE                       the expected counts of a replay (its OUT) as KEY=PACKETS:BYTES lines
delta A B                       B - A of two such JSON files, non-zero entries only, as JSON
expect A B IFACE EXACT... [--at-least KEY=N...] [--noise]
                                compare the deltas B - A (files of prom's JSON form, or the
                                Prometheus text itself) on IFACE with KEY=N ("class|verdict|reason",
                                N packets, or N:BYTES); every other key must not move unless --noise
                                (class none, pass non_ip/unprotected: ARP, neighbour discovery)
udp-send SRC DST PORT COUNT SIZE
                                send COUNT datagrams of SIZE bytes from SRC (address) to DST:PORT
udp-recv ADDR PORT OUT          receive datagrams, append "<length>" per datagram to OUT
invite SRC DST PORT SIZE        send one SIP INVITE of SIZE bytes in one UDP datagram (fragmented by
                                the kernel above the path MTU)
tcp-probe SRC DST PORT TIMEOUT  exit 0 when a TCP connection from SRC to DST:PORT is accepted and
                                the listener's greeting arrives, 1 otherwise
tcp-probes TIMEOUT NAME,SRC,DST,PORT...
                                those probes at once, one line each: "NAME SRC DST PORT open|closed"
craft IFACE SMAC DMAC TAGS PROTO SRC DST DPORT COUNT
                                send COUNT crafted frames on IFACE: TAGS is "none", "vlan" (802.1Q)
                                or "qinq" (802.1ad + 802.1Q), PROTO udp, tcp (SYN) or sctp (INIT);
                                prints the frame length
replay PCAP CONF IFACE SMAC DMAC SRC4 SRC6 DST4 DST6 OUT
                                rewrite the capture's frames to the given MACs and addresses, send
                                them on IFACE, and write to OUT the counts that voipwall must show
                                for them (computed from the capture and the config, per
                                "class|verdict|reason": [packets, bytes])
"""
import ipaddress
import json
import re
import socket
import sys
import time
import os

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import vwstats  # noqa: E402  (tests/lib/vwstats.py: stats documents and their deltas)

PROM_RE = re.compile(r'^voipwall_(packets|bytes)_total\{([^}]*)\}\s+([0-9]+)\s*$')
LABEL_RE = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')
NOISE = {("none", "pass", "non_ip"), ("none", "pass", "unprotected")}


def die(msg):
    print("vwe2e: " + msg, file=sys.stderr)
    sys.exit(2)


# ---- counters ------------------------------------------------------------------------------
def prom_parse(text):
    out = {}
    for line in text.splitlines():
        m = PROM_RE.match(line)
        if not m:
            continue
        labels = dict(LABEL_RE.findall(m.group(2)))
        try:
            key = "|".join((labels["interface"], labels["class"], labels["verdict"],
                            labels["reason"]))
        except KeyError as e:
            die("prometheus line without label %s: %s" % (e, line))
        row = out.setdefault(key, [0, 0])
        row[0 if m.group(1) == "packets" else 1] += int(m.group(3))
    return out


def json_parse(doc):
    """{"counters": [{"interface", "class", "verdict", "reason", "packets", "bytes"}...]}"""
    out = {}
    for row in doc.get("counters", []):
        key = "|".join((row["interface"], row["class"], row["verdict"], row["reason"]))
        old = out.setdefault(key, [0, 0])
        old[0] += row["packets"]
        old[1] += row["bytes"]
    return out


def parse_expect(item):
    key, _, val = item.rpartition("=")
    if not key or key.count("|") != 2:
        die("expected class|verdict|reason=N, got " + item)
    pk, _, by = val.partition(":")
    return key, int(pk), (int(by) if by else None)


def load_counters(path):
    """A flat JSON file (see prom), or `voipwall stats --prometheus` output as it is."""
    with open(path) as f:
        text = f.read()
    return json.loads(text) if text.lstrip().startswith("{") else prom_parse(text)


def cmd_expect(args):
    if len(args) < 3:
        die("expect A B IFACE [KEY=N...] [--at-least KEY=N...] [--noise]")
    a, b, iface = load_counters(args[0]), load_counters(args[1]), args[2]
    exact, atleast, noise, mode = {}, {}, False, "exact"
    for item in args[3:]:
        if item == "--noise":
            noise = True
        elif item == "--at-least":
            mode = "atleast"
        else:
            key, pk, by = parse_expect(item)
            (exact if mode == "exact" else atleast)[key] = (pk, by)
    d = {}
    for k, v in vwstats.deltas(a, b).items():
        i, rest = k.split("|", 1)
        if i == iface:
            d[rest] = v
    bad = []
    for k, (pk, by) in exact.items():
        got = d.get(k, [0, 0])
        if got[0] != pk or (by is not None and got[1] != by):
            bad.append("%s: %d packets/%d bytes, expected %d%s" %
                       (k, got[0], got[1], pk, "" if by is None else "/%d bytes" % by))
    for k, (pk, _) in atleast.items():
        got = d.get(k, [0, 0])
        if got[0] < pk:
            bad.append("%s: %d packets, expected at least %d" % (k, got[0], pk))
    for k, v in d.items():
        if k in exact or k in atleast:
            continue
        if noise and tuple(k.split("|")) in NOISE:
            continue
        bad.append("%s: moved by %d packets, expected no change" % (k, v[0]))
    if bad:
        print("; ".join(sorted(bad)))
        return 1
    return 0


# ---- sockets -------------------------------------------------------------------------------
def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def cmd_udp_send(args):
    src, dst, port, count, size = args[0], args[1], int(args[2]), int(args[3]), int(args[4])
    s = socket.socket(family(dst), socket.SOCK_DGRAM)
    s.bind((src, 0))
    for i in range(count):
        payload = ("%08d" % i).encode().ljust(size, b".")
        s.sendto(payload, (dst, port))
        # Pace a little so no receive queue on the way overflows.
        if i % 32 == 31:
            time.sleep(0.005)
    s.close()
    return 0


def cmd_udp_recv(args):
    addr, port, out = args[0], int(args[1]), args[2]
    s = socket.socket(family(addr), socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
    s.bind((addr, port))
    # OUT appears once the socket is bound: the caller waits for it before sending.
    with open(out, "a") as f:
        while True:
            data = s.recv(65536)
            f.write("%d\n" % len(data))
            f.flush()


def sip_invite(src, dst, port, size):
    host = "[%s]" % dst if ":" in dst else dst
    shost = "[%s]" % src if ":" in src else src
    body = "v=0\r\no=pbx 1 1 IN IP%s %s\r\ns=-\r\nc=IN IP%s %s\r\nt=0 0\r\n" \
        "m=audio 10000 RTP/AVP 0 8 101\r\n" % ("6" if ":" in src else "4", src,
                                               "6" if ":" in src else "4", src)
    head = ("INVITE sip:100@%s:%d SIP/2.0\r\n"
            "Via: SIP/2.0/UDP %s:5070;branch=z9hG4bK-e2e-big\r\n"
            "From: <sip:pbx@%s>;tag=e2e\r\nTo: <sip:100@%s>\r\n"
            "Call-ID: big-invite@%s\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\n"
            "Contact: <sip:pbx@%s:5070>\r\nContent-Type: application/sdp\r\n" %
            (host, port, shost, shost, host, shost, shost))
    # Pad with attribute lines (a=...) until the message has exactly the size asked for.
    fixed = len(head) + len("Content-Length: 00000\r\n\r\n") + len(body)
    pad = size - fixed
    lines = []
    while pad > 0:
        n = min(pad, 200)
        if n < 5:
            lines[-1] = lines[-1][:-2] + "x" * n + "\r\n"
            break
        lines.append("a=x" + "x" * (n - 5) + "\r\n")
        pad -= n
    body += "".join(lines)
    msg = head + "Content-Length: %05d\r\n\r\n" % len(body) + body
    return msg.encode()


def cmd_invite(args):
    src, dst, port, size = args[0], args[1], int(args[2]), int(args[3])
    msg = sip_invite(src, dst, port, size)
    if len(msg) != size:
        die("INVITE built with %d bytes instead of %d" % (len(msg), size))
    s = socket.socket(family(dst), socket.SOCK_DGRAM)
    s.bind((src, 5070))
    # Let the kernel fragment at the path MTU instead of refusing (IPv4 PMTU discovery sets DF).
    if family(dst) == socket.AF_INET:
        s.setsockopt(socket.IPPROTO_IP, getattr(socket, "IP_MTU_DISCOVER", 10),
                     getattr(socket, "IP_PMTUDISC_DONT", 0))
    s.sendto(msg, (dst, port))
    s.close()
    return 0


def tcp_probe(src, dst, port, timeout):
    """True when a connection from src to dst:port is accepted and the greeting arrives."""
    s = socket.socket(family(dst), socket.SOCK_STREAM)
    s.bind((src, 0))
    s.settimeout(timeout)
    try:
        s.connect((dst, port))
        return bool(s.recv(64))
    except OSError:
        return False
    finally:
        s.close()


def cmd_tcp_probe(args):
    return 0 if tcp_probe(args[0], args[1], int(args[2]), float(args[3])) else 1


def cmd_tcp_probes(args):
    import threading
    timeout, results = float(args[0]), {}

    def one(spec):
        name, src, dst, port = spec.split(",")
        results[spec] = "%s %s %s %s %s" % (name, src, dst, port, "open" if tcp_probe(
            src, dst, int(port), timeout) else "closed")
    threads = [threading.Thread(target=one, args=(spec,)) for spec in args[1:]]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for spec in args[1:]:
        print(results[spec])
    return 0


# ---- pcap replay ---------------------------------------------------------------------------
def parse_conf(path):
    """The classes and allow rules of a voipwall config (the subset the tests use: class, allow,
    policy, comments). Returns ({(l4, port): (class, monitor)}, {class: [networks]})."""
    ports, allow, monitor = {}, {}, set()
    with open(path) as f:
        for raw in f:
            words = raw.split("#", 1)[0].split()
            if not words:
                continue
            if words[0] == "class":
                name, rest = words[1], words[2:]
                if "policy" in rest:
                    i = rest.index("policy")
                    if rest[i + 1] == "monitor":
                        monitor.add(name)
                    rest = rest[:i] + rest[i + 2:]
                for spec in rest:
                    rng, _, proto = spec.partition("/")
                    lo, _, hi = rng.partition("-")
                    for p in range(int(lo), int(hi or lo) + 1):
                        ports[(proto, p)] = name
                allow.setdefault(name, [])
            elif words[0] == "allow":
                for cls in words[1].split(","):
                    allow.setdefault(cls, []).extend(
                        ipaddress.ip_network(p) for p in words[2:])
            else:
                die("%s: statement %s not understood by the replay model" % (path, words[0]))
    return {k: (v, v in monitor) for k, v in ports.items()}, allow


def model(frame, ports, allow, frags):
    """(class, verdict, reason) per docs/datapath.md for the well-formed frames of a capture."""
    import struct
    if len(frame) < 14:
        return ("none", "drop", "malformed")
    off, etype, tags = 14, struct.unpack("!H", frame[12:14])[0], 0
    while etype in (0x8100, 0x88a8):
        if tags == 2 or len(frame) < off + 4:
            return ("none", "drop", "malformed")
        etype = struct.unpack("!H", frame[off + 2:off + 4])[0]
        off, tags = off + 4, tags + 1
    ip = frame[off:]
    if etype == 0x0800:
        if len(ip) < 20 or ip[0] >> 4 != 4:
            return ("none", "drop", "malformed")
        ihl = (ip[0] & 15) * 4
        tot = struct.unpack("!H", ip[2:4])[0]
        if ihl < 20 or ihl > len(ip) or tot < ihl or tot > len(ip):
            return ("none", "drop", "malformed")
        fo = struct.unpack("!H", ip[6:8])[0]
        proto, src = ip[9], ipaddress.ip_address(ip[12:16])
        key = (4, proto, ip[4:6], ip[12:20])
        l4, first, later = ip[ihl:tot], (fo & 0x2000) and not (fo & 0x1fff), fo & 0x1fff
    elif etype == 0x86DD:
        if len(ip) < 40 or ip[0] >> 4 != 6:
            return ("none", "drop", "malformed")
        plen = struct.unpack("!H", ip[4:6])[0]
        if 40 + plen > len(ip):
            return ("none", "drop", "malformed")
        nh, p, src, first, later, key = ip[6], 40, ipaddress.ip_address(ip[8:24]), False, 0, None
        while nh in (0, 43, 60, 135, 139, 140, 51, 44):
            if p + 8 > 40 + plen:
                return ("none", "drop", "malformed")
            if nh == 44:
                fo = struct.unpack("!H", ip[p + 2:p + 4])[0]
                key = (6, ip[p], ip[p + 4:p + 8], ip[8:40])
                if fo >> 3:
                    later = 1
                    break
                first = bool(fo & 1)
                length = 8
            elif nh == 51:
                length = (ip[p + 1] + 2) * 4
            else:
                length = (ip[p + 1] + 1) * 8
            nh, p = ip[p], p + length
        proto, l4 = nh, ip[p:40 + plen]
    else:
        return ("none", "pass", "non_ip")
    if later:
        hit = frags.get(key)
        return (hit[0], hit[1], "fragment") if hit else ("none", "pass", "fragment_unknown")
    if proto not in (6, 17, 132):
        res = ("none", "pass", "unprotected")
    else:
        need = {17: 8, 6: 20, 132: 12}[proto]
        if len(l4) < need:
            res = ("none", "drop", "malformed")
        else:
            dport = struct.unpack("!H", l4[2:4])[0]
            hit = ports.get(({17: "udp", 6: "tcp", 132: "sctp"}[proto], dport))
            if not hit:
                res = ("none", "pass", "unprotected")
            elif any(src in n for n in allow.get(hit[0], []) if n.version == src.version):
                res = (hit[0], "pass", "allowlisted")
            else:
                res = (hit[0], "monitor" if hit[1] else "drop", "not_allowlisted")
    if first:
        frags[key] = res
    return res


def cmd_replay(args):
    import quickscapy  # noqa: F401 (tests/lib/quickscapy.py: before any scapy module)
    from scapy.config import conf
    from scapy.layers.inet import IP, TCP, UDP
    from scapy.layers.inet6 import IPv6
    from scapy.layers.l2 import Ether
    from scapy.utils import rdpcap
    conf.verb = 0
    pcap, confpath, iface, smac, dmac, src4, src6, dst4, dst6, out = args
    ports, allow = parse_conf(confpath)
    frames, expected, frags = [], {}, {}
    for pkt in rdpcap(pcap):
        if not isinstance(pkt, Ether):
            die("%s: not an Ethernet capture" % pcap)
        pkt = pkt.copy()
        pkt.src, pkt.dst = smac, dmac
        if IP in pkt:
            pkt[IP].src, pkt[IP].dst = src4, dst4
            del pkt[IP].chksum
            whole = not (pkt[IP].flags.MF or pkt[IP].frag)
        elif IPv6 in pkt:
            pkt[IPv6].src, pkt[IPv6].dst = src6, dst6
            whole = True
        else:
            whole = False
        # Fresh L4 checksums where the whole datagram is in the frame (not for fragments).
        if whole:
            for layer in (TCP, UDP):
                if layer in pkt:
                    del pkt[layer].chksum
        raw = bytes(pkt)
        frames.append(raw)
        res = "|".join(model(raw, ports, allow, frags))
        row = expected.setdefault(res, [0, 0])
        row[0] += 1
        row[1] += len(raw)
    with open(out, "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)
    s = conf.L2socket(iface=iface)
    for i, raw in enumerate(frames):
        s.send(raw)
        if i % 64 == 63:
            time.sleep(0.002)
    s.close()
    return 0


def cmd_craft(args):
    import quickscapy  # noqa: F401 (tests/lib/quickscapy.py: before any scapy module)
    from scapy.config import conf
    from scapy.layers.inet import IP, TCP, UDP
    from scapy.layers.inet6 import IPv6
    from scapy.layers.l2 import Dot1AD, Dot1Q, Ether
    from scapy.layers.sctp import SCTP, SCTPChunkInit
    from scapy.packet import Raw
    conf.verb = 0
    iface, smac, dmac, tags, proto, src, dst, dport, count = args
    dport, count = int(dport), int(count)
    l2 = Ether(src=smac, dst=dmac)
    if tags == "vlan":
        l2 = l2 / Dot1Q(vlan=100)
    elif tags == "qinq":
        l2 = l2 / Dot1AD(vlan=200) / Dot1Q(vlan=100)
    elif tags != "none":
        die("tags: none, vlan or qinq")
    l3 = IPv6(src=src, dst=dst) if ":" in src else IP(src=src, dst=dst)
    if proto == "udp":
        l4 = UDP(sport=5070, dport=dport) / Raw(b"OPTIONS sip:100@gw SIP/2.0\r\n\r\n")
    elif proto == "tcp":
        l4 = TCP(sport=40000, dport=dport, flags="S", seq=1)
    elif proto == "sctp":
        l4 = SCTP(sport=5070, dport=dport, tag=0) / SCTPChunkInit(init_tag=1, a_rwnd=65535,
                                                                 n_out_streams=1, n_in_streams=1,
                                                                 init_tsn=1)
    else:
        die("proto: udp, tcp or sctp")
    raw = bytes(l2 / l3 / l4)
    s = conf.L2socket(iface=iface)
    for _ in range(count):
        s.send(raw)
    s.close()
    print(len(raw))
    return 0


def main():
    if len(sys.argv) < 2:
        die(__doc__)
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "prom":
        with open(args[0]) as f:
            json.dump(prom_parse(f.read()), sys.stdout, indent=1, sort_keys=True)
        print()
        return 0
    if cmd == "json":
        try:
            doc = vwstats.load(args[0])
            flat = json_parse(doc)
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            die("%s: not voipwall stats JSON: %s" % (args[0], e))
        json.dump(flat, sys.stdout, indent=1, sort_keys=True)
        print()
        return 0
    if cmd == "want":
        for k, v in sorted(vwstats.load(args[0]).items()):
            print("%s=%d:%d" % (k, v[0], v[1]))
        return 0
    if cmd == "delta":
        json.dump(vwstats.deltas(vwstats.load(args[0]), vwstats.load(args[1])), sys.stdout, indent=1,
                  sort_keys=True)
        print()
        return 0
    table = {"expect": cmd_expect, "udp-send": cmd_udp_send, "udp-recv": cmd_udp_recv,
             "invite": cmd_invite, "tcp-probe": cmd_tcp_probe, "tcp-probes": cmd_tcp_probes, "replay": cmd_replay,
             "craft": cmd_craft}
    if cmd not in table:
        die("unknown command %s\n%s" % (cmd, __doc__))
    return table[cmd](args)


if __name__ == "__main__":
    sys.exit(main())
