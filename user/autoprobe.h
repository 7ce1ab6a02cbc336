/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * autoprobe - watch --probe: path MTU searches for suspect flows, run one at
 * a time on a thread of their own, at most one per destination a minute.
 */
#ifndef MTS_AUTOPROBE_H
#define MTS_AUTOPROBE_H

#include "probe.h"
#include "mtuscope.h"

struct mts_probe_req {
	struct mts_flow_key key;	/* the flow it is for */
	struct sockaddr_storage dst;	/* what to probe: the flow's far end or its tunnel's endpoint */
	socklen_t dlen;
	__u16 port;			/* TCP probes go here */
	unsigned overhead;		/* bytes the tunnel adds (0: the flow's own path) */
};

struct mts_probe_done {
	struct mts_probe_req req;
	struct mts_probe_result res;
	int rc;				/* 0: res.pmtu found */
	bool cached;			/* the destination's search of the last minute, again */
	char err[160];
};

struct mts_autoprobe;

/* rate: probe packets a second at most. NULL on failure (errno). */
struct mts_autoprobe *mts_autoprobe_start(unsigned rate);
/* Queue a search. A destination searched within the minute gets that
 * search's result again (cached), without a packet. False when its search
 * is still running or queued, or the queue is full: ask again later. */
bool mts_autoprobe_ask(struct mts_autoprobe *ap, const struct mts_probe_req *req);
/* A finished search, if any. */
bool mts_autoprobe_take(struct mts_autoprobe *ap, struct mts_probe_done *out);
/* Searches run and probe packets sent so far. */
void mts_autoprobe_counts(struct mts_autoprobe *ap, unsigned long *searches,
			  unsigned long *packets);
/* Cancel the running search, join the thread. */
void mts_autoprobe_stop(struct mts_autoprobe *ap);

#endif
