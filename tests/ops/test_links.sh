#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Interfaces without a link-layer header, in namespaces with a temporary bpffs and --pin-dir in
# it: a tun device (IFF_TUN, bare IP packets) loaded while voipwall already protects a veth; raw
# IPv4 and IPv6 datagrams written into it from a source outside the allowlist never reach the
# socket on the protected port, the allowlisted source's do, counters exact; a loopback device is
# refused; status shows link types, modes and the interfaces left unprotected.
set -u
cd "$(dirname "$0")/../.."
# shellcheck source=tests/ops/lib.sh
. tests/ops/lib.sh
ops_prelude links
[ -c /dev/net/tun ] || skip_all "no /dev/net/tun"

trap ops_cleanup EXIT
trap 'exit 1' INT TERM HUP
ops_setup vwln ln0 ln1
cat >"$tmp/voipwall.conf" <<EOC
class sip 5060/udp
allow sip 198.18.0.2 198.18.61.0/24 2001:db8:61::/64
EOC
TUN=tl0
gw() { ip netns exec "$GW" "$@"; }

# tun_up NAME: a tun device in the gateway namespace; the far side of the tunnel is
# 198.18.60.0/23 and 2001:db8:60::/47 (60: strangers, 61: allowlisted)
tun_up() {
	gw "$PY" tests/lib/vwtun.py create "$1" &&
		gw sysctl -qw "net.ipv6.conf.$1.disable_ipv6=0" &&
		ip -n "$GW" addr add 198.18.50.1/24 dev "$1" &&
		ip -n "$GW" addr add 2001:db8:50::1/64 dev "$1" nodad &&
		ip -n "$GW" link set "$1" up &&
		ip -n "$GW" route add 198.18.60.0/23 dev "$1" &&
		ip -n "$GW" route add 2001:db8:60::/47 dev "$1"
}

if vw load --config "$tmp/voipwall.conf" ln0 >"$tmp/out" 2>&1; then
	pass links_load_veth
else
	fail links_load_veth "$(oneline "$tmp/out")"
fi
tun_up "$TUN" || skip_all "cannot create a tun device"

# tun devices accept no native program: voipwall attaches in skb mode with the raw-IP program
if vw load --config "$tmp/voipwall.conf" "$TUN" >"$tmp/out" 2>&1 &&
	grep -q "loaded on $TUN .*skb mode, no link-layer header" "$tmp/out"; then
	pass links_load_tun_skb_raw_ip
else
	fail links_load_tun_skb_raw_ip "$(oneline "$tmp/out")"
fi
ip -n "$GW" -d link show "$TUN" | grep -q "prog/xdp id" &&
	{ ip -n "$GW" -d link show "$TUN" | grep -q "xdpgeneric" || ip -n "$GW" -d link show "$TUN" | grep -q "generic"; } &&
	pass links_tun_generic_attached || fail links_tun_generic_attached "$(ip -n "$GW" -d link show "$TUN" | tr '\n' ' ')"

vw -j status >"$tmp/status.json" 2>&1
if "$PY" - "$tmp/status.json" "$TUN" <<'EOP'; then
import json, sys
d = json.load(open(sys.argv[1]))
i = {x["name"]: x for x in d["interfaces"]}
t, v = i[sys.argv[2]], i["ln0"]
assert (t["link_type"], t["mode"], t["raw_ip"]) == ("none", "skb", True), t
assert (v["link_type"], v["raw_ip"]) == ("ether", False), v
assert t["prog_id"] != v["prog_id"], (t, v)
EOP
	pass links_status_link_type_and_mode
else
	fail links_status_link_type_and_mode "$(oneline "$tmp/status.json")"
fi

# The datagrams: strangers from .60, allowlisted sources from .61, IPv4 and IPv6.
# (the listener stops when the 24 allowlisted datagrams are in: the strangers' went first)
gw "$PY" tests/lib/vwtun.py listen 5060 60 24 >"$tmp/recv" 2>&1 &
lpid=$!
for i in $(seq 30); do grep -q ready "$tmp/recv" && break; sleep 0.1; done
gw "$PY" tests/lib/vwtun.py send "$TUN" 198.18.60.5 198.18.50.1 5060 20
gw "$PY" tests/lib/vwtun.py send "$TUN" 198.18.61.5 198.18.50.1 5060 15
gw "$PY" tests/lib/vwtun.py send "$TUN" 2001:db8:60::5 2001:db8:50::1 5060 12
gw "$PY" tests/lib/vwtun.py send "$TUN" 2001:db8:61::5 2001:db8:50::1 5060 9
wait "$lpid"
got=$(grep -v ready "$tmp/recv" | sort | tr '\n' ' ')
want="198.18.61.5 15 2001:db8:61::5 9 "
[ "$got" = "$want" ] && pass links_tun_only_allowlisted_reach_socket ||
	fail links_tun_only_allowlisted_reach_socket "socket got '$got', want '$want'"
drops=$(ops_wait_count "$TUN" drop not_allowlisted 32)
passes=$(ops_wait_count "$TUN" pass allowlisted 24)
[ "$drops" -eq 32 ] && [ "$passes" -eq 24 ] && pass links_tun_counters_exact ||
	fail links_tun_counters_exact "drop/not_allowlisted $drops (want 32), pass/allowlisted $passes (want 24)"

# A loopback device: refused with one line naming it and its type, exit 2, nothing attached.
gw "$VOIPWALL" --pin-dir "$PIN" load --config "$tmp/voipwall.conf" lo >"$tmp/out" 2>&1
rc=$?
if [ "$rc" -eq 2 ] && [ "$(wc -l <"$tmp/out")" -eq 1 ] && grep -q "lo.*loopback" "$tmp/out" &&
	! ip -n "$GW" -d link show lo | grep -q "prog/xdp" &&
	[ "$(vw -j status | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)["interfaces"]))')" = 2 ]; then
	pass links_loopback_refused
else
	fail links_loopback_refused "rc $rc: $(oneline "$tmp/out")"
fi

# An interface up and not loaded is listed by status (name, link type, addresses).
ip -n "$GW" link add ln2 type veth peer name ln3
ip -n "$GW" addr add 198.18.70.1/24 dev ln2
ip -n "$GW" link set ln2 up
vw -j status >"$tmp/status.json" 2>&1
vw status >"$tmp/status.txt" 2>&1
if "$PY" - "$tmp/status.json" <<'EOP' && grep -q "ln2 .*link ether .*198.18.70.1" "$tmp/status.txt"; then
import json, sys
u = {x["name"]: x for x in json.load(open(sys.argv[1]))["unprotected"]}
assert "ln2" in u and u["ln2"]["link_type"] == "ether" and "198.18.70.1" in u["ln2"]["addresses"], u
assert "ln0" not in u and "tl0" not in u and "ln3" not in u and "lo" not in u, u
EOP
	pass links_status_lists_unprotected
else
	fail links_status_lists_unprotected "$(oneline "$tmp/status.txt")"
fi
