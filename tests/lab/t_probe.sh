#!/bin/bash
# mtuscope probe: the path MTU to the byte by a binary search of DF probes,
# on the lab's 1400-byte hop: with every ICMP message filtered (TCP SYNs to
# a listening port prove delivery), IPv4 and IPv6; with ICMP allowed (echo);
# the advice it prints, applied, makes the stalled transfer complete; a dead
# path and a bad destination get a clear error. Addresses are drawn afresh.
. "$(dirname "$0")/lib.sh"
need t_probe socat curl ping || exit 0

# listen NS PORT: a TCP listener on far that accepts and discards.
listen() {
	ip netns exec "$1" socat -u "TCP6-LISTEN:$2,ipv6only=0,reuseaddr,fork" /dev/null \
		2>/dev/null &
	BGPIDS+=($!)
	sleep 0.3
}

# probe_json NS ARGS...: run probe in NS, its JSON on stdout.
probe_json() {
	local ns=$1
	shift
	ip netns exec "$ns" "$MTS" probe --json "$@" 2>"$TMP/probe.err"
}

wall=$((RANDOM % 200 + 1300))	# the hop's MTU, drawn afresh
for fam in 4 6; do
	p=p$((RANDOM % 900 + 100))$RANDOM
	p=${p:0:7}
	name=probe_ipv${fam}_icmp_filtered_finds_wall
	if ! lab_up "$p" --mode plain --family $fam --wall $wall; then
		fail "$name" "lab did not come up"
		continue
	fi
	port=$((RANDOM % 30000 + 20000))
	listen "$LAB_NS_FAR" $port
	t0=$(now)
	out=$(probe_json "$LAB_NS_LAN" "$(dst_of $port)")
	secs=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')
	pmtu=$(jq -r .pmtu <<<"$out" 2>/dev/null)
	if [ "$pmtu" = "$wall" ] && [ "$(jq -r .method <<<"$out")" = tcp-syn ] &&
		[ "$(jq -r .probes <<<"$out")" -gt 0 ]; then
		echo "# $name: wall $wall, probe said $pmtu by $(jq -r .method <<<"$out") with" \
			"$(jq -r .probes <<<"$out") probes in ${secs}s"
		ok "$name"
	else
		fail "$name" "wall $wall, probe: $out $(cat "$TMP/probe.err")"
	fi

	# The transfer stalls in the hole; the probe's advice, applied, fixes it.
	name=probe_ipv${fam}_advice_fixes_stalled_transfer
	"$LAB" send --prefix "$p" --port $((port + 1)) --bytes 2000000 --timeout 30 \
		>"$TMP/$p.got" 2>&1 &
	spid=$!
	sleep 2
	mtu=$(jq -r .advice_mtu <<<"$out" 2>/dev/null)
	mss=$(jq -r .advice_mss <<<"$out" 2>/dev/null)
	if ! [ "$mtu" -gt 0 ] 2>/dev/null || ! "$LAB" fix --prefix "$p" --mtu "$mtu" --mss "$mss"; then
		fail "$name" "could not apply MTU '$mtu' MSS '$mss'"
		kill $spid 2>/dev/null
	elif wait $spid && [ "$(cat "$TMP/$p.got")" = 2000000 ]; then
		ok "$name"
	else
		fail "$name" "with MTU $mtu MSS $mss the transfer moved $(cat "$TMP/$p.got") bytes"
	fi
	"$LAB" down --prefix "$p"
done

# ICMP allowed: echo answers, and the router's PTB names the wall at once.
p=q$((RANDOM % 900 + 100))$RANDOM
p=${p:0:7}
if lab_up "$p" --mode plain --family 4 --wall $wall --icmp allow; then
	out=$(probe_json "$LAB_NS_LAN" "$LAB_DST")
	if [ "$(jq -r .pmtu <<<"$out")" = "$wall" ] && [ "$(jq -r .method <<<"$out")" = icmp-echo ]; then
		echo "# probe_icmp_echo_finds_wall: $(jq -r .probes <<<"$out") probes"
		ok probe_icmp_echo_finds_wall
	else
		fail probe_icmp_echo_finds_wall "wall $wall, probe: $out $(cat "$TMP/probe.err")"
	fi
	# A path with no wall: the first, largest probe passes.
	out=$(probe_json "$LAB_NS_LAN" "$LAB_DST" --max 1200)
	if [ "$(jq -r .pmtu <<<"$out")" = 1200 ] && [ "$(jq -r .probes <<<"$out")" -le 4 ]; then
		ok probe_no_wall_answers_at_once
	else
		fail probe_no_wall_answers_at_once "$out"
	fi
	# Rate: 30 probes a second at most, however many it sends.
	t0=$(now)
	out=$(probe_json "$LAB_NS_LAN" "$LAB_DST" --rate 5)
	secs=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { print b - a }')
	n=$(jq -r .probes <<<"$out")
	if awk -v n="$n" -v s="$secs" 'BEGIN { exit !(n > 1 && s >= (n - 1) / 5 - 0.05) }'; then
		ok probe_rate_limited
	else
		fail probe_rate_limited "$n probes in ${secs}s at --rate 5"
	fi
	# A dead path: no answer, a clear message, exit 1, bounded time.
	"$LAB" cut --prefix "$p"
	t0=$(now)
	ip netns exec "$LAB_NS_LAN" "$MTS" probe --timeout 200 "$LAB_DST:80" >/dev/null 2>"$TMP/dead.err"
	rc=$?
	secs=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { print b - a }')
	if [ $rc = 1 ] && grep -q "no answer" "$TMP/dead.err" &&
		awk -v s="$secs" 'BEGIN { exit !(s < 10) }'; then
		ok probe_dead_path_explained
	else
		fail probe_dead_path_explained "rc $rc after ${secs}s: $(cat "$TMP/dead.err")"
	fi
	"$LAB" down --prefix "$p"
else
	for t in icmp_echo_finds_wall no_wall_answers_at_once rate_limited dead_path_explained; do
		fail "probe_$t" "lab did not come up"
	done
fi

# watch --probe: a black hole's destination is searched once, the wall to
# the byte, counted on /metrics; a second flow to it within the minute is
# not searched again. Plain (the flow's own port) and WireGuard (the peer's
# endpoint, less the tunnel's 60 bytes).
for mode in plain wg; do
	p=w$((RANDOM % 900 + 100))$RANDOM
	p=${p:0:7}
	name=watch_probe_${mode}_pins_wall
	if ! lab_up "$p" --mode $mode --family 4 --wall $wall; then
		fail "$name" "lab did not come up"
		continue
	fi
	out=$TMP/$p.json
	hport=$((RANDOM % 20000 + 30000))
	if [ $mode = plain ]; then
		watch_start "$out" --probe --listen "127.0.0.1:$hport"
	else
		# Discovery: the tunnel and its underlay.
		WATCH_IFS= watch_start "$out" --probe --listen "127.0.0.1:$hport"
	fi
	port=$((RANDOM % 20000 + 10000))
	"$LAB" send --prefix "$p" --port $((port + 1)) --bytes 3000000 --timeout 25 >/dev/null 2>&1 &
	BGPIDS+=($!)
	for _ in $(seq 250); do
		jq -e 'select(.event == "probe")' "$out" >/dev/null 2>&1 && break
		sleep 0.1
	done
	pr=$(jq -c 'select(.event == "probe")' "$out" 2>/dev/null | head -1)
	if [ $mode = plain ]; then want=$wall; got=$(jq -r .pmtu <<<"$pr" 2>/dev/null)
	else want=$((wall - 60)); got=$(jq -r .tunnel_mtu <<<"$pr" 2>/dev/null); fi
	if [ "$got" = "$want" ] && [ "$(jq -r .probes <<<"$pr")" -gt 0 ]; then
		echo "# $name: wall $wall: $pr"
		ok "$name"
	else
		fail "$name" "wall $wall, want $want: ${pr:-no probe event} $(tail -c 300 "$out.err")"
	fi
	# A second flow to the same destination: no second search this minute.
	"$LAB" send --prefix "$p" --port $((port + 2)) --bytes 3000000 --timeout 4 >/dev/null 2>&1
	sleep 1
	n=$(jq -c 'select(.event == "probe")' "$out" | wc -l)
	packets=$(ip netns exec "$LAB_NS_GW" curl -s "http://127.0.0.1:$hport/metrics" |
		awk '$1 == "mtuscope_probe_packets_total" { print $2 }')
	if [ "$n" = 1 ] && [ "${packets:-0}" -gt 0 ]; then
		ok "watch_probe_${mode}_once_a_minute_and_counted"
	else
		fail "watch_probe_${mode}_once_a_minute_and_counted" "$n searches, metrics probe packets '${packets}'"
	fi
	watch_stop
	"$LAB" down --prefix "$p"
done

# Bad destinations and options: rejected before anything is sent.
bad() {	# name expected-message args...
	local name=$1 msg=$2 rc
	shift 2
	"$MTS" probe "$@" >/dev/null 2>"$TMP/bad.err"
	rc=$?
	if [ $rc = 64 ] && grep -q "$msg" "$TMP/bad.err"; then
		ok "$name"
	else
		fail "$name" "rc $rc: $(cat "$TMP/bad.err")"
	fi
}
bad probe_hostname_rejected "invalid destination" gateway.example
bad probe_short_ipv4_rejected "invalid destination" 192.0.2
bad probe_bad_port_rejected "invalid destination" 192.0.2.1:70000
bad probe_tcp_without_port_rejected "needs a port" --method tcp 192.0.2.1
bad probe_bad_rate_rejected "invalid --rate" --rate 0 192.0.2.1
