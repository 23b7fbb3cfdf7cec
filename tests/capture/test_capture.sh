#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# voipwall capture with the real tools, in the namespaces of scripts/topology.sh (voipwall on the
# gateway's wan0 and rpl0): tshark reads the pcapng file and the -w - stream and finds the
# scanner's SIP method and the per-packet comment; sngrep receives the HEP stream and tshark
# reads what it saved; -c and Ctrl-C end the capture and turn the sampler off; after kill -9 the
# sampler turns itself off; a second capture is refused; the filters select what they say; a full
# ring and the rate limit are counted exactly against voipwall's own counters.
# One PASS/FAIL/SKIP line per test (tests/run.sh protocol); everything else is log.
set -u
cd "$(dirname "$0")/../.." || exit 1
ROOT=$PWD
BUILD=${BUILD:-build}
VOIPWALL=${VOIPWALL:-$ROOT/$BUILD/voipwall}
PY=${PYTHON:-/usr/bin/python3}
HERE=$ROOT/tests/capture
SEND="$PY $HERE/sendframes.py"
STATS="$PY $ROOT/tests/lib/vwstats.py"
# the sampler's expiry (VW_CAPTURE_TTL_NS) in seconds
TTL=5

# shellcheck source=../../scripts/topology.sh
. "$ROOT/scripts/topology.sh"

pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; }
skip() { echo "SKIP $1: $2"; }
log() { echo "# $*"; }

ALL_TESTS=(capture_load pcapng_svmap_tshark stdout_stream_tshark hep_sngrep count_ends
	sigint_ends_clean kill9_sampler_expires second_capture_refused filter_verdict_class
	filter_pass_allowlisted filter_reason filter_interface ring_full_lost_count
	rate_limit_counted bad_arguments)

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
for tool in tshark sngrep svmap; do
	if ! command -v "$tool" >/dev/null; then
		fail capture_load "$tool not installed (run scripts/setup.sh)"
		exit 1
	fi
done

[ -x "$VOIPWALL" ] || { fail capture_load "$VOIPWALL not built"; exit 1; }

topo_trap
topo_create || { fail capture_load "cannot create the topology"; exit 1; }
T=$TOPO_TMP
CONF=$T/voipwall.conf
cp "$ROOT/tests/integration/e2e.conf" "$CONF"
export HOME=$T # svmap keeps its session files under $HOME

vw() { topo_gw "$VOIPWALL" --pin-dir "$TOPO_PIN" -c "$CONF" "$@"; }
# capture's -c is its packet count: no config for it
vwc() { topo_gw "$VOIPWALL" --pin-dir "$TOPO_PIN" "$@"; }
now() { date +%s.%N; }
since() { awk "BEGIN{printf \"%.2f\", $(now) - $1}"; }
oneline() { tr '\n' ' ' <"$1"; }

# cap_start NAME ARGS...: voipwall capture ARGS in the background (output in $T/NAME.err), waits
# until the sampler is armed; pid in CAP_PID.
cap_start() {
	local name=$1 i
	shift
	topo_bg gw "$T/$name.err" "$VOIPWALL" --pin-dir "$TOPO_PIN" capture "$@"
	CAP_PID=$TOPO_LAST_PID
	for ((i = 0; i < 100; i++)); do
		grep -q 'capturing on' "$T/$name.err" 2>/dev/null && return 0
		kill -0 "$CAP_PID" 2>/dev/null || break
		sleep 0.05
	done
	log "capture $* did not start: $(oneline "$T/$name.err")"
	return 1
}

# cap_wait PID SECONDS: wait for it to exit by itself; its status in CAP_RC (124: still running,
# then killed).
cap_wait() {
	local pid=$1 i
	for ((i = 0; i < $2 * 20; i++)); do
		if ! kill -0 "$pid" 2>/dev/null; then
			wait "$pid"
			CAP_RC=$?
			return 0
		fi
		sleep 0.05
	done
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	CAP_RC=124
	return 1
}

# The summary line's figures: summary FILE -> "packets lost ratelimited"
summary() {
	sed -n 's/.*capture ended: \([0-9]*\) packets, \([0-9]*\) lost (ring full), \([0-9]*\) not sampled.*/\1 \2 \3/p' "$1" | tail -n 1
}

# capture_state FIELD: a field of status -j's "capture" object
capture_state() {
	vw status -j | "$PY" -c "import json,sys; print(json.load(sys.stdin)['capture']['$1'])"
}

# counter KEY: packets of "iface|class|verdict|reason" now
counter() {
	vw stats -j | $STATS flatten | "$PY" -c "
import json, sys
print(json.load(sys.stdin).get('$1', [0, 0])[0])"
}

send() { topo_inet $SEND "$@"; }
# run FUNCTION ARGS...: CAPTURE_ONLY=regex (for debugging) runs only the functions it matches.
run() {
	if [ -n "${CAPTURE_ONLY:-}" ] && ! grep -qE -- "$CAPTURE_ONLY" <<<"$*"; then
		return 0
	fi
	"$@"
}
scan() { (cd "$T" && topo_inet timeout 20 svmap -p 5060 -t 0.05 "$TOPO_GW4") >>"$T/svmap.log" 2>&1; }

# ---- load ----------------------------------------------------------------------------------------
if ! vw load "$TOPO_WAN" "$TOPO_RPL" --mode native >"$T/load.log" 2>&1; then
	fail capture_load "voipwall load: $(oneline "$T/load.log")"
	for t in "${ALL_TESTS[@]:1}"; do
		skip "$t" "voipwall did not load"
	done
	exit 1
fi
if [ "$(capture_state active)" = False ]; then
	pass capture_load
else
	fail capture_load "status -j shows a capture before any ran: $(vw status -j)"
fi

# ---- svmap's OPTIONS, dropped, in a pcapng file tshark reads ---------------------------------------
t_pcapng() {
	local f=$T/scan.pcapng out
	cap_start scan -w "$f" -c 1 "$TOPO_WAN" || { fail pcapng_svmap_tshark "no capture"; return; }
	scan
	cap_wait "$CAP_PID" 10
	out=$(tshark -r "$f" -T fields -E separator='|' -e frame.interface_name -e ip.src \
		-e sip.Method -e sip.User-Agent -e frame.comment 2>"$T/tshark.err")
	log "tshark: $out"
	if [ "$CAP_RC" -ne 0 ]; then
		fail pcapng_svmap_tshark "capture exited $CAP_RC: $(oneline "$T/scan.err")"
	elif [ "$out" != "$TOPO_WAN|$TOPO_INET4|OPTIONS|friendly-scanner|class=sip verdict=drop reason=not_allowlisted" ]; then
		fail pcapng_svmap_tshark "tshark shows '$out' ($(oneline "$T/tshark.err"))"
	else
		pass pcapng_svmap_tshark
	fi
	# -c ends it: exit 0, the summary, and the sampler is off right away
	if [ "$CAP_RC" -eq 0 ] && [ "$(summary "$T/scan.err")" = "1 0 0" ] &&
		[ "$(capture_state active)" = False ]; then
		pass count_ends
	else
		fail count_ends "rc $CAP_RC, summary '$(summary "$T/scan.err")', active $(capture_state active)"
	fi
}
run t_pcapng

# ---- -w - into tshark -r - -------------------------------------------------------------------------
t_stdout() {
	local i
	topo_gw sh -c "'$VOIPWALL' --pin-dir '$TOPO_PIN' capture -w - -c 3 '$TOPO_WAN' 2>'$T/stream.err' |
		tshark -r - -l -T fields -e sip.Method -e frame.comment >'$T/stream.out' 2>'$T/stream.terr'" &
	local pid=$!
	for ((i = 0; i < 100; i++)); do
		grep -q 'capturing on' "$T/stream.err" 2>/dev/null && break
		sleep 0.05
	done
	send "$TOPO_INET_IF" sip 3 "$TOPO_SCAN4" "$TOPO_GW4" >/dev/null
	cap_wait "$pid" 10
	if [ "$CAP_RC" -eq 0 ] && [ "$(grep -c '^OPTIONS	class=sip verdict=drop reason=not_allowlisted$' "$T/stream.out")" = 3 ]; then
		pass stdout_stream_tshark
	else
		fail stdout_stream_tshark "rc $CAP_RC, tshark read: $(oneline "$T/stream.out") $(oneline "$T/stream.err")"
	fi
}
run t_stdout

# ---- HEP to sngrep ---------------------------------------------------------------------------------
t_hep() {
	local port=9060 spid out
	topo_bg gw "$T/sngrep.log" sngrep -N -q -L "udp:127.0.0.1:$port" -O "$T/hep.pcap"
	spid=$TOPO_LAST_PID
	topo_wait_listen gw udp "$port" || { fail hep_sngrep "sngrep does not listen"; return; }
	cap_start hep --hep "udp:127.0.0.1:$port" --hep-id 2001 -c 2 "$TOPO_WAN" ||
		{ fail hep_sngrep "no capture"; topo_stop "$spid"; return; }
	send "$TOPO_INET_IF" sip 2 "$TOPO_SCAN4" "$TOPO_GW4" >/dev/null
	cap_wait "$CAP_PID" 10
	sleep 0.5
	kill -INT "$spid" 2>/dev/null
	topo_stop "$spid"
	out=$(tshark -r "$T/hep.pcap" -T fields -E separator='|' -e ip.src -e ip.dst -e udp.dstport \
		-e sip.Method 2>"$T/tshark-hep.err")
	log "tshark on sngrep's file: $out"
	if [ "$CAP_RC" -ne 0 ] || ! grep -q 'HEP: 2 sent' "$T/hep.err"; then
		fail hep_sngrep "capture: rc $CAP_RC, $(oneline "$T/hep.err")"
	elif [ "$(grep -c "^$TOPO_SCAN4|$TOPO_GW4|5060|OPTIONS\$" <<<"$out")" != 2 ]; then
		fail hep_sngrep "tshark on sngrep's file shows '$out' (sngrep: $(oneline "$T/sngrep.log"))"
	else
		pass hep_sngrep
	fi
}
run t_hep

# ---- Ctrl-C ----------------------------------------------------------------------------------------
t_sigint() {
	cap_start int -w "$T/int.pcapng" || { fail sigint_ends_clean "no capture"; return; }
	send "$TOPO_INET_IF" sip 2 "$TOPO_SCAN4" "$TOPO_GW4" >/dev/null
	sleep 0.3
	[ "$(capture_state active)" = True ] || { fail sigint_ends_clean "not active while running"; return; }
	kill -INT "$CAP_PID"
	cap_wait "$CAP_PID" 5
	if [ "$CAP_RC" -eq 0 ] && [ "$(summary "$T/int.err")" = "2 0 0" ] &&
		[ "$(capture_state active)" = False ] &&
		[ "$(tshark -r "$T/int.pcapng" 2>/dev/null | wc -l)" = 2 ]; then
		pass sigint_ends_clean
	else
		fail sigint_ends_clean "rc $CAP_RC, summary '$(summary "$T/int.err")', active $(capture_state active)"
	fi
}
run t_sigint

# ---- kill -9: the sampler expires ------------------------------------------------------------------
t_kill9() {
	local before after active expired
	cap_start k9 -w "$T/k9.pcapng" || { fail kill9_sampler_expires "no capture"; return; }
	local t0
	t0=$(now)
	kill -9 "$CAP_PID"
	wait "$CAP_PID" 2>/dev/null
	send "$TOPO_INET_IF" sip 1 "$TOPO_SCAN4" "$TOPO_GW4" >/dev/null
	active=$(capture_state active)
	if awk "BEGIN{exit !($(since "$t0") >= $TTL - 1)}"; then
		skip kill9_sampler_expires "one packet took $(since "$t0") s to send, close to the expiry"
		return
	fi
	before=$(capture_state captured)
	# still armed until the expiry nobody refreshes; then the next matching packet turns it off
	sleep $((TTL + 1))
	expired=$(capture_state active)/$(capture_state armed)
	send "$TOPO_INET_IF" sip 1 "$TOPO_SCAN4" "$TOPO_GW4" >/dev/null
	sleep 0.2
	send "$TOPO_INET_IF" sip 5 "$TOPO_SCAN4" "$TOPO_GW4" >/dev/null
	sleep 0.2
	after=$(capture_state captured)
	if [ "$active" = True ] && [ "$before" = 1 ] && [ "$after" = 1 ] &&
		[ "$expired" = False/True ] && [ "$(capture_state armed)" = False ]; then
		pass kill9_sampler_expires
	else
		fail kill9_sampler_expires "active after kill $active, captured $before then $after, active/armed at expiry $expired, armed now $(capture_state armed)"
	fi
}
run t_kill9

# ---- one capture at a time --------------------------------------------------------------------------
t_second() {
	cap_start first -w "$T/first.pcapng" || { fail second_capture_refused "no capture"; return; }
	vwc capture -w "$T/second.pcapng" >"$T/second.err" 2>&1
	local rc=$?
	kill -INT "$CAP_PID"
	cap_wait "$CAP_PID" 5
	if [ "$rc" -eq 1 ] && grep -q "another capture (pid $CAP_PID) is running" "$T/second.err"; then
		pass second_capture_refused
	else
		fail second_capture_refused "second capture: rc $rc, $(oneline "$T/second.err")"
	fi
}
run t_second

# ---- filters ------------------------------------------------------------------------------------------
# filter_case NAME EXPECTED-COMMENT CAPTURE-ARGS -- send-commands...: one packet of each kind is sent;
# exactly the one with the expected comment must be captured.
filter_case() {
	local name=$1 want=$2 out
	shift 2
	local args=()
	while [ "$1" != -- ]; do args+=("$1"); shift; done
	shift
	cap_start "$name" -w "$T/$name.pcapng" "${args[@]}" || { fail "$name" "no capture"; return; }
	send "$TOPO_INET_IF" sip 1 "$TOPO_SCAN4" "$TOPO_GW4" >/dev/null
	send "$TOPO_INET_IF" rtp 1 "$TOPO_SCAN4" "$TOPO_GW4" >/dev/null
	send "$TOPO_INET_IF" mgmt 1 "$TOPO_SUP4" "$TOPO_GW4" >/dev/null
	send "$TOPO_INET_IF" malformed 1 "$TOPO_SCAN4" "$TOPO_GW4" >/dev/null
	"$@" >/dev/null
	sleep 0.3
	kill -INT "$CAP_PID"
	cap_wait "$CAP_PID" 5
	out=$(tshark -r "$T/$name.pcapng" -T fields -e frame.interface_name -e frame.comment 2>/dev/null | tr '\t\n' '| ')
	if [ "$CAP_RC" -eq 0 ] && [ "$out" = "$want " ]; then
		pass "$name"
	else
		fail "$name" "rc $CAP_RC, captured '$out', want '$want'"
	fi
}
run filter_case filter_verdict_class "$TOPO_WAN|class=rtp verdict=monitor reason=not_allowlisted" \
	--verdict monitor --class rtp,mgmt -- true
run filter_case filter_pass_allowlisted "$TOPO_WAN|class=mgmt verdict=pass reason=allowlisted" \
	--verdict any --class mgmt -- true
run filter_case filter_reason "$TOPO_WAN|class=none verdict=drop reason=malformed" \
	--verdict drop,monitor --reason malformed,fragment -- true
# on rpl0 only: the four packets on wan0 are not taken, one sent to rpl0 is
run filter_case filter_interface "$TOPO_RPL|class=sip verdict=drop reason=not_allowlisted" \
	"$TOPO_RPL" -- send "$TOPO_INET_RPL" sip 1 "$TOPO_SCAN4" "$TOPO_GW4"

# ---- a full ring: samples counted as lost, exactly ------------------------------------------------
t_lost() {
	local key="$TOPO_WAN|sip|drop|not_allowlisted" c0 c1 secs t0 packets lost rl
	c0=$(counter "$key")
	cap_start lost -w "$T/lost.pcapng" --rate 1000000/s "$TOPO_WAN" ||
		{ fail ring_full_lost_count "no capture"; return; }
	# the reader stopped: 6,000 samples of 1,400 bytes overflow the 4 MiB ring
	kill -STOP "$CAP_PID"
	t0=$(now)
	send "$TOPO_INET_IF" sip 6000 "$TOPO_SCAN4" "$TOPO_GW4" 1400 >/dev/null
	secs=$(since "$t0")
	kill -CONT "$CAP_PID"
	sleep 1
	kill -INT "$CAP_PID"
	cap_wait "$CAP_PID" 10
	c1=$(counter "$key")
	read -r packets lost rl <<<"$(summary "$T/lost.err")"
	log "sent 6000 in ${secs}s; the filter saw $((c1 - c0)); capture: $packets packets, $lost lost, $rl not sampled"
	if awk "BEGIN{exit !($secs >= $TTL - 1)}"; then
		skip ring_full_lost_count "sending took ${secs}s, close to the sampler's expiry"
	elif [ "$CAP_RC" -eq 0 ] && [ "${lost:-0}" -gt 0 ] && [ "$rl" = 0 ] &&
		[ $((packets + lost)) -eq $((c1 - c0)) ] &&
		[ "$(tshark -r "$T/lost.pcapng" 2>/dev/null | wc -l)" = "$packets" ]; then
		pass ring_full_lost_count
	else
		fail ring_full_lost_count "rc $CAP_RC; $packets packets + $lost lost != $((c1 - c0)) dropped, or none lost"
	fi
}
run t_lost

# ---- the rate limit: exactly budgeted, the rest counted ----------------------------------------------
t_rate() {
	local key="$TOPO_WAN|sip|drop|not_allowlisted" c0 c1 secs packets lost rl ncpu
	ncpu=$(nproc)
	c0=$(counter "$key")
	cap_start rate -w "$T/rate.pcapng" --rate 10/s "$TOPO_WAN" ||
		{ fail rate_limit_counted "no capture"; return; }
	secs=$(send "$TOPO_INET_IF" sip 300 "$TOPO_SCAN4" "$TOPO_GW4")
	sleep 0.3
	kill -INT "$CAP_PID"
	cap_wait "$CAP_PID" 5
	c1=$(counter "$key")
	read -r packets lost rl <<<"$(summary "$T/rate.err")"
	log "sent 300 in ${secs}s; the filter saw $((c1 - c0)); capture: $packets packets, $lost lost, $rl not sampled"
	# 10 per CPU per second: the send lasts well under a second (at most two windows)
	if [ "$CAP_RC" -eq 0 ] && [ "$packets" -ge 10 ] && [ "$packets" -le $((20 * ncpu)) ] &&
		[ "$lost" = 0 ] && [ $((packets + rl)) -eq $((c1 - c0)) ]; then
		pass rate_limit_counted
	else
		fail rate_limit_counted "rc $CAP_RC; $packets packets (want 10..$((20 * ncpu))), $rl not sampled, $lost lost; dropped $((c1 - c0))"
	fi
}
run t_rate

# ---- bad arguments: clear errors, exit 2 ----------------------------------------------------------------
t_args() {
	local bad=
	check() {
		local want=$1 rc
		shift
		vwc "$@" >"$T/args.out" 2>&1
		rc=$?
		if [ "$rc" -ne 2 ] || ! grep -q -- "$want" "$T/args.out"; then
			bad+="capture $*: rc $rc, '$(oneline "$T/args.out")' (want 2, '$want'); "
		fi
	}
	check "say where the packets go" capture
	check "unknown --verdict 'dropped'" capture --verdict dropped -w "$T/x"
	check "unknown --class 'voice'" capture --class voice -w "$T/x"
	check "unknown --reason 'spam'" capture --reason spam -w "$T/x"
	check "invalid value '0' for --snaplen" capture --snaplen 0 -w "$T/x"
	check "invalid value '10/m' for --rate" capture --rate 10/m -w "$T/x"
	check "'x' is not a whole number" capture -c x -w "$T/x"
	check "-c is the packet count" -c "$CONF" capture -w "$T/x"
	check "invalid --hep 'tcp:198.18.0.9:9060'" capture --hep tcp:198.18.0.9:9060
	check "option --verdict does not apply to 'status'" status --verdict drop
	check "-j and -w - both want standard output" -j capture -w -
	if [ "$(vwc capture -w "$T/x" nosuch0 2>&1)" != "voipwall: interface nosuch0 does not exist" ]; then
		bad+="unknown interface message: $(vwc capture -w "$T/x" nosuch0 2>&1); "
	fi
	if [ "$(vwc capture -w "$T/x" lo 2>&1)" != "voipwall: voipwall is not loaded on lo ('voipwall status' lists where it is)" ]; then
		bad+="interface not loaded message: $(vwc capture -w "$T/x" lo 2>&1); "
	fi
	if [ -z "$bad" ]; then pass bad_arguments; else fail bad_arguments "$bad"; fi
}
run t_args
