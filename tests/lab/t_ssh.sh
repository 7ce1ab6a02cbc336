#!/bin/bash
# t_ssh.sh - the classic report: ssh works, rsync (or scp) wedges. rsync
# over ssh and scp through the hole, uploads and downloads, plain and
# WireGuard, IPv4 and IPv6, against an ssh server (dropbear, OpenSSH's
# sftp-server) on the far host:
#  - started after `watch --probe`: `blackhole` within 3 s (uploads) or
#    5 s (downloads) of the transfer's start, then the wall to the byte
#    from the probe (1400 plain, 1340 inside the tunnel);
#  - started 5 s before it (joined mid-stall, uploads: a download stalled
#    before attach sends nothing past this gateway): `blackhole` with the
#    wall to the byte within 3 s of the first resend after attach;
#  - with the advice applied, a transfer started after the detector and
#    one started before it complete, with no verdict worse than
#    pmtu-limited.
. "$(dirname "$0")/lib.sh"
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

sshd_start() {	# PORT: dropbear on the far host, on LAB_DST
	local port=$1
	ip netns exec "$LAB_NS_FAR" sh -c "mount --bind '$TMP/home' /root &&
		exec dropbear -F -E -s -p '[$LAB_DST]:$port' -r '$TMP/hostkey'" \
		>"$TMP/sshd.$port.log" 2>&1 &
	BGPIDS+=($!)
	for _ in $(seq 50); do
		ip netns exec "$LAB_NS_FAR" ss -Hltn "sport = :$port" | grep -q . && return 0
		sleep 0.1
	done
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

# The flow's blackhole lines (either orientation: a download's sender is
# the far end), from t0 on.
holes() {	# OUT DST
	jq -c --arg d "$2" 'select(.event == "verdict" and .verdict == "blackhole" and
		(.src == $d or .dst == $d))' "$1" 2>/dev/null
}

complete() {	# TAG
	cmp -s "$TMP/data/big" "$TMP/got.$1"
}

# ssh_case NAME CLIENT DIR ORDER WALL [lab.sh up options]
ssh_case() {
	local name=$1 client=$2 dir=$3 order=$4 want=$5 p=h$((RANDOM % 900 + 100))$RANDOM
	shift 5
	[[ $name == *${ONLY:-}* ]] || return 0	# ONLY=part: the cases whose name has it
	p=${p:0:7}
	local side=() bar=3.0
	[ "$dir" = down ] && side=(--wall-side gw) bar=5.0
	lab_up "$p" "$@" "${side[@]}" || { fail "$name" "lab did not come up"; return; }
	local out=$TMP/$p.json out2=$TMP/$p.2.json port=$((RANDOM % 30000 + 20000)) t0 dst line lat
	local pinned mtu mss
	dst=$(dst_of "$port")
	sshd_start "$port" || { fail "$name" "sshd did not start"; "$LAB" down --prefix "$p"; return; }
	if [ "$order" = before ]; then
		watch_start "$out" --probe || { fail "$name" "watch did not start"; return; }
		t0=$(now)
		xfer "$client" "$dir" "$port" "$p.1"
	else
		xfer "$client" "$dir" "$port" "$p.1"
		sleep 5
		watch_start "$out" --probe || { fail "$name" "watch did not start"; return; }
		t0=$(now)
		bar=9.5	# the next resend: ~6.2 s after the start (RTO backoff), + 3 s
	fi
	for _ in $(seq 120); do
		pinned=$(holes "$out" "$dst" | jq -c --argjson w "$want" 'select(.wall_low == $w)' | head -1)
		[ -n "$pinned" ] && break
		sleep 0.1
	done
	line=$(holes "$out" "$dst" | head -1)
	kill "$XPID" 2>/dev/null
	if [ -z "$line" ]; then
		fail "$name" "no blackhole for $dst; saw: $(jq -c 'select(.event == "verdict") | [.src, .dst, .verdict, .why]' "$out" | head -3 | tr '\n' ' ')"
		watch_stop
		"$LAB" down --prefix "$p"
		return
	fi
	lat=$(jq -r --arg t0 "$t0" '.ts - ($t0 | tonumber) | . * 1000 | round / 1000' <<<"${pinned:-$line}")
	echo "# $name: first blackhole after $(jq -r --arg t0 "$t0" '.ts - ($t0 | tonumber) | . * 1000 | round / 1000' <<<"$line")s ($(jq -r '"\(.wall_low)..\(.wall_high), \(.direction)"' <<<"$line")), the wall to the byte after ${lat}s"
	mtu=$(jq -r .advice_mtu <<<"${pinned:-$line}")
	mss=$(jq -r .advice_mss <<<"${pinned:-$line}")
	if [ "$order" = before ] && ! awk -v l="$(jq -r --arg t0 "$t0" '.ts - ($t0 | tonumber)' <<<"$line")" \
		-v b=$bar 'BEGIN { exit !(l >= 0 && l <= b) }'; then
		fail "$name" "first blackhole after more than ${bar}s"
	elif [ -z "$pinned" ]; then
		fail "$name" "no wall to the byte ($want): $(holes "$out" "$dst" | jq -r '"\(.wall_low)..\(.wall_high)"' | tr '\n' ' ')"
	elif [ "$order" = after ] && ! awk -v l="$lat" -v b=$bar 'BEGIN { exit !(l >= 0 && l <= b) }'; then
		fail "$name" "wall to the byte after ${lat}s of watching, bar ${bar}s"
	elif [ "$(jq -r .direction <<<"$pinned")" != "$([ "$dir" = up ] && echo outbound || echo inbound)" ]; then
		fail "$name" "direction $(jq -r .direction <<<"$pinned")"
	elif ! "$LAB" fix --prefix "$p" --mtu "$mtu" --mss "$mss"; then
		fail "$name" "could not apply the fix"
	else
		# Fixed: one transfer started after the detector, one before it
		# (2 MB/s, so the detector joins it mid-way).
		local n0 bad
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
			fail "$name" "with the fix, started after the detector, the $client $dir did not complete: $(head -c 200 "$TMP/x.$p.2")"
		elif ! complete "$p.3"; then
			fail "$name" "with the fix, started before the detector, the $client $dir did not complete: $(head -c 200 "$TMP/x.$p.3")"
		elif [ -n "$bad" ]; then
			fail "$name" "after the fix: $bad"
		else
			ok "$name"
		fi
	fi
	watch_stop
	"$LAB" down --prefix "$p"
}

ssh_case ssh_rsync_upload_plain_ipv4 rsync up before 1400 --mode plain --family 4
ssh_case ssh_scp_download_plain_ipv6 scp down before 1400 --mode plain --family 6
ssh_case ssh_scp_upload_wireguard_ipv4 scp up before 1340 --mode wg --family 4
ssh_case ssh_rsync_download_wireguard_ipv4 rsync down before 1340 --mode wg --family 4
ssh_case ssh_scp_upload_joined_plain_ipv6 scp up after 1400 --mode plain --family 6
ssh_case ssh_rsync_upload_joined_wireguard_ipv4 rsync up after 1340 --mode wg --family 4
