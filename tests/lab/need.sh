# need.sh - how a test says a tool is missing (sourced; needs ok and fail).
#
# CI (CI=true, as .ci/run and most CI systems set it) has every tool
# tools/deps.sh installs: a missing one is a failure there. Elsewhere a
# check may be skipped, and run.sh counts it as skipped, never as passed.
in_ci() { [ -n "${CI:-}" ] && [ "$CI" != false ] && [ "$CI" != 0 ]; }
skip() {	# NAME REASON
	if in_ci; then fail "$1" "$2 (CI=$CI: nothing may be skipped)"; else echo "ok $1 # SKIP $2"; fi
}

# need NAME TOOL...: true when every TOOL is installed; else NAME is
# reported failed (CI) or skipped, naming what is missing.
need() {
	local name=$1 t miss=()
	shift
	for t; do command -v "$t" >/dev/null || miss+=("$t"); done
	[ ${#miss[@]} = 0 ] && return 0
	skip "$name" "${miss[*]} not installed (tools/deps.sh installs it)"
	return 1
}

# need_nonroot NAME: true when a non-root user can run a program here at
# all (a root directory of mode 700, as in a chroot unpacked from a tar of a
# mktemp -d, lets nobody load a shared library); else NAME fails or skips.
need_nonroot() {
	setpriv --reuid=65534 --regid=65534 --clear-groups /bin/true 2>/dev/null && return 0
	skip "$1" "no non-root user can run a program here (/ is mode $(stat -c %a /); others need to search it)"
	return 1
}
