# transfer.sh - one real client's transfer through the hole, judged end to
# end (sourced after lib.sh). The test defines three hooks:
#   serve PORT                   a server on the far host, listening on LAB_DST
#   xfer CLIENT DIR PORT TAG [KBS]  one transfer from the lan host in the
#                                background (XPID), DIR up or down, at most
#                                KBS kB/s; its copy is TAG's
#   complete TAG                 0 if TAG's transfer arrived whole
# and calls transfer_case for each case:
#  - ORDER before: `watch --probe` first, then the transfer: `blackhole`
#    within 3 s (uploads) or 5 s (downloads), then the wall to the byte;
#  - ORDER after: the transfer 5 s before `watch --probe` (joined
#    mid-stall; uploads only: a download stalled before attach sends
#    nothing past this gateway): the wall to the byte within 9.5 s of
#    attach (the next resend, ~6.2 s after the start, + 3 s);
#  - with the advice applied, a transfer started after the detector and
#    one started before it complete, with no verdict worse than
#    pmtu-limited.

# The flow's blackhole lines (either orientation: a download's sender is
# the far end).
holes() {	# OUT DST
	jq -c --arg d "$2" 'select(.event == "verdict" and .verdict == "blackhole" and
		(.src == $d or .dst == $d))' "$1" 2>/dev/null
}

since() {	# LINE T0: seconds from T0 to LINE's ts, to the ms
	jq -r --arg t0 "$2" '.ts - ($t0 | tonumber) | . * 1000 | round / 1000' <<<"$1"
}

within() {	# SEC BAR
	awk -v l="$1" -v b="$2" 'BEGIN { exit !(l >= 0 && l <= b) }'
}

# transfer_case NAME CLIENT DIR ORDER WALL [lab.sh up options];
# ONLY=part runs only the cases whose name has it.
transfer_case() {
	local name=$1 client=$2 dir=$3 order=$4 want=$5 p=x$((RANDOM % 900 + 100))$RANDOM
	shift 5
	[[ $name == *${ONLY:-}* ]] || return 0
	p=${p:0:7}
	local side=() bar=3.0
	[ "$dir" = down ] && side=(--wall-side gw) bar=5.0
	lab_up "$p" "$@" "${side[@]}" || { fail "$name" "lab did not come up"; return; }
	local out=$TMP/$p.json out2=$TMP/$p.2.json port=$((RANDOM % 30000 + 20000)) t0 dst line
	local pinned
	dst=$(dst_of "$port")
	serve "$port" || { fail "$name" "the $client server did not start"; "$LAB" down --prefix "$p"; return; }
	if [ "$order" = before ]; then
		watch_start "$out" --probe || { fail "$name" "watch did not start"; return; }
		t0=$(now)
		xfer "$client" "$dir" "$port" "$p.1"
	else
		xfer "$client" "$dir" "$port" "$p.1"
		sleep 5
		watch_start "$out" --probe || { fail "$name" "watch did not start"; return; }
		t0=$(now)
		bar=9.5
	fi
	for _ in $(seq 120); do
		pinned=$(holes "$out" "$dst" | jq -c --argjson w "$want" 'select(.wall_low == $w)' | head -1)
		[ -n "$pinned" ] && break
		sleep 0.1
	done
	line=$(holes "$out" "$dst" | head -1)
	kill "$XPID" 2>/dev/null
	[ -n "$line" ] && echo "# $name: first blackhole after $(since "$line" "$t0")s ($(jq -r '"\(.wall_low)..\(.wall_high), \(.direction)"' <<<"$line")), the wall to the byte after $(since "${pinned:-$line}" "$t0")s"
	if [ -z "$line" ]; then
		fail "$name" "no blackhole for $dst; saw: $(jq -c 'select(.event == "verdict") | [.src, .dst, .verdict, .why]' "$out" | head -3 | tr '\n' ' ')"
	elif [ "$order" = before ] && ! within "$(since "$line" "$t0")" $bar; then
		fail "$name" "first blackhole after more than ${bar}s"
	elif [ -z "$pinned" ]; then
		fail "$name" "no wall to the byte ($want): $(holes "$out" "$dst" | jq -r '"\(.wall_low)..\(.wall_high)"' | tr '\n' ' ')"
	elif [ "$order" = after ] && ! within "$(since "$pinned" "$t0")" $bar; then
		fail "$name" "wall to the byte after $(since "$pinned" "$t0")s of watching, bar ${bar}s"
	elif [ "$(jq -r .direction <<<"$pinned")" != "$([ "$dir" = up ] && echo outbound || echo inbound)" ]; then
		fail "$name" "direction $(jq -r .direction <<<"$pinned")"
	elif ! "$LAB" fix --prefix "$p" --mtu "$(jq -r .advice_mtu <<<"$pinned")" \
		--mss "$(jq -r .advice_mss <<<"$pinned")"; then
		fail "$name" "could not apply the fix"
	else
		fixed_transfers "$name" "$client" "$dir" "$port" "$p" "$out" "$out2"
	fi
	watch_stop
	"$LAB" down --prefix "$p"
}

# With the fix: one transfer started after the detector, one before it
# (2 MB/s, so the detector joins it mid-way); both complete, and neither
# the first run nor a fresh one says anything worse than pmtu-limited.
fixed_transfers() {	# NAME CLIENT DIR PORT PREFIX OUT OUT2
	local name=$1 client=$2 dir=$3 port=$4 p=$5 out=$6 out2=$7 n0 bad
	n0=$(jq -c 'select(.event == "verdict")' "$out" | wc -l)
	xfer "$client" "$dir" "$port" "$p.2" 2000
	wait "$XPID"
	watch_stop
	xfer "$client" "$dir" "$port" "$p.3" 2000
	sleep 1
	watch_start "$out2" --probe || { fail "$name" "watch did not start"; return; }
	wait "$XPID"
	sleep 0.5
	bad=$( { jq -c 'select(.event == "verdict")' "$out" | tail -n +$((n0 + 1));
		jq -c 'select(.event == "verdict")' "$out2"; } |
		jq -r 'select(.verdict != "healthy" and .verdict != "recovered" and
			.verdict != "pmtu-limited") | "\(.src)>\(.dst) \(.verdict)"' | tr '\n' ' ')
	if ! complete "$p.2"; then
		fail "$name" "with the fix, started after the detector, the $client $dir did not complete"
	elif ! complete "$p.3"; then
		fail "$name" "with the fix, started before the detector, the $client $dir did not complete"
	elif [ -n "$bad" ]; then
		fail "$name" "after the fix: $bad"
	else
		ok "$name"
	fi
}
