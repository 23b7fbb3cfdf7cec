#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Flood control through the voipwall command, with real traffic between two namespaces: the
# config's rates, bans and block statements, `voipwall block` (errors change nothing, expiry
# without a command, override, reload and restart keep the sets: unload --all keeps them, block
# commands change them with nothing loaded, the next load reuses them with the time left and the
# classes they named, refuses sets of another layout, --purge removes them), the stats and
# Prometheus view, top's marks, and kill -9 during a 1,000,000-prefix `block replace`.
set -u
cd "$(dirname "$0")/../.."
# shellcheck source=../lib/suite.sh
. tests/lib/suite.sh
vw_private_mounts "$@"
export SSH_CONNECTION=""
vw_require flood_cli || exit 0
vw_topo_init 61 || { vw_fail flood_cli_setup "cannot build the topology"; exit 1; }

T=$VW_TMP
PEER=198.18.61.2
ip -n "$VW_NS_EXT" addr add "$PEER/24" dev ext

send() { # send SRC PORT COUNT: UDP frames from the ext namespace
	ip netns exec "$VW_NS_EXT" "$VW_PY" tests/lib/frames.py ext "$VW_WAN_MAC" "$1,$VW_GW4,udp,$2,$3"
}
snap() { vw_snap >"$T/$1"; }
# check NAME BEFORE AFTER KEY=N...: exact counter deltas on wan
check() {
	local name=$1 a=$2 b=$3
	shift 3
	if out=$("$VW_PY" tests/lib/vwstats.py check "$T/$a" "$T/$b" wan "$@" 2>&1); then
		vw_pass "$name"
	else
		vw_fail "$name" "$out"
	fi
}
jget() { "$VW_PY" -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

cat >"$T/vw.conf" <<CONF
class sip  5060/udp rate 1/m burst 5 ban 10m
class prov 69/udp policy open rate 1/m burst 3
allow sip $PEER
block 192.0.2.0/24
CONF

# ---- config ----
if v=$(vw -c "$T/vw.conf" check -j | jget '",".join("%s:%s:%s:%s" % (c["name"], c["policy"], c.get("rate"), c.get("ban_seconds")) for c in d["classes"])') &&
	[ "$v" = "sip:drop:1:600,prov:open:1:0" ]; then
	vw_pass flood_cli_check_shows_open_rate_ban
else
	vw_fail flood_cli_check_shows_open_rate_ban "got '$v'"
fi
printf 'class a 1/udp rate 5/x burst 0\nblock 10.0.0.1/8\n' >"$T/bad.conf"
vw -c "$T/bad.conf" check >"$T/out" 2>"$T/err"
rc=$?
if [ "$rc" -eq 2 ] &&
	grep -q "bad.conf:1: bad rate '5/x'" "$T/err" && grep -q "bad.conf:2: host bits set in '10.0.0.1/8'" "$T/err"; then
	vw_pass flood_cli_config_errors_file_line
else
	vw_fail flood_cli_config_errors_file_line "$(cat "$T/err")"
fi

vw_load "$T/vw.conf" || { vw_fail flood_cli_load "load failed"; exit 1; }
if vw block list --set config -j | jget '[e["prefix"] for e in d["entries"]] == ["192.0.2.0/24"]' | grep -q True; then
	vw_pass flood_cli_config_block_set
else
	vw_fail flood_cli_config_block_set "$(vw block list)"
fi

# ---- rate and ban (1/m: no token comes back during the test; bans ending by themselves are
# tested with the program's test clock in tests/unit/test_flood.c) ----
snap s0
send "$PEER" 5060 10
snap s1
check flood_cli_rate_then_ban s0 s1 "sip|pass|allowlisted=5" "sip|drop|rate_limited=1" "sip|drop|banned=4"
if vw top -j | jget '[s for s in d["top"] if s["source"] == "'$PEER'" and s.get("banned_class") == "sip" and 0 < s["banned_seconds_left"] <= 600]' | grep -q "$PEER" &&
	vw top | grep "$PEER" | grep -q "banned from sip"; then
	vw_pass flood_cli_top_marks_banned
else
	vw_fail flood_cli_top_marks_banned "$(vw top)"
fi
vw stats --prometheus >"$T/prom"
if grep -q '^voipwall_bans_active{class="sip"} 1$' "$T/prom" &&
	grep -q 'reason="rate_limited"} 1$' "$T/prom" && grep -q 'reason="banned"} 4$' "$T/prom" &&
	grep -q '^voipwall_block_entries{set="config"} 1$' "$T/prom" &&
	{ ! command -v promtool >/dev/null || promtool check metrics <"$T/prom" >/dev/null 2>&1; }; then
	vw_pass flood_cli_prometheus_reasons_and_gauges
else
	vw_fail flood_cli_prometheus_reasons_and_gauges "$(grep -E 'bans|block|rate_limited|banned' "$T/prom")"
fi
# ---- block sets ----
before=$(vw block list -j)
vw block add --set fail2ban 198.18.61.2 10.0.0.1/8 >"$T/out" 2>"$T/err"
rc=$?
if [ "$rc" -eq 2 ] &&
	grep -q "invalid prefix '10.0.0.1/8'" "$T/err" && [ "$(vw block list -j)" = "$before" ]; then
	vw_pass flood_cli_block_bad_prefix_changes_nothing
else
	vw_fail flood_cli_block_bad_prefix_changes_nothing "$(cat "$T/err")"
fi
printf '203.0.113.1\n203.0.113.2/40\n' >"$T/feed"
if ! vw block replace --set apiban "$T/feed" >"$T/out" 2>"$T/err" &&
	grep -q "feed:2: invalid prefix '203.0.113.2/40'" "$T/err" && [ "$(vw block list -j)" = "$before" ]; then
	vw_pass flood_cli_block_replace_bad_file_file_line
else
	vw_fail flood_cli_block_replace_bad_file_file_line "$(cat "$T/err")"
fi
vw block add --set fail2ban --for 10m --class prov "$PEER" >/dev/null
snap s4
send "$PEER" 69 2
snap s5
check flood_cli_block_open_class s4 s5 "prov|drop|blocklisted=2"
vw block add --set fail2ban --for 2s --class prov "$PEER" >/dev/null # the same entry, now 2 s
sleep 3
snap s6
send "$PEER" 69 1
snap s7
check flood_cli_block_expires_without_command s6 s7 "prov|pass|open=1"
vw block add --set manual --override-allowlist --class sip "$PEER" >/dev/null
vw block add --set manual 198.18.61.0/24 >/dev/null # no override: the allowlist wins for sip
snap s8
send "$PEER" 5060 1
snap s9
check flood_cli_block_override_allowlist s8 s9 "sip|drop|blocklisted=1"
vw block del --set manual "$PEER" >/dev/null
snap s10
send "$PEER" 69 1
snap s11
check flood_cli_block_covering_entry_after_del s10 s11 "prov|drop|blocklisted=1"

# reload and a second load keep the sets; the set "config" follows the config
sed -i 's|^block .*|block 192.0.2.0/25|' "$T/vw.conf"
vw -c "$T/vw.conf" reload >/dev/null
if vw block list -j | jget 'sorted((e["set"], e["prefix"]) for e in d["entries"])' |
	grep -q "('config', '192.0.2.0/25'), ('manual', '198.18.61.0/24')"; then
	vw_pass flood_cli_reload_keeps_sets
else
	vw_fail flood_cli_reload_keeps_sets "$(vw block list)"
fi

# ---- kill -9 during a 1,000,000-prefix replace: one whole set, old or new ----
"$VW_PY" -c '
import sys
with open(sys.argv[1], "w") as f:
    f.write("203.0.113.10\n")
with open(sys.argv[2], "w") as f:
    for i in range(1000000 - 1):
        f.write("10.%d.%d.%d\n" % (i >> 16 & 255, i >> 8 & 255, i & 255))
    f.write("203.0.113.11\n")
' "$T/old" "$T/new"
vw block replace --set feed "$T/old" >/dev/null
ok=1 killed=0
for delay in 0.5 1.5; do
	vw_bg ip netns exec "$VW_NS_GW" "$VOIPWALL" --pin-dir "$VW_PIN" block replace --set feed "$T/new"
	pid=$VW_LAST_PID
	sleep "$delay"
	kill -9 "$pid" 2>/dev/null && killed=$((killed + 1))
	wait "$pid" 2>/dev/null
	vw_reaped "$pid"
	snap k0
	send 203.0.113.10 69 1
	send 203.0.113.11 69 1
	snap k1
	d=$("$VW_PY" tests/lib/vwstats.py delta "$T/k0" "$T/k1" | grep 'prov|' | sort | tr '\n' ' ')
	n=$(vw stats -j | jget 'd["block_entries"].get("feed")')
	case "$d:$n" in
	*"prov|drop|blocklisted 1 "*"prov|pass|open 1 "*:1 | *"prov|drop|blocklisted 1 "*"prov|pass|open 1 "*:1000000) ;;
	*) ok=0; echo "# after kill at ${delay}s: $d, gauge $n" ;;
	esac
	vw block replace --set feed "$T/old" >/dev/null
done
if [ "$ok" = 1 ] && [ "$killed" -gt 0 ]; then
	vw_pass flood_cli_kill_9_during_1m_replace
else
	vw_fail flood_cli_kill_9_during_1m_replace "killed $killed; a set was neither old nor new"
fi
start=$(date +%s%N)
head -n 100000 "$T/new" | vw block replace --set feed - >/dev/null
vw_log "block replace of 100,000 prefixes through the CLI: $((($(date +%s%N) - start) / 1000000)) ms"

# ---- restart: unload --all keeps the feeders' sets, the next load reuses them ----
K1=198.18.62.1 K2=198.18.62.2 K3=198.18.62.3 K4=198.18.62.4
vw block add --set apiban "$K1" >/dev/null
vw block add --set crowdsec --for 10m --class prov "$K2" >/dev/null
vw block del --set manual 198.18.61.0/24 >/dev/null
vw block flush --set feed >/dev/null
vw unload --all >"$T/out" 2>&1
rc=$?
listing=$(vw_pin_listing | awk '{print $1}' | tr '\n' ' ')
if [ "$rc" -eq 0 ] && grep -q "kept for the next load" "$T/out" &&
	[ "$listing" = "./vw_block ./vw_block_meta ./vw_block_sets " ] &&
	! ip -n "$VW_NS_GW" link show wan | grep -q xdp; then
	vw_pass flood_cli_unload_keeps_block_sets
else
	vw_fail flood_cli_unload_keeps_block_sets "exit $rc, pins '$listing': $(cat "$T/out")"
fi
VW_LOADED=0
# nothing loaded: readers say so (not "incomplete"); block commands change the kept sets
vw status >"$T/out" 2>&1
rc=$?
vw block add --set manual "$K4" >/dev/null 2>"$T/err"
rc2=$?
v=$(vw block list -j 2>/dev/null | jget 'sorted((e["set"], e["prefix"], e["classes"], e["seconds_left"] is None) for e in d["entries"])')
if [ "$rc" -eq 1 ] && grep -q "not loaded (.* holds only 4 block sets (2 entries), kept" "$T/out" &&
	[ "$rc2" -eq 0 ] && grep -q "working on the block sets kept" "$T/err" &&
	[ "$v" = "[('apiban', '$K1/32', 'all', True), ('crowdsec', '$K2/32', 'prov', False), ('manual', '$K4/32', 'all', True)]" ]; then
	vw_pass flood_cli_block_commands_while_not_loaded
else
	vw_fail flood_cli_block_commands_while_not_loaded "status exit $rc: $(cat "$T/out"); add exit $rc2; list $v"
fi
# a config with a class before prov: the kept entry for prov stays prov's (classes keep their
# ids by name across the restart)
sed 's|^class sip|class web 8080/udp policy open\nclass sip|' "$T/vw.conf" >"$T/vw2.conf"
vw -c "$T/vw2.conf" load wan >"$T/out" 2>&1 && VW_LOADED=1
left=$(vw block list -j | jget '[e["seconds_left"] for e in d["entries"] if e["set"] == "crowdsec"][0]')
snap r0
send "$K1" 69 1
send "$K2" 69 2
send "$K4" 69 1
send "$K3" 69 1
send "$K2" 8080 1
snap r1
if grep -q "block sets kept from before: 4 block sets (3 entries)" "$T/out" &&
	"$VW_PY" -c "import sys; sys.exit(not 580 < float(sys.argv[1]) <= 600)" "$left"; then
	check flood_cli_load_reuses_kept_sets r0 r1 "prov|drop|blocklisted=4" "prov|pass|open=1" "web|pass|open=1"
else
	vw_fail flood_cli_load_reuses_kept_sets "crowdsec seconds left '$left': $(cat "$T/out")"
fi

# sets written in another layout are refused, never misread: nothing loaded, nothing changed
vw unload --all >/dev/null 2>&1 && VW_LOADED=0
before=$(vw_pin_listing)
meta=$("$VW_PY" -c 'print(" ".join(["ff", "00", "00", "00"] + ["00"] * 516))')
# shellcheck disable=SC2086 # one word per byte
ip netns exec "$VW_NS_GW" bpftool map update pinned "$VW_PIN/vw_block_meta" key hex 00 00 00 00 value hex $meta
vw -c "$T/vw.conf" load wan >"$T/out" 2>&1
rc=$?
vw unload --all >"$T/out2" 2>&1 # without --purge: left as they are
rc2=$?
if [ "$rc" -eq 1 ] && grep -q "holds block sets this voipwall cannot read: they were written in another layout (layout 255; this voipwall reads layout 1)" "$T/out" &&
	[ "$rc2" -eq 1 ] && grep -q "holds only block sets this voipwall cannot read, kept" "$T/out2" &&
	[ "$(vw_pin_listing)" = "$before" ] && ! ip -n "$VW_NS_GW" link show wan | grep -q xdp; then
	vw_pass flood_cli_load_refuses_other_layout
else
	vw_fail flood_cli_load_refuses_other_layout "exit $rc: $(cat "$T/out"); unload exit $rc2: $(cat "$T/out2")"
fi
# --purge removes them with nothing loaded, unreadable as they are (while loaded: tests/cli
# unload_all)
vw unload --all --purge >"$T/out" 2>&1
rc=$?
if [ "$rc" -eq 0 ] && grep -q "removed the block sets kept in .*: block sets this voipwall cannot read (they were written in another layout)" "$T/out" &&
	[ ! -e "$VW_PIN" ]; then
	vw_pass flood_cli_unload_purge_removes_sets
else
	vw_fail flood_cli_unload_purge_removes_sets "exit $rc: $(cat "$T/out"); pins: $(vw_pin_listing 2>&1)"
fi
