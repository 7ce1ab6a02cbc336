#!/bin/bash
# t_ssh.sh - the classic report: ssh works, rsync (or scp) wedges. rsync
# over ssh and scp through the hole, uploads and downloads, plain and
# WireGuard, IPv4 and IPv6, against an ssh server (dropbear, OpenSSH's
# sftp-server) on the far host, started before and after `watch --probe`, judged as transfer.sh says;
# the wall to the byte is 1400 plain, 1340 inside the tunnel.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/transfer.sh"
need t_ssh ssh scp ssh-keygen rsync dropbear dropbearkey wg wireguard-go || exit 0

# The far host's sshd sees this directory as root's home (a bind mount in
# its own mount namespace: nothing of the real /root is touched).
mkdir -p "$TMP/home/.ssh" "$TMP/data"
chmod 700 "$TMP/home" "$TMP/home/.ssh"
ssh-keygen -q -t ed25519 -N '' -C mtuscope-test -f "$TMP/key" || exit 1
cp "$TMP/key.pub" "$TMP/home/.ssh/authorized_keys"
dropbearkey -t ed25519 -f "$TMP/hostkey" >/dev/null 2>&1 || exit 1
head -c 5000000 /dev/urandom >"$TMP/data/big"
SSHO=(-F /dev/null -i "$TMP/key" -o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no
	-o LogLevel=ERROR -o BatchMode=yes)

serve() {	# PORT: dropbear on the far host, on LAB_DST
	local port=$1
	ip netns exec "$LAB_NS_FAR" sh -c "mount --bind '$TMP/home' /root &&
		exec dropbear -F -E -s -p '[$LAB_DST]:$port' -r '$TMP/hostkey'" \
		>"$TMP/sshd.$port.log" 2>&1 &
	BGPIDS+=($!)
	far_listening "$port" && return 0
	echo "sshd did not start: $(head -3 "$TMP/sshd.$port.log")" >&2
	return 1
}

# xfer CLIENT DIR PORT TAG [LIMIT_KBS]: one transfer from the lan host, in
# the background (XPID); its copy lands in $TMP/got.TAG.
xfer() {
	local client=$1 dir=$2 port=$3 tag=$4 lim=${5:-} host=$LAB_DST src dst
	[ "$LAB_FAMILY" = 6 ] && host="[$LAB_DST]"
	rm -f "$TMP/got.$tag"
	if [ "$dir" = up ]; then
		src=$TMP/data/big dst=root@$host:$TMP/got.$tag
	else
		src=root@$host:$TMP/data/big dst=$TMP/got.$tag
	fi
	if [ "$client" = scp ]; then
		ip netns exec "$LAB_NS_LAN" timeout 40 scp -q "${SSHO[@]}" -P "$port" \
			${lim:+-l $((lim * 8))} "$src" "$dst" >"$TMP/x.$tag" 2>&1 &
	else
		ip netns exec "$LAB_NS_LAN" timeout 40 rsync -e "ssh ${SSHO[*]} -p $port" \
			${lim:+--bwlimit=$lim} "$src" "$dst" >"$TMP/x.$tag" 2>&1 &
	fi
	XPID=$!
	BGPIDS+=("$XPID")
}

complete() {	# TAG
	cmp -s "$TMP/data/big" "$TMP/got.$1"
}

# Control: an interactive session that sits idle for 8 s between two
# commands, on a path without the wall: --probe prints nothing worse than
# pmtu-limited (the idle flow it probed is not news).
idle_control() {	# NAME [lab.sh up options]
	local name=$1 p=i$((RANDOM % 900 + 100))$RANDOM host
	shift
	[[ $name == *${ONLY:-}* ]] || return 0
	p=${p:0:7}
	lab_up "$p" --wall none "$@" || { fail "$name" "lab did not come up"; return; }
	local out=$TMP/$p.json port=$((RANDOM % 30000 + 20000)) got bad
	host=$LAB_DST
	serve "$port" || { fail "$name" "sshd did not start"; "$LAB" down --prefix "$p"; return; }
	watch_start "$out" --probe || { fail "$name" "watch did not start"; return; }
	got=$(ip netns exec "$LAB_NS_LAN" timeout 30 ssh "${SSHO[@]}" -p "$port" "root@$host" \
		'echo before; sleep 8; echo after' 2>&1 | tr '\n' ' ')
	sleep 1
	bad=$(jq -r 'select(.event == "verdict" and .verdict != "healthy" and
		.verdict != "recovered" and .verdict != "pmtu-limited") | "\(.dst) \(.verdict)"' "$out")
	if [ "$got" != "before after " ]; then
		fail "$name" "the session said: $got"
	elif [ -n "$bad" ]; then
		fail "$name" "verdicts on a healthy path: $bad"
	else
		ok "$name"
	fi
	watch_stop
	"$LAB" down --prefix "$p"
}

transfer_case ssh_rsync_upload_plain_ipv4 rsync up before 1400 --mode plain --family 4
transfer_case ssh_scp_download_plain_ipv6 scp down before 1400 --mode plain --family 6
transfer_case ssh_scp_upload_wireguard_ipv4 scp up before 1340 --mode wg --family 4
transfer_case ssh_rsync_download_wireguard_ipv4 rsync down before 1340 --mode wg --family 4
transfer_case ssh_scp_upload_joined_plain_ipv6 scp up after 1400 --mode plain --family 6
transfer_case ssh_rsync_upload_joined_wireguard_ipv4 rsync up after 1340 --mode wg --family 4
idle_control ssh_idle_session_probe_says_nothing --mode wg --family 6
