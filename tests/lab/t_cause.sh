#!/bin/bash
# Where the PTB dies: the black hole's verdict carries a "cause".
#   ptb-filtered-beyond: the wall is a router further on whose firewall drops
#     ICMP (the lab's default);
#   local-ptb-dropped: the wall is the gateway's own onward link and its own
#     OUTPUT chain drops the frag-needed / packet-too-big it generates; the
#     rule the text output prints, applied, lets the transfer complete;
#   ptb-nat-mismatch: behind NAT, the PTBs come back but conntrack does not
#     match them (NOTRACK in the raw table), so none is forwarded to the
#     sender, which then looks as if it ignored them.
# IPv4 and IPv6; walls, names, addresses and ports drawn afresh.
. "$(dirname "$0")/lib.sh"
need t_cause socat || exit 0

# blackhole_line NAME PREFIX: watch (JSON and text), send, wait for the
# blackhole verdict: LINE, OUT, TXT, PORT, SPID, TPID
blackhole_line() {
	local name=$1 p=$2
	OUT=$TMP/$p.json
	TXT=$TMP/$p.txt
	PORT=$((RANDOM % 30000 + 20000))
	watch_start "$OUT" || return 1
	# Beside it, the text output an engineer reads.
	ip netns exec "$LAB_NS_GW" "$MTS" watch $LAB_WATCH_IFS >"$TXT" 2>&1 &
	WPIDS+=($!)
	TPID=$!
	for _ in $(seq 200); do
		grep -q "^watching" "$TXT" 2>/dev/null && break
		sleep 0.05
	done
	"$LAB" send --prefix "$p" --port "$PORT" --bytes 3000000 --timeout 30 >"$TMP/$p.got" 2>&1 &
	SPID=$!
	BGPIDS+=($SPID)
	LINE=$(wait_verdict "$OUT" "$(dst_of "$PORT")" blackhole 8)
}

for fam in 4 6; do
	# Beyond: rtr's onward hop is the wall, rtr's firewall drops ICMP.
	p=k$((RANDOM % 900 + 100))$RANDOM
	p=${p:0:7}
	name=cause_ipv${fam}_ptb_filtered_beyond
	if lab_up "$p" --mode plain --family $fam && blackhole_line "$name" "$p" && [ -n "$LINE" ]; then
		cause=$(jq -r .cause <<<"$LINE")
		if [ "$cause" = ptb-filtered-beyond ]; then
			ok "$name"
		else
			fail "$name" "cause '$cause': $LINE"
		fi
	else
		fail "$name" "no blackhole: $(verdicts_for "$OUT" "$(dst_of "$PORT")" 2>/dev/null)"
	fi
	kill "$SPID" 2>/dev/null
	kill -INT "$TPID" 2>/dev/null
	watch_stop
	"$LAB" down --prefix "$p"

	# Local: the gateway's own onward MTU is the wall and its OUTPUT chain
	# drops the PTB it makes.
	p=m$((RANDOM % 900 + 100))$RANDOM
	p=${p:0:7}
	name=cause_ipv${fam}_local_ptb_dropped
	wall=$((RANDOM % 150 + 1300))
	if ! lab_up "$p" --mode plain --family $fam --wall none; then
		fail "$name" "lab did not come up"
		continue
	fi
	ip netns exec "$LAB_NS_GW" ip link set "$LAB_GW_UP_IF" mtu $wall
	if [ $fam = 4 ]; then
		ip netns exec "$LAB_NS_GW" iptables -A OUTPUT -p icmp --icmp-type fragmentation-needed -j DROP
	else
		ip netns exec "$LAB_NS_GW" ip6tables -A OUTPUT -p icmpv6 --icmpv6-type packet-too-big -j DROP
	fi
	if blackhole_line "$name" "$p" && [ -n "$LINE" ] &&
		[ "$(jq -r .cause <<<"$LINE")" = local-ptb-dropped ]; then
		ok "$name"
	else
		fail "$name" "wall $wall at gw: $LINE $(verdicts_for "$OUT" "$(dst_of "$PORT")" 2>/dev/null | tail -1)"
	fi
	# The text output's fix for this cause, run as printed.
	sleep 1
	cmd=$(grep -m1 -E '^ +ip6?tables -I OUTPUT' "$TXT" | sed 's/^ *//')
	if [ -n "$cmd" ] && ip netns exec "$LAB_NS_GW" $cmd; then
		if wait "$SPID" && [ "$(cat "$TMP/$p.got")" = 3000000 ]; then
			echo "# $name: ran '$cmd'"
			ok "${name}_printed_fix_completes_transfer"
		else
			fail "${name}_printed_fix_completes_transfer" "after '$cmd' got $(cat "$TMP/$p.got") bytes"
		fi
	else
		fail "${name}_printed_fix_completes_transfer" "no fix printed: $(tail -5 "$TXT")"
		kill "$SPID" 2>/dev/null
	fi
	kill -INT "$TPID" 2>/dev/null
	watch_stop
	"$LAB" down --prefix "$p"
done

# NAT mismatch: ICMP allowed, so rtr's frag-needed reaches gw, but gw does not
# track it and so never translates it back towards the LAN sender.
p=n$((RANDOM % 900 + 100))$RANDOM
p=${p:0:7}
name=cause_ipv4_ptb_nat_mismatch
if lab_up "$p" --mode plain --family 4 --nat --icmp allow; then
	ip netns exec "$LAB_NS_GW" iptables -t raw -A PREROUTING -i "$LAB_GW_UP_IF" -p icmp -j NOTRACK
	OUT=$TMP/$p.json
	PORT=$((RANDOM % 30000 + 20000))
	watch_start "$OUT"
	"$LAB" send --prefix "$p" --port "$PORT" --bytes 3000000 --timeout 30 >"$TMP/$p.got" 2>&1 &
	SPID=$!
	BGPIDS+=($SPID)
	for _ in $(seq 100); do
		jq -e 'select(.event == "verdict" and .cause == "ptb-nat-mismatch")' "$OUT" >/dev/null 2>&1 && break
		sleep 0.1
	done
	line=$(jq -c 'select(.event == "verdict" and .cause == "ptb-nat-mismatch")' "$OUT" | head -1)
	if [ -n "$line" ] && [ "$(jq -r .verdict <<<"$line")" = ptb-ignored ]; then
		ok "$name"
	else
		fail "$name" "verdicts: $(jq -c 'select(.event == "verdict") | [.verdict, .cause]' "$OUT" | tr '\n' ' ')"
	fi
	# Conntrack matching them again lets the PTBs through: the transfer completes.
	ip netns exec "$LAB_NS_GW" iptables -t raw -D PREROUTING -i "$LAB_GW_UP_IF" -p icmp -j NOTRACK
	if wait "$SPID" && [ "$(cat "$TMP/$p.got")" = 3000000 ]; then
		ok "${name}_fixed_when_tracked"
	else
		fail "${name}_fixed_when_tracked" "got $(cat "$TMP/$p.got") bytes"
	fi
	watch_stop
	"$LAB" down --prefix "$p"
else
	fail "$name" "lab did not come up"
	fail "${name}_fixed_when_tracked" "lab did not come up"
fi
