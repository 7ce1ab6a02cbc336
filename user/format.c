// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "format.h"

/* The length of the well-formed UTF-8 sequence at s (no overlong forms,
 * surrogates or code points past U+10FFFF), 0 if there is none. */
static size_t utf8_seq(const unsigned char *s)
{
	unsigned c = s[0], n, v, min;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 1, v = c & 0x1f, min = 0x80;
	else if (c >= 0xe0 && c <= 0xef)
		n = 2, v = c & 0x0f, min = 0x800;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 3, v = c & 0x07, min = 0x10000;
	else
		return 0;
	for (unsigned i = 1; i <= n; i++) {	/* a NUL ends it: not 10xxxxxx */
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = v << 6 | (s[i] & 0x3f);
	}
	return v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff) ? 0 : n + 1;
}

void mts_name_shown(char *dst, size_t len, const char *name)
{
	const unsigned char *s = (const unsigned char *)name;
	size_t o = 0;

	if (!len)
		return;
	while (*s) {
		size_t n = utf8_seq(s);
		const char *put = (const char *)s;

		if (!n || *s < 0x20 || *s == 0x7f) {
			put = "\xef\xbf\xbd";	/* U+FFFD */
			n = 3;
			s++;
		} else {
			s += n;
		}
		if (o + n >= len)
			break;
		memcpy(dst + o, put, n);
		o += n;
	}
	dst[o] = 0;
}

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
