#!/bin/bash
# t_midstall.sh - the operator's order: the transfer hangs first, mtuscope
# is started second. A flow first seen mid-stall shows one resend of a
# large segment every backoff (6, 13, 26 s apart by then) and nothing back:
#   - with --probe it is `blackhole` at most 3 s after the first resend seen
#     (measured from its `suspect`, which comes one second after it), the
#     wall to the byte (plain: the hop's MTU; WireGuard: the endpoint's path
#     MTU less 60, or 80 over IPv6), joined 5 s and 20 s into the stall,
#     IPv4 and IPv6;
#   - without --probe it is `suspect`, never `stalled`, and says which
#     command confirms it;
#   - a path that died before attach is `stalled` after the probe, never
#     `blackhole`; a healthy transfer joined mid-way gets no verdict at all.
. "$(dirname "$0")/lib.sh"
need t_midstall socat wg wireguard-go || exit 0

BAR=2.0		# seconds from the suspect (first sighting + 1 s) to blackhole

# start_transfer PREFIX [lab.sh up options]: a lab and a transfer into its
# hole (or through it); sets PORT, DST, SPID.
start_transfer() {
	local p=$1
	shift
	lab_up "$p" "$@" || return 1
	PORT=$((RANDOM % 30000 + 20000))
	DST=$(dst_of "$PORT")
	"$LAB" send --prefix "$p" --port "$PORT" --bytes 30000000 --timeout 90 >"$TMP/$p.got" 2>&1 &
	SPID=$!
	BGPIDS+=("$SPID")
}

# joined NAME JOIN_S WALL [lab.sh up options]: --probe, joined JOIN_S into
# the stall; blackhole within the bar, wall_low == WALL.
joined() {
	local name=$1 join=$2 want=$3 p=m$((RANDOM % 900 + 100))$RANDOM
	shift 3
	p=${p:0:7}
	start_transfer "$p" "$@" || { fail "$name" "lab did not come up"; return; }
	sleep "$join"
	local out=$TMP/$p.json s b
	watch_start "$out" --probe || { fail "$name" "watch did not start"; return; }
	if ! b=$(wait_verdict "$out" "$DST" blackhole 40); then
		fail "$name" "no blackhole; saw: $(verdicts_for "$out" "$DST" | jq -r '.verdict + " (" + .why + ")"' | tr '\n' ' ') $(grep probe "$out" | head -2)"
	else
		s=$(wait_verdict "$out" "$DST" suspect 0 || echo '{"ts":0}')
		local lat lo hi
		lat=$(jq -rn --argjson s "$s" --argjson b "$b" '$b.ts - $s.ts | . * 1000 | round / 1000')
		lo=$(jq -r .wall_low <<<"$b")
		hi=$(jq -r .wall_high <<<"$b")
		echo "# $name: suspect -> blackhole in ${lat}s, wall $lo..$hi: $(jq -r .why <<<"$b")"
		if [ "$(jq -r .ts <<<"$s")" = 0 ]; then
			fail "$name" "no suspect before the blackhole: $b"
		elif ! awk -v l="$lat" -v b=$BAR 'BEGIN { exit !(l >= 0 && l <= b) }'; then
			fail "$name" "blackhole ${lat}s after the suspect, bar ${BAR}s"
		elif [ "$lo" != "$want" ] || [ "$hi" != $((want + 1)) ]; then
			fail "$name" "wall $lo..$hi, want $want..$((want + 1))"
		elif verdicts_for "$out" "$DST" | jq -e 'select(.verdict == "stalled")' >/dev/null; then
			fail "$name" "called stalled on the way: $(verdicts_for "$out" "$DST" | jq -r .verdict | tr '\n' ' ')"
		else
			ok "$name"
		fi
	fi
	watch_stop
	kill "$SPID" 2>/dev/null
	"$LAB" down --prefix "$p"
}

joined midstall_plain_ipv4_joined_5s_probe 5 1400 --mode plain --family 4
joined midstall_plain_ipv6_joined_20s_probe 20 1400 --mode plain --family 6
joined midstall_wireguard_ipv4_joined_5s_probe 5 1340 --mode wg --family 4
joined midstall_wireguard_ipv6_joined_20s_probe 20 1320 --mode wg --family 6

# after_hang NAME PREPARE CHECK WATCH_OPTS -- LAB_OPTS: a transfer, then
# PREPARE (the wait, perhaps a cut), then watch; CHECK judges $OUT and
# prints "ok"/"not ok" for NAME.
after_hang() {
	local name=$1 prep=$2 check=$3 p=n$((RANDOM % 900 + 100))$RANDOM wopts=()
	shift 3
	while [ "$1" != -- ]; do wopts+=("$1"); shift; done
	shift
	p=${p:0:7}
	if ! start_transfer "$p" "$@"; then fail "$name" "lab did not come up"; return; fi
	"$prep" "$p"
	OUT=$TMP/$p.json
	if watch_start "$OUT" "${wopts[@]}"; then
		"$check" "$name"
		watch_stop
	else
		fail "$name" "watch did not start"
	fi
	kill "$SPID" 2>/dev/null
	"$LAB" down --prefix "$p"
}

seen() { verdicts_for "$OUT" "$DST" | jq -r '.verdict + " (" + .why + ")"' | tr '\n' ' '; }

wait_5s() { sleep 5; }
cut_then_wait() { sleep 2; "$LAB" cut --prefix "$1"; sleep 5; }
wait_1s() { sleep 1; }

# Without --probe: suspect, with the command that settles it; not stalled.
suspect_with_confirm() {
	local line cmd want="mtuscope probe $DST"
	if ! line=$(wait_verdict "$OUT" "$DST" suspect 15); then
		fail "$1" "no suspect; saw: $(seen)"
		return
	fi
	sleep 1
	cmd=$(jq -r '.confirm // empty' <<<"$line")
	if [ "$cmd" != "$want" ]; then
		fail "$1" "confirm '$cmd', want '$want': $line"
	elif verdicts_for "$OUT" "$DST" | jq -e 'select(.verdict == "stalled" or .verdict == "blackhole")' >/dev/null; then
		fail "$1" "verdicts: $(seen)"
	else
		ok "$1"
	fi
}

# A path that died before attach (no wall: full-size segments were
# delivered, then everything is dropped): stalled once probed, never blackhole.
stalled_not_blackhole() {
	if wait_verdict "$OUT" "$DST" stalled 20 >/dev/null &&
		! verdicts_for "$OUT" "$DST" | jq -e 'select(.verdict == "blackhole")' >/dev/null; then
		ok "$1"
	else
		fail "$1" "verdicts: $(seen) $(grep probe "$OUT" | head -2)"
	fi
}

# A healthy transfer joined mid-way: nothing to say about it.
no_verdict() {
	sleep 4
	if [ -n "$(verdicts_for "$OUT" "$DST")" ]; then fail "$1" "verdicts: $(seen)"; else ok "$1"; fi
}

after_hang midstall_without_probe_is_suspect_with_confirm_command wait_5s suspect_with_confirm \
	-- --mode plain --family 4
after_hang midstall_dead_before_attach_is_stalled_not_blackhole cut_then_wait stalled_not_blackhole \
	--probe -- --mode plain --family 4 --wall none --rate 20mbit --limit 100000
after_hang midstall_healthy_transfer_joined_gets_no_verdict wait_1s no_verdict \
	--probe -- --mode plain --family 4 --wall none --rate 50mbit --limit 200000
