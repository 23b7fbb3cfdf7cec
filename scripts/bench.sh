#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# `make bench`: voipwall against the floor program and against xdp-filter and nftables,
# in one run, as ratios. Writes $BUILD/bench.json and prints a table of medians (min..max).
#
#   1. test runs (bench/cost), with voipwall's flood sampling of sources in effect: the hot attack
#      path against xdp-filter's loaded program (same frames, same run), the worst-case sources of
#      a hostile config against typical ones, random-source floods (10,000 hosts in both tools;
#      1,000,000 prefixes), program cost per packet shape, per allowlist size, and block sets of 2
#      and 1,000,000 entries (a class open to all: sources no entry covers and blocked ones; the
#      attack path with the set loaded)
#   2. live drop rate over a veth pair between two namespaces this script creates: a LIVE_FRAMES
#      generator (bench/trafficgen) on CPU 0 sends 64-byte UDP frames to port 5060 from
#      non-allowlisted sources, 65,536 of one /16 in turn, then scattered over all unicast IPv4;
#      the receiver's NAPI thread runs on CPU 1; receivers in turn (one round = each once): floor
#      (drop), voipwall, xdp-filter, nftables netdev ingress with a set. Counted at the receiver,
#      by each one's own counters, with the generator's offered rate and the receiver's CPU time.
#      And what a running `voipwall capture` adds to the drop path (bench/capcost: test runs,
#      written to $BUILD/bench-capture.json).
#   3. control plane through the voipwall command: reload with 1,000,000 prefixes, with 100,000,
#      `voipwall block replace` of 100,000 prefixes, and `voipwall stats`.
#
# QUICK=1: a smoke run (under a minute): fewer rounds, repeats and packets, shorter windows, and
# without the 1,000,000-prefix figures (their targets say "full run only"). Needs root, iproute2,
# xdp-tools, nftables. Everything it creates (namespaces, bpffs mount, files) is removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${BUILD:-build}
PYTHON=${PYTHON:-/usr/bin/python3}
QUICK=${QUICK:-}
B=$BUILD/bench
case "$BUILD" in
/*) VW=$BUILD/voipwall ;;
*) VW=$PWD/$BUILD/voipwall ;;
esac
OUT=$BUILD/bench.json

die() {
	echo "bench: $*" >&2
	exit 1
}

[ "$(id -u)" -eq 0 ] || die "needs root (XDP programs, namespaces, bpffs)"
for f in "$B/cost" "$B/capcost" "$B/rx" "$B/trafficgen" "$VW" "$BUILD/voipwall.bpf.o" "$BUILD/floor.bpf.o"; do
	[ -x "$f" ] || [ -f "$f" ] || die "missing $f; run: make BUILD=$BUILD bench"
done
for t in ip nft xdp-filter taskset; do
	command -v "$t" >/dev/null || die "missing $t; run: make setup"
done

# QUICK (docs/performance.md, "Quick run") does less of the same work, and leaves out the
# 1,000,000-prefix figures (the allowlist scale at 1,000,000 and its reload: about 20 s on a 2-core
# machine); their targets stay in the report, marked as measured in the full run only.
if [ "$QUICK" = 1 ]; then
	COST_ARGS=(--rounds 2 --packets 500 --repeat 10000 --flood-packets 500 --block-entries 100000
		--scales 10,10000,100000)
	CAPCOST_ARGS=(--rounds 3 --repeat 20000)
	LIVE_ROUNDS=1 LIVE_WARMUP=0.2 LIVE_WINDOW=0.4
	CP_ROUNDS=1 STATS_ROUNDS=5 CP_1M=
else
	COST_ARGS=(--rounds 5 --packets 10000 --repeat 2000000 --flood-packets 20000)
	CAPCOST_ARGS=(--rounds 20 --repeat 1000000)
	LIVE_ROUNDS=8 LIVE_WARMUP=0.5 LIVE_WINDOW=2
	CP_ROUNDS=3 STATS_ROUNDS=10 CP_1M=1
fi
NSRC=65536

# ---- Workspace, namespaces, cleanup on every exit path ------------------------------------------
work=$(mktemp -d /tmp/vwbench.XXXXXX)
id=$(printf '%05x' $((($$ * 32768 + RANDOM) % 1048576)))
NS_TX="vwbench-tx-$$-$id"
NS_RX="vwbench-rx-$$-$id"
# Short names: the receiver's NAPI thread is found by its name, "napi/<ifname>-<id>", which the
# kernel cuts at 15 characters.
IF_TX="vt$id"
IF_RX="vr$id"
BPFFS="$work/bpf"
gen_pid= keep_pid=

cleanup() {
	set +e
	[ -n "$gen_pid" ] && kill "$gen_pid" 2>/dev/null && wait "$gen_pid" 2>/dev/null
	[ -n "$keep_pid" ] && wait "$keep_pid" 2>/dev/null
	if [ -e "/run/netns/$NS_RX" ]; then
		ip netns exec "$NS_RX" "$VW" --pin-dir "$BPFFS/vw" unload --all >/dev/null 2>&1
		LIBXDP_BPFFS="$BPFFS/xdp" ip netns exec "$NS_RX" xdp-filter unload --all \
			>/dev/null 2>&1
	fi
	ip netns del "$NS_TX" 2>/dev/null
	ip netns del "$NS_RX" 2>/dev/null
	mountpoint -q "$BPFFS" && umount "$BPFFS"
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$BPFFS"
mount -t bpf bpf "$BPFFS"
mkdir -p "$BPFFS/floor" "$BPFFS/vw" "$BPFFS/xdp" "$BPFFS/xdpc"
# The voipwall command must not see an SSH session to protect: this is a lab.
unset SSH_CONNECTION SSH_CLIENT

t_start=$EPOCHREALTIME
log() {
	printf 'bench: [%5.1fs] %s\n' \
		"$(awk -v a="$t_start" -v b="$EPOCHREALTIME" 'BEGIN {print b - a}')" "$*" >&2
}
now() { echo "$EPOCHREALTIME"; }

ip netns add "$NS_TX"
ip netns add "$NS_RX"
ip link add "$IF_TX" netns "$NS_TX" type veth peer name "$IF_RX" netns "$NS_RX"
ip -n "$NS_TX" link set "$IF_TX" up
ip -n "$NS_RX" link set "$IF_RX" up
ip -n "$NS_TX" addr add 198.19.0.1/24 dev "$IF_TX"
ip -n "$NS_RX" addr add 198.19.0.2/24 dev "$IF_RX"
mac() { ip netns exec "$1" cat "/sys/class/net/$2/address"; }
MAC_TX=$(mac "$NS_TX" "$IF_TX")
MAC_RX=$(mac "$NS_RX" "$IF_RX")
# voipwall's counters are read for this interface only: a read of all of them took a few tenths
# of a second, so a window's closing count landed after the traffic had stopped.
IFX_RX=$(ip netns exec "$NS_RX" cat "/sys/class/net/$IF_RX/ifindex")
rx() { ip netns exec "$NS_RX" "$@"; }
xf() { LIBXDP_BPFFS="$BPFFS/xdp" rx xdp-filter "$@"; }

# ---- 1. Test runs -------------------------------------------------------------------------------
# xdp-filter's program for both families (deny, sources allowed: the same verdict as voipwall on
# UDP to 5060 from a source it does not list), loaded on the receiver so test runs can use it;
# bench/cost fills its address maps itself.
log "test runs: hot path and floods against xdp-filter, worst case, shapes, allowlist scale"
# Its own libxdp state directory: once bench/cost has used the program, xdp-filter's status and
# unload no longer find its stats map, so it is detached with ip instead.
LIBXDP_BPFFS="$BPFFS/xdpc" rx xdp-filter load --mode native --policy deny --features ipv4,ipv6 \
	"$IF_RX" >"$work/xf.log" 2>&1 || {
	cat "$work/xf.log" >&2
	die "loading xdp-filter failed"
}
xf_id=$(ip -n "$NS_RX" -j link show "$IF_RX" | "$PYTHON" -c \
	'import json, sys; print(json.load(sys.stdin)[0]["xdp"]["prog"]["id"])') ||
	die "cannot find xdp-filter's program id"
"$B/cost" --build "$BUILD" "${COST_ARGS[@]}" --xdp-filter-prog "$xf_id" >"$work/cost.json"
rx ip link set dev "$IF_RX" xdp off || die "detaching xdp-filter failed"
# What a running capture costs the drop path (bench/capcost.c); its summary goes to stderr.
log "capture cost on the drop path (test runs)"
"$B/capcost" --build "$BUILD" "${CAPCOST_ARGS[@]}" >"$BUILD/bench-capture.json"

# ---- 2. Live rate -------------------------------------------------------------------------------
log "live rate over veth ($LIVE_ROUNDS rounds of ${LIVE_WINDOW}s per receiver and source spread)"

# The allowlist every receiver gets: the same hosts (xdp-filter matches exact addresses only).
ALLOWED=(198.19.200.1 198.19.200.2 198.19.200.3 198.19.200.4 198.19.201.10 198.19.201.11
	198.19.202.20 198.19.202.21)
{
	echo "# vwbench live config: the README's classes, a few allowlisted hosts"
	echo "class sip 5060/udp 5060/tcp 5061/tcp"
	echo "class rtp 10000-20000/udp policy monitor"
	echo "class mgmt 22/tcp 23/tcp 80/tcp 443/tcp 8080/tcp 8443/tcp 69/udp 161/udp 7547/tcp"
	for a in "${ALLOWED[@]}"; do echo "allow sip,rtp $a"; done
	echo "allow mgmt 198.19.0.0/24"
} >"$work/live.conf"
nft_elems=$(IFS=,; echo "${ALLOWED[*]}")

# Receivers: setup_KIND, count_KIND (packets it dropped so far), teardown_KIND.
setup_floor() { rx "$B/rx" attach "$IF_RX" drop "$BPFFS/floor"; }
count_floor() { "$B/rx" count floor "$BPFFS/floor" drop; }
teardown_floor() { rm -f "$BPFFS/floor/floor_link" "$BPFFS/floor/floor_counters"; }

setup_voipwall() {
	rx "$VW" --pin-dir "$BPFFS/vw" -c "$work/live.conf" load "$IF_RX" --mode native >/dev/null
}
count_voipwall() { "$B/rx" count voipwall "$BPFFS/vw" "$IFX_RX"; }
teardown_voipwall() {
	if [ -n "$KEEP_IF" ]; then
		rx "$VW" --pin-dir "$BPFFS/vw" unload "$IF_RX" >/dev/null
	else
		rx "$VW" --pin-dir "$BPFFS/vw" unload --all >/dev/null
	fi
}

setup_xdp_filter() {
	# Default deny, the allowlisted sources allowed: the same verdict on this traffic (xdp-filter
	# has no "port AND source" rule). Features ipv4 loads its lightest program that can match
	# sources (xdpfilt_dny_ip); ipv4,udp would load xdpfilt_dny_all.
	xf load --mode native --policy deny --features ipv4 "$IF_RX"
	for a in "${ALLOWED[@]}"; do xf ip --mode src "$a"; done
}
count_xdp_filter() { xf status | awk '$1 == "XDP_DROP" {print $2; f=1} END {exit !f}'; }
teardown_xdp_filter() { xf unload "$IF_RX"; }

setup_nftables() {
	# LIVE_FRAMES frames reach a veth peer only while it has an XDP program: floor_pass.
	rx "$B/rx" attach "$IF_RX" pass "$BPFFS/floor"
	rx nft -f - <<-EOF
		table netdev vwbench {
			set allowed { type ipv4_addr; flags interval; elements = { $nft_elems } }
			counter dropped { }
			chain ingress {
				type filter hook ingress device "$IF_RX" priority -500; policy accept;
				udp dport 5060 ip saddr != @allowed counter name dropped drop
			}
		}
	EOF
}
count_nftables() {
	rx nft list counter netdev vwbench dropped | awk '$1 == "packets" {print $2; f=1} END {exit !f}'
}
teardown_nftables() {
	rx nft delete table netdev vwbench
	teardown_floor
}

# Run the receiver's NAPI in a thread on CPU 1, the generator on CPU 0: the receiver's rate is then
# its own, not shared with the generator's cost. Without threaded NAPI both run on one CPU.
# The thread's CPU time (schedstat) also gives the receiver's packets per CPU-second: its cost,
# whatever share of CPU 1 the machine's other load left it.
napi_mode=inline napi_pid=
pin_napi() {
	napi_mode=inline napi_pid=
	if rx sh -c "echo 1 > /sys/class/net/$IF_RX/threaded" 2>/dev/null; then
		local f comm
		for f in /proc/[0-9]*/comm; do
			read -r comm 2>/dev/null <"$f" || continue
			if [[ "$comm" == "napi/$IF_RX-"* ]]; then
				napi_pid=${f#/proc/}
				napi_pid=${napi_pid%/comm}
				break
			fi
		done
		if [ -n "$napi_pid" ] && taskset -pc 1 "$napi_pid" >/dev/null 2>&1; then
			napi_mode=threaded
			return
		fi
	fi
	napi_pid=
}
napi_cpu_ns() { # CPU time of the NAPI thread so far, ns (0 when it runs inline)
	if [ -n "$napi_pid" ]; then
		awk '{print $1}' "/proc/$napi_pid/schedstat" 2>/dev/null || echo 0
	else
		echo 0
	fi
}

# count KIND: the receiver's drop counter. xdp-filter status has once, in about 50 runs, not
# found its own stats map right after a load: such a read is tried again, twice.
count() {
	local _
	for _ in 1 2 3; do
		"count_$1" 2>"$work/count.err" && return 0
		sleep 0.05
	done
	cat "$work/count.err" >&2
	die "reading the $1 counters failed"
}

# measure KIND ROUND SPREAD: one window of live traffic, sources from one /16 (SPREAD one16) or
# scattered over all unicast IPv4 (spread); appends to live.txt
# "kind round dropped_pps offered_pps napi_mode dropped_per_napi_cpu_second spread"
measure() {
	receiver_up "$1"
	window "$@"
	receiver_down "$1"
}
receiver_up() {
	"setup_$1" >"$work/setup.log" 2>&1 || {
		cat "$work/setup.log" >&2
		die "setting up receiver $1 failed"
	}
}
receiver_down() { "teardown_$1" >/dev/null 2>&1 || die "removing receiver $1 failed"; }
# window KIND ROUND SPREAD: measure's window, with the receiver set up
window() {
	local kind=$1 round=$2 spread=$3 c0 c1 t0 t1 a b secs s0 s1 sargs=()
	[ "$spread" = spread ] && sargs=(--spread)
	pin_napi
	secs=$(awk -v w="$LIVE_WARMUP" -v d="$LIVE_WINDOW" 'BEGIN {print w + d + 0.3}')
	ip netns exec "$NS_TX" "$B/trafficgen" -i "$IF_TX" --dst-mac "$MAC_RX" --src-mac "$MAC_TX" \
		--src 198.18.0.0 --sources "$NSRC" "${sargs[@]}" --dst 198.19.0.2 --dport 5060 \
		--seconds "$secs" --cpu 0 >"$work/gen.json" &
	gen_pid=$!
	sleep "$LIVE_WARMUP"
	# Each count is taken at the midpoint of the command that reads it.
	s0=$(napi_cpu_ns)
	a=$(now); c0=$(count "$kind"); b=$(now)
	t0=$(awk -v a="$a" -v b="$b" 'BEGIN {printf "%.6f", (a + b) / 2}')
	sleep "$LIVE_WINDOW"
	a=$(now); c1=$(count "$kind"); b=$(now)
	s1=$(napi_cpu_ns)
	t1=$(awk -v a="$a" -v b="$b" 'BEGIN {printf "%.6f", (a + b) / 2}')
	wait "$gen_pid" || die "the traffic generator failed"
	gen_pid=
	awk -v k="$kind" -v r="$round" -v c0="$c0" -v c1="$c1" -v t0="$t0" -v t1="$t1" \
		-v m="$napi_mode" -v g="$(cat "$work/gen.json")" -v s0="$s0" -v s1="$s1" -v sp="$spread" \
		'BEGIN {match(g, /"pps":[0-9.]+/); o = substr(g, RSTART + 6, RLENGTH - 6);
			pc = s0 > 0 && s1 > s0 ? (c1 - c0) / ((s1 - s0) / 1e9) : 0;
			printf "%s %d %.0f %s %s %.0f %s\n", k, r, (c1 - c0) / (t1 - t0), o, m, pc,
				sp}' >>"$work/live.txt"
}

# The control plane's inputs: generated configs and a feed's list, 100,000 distinct IPv4 hosts of
# 100.64.0.0/10, one a line.
cp_inputs() {
	[ -z "$CP_1M" ] || "$B/cost" --write-config "$work/p1m.conf" --prefixes 1000000
	"$B/cost" --write-config "$work/p100k.conf" --prefixes 100000 --seed 7
	"$PYTHON" -c 'import sys
sys.stdout.write("".join("100.%d.%d.%d\n" % (64 + (i >> 16), i >> 8 & 255, i & 255) for i in range(100000)))' >"$work/b100k.txt"
}

# QUICK loads voipwall once, on a spare veth pair of the receiver's namespace that carries no
# traffic: `voipwall load` of the measured veth then attaches that pinned program with the same
# config without loading (verifying) it anew, and taking it off the measured veth leaves it pinned
# for the control plane. The full run loads it afresh for every window. While it loads (nothing
# is measured then), the control plane's inputs are written.
KEEP_IF=
if [ "$QUICK" = 1 ]; then
	KEEP_IF="vk$id"
	ip link add "$KEEP_IF" netns "$NS_RX" type veth peer name "vq$id" netns "$NS_RX"
	ip -n "$NS_RX" link set "$KEEP_IF" up
	ip -n "$NS_RX" link set "vq$id" up
	rx "$VW" --pin-dir "$BPFFS/vw" -c "$work/live.conf" load "$KEEP_IF" --mode native \
		>"$work/keep.log" 2>&1 &
	keep_pid=$!
	cp_inputs
	wait "$keep_pid" || {
		keep_pid=
		cat "$work/keep.log" >&2
		die "loading voipwall on the spare veth failed"
	}
	keep_pid=
fi

: >"$work/live.txt"
if [ "$QUICK" = 1 ]; then
	# Each receiver set up once for its windows of both source distributions (voipwall's second
	# window starts with the sources it recorded in the first).
	for kind in floor voipwall xdp_filter nftables; do
		receiver_up "$kind"
		for spread in one16 spread; do
			for round in $(seq 1 "$LIVE_ROUNDS"); do
				window "$kind" "$round" "$spread"
			done
		done
		receiver_down "$kind"
	done
else
	for spread in one16 spread; do
		for round in $(seq 1 "$LIVE_ROUNDS"); do
			for kind in floor voipwall xdp_filter nftables; do
				measure "$kind" "$round" "$spread"
			done
		done
	done
fi

# ---- 3. Control plane ---------------------------------------------------------------------------
log "control plane: reload ${CP_1M:+"1,000,000 and "}100,000 prefixes, block replace 100,000, stats"
[ -e "$work/b100k.txt" ] || cp_inputs
setup_voipwall
if [ -n "$KEEP_IF" ]; then
	# The measured veth holds the program now: the spare one goes, as in the full run.
	rx "$VW" --pin-dir "$BPFFS/vw" unload "$KEEP_IF" >/dev/null
	KEEP_IF=
fi
: >"$work/control.txt"
timed() { # NAME CMD...: appends "NAME seconds"
	local name=$1 a b
	shift
	a=$(now)
	"$@" >/dev/null 2>"$work/cmd.err" || {
		cat "$work/cmd.err" >&2
		die "$name: $* failed"
	}
	b=$(now)
	awk -v n="$name" -v a="$a" -v b="$b" 'BEGIN {printf "%s %.6f\n", n, b - a}' >>"$work/control.txt"
}
for round in $(seq 1 "$CP_ROUNDS"); do
	[ -z "$CP_1M" ] || timed reload_1m rx "$VW" --pin-dir "$BPFFS/vw" -c "$work/p1m.conf" reload
	timed reload_100k rx "$VW" --pin-dir "$BPFFS/vw" -c "$work/p100k.conf" reload
	timed block_replace_100k rx "$VW" --pin-dir "$BPFFS/vw" block replace --set bench "$work/b100k.txt"
done
rx "$VW" --pin-dir "$BPFFS/vw" block flush --set bench >/dev/null
# stats with the counters of live traffic in them
rx "$VW" --pin-dir "$BPFFS/vw" -c "$work/live.conf" reload >/dev/null
ip netns exec "$NS_TX" "$B/trafficgen" -i "$IF_TX" --dst-mac "$MAC_RX" --src-mac "$MAC_TX" \
	--src 198.18.0.0 --sources "$NSRC" --dst 198.19.0.2 --dport 5060 --seconds 0.2 >/dev/null
for round in $(seq 1 "$STATS_ROUNDS"); do
	timed stats "$VW" --pin-dir "$BPFFS/vw" stats
done
teardown_voipwall

# ---- Report ------------------------------------------------------------------------------------
log "done"
"$PYTHON" bench/report.py --cost "$work/cost.json" --live "$work/live.txt" \
	--control "$work/control.txt" --quick "${QUICK:-0}" --out "$OUT"
