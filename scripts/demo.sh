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
    report or to block upstream.
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
