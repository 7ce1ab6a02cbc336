/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * feed - one captured frame (any link type replay reads) as the frames the
 * BPF programs are given: Ethernet, cut to MTS_FEED_BYTES of headers, every
 * TCP and UDP packet once for ingress and once for egress, ICMP for the
 * direction the capture says, a GRO/TSO super-packet split into the
 * segments it carries (of the size the sender used, learnt from the
 * capture, else the MTU). Pure: no BPF, no I/O; run() gets each frame.
 * replay.c drives it with the programs; tests/fuzz with checks.
 */
#ifndef MTS_FEED_H
#define MTS_FEED_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#define MTS_FEED_BYTES	512	/* of each frame: every header the programs read */

/* One frame for the programs: 0, -EINVAL (a frame the kernel will not make
 * an skb of: counted as refused), or another error (counted, kept in err). */
typedef int (*mts_feed_run_fn)(void *ctx, int egress, const void *frame, size_t len, __u64 ns);

struct mts_seg_info;

struct mts_feed {
	mts_feed_run_fn run;
	void *ctx;
	struct mts_seg_info *seg;	/* segment sizes learnt, per sending direction */
	unsigned mtu;
	unsigned long packets, cut, short_, refused, split, segments, failed;
	int err;
};

int mts_feed_init(struct mts_feed *fd, unsigned mtu, mts_feed_run_fn run, void *ctx);
void mts_feed_free(struct mts_feed *fd);
/* The link types it reads (pcap DLT_*). */
bool mts_feed_supported(int dlt);
/* One captured frame of link type dlt, caplen bytes at d, at time ns. */
void mts_feed_frame(struct mts_feed *fd, int dlt, const unsigned char *d, size_t caplen, __u64 ns);

#endif
