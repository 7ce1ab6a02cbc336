#!/bin/bash
# Each libFuzzer harness (make fuzz builds them) for FUZZ_S seconds, default
# 60, on a copy of its committed seed corpus (tests/fuzz/corpus/NAME): "ok
# fuzz_NAME" or "not ok fuzz_NAME: the finding", the input that found it
# kept as build/fuzz/findings/NAME-*. make check runs it as one suite.
set -uo pipefail
cd "$(dirname "$0")/../.."
S=${FUZZ_S:-60}
mkdir -p build/fuzz/findings
for h in feed pcap bpf text http; do
	bin=build/fuzz/fuzz_$h
	if [ ! -x "$bin" ]; then
		echo "not ok fuzz_$h: $bin is not built (make fuzz)"
		continue
	fi
	# The corpus copy grows with what the run finds; its log beside it.
	work=$(mktemp -d)
	mkdir "$work/corpus"
	log=$work/fuzz.log
	cp -r "tests/fuzz/corpus/$h/." "$work/corpus/"
	if "$bin" -max_total_time="$S" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="build/fuzz/findings/$h-" "$work/corpus" >"$log" 2>&1; then
		runs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+)/\1/p' "$log")
		echo "ok fuzz_$h (${runs:-?} inputs in $S s from $(ls "tests/fuzz/corpus/$h" | wc -l) seeds, no finding)"
	else
		echo "not ok fuzz_$h: $(grep -m1 -E 'ERROR|SUMMARY|deadly signal|timeout' "$log")"
		tail -40 "$log" | sed 's/^/  /'
	fi
	rm -rf "$work"
done
