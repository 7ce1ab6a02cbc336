#!/bin/sh
# setup.sh demo|check - everything a fresh Debian 12 machine needs, then the
# demo or the whole test suite: install the packages (tools/deps.sh), build,
# and run `make demo` or `make check`. Both need root (apt-get, BPF, network
# namespaces): run it as root, or as a user with sudo (it asks sudo itself).
# .ci/run is `tools/setup.sh check`.
set -eu
usage() { echo "usage: tools/setup.sh demo|check" >&2; exit 64; }
[ $# = 1 ] || usage
case $1 in demo | check) ;; *) usage ;; esac
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
	if ! command -v sudo >/dev/null; then
		echo "tools/setup.sh: needs root (apt-get, BPF, network namespaces) and there is no sudo:" \
			"run it as root (su -c 'tools/setup.sh $1')" >&2
		exit 1
	fi
	# sudo resets the environment; CI decides whether a test may skip.
	exec sudo env CI="${CI:-}" "$PWD/tools/setup.sh" "$1"
fi
tools/deps.sh
exec make "$1"
