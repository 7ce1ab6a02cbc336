#!/bin/bash
# The exporter as its users meet it: `mtuscope watch --listen` on the lab's
# gateway during a black hole, scraped by curl, checked by promtool, scraped
# by a real Prometheus server whose query API must see the black hole and
# then its end after the fix; /flows names the stalled flow; hostile
# clients (1000 parallel requests, a slowloris, a 1 MB header line, random
# bytes) neither crash nor stall it; 1000 scrapes in a row all succeed.
. "$(dirname "$0")/lib.sh"
need t_exporter socat curl promtool || exit 0

p=x$((RANDOM % 10000))
if ! lab_up "$p" --mode plain --family $(pick 4 6); then fail exporter_lab "lab did not come up"; exit 1; fi
PORT=$((RANDOM % 20000 + 30000))
PROM_PORT=$((PORT + 1))
URL=http://127.0.0.1:$PORT
out=$TMP/watch.json
if ! watch_start "$out" --listen "127.0.0.1:$PORT"; then fail exporter_starts "watch did not start"; exit 1; fi

gw() { ip netns exec "$LAB_NS_GW" "$@"; }
scrape() { gw curl -s --max-time 3 "$URL$1"; }
code() { gw curl -s -o /dev/null --max-time 5 -w '%{http_code}' "$@"; }

listen=$(jq -r 'select(.event == "start") | .listen' "$out")
if [ "$listen" = "127.0.0.1:$PORT" ]; then ok exporter_prints_its_address
else fail exporter_prints_its_address "start event says listen=$listen"; fi

# --- a real Prometheus server scraping the daemon every second ----------
cat >"$TMP/prom.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: mtuscope
    static_configs:
      - targets: ['127.0.0.1:$PORT']
EOF
ip netns exec "$LAB_NS_GW" prometheus --config.file="$TMP/prom.yml" \
	--storage.tsdb.path="$TMP/tsdb" --web.listen-address="127.0.0.1:$PROM_PORT" \
	>"$TMP/prom.log" 2>&1 &
BGPIDS+=($!)
promql() {	# the value of the first series of an instant query, or empty
	gw curl -s --max-time 3 "http://127.0.0.1:$PROM_PORT/api/v1/query" \
		--data-urlencode "query=$1" | jq -r '.data.result[0].value[1] // empty' 2>/dev/null
}
for _ in $(seq 100); do
	[ "$(promql 'up{job="mtuscope"}')" = 1 ] && break
	sleep 0.2
done
if [ "$(promql 'up{job="mtuscope"}')" = 1 ]; then ok prometheus_scrapes_exporter
else fail prometheus_scrapes_exporter "up != 1: $(tail -3 "$TMP/prom.log")"; fi

# --- the black hole, seen through /metrics within 3 s -------------------
port=$((RANDOM % 10000 + 10000))
t0=$(now)
"$LAB" send --prefix "$p" --port "$port" --bytes 3000000 --timeout 90 >"$TMP/got" 2>&1 &
spid=$!
seen=""
while awk -v t0="$t0" -v t="$(now)" 'BEGIN { exit !(t - t0 < 5) }'; do
	if scrape /metrics | grep -q '^mtuscope_flows{verdict="blackhole"} [1-9]'; then
		seen=$(awk -v t0="$t0" -v t="$(now)" 'BEGIN { printf "%.2f", t - t0 }')
		break
	fi
	sleep 0.1
done
echo "# /metrics showed the black hole ${seen:-never} s after the transfer began"
if [ -n "$seen" ] && awk -v s="$seen" 'BEGIN { exit !(s <= 3) }'; then ok metrics_show_blackhole_within_3s
else fail metrics_show_blackhole_within_3s "after ${seen:-never} s"; fi

scrape /metrics >"$TMP/metrics.txt"
if promtool check metrics <"$TMP/metrics.txt" >"$TMP/promtool.out" 2>&1 && [ ! -s "$TMP/promtool.out" ]; then
	ok promtool_check_metrics_clean
else
	fail promtool_check_metrics_clean "$(head -5 "$TMP/promtool.out")"
fi
bad=$(grep -v '^#' "$TMP/metrics.txt" | grep -vE '^mtuscope_[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? [0-9.e+-]+$' | head -3)
untyped=$(grep -v '^#' "$TMP/metrics.txt" | sed -E 's/[{ ].*//' | sort -u | while read -r m; do
	grep -q "^# TYPE $m " "$TMP/metrics.txt" || echo "$m"; done)
if [ -n "$bad$untyped" ]; then fail metrics_well_formed "malformed: $bad; without TYPE: $untyped"
else ok metrics_well_formed; fi

dst=$(dst_of "$port")
flows=$(scrape /flows)
if ! jq -e . >/dev/null 2>&1 <<<"$flows"; then fail flows_is_json "not JSON: ${flows:0:200}"
elif [ "$(jq -r --arg d "$dst" '.flows[] | select(.dst == $d) | .verdict' <<<"$flows")" != blackhole ]; then
	fail flows_names_stalled_flow_blackhole "$(jq -c '.flows' <<<"$flows" | head -c 400)"
elif [ "$(jq -r --arg d "$dst" '.flows[] | select(.dst == $d) | .advice_mtu' <<<"$flows")" -le 0 ]; then
	fail flows_names_stalled_flow_blackhole "no advice"
else
	ok flows_names_stalled_flow_blackhole
fi

# Prometheus sees it too.
pv=""
for _ in $(seq 50); do
	pv=$(promql 'mtuscope_flows{verdict="blackhole"}')
	[ -n "$pv" ] && [ "$pv" -ge 1 ] 2>/dev/null && break
	sleep 0.2
done
if [ -n "$pv" ] && [ "$pv" -ge 1 ] 2>/dev/null; then ok prometheus_sees_blackhole
else fail prometheus_sees_blackhole "mtuscope_flows{verdict=\"blackhole\"} = '${pv}'"; fi

# --- hostile clients ------------------------------------------------------
# 1000 requests, 100 at a time.
seq 1000 | gw xargs -P 100 -I{} curl -s -o /dev/null --max-time 10 -w '%{http_code}\n' \
	"$URL/metrics" >"$TMP/par.codes" 2>/dev/null
n200=$(grep -c '^200$' "$TMP/par.codes")
echo "# 1000 parallel requests: $n200 answered 200 (the rest refused by the connection limits)"
# A slowloris: a request that never finishes, held open.
{ printf 'GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: '; sleep 30; } |
	gw socat -u - "TCP:127.0.0.1:$PORT" >/dev/null 2>&1 &
slow=$!
BGPIDS+=("$slow")
# A 1 MB header line.
big=$({ printf 'GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: '; head -c 1000000 /dev/zero | tr '\0' a;
	printf '\r\n\r\n'; } | gw socat -t 5 - "TCP:127.0.0.1:$PORT" 2>/dev/null | head -1 | tr -d '\r')
echo "# 1 MB header line answered: ${big:-nothing (connection closed)}"
# Random bytes.
head -c 65536 /dev/urandom | gw socat -t 3 -u - "TCP:127.0.0.1:$PORT" >/dev/null 2>&1
# Still answering, still detecting.
c=$(code "$URL/metrics")
port2=$((port + 1))
t1=$(now)
"$LAB" send --prefix "$p" --port "$port2" --bytes 3000000 --timeout 90 >"$TMP/got2" 2>&1 &
spid2=$!
line=$(wait_verdict "$out" "$(dst_of "$port2")" blackhole 5)
kill -0 $slow 2>/dev/null && slow_alive=y
if [ "$c" != 200 ]; then fail survives_hostile_clients "/metrics answered $c"
elif [ -z "$line" ]; then fail survives_hostile_clients "detection stopped: no blackhole for a new flow"
elif [ -z "${slow_alive:-}" ]; then fail survives_hostile_clients "the slowloris client was not held (test broken)"
elif ! kill -0 "$WPID" 2>/dev/null; then fail survives_hostile_clients "the daemon died"
else ok survives_hostile_clients; fi
kill $slow 2>/dev/null

# --- 1000 scrapes in a row ----------------------------------------------
fails=$(for _ in $(seq 1000); do echo; done | gw xargs -P 1 -I{} curl -s -o /dev/null --max-time 5 \
	-w '%{http_code}\n' "$URL/metrics" | grep -vc '^200$')
if [ "$fails" = 0 ]; then ok thousand_scrapes_in_a_row
else fail thousand_scrapes_in_a_row "$fails of 1000 failed"; fi

# --- routes and methods -------------------------------------------------
r404=$(code "$URL/nope") r405=$(code -X POST -d x "$URL/metrics") r405b=$(code -X DELETE "$URL/flows")
if [ "$r404$r405$r405b" = 404405405 ]; then ok unknown_path_404_other_method_405
else fail unknown_path_404_other_method_405 "got $r404 $r405 $r405b"; fi

# --- the fix: the black hole ends, in /metrics and in Prometheus --------
mtu=$(jq -r --arg d "$dst" '.flows[] | select(.dst == $d) | .advice_mtu' <<<"$flows")
mss=$(jq -r --arg d "$dst" '.flows[] | select(.dst == $d) | .advice_mss' <<<"$flows")
"$LAB" fix --prefix "$p" --mtu "$mtu" --mss "$mss"
wait $spid $spid2
got=$(cat "$TMP/got")
# Both stalled flows resume at their senders' next retransmission, which
# backs off exponentially: allow for it.
pv=""
for _ in $(seq 300); do
	pv=$(promql 'mtuscope_flows{verdict="blackhole"}')
	[ "$pv" = 0 ] && break
	sleep 0.2
done
rec=$(promql 'mtuscope_verdicts_total{verdict="recovered"}')
if [ "$got" != 3000000 ] || [ "$(cat "$TMP/got2")" != 3000000 ]; then
	fail prometheus_sees_blackhole_end "transfers got $got and $(cat "$TMP/got2") bytes after the fix"
elif [ "$pv" != 0 ] || [ "${rec:-0}" -lt 1 ]; then
	fail prometheus_sees_blackhole_end "blackhole=$pv recovered=$rec"
else ok prometheus_sees_blackhole_end; fi

watch_stop
