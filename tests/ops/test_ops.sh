#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Operations: metrics (stats --prometheus and the exporter checked by promtool, a real Prometheus
# server scraping the exporter and answering through its HTTP API), the exporter's HTTP limits,
# the textfile collector script, the policy digest, and the systemd units (their Exec lines run
# as systemd would, systemd-analyze verify). Two namespaces joined by a veth pair, a temporary
# bpffs as --pin-dir. Prints "PASS name", "FAIL name: why" or "SKIP name: why" per test.
set -u
cd "$(dirname "$0")/../.."
ROOT=$PWD
# shellcheck source=tests/ops/lib.sh
. tests/ops/lib.sh
ops_prelude ops
command -v promtool >/dev/null || skip_all "promtool missing (apt-get install prometheus)"

pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	ops_cleanup
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
ops_setup vwops vo0 vo1

# udp_send COUNT PORT: COUNT datagrams from the peer (198.18.0.2) to the gateway
udp_send() {
	ip netns exec "$PEER" "$PY" -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(int(sys.argv[1])):
    s.sendto(b"OPTIONS sip:x SIP/2.0\r\n\r\n", ("198.18.0.1", int(sys.argv[2])))
' "$1" "$2"
}
count() { ops_count vo0 "$@"; }
wait_count() { ops_wait_count vo0 "$@"; }
drops() { count drop not_allowlisted; }
# http_get URL [METHOD]: "STATUS" then the body, via the gateway's loopback
http() {
	ip netns exec "$GW" "$PY" - "$@" <<'PYEOF'
import sys, urllib.request, urllib.error
url = sys.argv[1]
method = sys.argv[2] if len(sys.argv) > 2 else "GET"
try:
    with urllib.request.urlopen(urllib.request.Request(url, method=method), timeout=10) as r:
        print(r.status); sys.stdout.write(r.read().decode())
except urllib.error.HTTPError as e:
    print(e.code); sys.stdout.write(e.read().decode())
PYEOF
}
# digest_of JSON_FILE: the "digest" member
digest_of() { "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["digest"])' "$1"; }

cat >"$tmp/allow-sip.conf" <<EOC
allow sip 198.18.0.50
EOC
cat >"$tmp/voipwall.conf" <<EOC
# ops suite
class sip   5060/udp 5061/tcp
class rtp   10000-20000/udp policy monitor
allow sip,rtp 198.18.0.16/28 2001:db8:1::/48
include allow-sip.conf
EOC
CONF=$tmp/voipwall.conf

# ---- load, drops, stats --prometheus through promtool ------------------------------------------
if ! vw -c "$CONF" load vo0 >"$tmp/load.log" 2>&1; then
	fail load "$(oneline "$tmp/load.log")"
	exit 0
fi
udp_send 7 5060
n=$(wait_count drop not_allowlisted 7)
if [ "$n" -eq 7 ]; then pass drops_counted; else fail drops_counted "sip drops $n, expected 7"; fi

vw stats --prometheus >"$tmp/stats.prom" 2>"$tmp/stats.err"
rc=$?
if [ "$rc" -ne 0 ]; then
	fail stats_promtool "stats --prometheus exit $rc: $(oneline "$tmp/stats.err")"
elif ! promtool check metrics <"$tmp/stats.prom" >"$tmp/promtool.log" 2>&1; then
	fail stats_promtool "promtool: $(oneline "$tmp/promtool.log")"
else
	pass stats_promtool
fi

# every family the metrics promise, with HELP and TYPE, and the values they must carry
metric_families() {
	local f=$1 bad='' fam
	for fam in voipwall_up voipwall_packets_total voipwall_bytes_total voipwall_config_info \
		voipwall_config_reload_timestamp_seconds voipwall_allow_rules voipwall_interface_info; do
		grep -q "^# HELP $fam " "$f" || bad+="no HELP for $fam; "
		grep -q "^# TYPE $fam " "$f" || bad+="no TYPE for $fam; "
	done
	grep -qx 'voipwall_up 1' "$f" || bad+="voipwall_up is not 1; "
	grep -qx 'voipwall_packets_total{interface="vo0",class="sip",verdict="drop",reason="not_allowlisted"} 7' "$f" ||
		bad+="no 7 sip drops on vo0; "
	grep -qx 'voipwall_allow_rules{class="sip",family="ipv4"} 2' "$f" || bad+="sip ipv4 rules not 2; "
	grep -qx 'voipwall_allow_rules{class="sip",family="ipv6"} 1' "$f" || bad+="sip ipv6 rules not 1; "
	grep -qx 'voipwall_allow_rules{class="rtp",family="ipv4"} 1' "$f" || bad+="rtp ipv4 rules not 1; "
	grep -qx 'voipwall_interface_info{interface="vo0",mode="native",link_type="ether",attach="direct"} 1' "$f" ||
		bad+="no interface_info for vo0; "
	grep -qE "^voipwall_config_info\{digest=\"[0-9a-f]{16}\",source=\"$CONF\"\} 1$" "$f" ||
		bad+="no config_info for $CONF; "
	grep -qE '^voipwall_config_reload_timestamp_seconds [0-9]+\.[0-9]{3}$' "$f" ||
		bad+="no reload timestamp; "
	echo "$bad"
}
bad=$(metric_families "$tmp/stats.prom")
if [ -z "$bad" ]; then pass stats_metric_families; else fail stats_metric_families "$bad"; fi

# ---- the policy digest: status, check and the metric agree; equal policies, equal digests -------
vw -j status >"$tmp/status.json" 2>"$tmp/status.err"
vw -j -c "$CONF" check >"$tmp/check.json" 2>"$tmp/check.err"
d_status=$(digest_of "$tmp/status.json" 2>/dev/null)
d_check=$(digest_of "$tmp/check.json" 2>/dev/null)
d_metric=$(sed -n 's/^voipwall_config_info{digest="\([0-9a-f]*\)".*/\1/p' "$tmp/stats.prom")
if [ -n "$d_status" ] && [ "$d_status" = "$d_check" ] && [ "$d_status" = "$d_metric" ] &&
	vw status | grep -q "^digest: *$d_status "; then
	pass digest_status_check_metric
else
	fail digest_status_check_metric "status '$d_status', check '$d_check', metric '$d_metric'"
fi
# the same policy written otherwise: classes in another order, ranges split, a bare address for
# a /32, one allow line per class, the include inlined, comments
mkdir -p "$tmp/other"
cat >"$tmp/other/a.conf" <<EOC
class rtp 10000-15000/udp 15001-20000/udp policy monitor   # media
class sip 5061/tcp 5060/udp
allow rtp 2001:db8:1::/48 198.18.0.16/28
allow sip 2001:db8:1::/48
allow sip 198.18.0.50/32 198.18.0.16/28
EOC
# and policies that differ: one more prefix; rtp dropping instead of monitoring
sed 's|^allow sip 198.18.0.50/32|allow sip 198.18.0.51/32 198.18.0.50/32|' "$tmp/other/a.conf" >"$tmp/other/b.conf"
sed 's|policy monitor|policy drop|' "$tmp/other/a.conf" >"$tmp/other/c.conf"
for f in a b c; do
	"$VOIPWALL" -j -c "$tmp/other/$f.conf" check >"$tmp/other/$f.json" 2>&1
done
d_a=$(digest_of "$tmp/other/a.json" 2>/dev/null)
d_b=$(digest_of "$tmp/other/b.json" 2>/dev/null)
d_c=$(digest_of "$tmp/other/c.json" 2>/dev/null)
if [ "$d_a" = "$d_status" ] && [ -n "$d_b" ] && [ "$d_b" != "$d_a" ] && [ -n "$d_c" ] &&
	[ "$d_c" != "$d_a" ] && [ "$d_c" != "$d_b" ]; then
	pass digest_normalized
else
	fail digest_normalized "running $d_status, same policy rewritten $d_a, +1 prefix $d_b, drop rtp $d_c"
fi

# ---- the exporter: default address, promtool, HTTP limits ---------------------------------------
# an idle client connected before anything else: must not hold up the scrapes, and is cut off
ip netns exec "$GW" "$VOIPWALL" --pin-dir "$PIN" exporter >"$tmp/exporter.log" 2>&1 &
pids+=($!)
ready=0
for _ in $(seq 50); do
	if http http://127.0.0.1:9725/metrics >"$tmp/exp.out" 2>/dev/null &&
		[ "$(head -n1 "$tmp/exp.out")" = 200 ]; then
		ready=1
		break
	fi
	sleep 0.1
done
ip netns exec "$GW" "$PY" - >"$tmp/idle.log" 2>&1 <<'PYEOF' &
import socket, time
s = socket.create_connection(("127.0.0.1", 9725))
t0 = time.monotonic()
s.settimeout(30)
data = s.recv(100)   # sends nothing; the server must close it (b"") within its 10 s limit
print("closed after %.1f s, got %r" % (time.monotonic() - t0, data))
PYEOF
idle_pid=$!
if [ "$ready" -ne 1 ]; then
	fail exporter_promtool "no answer on 127.0.0.1:9725: $(oneline "$tmp/exporter.log")"
else
	tail -n +2 "$tmp/exp.out" >"$tmp/exp.prom"
	if ! promtool check metrics <"$tmp/exp.prom" >"$tmp/promtool2.log" 2>&1; then
		fail exporter_promtool "promtool: $(oneline "$tmp/promtool2.log")"
	else
		bad=$(metric_families "$tmp/exp.prom")
		if [ -z "$bad" ]; then pass exporter_promtool; else fail exporter_promtool "$bad"; fi
	fi
fi

# raw requests: "request|expected status line prefix"
http_limits() {
	ip netns exec "$GW" "$PY" - <<'PYEOF'
import socket
cases = [
    (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", b"HTTP/1.1 404 "),
    (b"GET /metricsx HTTP/1.1\r\n\r\n", b"HTTP/1.1 404 "),
    (b"POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n", b"HTTP/1.1 405 "),
    (b"HEAD /metrics HTTP/1.1\r\n\r\n", b"HTTP/1.1 200 "),
    (b"GET /metrics?x=1 HTTP/1.0\r\n\r\n", b"HTTP/1.1 200 "),
    (b"GET /metrics HTTP/2.0\r\n\r\n", b"HTTP/1.1 505 "),
    (b"BLAH\r\n\r\n", b"HTTP/1.1 400 "),
    (b"GET /metrics HTTP/1.1\r\nX: " + b"a" * 9000 + b"\r\n\r\n", b"HTTP/1.1 431 "),
]
bad = []
for req, want in cases:
    s = socket.create_connection(("127.0.0.1", 9725), timeout=10)
    try:
        s.sendall(req)
    except OSError:
        pass
    got = b""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            got += d
    except OSError:
        pass
    s.close()
    if not got.startswith(want):
        bad.append("%r -> %r" % (req[:30], got[:40]))
    if req.startswith(b"HEAD") and not got.endswith(b"\r\n\r\n"):
        bad.append("HEAD answered with a body")
print("; ".join(bad))
PYEOF
}
bad=$(http_limits 2>&1)
if [ -z "$bad" ]; then pass exporter_http_limits; else fail exporter_http_limits "$bad"; fi

# ---- a real Prometheus server scrapes the exporter; its HTTP API sees the drops ------------------
prometheus_scrape() {
	local q url
	if ! command -v prometheus >/dev/null; then
		echo "SKIP prometheus_scrape: prometheus missing (apt-get install prometheus)"
		return
	fi
	cat >"$tmp/prometheus.yml" <<EOC
global:
  scrape_interval: 2s
  scrape_timeout: 2s
scrape_configs:
  - job_name: voipwall
    static_configs:
      - targets: ['127.0.0.1:9725']
EOC
	mkdir -p "$tmp/tsdb"
	ip netns exec "$GW" prometheus --config.file="$tmp/prometheus.yml" \
		--storage.tsdb.path="$tmp/tsdb" --web.listen-address=127.0.0.1:9090 \
		--log.level=warn >"$tmp/prometheus.log" 2>&1 &
	pids+=($!)
	# 3 more drops after Prometheus started: the value it reports is the live one
	udp_send 3 5060
	q='voipwall_packets_total{job="voipwall",interface="vo0",class="sip",verdict="drop",reason="not_allowlisted"}'
	url="http://127.0.0.1:9090/api/v1/query?query=$("$PY" -c 'import sys,urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$q")"
	local v='' i
	for i in $(seq 120); do
		v=$(http "$url" 2>/dev/null | tail -n +2 | "$PY" -c '
import json, sys
try:
    r = json.load(sys.stdin)["data"]["result"]
    print(r[0]["value"][1] if r else "")
except Exception:
    print("")')
		[ "$v" = 10 ] && break
		sleep 0.5
	done
	if [ "$v" != 10 ]; then
		fail prometheus_scrape "Prometheus reports '$v' sip drops, expected 10: $(oneline "$tmp/prometheus.log")"
		return
	fi
	# the config info the fleet alerts on, through the same API
	q='voipwall_config_info{job="voipwall"}'
	url="http://127.0.0.1:9090/api/v1/query?query=$("$PY" -c 'import sys,urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$q")"
	for i in $(seq 20); do
		http "$url" >"$tmp/prom-info.json" 2>&1
		v=$(tail -n +2 "$tmp/prom-info.json" | "$PY" -c '
import json, sys
try:
    r = json.load(sys.stdin)["data"]["result"]
    print(r[0]["metric"]["digest"] if r else "")
except Exception:
    print("")')
		[ "$v" = "$d_status" ] && break
		sleep 0.5
	done
	if [ "$v" = "$d_status" ]; then
		pass prometheus_scrape
	else
		fail prometheus_scrape "Prometheus has config digest '$v', status says '$d_status': $(oneline "$tmp/prom-info.json") $(oneline "$tmp/prometheus.log")"
	fi
}
prometheus_scrape

wait "$idle_pid"
if grep -qE "^closed after ([0-9]|1[0-2])\.[0-9] s, got b''$" "$tmp/idle.log"; then
	pass exporter_idle_client_cut
else
	fail exporter_idle_client_cut "$(oneline "$tmp/idle.log")"
fi

# ---- the units, with the install paths of this build ---------------------------------------------
units="$tmp/units"
mkdir -p "$units"
for f in "$ROOT"/packaging/voipwall*.service "$ROOT"/packaging/voipwall*.timer \
	"$ROOT"/packaging/voipwall*.path "$ROOT"/packaging/voipwall-textfile; do
	sed -e "s|@SBINDIR@|$(dirname "$VOIPWALL")|g" -e "s|@VW_LIBDIR@|$units|g" "$f" >"$units/$(basename "$f")"
done
chmod +x "$units/voipwall-textfile"
# exec_line UNIT KEY: the unit's KEY= command
exec_line() { sed -n "s/^$2=//p" "$units/$1"; }
# run_unit_line ENVFILE LINE: LINE as systemd runs it in gw ($VAR split into words), output in
# $tmp/unit.out and .err, exit code in $urc
run_unit_line() {
	# shellcheck disable=SC1090
	(set -a && . "$1" && set +a && eval "ip netns exec \"\$GW\" $2") >"$tmp/unit.out" 2>"$tmp/unit.err"
	urc=$?
}
envf=$tmp/default.voipwall
sed -e "s|^VOIPWALL_OPTIONS=.*|VOIPWALL_OPTIONS=\"--pin-dir $PIN\"|" \
	-e "s|^#VOIPWALL_TEXTFILE_DIR=.*|VOIPWALL_TEXTFILE_DIR=\"$tmp/textfile\"|" \
	"$ROOT/packaging/voipwall.default" >"$envf"

if command -v systemd-analyze >/dev/null; then
	if systemd-analyze verify --man=no "$units"/*.service "$units"/*.timer "$units"/*.path \
		>"$tmp/verify.log" 2>&1; then
		pass units_verify
	else
		fail units_verify "$(oneline "$tmp/verify.log")"
	fi
else
	echo "SKIP units_verify: systemd-analyze missing"
fi

# textfile timer's service: atomic replace (a new inode each time, no temporary left over)
textfile() {
	local line bad='' ino1 ino2
	line=$(exec_line voipwall-textfile.service ExecStart)
	mkdir -p "$tmp/textfile"
	run_unit_line "$envf" "$line"
	[ "$urc" -eq 0 ] || bad+="exit $urc: $(oneline "$tmp/unit.err"); "
	ino1=$(stat -c %i "$tmp/textfile/voipwall.prom" 2>/dev/null)
	promtool check metrics <"$tmp/textfile/voipwall.prom" >"$tmp/promtool3.log" 2>&1 ||
		bad+="promtool: $(oneline "$tmp/promtool3.log"); "
	grep -qx 'voipwall_packets_total{interface="vo0",class="sip",verdict="drop",reason="not_allowlisted"} 10' \
		"$tmp/textfile/voipwall.prom" || bad+="no 10 sip drops in the file; "
	run_unit_line "$envf" "$line"
	ino2=$(stat -c %i "$tmp/textfile/voipwall.prom" 2>/dev/null)
	[ -n "$ino1" ] && [ "$ino1" != "$ino2" ] || bad+="the file was not replaced by a rename; "
	[ "$(ls -A "$tmp/textfile")" = voipwall.prom ] || bad+="left over: $(ls -A "$tmp/textfile" | tr '\n' ' '); "
	# nothing loaded: voipwall_up 0 is published, the service fails
	sed "s|^VOIPWALL_OPTIONS=.*|VOIPWALL_OPTIONS=\"--pin-dir $bpffs/none\"|" "$envf" >"$envf.none"
	run_unit_line "$envf.none" "$line"
	[ "$urc" -ne 0 ] || bad+="not loaded, yet exit 0; "
	grep -qx 'voipwall_up 0' "$tmp/textfile/voipwall.prom" || bad+="not loaded, yet no voipwall_up 0; "
	if [ -z "$bad" ]; then pass textfile_service; else fail textfile_service "$bad"; fi
}
textfile

# exporter unit: its ExecStart as systemd runs it, with the unit's capability bounding set and
# the bpffs read-only (ProtectSystem=strict), scraped on another port
exporter_unit() {
	local line caps bad=''
	line=$(exec_line voipwall-exporter.service ExecStart)
	caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$units/voipwall-exporter.service" |
		tr 'A-Z' 'a-z' | sed 's/cap_/+/g; s/ /,/g')
	sed 's|^#VOIPWALL_EXPORTER_LISTEN=.*|VOIPWALL_EXPORTER_LISTEN="127.0.0.1:9726"|' "$envf" >"$envf.exp"
	# shellcheck disable=SC1090
	(set -a && . "$envf.exp" && set +a &&
		eval "exec ip netns exec \"\$GW\" unshare -m sh -c 'mount -o remount,bind,ro \"\$0\" && exec setpriv --bounding-set=-all,$caps --inh-caps=-all \"\$@\"' \"$bpffs\" $line") \
		>"$tmp/exp-unit.log" 2>&1 &
	pids+=($!)
	local i got=''
	for i in $(seq 50); do
		got=$(http http://127.0.0.1:9726/metrics 2>/dev/null | head -n1)
		[ "$got" = 200 ] && break
		sleep 0.1
	done
	http http://127.0.0.1:9726/metrics | tail -n +2 >"$tmp/exp-unit.prom"
	[ "$got" = 200 ] || bad+="no answer: $(oneline "$tmp/exp-unit.log"); "
	grep -qx 'voipwall_up 1' "$tmp/exp-unit.prom" || bad+="voipwall_up is not 1: $(oneline "$tmp/exp-unit.log"); "
	grep -q '^voipwall_allow_rules{class="sip",family="ipv4"} 2$' "$tmp/exp-unit.prom" ||
		bad+="no allow rules (inner maps unreadable?); "
	if [ -z "$bad" ]; then pass exporter_unit; else fail exporter_unit "$bad"; fi
}
exporter_unit

# ---- reload on change: voipwall-reload.service's ExecStart as the path unit would start it -------
reload_unit() {
	local line bad='' d0 d1 d2 t0 t1 n
	line=$(exec_line voipwall-reload.service ExecStart)
	grep -qx 'PathChanged=/etc/voipwall/voipwall.conf' "$units/voipwall-reload.path" &&
		grep -qx 'PathChanged=/etc/voipwall' "$units/voipwall-reload.path" &&
		grep -qx 'Unit=voipwall-reload.service' "$units/voipwall-reload.path" ||
		bad+="the path unit does not watch /etc/voipwall and its config; "
	vw -j status >"$tmp/s0.json"
	d0=$(digest_of "$tmp/s0.json")
	t0=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["applied_unix_ns"])' "$tmp/s0.json")
	# an include changes: the peer becomes allowlisted
	echo "allow sip 198.18.0.2" >>"$tmp/allow-sip.conf"
	run_unit_line "$envf" "$line"
	[ "$urc" -eq 0 ] || bad+="reload of a good change: exit $urc: $(oneline "$tmp/unit.err"); "
	vw -j status >"$tmp/s1.json"
	d1=$(digest_of "$tmp/s1.json")
	t1=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["applied_unix_ns"])' "$tmp/s1.json")
	"$VOIPWALL" -j -c "$CONF" check >"$tmp/check1.json" 2>&1
	[ "$d1" != "$d0" ] && [ "$d1" = "$(digest_of "$tmp/check1.json")" ] ||
		bad+="digest after reload '$d1' (before '$d0', file '$(digest_of "$tmp/check1.json")'); "
	[ "$t1" -gt "$t0" ] || bad+="reload time did not move ($t0 -> $t1); "
	vw status | grep -q "^applied: .*serial" || bad+="status shows no apply time; "
	udp_send 4 5060
	n=$(wait_count pass allowlisted 4)
	[ "$n" -eq 4 ] || bad+="after reload $n allowlisted passes, expected 4; "
	# the include breaks: the running config stays, file:line errors on stderr (the journal)
	echo "allow sip 198.18.0.300" >>"$tmp/allow-sip.conf"
	run_unit_line "$envf" "$line"
	[ "$urc" -eq 2 ] || bad+="reload of a broken include: exit $urc, expected 2; "
	grep -q "^$tmp/allow-sip.conf:3: " "$tmp/unit.err" ||
		bad+="no $tmp/allow-sip.conf:3: error on stderr: $(oneline "$tmp/unit.err"); "
	vw -j status >"$tmp/s2.json"
	d2=$(digest_of "$tmp/s2.json")
	[ "$d2" = "$d1" ] || bad+="a broken file changed the running config ($d1 -> $d2); "
	udp_send 2 5060
	n=$(wait_count pass allowlisted 6)
	[ "$n" -eq 6 ] || bad+="after the broken reload $n allowlisted passes, expected 6; "
	[ "$(drops)" -eq 10 ] || bad+="drops moved to $(drops), expected 10; "
	if [ -z "$bad" ]; then pass reload_unit; else fail reload_unit "$bad"; fi
}
reload_unit
