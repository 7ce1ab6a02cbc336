#!/bin/bash
# Run every suite: correlator unit tests, BPF tests (BPF_PROG_TEST_RUN) and
# the network-namespace labs. Each suite prints "ok NAME", "ok NAME # SKIP
# why" or "not ok NAME"; this counts them, checks that the suites left
# nothing behind, and ends with one line, "N passed, N failed" (skipped
# checks, never counted as passed, are told on the line before it).
set -uo pipefail
cd "$(dirname "$0")/.."

passed=0
failed=0
skipped=0
log=$(mktemp)
trap 'rm -f "$log" "$log.before" "$log.after"' EXIT

# Every process a suite starts inherits this mark, so one left running is
# found however it detached (setsid, a daemon reparented to init).
export MTS_SUITE_MARK="$$.$RANDOM$RANDOM"

# What a test could leave behind: files in the temporary directories,
# namespaces, WireGuard control sockets, BPF pins, interfaces or tc hooks
# of the root namespace, our BPF programs, marked processes.
state() {
	local d p
	for d in /tmp /var/tmp /dev/shm; do
		find "$d" -mindepth 1 -maxdepth 1 ! -path "$log*" -printf "file %p\n" 2>/dev/null
	done
	ip netns list 2>/dev/null | sed 's/^/netns /'
	find /var/run/wireguard /sys/fs/bpf -mindepth 1 -printf "file %p\n" 2>/dev/null
	ip -o link show 2>/dev/null | awk '{sub(/@.*/, "", $2); print "link " $2}'
	tc -s qdisc show 2>/dev/null | awk '/^qdisc (clsact|ingress)/ {print "qdisc " $2 " " $5}'
	bpftool prog show 2>/dev/null | sed -nE 's/^[0-9]+: .* name (mts_[a-z_0-9]+) .*/bpf-prog \1/p' | sort | uniq -c |
		awk '{print $2 " " $3 " x" $1}'
	local me=$BASHPID pid ppid st
	for p in /proc/[0-9]*; do
		pid=${p#/proc/}
		read -r st <"$p/stat" 2>/dev/null || continue
		st=(${st##*) })		# after "(comm)": state ppid ...
		ppid=${st[1]}
		# this runner and what it runs right now (this listing, sort)
		case " $$ $me " in *" $pid "* | *" $ppid "*) continue ;; esac
		{ tr '\0' '\n' <"$p/environ"; } 2>/dev/null | grep -qx "MTS_SUITE_MARK=$MTS_SUITE_MARK" &&
			echo "process $pid $(tr '\0' ' ' <"$p/cmdline" 2>/dev/null | cut -c1-120)"
	done
	return 0
}

run_suite() {
	local name=$1
	shift
	echo "== $name"
	"$@" 2>&1 | tee "$log"
	local rc=${PIPESTATUS[0]}
	local ok bad skip
	ok=$(grep -c '^ok ' "$log")
	skip=$(grep -cE '^ok .*# SKIP' "$log")
	bad=$(grep -c '^not ok ' "$log")
	# A suite that dies without reporting must not pass silently.
	if [ "$rc" != 0 ] && [ "$bad" = 0 ]; then
		echo "not ok $name (exited $rc without a failing test)"
		bad=1
	fi
	passed=$((passed + ok - skip))
	skipped=$((skipped + skip))
	failed=$((failed + bad))
}

# leftovers: what the suites added to the world (processes and programs
# may take a moment to go: wait a little before calling them left).
leftovers() {
	local extra
	for _ in $(seq 30); do
		state | sort >"$log.after"
		extra=$(comm -13 "$log.before" "$log.after")
		[ -z "$extra" ] && break
		sleep 0.2
	done
	if [ -z "$extra" ]; then
		echo "ok suite_leaves_nothing_behind"
		passed=$((passed + 1))
	else
		echo "not ok suite_leaves_nothing_behind: $(wc -l <<<"$extra") left:"
		sed 's/^/  /' <<<"$extra" | head -40
		failed=$((failed + 1))
	fi
}

# The sanitizer builds (make san): a finding aborts the binary, so the
# suite fails; a leak at exit too.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=86
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

state | sort >"$log.before"
run_suite unit build/test_correlator
run_suite unit-asan-ubsan build/san/test_correlator
run_suite fuzz bash tests/fuzz/run.sh

if [ "$(id -u)" != 0 ]; then
	echo "not ok bpf-and-lab-suites (need root for BPF and network namespaces; run: sudo make check)"
	failed=$((failed + 1))
else
	run_suite bpf build/test_bpf
	run_suite bpf-asan-ubsan build/san/test_bpf
	for t in tests/lab/t_*.sh; do
		[ -e "$t" ] || continue
		run_suite "$(basename "$t" .sh)" bash "$t"
	done
fi
leftovers

[ "$skipped" = 0 ] || echo "$skipped skipped (a tool missing: tools/deps.sh installs it)"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
