// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <time.h>
#include "format.h"

void mts_fmt_endpoint(char *buf, size_t len, const struct mts_flow_key *k, int end)
{
	char addr[INET6_ADDRSTRLEN] = "?";

	inet_ntop(k->family, k->addr[end & 1], addr, sizeof(addr));
	if (k->family == AF_INET6)
		snprintf(buf, len, "[%s]:%u", addr, k->port[end & 1]);
	else
		snprintf(buf, len, "%s:%u", addr, k->port[end & 1]);
}

const char *mts_proto_name(int proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return "tcp";
	case IPPROTO_UDP:
		return "udp";
	default:
		return "other";
	}
}

const char *mts_family_name(int family)
{
	return family == AF_INET6 ? "ipv6" : "ipv4";
}

#define MTS_X_NAME(id, name) [MTS_C_##id] = name,
static const char *const counter_names[MTS_C_MAX] = { MTS_COUNTERS(MTS_X_NAME) };
#undef MTS_X_NAME

const char *mts_counter_name(int idx)
{
	return idx >= 0 && idx < MTS_C_MAX ? counter_names[idx] : "unknown";
}

double mts_now_unix(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

double mts_now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

__u32 mts_now_ticks(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u32)(((__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec) >> MTS_TICK_SHIFT);
}
