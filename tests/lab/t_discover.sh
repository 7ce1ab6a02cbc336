#!/bin/bash
# mtuscope watch with no interface named: it finds the WireGuard interface
# (wireguard-go here) and the underlay its peer's endpoint routes through,
# says why it attached to each (and to --lan), picks up a tunnel created
# and an endpoint moved while it runs,
# and the black hole's verdict names the tunnel, the peer's public key, its
# endpoint and the layer, within 3 s of the transfer start. WireGuard over
# an IPv4 underlay (inner IPv4) and over an IPv6 underlay (inner IPv6); two
# peers behind one gateway with one path broken: only that one is flagged.
# Names, addresses and ports are drawn afresh on every run.
. "$(dirname "$0")/lib.sh"
need t_discover socat wg wireguard-go || exit 0

BAR=3.0

for fam in 4 6; do
	p=g$((RANDOM % 900 + 100))$RANDOM
	p=${p:0:7}
	name=discover_wireguard_ipv${fam}
	if ! lab_up "$p" --mode wg --family $fam; then
		fail "$name" "lab did not come up"
		continue
	fi
	out=$TMP/$p.json
	WATCH_IFS= watch_start "$out" --lan "$LAB_GW_LAN_IF"
	start=$(jq -c 'select(.event == "start")' "$out" 2>/dev/null)
	if jq -e --arg l "$LAB_GW_LAN_IF" '[.ifaces[] | select(.name == $l and (.why | test("LAN")))] |
		length == 1' <<<"$start" >/dev/null 2>&1; then
		ok "${name}_lan_added"
	else
		fail "${name}_lan_added" "start: $start"
	fi
	peer=$(ip netns exec "$LAB_NS_GW" wg show "$LAB_GW_TUN_IF" peers)
	ep=$(ip netns exec "$LAB_NS_GW" wg show "$LAB_GW_TUN_IF" endpoints | cut -f2)
	if jq -e --arg t "$LAB_GW_TUN_IF" --arg u "$LAB_GW_UP_IF" '
		([.ifaces[] | select(.name == $t and (.why | test("WireGuard")))] | length == 1) and
		([.ifaces[] | select(.name == $u and (.why | test("underlay")))] | length == 1)' \
		<<<"$start" >/dev/null 2>&1; then
		echo "# $name: $(jq -r '[.ifaces[] | "\(.name): \(.why)"] | join("; ")' <<<"$start")"
		ok "${name}_attaches_tunnel_and_underlay"
	else
		fail "${name}_attaches_tunnel_and_underlay" "start: $start $(head -c 300 "$out.err")"
	fi

	# The black hole: its verdict names the peer.
	port=$((RANDOM % 30000 + 20000))
	t0=$(now)
	"$LAB" send --prefix "$p" --port "$port" --bytes 3000000 --timeout 6 >/dev/null 2>&1 &
	spid=$!
	BGPIDS+=($spid)
	if line=$(wait_verdict "$out" "$(dst_of "$port")" blackhole 8); then
		lat=$(jq -r --arg t0 "$t0" '.ts - ($t0 | tonumber) | . * 1000 | round / 1000' <<<"$line")
		if jq -e --arg t "$LAB_GW_TUN_IF" --arg k "$peer" --arg e "$ep" \
			'.tunnel == $t and .peer == $k and .endpoint == $e and .layer == "inner"' \
			<<<"$line" >/dev/null &&
			awk -v l="$lat" -v b=$BAR 'BEGIN { exit !(l >= 0 && l <= b) }'; then
			echo "# $name: blackhole after ${lat}s: tunnel $(jq -r .tunnel <<<"$line")," \
				"peer $(jq -r .peer <<<"$line"), endpoint $(jq -r .endpoint <<<"$line")"
			ok "${name}_verdict_names_peer"
		else
			fail "${name}_verdict_names_peer" "after ${lat}s: $line (peer $peer, endpoint $ep)"
		fi
	else
		fail "${name}_verdict_names_peer" "no blackhole: $(verdicts_for "$out" "$(dst_of "$port")")"
	fi
	wait $spid 2>/dev/null

	# A tunnel created while it runs is attached within the rescan.
	if [ $fam = 4 ]; then
		nif=${p}n0
		ip netns exec "$LAB_NS_GW" env WG_PROCESS_FOREGROUND=1 wireguard-go "$nif" \
			>/dev/null 2>&1 &
		BGPIDS+=($!)
		for _ in $(seq 40); do
			[ -S /var/run/wireguard/$nif.sock ] && break
			sleep 0.1
		done
		ip netns exec "$LAB_NS_GW" ip link set "$nif" up 2>/dev/null
		for _ in $(seq 150); do
			jq -e --arg n "$nif" 'select(.event == "attach" and .iface == $n)' "$out" \
				>/dev/null 2>&1 && break
			sleep 0.1
		done
		# attach_ms: what attaching it took (the bench holds it to its
		# target; here it must be there and plausible).
		if jq -e --arg n "$nif" 'select(.event == "attach" and .iface == $n and
			(.why | test("WireGuard")) and (.attach_ms | type == "number" and . > 0))' \
			"$out" >/dev/null 2>&1; then
			ok discover_new_tunnel_picked_up
		else
			fail discover_new_tunnel_picked_up "no attach event for $nif: $(tail -c 300 "$out.err")"
		fi
		ip netns exec "$LAB_NS_GW" ip link del "$nif" 2>/dev/null
		rm -f "/var/run/wireguard/$nif.sock"

		# The peer's endpoint moves to an address routed out of another
		# interface (a veth pair inside this lab's gateway): it is attached.
		dif=${p}d0
		alt=192.0.2
		for n in 192.0.2 198.51.100 203.0.113; do
			[ "${LAB_SRC%.*}" != "$n" ] && alt=$n	# a /24 the lab does not use
		done
		ip netns exec "$LAB_NS_GW" ip link add "$dif" type veth peer name "${p}d1"
		ip netns exec "$LAB_NS_GW" ip addr add "$alt.1/24" dev "$dif"
		ip netns exec "$LAB_NS_GW" ip link set "${p}d1" up
		ip netns exec "$LAB_NS_GW" ip link set "$dif" up
		# far forgets gw first: WireGuard would otherwise roam the endpoint
		# straight back to where far's keepalives come from.
		fwg=${LAB_PREFIX}w1
		ip netns exec "$LAB_NS_FAR" wg set "$fwg" peer \
			"$(ip netns exec "$LAB_NS_FAR" wg show "$fwg" peers)" remove
		for _ in $(seq 200); do
			# A packet of far's still in flight would roam it back: set
			# it again until it holds.
			ip netns exec "$LAB_NS_GW" wg show "$LAB_GW_TUN_IF" endpoints |
				grep -q "$alt.77:51821" ||
				ip netns exec "$LAB_NS_GW" wg set "$LAB_GW_TUN_IF" peer "$peer" \
					endpoint "$alt.77:51821"
			jq -e --arg n "$dif" 'select(.event == "attach" and .iface == $n)' "$out" \
				>/dev/null 2>&1 && break
			sleep 0.1
		done
		if jq -e --arg n "$dif" 'select(.event == "attach" and .iface == $n and
			(.why | test("underlay.*endpoint '"$alt"'.77")))' "$out" >/dev/null 2>&1; then
			ok discover_endpoint_change_picked_up
		else
			fail discover_endpoint_change_picked_up "no attach event for $dif: $(tail -c 300 "$out.err")"
		fi
	fi
	watch_stop
	"$LAB" down --prefix "$p"
done

# Two peers behind one gateway, one path broken: only that peer is flagged.
p=h$((RANDOM % 900 + 100))$RANDOM
p=${p:0:7}
if lab_up "$p" --mode wg --family 4 --peers 2; then
	out=$TMP/$p.json
	WATCH_IFS= watch_start "$out"
	eps=$(ip netns exec "$LAB_NS_GW" wg show "$LAB_GW_TUN_IF" endpoints)
	bad_peer=$(awk '$2 ~ /:51821$/ { print $1 }' <<<"$eps")
	good_peer=$(awk '$2 ~ /:51822$/ { print $1 }' <<<"$eps")
	port=$((RANDOM % 30000 + 20000))
	"$LAB" send --prefix "$p" --to 2 --port $((port + 1)) --bytes 3000000 --timeout 20 \
		>"$TMP/$p.good" 2>&1 &
	gpid=$!
	BGPIDS+=($gpid)
	t0=$(now)
	"$LAB" send --prefix "$p" --port "$port" --bytes 3000000 --timeout 6 >/dev/null 2>&1 &
	BGPIDS+=($!)
	line=$(wait_verdict "$out" "$(dst_of "$port")" blackhole 8)
	lat=$(jq -r --arg t0 "$t0" '.ts - ($t0 | tonumber) | . * 1000 | round / 1000' <<<"$line" 2>/dev/null)
	wait $gpid
	good_rc=$?
	sleep 1
	others=$(jq -c --arg k "$good_peer" --arg d "$LAB_DST2:$((port + 1))" \
		'select((.event == "verdict" or .event == "peer") and (.peer == $k or .dst == $d))' "$out")
	# The broken peer, reported once, with the flow it breaks.
	peer_events=$(jq -c --arg k "$bad_peer" --arg d "$(dst_of "$port")" \
		'select(.event == "peer" and .verdict == "blackhole" and .peer == $k and
			(.flows | index($d)))' "$out" | wc -l)
	if [ -n "$line" ] && [ "$(jq -r .peer <<<"$line")" = "$bad_peer" ] &&
		awk -v l="$lat" -v b=$BAR 'BEGIN { exit !(l >= 0 && l <= b) }' &&
		[ $good_rc = 0 ] && [ -z "$others" ] && [ "$peer_events" = 1 ]; then
		echo "# discover_two_peers: peer ${bad_peer:0:8}... blackhole after ${lat}s; peer" \
			"${good_peer:0:8}... moved $(cat "$TMP/$p.good") bytes, no verdict"
		ok discover_two_peers_only_broken_one_flagged
	else
		fail discover_two_peers_only_broken_one_flagged "bad peer $bad_peer: ${line:-no blackhole} (${lat}s), $peer_events peer events; good peer $good_peer moved $(cat "$TMP/$p.good") bytes; its verdicts: $others"
	fi
	watch_stop
	"$LAB" down --prefix "$p"
else
	fail discover_two_peers_only_broken_one_flagged "lab did not come up"
fi

# No WireGuard here, nothing named: a clear message, exit 1.
ns=n$((RANDOM % 900 + 100))$RANDOM
ip netns add "$ns"
ip netns exec "$ns" "$MTS" watch -d 1 >/dev/null 2>"$TMP/none.err"
rc=$?
ip netns del "$ns"
if [ $rc = 1 ] && grep -q "no WireGuard interface" "$TMP/none.err"; then
	ok discover_nothing_found_explained
else
	fail discover_nothing_found_explained "rc $rc: $(cat "$TMP/none.err")"
fi
