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
PCAPS=${PCAPS:-$ROOT/tests/data/pcaps}
CALLS=${CALLS:-5}

# shellcheck source=../../scripts/topology.sh
. "$ROOT/scripts/topology.sh"

pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; }
skip() { echo "SKIP $1: $2"; }
log() { echo "# $*"; }

# Every test name, so a failed set-up reports each of them instead of vanishing silently.
ALL_TESTS=(load sipp_calls_udp4 sipp_calls_tcp4 sipp_calls_udp6 sipp_calls_tcp6 scanner_flood
	scanner_top mgmt_support mgmt_pbx_refused mgmt_scanner_refused mgmt_counters
	unprotected_9999 fragmented_invite_pbx fragmented_invite_scanner monitor_policy
	replay_allowlisted replay_not_allowlisted crafted_vlan_sctp reload_under_load unload
	service_unit install_layout)

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
	if ! command -v "$tool" >/dev/null; then
		fail load "$tool not installed (run scripts/setup.sh)"
		exit 1
	fi
done
"$PY" -c 'import scapy' 2>/dev/null || { fail load "$PY has no scapy (python3-scapy)"; exit 1; }
[ -x "$VOIPWALL" ] || { fail load "$VOIPWALL not built (make BUILD=$BUILD all)"; exit 1; }

topo_trap
topo_create || { fail load "cannot create the topology"; exit 1; }
T=$TOPO_TMP
CONF=$T/voipwall.conf
cp "$HERE/e2e.conf" "$CONF"

vw() { topo_gw "$VOIPWALL" --pin-dir "$TOPO_PIN" -c "$CONF" "$@"; }

# snap NAME: counters now, as $T/NAME.counters (the Prometheus text, which vwe2e.py expect reads).
snap() {
	vw stats --prometheus >"$T/$1.counters" 2>"$T/$1.err" || {
		log "voipwall stats --prometheus failed: $(cat "$T/$1.err")"
		return 1
	}
}

# expect NAME A B IFACE ARGS...: counter deltas between snapshots A and B (see vwe2e.py expect).
expect() {
	local name=$1 a=$2 b=$3 iface=$4 out
	shift 4
	if out=$($E2E expect "$T/$a.counters" "$T/$b.counters" "$iface" "$@"); then
		return 0
	fi
	fail "$name" "counters on $iface: $out"
	return 1
}

# settle A B IFACE KEY=N...: snapshot B until the deltas since A on IFACE are exactly those (frames
# are counted as they arrive, a little after they are sent), up to 5 s; else print what differed.
settle() {
	local a=$1 b=$2 iface=$3 i
	shift 3
	for ((i = 0; i < 50; i++)); do
		snap "$b" || return 1
		$E2E expect "$T/$a.counters" "$T/$b.counters" "$iface" "$@" >/dev/null && return 0
		sleep 0.1
	done
	$E2E expect "$T/$a.counters" "$T/$b.counters" "$iface" "$@"
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

# A file's lines joined by spaces, for one-line messages.
oneline() { tr '\n' ' ' <"$1"; }

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
	fail load "voipwall status lists no $TOPO_WAN and $TOPO_RPL: $(oneline "$T/status.log")"
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
		if ! uas_start "$ns" "$dst" "$tr" "$name-$ns"; then
			bad+="UAS on $ns did not start; "
			continue
		fi
		(cd "$T" && topo_inet sipp -sn uac -i "$src" -p 5070 -t "$tr" -m "$CALLS" -r 10 \
			-d 100 -nostdin -timeout 20s -timeout_error "$(brk "$dst"):5060") \
			>"$T/$name-$ns.uac" 2>&1
		rc=$?
		topo_stop "$UAS_PID"
		if [ "$rc" -ne 0 ]; then
			bad+="sipp UAC to $ns exited $rc ($(grep -E 'Failed call|Successful call' \
				"$T/$name-$ns.uac" | tr -s ' |' ' ' | tr '\n' ' ')); "
		elif [ "$(uas_msgs "$T/$name-$ns.msg")" -lt $((3 * CALLS)) ]; then
			bad+="UAS on $ns logged $(uas_msgs "$T/$name-$ns.msg") messages,"
			bad+=" want >= $((3 * CALLS)); "
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
	for target in "gw $TOPO_GW4 $TOPO_SCAN4" "gw $TOPO_GW6 $TOPO_SCAN6" \
		"hs $TOPO_HS4 $TOPO_SCAN4"; do
		read -r ns dst src <<<"$target"
		if ! uas_start "$ns" "$dst" u1 "scan-$ns"; then
			bad+="UAS on $ns did not start; "
			continue
		fi
		(cd "$T" && topo_inet sipp -sf "$HERE/sipp_scanner.xml" -i "$src" -p 5080 -t u1 \
			-m "$SCANS" -r 200 -nostdin -timeout 20s -timeout_error \
			"$(brk "$dst"):5060") >"$T/scan-$ns.log" 2>&1
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
	# `voipwall -j stats` must tell the same (nothing else is dropped meanwhile).
	if ! vw -j stats >"$T/scan.c.raw" 2>&1 || ! $E2E json "$T/scan.c.raw" >"$T/scan.c.counters"; then
		fail scanner_flood "voipwall -j stats: $(oneline "$T/scan.c.raw")"
		return
	fi
	expect scanner_flood scan.b scan.c "$TOPO_WAN" --noise || return
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
# only) and the scanner do not. Probes run at once (one process); a refused one times out after 3 s.
mgmt() {
	local ns addr port src name probes=() results=$T/mgmt.results bad
	for ns in gw hs; do
		for port in 22 80; do
			topo_bg "$ns" "$T/listen-$ns-$port.log" socat \
				"TCP6-LISTEN:$port,fork,reuseaddr,ipv6only=0" SYSTEM:'echo voipwall-e2e'
			if ! topo_wait_listen "$ns" tcp "$port"; then
				fail mgmt_support "no listener"
				return
			fi
		done
	done
	snap mgmt.a || { fail mgmt_counters "no counters"; return; }
	for who in "support $TOPO_SUP4 $TOPO_SUP6" "pbx $TOPO_PBX4 $TOPO_PBX6" \
		"scanner $TOPO_SCAN4 $TOPO_SCAN6"; do
		read -r name s4 s6 <<<"$who"
		for dst in "$s4 $TOPO_GW4" "$s4 $TOPO_HS4" "$s6 $TOPO_GW6" "$s6 $TOPO_HS6"; do
			read -r src addr <<<"$dst"
			for port in 22 80; do
				probes+=("$name,$src,$addr,$port")
			done
		done
	done
	# all at once (one process, a thread each): "NAME SRC DST PORT open|closed" per probe
	topo_inet $E2E tcp-probes 3 "${probes[@]}" >"$results"
	snap mgmt.b || { fail mgmt_counters "no counters"; return; }
	sort "$results"
	bad=$(awk '$1 == "support" && $5 != "open" {printf "%s -> %s:%s refused; ", $2, $3, $4}' \
		"$results")
	n=$(awk '$1 == "support" && $5 == "open"' "$results" | wc -l)
	if [ -z "$bad" ] && [ "$n" -eq 8 ]; then
		pass mgmt_support
	else
		fail mgmt_support "${bad}$n of 8 connections from support succeeded"
	fi
	for name in pbx scanner; do
		bad=$(awk -v w="$name" \
			'$1 == w && $5 != "closed" {printf "%s -> %s:%s got in; ", $2, $3, $4}' "$results")
		n=$(awk -v w=$name '$1 == w && $5 == "closed"' "$results" | wc -l)
		if [ -z "$bad" ] && [ "$n" -eq 8 ]; then
			pass "mgmt_${name}_refused"
		else
			fail "mgmt_${name}_refused" "${bad}$n of 8 connections refused"
		fi
	done
	# 8 connections got in (SYN, ACK, ...: at least 2 packets each); 16 were refused, each SYN
	# (and its retransmissions) dropped. Nothing else moves but neighbour discovery.
	expect mgmt_counters mgmt.a mgmt.b "$TOPO_WAN" --noise --at-least \
		"mgmt|pass|allowlisted=16" "mgmt|drop|not_allowlisted=16" && pass mgmt_counters
}
run mgmt mgmt

# ---- unprotected 9999/udp from everyone ----------------------------------------------------------
unprotected() {
	local ns addr src bad='' n per=5
	snap unp.a || { fail unprotected_9999 "no counters"; return; }
	for dst in "gw $TOPO_GW4" "gw $TOPO_GW6" "hs $TOPO_HS4" "hs $TOPO_HS6"; do
		read -r ns addr <<<"$dst"
		if ! recv_start "$ns" "$addr" 9999 "$T/unp-$ns-$addr.rx"; then
			bad+="no receiver on $addr; "
			continue
		fi
		local rpid=$RECV_PID
		for src in $TOPO_PBX4 $TOPO_SUP4 $TOPO_SCAN4 $TOPO_PBX6 $TOPO_SUP6 $TOPO_SCAN6; do
			# Same family only.
			if [ "$(fam "$src")" = "$(fam "$addr")" ]; then
				topo_inet $E2E udp-send "$src" "$addr" 9999 $per 100 ||
					bad+="send from $src failed; "
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
	local who=$1 name=$2 want_rx=$3 verdict=$4 reason=$5 s4 s6 ns addr src n rx
	local bad='' first=0 later=0
	s4=$TOPO_SCAN4 s6=$TOPO_SCAN6
	[ "$who" = pbx ] && s4=$TOPO_PBX4 s6=$TOPO_PBX6
	snap "$name.a" || { fail "$name" "no counters"; return; }
	for dst in "gw $TOPO_GW4 $s4 4" "gw $TOPO_GW6 $s6 6" "hs $TOPO_HS4 $s4 4" \
		"hs $TOPO_HS6 $s6 6"; do
		read -r ns addr src fam <<<"$dst"
		rx=$T/$name-$ns-$fam.rx
		if ! recv_start "$ns" "$addr" 5060 "$rx"; then
			bad+="no receiver on $addr; "
			continue
		fi
		local rpid=$RECV_PID
		topo_inet $E2E invite "$src" "$addr" 5060 "$INVITE" || bad+="send to $addr failed; "
		sleep 0.2
		topo_stop "$rpid"
		first=$((first + 1))
		later=$((later + $(frags_of "$fam") - 1))
		n=$(grep -c "^$INVITE\$" "$rx")
		if [ "$want_rx" = whole ] && [ "$n" -ne 1 ]; then
			bad+="$addr received [$(oneline "$rx")], not one $INVITE-byte datagram; "
		elif [ "$want_rx" = none ] && [ -s "$rx" ]; then
			bad+="$addr received [$(oneline "$rx")] from the scanner; "
		fi
	done
	snap "$name.b" || { fail "$name" "no counters"; return; }
	if [ -n "$bad" ]; then
		fail "$name" "$bad"
		return
	fi
	log "$name: $first first fragments sip/$verdict/$reason," \
		"$later later ones sip/$verdict/fragment"
	expect "$name" "$name.a" "$name.b" "$TOPO_WAN" --noise "sip|$verdict|$reason=$first" \
		"sip|$verdict|fragment=$later" && pass "$name"
}
run fragment fragmented pbx fragmented_invite_pbx whole pass allowlisted
run fragment fragmented scanner fragmented_invite_scanner none drop not_allowlisted

# ---- monitor policy: rtp (10000-20000/udp) is "policy monitor" in e2e.conf ---------------------
monitor_policy() {
	local n bad=''
	snap mon.a || { fail monitor_policy "no counters"; return; }
	if ! recv_start gw "$TOPO_GW4" 10000 "$T/mon.rx"; then
		fail monitor_policy "no receiver"
		return
	fi
	local rpid=$RECV_PID
	topo_inet $E2E udp-send "$TOPO_SCAN4" "$TOPO_GW4" 10000 20 172 ||
		bad+="scanner send failed; "
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
	expect monitor_policy mon.a mon.b "$TOPO_WAN" --noise \
		"rtp|monitor|not_allowlisted=20:4280" "rtp|pass|allowlisted=10:2140" &&
		pass monitor_policy
}
run monitor monitor_policy

# ---- replay of real captures on the replay link (rpl1 -> rpl0, nothing else on it) -------------
replay() {
	local name=$1 s4=$2 s6=$3 pcap smac dmac bad='' out want
	smac=$(topo_inet cat "/sys/class/net/$TOPO_INET_RPL/address")
	dmac=$(topo_gw cat "/sys/class/net/$TOPO_RPL/address")
	for pcap in sv_sip-method_sip.pcap ndpi_sip.pcap sv_sip-options-method_input.pcap \
		sv_sip-body-frames_public-cloudshark-sip-s0.pcap \
		sv_exception-policy-defrag-01_ipv4frags.pcap; do
		if [ ! -r "$PCAPS/$pcap" ]; then
			bad+="$PCAPS/$pcap missing; "
			continue
		fi
		snap "$name-$pcap.a" || { bad+="no counters; "; continue; }
		if ! topo_inet $E2E replay "$PCAPS/$pcap" "$CONF" "$TOPO_INET_RPL" "$smac" "$dmac" \
			"$s4" "$s6" "$TOPO_GW4" "$TOPO_GW6" "$T/$name-$pcap.exp" >"$T/replay.log" 2>&1
		then
			bad+="replay of $pcap failed: $(tail -n3 "$T/replay.log" | tr '\n' ' '); "
			continue
		fi
		# Expected "class|verdict|reason=packets:bytes", computed from the capture itself.
		mapfile -t want < <($E2E want "$T/$name-$pcap.exp")
		log "$name $pcap: expected ${want[*]}"
		out=$(settle "$name-$pcap.a" "$name-$pcap.b" "$TOPO_RPL" "${want[@]}") ||
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

# ---- VLAN/QinQ-tagged and SCTP frames (no 802.1Q links or SCTP sockets on this kernel) ---------
# Crafted with scapy and sent on the quiet replay link, judged by exact counters (packets and
# bytes): the tags and the protocol must not change the verdict.
crafted() {
	local smac dmac bad='' line tags proto src dst port key len n=5 out
	local -A exp=()
	smac=$(topo_inet cat "/sys/class/net/$TOPO_INET_RPL/address")
	dmac=$(topo_gw cat "/sys/class/net/$TOPO_RPL/address")
	snap craft.a || { fail crafted_vlan_sctp "no counters"; return; }
	while read -r tags proto src dst port key; do
		if ! len=$(topo_inet $E2E craft "$TOPO_INET_RPL" "$smac" "$dmac" "$tags" "$proto" \
			"$src" "$dst" "$port" "$n" 2>"$T/craft.err"); then
			bad+="crafting $tags $proto failed: $(oneline "$T/craft.err"); "
			continue
		fi
		line=${exp[$key]:-0:0}
		exp[$key]=$((${line%:*} + n)):$((${line#*:} + n * len))
	done <<CASES
vlan udp $TOPO_SCAN4 $TOPO_GW4 5060 sip|drop|not_allowlisted
qinq udp $TOPO_PBX4 $TOPO_GW4 5060 sip|pass|allowlisted
qinq udp $TOPO_SCAN6 $TOPO_GW6 5060 sip|drop|not_allowlisted
vlan tcp $TOPO_SUP4 $TOPO_GW4 22 mgmt|pass|allowlisted
qinq tcp $TOPO_SCAN6 $TOPO_GW6 22 mgmt|drop|not_allowlisted
none sctp $TOPO_SCAN4 $TOPO_GW4 5060 sip|drop|not_allowlisted
vlan sctp $TOPO_PBX6 $TOPO_GW6 5060 sip|pass|allowlisted
qinq sctp $TOPO_SCAN4 $TOPO_GW4 9999 none|pass|unprotected
CASES
	local want=()
	for key in "${!exp[@]}"; do
		want+=("$key=${exp[$key]}")
	done
	log "crafted: expected ${want[*]}"
	out=$(settle craft.a craft.b "$TOPO_RPL" "${want[@]}") || bad+="$out"
	if [ -n "$bad" ]; then
		fail crafted_vlan_sctp "$bad"
	else
		pass crafted_vlan_sctp
	fi
}
run crafted crafted

# ---- reload while the PBX places calls ---------------------------------------------------------
# sipp places calls at 20 calls/s (each lasts 500 ms, so ~10 are up at any time) while the config
# is reloaded RELOADS times, alternating e2e.conf and a variant that allows the PBX through other
# rules (its /24 and /64 for sip, plus unrelated prefixes): a reload that mixed generations could
# drop its packets. Then sipp is told to stop (SIGUSR1: no new calls, running ones complete).
# Every call must complete and every reload succeed.
RELOADS=6
reload_under_load() {
	local uac rc bad='' i ok=0 created failed
	cp "$HERE/e2e.conf" "$T/conf.a"
	sed -e "s|^allow sip,rtp .*|allow sip 198.18.1.0/24 2001:db8:1::/64\\
allow rtp $TOPO_PBX4 $TOPO_PBX6\\
allow sip,mgmt 198.18.200.0/24 2001:db8:200::/48|" "$HERE/e2e.conf" >"$T/conf.b"
	if ! grep -q '^allow sip 198.18.1.0/24' "$T/conf.b"; then
		fail reload_under_load "cannot make conf.b"
		return
	fi
	snap rl.a || { fail reload_under_load "no counters"; return; }
	if ! uas_start gw "$TOPO_GW4" u1 reload; then
		fail reload_under_load "UAS did not start"
		return
	fi
	local uas=$UAS_PID
	(cd "$T" && exec ip netns exec "$TOPO_NS_INET" sipp -sn uac -i "$TOPO_PBX4" -p 5070 -t u1 \
		-m 100000 -r 20 -d 500 -nostdin -timeout 60s -timeout_error "$TOPO_GW4:5060") \
		>"$T/reload-uac.log" 2>&1 &
	uac=$!
	sleep 1
	for ((i = 1; i <= RELOADS; i++)); do
		cp "$T/conf.$([ $((i % 2)) -eq 1 ] && echo b || echo a)" "$CONF"
		if vw reload >"$T/reload-$i.log" 2>&1; then
			ok=$((ok + 1))
		else
			bad+="reload $i failed: $(tr '\n' ' ' <"$T/reload-$i.log"); "
		fi
		sleep 0.2
	done
	sleep 0.5
	kill -USR1 "$uac" 2>/dev/null
	wait "$uac"
	rc=$?
	topo_stop "$uas"
	snap rl.b || { fail reload_under_load "no counters"; return; }
	# sipp's final screen: "Total Calls created | ... | N" and "Failed call | ... | N".
	created=$(sed -n 's/^ *Total Calls created *|.*| *\([0-9]*\) *$/\1/p' "$T/reload-uac.log")
	failed=$(sed -n 's/^ *Failed call *|.*| *\([0-9]*\) *$/\1/p' "$T/reload-uac.log")
	created=$(tail -n1 <<<"$created") failed=$(tail -n1 <<<"$failed")
	[ "$rc" -eq 0 ] || bad+="sipp exited $rc; "
	[ "${failed:-x}" = 0 ] || bad+="${failed:-?} calls failed; "
	[ "${created:-0}" -ge 20 ] || bad+="only ${created:-0} calls were placed; "
	if [ -n "$bad" ]; then
		fail reload_under_load "$bad"
		return
	fi
	log "reload_under_load: $created calls completed, none failed, across $ok reloads"
	# INVITE, ACK, BYE of every call passed as allowlisted, and nothing was dropped.
	expect reload_under_load rl.a rl.b "$TOPO_WAN" --noise --at-least \
		"sip|pass|allowlisted=$((3 * created))" && pass reload_under_load
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

# ---- packaging/voipwall.service: its Exec lines, run as systemd would ---------------------------
# systemd is not running here, so the unit's commands are taken from the file (@SBINDIR@ -> the
# build), with an environment file made from packaging/voipwall.default, and run in gw: start
# must load wan0 natively, reload must apply, stop must detach and unpin everything.
service_unit() {
	local envf=$T/default.voipwall key line bad=''
	sed -e "s|^VOIPWALL_INTERFACES=.*|VOIPWALL_INTERFACES=\"$TOPO_WAN\"|" \
		-e "s|^VOIPWALL_OPTIONS=.*|VOIPWALL_OPTIONS=\"--pin-dir $TOPO_PIN -c $CONF\"|" \
		-e "s|^VOIPWALL_LOAD_OPTIONS=.*|VOIPWALL_LOAD_OPTIONS=\"--mode native\"|" \
		"$ROOT/packaging/voipwall.default" >"$envf"
	grep -q '^EnvironmentFile=/etc/default/voipwall$' "$ROOT/packaging/voipwall.service" ||
		bad+="the unit does not read /etc/default/voipwall; "
	for key in ExecStart ExecReload ExecStop; do
		line=$(sed -n "s/^$key=//p" "$ROOT/packaging/voipwall.service")
		if [ -z "$line" ]; then
			bad+="no $key in the unit; "
			continue
		fi
		line=${line//@SBINDIR@/$ROOT/$BUILD}
		log "$key: $line"
		# $VAR in an Exec line is split into words, as unquoted expansion does in the shell.
		# shellcheck disable=SC1090
		if ! (set -a && . "$envf" && set +a && eval "topo_gw $line") >"$T/unit-$key.log" 2>&1
		then
			bad+="$key failed: $(oneline "$T/unit-$key.log"); "
			continue
		fi
		case $key in
		ExecStart)
			vw status >"$T/unit-status.log" 2>&1
			grep -q "$TOPO_WAN.*native" "$T/unit-status.log" ||
				bad+="no native $TOPO_WAN in status: $(oneline "$T/unit-status.log"); "
			;;
		ExecStop)
			topo_gw ip -d link show "$TOPO_WAN" | grep -q 'prog/xdp' &&
				bad+="after ExecStop an XDP program is still on $TOPO_WAN; "
			[ -z "$(ls -A "$TOPO_PIN" 2>/dev/null)" ] ||
				bad+="after ExecStop $TOPO_PIN is not empty; "
			;;
		esac
	done
	if [ -n "$bad" ]; then
		fail service_unit "$bad"
	else
		pass service_unit
	fi
}
run packaging service_unit

# ---- make install DESTDIR=...: the layout, the example config, keeping the operator's files -----
install_layout() {
	local root=$T/root bad='' f p=/usr/local
	local files=("$p/sbin/voipwall" "$p/lib/voipwall/voipwall.bpf.o"
		"$p/share/man/man8/voipwall.8" "$p/lib/systemd/system/voipwall.service"
		/etc/voipwall/voipwall.conf.example /etc/default/voipwall)
	if ! make -s --no-print-directory -C "$ROOT" BUILD="$BUILD" install DESTDIR="$root" \
		>"$T/install.log" 2>&1; then
		fail install_layout "make install failed: $(oneline "$T/install.log")"
		return
	fi
	for f in "${files[@]}"; do
		[ -f "$root$f" ] || bad+="$f not installed; "
	done
	[ -x "$root$p/sbin/voipwall" ] || bad+="$p/sbin/voipwall not executable; "
	grep -q "^ExecStart=$p/sbin/voipwall " "$root$p/lib/systemd/system/voipwall.service" ||
		bad+="the installed unit does not run $p/sbin/voipwall; "
	"$root$p/sbin/voipwall" -c "$root/etc/voipwall/voipwall.conf.example" check \
		>"$T/check.log" 2>&1 ||
		bad+="the example config fails voipwall check: $(oneline "$T/check.log"); "
	if command -v man >/dev/null; then
		LC_ALL=C.UTF-8 MANWIDTH=100 man --warnings -l "$root$p/share/man/man8/voipwall.8" \
			2>"$T/man.err" >/dev/null || bad+="man cannot render voipwall.8; "
		[ -s "$T/man.err" ] &&
			bad+="man page warnings: $(head -n3 "$T/man.err" | tr '\n' ' '); "
	fi
	# A second install keeps the operator's config and unit settings; uninstall keeps them too.
	echo "# mine" >"$root/etc/voipwall/voipwall.conf"
	echo "VOIPWALL_INTERFACES=\"mine0\"" >"$root/etc/default/voipwall"
	make -s --no-print-directory -C "$ROOT" BUILD="$BUILD" install DESTDIR="$root" \
		>>"$T/install.log" 2>&1 || bad+="second make install failed; "
	make -s --no-print-directory -C "$ROOT" BUILD="$BUILD" uninstall DESTDIR="$root" \
		>>"$T/install.log" 2>&1 || bad+="make uninstall failed; "
	grep -q '^# mine$' "$root/etc/voipwall/voipwall.conf" || bad+="voipwall.conf overwritten; "
	grep -q 'mine0' "$root/etc/default/voipwall" || bad+="/etc/default/voipwall overwritten; "
	for f in "${files[@]:0:5}"; do
		[ ! -e "$root$f" ] || bad+="$f left after uninstall; "
	done
	if [ -n "$bad" ]; then
		fail install_layout "$bad"
	else
		pass install_layout
	fi
}
run packaging install_layout
exit 0
