#!/bin/bash
# Lifecycle: mtuscope attaches, detaches on --duration, SIGINT, SIGTERM and
# after a SIGKILL plus one more run leaves nothing of ours loaded or
# attached; another tool's tc filter keeps running throughout; the clsact
# fallback replaces a killed run's filter instead of stacking a second one;
# bad input gets a specific error.
#
# World: two namespaces joined by a veth pair; mtuscope runs in "b".
set -uo pipefail
cd "$(dirname "$0")/../.."
MTS=$PWD/build/mtuscope
OTHER=$PWD/build/other_tool.bpf.o
EMPTY=$PWD/build/empty_tc	# with --first --pass: a TCX program that ends the chain

P=lc$$
A=${P}a B=${P}b
IA=${P}x IB=${P}y		# veth ends in a and b
ADDR_A=192.0.2.129 ADDR_B=192.0.2.130

cleanup() {
	pkill -KILL -f "mtuscope watch.*$IB" 2>/dev/null
	ip netns del "$A" 2>/dev/null
	ip netns del "$B" 2>/dev/null
}
trap cleanup EXIT INT TERM

ok() { echo "ok $1"; }
fail() { echo "not ok $1${2:+: $2}"; }
. "$PWD/tests/lab/need.sh"
need t_lifecycle ip tc bpftool ping jq curl || exit 0

setup_link() {
	ip link add "$IA" netns "$A" type veth peer name "$IB" netns "$B" &&
	ip -n "$A" addr add $ADDR_A/30 dev "$IA" &&
	ip -n "$B" addr add $ADDR_B/30 dev "$IB" &&
	ip -n "$A" link set "$IA" up && ip -n "$B" link set "$IB" up
}

setup() {
	ip netns add "$A" && ip netns add "$B" && setup_link &&
	ip -n "$A" link set lo up && ip -n "$B" link set lo up
}

# TCX links of our programs (bpftool 7.1 lists them only as link type 11).
tcx_links() {
	local ids
	ids=$(bpftool prog show 2>/dev/null | sed -nE 's/^([0-9]+): sched_cls +name mts_(ingress|egress).*/\1/p')
	for id in $ids; do
		bpftool link show 2>/dev/null | grep -E "prog $id\b"
	done | wc -l
}

# Nothing of ours attached to the interface, no program of ours loaded.
# The kernel frees a released program after an RCU grace period, so give it
# a moment before calling it a leak.
nothing_left() {
	local why
	for _ in $(seq 40); do
		why=$(leftovers)
		[ -z "$why" ] && break
		sleep 0.05
	done
	echo "$why"
}

leftovers() {
	local why=""
	if bpftool prog show 2>/dev/null | grep -qE 'name mts_(ingress|egress)'; then
		why="a program of ours is still loaded"
	elif ip netns exec "$B" tc filter show dev "$IB" ingress 2>/dev/null | grep -q 'mts_'; then
		why="a tc filter of ours is still there"
	fi
	echo "$why"
}

# Start watch in the background on b's interface; wait for its start line.
start_watch() {
	local out=$1
	shift
	ip netns exec "$B" "$MTS" watch --json "$@" "$IB" >"$out" 2>"$out.err" &
	WPID=$!
	disown $WPID 2>/dev/null
	for _ in $(seq 100); do
		grep -q '"event":"start"' "$out" 2>/dev/null && return 0
		kill -0 $WPID 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

ping_ttl() { ip netns exec "$A" ping -c1 -W1 -t "$1" $ADDR_B >/dev/null 2>&1; }
pings() { ip netns exec "$A" ping -c "$1" -i 0.05 -W1 -q $ADDR_B >/dev/null 2>&1; }
# Packets our ingress program counted, from a stopped watch's JSON summary.
seen_in() { jq -s '[.[] | select(.event == "summary") | .ifaces[0].ingress.packets] | first // 0' "$1"; }
# Wait (up to $3 s, pinging meanwhile) for a warning event of kind $2 in $1.
wait_warning() {	# OUT KIND SECONDS
	local t
	for ((t = 0; t < $3 * 4; t++)); do
		jq -s -e --arg k "$2" 'any(.[]; .event == "warning" and .warning == $k)' "$1" >/dev/null 2>&1 && return 0
		pings 5
	done
	return 1
}

tmp=$(mktemp -d)
trap 'cleanup; rm -rf "$tmp"' EXIT INT TERM

if ! setup; then
	fail setup "could not build the namespaces"
	exit 1
fi

# --- duration expiry ---------------------------------------------------
if ip netns exec "$B" "$MTS" watch --json -d 1 "$IB" >"$tmp/d.out" 2>"$tmp/d.err"; then
	why=$(nothing_left)
	if [ -n "$why" ]; then fail duration_expiry_detaches "$why"
	elif [ -s "$tmp/d.err" ]; then fail duration_expiry_detaches "stderr: $(head -c 300 "$tmp/d.err")"
	elif ! grep -q '"event":"summary"' "$tmp/d.out"; then fail duration_expiry_detaches "no summary line"
	else ok duration_expiry_detaches; fi
else
	fail duration_expiry_detaches "exit $?: $(cat "$tmp/d.err")"
fi

# --- attached while running, gone after SIGINT / SIGTERM ---------------
for sig in INT TERM; do
	name=sig${sig,,}_detaches
	if ! start_watch "$tmp/s.out"; then
		fail $name "did not start: $(cat "$tmp/s.out.err")"
		continue
	fi
	if [ "$(tcx_links)" != 2 ]; then
		fail $name "not attached while running"
		kill -KILL $WPID
		continue
	fi
	kill -$sig $WPID
	wait $WPID
	rc=$?
	why=$(nothing_left)
	if [ $rc != 0 ]; then fail $name "exit code $rc"
	elif [ -n "$why" ]; then fail $name "$why"
	else ok $name; fi
done

# --- SIGKILL, then one more run ----------------------------------------
if start_watch "$tmp/k.out"; then
	kill -KILL $WPID
	wait $WPID 2>/dev/null
	ip netns exec "$B" "$MTS" watch -d 0.5 "$IB" >/dev/null 2>&1
	why=$(nothing_left)
	if [ -n "$why" ]; then fail sigkill_then_rerun_leaves_nothing "$why"
	else ok sigkill_then_rerun_leaves_nothing; fi
else
	fail sigkill_then_rerun_leaves_nothing "did not start"
fi

# --- another tool's tc filter runs before, during and after us ---------
ip netns exec "$B" tc qdisc add dev "$IB" clsact
ip netns exec "$B" tc filter add dev "$IB" ingress bpf da obj "$OTHER" sec tc
other_runs() { ! ping_ttl 7 && ping_ttl 8; }
for hook in tcx tc; do
	name=other_tools_filter_keeps_running_$hook
	before=$(other_runs && echo y)
	if ! start_watch "$tmp/o.out" --hook $hook; then
		fail $name "did not start: $(cat "$tmp/o.out.err")"
		continue
	fi
	during=$(other_runs && echo y)
	pings 10
	kill -INT $WPID
	wait $WPID
	after=$(other_runs && echo y)
	seen=$(seen_in "$tmp/o.out")
	listed=$(ip netns exec "$B" tc filter show dev "$IB" ingress | grep -c other_tool)
	why=$(nothing_left)
	if [ "$before$during$after" != yyy ]; then
		fail $name "other filter effective before/during/after: ${before:-n}/${during:-n}/${after:-n}"
	elif [ "$listed" != 1 ]; then fail $name "other filter listed $listed times"
	elif [ "$seen" -lt 10 ]; then fail $name "ours ran after it and saw $seen packets (the other's OK ends the chain)"
	elif grep -q hook-blind "$tmp/o.out"; then fail $name "blind: $(grep hook-blind "$tmp/o.out")"
	elif [ -n "$why" ]; then fail $name "$why"
	else ok $name; fi
done
ip netns exec "$B" tc qdisc del dev "$IB" clsact

# --- clsact fallback: a killed run's filter is replaced, not stacked ----
name=tc_fallback_replaces_stale_filter
if start_watch "$tmp/t1.out" --hook tc; then
	kill -KILL $WPID
	wait $WPID 2>/dev/null
	stale=$(ip netns exec "$B" tc filter show dev "$IB" ingress | grep -c 'mts_ingress')
	start_watch "$tmp/t2.out" --hook tc
	during_in=$(ip netns exec "$B" tc filter show dev "$IB" ingress | grep -c 'mts_ingress')
	during_eg=$(ip netns exec "$B" tc filter show dev "$IB" egress | grep -c 'mts_egress')
	kill -INT $WPID
	wait $WPID
	qdisc=$(ip netns exec "$B" tc qdisc show dev "$IB" | grep -c clsact)
	why=$(nothing_left)
	if [ "$stale" != 1 ]; then fail $name "after SIGKILL expected 1 stale filter, saw $stale"
	elif [ "$during_in$during_eg" != 11 ]; then fail $name "filters while running: ingress $during_in, egress $during_eg"
	elif [ -n "$why" ]; then fail $name "$why"
	elif [ "$qdisc" != 0 ]; then fail $name "the clsact qdisc a run of ours made is still there"
	else ok $name; fi
else
	fail $name "did not start: $(cat "$tmp/t1.out.err")"
fi

# --- a program put ahead of ours later ends the chain: told ------------
# clsact: a filter added without a priority goes ahead of every other one.
name=tc_blind_hook_is_told
if start_watch "$tmp/b.out" --hook tc --listen 127.0.0.1:9857; then
	ip netns exec "$B" tc filter add dev "$IB" ingress bpf da obj "$OTHER" sec tc
	t0=$SECONDS
	if wait_warning "$tmp/b.out" hook-blind 6; then
		took=$((SECONDS - t0))
		metric=$(ip netns exec "$B" curl -s --max-time 3 http://127.0.0.1:9857/metrics |
			grep "^mtuscope_hook_blind{interface=\"$IB\",direction=\"ingress\"}")
		pref=$(ip netns exec "$B" tc filter show dev "$IB" ingress | sed -nE 's/.*pref ([0-9]+) bpf.*other_tool.*/\1/p' | head -1)
		ip netns exec "$B" tc filter del dev "$IB" ingress pref "$pref"
		if ! wait_warning "$tmp/b.out" hook-seeing 4; then fail $name "no hook-seeing after the filter went"
		elif [ "${metric##* }" != 1 ]; then fail $name "metric: '$metric'"
		elif ! jq -s -e --arg i "$IB" 'any(.[]; .warning == "hook-blind" and .iface == $i and .direction == "ingress" and .missed_packets >= 10)' \
			"$tmp/b.out" >/dev/null; then fail $name "warning: $(grep hook-blind "$tmp/b.out")"
		else ok "$name (told after ${took} s)"; fi
	else
		fail $name "no hook-blind warning within 6 s: $(tail -c 300 "$tmp/b.out")"
	fi
	kill -INT $WPID
	wait $WPID
	ip netns exec "$B" tc qdisc del dev "$IB" clsact 2>/dev/null
else
	fail $name "did not start: $(cat "$tmp/b.out.err")"
fi

# TCX: ours goes first; a program put at the head later that returns
# TCX_PASS ends the chain before ours.
name=tcx_blind_hook_is_told
if start_watch "$tmp/x.out"; then
	ip netns exec "$B" "$EMPTY" --first --pass "$IB" >"$tmp/e.ready" 2>&1 &
	epid=$!
	for _ in $(seq 100); do grep -q ready "$tmp/e.ready" && break; sleep 0.05; done
	if ! wait_warning "$tmp/x.out" hook-blind 6; then
		fail $name "no hook-blind warning within 6 s: $(tail -c 300 "$tmp/x.out")"
	else
		kill $epid
		wait $epid 2>/dev/null
		if wait_warning "$tmp/x.out" hook-seeing 4; then ok $name
		else fail $name "no hook-seeing after the other program went"; fi
	fi
	kill $epid 2>/dev/null
	kill -INT $WPID
	wait $WPID
else
	fail $name "did not start: $(cat "$tmp/x.out.err")"
fi

# TCX: started after another tool's head program that passes, ours still
# goes first and sees everything.
name=tcx_attaches_ahead_of_other_programs
ip netns exec "$B" "$EMPTY" --first --pass "$IB" >"$tmp/e.ready" 2>&1 &
epid=$!
for _ in $(seq 100); do grep -q ready "$tmp/e.ready" && break; sleep 0.05; done
if start_watch "$tmp/h.out"; then
	pings 20
	kill -INT $WPID
	wait $WPID
	seen=$(seen_in "$tmp/h.out")
	if [ "$seen" -lt 20 ]; then fail $name "saw $seen packets of 20 pings"
	elif grep -q hook-blind "$tmp/h.out"; then fail $name "blind"
	else ok $name; fi
else
	fail $name "did not start: $(cat "$tmp/h.out.err")"
fi
kill $epid 2>/dev/null
wait $epid 2>/dev/null

# --- an interface deleted and made again under its name ------------------
# Waits (up to $3 s) for an iface event of state $2; prints it.
wait_iface() {	# OUT STATE SECONDS
	local line
	for ((t = 0; t < $3 * 20; t++)); do
		line=$(jq -c --arg s "$2" --arg i "$IB" 'select(.event == "iface" and .iface == $i and .state == $s)' \
			"$1" 2>/dev/null | head -1)
		[ -n "$line" ] && { echo "$line"; return 0; }
		sleep 0.05
	done
	return 1
}
for hook in tcx tc; do
	name=deleted_then_made_again_reattached_$hook
	if ! start_watch "$tmp/g.out" --hook $hook; then
		fail $name "did not start: $(cat "$tmp/g.out.err")"
		continue
	fi
	pings 10
	ip -n "$A" link del "$IA"	# both ends go
	gone=$(wait_iface "$tmp/g.out" gone 2)
	setup_link
	t_new=$(date +%s.%N)
	back=$(wait_iface "$tmp/g.out" back 2)
	pings 10
	alive=$(kill -0 $WPID 2>/dev/null && echo y)
	kill -INT $WPID
	wait $WPID
	seen=$(seen_in "$tmp/g.out")
	late=$(jq -rn --argjson b "${back:-null}" --arg t "$t_new" 'if $b then $b.ts - ($t | tonumber) else 99 end')
	why=$(nothing_left)
	if [ -z "$gone" ]; then fail $name "no gone event: $(tail -c 300 "$tmp/g.out")"
	elif [ -z "$back" ]; then fail $name "no back event: $(tail -c 300 "$tmp/g.out") $(cat "$tmp/g.out.err")"
	elif ! awk -v l="$late" 'BEGIN { exit !(l <= 1.0) }'; then fail $name "back ${late}s after the new interface"
	elif [ "$alive" != y ]; then fail $name "watch died"
	elif [ "$seen" -lt 20 ]; then fail $name "counted $seen packets: the 10 before and 10 after, kept, want 20+"
	elif [ -n "$why" ]; then fail $name "$why"
	else ok $name; fi
done

# --- one owner per clsact hook -----------------------------------------
name=second_tc_watch_refused_first_keeps_its_hook
if start_watch "$tmp/f.out" --hook tc; then
	ip netns exec "$B" "$MTS" watch --hook tc -d 1 "$IB" >"$tmp/f2.out" 2>"$tmp/f2.err"
	rc=$?
	pings 10
	listed=$(ip netns exec "$B" tc filter show dev "$IB" ingress | grep -c mts_ingress)
	kill -INT $WPID
	wait $WPID
	seen=$(seen_in "$tmp/f.out")
	if [ $rc != 1 ]; then fail $name "second watch: exit $rc"
	elif ! grep -q "another mtuscope (PID $WPID)" "$tmp/f2.err"; then fail $name "stderr: $(head -c 300 "$tmp/f2.err")"
	elif [ "$listed" != 1 ]; then fail $name "the first's filter listed $listed times"
	elif [ "$seen" -lt 10 ]; then fail $name "the first saw $seen packets after the second tried"
	else ok $name; fi
else
	fail $name "did not start: $(cat "$tmp/f.out.err")"
fi

# --- specific errors ----------------------------------------------------
expect_error() {	# name, expected exit code, stderr pattern, args...
	local name=$1 code=$2 pat=$3
	shift 3
	ip netns exec "$B" "$@" >"$tmp/e.out" 2>"$tmp/e.err"
	local rc=$?
	if [ $rc != "$code" ]; then fail $name "exit $rc, want $code: $(head -c 200 "$tmp/e.err")"
	elif ! grep -qE "$pat" "$tmp/e.err"; then fail $name "stderr: $(head -c 300 "$tmp/e.err")"
	else ok $name; fi
}
expect_error unknown_interface_is_named 1 "unknown interface 'nosuch0'" "$MTS" watch nosuch0
expect_error bad_duration_is_rejected 64 "invalid --duration 'abc'" "$MTS" watch -d abc "$IB"
expect_error bad_hook_is_rejected 64 "invalid --hook 'xyz'" "$MTS" watch --hook xyz "$IB"
expect_error bad_flows_is_rejected 64 "invalid --flows '5'" "$MTS" watch --flows 5 "$IB"
expect_error short_ipv4_listen_is_rejected 64 "invalid --listen '192.0.2:9841'" \
	"$MTS" watch --listen 192.0.2:9841 "$IB"
# No interface named means discovery; in a namespace without WireGuard
# that ends with a clear message (t_discover.sh covers the rest).
expect_error no_interface_no_wireguard_is_explained 1 "no WireGuard interface" \
	"$MTS" watch -d 1
expect_error unknown_command_is_rejected 64 "unknown command 'frob'" "$MTS" frob
if need_nonroot not_root_is_explained; then
	expect_error not_root_is_explained 1 "not permitted.*CAP_BPF" \
		setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all "$MTS" watch "$IB"
fi
