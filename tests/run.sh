#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Runs every test suite and ends with "N passed, N failed, N skipped".
# A suite is an executable printing one line per test: "PASS <name>", "FAIL <name>: why" or
# "SKIP <name>: why"; anything else it prints is its log, shown only when it fails. A suite fails
# when it exits non-zero, prints a FAIL line, or passes nothing (every test skipped, or none run).
# Suites: $BUILD/tests/unit/* (C programs), then tests/*/test_*.sh; TEST_JOBS at a time (2).
# TESTS=pattern runs only suites whose path matches the (grep -E) pattern.
set -u
cd "$(dirname "$0")/.."
export BUILD=${BUILD:-build}
export PYTHON=${PYTHON:-/usr/bin/python3}
export VOIPWALL="$PWD/$BUILD/voipwall"

passed=0 failed=0 skipped=0
logdir=$(mktemp -d /tmp/voipwall-test.XXXXXX)
trap 'rm -rf "$logdir"' EXIT

suites=()
for b in "$BUILD"/tests/unit/*; do
	[ -f "$b" ] && [ -x "$b" ] && [[ "$b" != *.d ]] && suites+=("$b")
done
for s in tests/*/test_*.sh; do
	[ -x "$s" ] && suites+=("$s")
done

# One suite, in the background: its output to its log, then its exit status and time.
start_suite() {
	local s=$1 log="$logdir/$(basename "$1").log"
	(
		start=$(date +%s)
		"$s" </dev/null >"$log" 2>&1
		echo "$? $(($(date +%s) - start))" >"$log.rc"
	) &
}

# Its lines and verdict, once it has ended.
report_suite() {
	local s=$1 log="$logdir/$(basename "$1").log" rc secs p f k
	read -r rc secs <"$log.rc"
	p=$(grep -c '^PASS ' "$log")
	f=$(grep -c '^FAIL ' "$log")
	k=$(grep -c '^SKIP ' "$log")
	grep -E '^(PASS|FAIL|SKIP) ' "$log"
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "FAIL $s: exited with status $rc"
		f=$((f + 1))
	fi
	# A suite that ran nothing proves nothing: all skipped (a missing tool, no root) or silent.
	if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
		if [ "$k" -gt 0 ]; then
			echo "FAIL $s: every test skipped ($(grep -m1 '^SKIP ' "$log" | cut -c6-))"
		else
			echo "FAIL $s: reported no test"
		fi
		f=1
	fi
	if [ "$f" -ne 0 ]; then
		echo "---- log of $s ----"
		grep -vE '^(PASS|SKIP) ' "$log" | tail -n 200
		echo "---- end of log ----"
	fi
	echo "# $s: $p passed, $f failed, $k skipped (${secs}s)"
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + k))
}

# Suites run TEST_JOBS at a time (default 2; each builds its own namespaces, pin directory and
# lock folder). The ones that measure or share a tool's global state (the bench smoke test, and
# the libxdp/xdp-filter suite: xdp-filter finds its bpffs through /proc/mounts) run alone,
# after the others. Results are printed in suite order.
jobs=${TEST_JOBS:-2}
shared=() alone=()
for s in "${suites[@]}"; do
	if [ -n "${TESTS:-}" ] && ! grep -qE -- "$TESTS" <<<"$s"; then
		continue
	fi
	case "$s" in
	*/test_bench_smoke.sh | */test_multiprog.sh) alone+=("$s") ;;
	*) shared+=("$s") ;;
	esac
done
# Longest first (from the times of a clean-clone run), so that the last to start are short and
# the slots end close together; the suites not named here follow in the usual order.
longest=(test_faults.sh test_e2e.sh test_capture.sh test_cli.sh test_xdp test_fuzz.sh test_flood
	test_flood_cli.sh test_evasion.sh test_ops.sh test_fail2ban.sh test_lookups test_iface_unit.sh)
ordered=()
for name in "${longest[@]}"; do
	for s in "${shared[@]}"; do
		[ "$(basename "$s")" = "$name" ] && ordered+=("$s")
	done
done
for s in "${shared[@]}"; do
	[[ " ${longest[*]} " == *" $(basename "$s") "* ]] || ordered+=("$s")
done
for s in "${ordered[@]}"; do
	while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do
		wait -n
	done
	start_suite "$s"
done
wait
for s in "${shared[@]}"; do
	report_suite "$s"
done
for s in "${alone[@]}"; do
	start_suite "$s"
	wait
	report_suite "$s"
done

if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
