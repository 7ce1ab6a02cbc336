#!/bin/bash
# End-to-end scenarios on real stacks (Linux TCP, wireguard-go, iptables),
# judged only by `mtuscope watch --json` on the lab's gateway:
#   black holes (plain routed IPv4 and IPv6, WireGuard over IPv4 and IPv6,
#   behind NAT) are reported within 3 s with the wall and the fix, and the
#   fix applied makes the same transfer complete and the flow recover;
#   the controls (ICMP allowed, 3% random loss, a congested short-queue
#   bottleneck, a path that dies mid-transfer) never get a `blackhole`.
# Names, addresses and ports are drawn afresh on every run.
. "$(dirname "$0")/lib.sh"
need t_scenarios socat wg wireguard-go || exit 0

BAR=3.0		# seconds from transfer start to the blackhole verdict

# blackhole NAME [lab.sh up options]
blackhole() {
	local name=$1 p=b$((RANDOM % 900 + 100))$RANDOM
	shift
	p=${p:0:7}
	if ! lab_up "$p" "$@"; then fail "$name" "lab did not come up"; return; fi
	local out=$TMP/$p.json port=$((RANDOM % 30000 + 20000)) bytes=3000000
	if ! watch_start "$out"; then fail "$name" "watch did not start"; return; fi
	local t0 dst line
	t0=$(now)
	"$LAB" send --prefix "$p" --port "$port" --bytes $bytes --timeout 40 >"$TMP/$p.got" 2>&1 &
	local spid=$!
	dst=$(dst_of "$port")
	if ! line=$(wait_verdict "$out" "$dst" blackhole 8); then
		fail "$name" "no blackhole for $dst; saw: $(verdicts_for "$out" "$dst" | jq -r .verdict | tr '\n' ' ')"
		kill $spid 2>/dev/null
		watch_stop
		return
	fi
	local lat why
	lat=$(jq -r --arg t0 "$t0" '.ts - ($t0 | tonumber) | . * 1000 | round / 1000' <<<"$line")
	why=$(jq -r '[.wall_low, .wall_high, .advice_mtu, .advice_mss] | map(tostring) | join(" ")' <<<"$line")
	read -r lo hi mtu mss <<<"$why"
	echo "# $name: blackhole after ${lat}s, wall $lo..$hi, advice MTU $mtu MSS $mss"
	if ! awk -v l="$lat" -v b=$BAR 'BEGIN { exit !(l >= 0 && l <= b) }'; then
		fail "$name" "blackhole after ${lat}s, bar ${BAR}s"
	elif ! [ "$lo" -lt "$hi" ] 2>/dev/null || [ "$mtu" -lt "$lo" ] || [ "$mtu" -ge "$hi" ] ||
		[ "$mss" -le 0 ] || [ "$mss" -ge "$mtu" ]; then
		fail "$name" "inconsistent wall/advice: $line"
	elif ! "$LAB" fix --prefix "$p" --mtu "$mtu" --mss "$mss"; then
		fail "$name" "could not apply the fix"
	elif ! wait $spid || [ "$(cat "$TMP/$p.got")" != $bytes ]; then
		fail "$name" "with the fix applied the transfer did not complete ($(cat "$TMP/$p.got") of $bytes bytes)"
	elif ! wait_verdict "$out" "$dst" recovered 5 >/dev/null; then
		fail "$name" "flow did not recover; verdicts: $(verdicts_for "$out" "$dst" | jq -r .verdict | tr '\n' ' ')"
	else
		ok "$name"
	fi
	watch_stop
	"$LAB" down --prefix "$p"
}

# control NAME SECONDS BYTES CHECK [lab.sh up options]: no blackhole on any
# flow; CHECK names what else must hold (see below).
control() {
	local name=$1 secs=$2 bytes=$3 check=$4 p=c$((RANDOM % 900 + 100))$RANDOM
	shift 4
	p=${p:0:7}
	if ! lab_up "$p" "$@"; then fail "$name" "lab did not come up"; return; fi
	local out=$TMP/$p.json port=$((RANDOM % 30000 + 20000))
	if ! watch_start "$out"; then fail "$name" "watch did not start"; return; fi
	"$LAB" send --prefix "$p" --port "$port" --bytes "$bytes" --timeout "$secs" \
		>"$TMP/$p.got" 2>&1 &
	local spid=$!
	if [ "$check" = dies ]; then
		sleep 1.5
		"$LAB" cut --prefix "$p"
	fi
	wait $spid
	sleep 1
	watch_stop
	local got bh rtx seen
	got=$(cat "$TMP/$p.got")
	bh=$(jq -c 'select(.event == "verdict" and .verdict == "blackhole")' "$out" | head -1)
	rtx=$(($(summary_count "$out" egress rtx_large) + 0))
	seen=$(verdicts_for "$out" "$(dst_of "$port")" | jq -r .verdict | tr '\n' ' ')
	echo "# $name: $got of $bytes bytes, large retransmissions $rtx, verdicts: ${seen:-none}"
	if [ -n "$bh" ]; then
		fail "$name" "false blackhole: $bh"
	elif ! grep -q '"event":"summary"' "$out"; then
		fail "$name" "no summary: $(head -c 300 "$out.err")"
	else
		case $check in
		completes)	# the transfer works and PMTUD or nothing was needed
			if [ "$got" != "$bytes" ]; then fail "$name" "transfer got $got of $bytes bytes"
			elif [ -n "$(echo "$seen" | tr ' ' '\n' | grep -vE '^(pmtu-limited|healthy|)$')" ]; then
				fail "$name" "verdicts: $seen"
			else ok "$name"; fi ;;
		lossy)		# large segments really were lost and resent
			if [ "$rtx" -lt 3 ]; then fail "$name" "only $rtx large retransmissions: the trap was not set"
			else ok "$name"; fi ;;
		dies)
			if ! echo "$seen" | grep -q stalled; then fail "$name" "dead path not reported stalled: $seen"
			else ok "$name"; fi ;;
		esac
	fi
	"$LAB" down --prefix "$p"
}

blackhole plain_ipv4_blackhole_found_and_fixed --mode plain --family 4
blackhole plain_ipv6_blackhole_found_and_fixed --mode plain --family 6
blackhole wireguard_ipv4_blackhole_found_and_fixed --mode wg --family 4
blackhole wireguard_ipv6_blackhole_found_and_fixed --mode wg --family 6
blackhole nat_plain_blackhole_found_and_fixed --mode plain --nat
blackhole nat_wireguard_blackhole_found_and_fixed --mode wg --nat --wall 1380

control icmp_allowed_plain_ipv4_no_blackhole 20 3000000 completes --mode plain --icmp allow
control icmp_allowed_plain_ipv6_no_blackhole 20 3000000 completes --mode plain --family 6 --icmp allow
control icmp_allowed_wireguard_no_blackhole 20 3000000 completes --mode wg --icmp allow
control random_loss_3pct_no_blackhole 20 6000000 lossy --mode plain --wall none --loss 3
control random_loss_3pct_wireguard_no_blackhole 20 6000000 lossy --mode wg --wall none --loss 3
control congested_short_queue_no_blackhole 12 6000000 lossy --mode plain --wall none \
	--rate 20mbit --limit 8000
control dead_path_no_blackhole 8 4000000000 dies --mode plain --wall none \
	--rate 200mbit --limit 200000
