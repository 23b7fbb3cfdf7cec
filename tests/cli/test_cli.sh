#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# CLI tests for the voipwall command, in two namespaces joined by a veth pair, with a temporary
# bpffs as --pin-dir: check, load, status, allow, reload, stats (three formats, checked against
# frames sent through a raw socket), top, anti-lockout, privileges, locking, unload.
# Prints "PASS name", "FAIL name: why" or "SKIP name: why" per test (see tests/run.sh).
set -u
cd "$(dirname "$0")/../.."
VOIPWALL=${VOIPWALL:-$PWD/${BUILD:-build}/voipwall}
# set but empty: no SSH session, whatever the session running the tests is (lockout tests set it)
export SSH_CONNECTION=""
PY=${PYTHON:-/usr/bin/python3}

skip_all() {
	echo "SKIP cli: $1"
	exit 0
}
[ "$(id -u)" -eq 0 ] || skip_all "needs root (namespaces, XDP)"
[ -x "$VOIPWALL" ] || skip_all "$VOIPWALL not built"
command -v ip >/dev/null || skip_all "iproute2 missing"

# shellcheck source=../../scripts/topology.sh
. scripts/topology.sh

cleanup() {
	# a pinned link keeps the program attached until the namespace goes; remove ours first
	[ -n "${PIN:-}" ] && [ -d "$PIN" ] &&
		ip netns exec "$GW" "$VOIPWALL" --pin-dir "$PIN" unload --all >/dev/null 2>&1
	topo_destroy
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

topo_pair vw0 vw1 || skip_all "cannot create the namespaces, veth pair or bpffs"
GW=$TOPO_NS_GW PEER=$TOPO_NS_EXT tmp=$TOPO_TMP bpffs=$TOPO_PIN_MNT
PIN="$bpffs/vw"
for ns in "$GW" "$PEER"; do
	# no IPv6 autoconfiguration chatter: the counters must hold only what the tests send
	ip netns exec "$ns" sh -c 'echo 1 >/proc/sys/net/ipv6/conf/all/disable_ipv6; echo 1 >/proc/sys/net/ipv6/conf/default/disable_ipv6'
done
ip -n "$GW" addr add 198.18.0.1/24 dev vw0
ip -n "$PEER" addr add 198.18.0.2/24 dev vw1
# a bridge has no native XDP: attaching to it natively fails (the rollback test)
ip -n "$GW" link add vwbr0 type bridge || skip_all "no bridge support"
ip -n "$GW" link set vwbr0 up
GW_MAC=$(ip -n "$GW" -br link show vw0 | awk '{print $3}')

vw() { ip netns exec "$GW" "$VOIPWALL" --pin-dir "$PIN" "$@"; }

pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; }
# run CMD...: runs CMD with stdout in $out, stderr in $err, its exit code in $rc.
# expect_rc NAME CODE: true when $rc is CODE, else reports NAME as failed.
out="$tmp/out" err="$tmp/err" rc=0
run() {
	"$@" >"$out" 2>"$err"
	rc=$?
}
expect_rc() {
	[ "$rc" -eq "$2" ] && return 0
	fail "$1" "exit $rc, expected $2; stderr: $(head -c 400 "$err")"
	return 1
}

# ---- helpers in Python: traffic and parsing ------------------------------------------------
cat >"$tmp/parse.py" <<'EOF'
# parse.py FORMAT FILE [IFACE CLASS VERDICT REASON]...: prints "packets bytes" of each counter
# named (0 0 when absent), on one line, from `stats` output in FORMAT json|prom|human; exits 1 if
# FILE is malformed.
# parse.py get FILE EXPR: prints EXPR evaluated on the JSON document d.
import json, re, sys
fmt, path = sys.argv[1], sys.argv[2]
text = open(path).read()
if fmt == "get":
    d = json.loads(text)
    print(eval(sys.argv[3]))
    sys.exit(0)
want = sys.argv[3:]
found = {}
if fmt == "json":
    for c in json.loads(text)["counters"]:
        found[(c["interface"], c["class"], c["verdict"], c["reason"])] = (c["packets"], c["bytes"])
elif fmt == "prom":
    sample = re.compile(r'^(voipwall_packets_total|voipwall_bytes_total)\{interface="([^"]*)",'
                        r'class="([^"]*)",verdict="(pass|drop|monitor)",reason="([a-z_]+)"\} (\d+)$')
    seen_help = set()
    vals = {}
    for line in text.splitlines():
        m = re.match(r'^# (HELP|TYPE) (voipwall_packets_total|voipwall_bytes_total) (.+)$', line)
        if m:
            if m.group(1) == "TYPE" and m.group(3) != "counter":
                sys.exit("bad TYPE line: " + line)
            seen_help.add((m.group(1), m.group(2)))
            continue
        # other families (config, interfaces) are checked by the ops suite with promtool
        if not line.startswith(("voipwall_packets_total", "voipwall_bytes_total")):
            continue
        m = sample.match(line)
        if not m:
            sys.exit("not prometheus text format: " + line)
        vals.setdefault(m.group(2, 3, 4, 5), {})[m.group(1)] = int(m.group(6))
    if len(seen_help) != 4:
        sys.exit("missing HELP/TYPE lines")
    for k, v in vals.items():
        found[k] = (v.get("voipwall_packets_total", 0), v.get("voipwall_bytes_total", 0))
elif fmt == "human":
    lines = text.splitlines()
    if not lines or lines[0].split()[:6] != ["INTERFACE", "CLASS", "VERDICT", "REASON", "PACKETS", "BYTES"]:
        sys.exit("no table header")
    for line in lines[1:]:
        f = line.split()
        found[tuple(f[:4])] = (int(f[4]), int(f[5]))
print(" ".join("%d %d" % found.get(tuple(want[i:i + 4]), (0, 0)) for i in range(0, len(want), 4)))
EOF

# send SPEC...: frames from the peer (tests/lib/frames.py: SPEC is src,dst,udp|tcp,dport,count;
# 18 bytes of payload, so an IPv4 UDP frame is 60 bytes and an IPv6 one 80)
send() { ip netns exec "$PEER" "$PY" tests/lib/frames.py vw1 "$GW_MAC" "$@"; }
# counter FORMAT [IFACE CLASS VERDICT REASON]...: "packets bytes" of each, from one fresh `stats`
# in FORMAT.
counter() {
	local f=$1
	shift
	case $f in
	json) vw -j stats >"$tmp/stats" 2>>"$err" ;;
	prom) vw stats --prometheus >"$tmp/stats" 2>>"$err" ;;
	human) vw stats >"$tmp/stats" 2>>"$err" ;;
	esac
	"$PY" "$tmp/parse.py" "$f" "$tmp/stats" "$@"
}
# wait_counter IFACE CLASS VERDICT REASON PACKETS: polls (up to 3 s) until the packet count is
# PACKETS, then prints the final "packets bytes" (frames cross the veth asynchronously).
wait_counter() {
	local i v
	for i in $(seq 30); do
		v=$(counter json "$1" "$2" "$3" "$4")
		[ "${v%% *}" = "$5" ] && break
		sleep 0.1
	done
	echo "$v"
}
jget() { "$PY" "$tmp/parse.py" get "$1" "$2"; }
# What voipwall left in the test bpffs: the pin dir and its temporary siblings (other tools on
# this machine may pin into any bpffs they find mounted, so nothing else is judged).
ours_left() { find "$bpffs" -mindepth 1 -maxdepth 1 \( -name vw -o -name 'vw-tmp-*' \); }

# ---- configs ---------------------------------------------------------------------------------
cat >"$tmp/a.conf" <<'EOF'
# test config A
class sip   5060/udp 5060/tcp 5061/tcp
class rtp   10000-20000/udp  policy monitor
class mgmt  22/tcp 80/tcp
allow sip   198.18.0.10 2001:db8:10::/48   # the PBX
allow mgmt  198.18.1.0/24                  # support
EOF
cat >"$tmp/b.conf" <<'EOF'
# test config B: 198.18.0.3 joins sip, rtp now drops, a new class
class sip   5060/udp 5060/tcp 5061/tcp
class web   8080/tcp
class rtp   10000-20000/udp
class mgmt  22/tcp 80/tcp
allow sip   198.18.0.10 198.18.0.3 2001:db8:10::/48
allow mgmt  198.18.1.0/24
EOF
cat >"$tmp/broken.conf" <<'EOF'
class sip 5060/udp
allow nosuchclass 198.18.0.10
EOF
chmod 755 "$tmp"
chmod 644 "$tmp"/*.conf

# ---- check -----------------------------------------------------------------------------------
t=check_valid
run "$VOIPWALL" -c "$tmp/a.conf" check
if expect_rc $t 0; then
	if grep -q 'sip' "$out" && grep -q '5060/udp' "$out" && grep -q 'monitor' "$out"; then
		pass $t
	else
		fail $t "output lacks the classes: $(head -c 300 "$out")"
	fi
fi

t=check_json
run "$VOIPWALL" -j check -c "$tmp/a.conf"
if expect_rc $t 0; then
	v=$(jget "$out" '",".join(c["name"]+":"+c["policy"]+":"+str(c["allow_v4"])+"/"+str(c["allow_v6"]) for c in d["classes"])' 2>&1)
	if [ "$v" = "sip:drop:1/1,rtp:monitor:0/0,mgmt:drop:1/0" ]; then
		pass $t
	else
		fail $t "classes: $v"
	fi
fi

t=check_broken
run "$VOIPWALL" check -c "$tmp/broken.conf"
if expect_rc $t 2; then
	if grep -q "broken.conf:2:" "$err"; then
		pass $t
	else
		fail $t "no file:line message: $(cat "$err")"
	fi
fi

t=check_broken_json
run "$VOIPWALL" check -c "$tmp/broken.conf" --json
if expect_rc $t 2; then
	v=$(jget "$out" '"broken.conf:2:" in d["error"]' 2>&1)
	[ "$v" = True ] && pass $t || fail $t "not a JSON error with file:line: $(cat "$out")"
fi

t=check_as_nobody
run setpriv --reuid=65534 --regid=65534 --clear-groups "$VOIPWALL" check -c "$tmp/a.conf"
expect_rc $t 0 && pass $t

t=usage_errors
run "$VOIPWALL" frobnicate
r1=$rc
run "$VOIPWALL" status --mode native
r2=$rc
run "$VOIPWALL" load --mode sideways vw0
r3=$rc
if [ "$r1$r2$r3" = 222 ]; then pass $t; else fail $t "exit codes $r1 $r2 $r3, expected 2 2 2"; fi

t=help
if "$VOIPWALL" --help | grep -q 'allow add|del' && "$VOIPWALL" allow --help | grep -q 'next' &&
	"$VOIPWALL" stats --help | grep -q -- '--prometheus'; then
	pass $t
else
	fail $t "help text incomplete"
fi

# ---- privileges and missing things ---------------------------------------------------------
t=not_root
run ip netns exec "$GW" setpriv --reuid=65534 --regid=65534 --clear-groups "$VOIPWALL" --pin-dir "$PIN" -c "$tmp/a.conf" load vw0
if expect_rc $t 1; then
	if [ "$(wc -l <"$err")" -eq 1 ] && grep -q 'root' "$err" && [ ! -e "$PIN" ]; then
		pass $t
	else
		fail $t "expected one line naming root, nothing pinned: $(cat "$err")"
	fi
fi

t=missing_interface
run vw -c "$tmp/a.conf" load vwnosuch0
if expect_rc $t 1; then
	if [ "$(wc -l <"$err")" -eq 1 ] && grep -q 'vwnosuch0' "$err" && [ ! -e "$PIN" ]; then
		pass $t
	else
		fail $t "expected one line naming the interface: $(cat "$err")"
	fi
fi

t=missing_interface_json
run vw -j -c "$tmp/a.conf" load vwnosuch0
if expect_rc $t 1; then
	v=$(jget "$out" '"vwnosuch0" in d["error"]' 2>&1)
	[ "$v" = True ] && pass $t || fail $t "stdout is not a JSON error: $(cat "$out")"
fi

t=pin_dir_not_bpffs
run ip netns exec "$GW" "$VOIPWALL" --pin-dir "$tmp/vw" load vw0
if expect_rc $t 1; then
	if grep -q 'not on a bpf filesystem' "$err" && ! ip -n "$GW" link show vw0 | grep -q xdp; then
		pass $t
	else
		fail $t "$(cat "$err")"
	fi
fi

t=status_not_loaded
run vw status
if expect_rc $t 1; then
	grep -q 'not loaded' "$err" && pass $t || fail $t "$(cat "$err")"
fi

# ---- load --------------------------------------------------------------------------------------
t=load_rollback
# vwbr0 has no native XDP: the command must detach vw0 again and leave nothing pinned
run vw -c "$tmp/a.conf" load vw0 vwbr0 --mode native
if expect_rc $t 1; then
	if ip -n "$GW" link show vw0 | grep -q xdp; then
		fail $t "vw0 still has an XDP program"
	elif [ -e "$PIN" ]; then
		fail $t "$PIN left behind: $(ls "$PIN")"
	else
		pass $t
	fi
fi

t=load
run vw -c "$tmp/a.conf" load vw0
if expect_rc $t 0; then
	ifindex=$(ip netns exec "$GW" cat /sys/class/net/vw0/ifindex)
	if ! ip -n "$GW" link show vw0 | grep -q 'prog/xdp'; then
		fail $t "no XDP program on vw0"
	elif [ ! -e "$PIN/link_$ifindex" ] || [ ! -e "$PIN/prog" ] || [ ! -e "$PIN/vw_counters" ]; then
		fail $t "pin dir incomplete: $(ls "$PIN")"
	elif [ "$(stat -c %a "$PIN")" != 700 ] || [ -n "$(find "$PIN" -type f ! -perm 600)" ]; then
		fail $t "modes: dir $(stat -c %a "$PIN"), objects $(stat -c '%n %a' "$PIN"/* | tr '\n' ' ')"
	else
		pass $t
	fi
fi
prog_id=$(ip -n "$GW" -d link show vw0 | sed -n 's/.*prog\/xdp id \([0-9]*\).*/\1/p')

t=load_twice_refused
run vw -c "$tmp/a.conf" load vw0
if expect_rc $t 1; then
	now=$(ip -n "$GW" -d link show vw0 | sed -n 's/.*prog\/xdp id \([0-9]*\).*/\1/p')
	if ! grep -q 'already loaded' "$err"; then
		fail $t "message: $(cat "$err")"
	elif [ "$now" != "$prog_id" ] || [ "$(ls "$PIN" | grep -c '^link_')" -ne 1 ]; then
		fail $t "program changed ($prog_id -> $now) or links: $(ls "$PIN")"
	else
		pass $t
	fi
fi

t=status_json
run vw -j status
if expect_rc $t 0; then
	v=$(jget "$out" '"%s %s %s %s %s %s" % (",".join(i["name"] for i in d["interfaces"]), d["interfaces"][0]["mode"], d["prog_id"], d["config"].endswith("/a.conf"), d["builtin"], ",".join("%s=%d/%d" % (c["name"], c["allow_v4"], c["allow_v6"]) for c in d["classes"]))' 2>&1)
	if [ "$v" = "vw0 native $prog_id True False sip=1/1,rtp=0/0,mgmt=1/0" ]; then
		pass $t
	else
		fail $t "got '$v'"
	fi
fi
serial_a=$(jget "$out" 'd["serial"]' 2>/dev/null)

t=status_human
run vw status
if expect_rc $t 0; then
	grep -q "vw0" "$out" && grep -q "a.conf" "$out" && grep -q "native" "$out" && pass $t ||
		fail $t "$(head -c 400 "$out")"
fi

# ---- traffic and stats ---------------------------------------------------------------------
# 198.18.0.2 is in no allowlist, 198.18.0.10 is the PBX (sip), 2001:db8:10::5 in the PBX's /48.
send 198.18.0.2,198.18.0.1,udp,5060,7 198.18.0.10,198.18.0.1,udp,5060,5 \
	198.18.0.2,198.18.0.1,udp,12000,3 198.18.0.2,198.18.0.1,udp,9999,4 \
	2001:db8:10::5,2001:db8::1,udp,5060,2 2001:db8:99::5,2001:db8::1,tcp,5061,6 \
	198.18.0.4,198.18.0.1,tcp,22,1
v=$(wait_counter vw0 mgmt drop not_allowlisted 1)

check_stats() { # FORMAT
	local f=$1 got want
	got=$(counter "$f" vw0 sip drop not_allowlisted vw0 sip pass allowlisted \
		vw0 rtp monitor not_allowlisted vw0 none pass unprotected vw0 mgmt drop not_allowlisted)
	# sip drops: 7 IPv4 UDP (60 B) + 6 IPv6 TCP (14+40+20+18 = 92 B); sip passes: 5 * 60 + 2 * 80
	want="13 972 7 460 3 180 4 240 1 72"
	if [ "$got" = "$want" ]; then
		pass "stats_$f"
	else
		fail "stats_$f" "got '$got', want '$want' (packets bytes per counter); stats: $(head -c 600 "$tmp/stats")"
	fi
}
check_stats json
check_stats prom
check_stats human

t=stats_fast
# not a timing assertion: the command must read the whole array in one go and finish cleanly
run vw stats -j
expect_rc $t 0 && pass $t

t=stats_watch
# rates: over the JSON lines, packets_per_sec * interval must add up to the packets sent meanwhile
before=$(counter json vw0 sip drop not_allowlisted)
# not through vw(): $! must be voipwall itself (ip netns exec execs it), to get the SIGINT
ip netns exec "$GW" "$VOIPWALL" --pin-dir "$PIN" -j stats --watch 0.5 >"$tmp/watch" 2>"$tmp/watch.err" &
watcher=$!
send 198.18.0.2,198.18.0.1,udp,5060,20
for i in $(seq 100); do
	tail -n 1 "$tmp/watch" | grep -q '"reason":"not_allowlisted","packets":'$((${before%% *} + 20))',' && break
	sleep 0.1
done
kill -INT $watcher
for i in $(seq 50); do
	kill -0 $watcher 2>/dev/null || break
	sleep 0.1
done
if kill -0 $watcher 2>/dev/null; then
	kill -KILL $watcher
	echo "stats --watch ignored SIGINT" >>"$tmp/watch.err"
fi
wait $watcher
wrc=$?
v=$("$PY" -c '
import json, sys
total = 0.0
lines = open(sys.argv[1]).read().splitlines()
for line in lines:
    d = json.loads(line)
    for c in d["counters"]:
        if (c["interface"], c["class"], c["verdict"], c["reason"]) == ("vw0", "sip", "drop", "not_allowlisted"):
            total += c["packets_per_sec"] * d["interval"]
print(round(total), len(lines))
' "$tmp/watch" 2>&1)
if [ "$wrc" -ne 0 ]; then
	fail $t "exit $wrc after SIGINT: $(cat "$tmp/watch.err")"
elif [ "${v%% *}" != 20 ]; then
	fail $t "rates add up to '${v%% *}' packets over ${v##* } lines, want 20"
else
	pass $t
fi

t=top
run vw -j top
if expect_rc $t 0; then
	v=$(jget "$out" '"%s %d %s %s" % (d["top"][0]["source"], d["top"][0]["packets"], d["top"][0]["class"], d["top"][0]["reason"])' 2>&1)
	# 198.18.0.2: 7 sip drops + 3 rtp monitors, then 20 sip drops (stats_watch)
	if [ "$v" = "198.18.0.2 30 sip not_allowlisted" ]; then
		pass $t
	else
		fail $t "first source: '$v'"
	fi
fi

t=top_human
run vw top -n 1
if expect_rc $t 0; then
	if [ "$(sed -n 2p "$out" | awk '{print $1, $2}')" = "198.18.0.2 30" ] && [ "$(wc -l <"$out")" -eq 2 ]; then
		pass $t
	else
		fail $t "$(cat "$out")"
	fi
fi

# ---- allow add/del/list --------------------------------------------------------------------
t=allow_add
before=$(counter json vw0 sip pass allowlisted)
run vw allow add sip,mgmt 198.18.0.3 2001:db8:77::/64
if expect_rc $t 0; then
	send 198.18.0.3,198.18.0.1,udp,5060,2 198.18.0.3,198.18.0.1,tcp,80,1
	v=$(wait_counter vw0 sip pass allowlisted $((${before%% *} + 2)))
	m=$(counter json vw0 mgmt pass allowlisted)
	[ "${v%% *}" = $((${before%% *} + 2)) ] && [ "${m%% *}" = 1 ] && pass $t ||
		fail $t "sip pass allowlisted ${before%% *} -> ${v%% *}, mgmt pass ${m%% *}"
fi

t=allow_list
run vw -j allow list sip
if expect_rc $t 0; then
	v=$(jget "$out" '" ".join(sorted(r["prefix"] + "=" + ",".join(r["classes"]) for r in d["rules"]))' 2>&1)
	if [ "$v" = "198.18.0.10/32=sip 198.18.0.3/32=sip,mgmt 2001:db8:10::/48=sip 2001:db8:77::/64=sip,mgmt" ]; then
		pass $t
	else
		fail $t "got '$v'"
	fi
fi

t=allow_list_human
run vw allow list mgmt
if expect_rc $t 0; then
	grep -q '^198.18.1.0/24 ' "$out" && grep -q '^198.18.0.3/32 ' "$out" && ! grep -q '198.18.0.10' "$out" &&
		pass $t || fail $t "$(cat "$out")"
fi

t=allow_bad_args
run vw allow add nosuchclass 198.18.0.5
r1=$rc
run vw allow add sip 198.18.0.5/16
r2=$rc
[ "$r1$r2" = 22 ] && pass $t || fail $t "exit codes $r1 $r2, expected 2 2"

t=allow_del
before=$(counter json vw0 sip drop not_allowlisted)
run vw allow del sip 198.18.0.3
if expect_rc $t 0; then
	send 198.18.0.3,198.18.0.1,udp,5060,1
	v=$(wait_counter vw0 sip drop not_allowlisted $((${before%% *} + 1)))
	vw allow list sip >"$tmp/list"
	if [ "${v%% *}" != $((${before%% *} + 1)) ]; then
		fail $t "sip drops ${before%% *} -> ${v%% *}"
	elif grep -q '198.18.0.3' "$tmp/list"; then
		fail $t "still listed for sip: $(cat "$tmp/list")"
	elif ! vw allow list mgmt | grep -q '198.18.0.3/32'; then
		fail $t "del sip removed mgmt too"
	else
		pass $t
	fi
fi

t=allow_del_missing
run vw allow del sip 198.18.0.77
expect_rc $t 1 && pass $t

t=allow_stdin
# '-' reads prefixes from standard input: 5000 IPv6 /64s with a comment and a blank line, then
# the same list removed again; a bad line names stdin:LINE and changes nothing.
{
	echo "# prefixes for sip"
	echo
	for i in $(seq 1 5000); do printf '2001:db8:99:%x::/64\n' "$i"; done
} >"$tmp/many.txt"
nrules() { vw -j allow list sip >"$tmp/l.json" && jget "$tmp/l.json" 'len(d["rules"])' 2>/dev/null || echo x; }
n0=$(nrules)
run vw allow add sip - <"$tmp/many.txt"
r1=$rc
n1=$(nrules)
printf '2001:db8:98::/64\nnot-a-prefix\n' >"$tmp/bad.txt"
run vw allow add sip - <"$tmp/bad.txt"
r2=$rc
grep -q 'stdin:2: invalid prefix' "$err" && e2=yes || e2=no
n2=$(nrules)
run vw allow del sip - <"$tmp/many.txt"
r3=$rc
n3=$(nrules)
if [ "$r1$r2$r3" = 020 ] && [ "$e2" = yes ] && [ "$n1" = $((n0 + 5000)) ] && [ "$n2" = "$n1" ] &&
	[ "$n3" = "$n0" ]; then
	pass $t
else
	fail $t "exits $r1 $r2 $r3 (want 0 2 0), stdin:2 named: $e2, rules $n0 -> $n1 -> $n2 -> $n3"
fi

# ---- reload --------------------------------------------------------------------------------
t=reload_changed
run vw -j status
serial=$(jget "$out" 'd["serial"]')
drops=$(counter json vw0 sip drop not_allowlisted)
ids=$(jget "$out" '",".join("%s=%d" % (c["name"], c["id"]) for c in d["classes"])')
run vw -c "$tmp/b.conf" reload
if expect_rc $t 0; then
	run vw -j status
	# classes keep their ids (so counters keep their meaning); web takes the free id 3
	v=$(jget "$out" '"%s %s %s" % (d["config"].endswith("/b.conf"), d["serial"] > '"$serial"', ",".join(sorted("%s=%d:%s" % (c["name"], c["id"], c["policy"]) for c in d["classes"])))' 2>&1)
	after=$(counter json vw0 sip drop not_allowlisted)
	if [ "$ids" != "sip=0,rtp=1,mgmt=2" ]; then
		fail $t "class ids before reload: $ids"
	elif [ "$v" != "True True mgmt=2:drop,rtp=1:drop,sip=0:drop,web=3:drop" ]; then
		fail $t "status after reload: '$v'"
	elif [ "$after" != "$drops" ]; then
		fail $t "counters changed by the reload: '$drops' -> '$after'"
	else
		send 198.18.0.3,198.18.0.1,udp,5060,2 198.18.0.2,198.18.0.1,udp,12000,3
		v=$(wait_counter vw0 rtp drop not_allowlisted 3)
		p=$(counter json vw0 sip pass allowlisted)
		# 5 + 2 at first, 2 after allow add, 2 now from 198.18.0.3 (allowlisted by b.conf)
		[ "$v" = "3 180" ] && [ "${p%% *}" = 11 ] && pass $t ||
			fail $t "rtp drops '$v' (want 3 180), sip passes '${p%% *}' (want 11)"
	fi
fi

t=reload_without_c
# without -c, reload reads the file the running config came from (b.conf), not the default
run vw -j status
serial=$(jget "$out" 'd["serial"]')
run vw reload
if expect_rc $t 0; then
	run vw -j status
	v=$(jget "$out" '"%s %s" % (d["config"] == "'"$tmp/b.conf"'", d["serial"] > '"$serial"')' 2>&1)
	[ "$v" = "True True" ] && pass $t || fail $t "status after reload: '$v'"
fi

t=reload_drops_allow_edits
vw allow list mgmt >"$tmp/list"
grep -q '2001:db8:77::/64' "$tmp/list" && fail $t "allow add survived the reload" || pass $t

t=reload_broken
run vw -j status
serial=$(jget "$out" 'd["serial"]')
run vw -c "$tmp/broken.conf" reload
if expect_rc $t 2; then
	cp "$err" "$tmp/reload_err"
	run vw -j status
	cp "$tmp/reload_err" "$err"
	v=$(jget "$out" '"%s %s" % (d["serial"], d["config"].endswith("/b.conf"))' 2>&1)
	if ! grep -q 'broken.conf:2:' "$err"; then
		fail $t "no file:line message"
	elif [ "$v" != "$serial True" ]; then
		fail $t "live state changed: '$v' (serial was $serial)"
	else
		send 198.18.0.3,198.18.0.1,udp,5060,1
		p=$(wait_counter vw0 sip pass allowlisted 12)
		[ "${p%% *}" = 12 ] && pass $t || fail $t "old config not enforced: sip passes ${p%% *}"
	fi
fi

# ---- anti-lockout ----------------------------------------------------------------------------
t=lockout_refused
run vw -j status
serial=$(jget "$out" 'd["serial"]')
run env SSH_CONNECTION="198.18.0.99 50022 198.18.0.1 22" ip netns exec "$GW" "$VOIPWALL" --pin-dir "$PIN" -c "$tmp/b.conf" reload
if expect_rc $t 2; then
	cp "$err" "$tmp/reload_err"
	run vw -j status
	cp "$tmp/reload_err" "$err"
	if ! grep -q "mgmt" "$err" || ! grep -q "22/tcp" "$err" || ! grep -q "198.18.0.99" "$err"; then
		fail $t "message does not name class, port and address: $(cat "$err")"
	elif [ "$(jget "$out" 'd["serial"]')" != "$serial" ]; then
		fail $t "applied anyway"
	else
		pass $t
	fi
fi

t=lockout_allowlisted_ok
run env SSH_CONNECTION="198.18.1.7 50022 198.18.0.1 22" ip netns exec "$GW" "$VOIPWALL" --pin-dir "$PIN" -c "$tmp/b.conf" reload
expect_rc $t 0 && pass $t

t=lockout_from_parent
# sudo drops SSH_CONNECTION: voipwall looks for it in its ancestors' environment
run env SSH_CONNECTION="198.18.0.99 50022 198.18.0.1 22" bash -c 'env -u SSH_CONNECTION ip netns exec "$0" "$1" --pin-dir "$2" -c "$3" reload; exit $?' "$GW" "$VOIPWALL" "$PIN" "$tmp/b.conf"
if expect_rc $t 2; then
	grep -q "198.18.0.99" "$err" && pass $t || fail $t "$(cat "$err")"
fi

t=lockout_other_netns
# a session to an address this namespace does not have does not cross this filter
run env SSH_CONNECTION="198.18.0.99 50022 198.19.255.1 22" ip netns exec "$GW" "$VOIPWALL" --pin-dir "$PIN" -c "$tmp/b.conf" reload
expect_rc $t 0 && pass $t

t=lockout_force
run env SSH_CONNECTION="198.18.0.99 50022 198.18.0.1 22" ip netns exec "$GW" "$VOIPWALL" --pin-dir "$PIN" -c "$tmp/b.conf" reload --force
if expect_rc $t 0; then
	grep -q 'warning' "$err" && pass $t || fail $t "no warning: $(cat "$err")"
fi

t=lockout_allow_del
run env SSH_CONNECTION="198.18.1.7 50022 198.18.0.1 22" ip netns exec "$GW" "$VOIPWALL" --pin-dir "$PIN" allow del mgmt 198.18.1.0/24
expect_rc $t 2 && pass $t

# ---- lock ----------------------------------------------------------------------------------
t=lock_wait
lockfile=$(topo_lock_file)
[ -n "$lockfile" ] || fail $t "no lock file in $VOIPWALL_LOCK_DIR"
(
	exec 9>"$lockfile"
	flock -x 9
	echo $BASHPID >&9
	exec sleep 10 # holds the lock (fd 9) until killed below
) &
holder=$!
for i in $(seq 100); do # until it holds the lock and has written its pid (10 s at most)
	! flock -n "$lockfile" true && [ "$(cat "$lockfile" 2>/dev/null)" = "$holder" ] && break
	sleep 0.1
done
run vw allow add sip 198.18.0.50 --wait 1
if expect_rc $t 1; then
	if grep -q "waiting for .*pid $holder" "$err" && grep -q 'gave up' "$err"; then
		pass $t
	else
		fail $t "messages: $(cat "$err")"
	fi
fi
kill $holder
wait $holder 2>/dev/null
t=lock_released
run vw allow add sip 198.18.0.50
expect_rc $t 0 && pass $t

# ---- unload --------------------------------------------------------------------------------
t=unload_not_loaded
run vw unload vwbr0
expect_rc $t 1 && pass $t

t=unload
run vw unload vw0
if expect_rc $t 0; then
	left=$(ours_left)
	if ip -n "$GW" link show vw0 | grep -q xdp; then
		fail $t "vw0 still has an XDP program"
	elif [ -n "$left" ]; then
		fail $t "pinned files left: $left"
	elif [ -e "$lockfile" ]; then
		fail $t "lock file $lockfile left"
	else
		pass $t
	fi
fi

t=load_skb
run vw load vw0 --mode skb
expect_rc $t 0 && pass $t

t=load_later_rollback
# a later load that fails half-way detaches what it attached and leaves the rest running
ip -n "$GW" link add vwy0 type veth peer name vwy1
ip -n "$GW" link set vwy0 up
run vw -j status
before=$(jget "$out" '"%s %s" % (d["serial"], " ".join(i["name"] for i in d["interfaces"]))' 2>&1)
run vw -c "$tmp/a.conf" load vwy0 vwbr0 --mode native
if expect_rc $t 1; then
	run vw -j status
	after=$(jget "$out" '"%s %s" % (d["serial"], " ".join(i["name"] for i in d["interfaces"]))' 2>&1)
	if ip -n "$GW" link show vwy0 | grep -q xdp; then
		fail $t "vwy0 still attached"
	elif ! ip -n "$GW" link show vw0 | grep -q xdp || [ "$after" != "$before" ]; then
		fail $t "running state changed: '$before' -> '$after'"
	else
		pass $t
	fi
fi
ip -n "$GW" link del vwy0

t=load_more_auto_fallback
# a later load reuses the pinned program; the bridge has no native XDP: auto falls back to skb
prog_id=$(ip -n "$GW" -d link show vw0 | sed -n 's/.*prog\/xdp id \([0-9]*\).*/\1/p')
run vw load vwbr0
if expect_rc $t 0; then
	now=$(ip -n "$GW" -d link show vwbr0 | sed -n 's/.*prog\/xdp id \([0-9]*\).*/\1/p')
	if ! grep -q 'falling back to skb' "$err"; then
		fail $t "no fallback message: $(cat "$err")"
	elif [ "$now" != "$prog_id" ]; then
		fail $t "vwbr0 runs program '$now', vw0 '$prog_id'"
	else
		pass $t
	fi
fi

t=iface_removed
ip -n "$GW" link add vwx0 type veth peer name vwx1
ip -n "$GW" link set vwx0 up
run vw load vwx0
if expect_rc $t 0; then
	ip -n "$GW" link del vwx0
	run vw -j status
	v=$(jget "$out" '" ".join("%s:%s" % (i["name"], i["gone"]) for i in d["interfaces"])' 2>&1)
	run vw unload vwx0
	r=$rc
	run vw -j status
	w=$(jget "$out" '" ".join(i["name"] for i in d["interfaces"])' 2>&1)
	if [ "$v" != "vw0:False vwbr0:False vwx0:True" ]; then
		fail $t "status after deleting vwx0: '$v'"
	elif [ "$r" -ne 0 ] || [ "$w" != "vw0 vwbr0" ]; then
		fail $t "unload of the removed interface: exit $r, left '$w'"
	else
		pass $t
	fi
fi

t=status_modes_builtin
run vw -j status
v=$(jget "$out" '" ".join(i["name"] + ":" + i["mode"] for i in d["interfaces"]) + " " + str(d["builtin"])' 2>&1)
builtin=True
[ -e /etc/voipwall/voipwall.conf ] && builtin=False
[ "$v" = "vw0:skb vwbr0:skb $builtin" ] && pass $t || fail $t "status: '$v'"

t=unload_all
# --purge: a named block set, kept by a plain unload --all, goes too
vw block add --set manual 198.18.0.99 >/dev/null 2>&1
run vw unload --all --purge
if expect_rc $t 0; then
	left=$(ours_left)
	if [ -n "$left" ] || ip -n "$GW" link show | grep -q xdp; then
		fail $t "left behind: pins '$left', $(ip -n "$GW" link show | grep xdp)"
	else
		pass $t
	fi
fi

t=damaged_pin_dir
run vw load vw0
rm -f "$PIN/vw_masks"
run vw status
if expect_rc $t 1; then
	s_err=$(cat "$err")
	run vw unload --all
	left=$(ours_left)
	if ! grep -q incomplete <<<"$s_err"; then
		fail $t "status says: $s_err"
	elif [ "$rc" -ne 0 ] || [ -n "$left" ] || ip -n "$GW" link show | grep -q xdp; then
		fail $t "unload --all: exit $rc, left '$left'"
	else
		pass $t
	fi
fi

t=other_version_pin_dir
# A map pinned by another version of voipwall (another type or size): every command says so,
# changes nothing, and unload --all clears it.
run vw load vw0
rm -f "$PIN/vw_v6_f32"
if ! bpftool map create "$PIN/vw_v6_f32" type hash key 4 value 4 entries 1 name vw_v6_f32 2>"$err"; then
	fail $t "cannot pin a stand-in map: $(cat "$err")"
else
	run vw reload
	if expect_rc $t 1; then
		r_err=$(cat "$err")
		run vw unload --all
		left=$(ours_left)
		if ! grep -q 'vw_v6_f32 is hash' <<<"$r_err" || ! grep -q 'another version' <<<"$r_err"; then
			fail $t "reload says: $r_err"
		elif [ "$rc" -ne 0 ] || [ -n "$left" ] || ip -n "$GW" link show | grep -q xdp; then
			fail $t "unload --all: exit $rc, left '$left'"
		else
			pass $t
		fi
	fi
fi

t=foreign_xdp_refused
ip -n "$GW" link set dev vwbr0 xdpgeneric obj "$(dirname "$VOIPWALL")/floor.bpf.o" sec xdp.frags 2>/dev/null ||
	ip -n "$GW" link set dev vwbr0 xdpgeneric obj "$(dirname "$VOIPWALL")/voipwall.bpf.o" sec xdp.frags 2>/dev/null
if ! ip -n "$GW" link show vwbr0 | grep -q xdp; then
	echo "SKIP $t: cannot attach a plain XDP program with ip link"
else
	run vw load vw0 vwbr0
	if expect_rc $t 1; then
		if grep -q 'vwbr0.*another XDP program' "$err" && ! ip -n "$GW" link show vw0 | grep -q xdp && [ ! -e "$PIN" ]; then
			pass $t
		else
			fail $t "$(cat "$err")"
		fi
	fi
	ip -n "$GW" link set dev vwbr0 xdpgeneric off
fi

exit 0
