#!/bin/bash
# run.sh - `make bench`: what mtuscope costs, measured side by side in one run.
#
#   sudo make bench                 # full run, about 20 minutes
#   sudo BENCH_QUICK=1 make bench   # every section shrunk: a smoke test
#   BENCH_SECTIONS="corr daemon"    # only these sections (default: all, in order)
#   BENCH_ROUNDS=N BENCH_IPERF_S=S  # throughput rounds and seconds per iperf3 run
#   BENCH_LIVE_ROUNDS=N             # live-cost rounds
#
# Sections (one function each, in this order):
#   bpf         per-packet cost of the tc programs (build/bench_bpf, BPF_PROG_TEST_RUN)
#   startup     exec to the start event on 1, 16 and 64 interfaces; the verifier's figures
#   ifaces      64 interfaces attached at once, traffic on one pair vs on all: ns per run
#   corr        correlator throughput, flow records judged per second (build/bench_corr)
#   live        ns per run of the attached programs while iperf3 runs (BPF run-time stats)
#   profile     perf samples inside the programs while iperf3 runs, by source line (build/jit_prof)
#   throughput  iperf3 TCP 1 stream, TCP 4 streams, UDP 64-byte datagrams; nothing attached
#               vs mtuscope vs tcpdump, interleaved rounds, medians and ratios
#   daemon      the daemon's CPU and RSS with 100k live flows (build/bench_gen), kernel
#               memory per flow, one full sweep of the flow table (build/bench_sweep)
#   big         the same with 1M live flows in a 1,048,576-slot table (--flows): daemon
#               CPU, the whole table counted and swept, kernel bytes per flow
#   scale       a 16384-flow table churned by 100k new flows (clients numbered in order,
#               then scattered): the fill at the first eviction and after, the counters,
#               and no false verdict for a real transfer running meanwhile
#
# Every table prints its method beside its numbers. Everything goes into one JSON
# object, build/bench.json (BENCH_OUT_DIR=DIR writes DIR/bench.json and
# DIR/bench_bpf.json instead). Traffic stays inside two network namespaces this
# script creates (veth, 192.0.2.0/24; generated flows from 198.18.0.0/15 towards
# 203.0.113.2, dropped by the peer as addressed to another host). Everything it
# starts or creates is removed on exit, failure or Ctrl-C included. Needs root.
set -Eeuo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
B=$ROOT/build
MTS=${BENCH_MTS:-$B/mtuscope}		# BENCH_MTS: another build, for an A/B run
OUT_DIR=${BENCH_OUT_DIR:-$B}
OUT=$OUT_DIR/bench.json
QUICK=${BENCH_QUICK:-0}
SECTIONS=${BENCH_SECTIONS:-bpf startup ifaces corr live profile throughput daemon big scale}
LAB_IS_UP=

if [ "$QUICK" = 1 ]; then
	ROUNDS=1 IPERF_S=1 CORR_SIZES="1000" NFLOWS=1000 CPU_WINDOW_S=1 SWEEP_ROUNDS=2
	SCALE_CAP=1024 SCALE_CHURN=4096 SCALE_STEP=32 SCALE_RATE=4000 LIVE_S=1 LIVE_ROUNDS=2 SUSPECT_EVERY=0.3 PROFILE_S=1
	BIG_SLOTS=16384 BIG_FLOWS=15000 IFACES_ROUNDS=1 IFACES_S=1 IFACES_RATE=20000
else
	ROUNDS=21 IPERF_S=3 CORR_SIZES="10000 100000 1000000" NFLOWS=100000 CPU_WINDOW_S=10
	SWEEP_ROUNDS=5 SCALE_CAP=16384 SCALE_CHURN=100000 SCALE_STEP=128 SCALE_RATE=20000 LIVE_S=3 LIVE_ROUNDS=6
	BIG_SLOTS=1048576 BIG_FLOWS=1000000 IFACES_ROUNDS=5 IFACES_S=3 IFACES_RATE=100000
	SUSPECT_EVERY=1 PROFILE_S=8
fi
ROUNDS=${BENCH_ROUNDS:-$ROUNDS} IPERF_S=${BENCH_IPERF_S:-$IPERF_S} LIVE_ROUNDS=${BENCH_LIVE_ROUNDS:-$LIVE_ROUNDS}
GEN_RATE_1X=25000		# daemon section: packets/s at "1x"; 10x is ten times that
GEN_SUSPECT=100			# ... and flows resending one large segment in the "suspect" rows

NS_A=mtsbench-$$-a NS_B=mtsbench-$$-b NS_S=
IF_A=mtsba IF_B=mtsbb
IP_A=192.0.2.1 IP_B=192.0.2.2
TMP=
PIDS=()				# everything started in the background, by pid
WG_SOCKS=()			# wireguard-go's control sockets (shared by every namespace)
T_START=$SECONDS

# ------------------------------------------------------------------ helpers

say() { printf '%s\n' "$*"; }
die() { echo "bench: FAILED: $*" >&2; exit 1; }
nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
# Section header: the name, then the method.
section() { printf '\n=== %s\n%s\n' "$1" "$2"; }

vdso_copies() { find /tmp -maxdepth 1 -name 'perf-vdso.so-*' 2>/dev/null | sort; }
vdso_forget() {
	[ -n "${VDSO_BEFORE+x}" ] || return 0
	comm -13 <(echo "$VDSO_BEFORE") <(vdso_copies) | xargs -r rm -f
	unset VDSO_BEFORE
}

cleanup() {
	local rc=$? p
	trap - EXIT INT TERM ERR
	vdso_forget
	for p in "${PIDS[@]}"; do kill -INT "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do
		for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
		kill -KILL "$p" 2>/dev/null || true
	done
	for ns in "$NS_A" "$NS_B" "${NS_S:-}"; do
		[ -n "$ns" ] || continue
		{ ip netns pids "$ns" 2>/dev/null || true; } | while read -r p; do kill -KILL "$p" 2>/dev/null || true; done
		ip netns del "$ns" 2>/dev/null || true
	done
	rm -f "${WG_SOCKS[@]}"
	[ -n "$TMP" ] && rm -rf "$TMP"
	if [ "$rc" != 0 ]; then
		echo "bench: stopped with status $rc; namespaces and processes removed" >&2
	fi
	exit "$rc"
}

on_err() { echo "bench: FAILED: line $1: $2 (exit $3)" >&2; }

# Start in the background, remember the pid (for cleanup).
bg() { "$@" & PIDS+=("$!"); }
# Stop one background process (SIGINT, as a user would; then TERM, KILL) and forget it.
bg_stop() {
	local p=$1 sig i
	for sig in INT TERM KILL; do
		kill -"$sig" "$p" 2>/dev/null || break
		for ((i = 0; i < 50; i++)); do
			kill -0 "$p" 2>/dev/null || break 2
			sleep 0.1
		done
	done
	wait "$p" 2>/dev/null || true
	bg_forget "$p"
}
bg_forget() { local keep=() q; for q in "${PIDS[@]}"; do [ "$q" = "$1" ] || keep+=("$q"); done; PIDS=("${keep[@]}"); }

# Add keys to the result: part NAME JSON_OBJECT
part() { printf '%s\n' "$2" >"$TMP/part.$1.json"; }

# Ids of the BPF programs or maps a process holds: bpf_ids PID prog|map
bpf_ids() { grep -h "^$2_id:" /proc/"$1"/fdinfo/* 2>/dev/null | awk '{print $2}' | sort -un; }
# The id of the map named NAME a process holds.
map_id_of() {	# PID NAME
	local id
	for id in $(bpf_ids "$1" map); do
		if [ "$(bpftool map show id "$id" -j | jq -r .name)" = "$2" ]; then echo "$id"; return 0; fi
	done
	return 1
}

# mtuscope watch --json in a namespace: watch_launch starts it (sets WPID),
# watch_ready waits until it has attached (its "start" line).
watch_launch() {	# NS IFACE|"" (discovery) OUTFILE [watch options]
	local ns=$1 ifc=$2 out=$3
	shift 3
	bg ip netns exec "$ns" "$MTS" watch --json "$@" ${ifc:+"$ifc"} >"$out" 2>"$out.err"
	WPID=${PIDS[-1]}
}
watch_ready() {	# PID OUTFILE
	for _ in $(seq 400); do
		grep -q '"event":"start"' "$2" 2>/dev/null && return 0
		kill -0 "$1" 2>/dev/null || break
		sleep 0.05
	done
	die "mtuscope watch did not start: $(head -c 400 "$2.err")"
}
watch_start() {	# NS IFACE OUTFILE [watch options]; sets WPID
	watch_launch "$@"
	watch_ready "$WPID" "$3"
}

# tcpdump writing every packet to /dev/null; sets TPID once it captures.
tcpdump_start() {	# NS IFACE
	local err=$TMP/tcpdump.$1.$2.err
	bg ip netns exec "$1" tcpdump -i "$2" -n -w /dev/null 2>"$err"
	TPID=${PIDS[-1]}
	for _ in $(seq 200); do
		grep -q 'listening on' "$err" 2>/dev/null && return 0
		kill -0 "$TPID" 2>/dev/null || break
		sleep 0.05
	done
	die "tcpdump on $2 did not start: $(head -c 300 "$err")"
}

# The empty-program floor (build/empty_tc) on both hooks; sets EPID.
empty_start() {	# NS IFACE [before|after: its place beside other TCX programs]
	local out=$TMP/empty.$1.$2 first=()
	[ "${3:-after}" = before ] && first=(--first)
	bg ip netns exec "$1" "$B/empty_tc" "${first[@]}" "$2" >"$out" 2>"$out.err"
	EPID=${PIDS[-1]}
	for _ in $(seq 200); do
		grep -q ready "$out" 2>/dev/null && return 0
		kill -0 "$EPID" 2>/dev/null || break
		sleep 0.05
	done
	die "empty_tc on $2 did not start: $(head -c 300 "$out.err")"
}

# --------------------------------------------------------------------- lab

# Two namespaces joined by one veth pair; an iperf3 server in B.
lab_up() {
	ip netns add "$NS_A"
	ip netns add "$NS_B"
	ip link add "$IF_A" netns "$NS_A" type veth peer name "$IF_B" netns "$NS_B"
	nsx "$NS_A" ip addr add "$IP_A/24" dev "$IF_A"
	nsx "$NS_B" ip addr add "$IP_B/24" dev "$IF_B"
	for ns in "$NS_A" "$NS_B"; do
		nsx "$ns" ip link set lo up
	done
	nsx "$NS_A" ip link set "$IF_A" up
	nsx "$NS_B" ip link set "$IF_B" up
	bg ip netns exec "$NS_B" iperf3 -s -B "$IP_B" >"$TMP/iperf3-server.log" 2>&1
	for _ in $(seq 100); do
		nsx "$NS_B" ss -ltn 2>/dev/null | grep -q "$IP_B:5201" && break
		sleep 0.05
	done
	nsx "$NS_A" ping -c 1 -W 2 "$IP_B" >/dev/null || die "the lab's veth does not pass traffic"
	LAB_IS_UP=1
}

# One iperf3 run from A to B; prints "VALUE LOSS_PCT" (Gbit/s received for TCP,
# datagrams/s received for UDP).
iperf_run() {	# single|multi|udp SECONDS
	local j=$TMP/iperf.json args=()
	# Fixed placement (this VM's throughput swings with it): TCP client and
	# server both on CPU 0, which then also carries both veth ends' softirq
	# work and tc programs, so one core's capacity is measured; UDP sender on
	# CPU 0, receiver on CPU 1 (on one CPU the receiver starves).
	case $1 in
	single) args=(-A "0,0") ;;
	multi) args=(-A "0,0" -P 4) ;;
	udp) args=(-A "0,1" -u -l 64 -b 0) ;;
	esac
	nsx "$NS_A" iperf3 -c "$IP_B" -t "$2" -J "${args[@]}" >"$j" 2>&1 ||
		die "iperf3 $1 failed: $(jq -r '.error // empty' "$j" 2>/dev/null || head -c 300 "$j")"
	if [ "$1" = udp ]; then
		jq -r '.end.sum | "\((.packets - .lost_packets) / .seconds) \(.lost_percent)"' "$j"
	else
		jq -r '"\(.end.sum_received.bits_per_second / 1e9) 0"' "$j"
	fi
}

# ------------------------------------------------------------- 1. BPF rows

section_bpf() {
	section "BPF programs per packet" \
		"method: build/bench_bpf (BPF_PROG_TEST_RUN vs an empty tc program, best of runs; its own table)"
	"$B/bench_bpf" --json "$OUT_DIR/bench_bpf.json" || die "bench_bpf failed"
	jq -e 'has("added_ns_tcp_existing") and has("added_ns_other") and has("bpf_rows")' \
		"$OUT_DIR/bench_bpf.json" >/dev/null || die "bench_bpf.json lacks its keys"
	cp "$OUT_DIR/bench_bpf.json" "$TMP/part.bpf.json"
}

# ------------------------------------------------------- 1b. start-up

# Seconds from exec to the `start` event of a watch on the first N of the
# startup namespace's interfaces.
# NS_S: a namespace of N veth pairs suK <-> svK, all up.
veth_ns() {	# N
	local n
	NS_S=mtsbench-$$-s
	ip netns add "$NS_S"
	for ((n = 0; n < $1; n++)); do
		ip -n "$NS_S" link add "su$n" type veth peer name "sv$n"
		ip -n "$NS_S" link set "su$n" up
		ip -n "$NS_S" link set "sv$n" up
	done
}

startup_once() {	# N HOOK: prints the seconds to start, then the median attach_ms
	local ifs t0 st out=$TMP/startup.json
	ifs=$(ip -n "$NS_S" -o link show type veth | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' |
		sort -V | head -"$1" | tr '\n' ' ')
	t0=$(date +%s.%N)
	# shellcheck disable=SC2086
	ip netns exec "$NS_S" "$MTS" watch --json --hook "$2" -d 0.05 $ifs >"$out" 2>"$out.err" ||
		die "watch on $1 interfaces failed: $(head -c 300 "$out.err")"
	st=$(jq -r 'select(.event == "start") | .ts' "$out")
	[ -n "$st" ] || die "watch on $1 interfaces printed no start"
	jq -r --arg t0 "$t0" 'select(.event == "start")
		| [(.ts - ($t0 | tonumber)), (.ifaces | map(.attach_ms) | sort | .[length / 2 | floor])]
		| @tsv' "$out"
}

# A WireGuard interface (wireguard-go) in the start-up namespace.
wg_iface() {	# NAME
	bg ip netns exec "$NS_S" env WG_PROCESS_FOREGROUND=1 wireguard-go "$1"
	WG_SOCKS+=("/var/run/wireguard/$1.sock")
	for _ in $(seq 100); do
		[ -S "/var/run/wireguard/$1.sock" ] && ip -n "$NS_S" link set "$1" up 2>/dev/null && return 0
		sleep 0.05
	done
	die "wireguard-go $1 did not come up"
}

# Tunnels created while watch runs (discovery): the attach_ms of each one's
# attach event, one per line.
startup_runtime() {	# COUNT
	local out=$TMP/runtime.json i name base=mtsw$$
	wg_iface "${base}x"
	watch_launch "$NS_S" "" "$out" --hook tcx
	watch_ready "$WPID" "$out"
	for ((i = 0; i < $1; i++)); do
		name=$base$i
		wg_iface "$name"
		for _ in $(seq 300); do
			jq -e --arg n "$name" 'select(.event == "attach" and .iface == $n)' "$out" \
				>/dev/null 2>&1 && break
			sleep 0.05
		done
		jq -r --arg n "$name" 'select(.event == "attach" and .iface == $n) | .attach_ms' "$out" |
			grep . || die "$name was not attached while watch ran: $(head -c 300 "$out.err")"
	done
	bg_stop "$WPID"
}

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'; }

section_startup() {
	local reps=5 runtime=5 n hook med rows=$TMP/startup.rows
	[ "$QUICK" = 1 ] && reps=1 runtime=1
	section "Start-up" \
		"method: mtuscope watch --json -d 0.05 on 1, 16 and 64 veth interfaces of one namespace, TCX (the default) and --hook tc, exec to its start event (programs loaded and verified once, every interface attached), median of $reps; attach ms = the start event's attach_ms (registering + attaching one interface, no load), median over the interfaces of the median run; at run time = the attach event's attach_ms of $runtime WireGuard interfaces (wireguard-go) created one by one while watch runs with discovery (TCX); verifier figures from --verbose"
	veth_ns 32
	: >"$rows"
	for hook in tcx tc; do
		for n in 1 16 64; do
			[ "$hook" = tc ] && [ "$n" = 16 ] && continue
			for ((i = 0; i < reps; i++)); do startup_once "$n" "$hook"; done |
				sort -n | awk '{ v[NR] = $0 } END { print v[int((NR + 1) / 2)] }' >"$TMP/med"
			read -r med ams <"$TMP/med"
			printf '%-26s %8.3f s   attach %6.2f ms an interface   %s\n' "$n interface(s), $hook" \
				"$med" "$ams" "median of $reps"
			printf '%s\t%s\t%s\t%s\n' "$hook" "$n" "$med" "$ams" >>"$rows"
		done
	done
	startup_runtime "$runtime" >"$TMP/runtime.ms"
	printf '%-26s %8.2f ms   %s\n' "attach at run time" "$(median <"$TMP/runtime.ms")" \
		"median of $runtime tunnels found by discovery (TCX)"
	ip netns exec "$NS_S" "$MTS" watch --verbose -d 0.05 su0 2>&1 >/dev/null |
		awk '/ verified: / { sub(/^mtuscope: /, ""); print }' >"$TMP/verifier.txt"
	sed 's/^/  /' "$TMP/verifier.txt"
	ip netns del "$NS_S"
	part startup "$(jq -R -s -c --rawfile v "$TMP/verifier.txt" --rawfile rt "$TMP/runtime.ms" '
		split("\n") | map(select(length > 0) | split("\t")
			| {key: "\(.[0])_\(.[1])", value: {s: (.[2] | tonumber), ms: (.[3] | tonumber)}})
		| from_entries as $r
		| ($rt | split("\n") | map(select(length > 0) | tonumber) | sort) as $rts
		| {startup_s_1: $r.tcx_1.s, startup_s_16: $r.tcx_16.s, startup_s_64: $r.tcx_64.s,
		   startup_s_1_tc: $r.tc_1.s, startup_s_64_tc: $r.tc_64.s,
		   attach_ms_per_iface: $r.tcx_64.ms, attach_ms_per_iface_tc: $r.tc_64.ms,
		   attach_ms_runtime: $rts[($rts | length - 1) / 2 | floor], attach_ms_runtime_all: $rts,
		   verifier: ($v | split("\n") | map(select(length > 0))),
		   verifier_insns: ($v | [scan("(mts_[a-z]+) verified: ([0-9]+) instructions processed, ([0-9.]+) ms")]
			| map({(.[0]): (.[1] | tonumber)}) | add),
		   verifier_ms: ($v | [scan("(mts_[a-z]+) verified: ([0-9]+) instructions processed, ([0-9.]+) ms")]
			| map({(.[0]): (.[2] | tonumber)}) | add),
		   startup_method: "exec to the start event of watch --json on N veths (TCX, and --hook tc), median; attach_ms from the start event (median interface) and, at run time, from the attach events of tunnels discovery found"}' "$rows")"
}

# --------------------------------------------- 1c. many interfaces under traffic

# BPF run-time statistics of one watch's two programs over a bench_gen window:
# "ns_per_run runs" for the egress and ingress programs together.
ifaces_window() {	# PID bench_gen args...
	local pid=$1 before=$TMP/ifw.before.json after=$TMP/ifw.after.json ids
	shift
	ids=$(bpf_ids "$pid" prog | paste -sd, -)
	"$B/stats_on" bash -c 'b=$1 a=$2; shift 2; bpftool prog show -j >"$b"
		"$@" >/dev/null; rc=$?; bpftool prog show -j >"$a"; exit $rc' \
		window "$before" "$after" ip netns exec "$NS_S" "$B/bench_gen" "$@" ||
		die "bench_gen window failed"
	jq -r -n --slurpfile b "$before" --slurpfile a "$after" --arg ids "$ids" '
		($ids | split(",") | map(tonumber)) as $want
		| [$a[0][] | select(.id as $i | $want | index($i)) | select(.name | startswith("mts_"))] as $x
		| [$b[0][] | select(.id as $i | $want | index($i)) | select(.name | startswith("mts_"))] as $y
		| (($x | map(.run_cnt // 0) | add) - ($y | map(.run_cnt // 0) | add)) as $n
		| (($x | map(.run_time_ns // 0) | add) - ($y | map(.run_time_ns // 0) | add)) as $t
		| "\(if $n > 0 then $t / $n else 0 end) \($n)"'
}

section_ifaces() {
	local pairs=32 rate=$IFACES_RATE secs=$IFACES_S out=$TMP/ifaces.json r one many row rows=$TMP/ifaces.rows
	local one_if=(--if su0) many_if=()
	section "$((pairs * 2)) interfaces attached, traffic on all of them" \
		"method: one watch on $((pairs * 2)) veth ends ($pairs pairs of one namespace, TCX); build/bench_gen sends TCP data segments of 256 flows at $rate packets/s for $secs s out of su0 only (1 pair busy), then spread over all $pairs pairs (flow i out of su(i mod $pairs)): egress runs at su*, ingress at its peer sv*; ns per run = run_time_ns / run_cnt of both programs over the window (BPF run-time stats on for it only); $IFACES_ROUNDS rounds of the two, alternating, medians"
	veth_ns "$pairs"
	for ((n = 0; n < pairs; n++)); do many_if+=(--if "su$n"); done
	# shellcheck disable=SC2046
	watch_launch "$NS_S" "" "$out" $(for ((n = 0; n < pairs; n++)); do echo "su$n sv$n"; done)
	watch_ready "$WPID" "$out"
	: >"$rows"
	for ((r = 1; r <= IFACES_ROUNDS; r++)); do
		one=$(ifaces_window "$WPID" "${one_if[@]}" --flows 256 --rate "$rate" --duration "$secs")
		many=$(ifaces_window "$WPID" "${many_if[@]}" --flows 256 --rate "$rate" --duration "$secs")
		printf '%s %s %s\n' "$r" "$one" "$many" >>"$rows"
		read -r _ a an b bn <<<"$r $one $many"
		printf 'round %-3s 1 pair busy: %7.1f ns/run (%s runs)   %s pairs busy: %7.1f ns/run (%s runs)\n' \
			"$r" "$a" "$an" "$pairs" "$b" "$bn"
	done
	bg_stop "$WPID"
	ip netns del "$NS_S"
	NS_S=
	part ifaces "$(jq -R -s -c --argjson n "$((pairs * 2))" '
		def median: sort | if length == 0 then null elif length % 2 == 1 then .[length / 2 | floor]
			else (.[length / 2 - 1] + .[length / 2]) / 2 end;
		split("\n") | map(select(length > 0) | split(" ") | map(tonumber))
		| {ifaces_attached: $n, ifaces_rows: map({round: .[0], one_ns_per_run: .[1], one_runs: .[2],
			all_ns_per_run: .[3], all_runs: .[4]}),
		   ifaces_ns_per_run_one_busy: (map(.[1]) | median),
		   ifaces_ns_per_run_all_busy: (map(.[3]) | median),
		   ifaces_cost_ratio_all_vs_one: (map(.[3] / .[1]) | median),
		   ifaces_method: "one watch on N veth ends; bench_gen TCP segments out of one pair, then over all pairs; run_time_ns/run_cnt of both programs, median of rounds"}' "$rows")"
	say "$(jq -r '"median ns/run: 1 pair busy \(.ifaces_ns_per_run_one_busy * 10 | round / 10), all busy \(.ifaces_ns_per_run_all_busy * 10 | round / 10), ratio \(.ifaces_cost_ratio_all_vs_one * 1000 | round / 1000)"' "$TMP/part.ifaces.json")"
}

# ------------------------------------------------------- 4a. correlator

section_corr() {
	section "Correlator throughput" \
		"method: build/bench_corr, mts_assess() over N synthetic records in memory, fastest pass"
	# shellcheck disable=SC2086
	"$B/bench_corr" --json "$TMP/corr.json" $CORR_SIZES || die "bench_corr failed"
	part corr "$(jq -c '{corr_rows: .corr_rows,
		corr_flows_per_s: (.corr_rows | map({(.flows | tostring): .flows_per_s}) | add)}' \
		"$TMP/corr.json")"
}

# ------------------------------------------------------- 2. live cost

# Program ids of one watch process, labelled "IFACE ingress|egress".
label_progs() {	# PID IFACE
	local id name
	for id in $(bpf_ids "$1" prog); do
		name=$(bpftool prog show id "$id" -j | jq -r .name)
		case $name in
		mts_ingress) echo "$id $2 ingress mtuscope" ;;
		mts_egress) echo "$id $2 egress mtuscope" ;;
		esac
	done
}

# One window per workload of traffic with BPF run-time statistics on: a
# row per labelled program (LABELS: "id iface hook setup" lines) into live.rows.
live_windows() {	# LABELS ROUND ORDER
	local w before=$TMP/progs.before.json after=$TMP/progs.after.json id ifc hook set
	for w in single udp; do
		local args=(-t "$LIVE_S")
		[ "$w" = udp ] && args+=(-u -l 64 -b 0)
		# The window: snapshot, traffic, snapshot, all inside stats_on.
		"$B/stats_on" bash -c 'b=$1 a=$2; shift 2; bpftool prog show -j >"$b"
			"$@" >/dev/null; rc=$?; bpftool prog show -j >"$a"; exit $rc' \
			window "$before" "$after" ip netns exec "$NS_A" iperf3 -c "$IP_B" -J "${args[@]}" ||
			die "live window (round $2, $w) failed"
		while read -r id ifc hook set; do
			jq -r --argjson id "$id" --arg w "$w" --arg i "$ifc" --arg h "$hook" --arg set "$set" \
				--argjson s "$LIVE_S" --argjson r "$2" --arg o "$3" --slurpfile a "$after" '
				(.[] | select(.id == $id)) as $b
				| ($a[0][] | select(.id == $id)) as $x
				| (($x.run_cnt // 0) - ($b.run_cnt // 0)) as $n
				| (($x.run_time_ns // 0) - ($b.run_time_ns // 0)) as $t
				| {setup: $set, round: $r, empty_order: $o, workload: $w, iface: $i, hook: $h,
				   prog_id: $id, runs: $n, runs_per_s: ($n / $s), run_time_ns: $t,
				   ns_per_run: (if $n > 0 then $t / $n else null end),
				   method: "run_time_ns/run_cnt delta over the iperf3 window, stats on via BPF_ENABLE_STATS"}' \
				"$before" >>"$TMP/live.rows"
		done <"$1"
	done
}

section_live() {
	section "Live cost of the attached programs" \
		"method: mtuscope and an empty tc program (build/empty_tc: one program, both hooks) attached together on the same TCX hooks, so both run on the very same skbs in the same window; run_time_ns/run_cnt deltas (bpftool prog show -j) over one iperf3 run per workload, BPF run-time stats on only for that window (BPF_ENABLE_STATS fd held by build/stats_on); one run = one skb (a GSO/GRO skb carries many wire packets); $LIVE_ROUNDS rounds, the empty program after mtuscope in odd rounds and before it in even ones (whichever runs second finds warmer caches); over empty = per round, mtuscope's ns/run over all its hooks minus the empty program's, median of the rounds"
	local wa wb ea eb labels=$TMP/labels sysctl0 sysctl1 id r order
	sysctl0=$(sysctl -n kernel.bpf_stats_enabled)
	watch_start "$NS_A" "$IF_A" "$TMP/live.a.json"
	wa=$WPID
	watch_start "$NS_B" "$IF_B" "$TMP/live.b.json"
	wb=$WPID
	: >"$TMP/live.rows"
	for ((r = 1; r <= LIVE_ROUNDS; r++)); do
		order=after
		((r % 2)) || order=before
		empty_start "$NS_A" "$IF_A" "$order"
		ea=$EPID
		empty_start "$NS_B" "$IF_B" "$order"
		eb=$EPID
		{
			label_progs "$wa" "$IF_A"
			label_progs "$wb" "$IF_B"
			for id in $(bpf_ids "$ea" prog); do echo "$id $IF_A both empty"; done
			for id in $(bpf_ids "$eb" prog); do echo "$id $IF_B both empty"; done
		} >"$labels"
		[ "$(grep -c ' mtuscope$' "$labels")" = 4 ] && [ "$(grep -c ' empty$' "$labels")" = 2 ] ||
			die "expected 4 mtuscope and 2 empty programs, found: $(cat "$labels")"
		live_windows "$labels" "$r" "$order"
		bg_stop "$ea"
		bg_stop "$eb"
	done
	bg_stop "$wa"
	bg_stop "$wb"

	printf '%-5s %-9s %-7s %-11s %-7s %-8s %10s %10s %8s   %s\n' round setup empty workload iface hook runs runs/s ns/run method
	jq -r '[.round, .setup, .empty_order, .workload, .iface, .hook, .runs, (.runs_per_s | floor),
		(if .ns_per_run then (.ns_per_run * 10 | round / 10) else "n/a" end)]
		| @tsv' "$TMP/live.rows" |
		while IFS=$'\t' read -r r set o w i h n rs ns; do
			printf '%-5s %-9s %-7s %-11s %-7s %-8s %10s %10s %8s   %s\n' "$r" "$set" "$o" "$w" "$i" "$h" "$n" "$rs" "$ns" \
				"run_time_ns/run_cnt, stats on for the window only"
		done
	# The statistics must be off again, and the sysctl untouched.
	sysctl1=$(sysctl -n kernel.bpf_stats_enabled)
	[ "$sysctl0" = "$sysctl1" ] || die "kernel.bpf_stats_enabled changed ($sysctl0 -> $sysctl1)"
	local c0 c1
	c0=$(bpftool prog show -j | jq "[.[] | .run_cnt // 0] | add // 0")
	nsx "$NS_A" ping -c 3 -i 0.05 -q "$IP_B" >/dev/null
	c1=$(bpftool prog show -j | jq "[.[] | .run_cnt // 0] | add // 0")
	local off=true
	[ "$sysctl0" = 0 ] && [ "$c0" != "$c1" ] && off=false
	say "stats off again after the window: $off (kernel.bpf_stats_enabled stayed $sysctl0)"
	part live "$(jq -s -c --argjson off "$off" '
		def median: sort | if length == 0 then null elif length % 2 == 1 then .[length / 2 | floor]
			else (.[length / 2 - 1] + .[length / 2]) / 2 end;
		def per($rows; $s): $rows | map(select(.setup == $s))
			| ((map(.run_time_ns) | add) / ((map(.runs) | add) | if . > 0 then . else null end));
		def rounds($w): map(select(.workload == $w)) | group_by(.round)
			| map({m: per(.; "mtuscope"), e: per(.; "empty")});
		(map(select(.setup == "mtuscope"))) as $m
		| (rounds("single")) as $tcp | (rounds("udp")) as $udp
		| {live_rows: ., live_rounds: ($tcp | length),
		live_ns_per_run_single: ($m | map(select(.workload == "single")) | group_by("\(.iface)_\(.hook)")
			| map({("\(.[0].iface)_\(.[0].hook)"): per(.; "mtuscope")}) | add),
		live_ns_per_run_udp_small: ($m | map(select(.workload == "udp")) | group_by("\(.iface)_\(.hook)")
			| map({("\(.[0].iface)_\(.[0].hook)"): per(.; "mtuscope")}) | add),
		live_ns_mtuscope_tcp: ($tcp | map(.m) | median), live_ns_empty_tcp: ($tcp | map(.e) | median),
		live_ns_mtuscope_udp_small: ($udp | map(.m) | median), live_ns_empty_udp_small: ($udp | map(.e) | median),
		live_ns_over_empty_tcp: ($tcp | map(.m - .e) | median),
		live_ns_over_empty_udp_small: ($udp | map(.m - .e) | median),
		live_stats_off_after_window: $off}' "$TMP/live.rows")"
}

# ------------------------------------------------------- 2b. profile

# Where the live cost goes: perf samples of both CPUs while traffic runs,
# mapped to source lines through the programs' jited line info.
section_profile() {
	section "Where the live cost goes (perf samples by source line)" \
		"method: mtuscope watch on both veth ends (TCX); per workload one iperf3 run of ${PROFILE_S} s (TCP 1 stream, client and server on CPU 0; UDP 64 B, sender CPU 0) under perf record -a -e cpu-clock -F 20000 (both CPUs; this VM has no PMU); build/jit_prof maps each sample inside a program to the source line its JIT code was emitted for (jited line info + the program's BTF); share = of that program's samples, top lines; a sample lands just after the stalling instruction (skid), so a line's share is mostly the wait for the load just before it"
	command -v perf >/dev/null || die "perf not found (tools/deps.sh installs linux-perf)"
	local wa wb w ids data=$TMP/perf.data out
	# perf may leave copies of the vDSO in /tmp (a path it hard-codes):
	# what it adds is removed again (cleanup() too, if this fails).
	VDSO_BEFORE=$(vdso_copies)
	watch_start "$NS_A" "$IF_A" "$TMP/prof.a.json"
	wa=$WPID
	watch_start "$NS_B" "$IF_B" "$TMP/prof.b.json"
	wb=$WPID
	ids=$({ label_progs "$wa" "$IF_A"; label_progs "$wb" "$IF_B"; } | awk '{ print $1 }' | tr '\n' ' ')
	: >"$TMP/prof.rows"
	for w in single udp; do
		local args=(-A "0,0")
		[ "$w" = udp ] && args=(-A "0,1" -u -l 64 -b 0)
		perf record -q -a -e cpu-clock -F 20000 -o "$data" -- \
			ip netns exec "$NS_A" iperf3 -c "$IP_B" -t "$PROFILE_S" "${args[@]}" >/dev/null 2>"$TMP/perf.err" ||
			die "perf record ($w) failed: $(head -c 300 "$TMP/perf.err")"
		# shellcheck disable=SC2086
		out=$(perf script -i "$data" -F ip,sym 2>/dev/null | "$B/jit_prof" --top 8 $ids) ||
			die "jit_prof ($w) failed"
		jq -c --arg w "$w" '. + {workload: $w}' <<<"$out" >>"$TMP/prof.rows"
	done
	bg_stop "$wa"
	bg_stop "$wb"
	vdso_forget
	printf '%-8s %-12s %6s  %-18s %s\n' workload program share line source
	jq -r '.workload as $w | .programs | group_by(.name)[] | . as $g
		| ([$g[].samples] | add) as $n
		| [$g[].lines[]] | group_by(.at) | map({at: .[0].at, source: .[0].source, pct: (map(.pct) | add / ($g | length))})
		| sort_by(-.pct) | .[:8][] | [$w, $g[0].name, (.pct * 10 | round / 10), .at, (.source | gsub("^\\s+"; "") | .[:60])] | @tsv' \
		"$TMP/prof.rows" | while IFS=$'\t' read -r w n pct at src; do
			printf '%-8s %-12s %5s%%  %-18s %s\n' "$w" "$n" "$pct" "$at" "$src"
		done
	part profile "$(jq -s -c '{profile: ., profile_method: "perf record -a -e cpu-clock during iperf3; build/jit_prof: samples by source line through jited line info"}' "$TMP/prof.rows")"
}

# ------------------------------------------------------- 3. throughput

attach() {	# none|empty|mtuscope|tcpdump -> ATTACHED (pids)
	ATTACHED=()
	case $1 in
	none) ;;
	mtuscope)	# both at once: loading takes a second or so each
		watch_launch "$NS_A" "$IF_A" "$TMP/tput.a.json"
		ATTACHED+=("$WPID")
		watch_launch "$NS_B" "$IF_B" "$TMP/tput.b.json"
		ATTACHED+=("$WPID")
		watch_ready "${ATTACHED[0]}" "$TMP/tput.a.json"
		watch_ready "${ATTACHED[1]}" "$TMP/tput.b.json"
		;;
	empty)
		empty_start "$NS_A" "$IF_A"
		ATTACHED+=("$EPID")
		empty_start "$NS_B" "$IF_B"
		ATTACHED+=("$EPID")
		;;
	tcpdump)
		tcpdump_start "$NS_A" "$IF_A"
		ATTACHED+=("$TPID")
		tcpdump_start "$NS_B" "$IF_B"
		ATTACHED+=("$TPID")
		;;
	esac
}

detach() { local p; for p in "${ATTACHED[@]}"; do bg_stop "$p"; done; ATTACHED=(); }

section_throughput() {
	section "Throughput over a veth pair between two namespaces" \
		"method: iperf3 -t $IPERF_S, A -> B: TCP 1 stream and -P 4 (receiver Gbit/s; client and server pinned to CPU 0, which also runs both veth ends' softirq work), UDP -l 64 -b 0 (datagrams/s received, loss; sender CPU 0, receiver CPU 1); $ROUNDS interleaved rounds of: nothing attached, an empty tc program (returns TC_ACT_UNSPEC; build/empty_tc) on both veth ends' TCX ingress+egress, mtuscope watch on both veth ends (the same hooks), tcpdump -w /dev/null on both ends (setup order rotates every round); paired = median over the rounds of each round's value / that round's nothing-attached value (the headline ratio: setups side by side); vs empty = the same with that round's empty-program value; ratio = median / median with nothing attached"
	local setups=(none empty mtuscope tcpdump) tests=(single multi udp) r k s t v loss
	local rows=$TMP/tput.tsv
	: >"$rows"
	for ((r = 1; r <= ROUNDS; r++)); do
		for k in 0 1 2 3; do
			s=${setups[$(((k + r - 1) % 4))]}
			attach "$s"
			for t in "${tests[@]}"; do
				read -r v loss < <(iperf_run "$t" "$IPERF_S")
				printf '%s\t%s\t%s\t%s\t%s\n' "$r" "$s" "$t" "$v" "$loss" >>"$rows"
			done
			detach
		done
		say "round $r/$ROUNDS: $(awk -F'\t' -v r="$r" '$1 == r && $3 == "single" { printf "%s %.2f Gbit/s  ", $2, $4 }' "$rows")"
	done

	# rows: round setup test value loss -> JSON rows, then one summary row per
	# (test, setup): median, range, ratio of medians, median of the per-round
	# ratios (each round's value over the nothing-attached one of that round).
	jq -R -s -c '
		split("\n") | map(select(length > 0) | split("\t"))
		| map({round: (.[0] | tonumber), setup: .[1], test: .[2],
			value: (.[3] | tonumber), loss_pct: (.[4] | tonumber),
			unit: (if .[2] == "udp" then "datagrams/s received" else "Gbit/s received" end),
			method: "iperf3 -t '"$IPERF_S"' A->B over veth"})' "$rows" >"$TMP/tput.rows.json"
	jq -c '
		def median: sort | if length == 0 then null elif length % 2 == 1 then .[length / 2 | floor]
			else (.[length / 2 - 1] + .[length / 2]) / 2 end;
		. as $rows
		| [ ("single", "multi", "udp") as $t | ("none", "empty", "mtuscope", "tcpdump") as $s
		    | ($rows | map(select(.test == $t and .setup == $s))) as $m
		    | ($rows | map(select(.test == $t and .setup == "none")) | map(.value) | median) as $base
		    | {test: $t, setup: $s, unit: ($m[0].unit), n: ($m | length),
		       median: ($m | map(.value) | median), min: ($m | map(.value) | min),
		       max: ($m | map(.value) | max), loss_pct_median: ($m | map(.loss_pct) | median),
		       ratio: (if $base and $base > 0 then ($m | map(.value) | median) / $base else null end),
		       paired_ratio: ([$m[] | . as $x | ($rows[] | select(.test == $t and .setup == "none"
				and .round == $x.round) | .value) as $b | select($b > 0) | $x.value / $b] | median),
		       paired_ratio_vs_empty: ([$m[] | . as $x | ($rows[] | select(.test == $t and .setup == "empty"
				and .round == $x.round) | .value) as $b | select($b > 0) | $x.value / $b] | median)} ]' \
		"$TMP/tput.rows.json" >"$TMP/tput.sum.json"
	printf '%-7s %-9s %12s %-8s %25s %7s %7s %8s %6s  %s\n' test setup median unit "range (min-max)" ratio paired "vs empty" loss% method
	jq -r '.[] | [.test, .setup, .median, (.unit | split(" ")[0]), .min, .max, .ratio, .paired_ratio, .paired_ratio_vs_empty, .loss_pct_median] | @tsv' \
		"$TMP/tput.sum.json" | while IFS=$'\t' read -r t s med u lo hi rt pr pe loss; do
		local fmt='%12.2f %-8s %12.2f-%-12.2f'
		[ "$t" = udp ] && fmt='%12.0f %-8s %12.0f-%-12.0f' u=dgram/s
		# shellcheck disable=SC2059
		printf "%-7s %-9s $fmt %7.3f %7.3f %8.3f %6.2f  %s\n" "$t" "$s" "$med" "$u" \
			"$lo" "$hi" "$rt" "$pr" "$pe" "$loss" "median of $ROUNDS x iperf3 -t $IPERF_S, interleaved"
	done
	part throughput "$(jq -c --slurpfile rows "$TMP/tput.rows.json" '
		def name: if . == "udp" then "udp_small" else . end;
		{throughput_rows: $rows[0], throughput_summary: .}
		+ (map({("throughput_median_\(.test | name)_\(.setup)"): .median}) | add)
		+ (map(select(.setup == "mtuscope")) | map({("throughput_ratio_\(.test | name)"): .paired_ratio}) | add)
		+ (map(select(.setup == "mtuscope")) | map({("throughput_ratio_vs_empty_\(.test | name)"): .paired_ratio_vs_empty}) | add)
		+ (map(select(.setup == "empty")) | map({("empty_ratio_\(.test | name)"): .paired_ratio}) | add)
		+ (map(select(.setup == "tcpdump")) | map({("tcpdump_ratio_\(.test | name)"): .paired_ratio}) | add)
		+ (map(select(.setup == "mtuscope")) | map({("throughput_ratio_of_medians_\(.test | name)"): .ratio}) | add)
		+ (map(select(.setup == "tcpdump")) | map({("tcpdump_ratio_of_medians_\(.test | name)"): .ratio}) | add)
		+ (map(select(.test == "udp")) | map({("udp_small_loss_pct_\(.setup)"): .loss_pct_median}) | add)
		+ {throughput_method: "iperf3 A->B over veth, interleaved rounds; throughput_ratio_* / tcpdump_ratio_* = median over the rounds of each round'"'"'s value / that round'"'"'s nothing-attached value (side by side); *_ratio_of_medians_* = median / median with nothing attached"}' \
		"$TMP/tput.sum.json")"
}

# ------------------------------------------------------- 4b-d. daemon

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }	# utime + stime
sched_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { printf "%.0f\n", s }'; }
rss_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }	# PID VmRSS|RssAnon|RssFile|RssShmem

# One measuring window of the daemon: prints a JSON row. Flows under watch
# (the daemon's suspicious flows) come from its /flows page, if it serves one.
daemon_window() {	# PID LABEL RATE SUSPECT HTTP_PORT|-
	local pid=$1 label=$2 rate=$3 suspect=$4 port=$5 gen_pid="" gen_out=$TMP/gen.$2.json
	local hz c0 c1 s0 s1 t0 t1 tracked=null pps=0
	hz=$(getconf CLK_TCK)
	if [ "$rate" != 0 ]; then
		bg ip netns exec "$NS_A" "$B/bench_gen" --if "$IF_A" --flows "${GEN_FLOWS:-$NFLOWS}" --rate "$rate" \
			--suspect "$suspect" --suspect-every "$SUSPECT_EVERY" --duration "$((CPU_WINDOW_S + 2))" >"$gen_out"
		gen_pid=${PIDS[-1]}
		sleep 1
	fi
	c0=$(cpu_ticks "$pid") s0=$(sched_ns "$pid") t0=$(date +%s.%N)
	sleep "$CPU_WINDOW_S"
	c1=$(cpu_ticks "$pid") s1=$(sched_ns "$pid") t1=$(date +%s.%N)
	if [ "$port" != - ]; then
		tracked=$(nsx "$NS_A" curl -s --max-time 3 "http://127.0.0.1:$port/flows" |
			jq '[.verdicts | to_entries[] | select(.key != "healthy") | .value] | add // 0')
	fi
	if [ -n "$gen_pid" ]; then
		wait "$gen_pid" || die "bench_gen ($label) failed"
		bg_forget "$gen_pid"
		pps=$(tail -1 "$gen_out" | jq .pps)
	fi
	jq -n -c --arg l "$label" --argjson rate "$rate" --argjson pps "$pps" --argjson k "$suspect" \
		--argjson dc "$((c1 - c0))" --argjson hz "$hz" --argjson ds "$((s1 - s0))" \
		--argjson w "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" \
		--argjson rss "$(rss_kb "$pid" VmRSS)" --argjson anon "$(rss_kb "$pid" RssAnon)" \
		--argjson shared "$(( $(rss_kb "$pid" RssFile) + $(rss_kb "$pid" RssShmem) ))" --argjson tracked "$tracked" --argjson n "${GEN_FLOWS:-$NFLOWS}" \
		--argjson listen "$([ "$port" != - ] && echo true || echo false)" '
		{row: $l, listen: $listen, flows: $n, target_pps: $rate, achieved_pps: $pps,
		 suspect_flows_sent: $k, flows_under_watch: $tracked, window_s: $w,
		 cpu_pct_stat: ($dc / $hz / $w * 100), cpu_pct_schedstat: ($ds / 1e9 / $w * 100),
		 rss_kb: $rss, rss_anon_kb: $anon, rss_shared_kb: $shared,
		 method: "/proc/PID/stat utime+stime (and task schedstat) delta over the window / wall time; VmRSS = RssAnon (own memory) + RssFile/RssShmem (program text, libraries and the read-only mapping of the kernel flow table)"}'
}

# A daemon on IF_A with GEN_FLOWS (default NFLOWS) flows in its table;
# sets WPID, FLOWS_ID, FILL_ENTRIES.
daemon_start() {	# OUTFILE [watch options]
	local out=$1 fill entries n=${GEN_FLOWS:-$NFLOWS}
	shift
	watch_start "$NS_A" "$IF_A" "$out" "$@"
	FLOWS_ID=$(map_id_of "$WPID" flows) || die "no flows map in the daemon"
	USED_ID=$(map_id_of "$WPID" used) || die "no used-bits map in the daemon"
	# The empty table first: what the daemon costs before any flow.
	[ -z "${EMPTY_ROWS:-}" ] || daemon_window "$WPID" empty 0 0 "${EMPTY_PORT:--}" >>"$EMPTY_ROWS"
	# Fill: one pass over the flows, as fast as it goes.
	fill=$(nsx "$NS_A" "$B/bench_gen" --if "$IF_A" --flows "$n" --passes 1 | tail -1) ||
		die "bench_gen fill failed"
	entries=$("$B/bench_sweep" "$FLOWS_ID" "$USED_ID" 1 | jq .entries)
	say "filled: $entries flow records of $n flows ($(jq -r '"\(.sent) segments at \(.pps) pkt/s"' <<<"$fill"))"
	# A set-associative table cannot hold every flow of an overfull set
	# (a table 95% full holds fewer still).
	[ "$entries" -ge "$((n * ${FILL_MIN_PCT:-95} / 100))" ] || die "only $entries of $n flows in the table"
	FILL_ENTRIES=$entries
}

section_daemon() {
	section "Daemon with $NFLOWS live flows" \
		"method: mtuscope watch on $IF_A (default table), first with --listen (as the systemd unit runs it: the flow table is also counted every 5 s), then without; build/bench_gen sends TCP data segments of $NFLOWS distinct flows out of $IF_A (AF_PACKET, so tc egress runs) at 1x = $GEN_RATE_1X and 10x packets/s; the -suspect rows make $GEN_SUSPECT of them resend one 1400-byte segment every $SUSPECT_EVERY s (the same at 1x and 10x); daemon CPU = utime+stime delta over ${CPU_WINDOW_S} s / wall (schedstat beside it), RSS = VmRSS"
	local rows=$TMP/daemon.rows wpid m sw entries100k
	: >"$rows"
	EMPTY_ROWS=$rows EMPTY_PORT=9841 daemon_start "$TMP/daemon.json" --listen 127.0.0.1:9841
	wpid=$WPID
	entries100k=$FILL_ENTRIES
	{
		daemon_window "$wpid" idle 0 0 9841
		daemon_window "$wpid" 1x "$GEN_RATE_1X" 0 9841
		daemon_window "$wpid" 10x "$((GEN_RATE_1X * 10))" 0 9841
		daemon_window "$wpid" 1x-suspect "$GEN_RATE_1X" "$GEN_SUSPECT" 9841
		daemon_window "$wpid" 10x-suspect "$((GEN_RATE_1X * 10))" "$GEN_SUSPECT" 9841
	} >>"$rows"

	# Kernel memory per flow, from the map itself.
	m=$(jq -c --argjson u "$(bpftool map show id "$USED_ID" -j)" \
		'. + {used_bytes_memlock: $u.bytes_memlock, bytes_memlock: (.bytes_memlock + $u.bytes_memlock)}' \
		<<<"$(bpftool map show id "$FLOWS_ID" -j)")
	# One full sweep of the table, the way the daemon does it.
	sw=$("$B/bench_sweep" "$FLOWS_ID" "$USED_ID" "$SWEEP_ROUNDS") || die "bench_sweep failed"
	bg_stop "$wpid"

	daemon_start "$TMP/daemon.nolisten.json"
	wpid=$WPID
	{
		daemon_window "$wpid" idle-nolisten 0 0 -
		daemon_window "$wpid" 1x-nolisten "$GEN_RATE_1X" 0 -
		daemon_window "$wpid" 10x-nolisten "$((GEN_RATE_1X * 10))" 0 -
	} >>"$rows"
	bg_stop "$wpid"

	printf '%-14s %6s %10s %12s %7s %6s %10s %8s %8s  %s\n' row listen target_pps achieved_pps \
		watched cpu% sched_cpu% rss_kB anon_kB method
	jq -r '[.row, .listen, .target_pps, (.achieved_pps | floor), (.flows_under_watch // "-"),
		(.cpu_pct_stat * 1000 | round / 1000), (.cpu_pct_schedstat * 1000 | round / 1000), .rss_kb,
		.rss_anon_kb] | @tsv' "$rows" |
		while IFS=$'\t' read -r l ls t a w c sc r an; do
			printf '%-14s %6s %10s %12s %7s %6s %10s %8s %8s  %s\n' "$l" "$ls" "$t" "$a" "$w" "$c" "$sc" "$r" "$an" \
				"utime+stime (schedstat) / wall over ${CPU_WINDOW_S} s; VmRSS, RssAnon"
		done
	say ""
	say "$(jq -r '"flow table: \(.type), \(.max_entries) entries, \(.bytes_memlock) bytes memlock = \(.bytes_memlock / .max_entries * 10 | round / 10) bytes/flow (bpftool map show -j: bytes_memlock of the flows map and its used bits (\(.used_bytes_memlock) bytes) / max_entries; key \(.bytes_key) + value \(.bytes_value) bytes + the kernel element and bucket overhead)"' <<<"$m")"
	say "$(jq -r '"full passes over the table (\(.table), \(.slots) slots, \(.entries) flows): count (as every 5 s) best \(.count_ms_best) ms, median \(.count_ms_median) ms; sweep reading every record (as after ring-buffer drops) best \(.sweep_ms_best) ms, median \(.sweep_ms_median) ms (build/bench_sweep on the live map by id, \(.rounds) rounds)"' <<<"$sw")"

	part daemon "$(jq -s -c --argjson m "$m" --argjson sw "$sw" --argjson entries "$entries100k" '
		def row($r): .[] | select(.row == $r);
		{daemon_rows: .,
		 daemon_cpu_pct_100k: row("1x").cpu_pct_stat,
		 daemon_cpu_pct_100k_schedstat: row("1x").cpu_pct_schedstat,
		 daemon_cpu_pct_100k_10x: row("10x").cpu_pct_stat,
		 daemon_cpu_pct_100k_idle: row("idle").cpu_pct_stat,
		 daemon_cpu_pct_empty: row("empty").cpu_pct_stat,
		 daemon_cpu_pct_100k_suspect: row("1x-suspect").cpu_pct_stat,
		 daemon_cpu_pct_100k_10x_suspect: row("10x-suspect").cpu_pct_stat,
		 daemon_cpu_pct_100k_nolisten: row("1x-nolisten").cpu_pct_stat,
		 daemon_cpu_pct_100k_10x_nolisten: row("10x-nolisten").cpu_pct_stat,
		 daemon_rss_kb_100k: row("1x").rss_kb,
		 daemon_rss_anon_kb_100k: row("1x").rss_anon_kb,
		 daemon_method: "mtuscope watch --listen, 100k flows from bench_gen; utime+stime over the window",
		 bytes_per_flow: ($m.bytes_memlock / $m.max_entries),
		 default_flow_capacity: $m.max_entries,
		 flow_table_bytes_memlock: $m.bytes_memlock,
		 flow_table_method: "bpftool map show -j: bytes_memlock of the flows map plus its used-bits map, / max_entries of the flows map",
		 daemon_table_entries_100k: $entries,
		 sweep: ($sw + {method: "build/bench_sweep on the live map by id: both walk the used bits (user/slots.h) as the daemon does; count = used slots; sweep = every used slot copied once and its key checked again, as watch.c sweep()"}),
		 sweep_ms_100k: $sw.sweep_ms_median,
		 count_ms_100k: $sw.count_ms_median}' "$rows")"
}

# ------------------------------------------------------- 4c. big table

section_big() {
	section "Daemon with $BIG_FLOWS live flows in a $BIG_SLOTS-slot table" \
		"method: as the daemon section, with watch --flows $BIG_SLOTS --listen (the table counted every 5 s); build/bench_gen fills it with $BIG_FLOWS flows, then sends their segments at 1x = $GEN_RATE_1X and 10x packets/s; daemon CPU = utime+stime / wall over ${CPU_WINDOW_S} s; kernel bytes per flow = bytes_memlock / max_entries; count and sweep of the whole table by build/bench_sweep"
	local rows=$TMP/big.rows wpid m sw
	: >"$rows"
	GEN_FLOWS=$BIG_FLOWS FILL_MIN_PCT=75 daemon_start "$TMP/big.json" --flows "$BIG_SLOTS" --listen 127.0.0.1:9842
	wpid=$WPID
	{
		GEN_FLOWS=$BIG_FLOWS daemon_window "$wpid" idle 0 0 9842
		GEN_FLOWS=$BIG_FLOWS daemon_window "$wpid" 1x "$GEN_RATE_1X" 0 9842
		GEN_FLOWS=$BIG_FLOWS daemon_window "$wpid" 10x "$((GEN_RATE_1X * 10))" 0 9842
	} >>"$rows"
	m=$(jq -c --argjson u "$(bpftool map show id "$USED_ID" -j)" \
		'. + {used_bytes_memlock: $u.bytes_memlock, bytes_memlock: (.bytes_memlock + $u.bytes_memlock)}' \
		<<<"$(bpftool map show id "$FLOWS_ID" -j)")
	sw=$("$B/bench_sweep" "$FLOWS_ID" "$USED_ID" "$SWEEP_ROUNDS") || die "bench_sweep failed"
	bg_stop "$wpid"
	printf '%-8s %10s %12s %6s %10s %8s  %s\n' row target_pps achieved_pps cpu% sched_cpu% rss_kB method
	jq -r '[.row, .target_pps, (.achieved_pps | floor), (.cpu_pct_stat * 1000 | round / 1000),
		(.cpu_pct_schedstat * 1000 | round / 1000), .rss_kb] | @tsv' "$rows" |
		while IFS=$'\t' read -r l t a c sc r; do
			printf '%-8s %10s %12s %6s %10s %8s  %s\n' "$l" "$t" "$a" "$c" "$sc" "$r" \
				"utime+stime (schedstat) / wall over ${CPU_WINDOW_S} s; VmRSS"
		done
	say "$(jq -r '"flow table: \(.max_entries) entries, \(.bytes_memlock / .max_entries * 10 | round / 10) bytes/flow (bytes_memlock / max_entries)"' <<<"$m")"
	say "$(jq -r '"whole table (\(.slots) slots, \(.entries) flows): count best \(.count_ms_best) ms, median \(.count_ms_median) ms; sweep best \(.sweep_ms_best) ms, median \(.sweep_ms_median) ms (\(.rounds) rounds)"' <<<"$sw")"
	part big "$(jq -s -c --argjson m "$m" --argjson sw "$sw" --argjson entries "$FILL_ENTRIES" \
		--argjson n "$BIG_FLOWS" '
		def row($r): .[] | select(.row == $r);
		{big_rows: ., big_flows: $n, big_slots: $m.max_entries, big_table_entries: $entries,
		 daemon_cpu_pct_big: row("1x").cpu_pct_stat, daemon_cpu_pct_big_10x: row("10x").cpu_pct_stat,
		 daemon_cpu_pct_big_idle: row("idle").cpu_pct_stat, daemon_rss_kb_big: row("1x").rss_kb,
		 bytes_per_flow_big: ($m.bytes_memlock / $m.max_entries),
		 count_ms_big: $sw.count_ms_median, sweep_ms_big: $sw.sweep_ms_median,
		 big_method: "watch --flows N --listen filled by bench_gen; CPU utime+stime over the window; bench_sweep count/sweep of the whole table"}' "$rows")"
}

# ------------------------------------------------------- 5. scale

section_scale() {
	section "Flow table full: --flows $SCALE_CAP churned by $SCALE_CHURN new flows" \
		"method: mtuscope watch --json --flows $SCALE_CAP --listen on $IF_A; build/bench_gen sends one data segment for each of $SCALE_CHURN new flows ($SCALE_RATE/s); after every $SCALE_STEP (and right after the first evicting insert) it counts the flows in the table (by map id) and reads the programs' flows_new / flow_insert_failed / flows_evicted; a real iperf3 TCP transfer (20 Mbit/s) runs through the same interface meanwhile; verdicts from the --json stream. Twice, a fresh daemon each: clients numbered in order (198.18.0.1, .2, ... one port), then scattered over 198.18.0.0/15 and 32768 ports"
	scale_churn sequential ""
	scale_churn scatter scatter_ --scatter
}

# One churn run: scale_churn LABEL KEY_PREFIX [bench_gen options]
scale_churn() {
	local label=$1 prefix=$2
	shift 2
	say ""
	say "--- $label clients"
	local wpid flows_id counters_id samples=$TMP/scale.$label.samples out=$TMP/scale.$label.json ipf
	watch_start "$NS_A" "$IF_A" "$out" --flows "$SCALE_CAP" --listen 127.0.0.1:9842
	wpid=$WPID
	flows_id=$(map_id_of "$wpid" flows) || die "no flows map"
	counters_id=$(map_id_of "$wpid" counters) || die "no counters map"
	# The capacity the daemon really made (--flows rounds up to a power of two).
	local cap
	cap=$(bpftool map show id "$flows_id" -j | jq .max_entries)
	local secs=$((SCALE_CHURN / SCALE_RATE + 3))
	bg ip netns exec "$NS_A" iperf3 -c "$IP_B" -t "$secs" -b 20M -J >"$TMP/scale.iperf.json" 2>&1
	ipf=${PIDS[-1]}
	sleep 1
	nsx "$NS_A" "$B/bench_gen" --if "$IF_A" --flows "$SCALE_CHURN" --churn --rate "$SCALE_RATE" \
		--map-flows "$flows_id" --map-counters "$counters_id" --step "$SCALE_STEP" "$@" \
		>"$samples" || die "bench_gen churn failed"
	wait "$ipf" || die "iperf3 during churn failed: $(jq -r '.error // empty' "$TMP/scale.iperf.json")"
	bg_forget "$ipf"
	local metrics
	metrics=$(nsx "$NS_A" curl -s --max-time 3 http://127.0.0.1:9842/metrics)
	bg_stop "$wpid"
	jq -e 'select(.event == "summary")' "$out" >/dev/null || die "no summary from the churned watch"

	# samples: {sent, entries, flows_new, flow_insert_failed, flows_evicted[, first_eviction]}
	local res
	res=$(jq -s -c --argjson cap "$cap" --slurpfile w "$out" --arg metrics "$metrics" \
		--argjson bytes_iperf "$(jq '.end.sum_received.bytes // 0' "$TMP/scale.iperf.json")" '
		def metric($n): [$metrics | split("\n")[] | select(startswith($n + "{") or startswith($n + " "))
			| split(" ") | last | tonumber] | add;
		map(select(has("entries")) | . + {gone: (.flows_new - .entries)}) as $s
		| ($s | map(select(.first_eviction)) | first) as $first
		| ($s | last) as $last
		| ($s | map(select($first != null and .flows_new >= $first.flows_new))) as $after
		| ($w | map(select(.event == "verdict"))) as $v
		| ($w | map(select(.event == "summary")) | first) as $sum
		| def tot($k): [$sum.ifaces[] | .ingress[$k] + .egress[$k]] | add;
		{scale_capacity: $cap,
		 scale_inserted: $last.flows_new,
		 scale_entries_final: $last.entries,
		 scale_entries_max: ($s | map(.entries) | max),
		 scale_first_eviction_at_inserted: ($first.flows_new // null),
		 scale_fill_at_first_eviction: (if $first then ($first.flows_new - 1) / $cap else null end),
		 scale_fill_min_after_first_eviction: (if $first then ($after | map(.entries) | min) / $cap else null end),
		 scale_fill_final: ($last.entries / $cap),
		 scale_evicted: ([$last.flows_evicted, $last.gone] | max),
		 scale_evicted_counter: $last.flows_evicted,
		 scale_created_minus_entries: $last.gone,
		 scale_flow_insert_failed: $last.flow_insert_failed,
		 scale_summary_flows_new: tot("flows_new"),
		 scale_summary_flow_insert_failed: tot("flow_insert_failed"),
		 scale_summary_flows_evicted: tot("flows_evicted"),
		 scale_metrics_flows_created: metric("mtuscope_flows_created_total"),
		 scale_metrics_flow_insert_failures: metric("mtuscope_flow_insert_failures_total"),
		 scale_metrics_flows_evicted: metric("mtuscope_flows_evicted_total"),
		 scale_verdicts: ($v | group_by(.verdict) | map({(.[0].verdict): length}) | add // {}),
		 scale_blackhole_verdicts: ($v | map(select(.verdict == "blackhole")) | length),
		 scale_real_transfer_bytes: $bytes_iperf,
		 scale_samples: ([$s | group_by(.flows_new / ($cap / 4) | floor)[] | first]
			+ [$first, $last] | map(select(. != null)) | unique_by(.flows_new)),
		 scale_clients: "'"$label"'",
		 scale_method: "bench_gen --churn: exact counts after every step and right after the first evicting insert (sendmmsg returns after tc egress ran); fill at first eviction = flows held just before that insert / capacity"}' "$samples")
	printf '%10s %10s %8s %10s %14s %8s  %s\n' inserted entries fill% evicted created-held failed method
	jq -r '.scale_samples[] | [.flows_new, .entries, (.entries / '"$cap"' * 1000 | round / 10),
		.flows_evicted, .gone, .flow_insert_failed, (if .first_eviction then " <- first eviction" else "" end)] | @tsv' <<<"$res" |
		while IFS=$'\t' read -r i e f ev g fl mark; do
			printf '%10s %10s %8s %10s %14s %8s  %s\n' "$i" "$e" "$f" "$ev" "$g" "$fl" \
				"table count + programs' counters, exact${mark}"
		done
	say "$(jq -r '"first eviction at insert \(.scale_first_eviction_at_inserted): the table held \(.scale_fill_at_first_eviction * 1000 | round / 10)% of its \(.scale_capacity) slots; after \(.scale_inserted) inserts it holds \(.scale_fill_final * 1000 | round / 10)% (lowest after the first eviction: \(.scale_fill_min_after_first_eviction * 1000 | round / 10)%)"' <<<"$res")"
	say "$(jq -r '"counters: flows_new \(.scale_summary_flows_new), flow_insert_failed \(.scale_summary_flow_insert_failed), flows_evicted \(.scale_summary_flows_evicted) (--json summary); /metrics: flows_created \(.scale_metrics_flows_created), insert failures \(.scale_metrics_flow_insert_failures), evicted \(.scale_metrics_flows_evicted); created - held \(.scale_created_minus_entries)"' <<<"$res")"
	say "$(jq -r '"verdicts during churn: \(.scale_verdicts | tostring); blackhole verdicts: \(.scale_blackhole_verdicts); the real transfer (iperf3 -b 20M through the same interface) moved \(.scale_real_transfer_bytes) bytes"' <<<"$res")"
	part "scale_$label" "$(jq -c --arg p "$prefix" 'with_entries(.key |= sub("^scale_"; "scale_" + $p))' <<<"$res")"
}

# ------------------------------------------------------------------ main

main() {
	[ "$(id -u)" = 0 ] || die "needs root (BPF, network namespaces): sudo make bench"
	local f
	for f in "$MTS" "$B/bench_bpf" "$B/bench_corr" "$B/bench_gen" "$B/bench_sweep" "$B/stats_on" "$B/empty_tc" "$B/jit_prof"; do
		[ -x "$f" ] || die "$f missing: run make bench (it builds them)"
	done
	for f in iperf3 tcpdump bpftool jq curl ip ss; do
		command -v "$f" >/dev/null || die "$f not installed (tools/deps.sh installs it)"
	done
	mkdir -p "$OUT_DIR"
	TMP=$(mktemp -d)
	trap cleanup EXIT
	trap 'exit 130' INT TERM
	trap 'on_err $LINENO "$BASH_COMMAND" $?' ERR

	say "mtuscope bench$([ "$QUICK" = 1 ] && echo ' (BENCH_QUICK=1: every section shrunk, numbers not meaningful)')"
	say "machine: $(nproc) vCPU $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo), kernel $(uname -r), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)"
	part meta "$(jq -n -c --arg k "$(uname -r)" --arg cpu "$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)" \
		--argjson n "$(nproc)" --arg v "$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)" \
		--arg d "$(date -u +%Y-%m-%dT%H:%M:%SZ)" --argjson q "$QUICK" \
		--arg iperf "$(iperf3 --version | head -1)" --arg tcpdump "$(tcpdump --version 2>&1 | head -1)" \
		'{machine: {vcpus: $n, cpu: $cpu, kernel: $k, iperf3: $iperf, tcpdump: $tcpdump}, version: $v, date: $d, quick: ($q == 1)}')"

	local sec
	for sec in $SECTIONS; do
		case $sec in
		bpf | corr | startup | ifaces) ;;
		live | profile | throughput | daemon | big | scale) [ -n "$LAB_IS_UP" ] || lab_up ;;
		*) die "unknown section '$sec' in BENCH_SECTIONS" ;;
		esac
		"section_$sec"
	done

	part zduration "{\"duration_s\": $((SECONDS - T_START))}"
	jq -s 'add' "$TMP"/part.*.json >"$OUT.tmp" || die "merging the results failed"
	mv "$OUT.tmp" "$OUT"
	summary
}

# The headline numbers, with their targets.
summary() {
	section "Summary (written to $OUT)" "method: as in each section above"
	jq -r '
		def f($d): if . == null then "n/a" else (. * pow(10; $d) | round / pow(10; $d) | tostring) end;
		["BPF added ns, TCP existing flow", (.added_ns_tcp_existing | f(1)), "BPF_PROG_TEST_RUN vs empty program"],
		["BPF added ns, other packets", (.added_ns_other | f(1)), "BPF_PROG_TEST_RUN vs empty program"],
		["live ns/skb over empty, TCP", (.live_ns_over_empty_tcp | f(1)), "run_time_ns/run_cnt, all hooks (target <= 40)"],
		["live ns/skb over empty, UDP 64 B", (.live_ns_over_empty_udp_small | f(1)), "run_time_ns/run_cnt, all hooks (target <= 25)"],
		["start-up s, 1 interface", (.startup_s_1 | f(3)), "exec to start, median (target <= 0.5)"],
		["start-up s, 64 interfaces", (.startup_s_64 | f(3)), "exec to start, median (target <= 2x one)"],
		["start-up s, 1 / 64 interfaces, --hook tc", "\(.startup_s_1_tc | f(3)) / \(.startup_s_64_tc | f(3))", "exec to start, median"],
		["attach ms per interface, TCX / tc", "\(.attach_ms_per_iface | f(1)) / \(.attach_ms_per_iface_tc | f(2))", "attach_ms of the start event, median interface of 64"],
		["64 interfaces: ns/run all busy / one pair busy", (.ifaces_cost_ratio_all_vs_one | f(3)), "median of per-round ratios (want ~1: per-packet cost unchanged)"],
		["attach ms, tunnel found at run time", (.attach_ms_runtime | f(1)), "attach event of discovery, median (target <= 50)"],
		["verifier: instructions processed, ingress / egress", "\(.verifier_insns.mts_ingress) / \(.verifier_insns.mts_egress)", "--verbose (BPF_LOG_STATS)"],
		["verifier: ms, ingress / egress", "\(.verifier_ms.mts_ingress | f(1)) / \(.verifier_ms.mts_egress | f(1))", "--verbose, the two verified side by side"],
		["iperf3 1 stream, mtuscope / empty tc", (.throughput_ratio_vs_empty_single | f(3)), "median of the per-round ratios (target >= 0.98)"],
		["iperf3 4 streams, mtuscope / empty tc", (.throughput_ratio_vs_empty_multi | f(3)), "median of the per-round ratios (target >= 0.98)"],
		["UDP 64 B, mtuscope / empty tc", (.throughput_ratio_vs_empty_udp_small | f(3)), "median of the per-round ratios (target >= 0.98)"],
		["iperf3 1 stream, mtuscope / none", (.throughput_ratio_single | f(3)), "median of the per-round ratios (target >= 0.97)"],
		["iperf3 1 stream, mtuscope / none, of medians", (.throughput_ratio_of_medians_single | f(3)), "median / median"],
		["iperf3 1 stream, tcpdump / none", (.tcpdump_ratio_single | f(3)), "median of the per-round ratios"],
		["iperf3 4 streams, mtuscope / none", (.throughput_ratio_multi | f(3)), "median of the per-round ratios"],
		["iperf3 4 streams, tcpdump / none", (.tcpdump_ratio_multi | f(3)), "median of the per-round ratios"],
		["UDP 64 B, mtuscope / none", (.throughput_ratio_udp_small | f(3)), "datagrams/s received, median of the per-round ratios"],
		["UDP 64 B, tcpdump / none", (.tcpdump_ratio_udp_small | f(3)), "datagrams/s received, median of the per-round ratios"],
		["daemon CPU % of a core, 100k flows, 1x", (.daemon_cpu_pct_100k | f(2)), "utime+stime over the window (target < 1)"],
		["daemon CPU % of a core, 100k flows, 10x", (.daemon_cpu_pct_100k_10x | f(2)), "utime+stime over the window"],
		["daemon CPU % of a core, \(.big_flows) flows / \(.big_slots) slots, 1x / 10x", "\(.daemon_cpu_pct_big | f(2)) / \(.daemon_cpu_pct_big_10x | f(2))", "utime+stime over the window (target < 1); holds \(.big_table_entries)"],
		["whole big table: count / sweep ms", "\(.count_ms_big | f(1)) / \(.sweep_ms_big | f(1))", "bench_sweep, median"],
		["daemon RSS kB, 100k flows", (.daemon_rss_kb_100k | f(0)), "VmRSS (includes the mmap()ed flow table)"],
		["daemon own memory kB, 100k flows", (.daemon_rss_anon_kb_100k | f(0)), "RssAnon"],
		["kernel bytes per flow", (.bytes_per_flow | f(1)), "memlock / max_entries (target <= 256)"],
		["default flow capacity", (.default_flow_capacity | f(0)), "max_entries of the flows map"],
		["full sweep of the table ms, 100k flows", (.sweep_ms_100k | f(2)), "bench_sweep, median"],
		["correlator flows/s (largest N)", (.corr_rows | last | .flows_per_s | f(0)), "bench_corr, fastest pass"],
		["fill at first eviction, clients in order", (.scale_fill_at_first_eviction | f(3)), "flows held / slots, bench_gen --churn"],
		["fill at first eviction, clients scattered", (.scale_scatter_fill_at_first_eviction | f(3)), "flows held / slots, bench_gen --churn --scatter"],
		["fill after the churn, clients in order", (.scale_fill_final | f(3)), "flows held / slots"],
		["fill after the churn, scattered", (.scale_scatter_fill_final | f(3)), "flows held / slots"],
		["blackhole verdicts during churn", (.scale_blackhole_verdicts + .scale_scatter_blackhole_verdicts | f(0)), "--json stream, both runs (want 0)"]
		| @tsv' "$OUT" | while IFS=$'\t' read -r k v m; do printf '%-42s %14s   %s\n' "$k" "$v" "$m"; done
	say "total time: $((SECONDS - T_START)) s"
}

main "$@"
