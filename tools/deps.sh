#!/bin/sh
# Install what building mtuscope and running its demo, tests and benchmark
# need, from Debian 12's own packages. Safe to run again. tools/setup.sh
# runs it before `make demo` / `make check`.
set -eu
if [ "$(id -u)" != 0 ]; then
	echo "tools/deps.sh: run as root (apt-get)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
	make gcc clang llvm libclang-rt-14-dev pkg-config git ca-certificates \
	libbpf-dev libelf-dev zlib1g-dev libjson-c-dev linux-libc-dev bpftool \
	libmicrohttpd-dev libncurses-dev libcurl4-openssl-dev libpcap-dev curl tmux prometheus systemd \
	iproute2 iptables nftables procps kmod \
	wireguard-go wireguard-tools socat iperf3 tcpdump iputils-ping jq groff-base \
	python3 strace linux-perf man-db dropbear-bin rsync openssh-client openssh-sftp-server >/dev/null
