#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The template unit voipwall@.service, for interfaces that come and go (ppp0, wg0, tun0), run as
# systemd would run it, in namespaces with a temporary bpffs and --pin-dir in it: voipwall.service
# protects a veth, then a tun device appears and voipwall@TUN's ExecStart (read from the unit,
# with /etc/default/voipwall's variables and the instance name substituted) protects it too:
# status lists it, raw IP datagrams written into it from a source outside the allowlist are
# dropped and the allowlisted source's pass, counters exact; ExecStop forgets it and leaves the
# veth protected. The unit is bound to the device unit and wanted by it.
set -u
cd "$(dirname "$0")/../.."
ROOT=$PWD
# shellcheck source=tests/ops/lib.sh
. tests/ops/lib.sh
ops_prelude iface_unit
[ -c /dev/net/tun ] || skip_all "no /dev/net/tun"

trap ops_cleanup EXIT
trap 'exit 1' INT TERM HUP
ops_setup vwiu iu0 iu1
cat >"$tmp/voipwall.conf" <<EOC
class sip 5060/udp
allow sip 198.18.0.2 198.18.61.0/24 2001:db8:61::/64
EOC
TUN=tu$$
TUN=${TUN:0:15}
gw() { ip netns exec "$GW" "$@"; }

# The units with this build's paths, and /etc/default/voipwall pointing at the test's config and
# pin directory.
units="$tmp/units"
mkdir -p "$units"
for u in voipwall.service voipwall@.service; do
	sed -e "s|@SBINDIR@|$(dirname "$VOIPWALL")|g" "$ROOT/packaging/$u" >"$units/$u"
done
envf=$tmp/default.voipwall
sed -e "s|^VOIPWALL_OPTIONS=.*|VOIPWALL_OPTIONS=\"--pin-dir $PIN -c $tmp/voipwall.conf\"|" \
	-e "s|^VOIPWALL_INTERFACES=.*|VOIPWALL_INTERFACES=\"iu0\"|" \
	"$ROOT/packaging/voipwall.default" >"$envf"
grep -q '^VOIPWALL_IFACE_LOAD_OPTIONS=""$' "$envf" && pass iface_unit_default_file ||
	fail iface_unit_default_file "packaging/voipwall.default sets no VOIPWALL_IFACE_LOAD_OPTIONS"

# unit_line UNIT KEY [INSTANCE]: the unit's KEY= line, with systemd's %i and %I for INSTANCE
unit_line() {
	sed -n "s/^$2=//p" "$units/$1" | sed -e "s/%[iI]/${3:-}/g"
}
# run_line LINE: LINE as systemd runs it (the environment file read, $VAR split into words), in
# the gateway namespace; output in $tmp/unit.out, exit code in $urc
run_line() {
	# shellcheck disable=SC1090
	(set -a && . "$envf" && set +a && eval "ip netns exec \"\$GW\" $1") >"$tmp/unit.out" 2>&1
	urc=$?
}

# The template's dependencies: started by the device unit, stopped when the device goes.
dev="sys-subsystem-net-devices-%i.device"
if grep -qx "BindsTo=$dev" "$units/voipwall@.service" &&
	grep -q "^After=.*$dev" "$units/voipwall@.service" &&
	grep -qx "WantedBy=$dev" "$units/voipwall@.service" &&
	grep -qx "PartOf=voipwall.service" "$units/voipwall@.service" &&
	grep -qx "EnvironmentFile=-/etc/default/voipwall" "$units/voipwall@.service"; then
	pass iface_unit_bound_to_device
else
	fail iface_unit_bound_to_device "$(oneline "$units/voipwall@.service")"
fi
if command -v systemd-analyze >/dev/null; then
	if systemd-analyze verify --man=no "$units/voipwall@.service" >"$tmp/verify.log" 2>&1; then
		pass iface_unit_verify
	else
		fail iface_unit_verify "$(oneline "$tmp/verify.log")"
	fi
else
	echo "SKIP iface_unit_verify: systemd-analyze missing"
fi

# voipwall.service protects the veth.
run_line "$(unit_line voipwall.service ExecStart)"
if [ "$urc" -eq 0 ] && vw -j status | grep -q '"name": *"iu0"'; then
	pass iface_unit_main_service_loads_veth
else
	fail iface_unit_main_service_loads_veth "exit $urc: $(oneline "$tmp/unit.out")"
fi

# A tun device appears (the far side of the tunnel: 198.18.60.0/23 and 2001:db8:60::/47; .60
# strangers, .61 allowlisted).
gw "$PY" tests/lib/vwtun.py create "$TUN" &&
	gw sysctl -qw "net.ipv6.conf.$TUN.disable_ipv6=0" &&
	ip -n "$GW" addr add 198.18.50.1/24 dev "$TUN" &&
	ip -n "$GW" addr add 2001:db8:50::1/64 dev "$TUN" nodad &&
	ip -n "$GW" link set "$TUN" up &&
	ip -n "$GW" route add 198.18.60.0/23 dev "$TUN" &&
	ip -n "$GW" route add 2001:db8:60::/47 dev "$TUN" || skip_all "cannot create a tun device"

# Before the unit runs, status lists the tun device as up and unprotected.
if vw -j status | "$PY" -c '
import json, sys
u = {x["name"] for x in json.load(sys.stdin)["unprotected"]}
assert sys.argv[1] in u, u' "$TUN"; then
	pass iface_unit_tun_unprotected_before
else
	fail iface_unit_tun_unprotected_before "$(vw status | tr '\n' ' ')"
fi

# The device unit pulls in voipwall@TUN: its ExecStart.
start=$(unit_line voipwall@.service ExecStart "$TUN")
run_line "$start"
if [ "$urc" -eq 0 ]; then
	pass iface_unit_start
else
	fail iface_unit_start "exit $urc: $start: $(oneline "$tmp/unit.out")"
fi
vw -j status >"$tmp/status.json" 2>&1
if "$PY" - "$tmp/status.json" "$TUN" <<'EOP'; then
import json, sys
d = json.load(open(sys.argv[1]))
i = {x["name"]: x for x in d["interfaces"]}
t, v = i[sys.argv[2]], i["iu0"]
assert (t["link_type"], t["mode"], t["raw_ip"]) == ("none", "skb", True), t
assert v["link_type"] == "ether", v
assert sys.argv[2] not in {x["name"] for x in d["unprotected"]}, d["unprotected"]
EOP
	pass iface_unit_status_lists_tun
else
	fail iface_unit_status_lists_tun "$(oneline "$tmp/status.json")"
fi

# Prometheus names each interface's real link type and mode.
vw stats --prometheus >"$tmp/metrics.prom" 2>&1
if grep -qx "voipwall_interface_info{interface=\"$TUN\",mode=\"skb\",link_type=\"none\",attach=\"direct\"} 1" "$tmp/metrics.prom" &&
	grep -q '^voipwall_interface_info{interface="iu0",mode="[a-z]*",link_type="ether",' "$tmp/metrics.prom"; then
	pass iface_unit_prometheus_link_type
else
	fail iface_unit_prometheus_link_type "$(grep interface_info "$tmp/metrics.prom" | tr '\n' ' ')"
fi

# Datagrams written into the tun device to the protected port: strangers' dropped, the
# allowlisted source's reach the socket; counters exact.
gw "$PY" tests/lib/vwtun.py listen 5060 60 10 >"$tmp/recv" 2>&1 &
lpid=$!
for _ in $(seq 30); do grep -q ready "$tmp/recv" && break; sleep 0.1; done
gw "$PY" tests/lib/vwtun.py send "$TUN" 198.18.60.7 198.18.50.1 5060 13
gw "$PY" tests/lib/vwtun.py send "$TUN" 2001:db8:60::7 2001:db8:50::1 5060 4
gw "$PY" tests/lib/vwtun.py send "$TUN" 198.18.61.7 198.18.50.1 5060 6
gw "$PY" tests/lib/vwtun.py send "$TUN" 2001:db8:61::7 2001:db8:50::1 5060 4
wait "$lpid"
got=$(grep -v ready "$tmp/recv" | sort | tr '\n' ' ')
want="198.18.61.7 6 2001:db8:61::7 4 "
[ "$got" = "$want" ] && pass iface_unit_tun_only_allowlisted_reach_socket ||
	fail iface_unit_tun_only_allowlisted_reach_socket "socket got '$got', want '$want'"
drops=$(ops_wait_count "$TUN" drop not_allowlisted 17)
passes=$(ops_wait_count "$TUN" pass allowlisted 10)
vdrops=$(ops_count iu0 drop not_allowlisted)
[ "$drops" -eq 17 ] && [ "$passes" -eq 10 ] && [ "$vdrops" -eq 0 ] &&
	pass iface_unit_tun_counters_exact ||
	fail iface_unit_tun_counters_exact "$TUN drop/not_allowlisted $drops (want 17), pass/allowlisted $passes (want 10), iu0 drops $vdrops (want 0)"

# systemctl restart voipwall@TUN while the device stays: ExecStop forgets the tun device and
# leaves the veth protected, ExecStart protects it again.
run_line "$(unit_line voipwall@.service ExecStop "$TUN")"
stop_rc=$urc
vw -j status >"$tmp/status2.json" 2>&1
if [ "$stop_rc" -eq 0 ] && "$PY" - "$tmp/status2.json" "$TUN" <<'EOP'; then
import json, sys
d = json.load(open(sys.argv[1]))
names = {x["name"] for x in d["interfaces"]}
assert names == {"iu0"}, names
assert sys.argv[2] in {x["name"] for x in d["unprotected"]}, d["unprotected"]
EOP
	pass iface_unit_stop_leaves_veth
else
	fail iface_unit_stop_leaves_veth "exit $stop_rc: $(oneline "$tmp/unit.out") $(oneline "$tmp/status2.json")"
fi
run_line "$start"
if [ "$urc" -eq 0 ] && vw -j status | grep -q "\"name\": *\"$TUN\""; then
	pass iface_unit_restart
else
	fail iface_unit_restart "exit $urc: $(oneline "$tmp/unit.out")"
fi

# The device goes away (the VPN stops): systemd stops the bound unit, whose ExecStop forgets it.
ip -n "$GW" link del "$TUN"
run_line "$(unit_line voipwall@.service ExecStop "$TUN")"
if [ "$urc" -eq 0 ] && [ "$(vw -j status | "$PY" -c 'import json,sys; print(sorted(x["name"] for x in json.load(sys.stdin)["interfaces"]))')" = "['iu0']" ]; then
	pass iface_unit_device_gone
else
	fail iface_unit_device_gone "exit $urc: $(oneline "$tmp/unit.out") $(vw status | tr '\n' ' ')"
fi
