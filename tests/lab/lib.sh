# lib.sh - what the netns lab tests share (sourced).
#
# Each test builds its own lab with tools/lab.sh under a prefix of its own,
# on addresses drawn at random from the documentation ranges, and removes it
# on exit, even when it fails. mtuscope runs on the lab's gateway and is
# judged only by its --json stream.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
MTS=$ROOT/build/mtuscope
LAB=$ROOT/tools/lab.sh
TMP=$(mktemp -d)
LABS=()
WPIDS=()	# mtuscope runs: stopped with SIGINT, as a user would
BGPIDS=()	# helpers (servers, clients): SIGTERM

ok() { echo "ok $1"; }
fail() { echo "not ok $1${2:+: $2}"; }

. "$(dirname "${BASH_SOURCE[0]}")/need.sh"
# What every lab needs; each test names its own extras.
need lab-tools ip tc iptables ip6tables ss jq timeout || exit 0

lab_cleanup() {
	for p in "${BGPIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${WPIDS[@]}"; do kill -INT "$p" 2>/dev/null; done
	for p in "${WPIDS[@]}"; do wait "$p" 2>/dev/null; done
	for l in "${LABS[@]}"; do "$LAB" down --prefix "$l" 2>/dev/null; done
	[ -n "${KEEP_TMP:-}" ] && echo "kept $TMP" >&2 || rm -rf "$TMP"
}
trap lab_cleanup EXIT
trap 'exit 130' INT TERM

pick() { local a=("$@"); echo "${a[RANDOM % ${#a[@]}]}"; }

# lab_up PREFIX [lab.sh up options]: build a lab on random addresses and
# load its description (LAB_* variables).
lab_up() {
	local p=$1
	shift
	LABS+=("$p")
	local v4 v6 t4 t6
	v4=$(pick 192.0.2 198.51.100 203.0.113)
	v6=2001:db8:$(printf %x $((RANDOM % 4096 + 16)))
	t4=$(pick 198.18 198.19).$((RANDOM % 256))
	t6=2001:db8:$(printf %x $((RANDOM % 4096 + 8192)))
	if ! "$LAB" up --prefix "$p" --v4 "$v4" --v6 "$v6" --tun4 "$t4" --tun6 "$t6" "$@" \
		>"$TMP/$p.env" 2>"$TMP/$p.err"; then
		echo "lab up failed: $(tail -3 "$TMP/$p.err")" >&2
		return 1
	fi
	# shellcheck disable=SC1090
	. "$TMP/$p.env"
}

# watch_start OUT [options]: mtuscope watch --json on the lab's gateway
# interfaces (WATCH_IFS= empty: none named, discovery); returns once it has
# attached (its "start" line).
watch_start() {
	local out=$1
	shift
	# shellcheck disable=SC2086
	ip netns exec "$LAB_NS_GW" "$MTS" watch --json "$@" ${WATCH_IFS-$LAB_WATCH_IFS} \
		>"$out" 2>"$out.err" &
	WPID=$!
	WPIDS+=("$WPID")
	for _ in $(seq 200); do
		grep -q '"event":"start"' "$out" 2>/dev/null && return 0
		kill -0 "$WPID" 2>/dev/null || break
		sleep 0.05
	done
	echo "watch did not start: $(head -c 500 "$out.err")" >&2
	return 1
}

watch_stop() {
	kill -INT "$WPID" 2>/dev/null
	wait "$WPID" 2>/dev/null
}

# The flow's destination as mtuscope prints it.
dst_of() {	# port
	if [ "$LAB_FAMILY" = 6 ]; then echo "[$LAB_DST]:$1"; else echo "$LAB_DST:$1"; fi
}

# Verdict events for one destination, as compact JSON lines.
verdicts_for() {	# out dst
	jq -c --arg d "$2" 'select(.event == "verdict" and .dst == $d)' "$1" 2>/dev/null
}

# Wait until a verdict event matches; prints it. wait_verdict OUT DST VERDICT SEC
wait_verdict() {
	local end=$((SECONDS + $4)) line
	while :; do
		line=$(verdicts_for "$1" "$2" | jq -c --arg v "$3" 'select(.verdict == $v)' | head -1)
		[ -n "$line" ] && { echo "$line"; return 0; }
		[ $SECONDS -ge $end ] && return 1
		sleep 0.1
	done
}

# Summary counter, summed over interfaces: summary_count OUT DIRECTION NAME
summary_count() {
	jq -r --arg d "$2" --arg n "$3" \
		'select(.event == "summary") | [.ifaces[][$d][$n]] | add' "$1" 2>/dev/null
}

now() { date +%s.%N; }

# far_listening PORT: 0 once something listens on the far host's TCP PORT
# (within 5 s).
far_listening() {
	for _ in $(seq 50); do
		ip netns exec "$LAB_NS_FAR" ss -Hltn "sport = :$1" | grep -q . && return 0
		sleep 0.1
	done
	return 1
}
