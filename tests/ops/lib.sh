# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Shared by the ops suites (sourced): the two namespaces of scripts/topology.sh's topo_pair
# (IPv4 only), its temporary bpffs. ops_setup NAME IF_GW IF_PEER sets GW, PEER (namespaces), tmp,
# bpffs, PIN (a folder of the bpffs, never the default pin directory); ops_cleanup undoes it.
# Suites call skip_all (their own) when something is missing.

# shellcheck source=../../scripts/topology.sh
. scripts/topology.sh

# ops_prelude NAME: what every ops suite starts with (run from the top of the tree): VOIPWALL,
# PY, no SSH session for the anti-lockout check, skip_all (says "SKIP NAME: why" and ends the
# suite), root and a built voipwall.
ops_prelude() {
	OPS_SUITE=$1
	VOIPWALL=${VOIPWALL:-$PWD/${BUILD:-build}/voipwall}
	export SSH_CONNECTION=""
	PY=${PYTHON:-/usr/bin/python3}
	[ "$(id -u)" -eq 0 ] || skip_all "needs root (namespaces, XDP)"
	[ -x "$VOIPWALL" ] || skip_all "$VOIPWALL not built"
}

skip_all() {
	echo "SKIP $OPS_SUITE: $1"
	exit 0
}

ops_setup() {
	local ifgw=$2 ifpeer=$3 ns
	topo_pair "$ifgw" "$ifpeer" || skip_all "cannot create the namespaces, veth pair or bpffs"
	GW=$TOPO_NS_GW PEER=$TOPO_NS_EXT tmp=$TOPO_TMP bpffs=$TOPO_PIN_MNT
	PIN="$bpffs/vw"
	for ns in "$GW" "$PEER"; do
		# no IPv6 autoconfiguration chatter: the counters hold only what the tests send
		ip netns exec "$ns" sh -c 'echo 1 >/proc/sys/net/ipv6/conf/all/disable_ipv6; echo 1 >/proc/sys/net/ipv6/conf/default/disable_ipv6'
	done
	ip -n "$GW" addr add 198.18.0.1/24 dev "$ifgw"
	ip -n "$PEER" addr add 198.18.0.2/24 dev "$ifpeer"
}

ops_cleanup() {
	[ -d "${PIN:-}" ] && ip netns exec "$GW" "$VOIPWALL" --pin-dir "$PIN" unload --all >/dev/null 2>&1
	topo_destroy
}

pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; }
oneline() { head -c 400 "$1" | tr '\n' ' '; }
vw() { ip netns exec "$GW" "$VOIPWALL" --pin-dir "$PIN" "$@"; }

# ops_count IFACE VERDICT REASON: packets of class sip on IFACE with that verdict and reason, from
# `stats -j` (0 when none, or when nothing is loaded)
ops_count() {
	vw -j stats 2>/dev/null | "$PY" -c '
import json, sys
try:
    d = json.load(sys.stdin)["counters"]
except Exception:
    d = []
print(sum(c["packets"] for c in d if (c["interface"], c["class"], c["verdict"], c["reason"]) ==
          (sys.argv[1], "sip", sys.argv[2], sys.argv[3])))' "$1" "$2" "$3"
}

# ops_wait_count IFACE VERDICT REASON N: polls (3 s at most: frames cross the veth
# asynchronously) until the count reaches N; prints the last count
ops_wait_count() {
	local i v=0
	for i in $(seq 30); do
		v=$(ops_count "$1" "$2" "$3")
		[ "$v" -ge "$4" ] && break
		sleep 0.1
	done
	echo "$v"
}
