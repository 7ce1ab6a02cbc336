/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * model - the flows userspace is watching, with their latest record and
 * verdict. Pure (no BPF calls): the loop feeds it records, every output
 * reads it. A flow enters when the kernel flags it (an event) and leaves
 * when it has been quiet and unremarkable for a while, so the work grows
 * with the flows that need attention, not with the traffic.
 */
#ifndef MTS_MODEL_H
#define MTS_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include "correlator.h"

struct mts_track {
	struct mts_flow_key key;
	struct mts_flow rec;		/* latest record read from the kernel */
	struct mts_assessment a;	/* latest assessment */
	enum mts_verdict prev;		/* verdict before the latest change */
	__u32 ifindex;			/* where its data leaves (or an event came from) */
	double t_change;		/* Unix time of the latest verdict change */
	__u32 t_quiet;			/* ticks: when it was last seen unremarkable */
	__u32 t_active;			/* ticks: when its record last changed recency */
	__u32 t_still;			/* ticks: since when no sequence number moved */
	struct mts_probe_fact probe;	/* watch --probe: what a probe of its path found */
	bool probe_asked;
	bool held;			/* a change not reported until the probe answers */
	bool fwd_base_set;		/* PTBs forwarded by the box / received for this flow */
	unsigned long long fwd_base;	/* ... when it was first seen with a PTB */
	unsigned rx_base;
	bool used;
};

struct mts_model {
	struct mts_track *slots;
	size_t cap;			/* power of two */
	size_t n;
	struct mts_corr_cfg cfg;
	unsigned long verdicts_issued[MTS_V_MAX];	/* changes into each verdict */
};

int mts_model_init(struct mts_model *m, size_t cap_hint);
void mts_model_free(struct mts_model *m);
struct mts_track *mts_model_find(struct mts_model *m, const struct mts_flow_key *k);
/* Finds or adds; NULL only when out of memory. */
struct mts_track *mts_model_add(struct mts_model *m, const struct mts_flow_key *k, __u32 ifindex);
void mts_model_remove(struct mts_model *m, struct mts_track *t);

/*
 * Assess t with a fresh record. Returns true when the verdict changed and
 * is worth reporting (a new flow judged healthy is not).
 */
bool mts_model_update(struct mts_model *m, struct mts_track *t, const struct mts_flow *rec,
		      __u32 now_ticks, double now_unix);

/* Count of tracked flows per verdict. */
void mts_model_tally(const struct mts_model *m, unsigned long out[MTS_V_MAX]);

#define mts_model_each(m, t) \
	for ((t) = (m)->slots; (t) < (m)->slots + (m)->cap; (t)++) if ((t)->used)

#endif
