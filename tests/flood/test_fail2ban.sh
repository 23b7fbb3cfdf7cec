#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The shipped fail2ban action (packaging/fail2ban/action.d/voipwall.conf) with Debian's real
# fail2ban: a jail watching a test log bans a source through `voipwall block add --set fail2ban
# --for`, the source's packets are dropped (blocklisted), and the unban at the end of the ban time
# lets them in again. fail2ban-server runs in the foreground with its own config, socket, pid and
# database in the test's temporary directory.
set -u
cd "$(dirname "$0")/../.."
# shellcheck source=../lib/suite.sh
. tests/lib/suite.sh
vw_private_mounts "$@"
export SSH_CONNECTION=""
vw_require fail2ban || exit 0
command -v fail2ban-server >/dev/null || { vw_fail fail2ban "fail2ban-server missing (apt-get install fail2ban)"; exit 1; }
vw_topo_init 62 || { vw_fail fail2ban_setup "cannot build the topology"; exit 1; }

T=$VW_TMP
PEER=198.18.62.2
ip -n "$VW_NS_EXT" addr add "$PEER/24" dev ext
send() { ip netns exec "$VW_NS_EXT" "$VW_PY" tests/lib/frames.py ext "$VW_WAN_MAC" "$1,$VW_GW4,udp,$2,$3"; }
snap() { vw_snap >"$T/$1"; }
check() {
	local name=$1 a=$2 b=$3
	shift 3
	if out=$("$VW_PY" tests/lib/vwstats.py check "$T/$a" "$T/$b" wan "$@" 2>&1); then
		vw_pass "$name"
	else
		vw_fail "$name" "$out"
	fi
}
listed() { vw block list --set fail2ban 2>/dev/null | grep -q " $PEER/32 "; }

printf 'class prov 5060/udp policy open\n' >"$T/vw.conf"
vw_load "$T/vw.conf" || { vw_fail fail2ban_load "load failed"; exit 1; }

F=$T/f2b
mkdir -p "$F/action.d" "$F/filter.d" "$F/jail.d"
cp packaging/fail2ban/action.d/voipwall.conf "$F/action.d/"
cp packaging/fail2ban/filter.d/kamailio-voipwall.conf "$F/filter.d/"
: >"$T/kamailio.log"
cat >"$F/fail2ban.conf" <<CONF
[Definition]
loglevel = INFO
logtarget = $F/server.log
socket = $F/sock
pidfile = $F/pid
dbfile = $F/db.sqlite3
dbpurgeage = 1d
CONF
cat >"$F/jail.conf" <<CONF
[DEFAULT]
backend = polling
[kamailio-test]
enabled = true
filter = kamailio-voipwall
logpath = $T/kamailio.log
maxretry = 2
findtime = 10m
bantime = 15
action = voipwall[voipwall="$VOIPWALL", options="--pin-dir $VW_PIN"]
CONF
vw_bg ip netns exec "$VW_NS_GW" fail2ban-server -f -x -c "$F" -s "$F/sock" -p "$F/pid" \
	--logtarget "$F/server.log" >"$F/stdout" 2>&1
f2b=$VW_LAST_PID
for _ in $(seq 60); do
	[ -S "$F/sock" ] && break
	sleep 0.5
done

snap s0
send "$PEER" 5060 1
snap s1
check fail2ban_before_ban_passes s0 s1 "prov|pass|open=1"

for _ in 1 2 3; do
	echo "$(date '+%b %e %H:%M:%S') gw kamailio[42]: NOTICE: <script>: auth failed for alice from $PEER" >>"$T/kamailio.log"
done
for _ in $(seq 60); do
	listed && break
	sleep 0.5
done
if listed; then
	vw_pass fail2ban_jail_bans_through_voipwall
else
	vw_fail fail2ban_jail_bans_through_voipwall "not in set fail2ban; server log: $(tail -n 15 "$F/server.log")"
fi
snap s2
send "$PEER" 5060 2
snap s3
check fail2ban_banned_source_dropped s2 s3 "prov|drop|blocklisted=2"

for _ in $(seq 120); do
	listed || break
	sleep 0.5
done
if ! listed && grep -q "Unban $PEER" "$F/server.log"; then
	vw_pass fail2ban_unban_at_end_of_bantime
else
	vw_fail fail2ban_unban_at_end_of_bantime "still listed; server log: $(tail -n 15 "$F/server.log")"
fi
snap s4
send "$PEER" 5060 1
snap s5
check fail2ban_unbanned_source_passes s4 s5 "prov|pass|open=1"
kill "$f2b" 2>/dev/null
wait "$f2b" 2>/dev/null
vw_reaped "$f2b"
