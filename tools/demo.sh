#!/bin/bash
# demo.sh - the WireGuard black hole, found by mtuscope and fixed, in
# network namespaces (tools/lab.sh --mode wg). Run as root: make demo.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
MTS=$ROOT/build/mtuscope
LAB=$ROOT/tools/lab.sh
P=demo$$
P=${P:0:8}
OUT=$(mktemp)
WPID=

cleanup() {
	[ -n "$WPID" ] && kill -INT "$WPID" 2>/dev/null && wait "$WPID" 2>/dev/null
	"$LAB" down --prefix "$P" 2>/dev/null
	rm -f "$OUT"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
die() { echo "demo: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (network namespaces, BPF): sudo make demo"
[ -x "$MTS" ] || die "build first: make"

say "Lab: lan host -- gw (wireguard-go, MTU 1440) -- rtr (onward MTU 1400, drops ICMP) -- far (wireguard-go)"
"$LAB" up --prefix "$P" --mode wg >/dev/null || die "lab did not come up"
. /run/mtuscope-lab/$P.env
echo "small packets work:"
ip netns exec "$LAB_NS_LAN" ping -c 2 -W 1 "$LAB_DST" | sed 's/^/  /'

say "mtuscope watch $LAB_WATCH_IFS   (on the gateway)"
ip netns exec "$LAB_NS_GW" "$MTS" watch $LAB_WATCH_IFS >"$OUT" 2>&1 &
WPID=$!
tail -s 0.1 -f --pid=$WPID "$OUT" 2>/dev/null | sed -u 's/^/  | /' &
for _ in $(seq 200); do grep -q '^watching' "$OUT" && break; sleep 0.05; done

say "A 20 MB transfer from the lan host to $LAB_DST through the tunnel"
"$LAB" send --prefix "$P" --bytes 20000000 --timeout 60 >"$OUT.got" 2>&1 &
SPID=$!
for _ in $(seq 100); do grep -q ' blackhole ' "$OUT" && break; sleep 0.1; done
grep -q ' blackhole ' "$OUT" || die "no blackhole verdict within 10 s"
sleep 1
fix=$(grep -m1 -oE 'fix: MTU [0-9]+ on [^,]+, clamp TCP MSS to [0-9]+' "$OUT")
mtu=$(echo "$fix" | awk '{print $3}')
mss=$(echo "$fix" | awk '{print $NF}')
[ -n "$mtu" ] && [ -n "$mss" ] || die "no fix in the verdict"

say "The transfer hangs. Applying the advice: tunnel MTU $mtu, MSS clamp $mss"
"$LAB" fix --prefix "$P" --mtu "$mtu" --mss "$mss"
wait $SPID
echo "  transfer: $(cat "$OUT.got") of 20000000 bytes arrived"
rm -f "$OUT.got"
for _ in $(seq 50); do grep -qE ' (recovered|healthy) ' "$OUT" && break; sleep 0.1; done
sleep 0.5
kill -INT $WPID
wait $WPID
WPID=
sleep 0.2
say "Done; removing the lab"
