#!/bin/bash
# t_fullsize.sh - downloads whose every segment is full size, by real
# clients: curl from an HTTP server, iperf3 -R. The wall stands on the way
# to the gateway, so the far end's first flight dies whole and nothing of it
# arrives; the gateway sees the request acknowledged and then nothing.
# With --probe: `blackhole` (direction inbound, the wall from the probe)
# within 5 s of the start, and with that advice applied the next download
# completes with no verdict worse than pmtu-limited. iperf3 -R's data
# connection gets nothing at all through (its first flight is all full
# size) and closes on the client's timer: it stays `blackhole`. Controls,
# on a path without the wall: the same downloads, a server that thinks 5 s
# before it answers and a long poll complete, and --probe prints no
# verdict worse than pmtu-limited (the waiting flows it probed are not
# news).
. "$(dirname "$0")/lib.sh"
need t_fullsize curl python3 iperf3 wg wireguard-go || exit 0

BAR=5.0
HTTPD=$(dirname "$0")/httpd.py
dd if=/dev/urandom of="$TMP/big" bs=1M count=4 2>/dev/null
head -c 100 /dev/urandom >"$TMP/small"

serve() {	# KIND PORT: an HTTP or iperf3 server on the far end, listening
	if [ "$1" != iperf3 ]; then
		ip netns exec "$LAB_NS_FAR" python3 "$HTTPD" "$LAB_DST" "$2" "$TMP" >/dev/null 2>&1 &
	else
		ip netns exec "$LAB_NS_FAR" iperf3 -s -p "$2" -B "$LAB_DST" >/dev/null 2>&1 &
	fi
	BGPIDS+=($!)
	far_listening "$2"
}

# KIND: http (a 4 MB file), think (the server thinks 5 s before it sends
# it), longpoll (the server holds the request 10 s, then answers 100 bytes),
# iperf3 (-R).
fetch() {	# KIND PORT SEC: download through the gateway; 0 if it completed
	local u=$LAB_DST path=big size=$((4 << 20))
	[ "$LAB_FAMILY" = 6 ] && u="[$LAB_DST]"
	case $1 in
	think) path=wait/5/big ;;
	longpoll) path=wait/10/small size=100 ;;
	esac
	if [ "$1" != iperf3 ]; then
		[ "$(ip netns exec "$LAB_NS_LAN" timeout "$3" curl -s -o /dev/null \
			-w '%{size_download}' "http://$u:$2/$path")" = "$size" ]
	else
		ip netns exec "$LAB_NS_LAN" timeout "$3" iperf3 -R -J -c "$LAB_DST" -p "$2" -t 2 \
			2>/dev/null | jq -e '.end.sum_received.bytes > 1000000' >/dev/null
	fi
}

verdicts_of() {	# OUT DST: verdicts of the flow from/to DST
	jq -c --arg d "$2" 'select(.event == "verdict" and (.src == $d or .dst == $d))' "$1"
}

hole() {	# NAME KIND [lab.sh up options]
	local name=$1 kind=$2 p=f$((RANDOM % 900 + 100))$RANDOM
	[[ $name == *${ONLY:-}* ]] || return 0
	shift 2
	p=${p:0:7}
	lab_up "$p" --wall-side gw "$@" || { fail "$name" "lab did not come up"; return; }
	local out=$TMP/$p.json port=$((RANDOM % 30000 + 20000)) t0 line lat mtu mss dst n0 fpid
	dst=$(dst_of "$port")
	serve "$kind" "$port" || { fail "$name" "server did not listen"; return; }
	watch_start "$out" --probe || { fail "$name" "watch did not start"; return; }
	t0=$(now)
	fetch "$kind" "$port" 12 &
	fpid=$!
	BGPIDS+=("$fpid")
	for _ in $(seq 100); do
		line=$(verdicts_of "$out" "$dst" | jq -c 'select(.verdict == "blackhole")' | head -1)
		[ -n "$line" ] && break
		sleep 0.1
	done
	if [ -z "$line" ]; then
		fail "$name" "no blackhole for $dst; saw: $(verdicts_of "$out" "$dst" | jq -r .verdict | tr '\n' ' ')"
	else
		lat=$(jq -r --arg t0 "$t0" '.ts - ($t0 | tonumber) | . * 1000 | round / 1000' <<<"$line")
		mtu=$(jq -r .advice_mtu <<<"$line")
		mss=$(jq -r .advice_mss <<<"$line")
		echo "# $name: blackhole after ${lat}s, $(jq -r .direction <<<"$line"), wall $(jq -r '"\(.wall_low)..\(.wall_high)"' <<<"$line"), advice $mtu/$mss"
		kill "$fpid" 2>/dev/null
		wait "$fpid" 2>/dev/null
		n0=$(verdicts_of "$out" "$dst" | wc -l)
		if ! awk -v l="$lat" -v b=$BAR 'BEGIN { exit !(l >= 0 && l <= b) }'; then
			fail "$name" "blackhole after ${lat}s, bar ${BAR}s"
		elif [ "$(jq -r .direction <<<"$line")" != inbound ]; then
			fail "$name" "direction $(jq -r .direction <<<"$line"), want inbound"
		elif ! "$LAB" fix --prefix "$p" --mtu "$mtu" --mss "$mss"; then
			fail "$name" "could not apply the fix"
		elif sleep 1 && ! fetch "$kind" "$port" 20; then
			fail "$name" "with the fix the download did not complete"
		else
			sleep 1.5
			if jq -c 'select(.event == "verdict")' "$out" | tail -n +$((n0 + 1)) |
				jq -r .verdict | grep -qvE '^(recovered|healthy|pmtu-limited)$'; then
				fail "$name" "after the fix: $(jq -c 'select(.event == "verdict")' "$out" | tail -n +$((n0 + 1)) | jq -r '[.src, .verdict] | join(" ")' | tr '\n' ' ')"
			else
				ok "$name"
			fi
		fi
	fi
	watch_stop
	"$LAB" down --prefix "$p"
}

control() {	# NAME KIND [lab.sh up options]: no wall; --probe says nothing
	local name=$1 kind=$2 p=c$((RANDOM % 900 + 100))$RANDOM
	[[ $name == *${ONLY:-}* ]] || return 0
	shift 2
	p=${p:0:7}
	lab_up "$p" --wall none "$@" || { fail "$name" "lab did not come up"; return; }
	local out=$TMP/$p.json port=$((RANDOM % 30000 + 20000))
	serve "$kind" "$port" || { fail "$name" "server did not listen"; return; }
	watch_start "$out" --probe || { fail "$name" "watch did not start"; return; }
	if ! { sleep 0.1; fetch "$kind" "$port" 20; }; then
		fail "$name" "download did not complete"
	elif sleep 2 && jq -r 'select(.event == "verdict") | .verdict' "$out" |
		grep -qvE '^(recovered|healthy|pmtu-limited)$'; then
		fail "$name" "verdicts on a healthy path: $(jq -c 'select(.event == "verdict") | [.src, .verdict, .why]' "$out" | head -3 | tr '\n' ' ')"
	else
		ok "$name"
	fi
	watch_stop
	"$LAB" down --prefix "$p"
}

hole fullsize_http_plain_ipv4_blackhole http --mode plain --family 4
hole fullsize_http_plain_ipv6_blackhole http --mode plain --family 6
hole fullsize_http_wireguard_ipv4_blackhole http --mode wg --family 4
hole fullsize_http_wireguard_ipv6_blackhole http --mode wg --family 6
hole fullsize_iperf3_reverse_plain_ipv4_blackhole iperf3 --mode plain --family 4
hole fullsize_iperf3_reverse_wireguard_ipv6_blackhole iperf3 --mode wg --family 6
control fullsize_http_no_wall_probe_says_nothing http --mode plain --family 4
control fullsize_server_thinking_5s_probe_says_nothing think --mode plain --family 6
control fullsize_long_poll_probe_says_nothing longpoll --mode wg --family 4
control fullsize_iperf3_reverse_no_wall_probe_says_nothing iperf3 --mode wg --family 4
