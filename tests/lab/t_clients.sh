#!/bin/bash
# t_clients.sh - real clients through the hole, not only socat: iperf3
# (uploads, and -R downloads) and HTTP (curl PUT and GET against
# tests/lab/httpd.py), plain and WireGuard, IPv4 and IPv6, started before
# and after `watch --probe`, judged as transfer.sh says (the wall to the
# byte: 1400 plain, the tunnel's 1340 over an IPv4 underlay, 1320 over
# IPv6).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/transfer.sh"
need t_clients iperf3 curl python3 wg wireguard-go || exit 0

mkdir -p "$TMP/data"
head -c 5000000 /dev/urandom >"$TMP/data/big"
CLIENT=	# the kind of server serve starts: http or iperf3
SRVPID=

# HTTP: one server for the case, on $TMP (GET /data/big, PUT /got.TAG).
# iperf3 serves one test at a time, and a hung one holds it: each
# transfer gets a server of its own (xfer starts it).
serve() {	# PORT
	[ "$CLIENT" = iperf3 ] && return 0
	ip netns exec "$LAB_NS_FAR" python3 "$(dirname "$0")/httpd.py" "$LAB_DST" "$1" "$TMP" \
		>/dev/null 2>&1 &
	BGPIDS+=($!)
	far_listening "$1"
}

xfer() {	# CLIENT DIR PORT TAG [KBS]
	local client=$1 dir=$2 port=$3 tag=$4 lim=${5:-} host=$LAB_DST
	[ "$LAB_FAMILY" = 6 ] && host="[$LAB_DST]"
	rm -f "$TMP/got.$tag"
	if [ "$client" = iperf3 ]; then
		[ -n "$SRVPID" ] && kill "$SRVPID" 2>/dev/null && wait "$SRVPID" 2>/dev/null
		ip netns exec "$LAB_NS_FAR" iperf3 -s -1 -p "$port" -B "$LAB_DST" >/dev/null 2>&1 &
		SRVPID=$!
		BGPIDS+=("$SRVPID")
		far_listening "$port" || echo "iperf3 server did not listen on $port" >&2
		# shellcheck disable=SC2046
		ip netns exec "$LAB_NS_LAN" timeout 40 iperf3 -J -c "$LAB_DST" -p "$port" \
			$([ "$dir" = down ] && echo -R) ${lim:+-b $((lim * 8))K -t 3} \
			${lim:--t 20} >"$TMP/got.$tag" 2>/dev/null &
	elif [ "$dir" = up ]; then
		ip netns exec "$LAB_NS_LAN" timeout 40 curl -sS -H 'Expect:' \
			${lim:+--limit-rate ${lim}K} -T "$TMP/data/big" \
			"http://$host:$port/got.$tag" >"$TMP/x.$tag" 2>&1 &
	else
		ip netns exec "$LAB_NS_LAN" timeout 40 curl -sS ${lim:+--limit-rate ${lim}K} \
			-o "$TMP/got.$tag" "http://$host:$port/data/big" >"$TMP/x.$tag" 2>&1 &
	fi
	XPID=$!
	BGPIDS+=("$XPID")
}

complete() {	# TAG
	if [ "$CLIENT" = iperf3 ]; then
		jq -e '.end.sum_received.bytes > 1000000' "$TMP/got.$1" >/dev/null 2>&1
	else
		cmp -s "$TMP/data/big" "$TMP/got.$1"
	fi
}

client_case() {	# NAME CLIENT DIR ORDER WALL [lab.sh up options]
	CLIENT=$2 SRVPID=
	transfer_case "$@"
}

client_case clients_iperf3_upload_plain_ipv4 iperf3 up before 1400 --mode plain --family 4
client_case clients_iperf3_upload_plain_ipv6 iperf3 up before 1400 --mode plain --family 6
client_case clients_iperf3_upload_wireguard_ipv4 iperf3 up before 1340 --mode wg --family 4
client_case clients_iperf3_upload_joined_plain_ipv4 iperf3 up after 1400 --mode plain --family 4
client_case clients_iperf3_upload_joined_wireguard_ipv6 iperf3 up after 1320 --mode wg --family 6
client_case clients_iperf3_download_wireguard_ipv4 iperf3 down before 1340 --mode wg --family 4
client_case clients_http_upload_plain_ipv6 http up before 1400 --mode plain --family 6
client_case clients_http_upload_joined_wireguard_ipv4 http up after 1340 --mode wg --family 4
client_case clients_http_download_plain_ipv4 http down before 1400 --mode plain --family 4
