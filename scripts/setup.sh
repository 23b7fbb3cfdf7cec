#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Installs the Debian packages voipwall needs to build, test, demo and bench, when missing.
# Safe to run again; needs root only when something is missing. Reads no standard input.
set -euo pipefail

PKGS=(
	# build
	gcc make clang llvm libbpf-dev libxdp-dev libelf-dev zlib1g-dev linux-libc-dev bpftool pkg-config
	# sanitizers and libFuzzer runtime
	libclang-rt-14-dev
	# tests, demo, bench
	iproute2 python3 python3-scapy sip-tester xdp-tools nftables socat tcpdump kmod
	# operations suite: promtool and a Prometheus server
	prometheus
	# capture tests: tshark reads the pcapng, sngrep receives HEP, svmap scans
	tshark sngrep sipvicious
	# flood suite: the shipped fail2ban action run by the real fail2ban
	fail2ban
)

missing=()
for p in "${PKGS[@]}"; do
	[[ "$p" == \#* ]] && continue
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done

if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "setup: missing Debian packages: ${missing[*]}; run as root (sudo make setup)" >&2
	exit 1
fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y --no-install-recommends "${missing[@]}" </dev/null >/tmp/voipwall-setup.log 2>&1; then
	apt-get update </dev/null >>/tmp/voipwall-setup.log 2>&1
	apt-get install -y --no-install-recommends "${missing[@]}" </dev/null >>/tmp/voipwall-setup.log 2>&1 || {
		echo "setup: apt-get install failed, see /tmp/voipwall-setup.log" >&2
		tail -n 20 /tmp/voipwall-setup.log >&2
		exit 1
	}
fi
