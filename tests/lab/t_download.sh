#!/bin/bash
# t_download.sh - the wall in the direction towards this gateway: the lan
# host downloads from far through the hole (plain IPv4 and IPv6, WireGuard).
# The far end's full-size segments die before they reach the gateway; what
# gets here is the handshake and a write's small tail past the gap they
# leave. `blackhole` (direction inbound) within 5 s of the start, and the
# advice, applied, lets the next download complete with no verdict worse
# than pmtu-limited. Controls: no wall, 3% random loss, a congested short
# queue: downloads that complete and never get `blackhole`.
#
# What passes the wall here is the far sender's write tails (socat's 8 KB
# writes: 952 bytes past five full segments). A download whose every
# segment is full-size leaves nothing to see here (README: "Downloads").
. "$(dirname "$0")/lib.sh"
need t_download socat wg wireguard-go || exit 0

BAR=5.0

down_blackhole() {	# NAME [lab.sh up options]
	local name=$1 p=w$((RANDOM % 900 + 100))$RANDOM
	shift
	p=${p:0:7}
	lab_up "$p" "$@" || { fail "$name" "lab did not come up"; return; }
	local out=$TMP/$p.json port=$((RANDOM % 30000 + 20000)) t0 line dst spid
	watch_start "$out" || { fail "$name" "watch did not start"; return; }
	t0=$(now)
	"$LAB" send --reverse --prefix "$p" --port "$port" --bytes 3000000 --timeout 30 \
		>"$TMP/$p.got" 2>&1 &
	spid=$!
	BGPIDS+=("$spid")
	dst=$(dst_of "$port")
	# oriented from the data sender: far's end is the source
	line=$(jq -c --arg d "$dst" 'select(.event == "verdict" and .src == $d and .verdict == "blackhole")' \
		"$out" 2>/dev/null | head -1)
	for _ in $(seq 80); do
		[ -n "$line" ] && break
		sleep 0.1
		line=$(jq -c --arg d "$dst" 'select(.event == "verdict" and .src == $d and .verdict == "blackhole")' \
			"$out" 2>/dev/null | head -1)
	done
	if [ -z "$line" ]; then
		fail "$name" "no blackhole from $dst; saw: $(jq -c 'select(.event == "verdict") | [.src, .verdict, .why]' "$out" | head -3 | tr '\n' ' ')"
		kill "$spid" 2>/dev/null
		watch_stop
		"$LAB" down --prefix "$p"
		return
	fi
	local lat mtu mss dir
	lat=$(jq -r --arg t0 "$t0" '.ts - ($t0 | tonumber) | . * 1000 | round / 1000' <<<"$line")
	mtu=$(jq -r .advice_mtu <<<"$line")
	mss=$(jq -r .advice_mss <<<"$line")
	dir=$(jq -r .direction <<<"$line")
	echo "# $name: blackhole after ${lat}s, $dir, wall $(jq -r '"\(.wall_low)..\(.wall_high)"' <<<"$line"), advice $mtu/$mss on $(jq -r .iface <<<"$line")"
	kill "$spid" 2>/dev/null
	wait "$spid" 2>/dev/null
	if ! awk -v l="$lat" -v b=$BAR 'BEGIN { exit !(l >= 0 && l <= b) }'; then
		fail "$name" "blackhole after ${lat}s, bar ${BAR}s"
	elif [ "$dir" != inbound ]; then
		fail "$name" "direction '$dir', want inbound"
	elif ! "$LAB" fix --prefix "$p" --mtu "$mtu" --mss "$mss"; then
		fail "$name" "could not apply the fix"
	else
		port=$((port + 1))
		dst=$(dst_of "$port")
		if ! "$LAB" send --reverse --prefix "$p" --port "$port" --bytes 3000000 --timeout 30 \
			>"$TMP/$p.got2" 2>&1; then
			fail "$name" "with the fix the download did not complete ($(cat "$TMP/$p.got2") bytes)"
		elif jq -e --arg d "$dst" 'select(.event == "verdict" and (.src == $d or .dst == $d) and
				(.verdict == "blackhole" or .verdict == "suspect" or .verdict == "stalled" or
				 .verdict == "ptb-ignored"))' "$out" >/dev/null; then
			fail "$name" "after the fix: $(jq -c --arg d "$dst" 'select(.event == "verdict" and (.src == $d or .dst == $d)) | .verdict' "$out" | tr '\n' ' ')"
		else
			ok "$name"
		fi
	fi
	watch_stop
	"$LAB" down --prefix "$p"
}

down_control() {	# NAME [lab.sh up options]
	local name=$1 p=v$((RANDOM % 900 + 100))$RANDOM
	shift
	p=${p:0:7}
	lab_up "$p" "$@" || { fail "$name" "lab did not come up"; return; }
	local out=$TMP/$p.json port=$((RANDOM % 30000 + 20000))
	watch_start "$out" || { fail "$name" "watch did not start"; return; }
	if ! "$LAB" send --reverse --prefix "$p" --port "$port" --bytes 4000000 --timeout 40 \
		>"$TMP/$p.got" 2>&1; then
		fail "$name" "download did not complete: $(cat "$TMP/$p.got") bytes"
	elif jq -e 'select(.event == "verdict" and .verdict == "blackhole")' "$out" >/dev/null; then
		fail "$name" "false blackhole: $(jq -c 'select(.event == "verdict") | [.src, .verdict, .why]' "$out" | head -3 | tr '\n' ' ')"
	else
		ok "$name"
	fi
	watch_stop
	"$LAB" down --prefix "$p"
}

down_blackhole download_plain_ipv4_blackhole_inbound --mode plain --family 4 --wall-side gw
down_blackhole download_plain_ipv6_blackhole_inbound --mode plain --family 6 --wall-side gw
down_blackhole download_wireguard_ipv4_blackhole_inbound --mode wg --family 4 --wall-side gw
down_control download_without_wall_no_verdict --mode plain --family 4 --wall none
down_control download_random_loss_not_blackhole --mode plain --family 4 --wall none --loss 3
down_control download_congested_short_queue_not_blackhole --mode plain --family 4 --wall none \
	--rate 20mbit --limit 30000
