// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * fuzz_feed - libFuzzer harness for the frame splitter (user/feed.c): any
 * bytes as frames of any link type replay reads, one after another (each
 * frame a 2-byte length, then its bytes; the first byte picks the link
 * type, the next two the MTU), so the segment sizes learnt from one frame
 * steer the splitting of the next. Every frame handed on must be a whole
 * Ethernet header plus at most MTS_FEED_BYTES, all of it readable; with
 * ASan and UBSan any overread or undefined behaviour is a finding.
 */
#include <errno.h>
#include <linux/if_ether.h>
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdlib.h>
#include "feed.h"

static const int dlts[] = { DLT_EN10MB, DLT_LINUX_SLL, 276 /* SLL2 */, DLT_RAW, DLT_IPV4, DLT_IPV6 };

static int check(void *ctx, int egress, const void *frame, size_t len, __u64 ns)
{
	const unsigned char *b = frame;
	unsigned sum = 0;

	(void)ctx;
	(void)ns;
	if (egress < 0 || egress > 1 || len < ETH_HLEN || len > ETH_HLEN + MTS_FEED_BYTES)
		abort();
	for (size_t i = 0; i < len; i++)
		sum += b[i];		/* every byte readable */
	return sum == 0xdeadbeef ? -EINVAL : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mts_feed fd;

	if (size < 3)
		return 0;
	if (mts_feed_init(&fd, 576 + (data[1] | data[2] << 8) % 8616, check, NULL))
		return 0;
	for (size_t off = 3; off + 2 <= size;) {
		size_t n = data[off] | data[off + 1] << 8;

		off += 2;
		if (n > size - off)
			n = size - off;
		mts_feed_frame(&fd, dlts[data[0] % 6], data + off, n, off);
		off += n;
	}
	mts_feed_free(&fd);
	return 0;
}
