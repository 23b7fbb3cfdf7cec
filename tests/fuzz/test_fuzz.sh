#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Bounded differential fuzzing (part of `make test`): checks that the comparison catches wrong
# answers (--self-check), replays tests/fuzz/regressions.txt, then
# runs FUZZ_FRAMES (default 20000) random frames under random configs through the XDP program
# and the reference model. The seed is random unless FUZZ_SEED is set; a failure prints it with
# a reproducer for each mismatch (paste it into regressions.txt once understood).
# No network, no pins: the runner loads its own private copy of the object.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
diff_bin="$BUILD/tests/fuzz/diff"

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP fuzz_self_check: needs root (bpf_prog_test_run)"
	echo "SKIP fuzz_regressions: needs root (bpf_prog_test_run)"
	echo "SKIP fuzz_differential: needs root (bpf_prog_test_run)"
	exit 0
fi
if [ ! -x "$diff_bin" ]; then
	echo "FAIL fuzz_differential: $diff_bin not built (make BUILD=$BUILD all)"
	exit 1
fi
seed=${FUZZ_SEED:-$(od -An -N6 -tu8 /dev/urandom | tr -d ' ')}
pcaps=${FUZZ_PCAPS:-tests/data/pcaps}
# First, that the comparison catches wrong answers: the model's answer is altered on every 7th
# frame and exactly those frames must be reported.
echo "# $diff_bin --self-check --frames 2000 --seed $seed --pcaps $pcaps"
"$diff_bin" --self-check --frames 2000 --seed "$seed" --pcaps "$pcaps"
rc=$?
echo "# $diff_bin --frames ${FUZZ_FRAMES:-20000} --seed $seed --pcaps $pcaps"
"$diff_bin" --frames "${FUZZ_FRAMES:-20000}" --seed "$seed" \
	--regressions tests/fuzz/regressions.txt --pcaps "$pcaps" || rc=$?
exit $rc
