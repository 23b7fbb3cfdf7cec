#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Evasion: crafted frames from a non-allowlisted source to the SIP UAS port (5060) and
# to SSH (22) on the gateway: VLAN and QinQ tags, IPv6 with eight (and thirteen) extension
# headers, tiny, minimal and overlapping fragments, IPv4 options, zero-length UDP, TCP with odd
# flags, PPPoE sessions (bare, VLAN, QinQ; IPv4 and IPv6), discovery and PPP control frames.
# Block sets through the same shapes: a source blocked for a class with policy open, and an
# allowlisted source blocked with --override-allowlist, are dropped as blocklisted in every shape
# and fragment order, while the same frames from unblocked sources, and to a class the entry
# does not list, pass.
# Nothing may be delivered, each frame must be counted under the reason docs/datapath.md gives,
# and an allowlisted control of each shape is delivered where the kernel would deliver it.
# The cases live in evasion.py (scapy, run in the sender's namespace); this sets up the
# namespaces, the listeners and voipwall, and cleans up on every exit path.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib/suite.sh"
unset SSH_CONNECTION

vw_private_mounts "$@"
vw_require evasion || exit 0
if ! vw_topo_init 8; then
	vw_fail evasion-setup "could not build the namespaces, veth pair or bpffs"
	exit 1
fi
GOOD4=198.18.8.10 BAD4=198.18.8.20 GOOD6=2001:db8:8::10 BAD6=2001:db8:8::20
BLK4=198.18.8.30 BLK6=2001:db8:8::30 OVR4=198.18.8.40 OVR6=2001:db8:8::40

# The sender has no addresses and no IPv6: frames are crafted, and the gateway's answers (to the
# MAC given by static neighbour entries) are seen by the sniffer, never answered by a stack.
ip netns exec "$VW_NS_EXT" sysctl -qw net.ipv6.conf.ext.disable_ipv6=1
for a in $GOOD4 $BAD4 $GOOD6 $BAD6 $BLK4 $BLK6 $OVR4 $OVR6; do
	ip -n "$VW_NS_GW" neigh replace "$a" lladdr "$VW_EXT_MAC" dev wan nud permanent
done

cat >"$VW_TMP/evasion.conf" <<EOF2
class sip  5060/udp 5060/tcp 5061/tcp
class mgmt 22/tcp 23/tcp 161/udp
class prov 5070/udp 2222/tcp policy open
class guest 5080/udp policy open
allow sip,mgmt $GOOD4 $GOOD6 $OVR4 $OVR6
EOF2

RX="$VW_TMP/rx.log"
vw_bg ip netns exec "$VW_NS_GW" "$VW_PY" "$HERE/../lib/udpseq.py" recv --port 5060 \
	--port 9999 --port 5070 --port 5080 --tcp 22 --tcp 5060 --tcp 2222 --log "$RX" \
	--ready "$VW_TMP/rx.ready"
for _ in $(seq 50); do
	[ -e "$VW_TMP/rx.ready" ] && break
	sleep 0.1
done
if [ ! -e "$VW_TMP/rx.ready" ]; then
	vw_fail evasion-setup "listeners did not start"
	exit 1
fi
if ! vw_load "$VW_TMP/evasion.conf"; then
	vw_fail evasion-setup "voipwall load failed (log above)"
	exit 1
fi
if ! vw block add --set feed --class prov "$BLK4" "$BLK6" >"$VW_TMP/block.log" 2>&1 ||
	! vw block add --set manual --override-allowlist --class sip "$OVR4" "$OVR6" \
		>>"$VW_TMP/block.log" 2>&1; then
	cat "$VW_TMP/block.log"
	vw_fail evasion-setup "voipwall block add failed (log above)"
	exit 1
fi

ip netns exec "$VW_NS_EXT" "$VW_PY" "$HERE/evasion.py" --iface ext --wan-mac "$VW_WAN_MAC" \
	--ext-mac "$VW_EXT_MAC" --gw4 "$VW_GW4" --gw6 "$VW_GW6" --good4 $GOOD4 --bad4 $BAD4 \
	--good6 $GOOD6 --bad6 $BAD6 --blk4 $BLK4 --blk6 $BLK6 --ovr4 $OVR4 --ovr6 $OVR6 \
	--rx-log "$RX" ${VW_EVASION_ONLY:+--only "$VW_EVASION_ONLY"} \
	--stats-cmd "ip netns exec $VW_NS_GW $VOIPWALL --pin-dir $VW_PIN stats -j"
rc=$?
echo "# listener log:"
sed 's/^/#   /' "$RX"
exit $rc
