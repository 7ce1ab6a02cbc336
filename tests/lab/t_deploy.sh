#!/bin/bash
# t_deploy.sh - the operator surface: systemd unit, `make install`, man page,
# Prometheus scrape config, Grafana dashboard, and the daemon run the way the
# unit runs it (its command line, its capabilities, its system call filter)
# in network namespaces of its own, scraped live.
#
# Prints "ok NAME" / "not ok NAME: why" (counted by tests/run.sh). Needs root
# (namespaces, BPF), systemd-analyze, promtool, groff, man, strace, curl, jq,
# setpriv (tools/deps.sh installs them; a missing one fails in CI and is
# skipped elsewhere). Cleans up on exit, even on failure.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
UNIT=$ROOT/tools/mtuscope.service
DASH=$ROOT/tools/grafana-dashboard.json
SCRAPE=$ROOT/tools/prometheus-scrape.yml
MAN=$ROOT/docs/mtuscope.8
MAX_EXPOSURE=3.0

TMP=$(mktemp -d /tmp/mts-deploy.XXXXXX)
ID=$$
NS_D=mtsdep$ID-d		# the daemon's namespace
NS_P=mtsdep$ID-p		# its peer, for some traffic
IF_D=mtd${ID}d
IF_P=mtd${ID}p
DPID=			# what we started (ip netns exec [strace] setpriv mtuscope)
MPID=			# the mtuscope process itself

ok() { echo "ok $1${2:+ # $2}"; }
fail() { echo "not ok $1${2:+: $2}"; }
. "$ROOT/tests/lab/need.sh"
need t_deploy ip systemd-analyze promtool groff curl jq setpriv ping || exit 0

cleanup() {
	if [ -n "$MPID" ]; then kill -TERM "$MPID" 2>/dev/null; fi
	if [ -n "$DPID" ]; then
		for _ in $(seq 50); do kill -0 "$DPID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$DPID" 2>/dev/null
		[ -n "$MPID" ] && kill -KILL "$MPID" 2>/dev/null
		wait "$DPID" 2>/dev/null
	fi
	ip netns del "$NS_D" 2>/dev/null
	ip netns del "$NS_P" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# One line of a unit setting (the last assignment wins, as in systemd).
unit_get() { sed -n "s/^$1=//p" "$UNIT" | tail -1; }

# ------------------------------------------------- (a) systemd's exposure
t_security() {
	local out level
	out=$(systemd-analyze security --offline=true "$UNIT" 2>&1)
	level=$(sed -n 's/.*Overall exposure level for [^:]*: *\([0-9.]*\).*/\1/p' <<<"$out")
	if [ -z "$level" ]; then
		fail unit-security-exposure "no 'Overall exposure level' line: $(tail -2 <<<"$out" | tr '\n' ' ')"
	elif awk -v l="$level" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(l <= m) }'; then
		ok unit-security-exposure "exposure $level <= $MAX_EXPOSURE"
	else
		fail unit-security-exposure "exposure $level > $MAX_EXPOSURE: $(grep '^✗' <<<"$out" | head -5 | tr -s ' ' | tr '\n' ';')"
	fi
}

# ------------------------------------------------- (b) systemd-analyze verify
# verify checks that ExecStart's binary exists and, for Documentation=man:,
# that `man` finds the page. Rather than ignoring those findings we give
# them something true to find: a root directory holding this system's units,
# a copy of build/mtuscope at the unit's ExecStart path, the man page (found
# through MANPATH) and the unit itself, unmodified.
t_verify() {
	local vr=$TMP/vroot units bin out rc manopt=--man=yes
	bin=$(unit_get ExecStart | awk '{print $1}')
	if [ ! -x "$ROOT/build/mtuscope" ]; then
		fail unit-verify "build/mtuscope missing (make)"
		return
	fi
	units=$(readlink -f /lib/systemd/system)
	mkdir -p "$vr/usr/lib/systemd" "$vr/etc" "$vr/usr/local/share/man/man8" "$vr$(dirname "$bin")"
	cp -a "$units" "$vr/usr/lib/systemd/system"
	ln -s usr/lib "$vr/lib"
	install -m 0755 "$ROOT/build/mtuscope" "$vr$bin"
	install -m 0644 "$MAN" "$vr/usr/local/share/man/man8/mtuscope.8"
	install -m 0644 "$UNIT" "$vr/usr/lib/systemd/system/mtuscope.service"
	need unit-documentation-found man || manopt=--man=no
	out=$(MANPATH=$vr/usr/local/share/man systemd-analyze verify "$manopt" --root="$vr" \
		mtuscope.service 2>&1)
	rc=$?
	if [ "$rc" = 0 ] && ! grep -q . <<<"$out"; then
		ok unit-verify
	else
		fail unit-verify "rc $rc: $(head -5 <<<"$out" | tr '\n' ' ')"
	fi
}

# ------------------------------------------------- (c) make install / uninstall
# Everything lands under DESTDIR, exactly the expected files, the unit
# pointing at PREFIX's sbin; an existing /etc/default/mtuscope is kept;
# nothing outside DESTDIR changes (the same paths on this system are
# compared before and after).
t_install() {
	local d=$TMP/dest prefix=/usr got want outside before after unitf
	want=$(printf '%s\n' etc/default/mtuscope lib/systemd/system/mtuscope.service \
		usr/sbin/mtuscope usr/share/man/man8/mtuscope.8 | sort)
	outside=(/usr/sbin/mtuscope /usr/share/man/man8/mtuscope.8 /usr/local/sbin/mtuscope
		 /usr/local/share/man/man8/mtuscope.8 /lib/systemd/system/mtuscope.service
		 /etc/systemd/system/mtuscope.service /etc/default/mtuscope)
	before=$(stat -c '%n %s %Y %i' "${outside[@]}" 2>/dev/null)
	mkdir -p "$d"
	if ! make -s -C "$ROOT" install DESTDIR="$d" PREFIX=$prefix >"$TMP/install.log" 2>&1; then
		fail make-install "make install failed: $(tail -3 "$TMP/install.log" | tr '\n' ' ')"
		return
	fi
	got=$(cd "$d" && find . -mindepth 1 \( -type f -o -type l \) | sed 's|^\./||' | sort)
	after=$(stat -c '%n %s %Y %i' "${outside[@]}" 2>/dev/null)
	unitf=$d/lib/systemd/system/mtuscope.service
	if [ "$got" != "$want" ]; then
		fail make-install "files under DESTDIR: $(echo $got) (want: $(echo $want))"
	elif [ "$before" != "$after" ]; then
		fail make-install "something outside DESTDIR changed: $(diff <(echo "$before") <(echo "$after") | tr '\n' ' ')"
	elif [ "$(stat -c %a "$d/usr/sbin/mtuscope")" != 755 ] ||
	     [ "$(stat -c %a "$unitf")" != 644 ] ||
	     [ "$(stat -c %a "$d/usr/share/man/man8/mtuscope.8")" != 644 ]; then
		fail make-install "modes: $(cd "$d" && stat -c '%a %n' $want | tr '\n' ' ')"
	elif ! grep -qx 'ExecStart=/usr/sbin/mtuscope watch --listen 127.0.0.1:9841 $MTUSCOPE_IFACES' "$unitf"; then
		fail make-install "installed ExecStart: $(grep '^ExecStart=' "$unitf")"
	elif ! cmp -s "$ROOT/build/mtuscope" "$d/usr/sbin/mtuscope" || ! cmp -s "$MAN" "$d/usr/share/man/man8/mtuscope.8" ||
	     ! cmp -s "$ROOT/tools/mtuscope.default" "$d/etc/default/mtuscope" ||
	     [ "$(grep -v '^ExecStart=\|mtuscope watch --listen' "$unitf")" != "$(grep -v '^ExecStart=\|mtuscope watch --listen' "$UNIT")" ]; then
		fail make-install "installed files differ from the sources beyond the ExecStart path"
	else
		ok make-install "PREFIX=$prefix DESTDIR=..."
	fi

	# An administrator's settings survive a reinstall, and an uninstall.
	echo 'MTUSCOPE_IFACES="wg7 eth7"' >"$d/etc/default/mtuscope"
	if ! make -s -C "$ROOT" install DESTDIR="$d" PREFIX=$prefix >"$TMP/install.log" 2>&1; then
		fail make-install-keeps-default "second make install failed: $(tail -3 "$TMP/install.log" | tr '\n' ' ')"
	elif [ "$(cat "$d/etc/default/mtuscope")" != 'MTUSCOPE_IFACES="wg7 eth7"' ]; then
		fail make-install-keeps-default "/etc/default/mtuscope was overwritten"
	else
		ok make-install-keeps-default
	fi
	make -s -C "$ROOT" uninstall DESTDIR="$d" PREFIX=$prefix >"$TMP/install.log" 2>&1
	got=$(cd "$d" && find . -mindepth 1 \( -type f -o -type l \) | sed 's|^\./||' | sort)
	after=$(stat -c '%n %s %Y %i' "${outside[@]}" 2>/dev/null)
	if [ "$got" != etc/default/mtuscope ]; then
		fail make-uninstall "left under DESTDIR: $(echo $got) (want only etc/default/mtuscope)"
	elif [ "$before" != "$after" ]; then
		fail make-uninstall "something outside DESTDIR changed"
	else
		ok make-uninstall
	fi
}

# ------------------------------------------------- man page
t_man() {
	local out
	out=$(groff -ww -man -z "$MAN" 2>&1)
	if [ $? != 0 ] || [ -n "$out" ]; then
		fail man-page "groff -ww -man -z: $(head -3 <<<"$out" | tr '\n' ' ')"
	elif ! grep -q '^\.SH "EXIT STATUS"' "$MAN" || ! grep -qF '\-\-listen' "$MAN"; then
		fail man-page "no EXIT STATUS section or no --listen"
	else
		ok man-page
	fi
}

# ------------------------------------------------- (e) Prometheus config
t_promconfig() {
	local out
	if out=$(promtool check config "$SCRAPE" 2>&1); then
		if grep -q 'job_name: *mtuscope' "$SCRAPE" && grep -q "gateway:9841" "$SCRAPE"; then
			ok prometheus-config
		else
			fail prometheus-config "no job mtuscope scraping gateway:9841"
		fi
	else
		fail prometheus-config "$(tr '\n' ' ' <<<"$out" | head -c 400)"
	fi
}

# ------------------------------------------------- dashboard: well-formed
# Every panel query parses as PromQL (promtool, with Grafana's variables
# replaced), every query uses the ${DS_PROMETHEUS} data source, and there is
# an `instance` variable.
dash_exprs() { jq -r '.. | objects | select(has("expr")) | .expr' "$DASH"; }

t_dashboard_syntax() {
	local rules=$TMP/dash-rules.yml out bad
	if ! jq -e . "$DASH" >/dev/null 2>&1; then
		fail dashboard-promql-parses "not valid JSON"
		return
	fi
	# JSON is YAML: one recording rule per expression.
	jq '{groups: [{name: "dashboard", rules: [[.. | objects | select(has("expr")) | .expr]
		| to_entries[] | {record: "dashboard:expr_\(.key)", expr: (.value
		| gsub("\\$__(rate_interval|interval|range)"; "1m")
		| gsub("\\$\\{?[A-Za-z_]+\\}?"; ".*"))}]}]}' "$DASH" >"$rules"
	bad=$(jq -r '[.. | objects | select(has("targets")) | .targets[] |
		select((.datasource.uid // "") != "${DS_PROMETHEUS}") | .refId] | length' "$DASH")
	if ! out=$(promtool check rules "$rules" 2>&1); then
		fail dashboard-promql-parses "$(grep -i 'error\|fail' <<<"$out" | head -3 | tr '\n' ' ')"
	elif [ "$(dash_exprs | wc -l)" -lt 10 ]; then
		fail dashboard-promql-parses "only $(dash_exprs | wc -l) expressions"
	elif [ "$bad" != 0 ]; then
		fail dashboard-promql-parses "$bad queries not on \${DS_PROMETHEUS}"
	elif ! jq -e '.templating.list | map(.name) | index("instance")' "$DASH" >/dev/null; then
		fail dashboard-promql-parses "no instance template variable"
	else
		ok dashboard-promql-parses "$(dash_exprs | wc -l) expressions"
	fi
}

# Metric names in PromQL expressions (one per line on stdin): drop strings,
# label matchers, ranges, grouping clauses, numbers and durations; what is
# left that is not a function call or a keyword is a metric name.
promql_metrics() {
	sed -E -e 's/"([^"\\]|\\.)*"//g' -e "s/'([^'\\\\]|\\\\.)*'//g" \
		-e 's/\{[^}]*\}//g' -e 's/\[[^]]*\]//g' \
		-e 's/(^|[^A-Za-z0-9_:])(by|without|on|ignoring|group_left|group_right)[[:space:]]*\([^)]*\)/\1/g' \
		-e 's/(^|[^A-Za-z0-9_:])[0-9][0-9.]*([eE][-+]?[0-9]+)?(ms|[smhdwy])?([0-9]+(ms|[smhdwy]))*/\1/g' |
	grep -oE '[A-Za-z_:][A-Za-z0-9_:]*[[:space:]]*\(?' | grep -v '($' | sed 's/[[:space:]]//g' |
	grep -vxE 'by|without|on|ignoring|group_left|group_right|bool|offset|and|or|unless|inf|nan|Inf|NaN' |
	sort -u
}

# Metric names in the template variables' queries (label_values(METRIC, L)).
dash_var_metrics() {
	jq -r '.templating.list[] | select(.type == "query") |
		(.definition // (.query | if type == "object" then .query else . end) // "")' "$DASH" |
	while IFS= read -r q; do
		if [[ $q =~ ^[[:space:]]*label_values\([[:space:]]*([A-Za-z_:][A-Za-z0-9_:]*) ]]; then
			echo "${BASH_REMATCH[1]}"
		elif [[ $q =~ ^[[:space:]]*(query_result|metrics)\((.*)\)[[:space:]]*$ ]]; then
			promql_metrics <<<"${BASH_REMATCH[2]}"
		fi
	done | sort -u
}

# ------------------------------------------------- the daemon, as the unit runs it
# Capabilities as setpriv wants them: "CAP_BPF CAP_NET_ADMIN" -> "+bpf,+net_admin".
caps_of() { tr ' ' '\n' | sed -n 's/^CAP_\(.*\)/+\L\1/p' | paste -sd, -; }

# Expand SystemCallFilter= lines the way systemd does: an allow list starts
# from @default; later lines add, "~" lines remove, in order.
syscall_allowlist() {
	local line neg item
	expand_group() {
		systemd-analyze syscall-filter "$1" 2>/dev/null | awk 'NR > 1 && $1 !~ /^#/ && NF { print $1 }' |
		while read -r s; do
			case $s in @*) expand_group "$s" ;; *) echo "$s" ;; esac
		done
	}
	declare -A set=()
	for s in $(expand_group @default); do set[$s]=1; done
	while IFS= read -r line; do
		neg=
		[ "${line#\~}" != "$line" ] && neg=1 && line=${line#\~}
		for item in $line; do
			for s in $(case $item in @*) expand_group "$item" ;; *) echo "$item" ;; esac); do
				if [ -n "$neg" ]; then unset "set[$s]"; else set[$s]=1; fi
			done
		done
	done < <(sed -n 's/^SystemCallFilter=//p' "$UNIT")
	printf '%s\n' "${!set[@]}" | sort
}

t_daemon() {
	local bindir=$TMP/bin bin caps amb args uidopt=() nnp=() strace=() a b
	local metrics=$TMP/metrics.txt
	# The daemon runs under the unit's unprivileged user.
	need_nonroot daemon-checks || return
	mkdir -p "$bindir"
	chmod 0755 "$TMP" "$bindir"
	if [ ! -x "$ROOT/build/mtuscope" ]; then
		fail daemon-under-unit-privileges "build/mtuscope missing (make)"
		fail dashboard-metrics-exist "build/mtuscope missing (make)"
		return
	fi
	# A copy: a rebuild elsewhere cannot change it under us.
	bin=$bindir/mtuscope
	install -m 0755 "$ROOT/build/mtuscope" "$bin"

	a=$((RANDOM % 100 + 1))
	b=$((a + 100))
	ip netns add "$NS_D" && ip netns add "$NS_P" &&
	ip link add "$IF_D" netns "$NS_D" type veth peer name "$IF_P" netns "$NS_P" &&
	ip -n "$NS_D" addr add 192.0.2.$a/24 dev "$IF_D" &&
	ip -n "$NS_P" addr add 192.0.2.$b/24 dev "$IF_P" &&
	ip -n "$NS_D" link set lo up && ip -n "$NS_D" link set "$IF_D" up &&
	ip -n "$NS_P" link set "$IF_P" up || {
		fail daemon-under-unit-privileges "could not build the namespaces"
		return
	}

	# The unit's command line, with its binary replaced by our copy and
	# $MTUSCOPE_IFACES by the veth.
	args=$(unit_get ExecStart | cut -d' ' -f2- | sed "s/\\\$MTUSCOPE_IFACES/$IF_D/; s/\\\${MTUSCOPE_IFACES}/$IF_D/")
	caps=$(unit_get CapabilityBoundingSet | caps_of)
	amb=$(unit_get AmbientCapabilities | caps_of)
	# DynamicUser=yes (or User= not root): some unprivileged uid.
	if grep -qiE '^DynamicUser=(yes|true|on|1)$' "$UNIT" ||
	   { [ -n "$(unit_get User)" ] && [ "$(unit_get User)" != root ]; }; then
		uidopt=(--reuid 61234 --regid 61234 --clear-groups)
	fi
	grep -qiE '^NoNewPrivileges=(yes|true|on|1)$' "$UNIT" && nnp=(--no-new-privs)
	if need syscalls-within-filter strace; then
		strace=(strace -f -qq -o "$TMP/strace.log")
	else
		need files-within-sandbox strace
	fi

	# shellcheck disable=SC2086
	ip netns exec "$NS_D" "${strace[@]}" setpriv "${uidopt[@]}" "${nnp[@]}" \
		--bounding-set "-all${caps:+,$caps}" --inh-caps "-all${amb:+,$amb}" \
		--ambient-caps "-all${amb:+,$amb}" "$bin" $args >"$TMP/daemon.out" 2>"$TMP/daemon.err" &
	DPID=$!
	MPID=$DPID
	local port=${args##*--listen }
	port=${port%% *}
	[[ $port == *:* ]] || port=127.0.0.1:$port
	for _ in $(seq 150); do
		if [ ${#strace[@]} -gt 0 ] && [ "$MPID" = "$DPID" ]; then
			MPID=$(ps -o pid= --ppid "$DPID" | head -1 | tr -d ' ')
			[ -n "$MPID" ] || MPID=$DPID
		fi
		ip netns exec "$NS_D" curl -sf --max-time 2 "http://$port/metrics" >"$metrics" 2>/dev/null && break
		kill -0 "$DPID" 2>/dev/null || break
		sleep 0.1
	done
	if [ -s "$metrics" ]; then
		ok daemon-under-unit-privileges "$args; caps $caps${uidopt:+, uid 61234}"
	else
		fail daemon-under-unit-privileges "no /metrics on $port: $(head -c 300 "$TMP/daemon.err" | tr '\n' ' ')"
		# Still judge the dashboard: scrape a daemon with all of root's power.
		cleanup_daemon
		ip netns exec "$NS_D" "$bin" $args >"$TMP/daemon.out" 2>"$TMP/daemon.err" &
		DPID=$!
		MPID=$DPID
		strace=()
		for _ in $(seq 100); do
			ip netns exec "$NS_D" curl -sf --max-time 2 "http://$port/metrics" >"$metrics" 2>/dev/null && break
			kill -0 "$DPID" 2>/dev/null || break
			sleep 0.1
		done
	fi

	# Some traffic through the hooks, then a fresh scrape.
	ip netns exec "$NS_P" ping -c 3 -i 0.2 -W 1 -q 192.0.2.$a >/dev/null 2>&1
	ip netns exec "$NS_D" curl -sf --max-time 2 "http://$port/metrics" >"$metrics.2" 2>/dev/null &&
		mv "$metrics.2" "$metrics"

	# (d) the dashboard names only metrics this exporter emits.
	if [ ! -s "$metrics" ]; then
		fail dashboard-metrics-exist "no /metrics from the daemon: $(head -c 300 "$TMP/daemon.err" | tr '\n' ' ')"
	else
		local emitted used missing
		# Families from "# TYPE"; a counter also answers to NAME_total.
		emitted=$(awk '$1 == "#" && $2 == "TYPE" { print $3; if ($4 == "counter" && $3 !~ /_total$/) print $3 "_total" }' "$metrics" | sort -u)
		used=$({ dash_exprs | promql_metrics; dash_var_metrics; } | sort -u)
		missing=$(comm -23 <(echo "$used") <(echo "$emitted"))
		if [ -z "$emitted" ]; then
			fail dashboard-metrics-exist "no '# TYPE' line in /metrics"
		elif [ -z "$used" ]; then
			fail dashboard-metrics-exist "no metric name found in the dashboard"
		elif [ -n "$missing" ]; then
			fail dashboard-metrics-exist "not emitted by the exporter: $(echo $missing)"
		else
			ok dashboard-metrics-exist "$(wc -l <<<"$used") names used, $(wc -l <<<"$emitted") emitted"
		fi
	fi

	# SIGTERM (systemctl stop) ends it cleanly, with exit status 0. The
	# process is found again by name in its namespace (under strace, the
	# child seen first may not have been it).
	local p
	p=$(ip netns pids "$NS_D" 2>/dev/null | xargs -r ps -o pid=,comm= -p 2>/dev/null |
		awk '$2 == "mtuscope" { print $1; exit }')
	[ -n "$p" ] && MPID=$p
	if [ -n "$MPID" ] && kill -0 "$MPID" 2>/dev/null; then
		kill -TERM "$MPID"
		local rc=
		for _ in $(seq 100); do kill -0 "$DPID" 2>/dev/null || break; sleep 0.1; done
		if kill -0 "$DPID" 2>/dev/null; then
			fail daemon-stops-on-sigterm "still running 10 s after SIGTERM"
		else
			wait "$DPID"
			rc=$?
			if [ "$rc" = 0 ]; then ok daemon-stops-on-sigterm; else fail daemon-stops-on-sigterm "exit status $rc"; fi
		fi
		DPID=
		MPID=
	else
		fail daemon-stops-on-sigterm "daemon not running"
	fi

	# Every system call it made is allowed by the unit's SystemCallFilter.
	if ! command -v strace >/dev/null; then
		:	# reported by need above
	elif [ ${#strace[@]} = 0 ]; then
		fail syscalls-within-filter "not traced: the daemon did not start under the unit's privileges"
		fail files-within-sandbox "not traced: the daemon did not start under the unit's privileges"
	else
		local used_sc allowed extra
		# From the exec of mtuscope on (setpriv's own calls are not the daemon's).
		used_sc=$(awk -v b="$bin" 'index($0, "execve(\"" b "\"") && / = 0$/ { on = 1 }
			on && match($0, /^[0-9]+ +[a-z_0-9]+\(/) { s = substr($0, RSTART, RLENGTH - 1); sub(/^[0-9]+ +/, "", s); print s }' \
			"$TMP/strace.log" | sort -u)
		allowed=$(syscall_allowlist)
		extra=$(comm -23 <(echo "$used_sc") <(echo "$allowed"))
		if [ -z "$used_sc" ]; then
			fail syscalls-within-filter "no system call traced"
		elif [ -n "$extra" ]; then
			fail syscalls-within-filter "outside SystemCallFilter: $(echo $extra)"
		else
			ok syscalls-within-filter "$(wc -l <<<"$used_sc") distinct calls$(grep -qx bpf <<<"$used_sc" && echo ", bpf included")$(grep -qx perf_event_open <<<"$used_sc" || echo ", no perf_event_open")"
		fi
		# Every file it opened is one the unit's sandbox leaves it:
		# ProcSubset=pid (only /proc/PID, /proc/self), PrivateDevices (only
		# the pseudo devices), ProtectHome, and ProtectSystem=strict with
		# PrivateTmp (writes only to /tmp, /var/tmp, /dev/null).
		local denied yes='^(yes|true|on|1)$'
		denied=$(awk -v b="$bin" \
			-v procsub="$([ "$(unit_get ProcSubset)" = pid ] && echo 1)" \
			-v privdev="$([[ $(unit_get PrivateDevices) =~ $yes ]] && echo 1)" \
			-v home="$([[ $(unit_get ProtectHome) =~ $yes|^tmpfs$|^read-only$ ]] && echo 1)" \
			-v strict="$([ "$(unit_get ProtectSystem)" = strict ] || grep -qiE '^DynamicUser=(yes|true|on|1)$' "$UNIT" && echo 1)" '
			index($0, "execve(\"" b "\"") && / = 0$/ { on = 1; next }
			!on || !match($0, /^[0-9]+ +(open|openat|openat2|creat)\(/) || / = -1 / { next }
			{
				p = $0; sub(/^[^"]*"/, "", p); f = p; sub(/".*/, "", p); sub(/^[^"]*"/, "", f)
				w = (f ~ /O_WRONLY|O_RDWR|O_CREAT|O_TRUNC/) || /creat\(/
				bad = ""
				if (procsub && p ~ /^\/proc\// && p !~ /^\/proc\/(self|thread-self|[0-9]+)(\/|$)/) bad = "ProcSubset=pid"
				else if (privdev && p ~ /^\/dev\// && p !~ /^\/dev\/(null|zero|full|random|urandom|tty|log|shm\/.*|pts\/.*)$/) bad = "PrivateDevices"
				else if (home && p ~ /^\/(home|root|run\/user)(\/|$)/) bad = "ProtectHome"
				else if (strict && w && p !~ /^\/(tmp|var\/tmp)\// && p != "/dev/null" && p !~ /^\/proc\/(self|thread-self|[0-9]+)\//) bad = "ProtectSystem=strict"
				if (bad != "") print p " (" bad ")"
			}' "$TMP/strace.log" | sort -u)
		if [ -n "$denied" ]; then
			fail files-within-sandbox "$(echo $denied)"
		else
			ok files-within-sandbox
		fi
	fi
}

cleanup_daemon() {
	[ -n "$MPID" ] && kill -TERM "$MPID" 2>/dev/null
	if [ -n "$DPID" ]; then
		for _ in $(seq 50); do kill -0 "$DPID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$DPID" 2>/dev/null
		wait "$DPID" 2>/dev/null
	fi
	DPID=
	MPID=
}

if [ "$(id -u)" != 0 ]; then
	fail deploy "needs root (network namespaces, BPF)"
	exit 1
fi
t_security
t_verify
t_install
t_man
t_promconfig
t_dashboard_syntax
t_daemon
