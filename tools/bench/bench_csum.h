/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* bench_csum.h - the Internet checksum (RFC 1071) of the packets the bench tools build. */
#ifndef MTS_BENCH_CSUM_H
#define MTS_BENCH_CSUM_H

#include <stddef.h>
#include <linux/types.h>

static inline __u16 csum(const void *p, size_t len)
{
	const __u16 *w = p;
	__u32 s = 0;

	for (; len > 1; len -= 2)
		s += *w++;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return ~s;
}

#endif
