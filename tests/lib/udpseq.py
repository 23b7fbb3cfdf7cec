#!/usr/bin/python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""UDP traffic with sequence numbers, for the fault tests.

recv --port P [--port P...] [--tcp P...] --log FILE --ready FILE
    Listen on each UDP port (IPv4 and IPv6), append "<source> <port> <payload>" per datagram to
    FILE (flushed at once), touch READY when bound; runs until SIGTERM. Each --tcp port is a
    listening TCP socket; an accepted connection is logged as "<source> tcp:<port> accept".
send --src ADDR --dst ADDR --port P --tag TAG --rate PPS --count FILE
    Send "TAG <seq>" datagrams from ADDR, seq 0, 1, ..., paced at PPS, until SIGTERM; then write
    the number sent to FILE.
matrix --dst ADDR --port P... --tag TAG --n N NAME=ADDR...
    Send N datagrams "TAG-NAME-P <i>" from each source to each port.
signature --log FILE --tag TAG --n N --port P... NAME...
    Print the pairs delivered whole, e.g. "A:5060 B:161" ("-" for none); a pair that got some
    but not all of its N datagrams is printed as "A:5060(partial 2/3)".
check --log FILE --tag TAG --count N
    Exit 0 when the log holds exactly the sequence numbers 0..N-1 for TAG (N may be 0);
    else print what is missing or extra.
"""
import argparse
import select
import signal
import socket
import sys
import time

stop = False


def on_term(signum, frame):
    global stop
    stop = True


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def unmap(host):
    return host[7:] if host.startswith("::ffff:") else host


def cmd_recv(a):
    socks = []
    for port in a.port:
        s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        s.bind(("::", port))
        socks.append((s, port))
    tcps = []
    for port in a.tcp or ():
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("::", port))
        s.listen(64)
        tcps.append((s, port))
    signal.signal(signal.SIGTERM, on_term)
    with open(a.log, "a", buffering=1) as log:
        open(a.ready, "w").close()
        poller = select.poll()
        by_fd = {}
        for s, port in socks + tcps:
            poller.register(s, select.POLLIN)
            by_fd[s.fileno()] = (s, port)
        while not stop:
            try:
                events = poller.poll(200)
            except InterruptedError:
                continue
            for fd, _ in events:
                s, port = by_fd[fd]
                if s.type == socket.SOCK_STREAM:
                    c, src = s.accept()
                    log.write("%s tcp:%d accept\n" % (unmap(src[0]), port))
                    c.close()
                    continue
                while True:
                    try:
                        data, src = s.recvfrom(65536, socket.MSG_DONTWAIT)
                    except BlockingIOError:
                        break
                    host = unmap(src[0])
                    text = data.decode("ascii", "replace").replace("\n", " ")
                    log.write("%s %d %s\n" % (host, port, text))
    return 0


def cmd_send(a):
    signal.signal(signal.SIGTERM, on_term)
    s = socket.socket(family(a.src), socket.SOCK_DGRAM)
    s.bind((a.src, 0))
    interval = 1.0 / a.rate
    seq = 0
    t0 = time.monotonic()
    while not stop:
        s.sendto(("%s %d" % (a.tag, seq)).encode(), (a.dst, a.port))
        seq += 1
        delay = t0 + seq * interval - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    with open(a.count, "w") as f:
        f.write("%d\n" % seq)
    return 0


def cmd_matrix(a):
    socks = {}
    for item in a.sources:
        name, _, addr = item.partition("=")
        s = socket.socket(family(addr), socket.SOCK_DGRAM)
        s.bind((addr, 0))
        socks[name] = s
    for i in range(a.n):
        for name, s in socks.items():
            for port in a.port:
                s.sendto(("%s-%s-%d %d" % (a.tag, name, port, i)).encode(), (a.dst, port))
        time.sleep(0.001)
    return 0


def read_log(path):
    try:
        with open(path) as f:
            return [line.split() for line in f]
    except FileNotFoundError:
        return []


def tagged(path, tag):
    """{"TAG-NAME-PORT": {seq, ...}} of the log's datagrams of TAG."""
    got = {}
    for parts in read_log(path):
        if len(parts) == 4 and parts[2].startswith(tag + "-"):
            got.setdefault(parts[2], set()).add(parts[3])
    return got


def signature(got, tag, names, ports, n):
    """The pairs "NAME:PORT" delivered whole, "NAME:PORT(partial k/N)" those delivered in part,
    from tagged()'s answer."""
    out = []
    for name in names:
        for port in ports:
            k = len(got.get("%s-%s-%d" % (tag, name, port), ()))
            if k == n:
                out.append("%s:%d" % (name, port))
            elif k:
                out.append("%s:%d(partial %d/%d)" % (name, port, k, n))
    return out


def cmd_signature(a):
    got = tagged(a.log, a.tag)
    out = signature(got, a.tag, a.names, a.port, a.n)
    print(" ".join(out) if out else "-")
    return 0


def cmd_check(a):
    seen = [int(parts[3]) for parts in read_log(a.log) if len(parts) == 4 and parts[2] == a.tag]
    want = set(range(a.count))
    got = set(seen)
    missing = sorted(want - got)
    extra = sorted(got - want)
    if missing or extra:
        print("%s: %d of %d received; missing %s; unexpected %s"
              % (a.tag, len(got & want), a.count, missing[:20], extra[:20]))
        return 1
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("recv")
    r.add_argument("--port", type=int, action="append", required=True)
    r.add_argument("--tcp", type=int, action="append")
    r.add_argument("--log", required=True)
    r.add_argument("--ready", required=True)
    s = sub.add_parser("send")
    s.add_argument("--src", required=True)
    s.add_argument("--dst", required=True)
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--tag", required=True)
    s.add_argument("--rate", type=float, default=500)
    s.add_argument("--count", required=True)
    m = sub.add_parser("matrix")
    m.add_argument("--dst", required=True)
    m.add_argument("--port", type=int, action="append", required=True)
    m.add_argument("--tag", required=True)
    m.add_argument("--n", type=int, default=3)
    m.add_argument("sources", nargs="+", metavar="NAME=ADDR")
    g = sub.add_parser("signature")
    g.add_argument("--log", required=True)
    g.add_argument("--tag", required=True)
    g.add_argument("--n", type=int, default=3)
    g.add_argument("--port", type=int, action="append", required=True)
    g.add_argument("names", nargs="+", metavar="NAME")
    c = sub.add_parser("check")
    c.add_argument("--log", required=True)
    c.add_argument("--tag", required=True)
    c.add_argument("--count", type=int, required=True)
    a = p.parse_args()
    cmds = {"recv": cmd_recv, "send": cmd_send, "matrix": cmd_matrix, "signature": cmd_signature,
            "check": cmd_check}
    return cmds[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
