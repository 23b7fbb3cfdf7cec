#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# End to end: real SIP peers (sipp), scanners, management logins, fragments, monitor policy, pcap
# replay and reload under load, through the namespaces of scripts/topology.sh with voipwall on
# the gateway's WAN veth. Judged by what arrives and by voipwall's own counters.
# One PASS/FAIL/SKIP line per test (tests/run.sh protocol); everything else is log.
set -u
cd "$(dirname "$0")/../.." || exit 1
ROOT=$PWD
BUILD=${BUILD:-build}
VOIPWALL=${VOIPWALL:-$ROOT/$BUILD/voipwall}
PY=${PYTHON:-/usr/bin/python3}
HERE=$ROOT/tests/integration
E2E="$PY $HERE/vwe2e.py"
PCAPS=${PCAPS:-$ROOT/../shared/pcaps}
CALLS=${CALLS:-5}

# shellcheck source=../../scripts/topology.sh
. "$ROOT/scripts/topology.sh"

pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; }
skip() { echo "SKIP $1: $2"; }
log() { echo "# $*"; }

# Every test name, so a failed set-up reports each of them instead of vanishing silently.
ALL_TESTS=(load sipp_calls_udp4 sipp_calls_tcp4 sipp_calls_udp6 sipp_calls_tcp6 scanner_flood
	scanner_top mgmt_support mgmt_pbx_refused mgmt_scanner_refused mgmt_counters unprotected_9999
	fragmented_invite_pbx fragmented_invite_scanner monitor_policy replay_allowlisted
	replay_not_allowlisted reload_under_load unload)

skip_all() {
	local t
	for t in "${ALL_TESTS[@]}"; do
		skip "$t" "$1"
	done
	exit 0
}

if [ "$(id -u)" -ne 0 ]; then
	skip_all "needs root (network namespaces, XDP)"
fi
for tool in sipp socat ss; do
	command -v "$tool" >/dev/null || { fail load "$tool not installed (run scripts/setup.sh)"; exit 1; }
done
"$PY" -c 'import scapy' 2>/dev/null || { fail load "$PY has no scapy (python3-scapy)"; exit 1; }
[ -x "$VOIPWALL" ] || { fail load "$VOIPWALL not built (make BUILD=$BUILD all)"; exit 1; }

topo_trap
topo_create || { fail load "cannot create the topology"; exit 1; }
T=$TOPO_TMP
CONF=$T/voipwall.conf
cp "$HERE/e2e.conf" "$CONF"

vw() { topo_gw "$VOIPWALL" --pin-dir "$TOPO_PIN" -c "$CONF" "$@"; }

# snap NAME: counters now, as $T/NAME.json ({"iface|class|verdict|reason": [packets, bytes]}).
snap() {
	vw stats --prometheus >"$T/$1.prom" 2>"$T/$1.err" || {
		log "voipwall stats --prometheus failed: $(cat "$T/$1.err")"
		return 1
	}
	$E2E prom "$T/$1.prom" >"$T/$1.json"
}

# expect NAME A B IFACE ARGS...: counter deltas between snapshots A and B (see vwe2e.py expect).
expect() {
	local name=$1 a=$2 b=$3 iface=$4 out
	shift 4
	if out=$($E2E expect "$T/$a.json" "$T/$b.json" "$iface" "$@"); then
		return 0
	fi
	fail "$name" "counters on $iface: $out"
	return 1
}

# Messages a sipp UAS logged as received (its -message_file).
uas_msgs() {
	local n
	n=$(grep -c '^[A-Z]* message received \[' "$1" 2>/dev/null)
	echo "${n:-0}"
}

# Start a sipp UAS in namespace NS on ADDR, transport u1|t1; message log $T/NAME.msg.
uas_start() {
	local ns=$1 addr=$2 tr=$3 name=$4 proto=udp
	[ "$tr" = t1 ] && proto=tcp
	rm -f "$T/$name.msg"
	topo_bg "$ns" "$T/$name.log" sipp -sn uas -i "$addr" -p 5060 -t "$tr" -nostdin \
		-trace_msg -message_file "$T/$name.msg"
	UAS_PID=$TOPO_LAST_PID
	topo_wait_listen "$ns" "$proto" 5060
}

# recv_start NS ADDR PORT OUT: a UDP receiver appending each datagram's length to OUT, which it
# creates once bound; waits for that (5 s). Its pid is left in RECV_PID.
recv_start() {
	local ns=$1 addr=$2 port=$3 out=$4 i
	rm -f "$out"
	topo_bg "$ns" "$out.log" $E2E udp-recv "$addr" "$port" "$out"
	RECV_PID=$TOPO_LAST_PID
	for ((i = 0; i < 100; i++)); do
		[ -e "$out" ] && return 0
		kill -0 "$RECV_PID" 2>/dev/null || break
		sleep 0.05
	done
	log "UDP receiver on $ns $addr:$port did not start: $(tr '\n' ' ' <"$out.log")"
	return 1
}

# run GROUP CMD...: E2E_ONLY=regex (for debugging) runs only the groups it matches.
run() {
	local group=$1
	shift
	if [ -n "${E2E_ONLY:-}" ] && ! grep -qE -- "$E2E_ONLY" <<<"$group"; then
		return 0
	fi
	"$@"
}

brk() { [[ "$1" == *:* ]] && echo "[$1]" || echo "$1"; }
fam() { [[ "$1" == *:* ]] && echo 6 || echo 4; }

# ---- load --------------------------------------------------------------------------------------
if ! vw load "$TOPO_WAN" "$TOPO_RPL" --mode native >"$T/load.log" 2>&1; then
	fail load "voipwall load $TOPO_WAN $TOPO_RPL --mode native: $(tr '\n' ' ' <"$T/load.log")"
	for t in "${ALL_TESTS[@]:1}"; do
		skip "$t" "voipwall did not load"
	done
	exit 1
fi
vw status >"$T/status.log" 2>&1
if grep -q "$TOPO_WAN" "$T/status.log" && grep -q "$TOPO_RPL" "$T/status.log"; then
	pass load
else
	fail load "voipwall status does not list $TOPO_WAN and $TOPO_RPL: $(tr '\n' ' ' <"$T/status.log")"
fi
cat "$T/status.log"

# ---- sipp calls from the PBX to a UAS on the gateway and on the handset -------------------------
# Every call must complete; the signalling must be counted as sip/pass/allowlisted and nothing of
# it dropped. At least INVITE, ACK and BYE of each call reach the UAS.
sipp_calls() {
	local name=$1 tr=$2 fam=$3 src dst ns rc bad=
	if [ "$fam" = 4 ]; then src=$TOPO_PBX4; else src=$TOPO_PBX6; fi
	snap "$name.a" || { fail "$name" "no counters"; return; }
	for ns in gw hs; do
		if [ "$ns" = gw ]; then
			[ "$fam" = 4 ] && dst=$TOPO_GW4 || dst=$TOPO_GW6
		else
			[ "$fam" = 4 ] && dst=$TOPO_HS4 || dst=$TOPO_HS6
		fi
		uas_start "$ns" "$dst" "$tr" "$name-$ns" || { bad+="UAS on $ns did not start; "; continue; }
		(cd "$T" && topo_inet sipp -sn uac -i "$src" -p 5070 -t "$tr" -m "$CALLS" -r 10 -d 100 \
			-nostdin -timeout 20s -timeout_error "$(brk "$dst"):5060") >"$T/$name-$ns.uac" 2>&1
		rc=$?
		topo_stop "$UAS_PID"
		if [ "$rc" -ne 0 ]; then
			bad+="sipp UAC to $ns exited $rc ($(grep -E 'Failed call|Successful call' \
				"$T/$name-$ns.uac" | tr -s ' |' ' ' | tr '\n' ' ')); "
		elif [ "$(uas_msgs "$T/$name-$ns.msg")" -lt $((3 * CALLS)) ]; then
			bad+="UAS on $ns logged $(uas_msgs "$T/$name-$ns.msg") messages, want >= $((3 * CALLS)); "
		fi
	done
	snap "$name.b" || { fail "$name" "no counters"; return; }
	if [ -n "$bad" ]; then
		fail "$name" "$bad"
		return
	fi
	# Two UASes, >= 3 messages per call each (TCP adds handshake segments): at least that many.
	expect "$name" "$name.a" "$name.b" "$TOPO_WAN" --noise --at-least \
		"sip|pass|allowlisted=$((6 * CALLS))" || return
	pass "$name"
}
run sipp sipp_calls sipp_calls_udp4 u1 4
run sipp sipp_calls sipp_calls_tcp4 t1 4
run sipp sipp_calls sipp_calls_udp6 u1 6
run sipp sipp_calls sipp_calls_tcp6 t1 6

# ---- scanner: friendly-scanner OPTIONS/REGISTER flood -------------------------------------------
# Three scans of SCANS calls (2 datagrams each): gateway over IPv4 and IPv6, handset over IPv4.
SCANS=25
scanner_flood() {
	local bad='' ns dst src rc n sent=0
	snap scan.a || { fail scanner_flood "no counters"; return; }
	for target in "gw $TOPO_GW4 $TOPO_SCAN4" "gw $TOPO_GW6 $TOPO_SCAN6" "hs $TOPO_HS4 $TOPO_SCAN4"; do
		read -r ns dst src <<<"$target"
		uas_start "$ns" "$dst" u1 "scan-$ns" || { bad+="UAS on $ns did not start; "; continue; }
		(cd "$T" && topo_inet sipp -sf "$HERE/sipp_scanner.xml" -i "$src" -p 5080 -t u1 \
			-m "$SCANS" -r 200 -nostdin -timeout 20s -timeout_error "$(brk "$dst"):5060") \
			>"$T/scan-$ns.log" 2>&1
		rc=$?
		sleep 0.2
		topo_stop "$UAS_PID"
		[ "$rc" -eq 0 ] || bad+="the scanner's sipp exited $rc; "
		sent=$((sent + 2 * SCANS))
		n=$(uas_msgs "$T/scan-$ns.msg")
		[ "$n" -eq 0 ] || bad+="UAS on $ns ($dst) received $n scanner messages; "
	done
	snap scan.b || { fail scanner_flood "no counters"; return; }
	if [ -n "$bad" ]; then
		fail scanner_flood "$bad"
		return
	fi
	expect scanner_flood scan.a scan.b "$TOPO_WAN" --noise "sip|drop|not_allowlisted=$sent" ||
		return
	log "scanner sent $sent datagrams, all dropped as sip/drop/not_allowlisted"
	pass scanner_flood
}
run scanner scanner_flood

# `voipwall top` must list the scanner first (its IPv4 address sent the most).
scanner_top() {
	local first
	if ! vw top >"$T/top.log" 2>&1; then
		fail scanner_top "voipwall top failed: $(tr '\n' ' ' <"$T/top.log")"
		return
	fi
	cat "$T/top.log"
	first=$(grep -oE '([0-9]{1,3}\.){3}[0-9]{1,3}|[0-9a-f]*:[0-9a-f:]*:[0-9a-f]+' "$T/top.log" |
		head -n1)
	if [ "$first" = "$TOPO_SCAN4" ]; then
		pass scanner_top
	else
		fail scanner_top "first source listed is '$first', expected $TOPO_SCAN4"
	fi
}
run scanner scanner_top

# ---- management ports 22 and 80 on the gateway and the handset ---------------------------------
# socat listeners greet each connection; the support address gets in, the PBX (allowlisted for sip
# only) and the scanner do not. Probes run in parallel; a refused one times out after 2 s.
mgmt() {
	local ns addr port src name pids=() results=$T/mgmt.results bad
	for ns in gw hs; do
		for port in 22 80; do
			topo_bg "$ns" "$T/listen-$ns-$port.log" socat "TCP6-LISTEN:$port,fork,reuseaddr,ipv6only=0" \
				SYSTEM:'echo voipwall-e2e'
			topo_wait_listen "$ns" tcp "$port" || { fail mgmt_support "no listener"; return; }
		done
	done
	snap mgmt.a || { fail mgmt_counters "no counters"; return; }
	: >"$results"
	for who in "support $TOPO_SUP4 $TOPO_SUP6" "pbx $TOPO_PBX4 $TOPO_PBX6" \
		"scanner $TOPO_SCAN4 $TOPO_SCAN6"; do
		read -r name s4 s6 <<<"$who"
		for dst in "$s4 $TOPO_GW4" "$s4 $TOPO_HS4" "$s6 $TOPO_GW6" "$s6 $TOPO_HS6"; do
			read -r src addr <<<"$dst"
			for port in 22 80; do
				(
					if topo_inet $E2E tcp-probe "$src" "$addr" "$port" 2; then
						echo "$name $src $addr $port open" >>"$results"
					else
						echo "$name $src $addr $port closed" >>"$results"
					fi
				) &
				pids+=($!)
			done
		done
	done
	wait "${pids[@]}"
	snap mgmt.b || { fail mgmt_counters "no counters"; return; }
	sort "$results"
	bad=$(awk '$1 == "support" && $5 != "open" {printf "%s -> %s:%s refused; ", $2, $3, $4}' "$results")
	n=$(awk '$1 == "support" && $5 == "open"' "$results" | wc -l)
	if [ -z "$bad" ] && [ "$n" -eq 8 ]; then
		pass mgmt_support
	else
		fail mgmt_support "${bad}$n of 8 connections from support succeeded"
	fi
	for name in pbx scanner; do
		bad=$(awk -v w=$name '$1 == w && $5 != "closed" {printf "%s -> %s:%s got in; ", $2, $3, $4}' "$results")
		n=$(awk -v w=$name '$1 == w && $5 == "closed"' "$results" | wc -l)
		if [ -z "$bad" ] && [ "$n" -eq 8 ]; then
			pass "mgmt_${name}_refused"
		else
			fail "mgmt_${name}_refused" "${bad}$n of 8 connections refused"
		fi
	done
	# 8 connections got in (SYN, ACK, ...: at least 2 packets each); 16 were refused, each SYN
	# (and its retransmissions) dropped. Nothing else moves but neighbour discovery.
	expect mgmt_counters mgmt.a mgmt.b "$TOPO_WAN" --noise --at-least "mgmt|pass|allowlisted=16" \
		"mgmt|drop|not_allowlisted=16" && pass mgmt_counters
}
run mgmt mgmt

# ---- unprotected 9999/udp from everyone ----------------------------------------------------------
unprotected() {
	local ns addr src bad='' n per=5
	snap unp.a || { fail unprotected_9999 "no counters"; return; }
	for dst in "gw $TOPO_GW4" "gw $TOPO_GW6" "hs $TOPO_HS4" "hs $TOPO_HS6"; do
		read -r ns addr <<<"$dst"
		recv_start "$ns" "$addr" 9999 "$T/unp-$ns-$addr.rx" || { bad+="no receiver on $addr; "; continue; }
		local rpid=$RECV_PID
		for src in $TOPO_PBX4 $TOPO_SUP4 $TOPO_SCAN4 $TOPO_PBX6 $TOPO_SUP6 $TOPO_SCAN6; do
			# Same family only.
			if [ "$(fam "$src")" = "$(fam "$addr")" ]; then
				topo_inet $E2E udp-send "$src" "$addr" 9999 $per 100 || bad+="send from $src failed; "
			fi
		done
		sleep 0.2
		topo_stop "$rpid"
		n=$(wc -l <"$T/unp-$ns-$addr.rx")
		[ "$n" -eq $((3 * per)) ] || bad+="$addr received $n of $((3 * per)) datagrams; "
	done
	snap unp.b || { fail unprotected_9999 "no counters"; return; }
	if [ -n "$bad" ]; then
		fail unprotected_9999 "$bad"
		return
	fi
	expect unprotected_9999 unp.a unp.b "$TOPO_WAN" --noise --at-least \
		"none|pass|unprotected=$((12 * per))" && pass unprotected_9999
}
run unprotected unprotected

# ---- a SIP INVITE fragmented at MTU 1500 -------------------------------------------------------
# A UDP listener on 5060 records each datagram's length. Fragment counts follow from the MTU:
# 1480 bytes of IPv4 payload per fragment, 1448 of IPv6 (40-byte header + 8-byte fragment header).
INVITE=4000
frags_of() { # family -> fragments of one INVITE datagram
	local per=1480
	[ "$1" = 6 ] && per=1448
	echo $(((INVITE + 8 + per - 1) / per))
}
fragmented() {
	local who=$1 name=$2 want_rx=$3 verdict=$4 reason=$5 s4 s6 ns addr src n bad='' first=0 later=0
	if [ "$who" = pbx ]; then s4=$TOPO_PBX4 s6=$TOPO_PBX6; else s4=$TOPO_SCAN4 s6=$TOPO_SCAN6; fi
	snap "$name.a" || { fail "$name" "no counters"; return; }
	for dst in "gw $TOPO_GW4 $s4 4" "gw $TOPO_GW6 $s6 6" "hs $TOPO_HS4 $s4 4" "hs $TOPO_HS6 $s6 6"; do
		read -r ns addr src fam <<<"$dst"
		recv_start "$ns" "$addr" 5060 "$T/$name-$ns-$fam.rx" || { bad+="no receiver on $addr; "; continue; }
		local rpid=$RECV_PID
		topo_inet $E2E invite "$src" "$addr" 5060 "$INVITE" || bad+="send to $addr failed; "
		sleep 0.2
		topo_stop "$rpid"
		first=$((first + 1))
		later=$((later + $(frags_of "$fam") - 1))
		n=$(grep -c "^$INVITE\$" "$T/$name-$ns-$fam.rx")
		if [ "$want_rx" = whole ] && [ "$n" -ne 1 ]; then
			bad+="$addr received $(tr '\n' ' ' <"$T/$name-$ns-$fam.rx")instead of one $INVITE-byte datagram; "
		elif [ "$want_rx" = none ] && [ -s "$T/$name-$ns-$fam.rx" ]; then
			bad+="$addr received $(tr '\n' ' ' <"$T/$name-$ns-$fam.rx")from the scanner; "
		fi
	done
	snap "$name.b" || { fail "$name" "no counters"; return; }
	if [ -n "$bad" ]; then
		fail "$name" "$bad"
		return
	fi
	log "$name: $first first fragments sip/$verdict/$reason, $later later ones sip/$verdict/fragment"
	expect "$name" "$name.a" "$name.b" "$TOPO_WAN" --noise "sip|$verdict|$reason=$first" \
		"sip|$verdict|fragment=$later" && pass "$name"
}
run fragment fragmented pbx fragmented_invite_pbx whole pass allowlisted
run fragment fragmented scanner fragmented_invite_scanner none drop not_allowlisted

# ---- monitor policy: rtp (10000-20000/udp) is "policy monitor" in e2e.conf ---------------------
monitor_policy() {
	local n bad=''
	snap mon.a || { fail monitor_policy "no counters"; return; }
	recv_start gw "$TOPO_GW4" 10000 "$T/mon.rx" || { fail monitor_policy "no receiver"; return; }
	local rpid=$RECV_PID
	topo_inet $E2E udp-send "$TOPO_SCAN4" "$TOPO_GW4" 10000 20 172 || bad+="scanner send failed; "
	topo_inet $E2E udp-send "$TOPO_PBX4" "$TOPO_GW4" 10000 10 172 || bad+="PBX send failed; "
	sleep 0.2
	topo_stop "$rpid"
	snap mon.b || { fail monitor_policy "no counters"; return; }
	n=$(wc -l <"$T/mon.rx")
	[ "$n" -eq 30 ] || bad+="the listener received $n of 30 datagrams; "
	if [ -n "$bad" ]; then
		fail monitor_policy "$bad"
		return
	fi
	# 172-byte payload: 14 + 20 + 8 + 172 = 214 bytes per frame.
	expect monitor_policy mon.a mon.b "$TOPO_WAN" --noise "rtp|monitor|not_allowlisted=20:4280" \
		"rtp|pass|allowlisted=10:2140" && pass monitor_policy
}
run monitor monitor_policy

# ---- replay of real captures on the replay link (rpl1 -> rpl0, nothing else on it) -------------
replay() {
	local name=$1 s4=$2 s6=$3 pcap smac dmac bad='' i
	smac=$(topo_inet cat "/sys/class/net/$TOPO_INET_RPL/address")
	dmac=$(topo_gw cat "/sys/class/net/$TOPO_RPL/address")
	for pcap in sv_sip-method_sip.pcap ndpi_sip.pcap sv_sip-options-method_input.pcap \
		sv_sip-body-frames_public-cloudshark-sip-s0.pcap sv_exception-policy-defrag-01_ipv4frags.pcap; do
		if [ ! -r "$PCAPS/$pcap" ]; then
			bad+="$PCAPS/$pcap missing; "
			continue
		fi
		snap "$name-$pcap.a" || { bad+="no counters; "; continue; }
		if ! topo_inet $E2E replay "$PCAPS/$pcap" "$CONF" "$TOPO_INET_RPL" "$smac" "$dmac" \
			"$s4" "$s6" "$TOPO_GW4" "$TOPO_GW6" "$T/$name-$pcap.exp" >"$T/replay.log" 2>&1; then
			bad+="replay of $pcap failed: $(tail -n3 "$T/replay.log" | tr '\n' ' '); "
			continue
		fi
		# Expected "class|verdict|reason=packets:bytes" from the capture itself.
		mapfile -t want < <("$PY" -c 'import json,sys
for k, v in sorted(json.load(open(sys.argv[1])).items()): print("%s=%d:%d" % (k, v[0], v[1]))' \
			"$T/$name-$pcap.exp")
		log "$name $pcap: expected ${want[*]}"
		# The frames are counted as they arrive: wait for the totals, up to 5 s.
		for ((i = 0; i < 50; i++)); do
			snap "$name-$pcap.b" || break
			$E2E expect "$T/$name-$pcap.a.json" "$T/$name-$pcap.b.json" "$TOPO_RPL" "${want[@]}" \
				>/dev/null && break
			sleep 0.1
		done
		out=$($E2E expect "$T/$name-$pcap.a.json" "$T/$name-$pcap.b.json" "$TOPO_RPL" "${want[@]}") ||
			bad+="$pcap: $out; "
	done
	if [ -n "$bad" ]; then
		fail "$name" "$bad"
	else
		pass "$name"
	fi
}
run replay replay replay_allowlisted "$TOPO_PBX4" "$TOPO_PBX6"
run replay replay replay_not_allowlisted "$TOPO_SCAN4" "$TOPO_SCAN6"

# ---- reload while the PBX places calls ---------------------------------------------------------
# sipp places RELOAD_CALLS calls at 20 calls/s (calls last 500 ms, so ~10 are up at any time)
# while the config is reloaded every 0.3 s, alternating e2e.conf and a variant that adds
# unrelated rules. Every call must complete and every reload succeed.
reload_under_load() {
	local calls=60 uac rc bad='' i ok=0 tries=0
	cp "$HERE/e2e.conf" "$T/conf.a"
	{ cat "$HERE/e2e.conf"; echo "allow sip 198.18.200.0/24 2001:db8:200::/48"; } >"$T/conf.b"
	snap rl.a || { fail reload_under_load "no counters"; return; }
	uas_start gw "$TOPO_GW4" u1 reload || { fail reload_under_load "UAS did not start"; return; }
	local uas=$UAS_PID
	(cd "$T" && topo_inet sipp -sn uac -i "$TOPO_PBX4" -p 5070 -t u1 -m "$calls" -r 20 -d 500 \
		-nostdin -timeout 30s -timeout_error "$TOPO_GW4:5060") >"$T/reload-uac.log" 2>&1 &
	uac=$!
	sleep 0.5
	while kill -0 "$uac" 2>/dev/null; do
		if [ $((tries % 2)) -eq 0 ]; then cp "$T/conf.b" "$CONF"; else cp "$T/conf.a" "$CONF"; fi
		tries=$((tries + 1))
		if vw reload >"$T/reload-$tries.log" 2>&1; then
			ok=$((ok + 1))
		else
			bad+="reload $tries failed: $(tr '\n' ' ' <"$T/reload-$tries.log"); "
		fi
		sleep 0.3
	done
	wait "$uac"
	rc=$?
	topo_stop "$uas"
	cp "$T/conf.a" "$CONF"
	snap rl.b || { fail reload_under_load "no counters"; return; }
	[ "$rc" -eq 0 ] || bad+="sipp exited $rc ($(grep -E 'Failed call|Successful call' \
		"$T/reload-uac.log" | tr -s ' |' ' ' | tr '\n' ' ')); "
	[ "$ok" -ge 3 ] || bad+="only $ok reloads ran during the calls; "
	if [ -n "$bad" ]; then
		fail reload_under_load "$bad"
		return
	fi
	log "reload_under_load: $calls calls completed, $ok reloads during them"
	expect reload_under_load rl.a rl.b "$TOPO_WAN" --noise --at-least \
		"sip|pass|allowlisted=$((3 * calls))" && pass reload_under_load
}
run reload reload_under_load

# ---- unload --------------------------------------------------------------------------------------
if ! vw unload --all >"$T/unload.log" 2>&1; then
	fail unload "voipwall unload --all: $(tr '\n' ' ' <"$T/unload.log")"
elif topo_gw ip -d link show "$TOPO_WAN" | grep -q 'prog/xdp'; then
	fail unload "an XDP program is still attached to $TOPO_WAN"
elif [ -n "$(ls -A "$TOPO_PIN" 2>/dev/null)" ]; then
	fail unload "pinned state left in $TOPO_PIN: $(ls "$TOPO_PIN" | tr '\n' ' ')"
else
	pass unload
fi
exit 0
