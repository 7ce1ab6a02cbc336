/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
#ifndef MTS_REPLAY_H
#define MTS_REPLAY_H

#include "loader.h"

struct mts_replay_opts {
	struct mts_loader_opts lo;	/* flows_max, large_bytes, verbose */
	const char *file;		/* pcap or pcapng */
	bool json;
	unsigned mtu;			/* larger packets are GRO/TSO super-packets (0: 1500) */
};

/* Judge a capture as a live run would have. Exit code. */
int mts_replay(const struct mts_replay_opts *o);

#endif
