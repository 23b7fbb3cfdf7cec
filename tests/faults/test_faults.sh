#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Faults: permissions of the pinned state, reload under traffic, two state-changing
# commands at once, and kill -9 of reload / allow add / load at random moments with large configs.
# Two namespaces joined by a veth pair, voipwall on the gateway's "wan", a private bpffs for the
# pin directory; everything is removed on every exit path.
#
# Knobs (defaults sized for `make test`; docs/robustness.md gives the long run): VW_FAULT_RELOADS
# (100), VW_FAULT_KILLS (6 per command), VW_FAULT_BULK (100000 prefixes in the config),
# VW_FAULT_ADD (prefixes one `allow add` reads from standard input, 100000), VW_FAULT_LOAD_KILLS
# (kills of load, 4).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib/suite.sh"
# The anti-lockout check must judge the configs here, not the SSH session running the tests.
unset SSH_CONNECTION

RELOADS=${VW_FAULT_RELOADS:-100}
KILLS=${VW_FAULT_KILLS:-6}
BULK=${VW_FAULT_BULK:-100000}
ADD_N=${VW_FAULT_ADD:-100000}
LOAD_KILLS=${VW_FAULT_LOAD_KILLS:-4}

vw_private_mounts "$@"
vw_require faults || exit 0
if ! vw_topo_init 7; then
	vw_fail faults-setup "could not build the namespaces, veth pair or bpffs"
	exit 1
fi

GW=$VW_GW4
A=198.18.7.10 # allowlisted for sip in configs A, B and C1
X=198.18.7.20 # never allowlisted
B=198.18.7.30
C=198.18.7.40 # added by the killed `allow add`
E=198.18.7.50 # added by the concurrent `allow add`
for a in $A $X $B $C $E; do
	ip -n "$VW_NS_EXT" addr add "$a/24" dev ext
done
RX="$VW_TMP/rx.log"
UDPSEQ="$HERE/../lib/udpseq.py"
VWSTATS="$HERE/../lib/vwstats.py"

# Two small configs that agree on A (sip allowed) and X (sip not allowed), differ elsewhere.
cat >"$VW_TMP/a.conf" <<EOF
class sip  5060/udp 5060/tcp
class mgmt 22/tcp 161/udp
class rtp  10000-20000/udp policy monitor
allow sip  $A
allow mgmt 198.18.7.0/25
allow rtp  198.18.7.0/24 2001:db8:7::/64
EOF
cat >"$VW_TMP/b.conf" <<EOF
# the same sources for sip as a.conf, everything else different
class sip   5060/udp 5061/tcp
class mgmt  22/tcp
class video 30000-30100/udp
allow sip   198.18.7.8/30 2001:db8:7::10
allow mgmt  198.18.7.128/25
allow video $X 2001:db8:77::/48
EOF

ext() { ip netns exec "$VW_NS_EXT" "$@"; }

vw_bg ip netns exec "$VW_NS_GW" "$VW_PY" "$UDPSEQ" recv --port 5060 --port 161 --log "$RX" \
	--ready "$VW_TMP/rx.ready"
for _ in $(seq 50); do
	[ -e "$VW_TMP/rx.ready" ] && break
	sleep 0.1
done
if [ ! -e "$VW_TMP/rx.ready" ]; then
	vw_fail faults-setup "UDP listener did not start"
	exit 1
fi
if ! vw_load "$VW_TMP/a.conf"; then
	vw_fail faults-setup "voipwall load failed (log above)"
	exit 1
fi
ext ping -c 1 -W 2 "$GW" >/dev/null 2>&1 # resolve the gateway's MAC once

ext_tx_dropped() {
	ip netns exec "$VW_NS_EXT" cat /sys/class/net/ext/statistics/tx_dropped
}

xdp_prog_id() {
	ip -n "$VW_NS_GW" link show wan 2>/dev/null | grep -oE 'prog/xdp id [0-9]+' | awk '{print $3}'
}

# probe TAG: 3 datagrams from each of PROBE_NAMES (A, B, X, C) to 5060 (sip) and 161 (mgmt);
# sets PROBE_SIG to the pairs delivered ("A:5060 B:161", "-" for none) and PROBE_ERR to how the
# counters disagree with it (empty when they agree): each delivered pair must count +3
# pass/allowlisted, each other pair +3 drop/not_allowlisted, on the class of its port.
declare -A ADDR=([A]=$A [B]=$B [X]=$X [C]=$C [E]=$E)
PROBE_NAMES="A B X C"
PROBE_SIG=
PROBE_ERR=
probe() {
	local tag=$1 name s0=$VW_TMP/probe0.json srcs=()
	for name in $PROBE_NAMES; do
		srcs+=("$name=${ADDR[$name]}")
	done
	vw_snap >"$s0"
	ext "$VW_PY" "$UDPSEQ" matrix --dst "$GW" --port 5060 --port 161 --tag "$tag" --n 3 "${srcs[@]}"
	# shellcheck disable=SC2086
	{ read -r PROBE_SIG; read -r PROBE_ERR; } < <("$VW_PY" "$HERE/probe.py" --before "$s0" \
		--log "$RX" --tag "$tag" --n 3 --port 5060=sip --port 161=mgmt --names $PROBE_NAMES \
		-- ip netns exec "$VW_NS_GW" "$VOIPWALL" --pin-dir "$VW_PIN" stats -j)
}

# ---- permissions ------------------------------------------------------------------------------
t_permissions() {
	local name=faults-permissions why=() p t m want out rc cmd before after id0
	m=$(stat -c '%a %u' "$VW_PIN")
	[ "$m" = "700 0" ] || why+=("pin dir mode/owner '$m', want '700 0'")
	while read -r p t m; do
		if [ "$t" = d ]; then want=700; else want=600; fi
		[ "$m" = "$want" ] || why+=("$p mode $m, want $want")
	done < <(vw_pin_listing)
	[ -n "$(vw_pin_listing)" ] || why+=("pin dir is empty after load")
	[ "$(find "$VW_PIN" ! -uid 0 | wc -l)" = 0 ] || why+=("objects not owned by root")

	# nobody must be able to reach the binary; the pin dir's own mode must stop it.
	install -m 0755 "$VOIPWALL" "$VW_TMP/voipwall"
	if runuser -u nobody -- ls "$VW_PIN" >/dev/null 2>&1; then
		why+=("nobody can list the pin dir")
	fi
	p=$(find "$VW_PIN" -type f | head -n 1)
	if [ -n "$p" ] && runuser -u nobody -- cat "$p" >/dev/null 2>&1; then
		why+=("nobody can open the pinned object $p")
	fi
	before=$(vw_pin_listing)
	id0=$(xdp_prog_id)
	for cmd in "status" "stats" "allow add sip $E" "reload -c $VW_TMP/b.conf" "unload --all"; do
		# shellcheck disable=SC2086
		out=$(runuser -u nobody -- "$VW_TMP/voipwall" --pin-dir "$VW_PIN" $cmd 2>&1)
		rc=$?
		if [ "$rc" = 0 ]; then
			why+=("nobody: 'voipwall $cmd' exited 0")
		elif ! grep -qiE 'root|permission|privilege|not permitted|CAP_' <<<"$out"; then
			why+=("nobody: 'voipwall $cmd' (exit $rc) gave no clear reason: '$(head -c 200 <<<"$out")'")
		elif [ "$(wc -l <<<"$out")" -gt 2 ]; then
			why+=("nobody: 'voipwall $cmd' printed $(wc -l <<<"$out") lines, want one clear line")
		fi
		vw_log "nobody: voipwall $cmd -> exit $rc: $(head -n 1 <<<"$out")"
	done
	after=$(vw_pin_listing)
	[ "$before" = "$after" ] || why+=("pin dir changed after nobody's commands")
	[ "$(xdp_prog_id)" = "$id0" ] && [ -n "$id0" ] || why+=("XDP program changed/detached")
	probe perm
	p=$PROBE_SIG
	# a.conf: sip allows A only, mgmt (161/udp) allows 198.18.7.0/25: all four sources.
	[ "$p" = "A:5060 A:161 B:161 X:161 C:161" ] ||
		why+=("after nobody's commands, delivered '$p', want 'A:5060 A:161 B:161 X:161 C:161'")
	[ -z "$PROBE_ERR" ] || why+=("counters: $PROBE_ERR")
	if [ ${#why[@]} -eq 0 ]; then vw_pass $name; else vw_fail $name "$(IFS=';'; echo "${why[*]}")"; fi
}

# ---- reload under traffic ---------------------------------------------------------------------
t_reload_traffic() {
	local name=faults-reload-under-traffic why=() s0 s1 pg pb i conf rc fails=0 first_err=
	local t0 t1 good bad msg d0 d1
	s0="$VW_TMP/rl0.json" s1="$VW_TMP/rl1.json"
	d0=$(ext_tx_dropped)
	vw_snap >"$s0"
	vw_bg ip netns exec "$VW_NS_EXT" "$VW_PY" "$UDPSEQ" send --src $A --dst "$GW" --port 5060 \
		--tag rl-good --rate 500 \
		--count "$VW_TMP/good.count"
	pg=$VW_LAST_PID
	vw_bg ip netns exec "$VW_NS_EXT" "$VW_PY" "$UDPSEQ" send --src $X --dst "$GW" --port 5060 \
		--tag rl-bad --rate 500 \
		--count "$VW_TMP/bad.count"
	pb=$VW_LAST_PID
	sleep 0.5
	t0=$(date +%s.%N)
	for i in $(seq "$RELOADS"); do
		if [ $((i % 2)) = 1 ]; then conf="$VW_TMP/b.conf"; else conf="$VW_TMP/a.conf"; fi
		vw -c "$conf" reload >"$VW_TMP/reload.log" 2>&1
		rc=$?
		if [ "$rc" != 0 ]; then
			fails=$((fails + 1))
			[ -n "$first_err" ] || first_err="reload $i exit $rc: $(head -c 200 "$VW_TMP/reload.log")"
		fi
	done
	t1=$(date +%s.%N)
	sleep 0.5
	kill -TERM "$pg" "$pb"
	wait "$pg" "$pb"
	vw_reaped "$pg" "$pb"
	sleep 0.5
	vw_snap >"$s1"
	good=$(cat "$VW_TMP/good.count" 2>/dev/null || echo 0)
	bad=$(cat "$VW_TMP/bad.count" 2>/dev/null || echo 0)
	vw_log "$RELOADS reloads in $(awk "BEGIN { printf \"%.1f\", $t1 - $t0 }") s;" \
		"sent $good allowlisted, $bad other"
	[ "$fails" = 0 ] || why+=("$fails reloads failed, first: $first_err")
	[ "$good" -ge 100 ] && [ "$bad" -ge 100 ] || why+=("senders sent too little ($good, $bad)")
	d1=$(ext_tx_dropped)
	# A veth drops what its peer's ring cannot hold (a starved CPU): say so, it is not voipwall.
	msg=$("$VW_PY" "$UDPSEQ" check --log "$RX" --tag rl-good --count "$good") ||
		why+=("$msg (the sender's veth dropped $((d1 - d0)) packets meanwhile)")
	msg=$("$VW_PY" "$UDPSEQ" check --log "$RX" --tag rl-bad --count 0) || why+=("$msg")
	msg=$("$VW_PY" "$VWSTATS" check "$s0" "$s1" wan "sip|pass|allowlisted=$good" \
		"sip|drop|not_allowlisted=$bad" | tr '\n' ';') || why+=("counters: $msg")
	if [ ${#why[@]} -eq 0 ]; then vw_pass $name; else vw_fail $name "$(IFS=';'; echo "${why[*]}")"; fi
}

# ---- the large configs ------------------------------------------------------------------------
make_bulk() {
	"$VW_PY" "$HERE/genbulk.py" config bulk "$BULK" >"$VW_TMP/bulk.conf" || return 1
	cat >"$VW_TMP/c1.conf" <<EOF
class sip  5060/udp
class mgmt 161/udp 22/tcp
class bulk 40000/udp
allow sip  $A
allow mgmt $B
include $VW_TMP/bulk.conf
EOF
	cat >"$VW_TMP/c2.conf" <<EOF
class sip  5060/udp
class mgmt 161/udp 22/tcp
class bulk 40000/udp
allow sip  $B
allow mgmt $A
include $VW_TMP/bulk.conf
EOF
}
SIG_C1="A:5060 B:161"
SIG_C2="A:161 B:5060"

# Seconds (with decimals) a command takes: timed CMD...; output in $VW_TMP/timed.log.
TIMED=0
timed() {
	local t0 t1 rc
	t0=$(date +%s%N)
	"$@" >"$VW_TMP/timed.log" 2>&1
	rc=$?
	t1=$(date +%s%N)
	TIMED=$(((t1 - t0) / 1000000))
	return $rc
}

# Checks that hold after every kill: pin dir as in the baseline, nothing beside it (voipwall pins
# into a temporary dir beside it, then renames), same program attached, `status` works. Appends
# to the caller's array named by $1.
after_kill_checks() {
	local -n _why=$1
	local ctx=$2 l
	l=$(vw_pin_listing)
	if [ "$l" != "$BASE_LISTING" ]; then
		_why+=("$ctx: pin dir differs from baseline: $(listing_diff "$BASE_LISTING" "$l")")
	fi
	l=$(ls -A "$VW_BPFFS" | tr '\n' ' ')
	[ "$l" = "$BASE_PARENT" ] ||
		_why+=("$ctx: beside the pin dir: '$l', want '$BASE_PARENT' (a temporary dir left)")
	[ "$(xdp_prog_id)" = "$BASE_PROG" ] ||
		_why+=("$ctx: XDP program id '$(xdp_prog_id)', want '$BASE_PROG'")
	vw status >"$VW_TMP/status.log" 2>&1 ||
		_why+=("$ctx: status failed: $(head -c 200 "$VW_TMP/status.log")")
}

# The lines that differ between two listings, on one line.
listing_diff() {
	diff <(echo "$1") <(echo "$2") | grep '^[<>]' | head -n 5 | tr '\n' ' '
}

# " (ended at N ms)" when the last kill_after found the command already finished.
ended_note() {
	[ -z "$KILL_ENDED_MS" ] || echo " (ended at $KILL_ENDED_MS ms)"
}

# kill_run WHAT DELAY CMD...: run CMD in the background (output in kill.log) and SIGKILL it after
# DELAY ms. Sets rc; in the caller's variables counts killed or done_ (and, when it finished
# first, aims t_est earlier), and adds to why when it failed before the kill.
kill_run() {
	local what=$1 delay=$2 p
	shift 2
	vw_bg "$@" >"$VW_TMP/kill.log" 2>&1
	p=$VW_LAST_PID
	kill_after "$p" "$delay"
	{ wait "$p"; } 2>/dev/null
	rc=$?
	vw_reaped "$p"
	case $rc in
	137) killed=$((killed + 1)) ;;
	0)
		done_=$((done_ + 1))
		[ -n "$KILL_ENDED_MS" ] && [ "$KILL_ENDED_MS" -lt "$t_est" ] && t_est=$KILL_ENDED_MS
		;;
	*) why+=("run $i: $what exited $rc before the kill: $(head -c 200 "$VW_TMP/kill.log")") ;;
	esac
}

# kill_after PID MS: SIGKILL PID after MS milliseconds unless it ends first. Sets KILL_ENDED_MS to
# its run time when it ended by itself, else to "". (A zombie counts as ended.)
KILL_ENDED_MS=
kill_after() {
	local p=$1 ms=$2 t0 now st _x
	t0=${EPOCHREALTIME/./}
	KILL_ENDED_MS=
	while :; do
		now=${EPOCHREALTIME/./}
		st=
		read -r _x _x st _x 2>/dev/null <"/proc/$p/stat"
		if [ -z "$st" ] || [ "$st" = Z ]; then
			KILL_ENDED_MS=$(((now - t0) / 1000))
			return
		fi
		[ $(((now - t0) / 1000)) -lt "$ms" ] || break
		sleep 0.005
	done
	kill -9 "$p" 2>/dev/null
}

# kill_moment T_MS RUN: a random kill moment in ms. Odd runs: uniform over [20, 1.1 T), most
# inside the run; even runs: uniform over [0.9 T, 1.3 T), around the switch at its end (some
# after the command has finished: the state must then be the new one).
kill_moment() {
	local lo=20 hi=$(($1 * 11 / 10))
	if [ $(($2 % 2)) = 0 ]; then
		lo=$(($1 * 9 / 10)) hi=$(($1 * 13 / 10))
	fi
	[ "$hi" -gt "$lo" ] || hi=$((lo + 1))
	echo $((lo + (RANDOM * 32768 + RANDOM) % (hi - lo)))
}

# ---- kill -9 of reload ------------------------------------------------------------------------
t_kill_reload() {
	local name=faults-kill-reload why=() cur=c1 target p sig delay rc killed=0 done_=0 flips=0 i=0
	local t_est=$T_RELOAD
	local tries=$((KILLS * 3))
	while [ "$killed" -lt "$KILLS" ] && [ "$i" -lt "$tries" ]; do
		i=$((i + 1))
		if [ $cur = c1 ]; then target=c2; else target=c1; fi
		delay=$(kill_moment "$t_est" "$i")
		kill_run reload "$delay" ip netns exec "$VW_NS_GW" "$VOIPWALL" --pin-dir "$VW_PIN" \
			-c "$VW_TMP/$target.conf" reload
		probe "kr$i"
		sig=$PROBE_SIG
		vw_log "run $i: reload to $target, kill at ${delay} ms: exit $rc$(ended_note)," \
			"delivered '$sig'"
		[ -z "$PROBE_ERR" ] || why+=("run $i (kill at ${delay} ms): counters: $PROBE_ERR")
		if [ "$sig" = "$SIG_C1" ]; then
			[ $cur = c1 ] || flips=$((flips + 1))
			cur=c1
		elif [ "$sig" = "$SIG_C2" ]; then
			[ $cur = c2 ] || flips=$((flips + 1))
			cur=c2
		else
			why+=("run $i (kill at ${delay} ms): delivered '$sig', neither c1 '$SIG_C1' nor c2 '$SIG_C2'")
		fi
		after_kill_checks why "run $i"
		[ ${#why[@]} -lt 5 ] || break
	done
	vw_log "kill reload: $killed killed mid-run, $done_ finished before the kill, $flips state changes"
	[ "$killed" -ge "$KILLS" ] || why+=("only $killed of $i runs were killed before finishing")
	# The next command after all that: a whole reload to the other config.
	if [ $cur = c1 ]; then target=c2; else target=c1; fi
	if ! vw -c "$VW_TMP/$target.conf" reload >"$VW_TMP/kill.log" 2>&1; then
		why+=("reload after the kills failed: $(head -c 200 "$VW_TMP/kill.log")")
	fi
	probe "kr-final"
	sig=$PROBE_SIG
	if [ $target = c1 ]; then p=$SIG_C1; else p=$SIG_C2; fi
	[ "$sig" = "$p" ] || why+=("after the final reload to $target: delivered '$sig', want '$p'")
	[ -z "$PROBE_ERR" ] || why+=("final: counters: $PROBE_ERR")
	if [ ${#why[@]} -eq 0 ]; then vw_pass $name; else vw_fail $name "$(IFS=';'; echo "${why[*]}")"; fi
}

# ---- kill -9 of a large allow add ---------------------------------------------------------------
# The big allow add, reading its prefixes from standard input ('-'), for running in the background.
add_from_file() {
	ip netns exec "$VW_NS_GW" "$VOIPWALL" --pin-dir "$VW_PIN" allow add sip "$C" - <"$VW_TMP/add.txt"
}

t_kill_add() {
	local name=faults-kill-allow-add why=() p sig delay rc killed=0 done_=0 added=0 i=0 base want_add
	local cur t_est
	local tries=$((KILLS * 3))
	# Start from c1 whole.
	if ! vw -c "$VW_TMP/c1.conf" reload >"$VW_TMP/kill.log" 2>&1; then
		vw_fail $name "reload to c1 failed: $(head -c 200 "$VW_TMP/kill.log")"
		return
	fi
	base=$SIG_C1
	want_add="A:5060 B:161 C:5060"
	# One whole run first: it must work and tells how long a run takes.
	if ! timed vw allow add sip "$C" - <"$VW_TMP/add.txt"; then
		vw_fail $name "allow add of $((ADD_N + 1)) prefixes on $BULK failed:" \
			"$(head -c 300 "$VW_TMP/timed.log")"
		return
	fi
	T_ADD=$TIMED
	t_est=$T_ADD
	vw_log "allow add of $((ADD_N + 1)) prefixes onto $BULK took $T_ADD ms"
	probe ka0
	sig=$PROBE_SIG
	[ "$sig" = "$want_add" ] || why+=("after a whole allow add: delivered '$sig', want '$want_add'")
	cur=added
	while [ "$killed" -lt "$KILLS" ] && [ "$i" -lt "$tries" ]; do
		i=$((i + 1))
		# Back to c1 when the last run got its addition in; otherwise the next allow add is
		# itself the command that must work after the kill.
		if [ $cur = added ] && ! vw -c "$VW_TMP/c1.conf" reload >"$VW_TMP/kill.log" 2>&1; then
			why+=("run $i: reload to c1 failed: $(head -c 200 "$VW_TMP/kill.log")")
			break
		fi
		delay=$(kill_moment "$t_est" "$i")
		kill_run "allow add" "$delay" add_from_file
		probe "ka$i"
		sig=$PROBE_SIG
		vw_log "run $i: allow add, kill at ${delay} ms: exit $rc$(ended_note), delivered '$sig'"
		[ -z "$PROBE_ERR" ] || why+=("run $i (kill at ${delay} ms): counters: $PROBE_ERR")
		if [ "$sig" = "$want_add" ]; then
			added=$((added + 1))
			cur=added
		elif [ "$sig" = "$base" ]; then
			cur=c1
		else
			why+=("run $i (kill at ${delay} ms): delivered '$sig'," \
				"neither before '$base' nor after '$want_add'")
		fi
		after_kill_checks why "run $i"
		[ ${#why[@]} -lt 5 ] || break
	done
	vw_log "kill allow add: $killed killed mid-run, $done_ finished," \
		"$added runs left the addition applied"
	[ "$killed" -ge "$KILLS" ] || why+=("only $killed of $i runs were killed before finishing")
	if ! vw -c "$VW_TMP/c1.conf" reload >"$VW_TMP/kill.log" 2>&1; then
		why+=("reload after the kills failed: $(head -c 200 "$VW_TMP/kill.log")")
	fi
	probe ka-final
	sig=$PROBE_SIG
	[ "$sig" = "$base" ] || why+=("after the final reload: delivered '$sig', want '$base'")
	if [ ${#why[@]} -eq 0 ]; then vw_pass $name; else vw_fail $name "$(IFS=';'; echo "${why[*]}")"; fi
}

# ---- two state-changing commands at once ------------------------------------------------------
# The lock file of our pin dir (in the topology's lock folder).
lock_file() {
	topo_lock_file
}
# Wait (up to 20 s) until some process holds the lock, or PID has exited; 0 when held.
wait_lock_held() {
	local pid=$1 f
	for _ in $(seq 400); do
		f=$(lock_file)
		if [ -n "$f" ] && ! flock -n "$f" true; then
			return 0
		fi
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

# Start the big allow add (C plus ADD_N prefixes) in the background; sets BIG_PID. Its output
# goes to $VW_TMP/big.log; $VW_TMP/big.done gets its end time (ns) and exit code.
start_big_add() {
	rm -f "$VW_TMP/big.done"
	(
		vw allow add sip "$C" - <"$VW_TMP/add.txt" >"$VW_TMP/big.log" 2>&1
		rc=$?
		echo "$(date +%s%N) $rc" >"$VW_TMP/big.done"
		exit $rc
	) &
	BIG_PID=$!
	VW_BG_PIDS+=("$BIG_PID")
}

# Two allow adds at once: the big one holds the lock, the small one must wait for it and then
# apply on top of its result (a lost update would drop C), saying that it waited.
t_concurrent_wait() {
	local name=faults-concurrent-wait why=() rc2 out2 e2 rc1 e1
	if ! vw -c "$VW_TMP/c1.conf" reload >"$VW_TMP/cc.log" 2>&1; then
		vw_fail $name "reload to c1 failed: $(head -c 200 "$VW_TMP/cc.log")"
		return
	fi
	start_big_add
	if ! wait_lock_held "$BIG_PID"; then
		why+=("the big allow add never held the lock ($(lock_file))")
	fi
	vw allow add sip "$E" >"$VW_TMP/second.log" 2>&1
	rc2=$?
	e2=$(date +%s%N)
	wait "$BIG_PID"
	vw_reaped "$BIG_PID"
	read -r e1 rc1 <"$VW_TMP/big.done"
	out2=$(cat "$VW_TMP/second.log")
	vw_log "first (allow add sip C + $ADD_N): exit $rc1: $(head -c 200 "$VW_TMP/big.log")"
	vw_log "second (allow add sip E): exit $rc2: $out2"
	[ "$rc1" = 0 ] || why+=("the big allow add failed (exit $rc1): $(head -c 200 "$VW_TMP/big.log")")
	[ "$rc2" = 0 ] || why+=("the second allow add failed (exit $rc2): $(head -c 200 <<<"$out2")")
	grep -qi 'waiting' <<<"$out2" ||
		why+=("the second did not say it waited: '$(head -c 200 <<<"$out2")'")
	[ "$e2" -ge "$e1" ] || why+=("the second finished before the first released the lock")
	PROBE_NAMES="A B X C E"
	probe cc
	PROBE_NAMES="A B X C"
	[ "$PROBE_SIG" = "A:5060 B:161 C:5060 E:5060" ] ||
		why+=("delivered '$PROBE_SIG', want 'A:5060 B:161 C:5060 E:5060' (both additions)")
	[ -z "$PROBE_ERR" ] || why+=("counters: $PROBE_ERR")
	if [ ${#why[@]} -eq 0 ]; then vw_pass $name; else vw_fail $name "$(IFS=';'; echo "${why[*]}")"; fi
}

# A command that cannot get the lock within --wait gives up, says why, and changes nothing. The
# lock is held by the test itself (flock on voipwall's lock file, as a hung voipwall would), so
# the timing is certain.
t_concurrent_give_up() {
	local name=faults-concurrent-give-up why=() rc2 out2 f holder t0 t1
	if ! vw -c "$VW_TMP/c1.conf" reload >"$VW_TMP/cc.log" 2>&1; then
		vw_fail $name "reload to c1 failed: $(head -c 200 "$VW_TMP/cc.log")"
		return
	fi
	f=$(lock_file)
	if [ -z "$f" ]; then
		vw_fail $name "no lock file for $VW_PIN in $VOIPWALL_LOCK_DIR"
		return
	fi
	vw_bg flock -x "$f" sleep 5
	holder=$VW_LAST_PID
	if ! wait_lock_held "$holder"; then
		why+=("could not hold $f")
	fi
	t0=$(date +%s%N)
	vw --wait 1 allow add sip "$E" >"$VW_TMP/second.log" 2>&1
	rc2=$?
	t1=$(date +%s%N)
	kill "$holder" 2>/dev/null
	{ wait "$holder"; } 2>/dev/null
	vw_reaped "$holder"
	out2=$(cat "$VW_TMP/second.log")
	vw_log "allow add --wait 1 against a held lock: exit $rc2 after $(((t1 - t0) / 1000000)) ms: $out2"
	if [ "$rc2" = 0 ]; then
		why+=("it succeeded while the lock was held")
	else
		grep -qiE 'gave up|giving up|timed? ?out' <<<"$out2" ||
			why+=("it failed without saying it gave up: '$(head -c 200 <<<"$out2")'")
		grep -qi 'waiting' <<<"$out2" || why+=("it did not say it was waiting")
		[ "$rc2" = 1 ] || why+=("exit $rc2, want 1 (runtime failure)")
	fi
	[ $(((t1 - t0) / 1000000)) -ge 1000 ] ||
		why+=("gave up after $(((t1 - t0) / 1000000)) ms, before --wait 1")
	PROBE_NAMES="A B X C E"
	probe cg
	PROBE_NAMES="A B X C"
	[ "$PROBE_SIG" = "$SIG_C1" ] || why+=("delivered '$PROBE_SIG', want '$SIG_C1' (c1 unchanged)")
	[ -z "$PROBE_ERR" ] || why+=("counters: $PROBE_ERR")
	if [ ${#why[@]} -eq 0 ]; then vw_pass $name; else vw_fail $name "$(IFS=';'; echo "${why[*]}")"; fi
}

# ---- kill -9 of load ----------------------------------------------------------------------------
# load is the command that pins: the maps and program into a temporary directory beside the pin
# dir, renamed into place, then one link per interface. Killed at any moment, the pin dir must be
# absent, or complete without a link (nothing attached), or complete with it (attached); the next
# load must work and leave no temporary directory behind. Every other run loads over block sets
# that the unload kept (the full state is swapped in with the directory holding them in one
# step): the pin dir must then hold the kept sets alone where it would be absent, and the next
# load must still have the set.
t_kill_load() {
	local name=faults-kill-load why=() i=0 killed=0 done_=0 p rc delay t_est l unattached
	local states="" beside state kept keep purge n
	unattached=$(grep -v '^\./link_' <<<"$BASE_LISTING")
	kept=$(grep -E '^\./vw_block(_sets|_meta)? ' <<<"$BASE_LISTING")
	if ! vw unload --all >"$VW_TMP/kl.log" 2>&1; then
		vw_fail $name "unload --all failed: $(head -c 200 "$VW_TMP/kl.log")"
		return
	fi
	if ! timed vw -c "$VW_TMP/c1.conf" load wan; then
		vw_fail $name "load with $BULK prefixes failed: $(head -c 200 "$VW_TMP/timed.log")"
		return
	fi
	t_est=$TIMED
	vw_log "load with $BULK prefixes took $t_est ms"
	while [ "$killed" -lt "$LOAD_KILLS" ] && [ "$i" -lt $((LOAD_KILLS * 3)) ]; do
		i=$((i + 1))
		keep=$((i % 2)) purge=--purge
		if [ "$keep" = 1 ]; then
			purge=
			vw block add --set faults 198.19.250.1 >"$VW_TMP/kl.log" 2>&1 ||
				why+=("run $i: block add failed: $(head -c 200 "$VW_TMP/kl.log")")
		fi
		# shellcheck disable=SC2086 # no --purge: an empty word
		if ! vw unload --all $purge >"$VW_TMP/kl.log" 2>&1; then
			why+=("run $i: unload --all failed: $(head -c 200 "$VW_TMP/kl.log")")
			break
		fi
		delay=$(kill_moment "$t_est" "$i")
		kill_run load "$delay" ip netns exec "$VW_NS_GW" "$VOIPWALL" --pin-dir "$VW_PIN" \
			-c "$VW_TMP/c1.conf" load wan
		if [ -d "$VW_PIN" ]; then l=$(vw_pin_listing); else l=; fi
		if [ -z "$l" ] && [ "$keep" = 0 ]; then
			state=absent
		elif [ "$l" = "$kept" ] && [ "$keep" = 1 ]; then
			state=kept
		elif [ "$l" = "$unattached" ]; then
			state=pinned
		elif [ "$l" = "$BASE_LISTING" ]; then
			state=attached
		else
			state=half
			why+=("run $i (kill at $delay ms): half-pinned: $(listing_diff "$BASE_LISTING" "$l")")
		fi
		# A temporary pin dir left by the killed load (pin.c: "<dir>-tmp-<pid>") is allowed
		# until the next load cleans it.
		if [ -n "$(find "$VW_BPFFS" -maxdepth 1 -name 'voipwall-tmp-*')" ]; then
			states+=" $state+tmp"
		else
			states+=" $state"
		fi
		if [ "$state" = attached ] && [ -z "$(xdp_prog_id)" ]; then
			why+=("run $i: link pinned but nothing attached to wan")
		elif [ "$state" != attached ] && [ -n "$(xdp_prog_id)" ]; then
			why+=("run $i: a program stays attached to wan without a pinned link ($state)")
		fi
		vw_log "run $i: load, kill at $delay ms: exit $rc$(ended_note), state $state"
		# The next command: load again (or, when the killed one finished, status).
		if [ "$state" = attached ]; then
			vw status >"$VW_TMP/kl.log" 2>&1 ||
				why+=("run $i: status failed: $(head -c 200 "$VW_TMP/kl.log")")
		elif ! vw -c "$VW_TMP/c1.conf" load wan >"$VW_TMP/kl.log" 2>&1; then
			why+=("run $i: load after the kill ($state) failed: $(head -c 200 "$VW_TMP/kl.log")")
			break
		fi
		l=$(vw_pin_listing)
		[ "$l" = "$BASE_LISTING" ] ||
			why+=("run $i: after the next load: pin dir: $(listing_diff "$BASE_LISTING" "$l")")
		n=$(vw block list -j 2>/dev/null | "$VW_PY" -c 'import json, sys
print(sum(e["set"] == "faults" for e in json.load(sys.stdin)["entries"]))')
		[ "$n" = "$keep" ] ||
			why+=("run $i: after the next load: $n entries in the kept set, want $keep")
		beside=$(ls -A "$VW_BPFFS" | tr '\n' ' ')
		[ "$beside" = "$BASE_PARENT" ] ||
			why+=("run $i: after the next load, beside the pin dir: '$beside', want '$BASE_PARENT'")
		probe "kl$i"
		[ "$PROBE_SIG" = "$SIG_C1" ] ||
			why+=("run $i: after the next load delivered '$PROBE_SIG', want '$SIG_C1'")
		[ -z "$PROBE_ERR" ] || why+=("run $i: counters: $PROBE_ERR")
		[ ${#why[@]} -lt 5 ] || break
	done
	vw_log "kill load: $killed killed, $done_ finished; states after the kills" \
		"(+tmp: a temporary dir beside):$states"
	[ "$killed" -ge "$LOAD_KILLS" ] || why+=("only $killed of $i runs were killed before finishing")
	if [ ${#why[@]} -eq 0 ]; then vw_pass $name; else vw_fail $name "$(IFS=';'; echo "${why[*]}")"; fi
}

t_permissions
t_reload_traffic

if ! make_bulk; then
	vw_fail faults-bulk "could not write the $BULK-prefix config"
	exit 1
fi
if ! timed vw -c "$VW_TMP/c1.conf" reload; then
	vw_fail faults-bulk-reload "reload with $BULK prefixes failed: $(head -c 300 "$VW_TMP/timed.log")"
	exit 1
fi
T_RELOAD=$TIMED
vw_log "reload with $BULK prefixes took $T_RELOAD ms"
probe bulk
sig=$PROBE_SIG
if [ "$sig" = "$SIG_C1" ] && [ -z "$PROBE_ERR" ]; then
	vw_pass faults-bulk-reload
else
	vw_fail faults-bulk-reload "after reload to c1: delivered '$sig', want '$SIG_C1'; $PROBE_ERR"
fi
BASE_LISTING=$(vw_pin_listing)
BASE_PARENT=$(ls -A "$VW_BPFFS" | tr '\n' ' ')
BASE_PROG=$(xdp_prog_id)

"$VW_PY" "$HERE/genbulk.py" prefixes "$ADD_N" >"$VW_TMP/add.txt"
t_kill_reload
t_kill_add
t_concurrent_wait
t_concurrent_give_up
t_kill_load
exit 0
