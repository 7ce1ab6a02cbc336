#!/bin/bash
# t_setup.sh - tools/setup.sh, the README's two commands, as a user who is
# not root: it asks sudo for root (and carries CI's setting across sudo's
# environment reset) when there is a sudo, and says it needs root when there
# is none. As root, .ci/run itself is the test (it is `tools/setup.sh check`).
# Runs as nobody on a copy nobody can reach, with a PATH of our own making: a
# recording stand-in for sudo, or none.
. "$(dirname "$0")/lib.sh"
need t_setup setpriv || exit 0
need_nonroot t_setup || exit 0

chmod 711 "$TMP"
tree=$TMP/tree
mkdir -p "$tree/tools" "$TMP/bin-sudo" "$TMP/bin-nosudo"
install -m 755 "$ROOT/tools/setup.sh" "$tree/tools/setup.sh"
for d in "$TMP/bin-sudo" "$TMP/bin-nosudo"; do
	ln -s "$(command -v id)" "$d/id"
	ln -s "$(command -v dirname)" "$d/dirname"
done
cat >"$TMP/bin-sudo/sudo" <<EOF
#!/bin/sh
printf '%s\n' "\$*" >"$TMP/sudo.args"
EOF
chmod 755 "$TMP/bin-sudo/sudo"
: >"$TMP/sudo.args"
chmod 666 "$TMP/sudo.args"
chmod -R a+rX "$tree" "$TMP/bin-sudo" "$TMP/bin-nosudo"

as_nobody() {	# PATH-DIR ARGS...
	local bin=$1
	shift
	setpriv --reuid=65534 --regid=65534 --clear-groups \
		env -i PATH="$bin" CI="${WANT_CI-}" /bin/sh "$tree/tools/setup.sh" "$@"
}

for mode in demo check; do
	: >"$TMP/sudo.args"
	WANT_CI=true as_nobody "$TMP/bin-sudo" "$mode" >"$TMP/out" 2>&1
	rc=$?
	want="env CI=true $tree/tools/setup.sh $mode"
	got=$(cat "$TMP/sudo.args")
	if [ "$rc" = 0 ] && [ "$got" = "$want" ]; then
		ok "setup_${mode}_as_user_goes_through_sudo"
	else
		fail "setup_${mode}_as_user_goes_through_sudo" "rc $rc, sudo got '$got', want '$want': $(head -c 200 "$TMP/out")"
	fi
done

as_nobody "$TMP/bin-nosudo" check >"$TMP/out" 2>&1
rc=$?
if [ "$rc" = 1 ] && grep -q 'needs root' "$TMP/out" && grep -q 'no sudo' "$TMP/out"; then
	ok setup_without_root_or_sudo_says_so
else
	fail setup_without_root_or_sudo_says_so "rc $rc: $(head -c 200 "$TMP/out")"
fi

for args in "" "bench" "demo check"; do
	# shellcheck disable=SC2086
	as_nobody "$TMP/bin-sudo" $args >"$TMP/out" 2>&1
	rc=$?
	if [ "$rc" != 64 ] || ! grep -q '^usage: tools/setup.sh demo|check' "$TMP/out"; then
		fail setup_rejects_bad_arguments "'$args': rc $rc: $(head -c 200 "$TMP/out")"
		break
	fi
done
[ "$rc" = 64 ] && ok setup_rejects_bad_arguments
