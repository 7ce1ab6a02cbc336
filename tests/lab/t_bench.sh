#!/bin/bash
# t_bench.sh - the benchmark harness (tools/bench/run.sh, `make bench`) runs
# end to end in its quick mode and parses its own output: build it, run it
# with BENCH_QUICK=1 into a scratch directory (a full run's build/bench.json
# is left alone), then check the JSON (valid, the required keys are numbers,
# every section's rows are there, the numbers are sane for what they are), the
# printed tables, that nothing is left behind, and that it fails loudly (and
# cleanly) without root and on an error half-way. The numbers of a quick run
# mean nothing; only their presence and form are checked.
. "$(dirname "$0")/lib.sh"
need t_bench iperf3 tcpdump bpftool curl || exit 0

RUN=$ROOT/tools/bench/run.sh
OUTD=$TMP/out
ns_before=$(ip netns list | grep -c '^mtsbench-' || true)
stats_before=$(sysctl -n kernel.bpf_stats_enabled)

# --- build what `make bench` builds
if make -C "$ROOT" -s bench-tools >"$TMP/make.log" 2>&1; then
	ok bench-build
else
	fail bench-build "$(tail -5 "$TMP/make.log")"
	exit 1
fi

# --- the whole harness, quick
t0=$SECONDS
if BENCH_QUICK=1 BENCH_OUT_DIR=$OUTD "$RUN" >"$TMP/bench.out" 2>"$TMP/bench.err"; then
	ok "bench-quick-run ($((SECONDS - t0)) s)"
else
	fail bench-quick-run "exit $?: $(tail -5 "$TMP/bench.err")"
fi
J=$OUTD/bench.json

if jq -e 'type == "object"' "$J" >/dev/null 2>&1; then
	ok bench-json-valid
else
	fail bench-json-valid "$J is not one JSON object"
fi

# Required keys: present, and numbers.
required="added_ns_tcp_existing added_ns_other added_ns_new_flow throughput_ratio_single tcpdump_ratio_single
	throughput_ratio_multi tcpdump_ratio_multi throughput_ratio_udp_small tcpdump_ratio_udp_small
	daemon_cpu_pct_100k daemon_cpu_pct_100k_10x daemon_rss_kb_100k bytes_per_flow
	default_flow_capacity sweep_ms_100k scale_capacity scale_inserted scale_evicted
	scale_fill_at_first_eviction scale_flow_insert_failed scale_blackhole_verdicts duration_s
	startup_s_1 startup_s_64 attach_ms_per_iface throughput_ratio_vs_empty_single
	throughput_ratio_vs_empty_multi throughput_ratio_vs_empty_udp_small live_ns_over_empty_tcp
	live_ns_over_empty_udp_small startup_s_1_tc startup_s_64_tc attach_ms_per_iface_tc
	attach_ms_runtime daemon_cpu_pct_big daemon_cpu_pct_big_10x bytes_per_flow_big count_ms_big sweep_ms_big
	ifaces_ns_per_run_one_busy ifaces_ns_per_run_all_busy ifaces_cost_ratio_all_vs_one daemon_cpu_pct_empty"
bad=
for k in $required; do
	jq -e --arg k "$k" '.[$k] | type == "number"' "$J" >/dev/null 2>&1 || bad="$bad $k"
done
if [ -z "$bad" ]; then ok bench-json-keys; else fail bench-json-keys "not numbers:$bad"; fi

# Every section's full rows, numbers where numbers belong.
bad=
for a in bpf_rows corr_rows live_rows throughput_rows daemon_rows big_rows ifaces_rows scale_samples; do
	jq -e --arg a "$a" '.[$a] | type == "array" and length > 0' "$J" >/dev/null 2>&1 || bad="$bad $a"
done
jq -e '[.bpf_rows[].added_ns, .corr_rows[].flows_per_s, .live_rows[].runs,
	.throughput_rows[].value, .daemon_rows[].cpu_pct_stat, .daemon_rows[].rss_kb,
	.scale_samples[].entries] | all(type == "number")' "$J" >/dev/null 2>&1 || bad="$bad row-values"
if [ -z "$bad" ]; then ok bench-json-rows; else fail bench-json-rows "missing or malformed:$bad"; fi

# Sane for what they are, even in a quick run.
why=$(jq -r '
	[ (if .default_flow_capacity != 262144 then "default_flow_capacity \(.default_flow_capacity)" else empty end),
	  (if .bytes_per_flow <= 0 or .bytes_per_flow > 4096 then "bytes_per_flow \(.bytes_per_flow)" else empty end),
	  (if .scale_evicted <= 0 then "no eviction in a table churned 4x over" else empty end),
	  (if .scale_fill_at_first_eviction <= 0 or .scale_fill_at_first_eviction > 1 then "fill \(.scale_fill_at_first_eviction)" else empty end),
	  (if .scale_blackhole_verdicts != 0 then "\(.scale_blackhole_verdicts) false blackhole verdicts" else empty end),
	  (if .live_stats_off_after_window != true then "BPF stats left on" else empty end),
	  (if (.verifier_insns | type) != "object" or (.verifier_insns | length) != 2 then "verifier figures \(.verifier_insns)" else empty end),
	  # Deterministic, not timed: each walk (VLAN tags, IPv6 headers, TCP
	  # options) leaves one state, so a program costs the verifier far
	  # under its limit (both were 390k-540k before).
	  (if (.verifier_insns // {} | to_entries | map(select(.value > 200000)) | length) > 0 then "verifier work \(.verifier_insns)" else empty end),
	  (if .attach_ms_runtime <= 0 then "attach_ms_runtime \(.attach_ms_runtime)" else empty end),
	  (if ([.live_rows[] | select(.workload == "single" and .runs > 0)] | length) < 4 then "a program never ran" else empty end),
	  (if .throughput_ratio_single <= 0 or .tcpdump_ratio_single <= 0 then "ratios" else empty end),
	  (if [.daemon_rows[] | select(.row | endswith("suspect")) | .flows_under_watch] | max < 1 then "the resending flows never came under watch" else empty end),
	  # The profile found the four programs and mapped TCP samples into them.
	  (if ([.profile[]? | select(.workload == "single") | .programs[] | select(.samples > 0 and (.lines | length) > 0)] | length) < 4
	   then "profile: samples in fewer than 4 programs" else empty end)
	] | join("; ")' "$J" 2>&1)
if [ -z "$why" ]; then ok bench-json-sane; else fail bench-json-sane "$why"; fi

# The tables, each with its method.
bad=
for h in "BPF programs per packet" "Correlator throughput" "Live cost" "Where the live cost goes" "Throughput over a veth" \
	"Daemon with" "Flow table full" "Summary"; do
	grep -q "^=== $h" "$TMP/bench.out" || bad="$bad '$h'"
done
[ "$(grep -c '^method: ' "$TMP/bench.out")" -ge 8 ] || bad="$bad method-lines"
grep -q 'ratio' "$TMP/bench.out" || bad="$bad ratio-column"
if [ -z "$bad" ]; then ok bench-tables; else fail bench-tables "missing:$bad"; fi

# Nothing left behind.
left=
[ "$(ip netns list | grep -c '^mtsbench-' || true)" = "$ns_before" ] || left="$left namespaces"
[ "$(sysctl -n kernel.bpf_stats_enabled)" = "$stats_before" ] || left="$left bpf_stats_enabled"
bpftool prog show -j 2>/dev/null | jq -e '[.[] | select(.name == "mts_ingress" or .name == "mts_egress")] | length == 0' \
	>/dev/null || left="$left mtuscope-programs"
if [ -z "$left" ]; then ok bench-cleanup; else fail bench-cleanup "left:$left"; fi

# Fails loudly without root, and cleans up after a failure half-way. Run
# as nobody from a copy nobody can reach: the checkout may sit in a
# directory only root can enter (a clone under mktemp -d).
chmod 711 "$TMP"
install -m 755 "$RUN" "$TMP/run.sh"
if ! need_nonroot bench-needs-root; then
	:
elif setpriv --reuid=65534 --regid=65534 --clear-groups "$TMP/run.sh" >"$TMP/nonroot.out" 2>&1; then
	fail bench-needs-root "exited 0 as nobody"
elif grep -q 'needs root' "$TMP/nonroot.out"; then
	ok bench-needs-root
else
	fail bench-needs-root "no reason given: $(head -c 200 "$TMP/nonroot.out")"
fi
if BENCH_QUICK=1 BENCH_OUT_DIR=$TMP/out2 BENCH_SECTIONS="live nosuch" "$RUN" \
	>"$TMP/fail.out" 2>&1; then
	fail bench-fails-cleanly "a bad section did not fail"
elif ! grep -q 'FAILED' "$TMP/fail.out"; then
	fail bench-fails-cleanly "no FAILED line: $(tail -2 "$TMP/fail.out")"
elif [ "$(ip netns list | grep -c '^mtsbench-' || true)" != "$ns_before" ]; then
	fail bench-fails-cleanly "namespaces left after the failure"
elif [ -e "$TMP/out2/bench.json" ]; then
	fail bench-fails-cleanly "wrote bench.json although it failed"
else
	ok bench-fails-cleanly
fi
