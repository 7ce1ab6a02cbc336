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
	bool discover;		/* no interface named: WireGuard and its underlays */
	char *const *lan;	/* --lan: LAN-facing interfaces added to discovery */
	int n_lan;
	bool probe;		/* --probe: path MTU searches for suspect flows */
	unsigned probe_rate;	/* their packets a second at most */
};

/* Attach, report verdict changes until told to stop, detach. Exit code. */
int mts_watch(const struct mts_watch_opts *o);

/*
 * The same judging on a clock of the caller's (replay): load without
 * attaching (o->lo.attach false, o->lo.replay true), run packets through
 * the programs, step: read events and, with judge, judge the flows at that
 * time; finish: a last judgement and the summary. Reports name `source`.
 */
struct watch;
#define mts_engine watch
struct mts_engine *mts_engine_open(const struct mts_watch_opts *o, const char *source,
				   double t_start, char *err, size_t errlen);
/* One Ethernet frame through the ingress or egress program at tstamp_ns. */
int mts_engine_run(struct mts_engine *w, int egress, const void *frame, size_t len,
		   __u64 tstamp_ns);
void mts_engine_step(struct mts_engine *w, __u32 now_ticks, double unix_now, bool judge);
void mts_engine_finish(struct mts_engine *w, __u32 now_ticks, double unix_now);
void mts_engine_close(struct mts_engine *w);

#endif
