#!/bin/bash
# t_churn.sh - interfaces that go and come back while watch runs: the
# gateway's WireGuard tunnel restarted as wg-quick down/up does it (the
# interface deleted, made anew under its name). watch says "gone", then
# "back" within 1 s of the new interface, keeps running, and a black hole
# through the new tunnel is found as usual; named and discovered alike.
. "$(dirname "$0")/lib.sh"
need t_churn socat wg wireguard-go || exit 0

BACK_BAR=1.0	# seconds from the new interface to watch's "back"
BH_BAR=8	# seconds from the transfer's start to its blackhole

# iface_event OUT IFACE STATE: the first such event, compact.
iface_event() {
	jq -c --arg i "$2" --arg s "$3" 'select(.event == "iface" and .iface == $i and .state == $s)' \
		"$1" 2>/dev/null | head -1
}

# restarted NAME FAMILY named|discovered: a wg lab with the wall; watch (on
# the lab's interfaces, or none named); the tunnel restarted; the events,
# then a transfer into the hole.
restarted() {
	local name=$1 family=$2 p=c$((RANDOM % 900 + 100))$RANDOM out gone back t_up port dst b
	p=${p:0:7}
	lab_up "$p" --mode wg --family "$family" || { fail "$name" "lab did not come up"; return; }
	out=$TMP/$p.json
	local ifs=$LAB_WATCH_IFS
	[ "$3" = discovered ] && ifs=
	WATCH_IFS=$ifs watch_start "$out" || { fail "$name" "watch did not start"; "$LAB" down --prefix "$p"; return; }
	if ! "$LAB" restart --prefix "$p" 2>"$TMP/$p.restart"; then
		fail "$name" "restart failed: $(cat "$TMP/$p.restart")"
		watch_stop
		"$LAB" down --prefix "$p"
		return
	fi
	t_up=$(now)
	for _ in $(seq 30); do
		back=$(iface_event "$out" "$LAB_GW_TUN_IF" back)
		[ -n "$back" ] && break
		sleep 0.1
	done
	gone=$(iface_event "$out" "$LAB_GW_TUN_IF" gone)
	port=$((RANDOM % 30000 + 20000))
	dst=$(dst_of "$port")
	"$LAB" send --prefix "$p" --port "$port" --bytes 3000000 --timeout 30 >"$TMP/$p.got" 2>&1 &
	BGPIDS+=($!)
	b=$(wait_verdict "$out" "$dst" blackhole "$BH_BAR")
	watch_stop
	local late
	late=$(jq -rn --argjson b "${back:-null}" --arg t "$t_up" 'if $b then $b.ts - ($t | tonumber) else 99 end')
	if [ -z "$gone" ]; then fail "$name" "no gone event: $(grep -v verdict "$out" | tail -c 400)"
	elif [ -z "$back" ]; then fail "$name" "no back event within 3 s: $(grep -v verdict "$out" | tail -c 400)"
	elif ! awk -v l="$late" -v b="$BACK_BAR" 'BEGIN { exit !(l <= b) }'; then
		fail "$name" "back ${late}s after the new tunnel was up, bar ${BACK_BAR}s"
	elif [ -z "$b" ]; then
		fail "$name" "no blackhole within ${BH_BAR}s after the restart; saw: $(verdicts_for "$out" "$dst" | jq -r .verdict | tr '\n' ' ')"
	elif [ "$(jq -r .iface <<<"$b")" != "$LAB_GW_TUN_IF" ] && [ "$(jq -r .tunnel <<<"$b")" != "$LAB_GW_TUN_IF" ]; then
		fail "$name" "blackhole on the wrong interface: $b"
	elif ! grep -q '"event":"summary"' "$out"; then fail "$name" "watch did not end cleanly"
	else
		echo "# $name: back $(jq -rn --arg l "$late" '$l | tonumber * 1000 | round / 1000')s from the new tunnel; $(jq -r '.verdict + " wall " + (.wall_low|tostring) + ".." + (.wall_high|tostring)' <<<"$b")"
		ok "$name"
	fi
	"$LAB" down --prefix "$p"
}

restarted tunnel_restart_named_ipv4 4 named
restarted tunnel_restart_discovered_ipv6 6 discovered
