#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# `make demo`: install what is missing, build, and show voipwall protecting a VoIP gateway in
# network namespaces (scripts/topology.sh): a Cloud PBX places calls, a scanner sweeps the SIP
# port, the support provider and the scanner try to log in. Prints what voipwall reports, explains
# it, tears everything down. Exits non-zero when the scene did not behave as it should.
set -u
cd "$(dirname "$0")/.." || exit 1
ROOT=$PWD
BUILD=${BUILD:-build}
PY=${PYTHON:-/usr/bin/python3}
VOIPWALL=$ROOT/$BUILD/voipwall
E2E="$PY $ROOT/tests/integration/vwe2e.py"
CALLS=10
SCANS=100

if [ -t 1 ]; then
	say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
else
	say() { printf '\n==> %s\n' "$*"; }
fi
die() {
	echo "demo: $*" >&2
	exit 1
}

[ "$(id -u)" -eq 0 ] || die "needs root (network namespaces, XDP): sudo make demo"
start=$(date +%s)

say "Installing missing Debian packages (scripts/setup.sh) and building ($BUILD/)"
scripts/setup.sh || die "scripts/setup.sh failed"
make -s --no-print-directory BUILD="$BUILD" all || die "build failed"

# shellcheck source=topology.sh
. "$ROOT/scripts/topology.sh"
topo_trap
say "Setting up namespaces: internet (PBX, support, scanner) -> gateway (voipwall) -> handset"
topo_create || die "cannot set up the topology"
T=$TOPO_TMP
CONF=$T/demo.conf
cat >"$CONF" <<EOF
# The demo's config: who may reach the gateway's SIP and management ports.
class sip   5060/udp 5060/tcp 5061/tcp
class rtp   10000-20000/udp  policy monitor
class mgmt  22/tcp 23/tcp 80/tcp 443/tcp 8080/tcp 8443/tcp 69/udp 161/udp 7547/tcp
allow sip,rtp $TOPO_PBX4 $TOPO_PBX6   # the Cloud PBX
allow mgmt    $TOPO_SUP4 $TOPO_SUP6   # the support provider
class prov  8088/udp policy open rate 2/s burst 5 ban 6s   # provisioning: open to all, limited
EOF
cat <<EOF
  internet: Cloud PBX $TOPO_PBX4, support $TOPO_SUP4, scanner $TOPO_SCAN4
  gateway:  wan0 $TOPO_GW4 (voipwall), lan0 $TOPO_GWLAN4, forwarding
  handset:  $TOPO_HS4 (behind the gateway)
EOF
sed -n '2,$p' "$CONF" | sed 's/^/  | /'

vw() { topo_gw "$VOIPWALL" --pin-dir "$TOPO_PIN" -c "$CONF" "$@"; }
say "voipwall load wan0"
vw load "$TOPO_WAN" || die "voipwall load failed"

problems=()
uas_msgs() {
	local n
	n=$(grep -c '^[A-Z]* message received \[' "$1" 2>/dev/null)
	echo "${n:-0}"
}
uas_start() { # NS ADDR NAME
	topo_bg "$1" "$T/$3.log" sipp -sn uas -i "$2" -p 5060 -t u1 -nostdin -trace_msg \
		-message_file "$T/$3.msg"
	UAS_PID=$TOPO_LAST_PID
	topo_wait_listen "$1" udp 5060
}

say "Scene 1: the Cloud PBX places $CALLS calls to the gateway and $CALLS to the handset (sipp)"
for target in "gw $TOPO_GW4" "hs $TOPO_HS4"; do
	read -r ns addr <<<"$target"
	uas_start "$ns" "$addr" "uas-calls-$ns" || { problems+=("no SIP UAS on $ns"); continue; }
	if (cd "$T" && topo_inet sipp -sn uac -i "$TOPO_PBX4" -p 5070 -t u1 -m "$CALLS" -r 10 \
		-d 100 -nostdin -timeout 20s -timeout_error "$addr:5060") >"$T/calls-$ns.log" 2>&1
	then
		echo "  $CALLS of $CALLS calls to $addr completed"
	else
		problems+=("calls from the PBX to $addr failed")
		grep -E 'Successful call|Failed call' "$T/calls-$ns.log" | tr -s ' ' | sed 's/^/  /'
	fi
	topo_stop "$UAS_PID"
done

say "Scene 2: a scanner sweeps the SIP port ($SCANS OPTIONS + $SCANS REGISTER, friendly-scanner)"
uas_start gw "$TOPO_GW4" uas-scan || problems+=("no SIP UAS on the gateway")
vw stats --prometheus >"$T/scan.a.prom" && $E2E prom "$T/scan.a.prom" >"$T/scan.a.json"
(cd "$T" && topo_inet sipp -sf "$ROOT/tests/integration/sipp_scanner.xml" -i "$TOPO_SCAN4" -p 5080 \
	-t u1 -m "$SCANS" -r 500 -nostdin -timeout 20s -timeout_error "$TOPO_GW4:5060") \
	>"$T/scan.log" 2>&1 || problems+=("the scanner's sipp failed")
sleep 0.3
topo_stop "$UAS_PID"
vw stats --prometheus >"$T/scan.b.prom" && $E2E prom "$T/scan.b.prom" >"$T/scan.b.json"
reached=$(uas_msgs "$T/uas-scan.msg")
dropped=$("$PY" -c 'import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
k = "wan0|sip|drop|not_allowlisted"
print(b.get(k, [0])[0] - a.get(k, [0])[0])' "$T/scan.a.json" "$T/scan.b.json" 2>/dev/null)
echo "  scanner sent $((2 * SCANS)) datagrams; the SIP server received $reached;" \
	"voipwall dropped ${dropped:-?}"
[ "$reached" -eq 0 ] || problems+=("$reached scanner messages reached the SIP server")
[ "${dropped:-0}" -eq $((2 * SCANS)) ] ||
	problems+=("voipwall counted ${dropped:-no} drops, not $((2 * SCANS))")

say "Scene 3: logins to SSH (22) and the web UI (80) on the gateway and the handset"
for ns in gw hs; do
	for port in 22 80; do
		topo_bg "$ns" "$T/listen-$ns-$port.log" socat "TCP-LISTEN:$port,fork,reuseaddr" \
			SYSTEM:'echo SSH-2.0-demo'
		topo_wait_listen "$ns" tcp "$port" || problems+=("no listener on $ns:$port")
	done
done
# All twelve attempts at once; a dropped SYN gets no answer, so each waits 1.5 s at most.
i=0 probes=()
for who in "support $TOPO_SUP4 open" "scanner $TOPO_SCAN4 closed" "pbx $TOPO_PBX4 closed"; do
	read -r name src want <<<"$who"
	for dst in "$TOPO_GW4 22" "$TOPO_GW4 80" "$TOPO_HS4 22" "$TOPO_HS4 80"; do
		read -r addr port <<<"$dst"
		i=$((i + 1))
		(
			got=closed
			topo_inet $E2E tcp-probe "$src" "$addr" "$port" 1.5 && got=open
			echo "$name $src $addr $port $want $got" >"$T/probe.$(printf %02d $i)"
		) &
		probes+=($!)
	done
done
wait "${probes[@]}"
for f in "$T"/probe.*; do
	read -r name src addr port want got <"$f"
	printf '  %-8s %-12s -> %s:%-3s %s\n' "$name" "$src" "$addr" "$port" \
		"$([ "$got" = open ] && echo "connected" || echo "no answer (dropped)")"
	[ "$got" = "$want" ] || problems+=("$name -> $addr:$port was $got, expected $want")
done

# udp_burst SRC PORT COUNT: COUNT datagrams from SRC (in the internet namespace) to the gateway.
udp_burst() {
	topo_inet "$PY" -c 'import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 0))
for _ in range(int(sys.argv[4])):
    s.sendto(b"GET /cfg", (sys.argv[2], int(sys.argv[3])))' "$1" "$TOPO_GW4" "$2" "$3"
}
# prov_delta A B: "open rate_limited banned blocklisted" packet deltas of class prov on wan0
prov_delta() {
	"$PY" -c 'import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
d = lambda k: b.get(k, [0])[0] - a.get(k, [0])[0]
print(*(d("wan0|prov|%s" % k) for k in ("pass|open", "drop|rate_limited", "drop|banned", "drop|blocklisted")))' "$1" "$2"
}
prov_snap() { vw stats --prometheus >"$T/$1.prom" && $E2E prom "$T/$1.prom" >"$T/$1.json"; }

say "Scene 4: the scanner floods the open provisioning port (class prov: rate 2/s burst 5 ban 6s)"
prov_snap p0
udp_burst "$TOPO_SCAN4" 8088 40
prov_snap p1
read -r open limited banned _ <<<"$(prov_delta "$T/p0.json" "$T/p1.json")"
echo "  40 datagrams at once: $open passed (open), $limited rate-limited, then $banned banned"
vw top -n 3
{ [ "${open:-0}" -ge 5 ] && [ "${limited:-0}" -ge 1 ] && [ "${banned:-0}" -ge 1 ]; } ||
	problems+=("the flood was not limited then banned (open $open, limited $limited, banned $banned)")
echo "  ...waiting 7 s for the ban to end by itself"
sleep 7
prov_snap p2
udp_burst "$TOPO_SCAN4" 8088 1
prov_snap p3
read -r open limited banned _ <<<"$(prov_delta "$T/p2.json" "$T/p3.json")"
echo "  after the ban: $open passed, $banned banned"
[ "${open:-0}" -eq 1 ] || problems+=("the scanner was not let in again after its ban")

say "Scene 5: a fail2ban-style block cuts the scanner off (voipwall block add --set fail2ban --for 10m)"
vw block add --set fail2ban --for 10m "$TOPO_SCAN4" || problems+=("voipwall block add failed")
vw block list
udp_burst "$TOPO_SCAN4" 8088 3
prov_snap p4
read -r open _ _ blocked <<<"$(prov_delta "$T/p3.json" "$T/p4.json")"
echo "  3 datagrams: $open passed, $blocked dropped as blocklisted"
[ "${blocked:-0}" -eq 3 ] && [ "${open:-0}" -eq 0 ] ||
	problems+=("the blocked scanner was not dropped ($blocked blocklisted, $open passed)")

say "voipwall status"
vw status
say "voipwall stats"
vw stats
say "voipwall top"
vw top | tee "$T/top.txt"
first=$(grep -oE '([0-9]{1,3}\.){3}[0-9]{1,3}' "$T/top.txt" | head -n1)
[ "$first" = "$TOPO_SCAN4" ] ||
	problems+=("voipwall top lists ${first:-nobody} first, not the scanner")

say "What the operator sees"
cat <<EOF
  - status: the filter is attached to wan0 in native XDP mode, with the classes of the config,
    their ports, policy and allowlist sizes.
  - stats: the PBX's signalling is counted under class sip, verdict pass, reason allowlisted; the
    scanner's $((2 * SCANS)) probes under sip / drop / not_allowlisted, dropped at the driver before
    the SIP server (or the kernel's socket layer) saw them. Support's logins pass under mgmt /
    allowlisted; the scanner's and the PBX's SYNs to 22 and 80 are mgmt / drop / not_allowlisted.
    Everything else (ARP, neighbour discovery, other ports) passes as unprotected or non_ip.
  - top: the scanner $TOPO_SCAN4 heads the list of sources being dropped: the address to
    report or to block upstream; its STATE column says it is blocked (set fail2ban) and for how
    long.
  - flood control: on the open class prov the scanner got its burst (5), then rate_limited, then
    banned for 6 s, then was let in again with no command; the block set fail2ban then cut it off
    (blocklisted) until the entry expires or fail2ban unbans it.
EOF

say "Tearing down"
vw unload --all >/dev/null || problems+=("voipwall unload failed")
topo_destroy
trap - EXIT INT TERM HUP

if [ "${#problems[@]}" -ne 0 ]; then
	echo "demo: the scene did not behave:" >&2
	printf '  - %s\n' "${problems[@]}" >&2
	exit 1
fi
echo "demo: everything behaved as expected ($(($(date +%s) - start)) s)"
