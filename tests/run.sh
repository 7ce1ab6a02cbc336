#!/bin/bash
# Run every suite: correlator unit tests, BPF tests (BPF_PROG_TEST_RUN) and
# the network-namespace labs. Each suite prints "ok NAME" / "not ok NAME";
# this counts them and ends with one line: "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."

passed=0
failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

run_suite() {
	local name=$1
	shift
	echo "== $name"
	"$@" 2>&1 | tee "$log"
	local rc=${PIPESTATUS[0]}
	local ok bad
	ok=$(grep -c '^ok ' "$log")
	bad=$(grep -c '^not ok ' "$log")
	# A suite that dies without reporting must not pass silently.
	if [ "$rc" != 0 ] && [ "$bad" = 0 ]; then
		echo "not ok $name (exited $rc without a failing test)"
		bad=1
	fi
	passed=$((passed + ok))
	failed=$((failed + bad))
}

run_suite unit build/test_correlator

if [ "$(id -u)" != 0 ]; then
	echo "not ok bpf-and-lab-suites (need root for BPF and network namespaces; run: sudo make check)"
	failed=$((failed + 1))
else
	run_suite bpf build/test_bpf
	for t in tests/lab/t_*.sh; do
		[ -e "$t" ] || continue
		run_suite "$(basename "$t" .sh)" bash "$t"
	done
fi

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
