#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Sharing an interface with xdp-filter through libxdp's dispatcher, in namespaces with a
# temporary bpffs (LIBXDP_BPFFS, and /sys/fs/bpf for xdp-filter's own pins) and --pin-dir in it.
# xdp-filter denies 198.18.0.3; voipwall protects 5060/udp, allowing 198.18.0.2 only; 198.18.0.4
# is the scanner. Where libxdp cannot run its dispatcher on this kernel (xdp-filter then attaches
# directly), the refusal that names xdp-filter's program and a clean --multiprog failure are
# tested, and the sharing tests are skipped, saying why.
set -u
cd "$(dirname "$0")/../.."
# shellcheck source=tests/ops/lib.sh
. tests/ops/lib.sh
ops_prelude multiprog
command -v xdp-filter >/dev/null || skip_all "xdp-filter missing (apt-get install xdp-tools)"

cleanup() {
	[ -n "${bpffs:-}" ] && xf unload mp0 >/dev/null 2>&1
	ops_cleanup
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
ops_setup vwmp mp0 mp1
export LIBXDP_BPFFS="$bpffs"
for a in 3 4; do ip -n "$PEER" addr add "198.18.0.$a/24" dev mp1; done
cat >"$tmp/voipwall.conf" <<EOC
class sip 5060/udp
allow sip 198.18.0.2
EOC

# xdp-filter finds its bpffs at /sys/fs/bpf (else the first bpffs mounted anywhere): give it ours
xf() { ip netns exec "$GW" sh -c 'mount --bind "$0" /sys/fs/bpf && exec xdp-filter "$@"' "$bpffs" "$@"; }
# xdp_names: names of the XDP program on mp0 and of its dispatcher components (bpftool)
xdp_prog() { ip -n "$GW" -d link show mp0 | sed -n 's/.*prog\/xdp\(generic\)\? id \([0-9]*\).*/\2/p' | head -n1; }
prog_name() { bpftool prog show id "$1" 2>/dev/null | sed -n 's/^[0-9]*: [a-z_]* *name \([^ ]*\).*/\1/p'; }
# send SRC_LAST_OCTET COUNT: UDP datagrams from 198.18.0.SRC to 198.18.0.1:5060
send() {
	ip netns exec "$PEER" "$PY" -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 0))
for i in range(int(sys.argv[2])):
    s.sendto(b"OPTIONS sip:x SIP/2.0\r\n\r\n", ("198.18.0.1", 5060))
' "198.18.0.$1" "$2"
}
count() { ops_count mp0 "$@"; }
wait_count() { ops_wait_count mp0 "$@"; }
# reach SRC: whether a datagram from 198.18.0.SRC to an unprotected port reaches a socket on the
# gateway (xdp-filter's verdict; voipwall passes unprotected ports)
reach() {
	ip netns exec "$GW" "$PY" -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("198.18.0.1", 7777))
s.settimeout(2.0)
try:
    print(s.recvfrom(100)[1][0])
except OSError:
    pass
' >"$tmp/reach.out" 2>&1 &
	local rpid=$! i
	sleep 0.3
	for i in 1 2 3; do
		ip netns exec "$PEER" "$PY" -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 0))
s.sendto(b"x", ("198.18.0.1", 7777))' "198.18.0.$1"
		sleep 0.1
	done
	wait "$rpid"
	grep -qx "198.18.0.$1" "$tmp/reach.out"
}

if ! xf load -m native mp0 >"$tmp/xf.log" 2>&1 || ! xf ip -m src 198.18.0.3 >>"$tmp/xf.log" 2>&1; then
	skip_all "xdp-filter cannot load here: $(oneline "$tmp/xf.log")"
fi
id=$(xdp_prog)
name=$(prog_name "$id")
if reach 3 || ! reach 2; then
	fail xdp_filter_alone "xdp-filter does not deny 198.18.0.3 only"
else
	pass xdp_filter_alone
fi

if [ "$name" != xdp_dispatcher ]; then
	# libxdp could not run its dispatcher here: xdp-filter attached directly
	vw -c "$tmp/voipwall.conf" load mp0 >"$tmp/load.log" 2>&1
	rc=$?
	if [ "$rc" -eq 1 ] && grep -q "another XDP program, '$name' (id $id), attached without the libxdp dispatcher" "$tmp/load.log" &&
		[ ! -e "$PIN" ] && [ "$(xdp_prog)" = "$id" ] && ! reach 3 && reach 2; then
		pass refuse_direct_program
	else
		fail refuse_direct_program "exit $rc: $(oneline "$tmp/load.log")"
	fi
	xf unload mp0 >/dev/null 2>&1
	vw -c "$tmp/voipwall.conf" load --multiprog mp0 >"$tmp/load2.log" 2>&1
	rc=$?
	if [ "$rc" -eq 1 ] && grep -q "through the libxdp dispatcher" "$tmp/load2.log" &&
		[ ! -e "$PIN" ] && [ -z "$(xdp_prog)" ]; then
		pass multiprog_unavailable_clean
	else
		fail multiprog_unavailable_clean "exit $rc, XDP prog '$(xdp_prog)': $(oneline "$tmp/load2.log")"
	fi
	ext=$(bpftool feature probe kernel 2>/dev/null | grep 'program_type ext ')
	echo "SKIP multiprog_sharing: libxdp cannot run its dispatcher on this kernel (xdp-filter attached '$name' directly; bpftool: ${ext:-no answer})"
	exit 0
fi

# ---- voipwall joins xdp-filter's dispatcher ---------------------------------------------------------
bad=''
vw -c "$tmp/voipwall.conf" load mp0 >"$tmp/load.log" 2>&1 || bad+="load: $(oneline "$tmp/load.log"); "
grep -q "libxdp dispatcher, run priority 30" "$tmp/load.log" || bad+="load did not join the dispatcher; "
vw status | grep -q "mp0 .*libxdp dispatcher" || bad+="status does not show the dispatcher; "
send 2 5
send 4 7
send 3 4
[ "$(wait_count pass allowlisted 5)" -eq 5 ] || bad+="allowlisted passes $(count pass allowlisted), expected 5; "
[ "$(wait_count drop not_allowlisted 7)" -eq 7 ] || bad+="drops $(count drop not_allowlisted), expected 7; "
reach 3 && bad+="xdp-filter's deny of 198.18.0.3 no longer holds; "
reach 2 || bad+="198.18.0.2 unreachable; "
# xdp-filter ran first and dropped 198.18.0.3: voipwall never saw its 4 datagrams
[ "$(count pass allowlisted)" -eq 5 ] && [ "$(count drop not_allowlisted)" -eq 7 ] ||
	bad+="voipwall counted 198.18.0.3's datagrams; "
if [ -z "$bad" ]; then pass both_verdicts; else fail both_verdicts "$bad"; fi

# reload in place: the component reads the pinned maps, no re-attach
bad=''
before=$(xdp_prog)
echo "allow sip 198.18.0.4" >>"$tmp/voipwall.conf"
vw reload >"$tmp/reload.log" 2>&1 || bad+="reload: $(oneline "$tmp/reload.log"); "
send 4 3
[ "$(wait_count pass allowlisted 8)" -eq 8 ] || bad+="after reload passes $(count pass allowlisted), expected 8; "
[ "$(xdp_prog)" = "$before" ] || bad+="reload changed the XDP program on mp0; "
if [ -z "$bad" ]; then pass reload_in_dispatcher; else fail reload_in_dispatcher "$bad"; fi

# unloading xdp-filter leaves voipwall working (libxdp rebuilds the dispatcher around it)
bad=''
xf unload mp0 >"$tmp/xfu.log" 2>&1 || bad+="xdp-filter unload: $(oneline "$tmp/xfu.log"); "
reach 3 || bad+="198.18.0.3 still denied after xdp-filter's unload; "
sed -i '$d' "$tmp/voipwall.conf"
vw reload >/dev/null 2>&1 || bad+="reload failed; "
send 4 2
[ "$(wait_count drop not_allowlisted 9)" -eq 9 ] || bad+="voipwall drops $(count drop not_allowlisted), expected 9; "
vw status | grep -q "GONE" && bad+="status calls mp0 gone; "
if [ -z "$bad" ]; then pass unload_other_keeps_voipwall; else fail unload_other_keeps_voipwall "$bad"; fi

# and unloading voipwall leaves xdp-filter working
bad=''
xf load -m native mp0 >/dev/null 2>&1 && xf ip -m src 198.18.0.3 >/dev/null 2>&1 || bad+="xdp-filter reload failed; "
n=$(xdp_prog)
[ "$(prog_name "$n")" = xdp_dispatcher ] || bad+="no dispatcher with both; "
vw unload mp0 >"$tmp/unload.log" 2>&1 || bad+="unload: $(oneline "$tmp/unload.log"); "
[ ! -e "$PIN" ] || bad+="pin dir left; "
reach 3 && bad+="xdp-filter's deny lost with voipwall's unload; "
reach 2 || bad+="198.18.0.2 unreachable; "
[ -n "$(xdp_prog)" ] || bad+="no XDP program left on mp0; "
if [ -z "$bad" ]; then pass unload_voipwall_keeps_other; else fail unload_voipwall_keeps_other "$bad"; fi
xf unload mp0 >/dev/null 2>&1

# --multiprog alone: a dispatcher with voipwall only; unload removes it
bad=''
vw -c "$tmp/voipwall.conf" load --multiprog mp0 >"$tmp/load3.log" 2>&1 || bad+="load --multiprog: $(oneline "$tmp/load3.log"); "
[ "$(prog_name "$(xdp_prog)")" = xdp_dispatcher ] || bad+="no dispatcher; "
send 4 1
[ "$(wait_count drop not_allowlisted 1)" -eq 1 ] || bad+="drops $(count drop not_allowlisted), expected 1; "
vw unload mp0 >/dev/null 2>&1 || bad+="unload failed; "
[ -z "$(xdp_prog)" ] || bad+="an XDP program is left on mp0; "
if [ -z "$bad" ]; then pass multiprog_alone; else fail multiprog_alone "$bad"; fi
