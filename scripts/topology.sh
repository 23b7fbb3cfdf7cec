# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=bash disable=SC2034
# (the TOPO_* variables are this library's interface to the scripts that source it)
#
# The voipwall test/demo topology, as a library to source (bash):
#
#   inet namespace                     gw namespace                    handset namespace
#   PBX      198.18.1.10 2001:db8:1::10
#   support  198.18.2.20 2001:db8:2::20
#   scanner  198.18.3.30 2001:db8:3::30
#   inet0 198.18.0.2 2001:db8::2  <--veth-->  wan0 198.18.0.1 2001:db8::1
#                                             lan0 198.19.0.1 2001:db8:100::1 <--veth--> hs0
#                                                                      198.19.0.2 2001:db8:100::2
#   rpl1 (no address, no IPv6)    <--veth-->  rpl0 (no address, no IPv6): pcap replay only, so
#                                             its counters see nothing but the replayed frames.
#
# voipwall goes on wan0 (and rpl0) in native XDP mode; gw forwards between wan0 and lan0, so
# both traffic to the gateway itself and routed traffic cross the filter. Nothing is created in
# the root namespace: each veth is created directly inside its namespaces, the namespaces carry a
# random suffix, and a temporary bpffs holds the pinned state (never /sys/fs/bpf/voipwall).
#
#   . scripts/topology.sh
#   topo_trap              # tear down on every exit path (EXIT, INT, TERM, HUP)
#   topo_create || exit 1
#   topo_gw voipwall --pin-dir "$TOPO_PIN" load wan0 ...
#   topo_bg inet sipp ...  # background process inside a namespace, killed by topo_destroy
#   topo_destroy
#
# The suites that need less build the smallest topology, two namespaces joined by one veth pair,
# with the same library: topo_pair GWIF EXTIF makes namespaces gw and ext (no addresses; the
# caller adds what it needs), the temporary folder and the bpffs, and topo_destroy removes them.
#
# voipwall commands run here keep their lock files in $TOPO_TMP/lock ($VOIPWALL_LOCK_DIR,
# exported), so a teardown that skips unload leaves nothing behind in /run/lock; topo_lock_file
# names the lock file of the pin dir once a state-changing command has run.
#
# Functions return 0 or non-zero with a message on stderr; they never exit the caller.

TOPO_PBX4=198.18.1.10
TOPO_PBX6=2001:db8:1::10
TOPO_SUP4=198.18.2.20
TOPO_SUP6=2001:db8:2::20
TOPO_SCAN4=198.18.3.30
TOPO_SCAN6=2001:db8:3::30
TOPO_INET4=198.18.0.2
TOPO_INET6=2001:db8::2
TOPO_GW4=198.18.0.1
TOPO_GW6=2001:db8::1
TOPO_GWLAN4=198.19.0.1
TOPO_GWLAN6=2001:db8:100::1
TOPO_HS4=198.19.0.2
TOPO_HS6=2001:db8:100::2
TOPO_WAN=wan0
TOPO_LAN=lan0
TOPO_RPL=rpl0
TOPO_INET_IF=inet0
TOPO_INET_RPL=rpl1

TOPO_NS_INET=
TOPO_NS_GW=
TOPO_NS_HS=
TOPO_NS_EXT=
TOPO_PIN_MNT=
TOPO_PIN=
TOPO_TMP=
TOPO_PIDS=()

topo_log()
{
	echo "topology: $*" >&2
}

# The namespace's name: topo_nsname inet|gw|hs
topo_nsname()
{
	case "$1" in
	inet) echo "$TOPO_NS_INET" ;;
	gw) echo "$TOPO_NS_GW" ;;
	hs) echo "$TOPO_NS_HS" ;;
	ext) echo "$TOPO_NS_EXT" ;;
	*)
		topo_log "unknown namespace '$1' (inet, gw, hs or ext)"
		return 2
		;;
	esac
}

# Run a command in a namespace: topo_ns inet|gw|hs CMD...
topo_ns()
{
	local ns
	ns=$(topo_nsname "$1") || return 2
	shift
	ip netns exec "$ns" "$@"
}

topo_inet() { topo_ns inet "$@"; }
topo_gw() { topo_ns gw "$@"; }
topo_hs() { topo_ns hs "$@"; }
topo_ext() { topo_ns ext "$@"; }

# Start CMD in a namespace in the background, output to a log file; its pid is left in
# TOPO_LAST_PID and remembered for topo_destroy. topo_bg NS LOGFILE CMD...
topo_bg()
{
	local ns log=$2
	ns=$(topo_nsname "$1") || return 2
	shift 2
	# ip execs the command, so $! is the command itself (a backgrounded function would be a
	# subshell whose death leaves the command running).
	ip netns exec "$ns" "$@" </dev/null >"$log" 2>&1 &
	TOPO_LAST_PID=$!
	TOPO_PIDS+=("$TOPO_LAST_PID")
}

# Stop a process started with topo_bg (by its pid) and reap it.
topo_stop()
{
	local pid=$1
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

# Wait until something in namespace NS listens on PROTO (tcp|udp) PORT; up to 5 s.
topo_wait_listen()
{
	local which=$1 proto=$2 port=$3 i flag=-tln
	[ "$proto" = udp ] && flag=-uln
	for ((i = 0; i < 100; i++)); do
		if topo_ns "$which" ss -H "$flag" "sport = :$port" 2>/dev/null | grep -q .; then
			return 0
		fi
		sleep 0.05
	done
	topo_log "nothing listens on $port/$proto in $which after 5 s"
	return 1
}

# A veth pair with each end created in its namespace: topo_veth NS1 NAME1 NS2 NAME2
topo_veth()
{
	ip link add "$2" netns "$1" type veth peer "$4" netns "$3"
}

# The temporary folder (TOPO_TMP), with the lock folder of the voipwall commands run here, and
# the suffix of the namespaces' names (unique to each run).
topo_begin()
{
	TOPO_SFX=$(printf '%s-%04x' "$$" "$RANDOM")
	TOPO_TMP=$(mktemp -d /tmp/voipwall-topo.XXXXXX) || return 1
	mkdir "$TOPO_TMP/lock" || return 1
	export VOIPWALL_LOCK_DIR=$TOPO_TMP/lock
}

# Create namespaces with their loopback up: topo_netns NAME...
topo_netns()
{
	local ns
	for ns in "$@"; do
		ip netns add "$ns" || { topo_log "cannot create namespace $ns"; return 1; }
		ip -n "$ns" link set lo up || return 1
	done
}

# A temporary bpffs for the pinned state: mounted in the caller's mount namespace, so it outlives
# each `ip netns exec` (which gets a fresh /sys). TOPO_PIN is a folder in it.
topo_bpffs()
{
	TOPO_PIN_MNT=$TOPO_TMP/bpffs
	mkdir -p "$TOPO_PIN_MNT" && mount -t bpf bpf "$TOPO_PIN_MNT" ||
		{ topo_log "cannot mount a bpffs on $TOPO_PIN_MNT"; TOPO_PIN_MNT=; return 1; }
	TOPO_PIN=$TOPO_PIN_MNT/voipwall
}

# The lock file voipwall keeps for the pin dir (there once a state-changing command ran).
topo_lock_file()
{
	find "$VOIPWALL_LOCK_DIR" -maxdepth 1 -name 'voipwall-*.lock' 2>/dev/null | head -n 1
}

# Two namespaces, gw and ext, joined by a veth pair (GWIF in gw, EXTIF in ext), both ends up and
# without addresses; the temporary folder and the bpffs. topo_pair GWIF EXTIF
topo_pair()
{
	topo_begin || return 1
	TOPO_NS_GW=vw-gw-$TOPO_SFX
	TOPO_NS_EXT=vw-ext-$TOPO_SFX
	topo_netns "$TOPO_NS_GW" "$TOPO_NS_EXT" || return 1
	topo_veth "$TOPO_NS_GW" "$1" "$TOPO_NS_EXT" "$2" ||
		{ topo_log "cannot create the veth pair"; return 1; }
	topo_gw ip link set "$1" up && topo_ext ip link set "$2" up || return 1
	topo_bpffs
}

topo_create()
{
	topo_begin || return 1
	TOPO_NS_INET=vw-inet-$TOPO_SFX
	TOPO_NS_GW=vw-gw-$TOPO_SFX
	TOPO_NS_HS=vw-hs-$TOPO_SFX
	topo_netns "$TOPO_NS_INET" "$TOPO_NS_GW" "$TOPO_NS_HS" || return 1

	# Each veth is created with both ends already in their namespaces: nothing appears in the
	# root namespace, and the same short names can be used by concurrent runs.
	topo_veth "$TOPO_NS_INET" "$TOPO_INET_IF" "$TOPO_NS_GW" "$TOPO_WAN" &&
		topo_veth "$TOPO_NS_GW" "$TOPO_LAN" "$TOPO_NS_HS" hs0 &&
		topo_veth "$TOPO_NS_INET" "$TOPO_INET_RPL" "$TOPO_NS_GW" "$TOPO_RPL" ||
		{ topo_log "cannot create veth pairs"; return 1; }

	topo_setup_inet && topo_setup_gw && topo_setup_hs && topo_bpffs || return 1
	topo_wait_ready
}

topo_sysctl()
{
	topo_ns "$1" sysctl -qw "$2" >/dev/null || { topo_log "sysctl $2 failed in $1"; return 1; }
}

topo_setup_inet()
{
	local a
	# No IPv6 on the replay link: its peer's counters must see only the replayed frames.
	topo_sysctl inet "net.ipv6.conf.$TOPO_INET_RPL.disable_ipv6=1" || return 1
	topo_sysctl inet net.ipv6.conf.all.accept_dad=0 || return 1
	topo_sysctl inet net.ipv6.conf.default.accept_dad=0 || return 1
	topo_inet ip addr add "$TOPO_INET4/24" dev "$TOPO_INET_IF" &&
		topo_inet ip -6 addr add "$TOPO_INET6/64" dev "$TOPO_INET_IF" nodad || return 1
	for a in "$TOPO_PBX4" "$TOPO_SUP4" "$TOPO_SCAN4"; do
		topo_inet ip addr add "$a/32" dev "$TOPO_INET_IF" || return 1
	done
	for a in "$TOPO_PBX6" "$TOPO_SUP6" "$TOPO_SCAN6"; do
		topo_inet ip -6 addr add "$a/128" dev "$TOPO_INET_IF" nodad || return 1
	done
	topo_inet ip link set "$TOPO_INET_IF" up && topo_inet ip link set "$TOPO_INET_RPL" up &&
		topo_inet ip route add 198.19.0.0/24 via "$TOPO_GW4" &&
		topo_inet ip -6 route add 2001:db8:100::/64 via "$TOPO_GW6" ||
		{ topo_log "inet: cannot configure links"; return 1; }
}

topo_setup_gw()
{
	local a
	topo_sysctl gw net.ipv4.ip_forward=1 || return 1
	topo_sysctl gw net.ipv6.conf.all.forwarding=1 || return 1
	topo_sysctl gw "net.ipv6.conf.$TOPO_RPL.disable_ipv6=1" || return 1
	topo_sysctl gw net.ipv6.conf.all.accept_dad=0 || return 1
	topo_sysctl gw net.ipv6.conf.default.accept_dad=0 || return 1
	topo_gw ip addr add "$TOPO_GW4/24" dev "$TOPO_WAN" &&
		topo_gw ip -6 addr add "$TOPO_GW6/64" dev "$TOPO_WAN" nodad &&
		topo_gw ip addr add "$TOPO_GWLAN4/24" dev "$TOPO_LAN" &&
		topo_gw ip -6 addr add "$TOPO_GWLAN6/64" dev "$TOPO_LAN" nodad &&
		topo_gw ip link set "$TOPO_WAN" up && topo_gw ip link set "$TOPO_LAN" up &&
		topo_gw ip link set "$TOPO_RPL" up ||
		{ topo_log "gw: cannot configure links"; return 1; }
	# The source addresses live behind inet0.
	for a in "$TOPO_PBX4" "$TOPO_SUP4" "$TOPO_SCAN4"; do
		topo_gw ip route add "$a/32" via "$TOPO_INET4" || return 1
	done
	for a in "$TOPO_PBX6" "$TOPO_SUP6" "$TOPO_SCAN6"; do
		topo_gw ip -6 route add "$a/128" via "$TOPO_INET6" || return 1
	done
}

topo_setup_hs()
{
	topo_hs ip addr add "$TOPO_HS4/24" dev hs0 &&
		topo_hs ip -6 addr add "$TOPO_HS6/64" dev hs0 nodad &&
		topo_hs ip link set hs0 up &&
		topo_hs ip route add default via "$TOPO_GWLAN4" &&
		topo_hs ip -6 route add default via "$TOPO_GWLAN6" ||
		{ topo_log "handset: cannot configure links"; return 1; }
}

# Wait until every veth end is up (carrier on both sides); addresses are nodad, so usable at once.
topo_link_up()
{
	topo_ns "$1" ip -o link show dev "$2" 2>/dev/null | grep -q 'state UP'
}

topo_wait_ready()
{
	local i
	for ((i = 0; i < 100; i++)); do
		if topo_link_up inet "$TOPO_INET_IF" && topo_link_up inet "$TOPO_INET_RPL" &&
			topo_link_up gw "$TOPO_WAN" && topo_link_up gw "$TOPO_LAN" &&
			topo_link_up gw "$TOPO_RPL" && topo_link_up hs hs0; then
			return 0
		fi
		sleep 0.05
	done
	topo_log "the veth links did not come up within 5 s"
	return 1
}

# Remove everything topo_create made; safe to call twice and on a half-made topology.
topo_destroy()
{
	local pid ns
	for pid in "${TOPO_PIDS[@]}"; do
		kill "$pid" 2>/dev/null
	done
	for ns in "$TOPO_NS_INET" "$TOPO_NS_GW" "$TOPO_NS_HS" "$TOPO_NS_EXT"; do
		[ -n "$ns" ] || continue
		# Whatever still runs in our own namespaces was started by us.
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill "$pid" 2>/dev/null
		done
	done
	for pid in "${TOPO_PIDS[@]}"; do
		wait "$pid" 2>/dev/null
	done
	TOPO_PIDS=()
	# Deleting the namespaces deletes the veths, which detaches XDP programs.
	for ns in "$TOPO_NS_INET" "$TOPO_NS_GW" "$TOPO_NS_HS" "$TOPO_NS_EXT"; do
		[ -n "$ns" ] && ip netns del "$ns" 2>/dev/null
	done
	TOPO_NS_INET='' TOPO_NS_GW='' TOPO_NS_HS='' TOPO_NS_EXT=''
	if [ -n "$TOPO_PIN_MNT" ]; then
		umount "$TOPO_PIN_MNT" 2>/dev/null || umount -l "$TOPO_PIN_MNT" 2>/dev/null
		TOPO_PIN_MNT=
	fi
	TOPO_PIN=
	# with the lock folder: the lock file that a teardown skipping unload leaves
	if [ -n "$TOPO_TMP" ]; then
		rm -rf "$TOPO_TMP"
		TOPO_TMP=
	fi
	return 0
}

# Install topo_destroy on EXIT and on the usual signals (a signal exits with 128+n after it).
topo_trap()
{
	trap 'topo_destroy' EXIT
	trap 'topo_destroy; trap - EXIT; exit 130' INT
	trap 'topo_destroy; trap - EXIT; exit 143' TERM
	trap 'topo_destroy; trap - EXIT; exit 129' HUP
}
