#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Bounded differential fuzzing (part of `make test`): checks that the comparison catches wrong
# answers (--self-check), replays tests/fuzz/regressions.txt, then runs random frames under random
# configs through the XDP program and the reference model: FUZZ_FRAMES (default 6000) for each
# fixed seed of tests/fuzz/seeds, where at least 30% of the frames must reach the allowlist
# decision (and the flood control after it), then FUZZ_RANDOM_FRAMES (default 8000) for one
# random seed, printed (FUZZ_SEED fixes it). A failure prints a reproducer for each mismatch
# (paste it into regressions.txt once understood). First, the config parser's libFuzzer target
# replays its corpus (no root needed). No network, no pins: the runner loads its own private
# copy of the object.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
diff_bin="$BUILD/tests/fuzz/diff"
seeds=$(grep -vE '^[[:space:]]*(#|$)' tests/fuzz/seeds | awk '{print $1}')
cfg_rc=0

# The config parser's libFuzzer target, built and run once over its corpus: its checks (one
# pass against two threads, canonical text, class ids) hold on every seed input, and the target
# still builds (`make fuzz-config` runs it for longer).
cfg_log=$(mktemp)
if ! make --no-print-directory BUILD="$BUILD" "$BUILD/fuzz/fuzz_config" >"$cfg_log" 2>&1; then
	echo "FAIL fuzz_config_corpus: the target does not build"
	tail -n 20 "$cfg_log"
	cfg_rc=1
elif "$BUILD/fuzz/fuzz_config" -rss_limit_mb=2048 tests/fuzz/corpus/config/* >"$cfg_log" 2>&1; then
	echo "PASS fuzz_config_corpus: $(ls tests/fuzz/corpus/config | wc -l) inputs"
else
	echo "FAIL fuzz_config_corpus"
	tail -n 30 "$cfg_log"
	cfg_rc=1
fi
rm -f "$cfg_log"

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP fuzz_self_check: needs root (bpf_prog_test_run)"
	echo "SKIP fuzz_regressions: needs root (bpf_prog_test_run)"
	for s in $seeds random; do
		echo "SKIP fuzz_differential_seed_$s: needs root (bpf_prog_test_run)"
	done
	exit $cfg_rc
fi
if [ ! -x "$diff_bin" ]; then
	echo "FAIL fuzz_differential: $diff_bin not built (make BUILD=$BUILD all)"
	exit 1
fi
random_seed=${FUZZ_SEED:-$(od -An -N6 -tu8 /dev/urandom | tr -d ' ')}
pcaps=${FUZZ_PCAPS:-tests/data/pcaps}
rc=$cfg_rc

# Runs the fuzzer; its PASS/FAIL lines get the seed's name ("fuzz_differential_seed_7").
fuzz() {
	local name=$1
	shift
	echo "# $diff_bin $*"
	"$diff_bin" "$@" | sed -E "s/^(PASS|FAIL) (fuzz_differential|fuzz_decision_share)/\1 \2_seed_$name/"
	[ "${PIPESTATUS[0]}" -eq 0 ] || rc=1
}

# First, that the comparison catches wrong answers: the model's answer is altered on every 7th
# frame (and the first of each flood control reason, under configs that alternate with and
# without flood control) and exactly those frames must be reported.
echo "# $diff_bin --self-check --frames 2000 --configs 4 --seed $random_seed --pcaps $pcaps"
"$diff_bin" --self-check --frames 2000 --configs 4 --seed "$random_seed" --pcaps "$pcaps" || rc=1

first=1
for s in $seeds; do
	if [ "$first" = 1 ]; then
		reg=(--regressions tests/fuzz/regressions.txt)
		first=0
	else
		reg=(--no-regressions)
	fi
	fuzz "$s" --frames "${FUZZ_FRAMES:-6000}" --seed "$s" --pcaps "$pcaps" "${reg[@]}" \
		--min-decision-share 30
done
echo "# random seed $random_seed (FUZZ_SEED=$random_seed reproduces this run)"
fuzz random --frames "${FUZZ_RANDOM_FRAMES:-8000}" --seed "$random_seed" --pcaps "$pcaps" \
	--no-regressions
exit $rc
