#!/bin/bash
# The detection bar: ten consecutive transfers into the black hole (Linux
# sender, default RTO), alternating plain routing and WireGuard, each get a
# `blackhole` verdict at most 3 s after they start. Prints every latency.
. "$(dirname "$0")/lib.sh"
need t_bar socat || exit 0

RUNS=10 BAR=3.0
declare -A outs
for mode in plain wg; do
	p=r${mode:0:1}$((RANDOM % 10000))
	if ! lab_up "$p" --mode "$mode"; then fail blackhole_bar_10_runs "lab $mode did not come up"; exit 1; fi
	cp "$TMP/$p.env" "$TMP/$mode.env"
	outs[$mode]=$TMP/$p.json
	if ! watch_start "${outs[$mode]}"; then fail blackhole_bar_10_runs "watch did not start"; exit 1; fi
	echo "$p" >"$TMP/$mode.prefix"
done

lats=() bad=""
for i in $(seq $RUNS); do
	mode=$([ $((i % 2)) = 1 ] && echo plain || echo wg)
	. "$TMP/$mode.env"
	port=$((RANDOM % 30000 + 20000))
	t0=$(now)
	"$LAB" send --prefix "$(cat "$TMP/$mode.prefix")" --port "$port" --bytes 2000000 \
		--timeout 4 >/dev/null 2>&1 &
	spid=$!
	if line=$(wait_verdict "${outs[$mode]}" "$(dst_of "$port")" blackhole 4); then
		lat=$(jq -r --arg t0 "$t0" '.ts - ($t0 | tonumber) | . * 1000 | round / 1000' <<<"$line")
	else
		lat=none
	fi
	wait $spid
	lats+=("$mode:$lat")
	if [ "$lat" = none ] || ! awk -v l="$lat" -v b=$BAR 'BEGIN { exit !(l <= b) }'; then
		bad="$bad run $i ($mode): $lat;"
	fi
done
echo "# seconds to blackhole: ${lats[*]}"
if [ -n "$bad" ]; then fail blackhole_bar_10_runs "over ${BAR}s:$bad"
else ok blackhole_bar_10_runs; fi
