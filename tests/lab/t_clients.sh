#!/bin/bash
# t_clients.sh - real clients through the hole, not only socat: an iperf3
# upload from the lan host (plain IPv4, WireGuard over IPv4, plain IPv6) is
# a `blackhole` within 3 s of its start; with the advice applied the next
# iperf3 run completes with no verdict worse than pmtu-limited.
# (Downloads whose every segment is full size, like iperf3 -R, are not
# caught yet: README "Downloads".)
. "$(dirname "$0")/lib.sh"
need t_clients iperf3 wg wireguard-go || exit 0

BAR=3.0

iperf_upload() {	# NAME [lab.sh up options]
	local name=$1 p=i$((RANDOM % 900 + 100))$RANDOM
	shift
	p=${p:0:7}
	lab_up "$p" "$@" || { fail "$name" "lab did not come up"; return; }
	local out=$TMP/$p.json port=$((RANDOM % 30000 + 20000)) t0 line lat mtu mss dst n0
	dst=$(dst_of "$port")
	ip netns exec "$LAB_NS_FAR" iperf3 -s -p "$port" -B "$LAB_DST" >/dev/null 2>&1 &
	BGPIDS+=($!)
	sleep 0.5
	watch_start "$out" || { fail "$name" "watch did not start"; return; }
	t0=$(now)
	ip netns exec "$LAB_NS_LAN" timeout 10 iperf3 -c "$LAB_DST" -p "$port" -t 3 \
		>"$TMP/$p.iperf1" 2>&1 &
	BGPIDS+=($!)
	if ! line=$(wait_verdict "$out" "$dst" blackhole 8); then
		fail "$name" "no blackhole for $dst; saw: $(verdicts_for "$out" "$dst" | jq -r .verdict | tr '\n' ' ')"
	else
		lat=$(jq -r --arg t0 "$t0" '.ts - ($t0 | tonumber) | . * 1000 | round / 1000' <<<"$line")
		mtu=$(jq -r .advice_mtu <<<"$line")
		mss=$(jq -r .advice_mss <<<"$line")
		echo "# $name: blackhole after ${lat}s, advice $mtu/$mss"
		if ! awk -v l="$lat" -v b=$BAR 'BEGIN { exit !(l >= 0 && l <= b) }'; then
			fail "$name" "blackhole after ${lat}s, bar ${BAR}s"
		elif [ "$mtu" -lt 1280 ]; then
			fail "$name" "advice MTU $mtu: below 1280, and this lab's wall is at 1400"
		elif ! n0=$(verdicts_for "$out" "$dst" | wc -l) ||
			! "$LAB" fix --prefix "$p" --mtu "$mtu" --mss "$mss"; then
			fail "$name" "could not apply the fix"
		else
			sleep 8	# the first client gives up; the server takes the next one
			if ! ip netns exec "$LAB_NS_LAN" timeout 15 iperf3 -c "$LAB_DST" -p "$port" -t 2 \
				>"$TMP/$p.iperf2" 2>&1 || ! grep -q receiver "$TMP/$p.iperf2"; then
				fail "$name" "with the fix iperf3 failed: $(tail -2 "$TMP/$p.iperf2" | tr '\n' ' ')"
			elif verdicts_for "$out" "$dst" | tail -n +$((n0 + 1)) | jq -r .verdict |
				grep -qvE '^(recovered|healthy|pmtu-limited)$'; then
				fail "$name" "after the fix: $(verdicts_for "$out" "$dst" | tail -n +$((n0 + 1)) | jq -r .verdict | tr '\n' ' ')"
			else
				ok "$name"
			fi
		fi
	fi
	watch_stop
	"$LAB" down --prefix "$p"
}

iperf_upload clients_iperf3_upload_plain_ipv4 --mode plain --family 4
iperf_upload clients_iperf3_upload_plain_ipv6 --mode plain --family 6
iperf_upload clients_iperf3_upload_wireguard_ipv4 --mode wg --family 4
