#!/bin/bash
# The live view as its users meet it, in a real terminal (tmux, 80x24) on
# the lab's gateway during a black hole:
#   `mtuscope top` shows the stalled flow as blackhole with the advice;
#   `f` filters by verdict; Enter opens the detail pane with the commands;
#   the view follows a resize; `q` quits with 0, gives the terminal back and
#   detaches; then `top --connect` to a `watch --listen` daemon shows the
#   same black hole, and `top --once --connect` prints it as plain text.
. "$(dirname "$0")/lib.sh"
need t_top socat tmux curl || exit 0

# A tmux server of our own (its socket in $TMP), so no one else's sessions
# are touched.
tm() { tmux -S "$TMP/tmux" -f /dev/null "$@"; }
pane() { tm capture-pane -p -t "$1" 2>/dev/null; }
keys() { tm send-keys -t "$@"; }
trap 'tm kill-server 2>/dev/null; lab_cleanup' EXIT

# wait_for SECONDS COMMAND...: until the command succeeds.
wait_for() {
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		[ $SECONDS -ge $end ] && return 1
		sleep 0.2
	done
}
on_pane() { pane "$1" | grep -Eq -- "$2"; }	# SESSION ERE
off_pane() { ! on_pane "$@"; }
wait_pane() { wait_for "$3" on_pane "$1" "$2"; }	# SESSION ERE SECONDS

# start_top SESSION ARGS...: mtuscope in an 80x24 terminal on the gateway;
# its exit code lands in $TMP/SESSION.rc, the terminal modes after it in
# $TMP/SESSION.stty.
start_top() {
	local s=$1
	shift
	tm new-session -d -s "$s" -x 80 -y 24 \
		"ip netns exec $LAB_NS_GW $MTS $*; echo \$? >$TMP/$s.rc; stty -a >$TMP/$s.stty"
}

mts_progs() { bpftool prog show 2>/dev/null | grep -cE 'name mts_(ingress|egress)'; }

p=t$((RANDOM % 10000))
if ! lab_up "$p" --mode plain --family "$(pick 4 6)"; then fail top_lab "lab did not come up"; exit 1; fi
echo "# lab $p: IPv$LAB_FAMILY, gateway interfaces $LAB_WATCH_IFS"

# --- the local view ----------------------------------------------------
# shellcheck disable=SC2086 # the interfaces are words
start_top local top $LAB_WATCH_IFS
if ! wait_pane local '^VERDICT +SRC' 10; then
	fail top_starts "no table after 10 s: $(pane local | head -5 | tr '\n' '|')"
	exit 1
fi
ok top_starts

port=$((RANDOM % 10000 + 10000))
"$LAB" send --prefix "$p" --port "$port" --bytes 3000000 --timeout 60 >"$TMP/got1" 2>&1 &
SPID1=$!
# at 80 columns the endpoints are cut on the left: the port stays
row_re="^blackhole +[^ ]+ -> [^ ]*:$port +"
if wait_pane local "$row_re" 8; then
	row=$(pane local | grep -E -- "$row_re" | head -1)
	read -r _ _ _ _ ifc _ _ wall advice _ <<<"$row"
	mtu=${advice%/*} mss=${advice#*/}
	if [[ $wall =~ ^[0-9]+\.\.[0-9]+$ && $mtu =~ ^[0-9]+$ && $mss =~ ^[0-9]+$ ]] &&
		[ "$mss" -lt "$mtu" ] && [ "$ifc" = "$LAB_GW_UP_IF" ]; then
		ok top_shows_blackhole_with_advice
	else
		fail top_shows_blackhole_with_advice "row without wall/advice on $LAB_GW_UP_IF: $row"
	fi
else
	fail top_shows_blackhole_with_advice "no blackhole row for :$port: $(pane local | tr '\n' '|')"
fi
lines=$(pane local | wc -l)
widest=$(pane local | awk '{ if (length > m) m = length } END { print m + 0 }')
if [ "$lines" -le 24 ] && [ "$widest" -le 80 ] && pane local | tail -1 | grep -q '^q quit'; then
	ok top_fits_80x24
else
	fail top_fits_80x24 "$lines lines, $widest columns, last: $(pane local | tail -1)"
fi

# f: all -> blackhole -> ptb-ignored (the lab drops every ICMP: none of those)
keys local f
if wait_pane local 'filter blackhole' 2 && pane local | grep -Eq -- "$row_re"; then
	ok top_filter_blackhole_shows_it
else
	fail top_filter_blackhole_shows_it "$(pane local | sed -n 4,8p | tr '\n' '|')"
fi

# Enter on the (only, hence selected) blackhole row: the detail pane
ipt=iptables
[ "$LAB_FAMILY" = 6 ] && ipt=ip6tables
keys local Enter
if wait_pane local "ip link set dev $LAB_GW_UP_IF mtu ${mtu:-X}\b" 2 &&
	pane local | grep -qF -- "$ipt -t mangle -A FORWARD -o $LAB_GW_UP_IF -p tcp" &&
	on_pane local "--set-mss ${mss:-X}\b" && on_pane local "hole_resends +[0-9]+"; then
	ok top_enter_shows_detail_and_commands
else
	fail top_enter_shows_detail_and_commands "$(pane local | tr '\n' '|')"
fi
keys local Escape
if wait_for 2 off_pane local 'ip link set dev'; then ok top_esc_closes_detail
else fail top_esc_closes_detail "the pane is still open"; fi

keys local f
if wait_pane local 'filter ptb-ignored' 2 && wait_pane local 'no flows with this verdict' 2 &&
	! pane local | grep -Eq '^[a-z-]+ +[^ ]+ -> '; then
	ok top_filter_empty_verdict_shows_no_rows
else
	fail top_filter_empty_verdict_shows_no_rows "$(pane local | sed -n 4,8p | tr '\n' '|')"
fi
keys local f f f f f f	# suspect stalled pmtu-limited recovered healthy all
if wait_pane local 'filter all' 2; then ok top_filter_cycles_back_to_all
else fail top_filter_cycles_back_to_all "$(pane local | grep filter)"; fi

# a wider terminal: the endpoints are no longer cut
dst=$(dst_of "$port")
full_row() { pane local | grep '^blackhole' | grep -qF -- "-> $dst "; }
tm resize-window -t local -x 120 -y 40
if wait_for 3 full_row; then ok top_follows_resize
else fail top_follows_resize "no full $dst after resize: $(pane local | grep '^blackhole')"; fi

keys local q
end=$((SECONDS + 2))
while [ ! -s "$TMP/local.rc" ] && [ $SECONDS -lt $end ]; do sleep 0.1; done
rc=$(cat "$TMP/local.rc" 2>/dev/null)
while [ "$(mts_progs)" != 0 ] && [ $SECONDS -lt $end ]; do sleep 0.1; done
if [ "$rc" != 0 ]; then
	fail top_q_quits_and_detaches "exit code '${rc:-none after 2 s}'"
elif [ "$(mts_progs)" != 0 ]; then
	fail top_q_quits_and_detaches "$(mts_progs) mts_ programs still loaded 2 s after q"
elif ! grep -q ' icanon' "$TMP/local.stty" || ! grep -q ' echo ' "$TMP/local.stty"; then
	fail top_q_quits_and_detaches "terminal not restored: $(grep -o -- '-\?icanon\|-\?echo ' "$TMP/local.stty")"
else
	ok top_q_quits_and_detaches
fi
kill "$SPID1" 2>/dev/null

# --- the same view from a daemon ---------------------------------------
PORT=$((RANDOM % 20000 + 30000))
out=$TMP/watch.json
if ! watch_start "$out" --listen "127.0.0.1:$PORT"; then fail top_connect "watch --listen did not start"; exit 1; fi
port2=$((RANDOM % 10000 + 10000))
"$LAB" send --prefix "$p" --port "$port2" --bytes 3000000 --timeout 60 >"$TMP/got2" 2>&1 &
SPID2=$!
dst2=$(dst_of "$port2")
if ! line=$(wait_verdict "$out" "$dst2" blackhole 8); then
	fail top_connect_shows_blackhole "the daemon saw no blackhole for $dst2"
	exit 1
fi
advice2=$(jq -r '"\(.advice_mtu)/\(.advice_mss)"' <<<"$line")
row2_re="^blackhole +[^ ]+ -> [^ ]*:$port2 +.* $advice2 +[0-9]+[smhd]$"

start_top remote top --connect "127.0.0.1:$PORT"
if wait_pane remote "$row2_re" 5 && pane remote | grep -q "from 127.0.0.1:$PORT"; then
	ok top_connect_shows_blackhole
else
	fail top_connect_shows_blackhole "no row for $dst2 with $advice2: $(pane remote | tr '\n' '|')"
fi
keys remote q
end=$((SECONDS + 2))
while [ ! -s "$TMP/remote.rc" ] && [ $SECONDS -lt $end ]; do sleep 0.1; done
if [ "$(cat "$TMP/remote.rc" 2>/dev/null)" = 0 ]; then ok top_connect_q_quits
else fail top_connect_q_quits "exit code '$(cat "$TMP/remote.rc" 2>/dev/null)'"; fi

ip netns exec "$LAB_NS_GW" "$MTS" top --once --connect "127.0.0.1:$PORT" >"$TMP/once.txt" 2>&1
rc=$?
sed 's/^/# /' "$TMP/once.txt"
widest=$(awk '{ if (length > m) m = length } END { print m + 0 }' "$TMP/once.txt")
if [ $rc != 0 ] || ! grep -Eq -- "$row2_re" "$TMP/once.txt"; then
	fail top_once_connect_prints_text "rc $rc, no plain row for $dst2 with $advice2"
elif grep -q $'\e' "$TMP/once.txt" || [ "$widest" -gt 80 ]; then
	fail top_once_connect_prints_text "escape codes or lines of $widest columns"
else
	ok top_once_connect_prints_text
fi

ip netns exec "$LAB_NS_GW" "$MTS" top --once --connect "127.0.0.1:$((PORT + 1))" >"$TMP/none.txt" 2>&1
rc=$?
if [ $rc = 1 ] && grep -q "cannot fetch http://127.0.0.1:$((PORT + 1))/flows" "$TMP/none.txt"; then
	ok top_once_connect_fails_clearly
else
	fail top_once_connect_fails_clearly "rc $rc: $(head -2 "$TMP/none.txt")"
fi

kill "$SPID2" 2>/dev/null
watch_stop
"$LAB" down --prefix "$p"
