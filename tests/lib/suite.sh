# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=bash
# shellcheck disable=SC2034 # the VW_* variables set here are for the scripts that source it
# Shell helpers of the test suites that run voipwall in two namespaces (tests/faults,
# tests/evasion, tests/flood): result lines, the two-namespace topology of scripts/topology.sh
# (topo_pair) with addresses and a private bpffs for the pin directory, and cleanup on every exit
# path. Source it; it defines functions only and sets no traps of its own until vw_topo_init is
# called.

VW_PY=${PYTHON:-/usr/bin/python3}
VW_HELPERS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../../scripts/topology.sh
. "$VW_HELPERS/../../scripts/topology.sh"

vw_pass() { echo "PASS $1"; }
vw_fail() { echo "FAIL $1: $2"; }
vw_skip() { echo "SKIP $1: $2"; }
vw_log() { echo "# $*"; }

# State filled by vw_topo_init.
VW_TMP=
VW_BPFFS=
VW_PIN=
VW_NS_GW=
VW_NS_EXT=
VW_BG_PIDS=()
VW_LOADED=0

vw_cleanup() {
	local p
	set +e
	for p in "${VW_BG_PIDS[@]}"; do
		kill -9 "$p" 2>/dev/null
	done
	for p in "${VW_BG_PIDS[@]}"; do
		wait "$p" 2>/dev/null
	done
	if [ "$VW_LOADED" = 1 ] && [ -n "$VW_NS_GW" ]; then
		ip netns exec "$VW_NS_GW" "$VOIPWALL" --pin-dir "$VW_PIN" unload --all >/dev/null 2>&1
	fi
	topo_destroy
}

# Run in the background and remember the pid for cleanup: vw_bg cmd args...; pid in $VW_LAST_PID.
vw_bg() {
	"$@" &
	VW_LAST_PID=$!
	VW_BG_PIDS+=("$VW_LAST_PID")
}

# Re-run the calling script in a private mount namespace (call first, with "$@"): the test's
# bpffs then exists for this script and its children only. A bpffs mounted where everybody sees
# it is taken by iproute2 and libxdp run under `ip netns exec` (a fresh /sys has no
# /sys/fs/bpf, so they use the first bpf mount listed), which mixes other tests' pins into ours
# and ours into theirs.
vw_private_mounts() {
	if [ -z "${VW_UNSHARED:-}" ] && [ "$(id -u)" -eq 0 ]; then
		export VW_UNSHARED=1
		exec unshare --mount --propagation private "$0" "$@"
	fi
}

# Checks that every test needs; prints one FAIL line and returns 1 when one is missing.
vw_require() {
	local suite=$1
	if [ "$(id -u)" -ne 0 ]; then
		vw_skip "$suite" "needs root (network namespaces, bpffs)"
		return 1
	fi
	if [ -z "${VOIPWALL:-}" ] || [ ! -x "$VOIPWALL" ]; then
		vw_fail "$suite" "voipwall binary '${VOIPWALL:-}' missing" \
			"(run make all; tests/run.sh sets VOIPWALL)"
		return 1
	fi
	if ! "$VW_PY" -c 'import scapy' 2>/dev/null; then
		vw_fail "$suite" "$VW_PY has no scapy (apt-get install python3-scapy)"
		return 1
	fi
	return 0
}

# vw_topo_init NET: topo_pair with the veth end "wan" in gw (198.18.<NET>.1/24,
# 2001:db8:<NET>::1/64) and "ext" in ext; the bpffs $VW_BPFFS with the pin directory $VW_PIN in
# it, the temporary folder $VW_TMP. Installs the cleanup trap.
vw_topo_init() {
	local net=$1
	trap vw_cleanup EXIT
	trap 'exit 130' INT TERM
	if [ "${VW_UNSHARED:-}" = 1 ]; then
		# Our own /run/netns too: our namespaces stay out of everybody else's `ip netns`
		# listings (and theirs out of ours), and die with this mount namespace.
		mkdir -p /run/netns
		mount -t tmpfs -o mode=0755 vw-netns /run/netns || return 1
	fi
	topo_pair wan ext || return 1
	VW_TMP=$TOPO_TMP VW_BPFFS=$TOPO_PIN_MNT VW_PIN=$TOPO_PIN
	VW_NS_GW=$TOPO_NS_GW VW_NS_EXT=$TOPO_NS_EXT
	# Traversable by others, so the permission test judges the pin directory's own mode.
	chmod 0755 "$VW_TMP"
	ip netns exec "$VW_NS_GW" sysctl -qw net.ipv6.conf.wan.accept_dad=0
	ip netns exec "$VW_NS_EXT" sysctl -qw net.ipv6.conf.ext.accept_dad=0
	ip -n "$VW_NS_GW" addr add "198.18.$net.1/24" dev wan
	ip -n "$VW_NS_GW" addr add "2001:db8:$net::1/64" dev wan nodad
	VW_GW4="198.18.$net.1"
	VW_GW6="2001:db8:$net::1"
	VW_WAN_MAC=$(ip -n "$VW_NS_GW" -br link show wan | awk '{print $3}')
	VW_EXT_MAC=$(ip -n "$VW_NS_EXT" -br link show ext | awk '{print $3}')
}

# voipwall in the gateway namespace with the test's pin directory.
vw() {
	ip netns exec "$VW_NS_GW" "$VOIPWALL" --pin-dir "$VW_PIN" "$@"
}

# Load voipwall on wan with config $1; sets VW_LOADED. Output in $VW_TMP/load.log.
vw_load() {
	if ! vw -c "$1" load wan >"$VW_TMP/load.log" 2>&1; then
		cat "$VW_TMP/load.log"
		return 1
	fi
	VW_LOADED=1
}

# Counter snapshot: `stats -j` as it is, which vwstats.py delta, check and total read (no Python
# here: a snapshot is taken before and after every probe).
vw_snap() {
	vw stats -j 2>"$VW_TMP/stats.err"
}

# Sorted listing (relative path, type, mode) of the pin directory, for comparisons.
vw_pin_listing() {
	(cd "$VW_PIN" && find . -mindepth 1 -printf '%p %y %m\n' | sort)
}

# Forget pids that were waited for, so cleanup never signals a recycled pid.
vw_reaped() {
	local p q keep=()
	for p in "${VW_BG_PIDS[@]}"; do
		for q in "$@"; do
			[ "$p" = "$q" ] && continue 2
		done
		keep+=("$p")
	done
	VW_BG_PIDS=("${keep[@]}")
}
