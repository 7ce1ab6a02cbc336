/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
#ifndef MTS_WATCH_H
#define MTS_WATCH_H

#include "loader.h"

struct mts_watch_opts {
	struct mts_loader_opts lo;
	bool json;
	double duration;	/* seconds; 0: until SIGINT/SIGTERM */
	unsigned tick_ms;	/* how often watched flows are judged */
	const char *listen;	/* serve /metrics and /flows here (NULL: off) */
	bool top;		/* the live view owns the terminal */
	bool once;		/* with top: print one snapshot at the end */
};

/* Attach, report verdict changes until told to stop, detach. Exit code. */
int mts_watch(const struct mts_watch_opts *o);

#endif
