/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * correlator - pure: a flow record in, a verdict with the wall and the fix
 * out. No BPF, no I/O, no clock: the caller passes "now" in ticks, so unit
 * tests and pcap replay drive it exactly as the live loop does.
 */
#ifndef MTS_CORRELATOR_H
#define MTS_CORRELATOR_H

#include <stdbool.h>
#include "mtuscope.h"

struct mts_corr_cfg {
	unsigned hole_rtx_min;	/* resends of one segment before blackhole/stalled */
	unsigned suspect_ticks;	/* an open hole this old on a large segment: suspect */
	unsigned over_ptb_min;	/* segments above a PTB's MTU before ptb-ignored */
	unsigned ptb_settle_ticks; /* a sender told by a PTB this recently is adapting */
	unsigned oversize_min;	/* DF packets too big for our route, none of our PTBs out */
	unsigned join_wait_ticks; /* joined mid-flow: a large segment unanswered this long */
	unsigned gap_ticks;	/* arriving data: a gap no resend fills this long */
	unsigned still_ticks;	/* a download that never saw a full segment stood still this long */
	unsigned young_ticks;	/* ... and stopped this soon after its SYN */
};

struct mts_assessment {
	enum mts_verdict verdict;
	int dir;		/* data sender end (index into key/flow), -1: none */
	unsigned wall_low;	/* largest IP packet known delivered (0: unknown) */
	unsigned wall_high;	/* smallest IP packet repeatedly lost (0: unknown) */
	unsigned advice_mtu;	/* MTU to set on the tunnel/interface (0: none) */
	unsigned advice_mss;	/* TCP MSS to clamp to (0: none) */
	const char *why;	/* one short phrase: the evidence */
	const char *cause;	/* where the PTB dies (MTS_CAUSE_*), or NULL */
	unsigned lost;		/* size of the segment that does not get through (0: none) */
	bool needs_probe;	/* only a probe of the path can tell black hole from dead path */
	bool inbound;		/* the data is lost before it reaches this gateway (the wall
				 * is on its way here: a download through the hole) */
	bool idle_alike;	/* an idle flow looks the same: only a probe's answer is news */
};

/*
 * Where the frag-needed / packet-too-big that should have fixed a black
 * hole is lost, a fixed vocabulary:
 *   ptb-filtered-beyond  no PTB seen here at all, and this gateway's own
 *                        routes fit: a hop further on is the wall and a
 *                        firewall between drops its PTB
 *   local-ptb-dropped    packets too big for this gateway's own route came
 *                        in and no PTB left towards the sender: the kernel
 *                        made none or this box's firewall dropped it
 *   ptb-ignored          PTBs reached the sender's side, it keeps sending
 *                        above their MTU
 *   ptb-nat-mismatch     PTBs arrive here but none is forwarded towards the
 *                        sender: conntrack did not match them to the NATed
 *                        flow (or this box's FORWARD chain drops them); the
 *                        watch loop decides this one, from the interfaces'
 *                        ptb_forwarded counters
 */
#define MTS_CAUSE_BEYOND	"ptb-filtered-beyond"
#define MTS_CAUSE_LOCAL		"local-ptb-dropped"
#define MTS_CAUSE_IGNORED	"ptb-ignored"
#define MTS_CAUSE_NAT		"ptb-nat-mismatch"

void mts_corr_defaults(struct mts_corr_cfg *cfg);

/*
 * Judge a flow. prev is the verdict given last time (MTS_V_NONE at first):
 * a flow that was a black hole and now moves data is "recovered"; one that
 * goes silent stays a black hole, without a new wall (the caller keeps the
 * one it had). still: since when (ticks) the caller has seen none of the
 * flow's sequence numbers move (now: it just saw them move, or only now
 * began to look).
 */
enum mts_verdict mts_assess(const struct mts_corr_cfg *cfg, const struct mts_flow_key *key,
			    const struct mts_flow *flow, __u32 now, __u32 still,
			    enum mts_verdict prev, struct mts_assessment *out);

/*
 * A download that may hang on its first flight: the far end (dir d) is the
 * server (it answered the SYN: the one a request is sent to, so the one
 * whose answer may die on the way) and is past its handshake, nothing of
 * full size from it has arrived, all the near end sent is acknowledged,
 * neither end closed, and the flow is young. Judged a suspect once it
 * stands still (mts_assess); the watch loop sweeps the flow table for
 * these, as no packet announces them.
 */
bool mts_inbound_waiting(const struct mts_corr_cfg *cfg, const struct mts_flow *flow,
			 int family, int d, __u32 now);

/* Worst first: blackhole, ptb-ignored, suspect, stalled, pmtu-limited, ... */
int mts_verdict_rank(enum mts_verdict v);
/*
 * What an active probe of the flow's path found: it carries at most pmtu
 * (IP packet size of the flow's own layer), or nothing answers even small
 * probes (dead). A suspect or black-hole flow whose lost segment is larger
 * than pmtu is a black hole, its wall pinned to the byte; one whose path
 * carries the lost size, or is dead, is stalled (not an MTU problem). A
 * waiting download (idle_alike) is a black hole when the path carries less
 * than a full segment and more than the largest that arrived; otherwise it
 * is healthy (an idle flow, or a sender that knows its path), and a dead
 * answer leaves it suspect.
 */
struct mts_probe_fact {
	unsigned pmtu;		/* 0: no result */
	bool dead;
};
void mts_apply_probe(struct mts_assessment *a, int family, const struct mts_probe_fact *p);

const char *mts_verdict_name(enum mts_verdict v);

/* The MTU and MSS to advise when packets up to low arrive and high do not. */
void mts_advise(int family, unsigned low, unsigned high, unsigned *mtu, unsigned *mss);

/*
 * A hook we cannot see through: another program ahead of ours on the same
 * hook (a tc filter at a lower priority, a TCX program before ours) that
 * returns OK, PASS or SHOT ends the chain, and ours never runs. Told from
 * outside: the interface's own packet counter moves while the hook's stays.
 * Fed the two running totals every second or so; blind once the kernel
 * counted MTS_BLIND_PKTS packets over MTS_BLIND_MS with none of them seen,
 * seeing again at the first packet the hook counts.
 */
#define MTS_BLIND_PKTS	10
#define MTS_BLIND_MS	2000

struct mts_blind {
	__u64 ours, kernel;	/* the totals last fed */
	__u64 missed;		/* kernel packets since ours last moved */
	double since;		/* when ours last moved, or we started (s) */
	bool primed, blind;
};

/* true when blind changed. kernel: the device's rx (ingress) or tx (egress)
 * packets, 32 bits wide or 64; ours: the hook's packet counter. */
bool mts_blind_update(struct mts_blind *b, __u64 ours, __u64 kernel, double now);

#endif
