#!/bin/bash
# lab.sh - a PMTU black hole in network namespaces, with real stacks.
#
#   lan host --- gw --- rtr --- far
#
# gw is the gateway mtuscope watches. rtr's onward link (rtr -> far) has a
# small MTU (default 1400; --wall-side gw puts it on rtr's link towards gw
# instead, where downloads from far meet it) and rtr's firewall drops ICMP, so the
# frag-needed / packet-too-big it would send never reaches anyone: a black
# hole. Only rtr's own interface towards far gets the small MTU: far itself
# keeps 1500, so its advertised MSS does not hide the problem.
#
# Modes:
#   plain  gw routes lan <-> far; the transfer goes lan host -> far.
#   wg     gw and far run wireguard-go (tunnel MTU 1440) over gw-rtr-far; the
#          transfer goes lan host -> far's tunnel address, and the black hole
#          is on the underlay (outer datagrams up to 1500 bytes).
#          --peers 2 adds a second peer, far2, behind rtr on a link without
#          the wall (send --to 2 reaches it): one broken path, one healthy.
# Every link is dual-stack; --family picks the one the transfer uses.
#
# Commands (all take --prefix P, which names the namespaces P-lan, P-gw,
# P-rtr, P-far and every interface, so several labs can coexist):
#   up [options]         build it (see usage), print its description
#   env                  print the lab's description (shell variables)
#   send [--bytes N] [--port N] [--timeout SEC] [--to 1|2] [--reverse]
#                        transfer N bytes lan host -> far (--reverse: the
#                        lan host downloads them from far); print the bytes
#                        received; exit 0 only if all arrived
#   fix --mtu M --mss S  set the tunnel MTU (wg) or gw's onward MTU (plain)
#                        and clamp TCP MSS on gw's FORWARD chain
#   cut                  kill the path at rtr (everything dropped, both ways)
#   restart              wg: gw's tunnel down and up again, as wg-quick does
#                        (the interface deleted, then made anew with the same
#                        name, keys, peers, addresses and MTU)
#   down                 remove all of it
#
# Addresses come only from documentation ranges and 198.18.0.0/15.
set -euo pipefail

STATE_DIR=/run/mtuscope-lab

usage() {
	cat <<EOF
usage: $0 COMMAND [--prefix P] [options]
  up   [--mode plain|wg] [--family 4|6] [--wall MTU|none] [--wall-side far|gw] [--icmp drop|allow] [--peers 1|2]
       [--nat] [--loss PCT] [--rate RATE --limit BYTES]
       [--v4 A.B.C] [--v6 2001:db8:X] [--tun4 198.18.X] [--tun6 2001:db8:Y]
  env | send [--bytes N] [--port N] [--timeout SEC] [--to 1|2] [--reverse] | fix --mtu M --mss S | cut
  restart | down
EOF
	exit 64
}

die() { echo "lab.sh: $*" >&2; exit 1; }

[ $# -ge 1 ] || usage
cmd=$1
shift

P=mtl MODE=plain FAMILY=4 WALL=1400 WALL_SIDE=far ICMP=drop NAT=0 LOSS= RATE= LIMIT= PEERS=1 TO=1
V4=203.0.113 V6=2001:db8:113 TUN4=198.18.0 TUN6=2001:db8:18
BYTES=4000000 PORT=5001 TIMEOUT=30 FIX_MTU= FIX_MSS= REVERSE=0
while [ $# -gt 0 ]; do
	case $1 in
	--prefix) P=$2 ;;
	--mode) MODE=$2 ;;
	--family) FAMILY=$2 ;;
	--wall) WALL=$2 ;;
	--wall-side) WALL_SIDE=$2 ;;
	--icmp) ICMP=$2 ;;
	--nat) NAT=1; shift; continue ;;
	--reverse) REVERSE=1; shift; continue ;;
	--peers) PEERS=$2 ;;
	--to) TO=$2 ;;
	--loss) LOSS=$2 ;;
	--rate) RATE=$2 ;;
	--limit) LIMIT=$2 ;;
	--v4) V4=$2 ;;
	--v6) V6=$2 ;;
	--tun4) TUN4=$2 ;;
	--tun6) TUN6=$2 ;;
	--bytes) BYTES=$2 ;;
	--port) PORT=$2 ;;
	--timeout) TIMEOUT=$2 ;;
	--mtu) FIX_MTU=$2 ;;
	--mss) FIX_MSS=$2 ;;
	*) usage ;;
	esac
	[ $# -ge 2 ] || usage
	shift 2
done

[[ $P =~ ^[a-z][a-z0-9]{0,7}$ ]] || die "--prefix: 1-8 lowercase letters/digits, starting with a letter"
STATE=$STATE_DIR/$P.env

# Namespaces and interface names (IFNAMSIZ 16: prefix <= 8 + 2).
NS_LAN=$P-lan NS_GW=$P-gw NS_RTR=$P-rtr NS_FAR=$P-far NS_FAR2=$P-fa2
IF_LAN=${P}l0		# lan host
IF_GW_LAN=${P}g0	# gw, lan side
IF_GW_UP=${P}g1		# gw, underlay
IF_RTR_IN=${P}r0	# rtr, towards gw
IF_RTR_OUT=${P}r1	# rtr, onward (the small MTU)
IF_FAR=${P}f0		# far
IF_RTR_OUT2=${P}r2	# rtr, towards far2 (--peers 2; no wall)
IF_FAR2=${P}f2		# far2
WG_GW=${P}w0 WG_FAR=${P}w1 WG_FAR2=${P}w2

nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# ----------------------------------------------------------------- down
down() {
	local pids
	for f in "$STATE_DIR/$P".*.pid; do
		[ -e "$f" ] || continue
		kill "$(cat "$f")" 2>/dev/null || true
		rm -f "$f"
	done
	for ns in $NS_LAN $NS_GW $NS_RTR $NS_FAR $NS_FAR2; do
		# Whatever still runs in the namespace (socat, wireguard-go).
		pids=$(ip netns pids "$ns" 2>/dev/null || true)
		[ -n "$pids" ] && kill $pids 2>/dev/null || true
		ip netns del "$ns" 2>/dev/null || true
	done
	rm -f /var/run/wireguard/$WG_GW.sock /var/run/wireguard/$WG_FAR.sock \
		/var/run/wireguard/$WG_FAR2.sock "$STATE"
}

# ------------------------------------------------------------------- up
a4() { echo "$V4.$1"; }		# host part within the /24
a6() { echo "$V6:$1::$2"; }	# subnet, host

ADDRS=()	# "ns link v4 v6" of every address addr() gave
addr() {	# ns ifname v4host v6subnet v6host
	ADDRS+=("$1 $4 $(a4 "$3") $(a6 "$4" "$5")")
	nsx "$1" ip addr add "$(a4 "$3")/26" dev "$2"
	nsx "$1" ip addr add "$(a6 "$4" "$5")/64" dev "$2" nodad
	nsx "$1" ip link set "$2" up
}

veth() {	# ns1 if1 ns2 if2
	ip link add "$2" netns "$1" type veth peer name "$4" netns "$3"
}

# A far end's tunnel joined to gw's: gw gets it as a peer (endpoint as gw
# reaches it, the tunnel addresses gw routes to it), and it gets gw (the
# caller's kg and ep_gw), the LAN behind gw routed into its tunnel.
far_peer() {	# ns ifname key endpoint allowed-ips-on-gw
	local ns=$1 ifn=$2
	nsx $NS_GW wg set $WG_GW peer "$(echo "$3" | wg pubkey)" endpoint "$4" allowed-ips "$5"
	nsx "$ns" wg set "$ifn" peer "$(echo "$kg" | wg pubkey)" endpoint "$ep_gw" \
		allowed-ips "$TUN4.0/24,$TUN6::/64,$(a4 0)/26,$V6:1::/64" persistent-keepalive 1
	nsx "$ns" ip route add "$(a4 0)/26" dev "$ifn"
	nsx "$ns" ip -6 route add "$V6:1::/64" dev "$ifn"
}

# wireguard-go for ifname in ns, once its control socket is there.
run_wg() {	# ns ifname
	nsx "$1" env WG_PROCESS_FOREGROUND=1 wireguard-go "$2" >/dev/null 2>&1 &
	echo $! >"$STATE_DIR/$P.$2.pid"
	for _ in $(seq 100); do
		[ -S /var/run/wireguard/$2.sock ] && break
		sleep 0.05
	done
	[ -S /var/run/wireguard/$2.sock ] || die "wireguard-go $2 did not start"
}

start_wg() {	# ns ifname key port tunaddr4 tunaddr6
	local ns=$1 ifn=$2
	run_wg "$ns" "$ifn"
	local key=$STATE_DIR/$P.$ifn.key
	(umask 077; echo "$3" >"$key")
	nsx "$ns" wg set "$ifn" private-key "$key" listen-port "$4"
	rm -f "$key"
	nsx "$ns" ip addr add "$5/24" dev "$ifn"
	nsx "$ns" ip addr add "$6/64" dev "$ifn" nodad
	nsx "$ns" ip link set "$ifn" mtu 1440 up
}

up() {
	case $MODE in plain|wg) ;; *) die "--mode: plain or wg" ;; esac
	case $FAMILY in 4|6) ;; *) die "--family: 4 or 6" ;; esac
	case $ICMP in drop|allow) ;; *) die "--icmp: drop or allow" ;; esac
	[ "$WALL" = none ] || [[ $WALL =~ ^[0-9]+$ ]] || die "--wall: an MTU or none"
	case $WALL_SIDE in far | gw) ;; *) die "--wall-side: far or gw" ;; esac
	if [ -n "$RATE" ] && [ -z "$LIMIT" ]; then die "--rate needs --limit"; fi
	case $PEERS in 1) ;; 2) [ "$MODE" = wg ] || die "--peers 2 needs --mode wg" ;;
		*) die "--peers: 1 or 2" ;; esac
	mkdir -p "$STATE_DIR"
	down
	trap 'down' ERR

	for ns in $NS_LAN $NS_GW $NS_RTR $NS_FAR; do
		ip netns add "$ns"
		nsx "$ns" ip link set lo up
		nsx "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
	done
	for ns in $NS_GW $NS_RTR; do
		nsx "$ns" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
	done
	[ "$MODE" = wg ] && nsx $NS_FAR sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
	if [ "$PEERS" = 2 ]; then
		# A second WireGuard peer behind rtr, on a link without the wall.
		ip netns add $NS_FAR2
		nsx $NS_FAR2 ip link set lo up
		nsx $NS_FAR2 sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
			net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
		veth $NS_RTR $IF_RTR_OUT2 $NS_FAR2 $IF_FAR2
		addr $NS_RTR $IF_RTR_OUT2 193 4 1
		addr $NS_FAR2 $IF_FAR2 194 4 2
		nsx $NS_FAR2 ip route add default via "$(a4 193)"
		nsx $NS_FAR2 ip -6 route add default via "$(a6 4 1)"
	fi

	veth $NS_LAN $IF_LAN $NS_GW $IF_GW_LAN
	veth $NS_GW $IF_GW_UP $NS_RTR $IF_RTR_IN
	veth $NS_RTR $IF_RTR_OUT $NS_FAR $IF_FAR
	# /26s of the /24: lan .0, gw-rtr .64, rtr-far .128; /64s 1, 2, 3.
	addr $NS_LAN $IF_LAN 2 1 2
	addr $NS_GW $IF_GW_LAN 1 1 1
	addr $NS_GW $IF_GW_UP 65 2 1
	addr $NS_RTR $IF_RTR_IN 66 2 2
	addr $NS_RTR $IF_RTR_OUT 129 3 1
	addr $NS_FAR $IF_FAR 130 3 2

	nsx $NS_LAN ip route add default via "$(a4 1)"
	nsx $NS_LAN ip -6 route add default via "$(a6 1 1)"
	nsx $NS_GW ip route add default via "$(a4 66)"
	nsx $NS_GW ip -6 route add default via "$(a6 2 2)"
	nsx $NS_FAR ip route add default via "$(a4 129)"
	nsx $NS_FAR ip -6 route add default via "$(a6 3 1)"
	if [ "$NAT" = 0 ]; then
		nsx $NS_RTR ip route add "$(a4 0)/26" via "$(a4 65)"
		nsx $NS_RTR ip -6 route add "$V6:1::/64" via "$(a6 2 1)"
	fi

	# The wall: one interface of rtr, onward (towards far) or back towards gw.
	if [ "$WALL" != none ]; then
		if [ "$WALL_SIDE" = far ]; then
			nsx $NS_RTR ip link set $IF_RTR_OUT mtu "$WALL"
		else
			# Both ends of the link, as on a real one: a veth end takes in
			# packets 4 bytes past its MTU (VLAN slack), and the far
			# end's echo replies fragment, so a probe from gw would see
			# the wall 4 bytes too high.
			nsx $NS_RTR ip link set $IF_RTR_IN mtu "$WALL"
			nsx $NS_GW ip link set $IF_GW_UP mtu "$WALL"
		fi
	fi

	# rtr's firewall. Its own frag-needed / PTB leaves through OUTPUT;
	# FORWARD covers any from further on. Neighbour discovery is not
	# forwarded and is no PTB, so IPv6 keeps working.
	if [ "$ICMP" = drop ]; then
		nsx $NS_RTR iptables -A OUTPUT -p icmp -j DROP
		nsx $NS_RTR iptables -A FORWARD -p icmp -j DROP
		nsx $NS_RTR ip6tables -A OUTPUT -p icmpv6 --icmpv6-type packet-too-big -j DROP
		nsx $NS_RTR ip6tables -A FORWARD -p icmpv6 -j DROP
	fi
	# Random loss on every packet size, both ways.
	if [ -n "$LOSS" ]; then
		local p
		p=$(awk -v l="$LOSS" 'BEGIN { printf "%.4f", l / 100 }')
		for t in iptables ip6tables; do
			nsx $NS_RTR $t -t mangle -A FORWARD -m statistic --mode random \
				--probability "$p" -j DROP
		done
	fi
	# A congested bottleneck with a short queue, both ways: tail drops.
	if [ -n "$RATE" ]; then
		for i in $IF_RTR_OUT $IF_RTR_IN; do
			nsx $NS_RTR tc qdisc add dev $i root tbf rate "$RATE" burst 16kb limit "$LIMIT"
		done
	fi

	local dst4 dst6 watch_ifs
	if [ "$MODE" = wg ]; then
		local kg kf
		kg=$(wg genkey) kf=$(wg genkey)
		start_wg $NS_GW $WG_GW "$kg" 51820 "$TUN4.1" "$TUN6::1"
		start_wg $NS_FAR $WG_FAR "$kf" 51821 "$TUN4.2" "$TUN6::2"
		# Endpoints follow --family for the underlay too.
		local ep_far ep_gw
		if [ "$FAMILY" = 4 ]; then ep_far="$(a4 130):51821" ep_gw="$(a4 65):51820"
		else ep_far="[$(a6 3 2)]:51821" ep_gw="[$(a6 2 1)]:51820"; fi
		far_peer $NS_FAR $WG_FAR "$kf" "$ep_far" "$TUN4.0/24,$TUN6::/64"
		if [ "$PEERS" = 2 ]; then
			local kf2 ep_far2
			kf2=$(wg genkey)
			start_wg $NS_FAR2 $WG_FAR2 "$kf2" 51822 "$TUN4.3" "$TUN6::3"
			if [ "$FAMILY" = 4 ]; then ep_far2="$(a4 194):51822"
			else ep_far2="[$(a6 4 2)]:51822"; fi
			far_peer $NS_FAR2 $WG_FAR2 "$kf2" "$ep_far2" "$TUN4.3/32,$TUN6::3/128"
		fi
		[ "$NAT" = 1 ] && nsx $NS_GW iptables -t nat -A POSTROUTING -o $WG_GW -j MASQUERADE
		[ "$NAT" = 1 ] && nsx $NS_GW ip6tables -t nat -A POSTROUTING -o $WG_GW -j MASQUERADE
		dst4=$TUN4.2 dst6=$TUN6::2
		watch_ifs="$WG_GW $IF_GW_UP"
	else
		[ "$NAT" = 1 ] && nsx $NS_GW iptables -t nat -A POSTROUTING -o $IF_GW_UP -j MASQUERADE
		[ "$NAT" = 1 ] && nsx $NS_GW ip6tables -t nat -A POSTROUTING -o $IF_GW_UP -j MASQUERADE
		dst4=$(a4 130) dst6=$(a6 3 2)
		watch_ifs="$IF_GW_LAN $IF_GW_UP"
	fi

	local dst
	if [ "$FAMILY" = 4 ]; then dst=$dst4; else dst=$dst6; fi
	cat >"$STATE" <<EOF
LAB_PREFIX=$P
LAB_MODE=$MODE
LAB_FAMILY=$FAMILY
LAB_NS_LAN=$NS_LAN
LAB_NS_GW=$NS_GW
LAB_NS_RTR=$NS_RTR
LAB_NS_FAR=$NS_FAR
LAB_SRC=$([ "$FAMILY" = 4 ] && a4 2 || a6 1 2)
LAB_DST=$dst
LAB_PEERS=$PEERS
LAB_NS_FAR2=$([ "$PEERS" = 2 ] && echo $NS_FAR2 || true)
LAB_DST2=$([ "$PEERS" = 2 ] && { [ "$FAMILY" = 4 ] && echo "$TUN4.3" || echo "$TUN6::3"; } || true)
LAB_GW_LAN_IF=$IF_GW_LAN
LAB_GW_UP_IF=$IF_GW_UP
LAB_GW_TUN_IF=$([ "$MODE" = wg ] && echo $WG_GW || true)
LAB_WATCH_IFS="$watch_ifs"
EOF
	trap - ERR
	# A fresh link may lose its first packets (the neighbour solicitation
	# of a transfer's SYN, resent only a second later, after which the
	# sender takes a one-second RTT for the rest of the connection): each
	# link's neighbours are resolved first, both ways, by a connection to a
	# closed port on the other side (the RST answers; ICMP may be dropped).
	local a b pids=()
	for a in "${ADDRS[@]}"; do
		for b in "${ADDRS[@]}"; do
			set -- $a $b	# ns link v4 v6, twice
			[ "$2" = "$6" ] && [ "$1" != "$5" ] || continue
			nsx "$1" timeout 2 bash -c "echo >/dev/tcp/$7/9; echo >/dev/tcp/$8/9" \
				>/dev/null 2>&1 &
			pids+=($!)
		done
	done
	wait "${pids[@]}" 2>/dev/null || true
	# Let the tunnel handshake before anyone measures anything.
	if [ "$MODE" = wg ]; then
		for d in $dst $([ "$PEERS" = 2 ] && { [ "$FAMILY" = 4 ] && echo "$TUN4.3" || echo "$TUN6::3"; }); do
			for _ in $(seq 50); do
				nsx $NS_LAN ping -c1 -W1 -"$FAMILY" -s 100 "$d" >/dev/null 2>&1 && break
				sleep 0.1
			done
		done
	fi
	cat "$STATE"
}

# ----------------------------------------------------------------- send
load_state() {
	[ -r "$STATE" ] || die "no lab '$P' (run: $0 up --prefix $P)"
	# shellcheck disable=SC1090
	. "$STATE"
}

wait_listen() {
	for _ in $(seq 50); do
		nsx $LAB_NS_FAR ss -Hltn "sport = :$PORT" | grep -q . && break
		sleep 0.05
	done
}

send() {
	load_state
	local listen connect
	case $TO in
	1) ;;
	2) [ "${LAB_PEERS:-1}" = 2 ] || die "--to 2: the lab has one peer (up --peers 2)"
	   LAB_DST=$LAB_DST2 LAB_NS_FAR=$LAB_NS_FAR2 ;;
	*) die "--to: 1 or 2" ;;
	esac
	if [ "$LAB_FAMILY" = 4 ]; then
		listen=TCP4-LISTEN:$PORT,reuseaddr connect=TCP4:$LAB_DST:$PORT
	else
		listen=TCP6-LISTEN:$PORT,reuseaddr connect=TCP6:[$LAB_DST]:$PORT
	fi
	# Killed mid-transfer (a test's cleanup), receiver, sender and count
	# file go with us: both ends run in the background under timeout(1)
	# (outermost: `ip netns exec` forks), which passes a signal on to its
	# whole process group, and a signal interrupts our wait at once.
	# rpid, spid and out are globals: the EXIT trap runs after we return.
	rpid= spid=
	out=$(mktemp)
	trap 'rc=$?; kill $rpid $spid 2>/dev/null || :; rm -f "$out"; exit $rc' EXIT
	trap 'exit 143' TERM INT
	# far listens; the data goes to it (upload) or comes from it (--reverse).
	# (the inner timeout stays in the outer one's group, and on its own
	# expiry stops socat only: wc still prints what had arrived)
	local rx='timeout --foreground "$2" socat -u "$1" - 2>/dev/null | wc -c'
	local tx='head -c "$2" /dev/zero | socat -u - "$1" 2>/dev/null'
	if [ "$REVERSE" = 1 ]; then
		timeout "$TIMEOUT" ip netns exec $LAB_NS_FAR sh -c "$tx" sh "$listen" "$BYTES" &
		spid=$!
		wait_listen
		timeout $((TIMEOUT + 5)) ip netns exec $LAB_NS_LAN sh -c "$rx" sh "$connect" "$TIMEOUT" \
			>"$out" &
		rpid=$!
	else
		timeout $((TIMEOUT + 5)) ip netns exec $LAB_NS_FAR sh -c "$rx" sh "$listen" "$TIMEOUT" \
			>"$out" &
		rpid=$!
		wait_listen
		timeout "$TIMEOUT" ip netns exec $LAB_NS_LAN sh -c "$tx" sh "$connect" "$BYTES" &
		spid=$!
	fi
	wait $rpid || true
	wait $spid || true
	rpid= spid=
	local got
	got=$(tr -d ' ' <"$out")
	echo "$got"
	[ "$got" = "$BYTES" ]
}

fix() {
	load_state
	[[ $FIX_MTU =~ ^[0-9]+$ && $FIX_MSS =~ ^[0-9]+$ ]] || die "fix needs --mtu M --mss S"
	if [ "$LAB_MODE" = wg ]; then
		nsx $LAB_NS_GW ip link set "$LAB_GW_TUN_IF" mtu "$FIX_MTU"
		nsx $LAB_NS_FAR ip link set "${P}w1" mtu "$FIX_MTU"
	else
		nsx $LAB_NS_GW ip link set "$LAB_GW_UP_IF" mtu "$FIX_MTU"
	fi
	for t in iptables ip6tables; do
		nsx $LAB_NS_GW $t -t mangle -A FORWARD -p tcp --tcp-flags SYN,RST SYN \
			-j TCPMSS --set-mss "$FIX_MSS"
	done
}

# wg-quick down/up on gw: the configuration saved, wireguard-go stopped (the
# interface goes with it), started again under the same name and set up as
# before.
restart_tunnel() {
	load_state
	[ "$LAB_MODE" = wg ] || die "restart needs a lab in --mode wg"
	local ifn=$LAB_GW_TUN_IF conf mtu addrs pid
	conf=$STATE_DIR/$P.$ifn.conf
	(umask 077; nsx $LAB_NS_GW wg showconf "$ifn" >"$conf")
	mtu=$(nsx $LAB_NS_GW cat /sys/class/net/"$ifn"/mtu)
	addrs=$(nsx $LAB_NS_GW ip -o addr show dev "$ifn" scope global | awk '{ print $4 }')
	# The pid file holds the subshell that started it: find wireguard-go itself.
	for pid in $(ip netns pids $LAB_NS_GW); do
		[ "$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" = "wireguard-go $ifn " ] && kill "$pid"
	done
	for _ in $(seq 100); do
		nsx $LAB_NS_GW ip link show "$ifn" >/dev/null 2>&1 || break
		sleep 0.05
	done
	nsx $LAB_NS_GW ip link show "$ifn" >/dev/null 2>&1 && die "$ifn did not go"
	run_wg $LAB_NS_GW "$ifn"
	nsx $LAB_NS_GW wg setconf "$ifn" "$conf"
	rm -f "$conf"
	for a in $addrs; do
		case $a in *:*) nsx $LAB_NS_GW ip addr add "$a" dev "$ifn" nodad ;;
		*) nsx $LAB_NS_GW ip addr add "$a" dev "$ifn" ;; esac
	done
	nsx $LAB_NS_GW ip link set "$ifn" mtu "$mtu" up
}

cut_path() {
	load_state
	for t in iptables ip6tables; do
		nsx $LAB_NS_RTR $t -I FORWARD -j DROP
	done
}

case $cmd in
up) up ;;
down) down ;;
env) load_state; cat "$STATE" ;;
send) send ;;
fix) fix ;;
cut) cut_path ;;
restart) restart_tunnel ;;
*) usage ;;
esac
