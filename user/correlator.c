// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * correlator.c - turn one flow record into a verdict.
 *
 * The test that separates a PMTU black hole from everything that merely
 * loses packets: the same segment is sent again and again, the ACK stays
 * right in front of it, smaller packets still get through (a SACK above the
 * hole, or the ACK reached exactly this segment), and nothing of this
 * segment's size was ever delivered on the flow. Random loss and congestion
 * fail the last test: in a bulk transfer full-size segments get through all
 * the time, so the delivered size catches up with the lost one.
 *
 * Silence alone proves nothing either way: a large segment resent into a
 * black hole and one resent into a dead path both get no answer, and a flow
 * first seen mid-stall shows nothing else. Only a dead path loses small
 * packets, or sizes it carried before on the same flow; until one of those
 * is seen (or a probe of the path answers) such a flow is suspect, never
 * stalled.
 */
#include <stddef.h>
#include <sys/socket.h>
#include "correlator.h"

_Static_assert(AF_INET6 == MTS_AF_INET6, "mtuscope.h's AF_INET6 value");

#define IPV6_MIN_MTU	1280	/* every IPv6 path carries this; tunnels assume it */
#define IPV4_SAFE_MTU	576

static const char *const names[MTS_V_MAX] = {
	[MTS_V_NONE] = "none",
	[MTS_V_HEALTHY] = "healthy",
	[MTS_V_PMTU_LIMITED] = "pmtu-limited",
	[MTS_V_SUSPECT] = "suspect",
	[MTS_V_BLACKHOLE] = "blackhole",
	[MTS_V_PTB_IGNORED] = "ptb-ignored",
	[MTS_V_RECOVERED] = "recovered",
	[MTS_V_STALLED] = "stalled",
};

static const int ranks[MTS_V_MAX] = {
	[MTS_V_BLACKHOLE] = 0,
	[MTS_V_PTB_IGNORED] = 1,
	[MTS_V_SUSPECT] = 2,
	[MTS_V_STALLED] = 3,
	[MTS_V_PMTU_LIMITED] = 4,
	[MTS_V_RECOVERED] = 5,
	[MTS_V_HEALTHY] = 6,
	[MTS_V_NONE] = 7,
};

const char *mts_verdict_name(enum mts_verdict v)
{
	return (unsigned)v < MTS_V_MAX ? names[v] : "unknown";
}

int mts_verdict_rank(enum mts_verdict v)
{
	return (unsigned)v < MTS_V_MAX ? ranks[v] : MTS_V_MAX;
}

void mts_corr_defaults(struct mts_corr_cfg *cfg)
{
	/* Linux resends a lost head segment at ~0.2 s and ~0.6 s: the second
	 * resend lands inside the first second. */
	cfg->hole_rtx_min = 2;
	cfg->suspect_ticks = MTS_MS_TO_TICKS(150);
	cfg->over_ptb_min = 1;
	cfg->oversize_min = 2;
	/* the shrunk resend a PTB triggers needs a round trip (or an RTO) */
	cfg->ptb_settle_ticks = MTS_MS_TO_TICKS(1000);
	/* no round trip is known for a flow joined mid-way: a second is
	 * longer than any a healthy path needs to acknowledge a segment */
	cfg->join_wait_ticks = MTS_MS_TO_TICKS(1000);
	/* Linux resends a lost segment at ~0.2 s and ~0.6 s: a gap still open
	 * after a second outlived both. */
	cfg->gap_ticks = MTS_MS_TO_TICKS(1000);
	/* A healthy far end answers a request within a round trip; a second
	 * of nothing at all after the near end's last byte was acknowledged
	 * is a wait, not a round trip. */
	cfg->still_ticks = MTS_MS_TO_TICKS(1000);
	/* A download through the hole hangs on its first flight, right after
	 * the request; a flow that has traded small data for longer is an
	 * interactive session, not a download that never got going. */
	cfg->young_ticks = MTS_MS_TO_TICKS(30000);
}

static bool tick_before(__u32 a, __u32 b)
{
	return (__s32)(a - b) < 0;
}

static unsigned mss_for(int family, unsigned mtu)
{
	unsigned hdrs = family == AF_INET6 ? 60 : 40;

	return mtu > hdrs ? mtu - hdrs : 0;
}

void mts_advise(int family, unsigned low, unsigned high, unsigned *mtu, unsigned *mss)
{
	unsigned m = low;

	/* Passive evidence bounds the wall loosely (a handshake proves 60
	 * bytes); advise the largest size every sane path carries when it
	 * lies inside the bounds, else what was seen delivered. */
	if (high > IPV6_MIN_MTU && m < IPV6_MIN_MTU)
		m = IPV6_MIN_MTU;
	else if (family == AF_INET && high > IPV4_SAFE_MTU && m < IPV4_SAFE_MTU)
		m = IPV4_SAFE_MTU;
	if (high && m >= high)
		m = high - 1;
	*mtu = m;
	*mss = mss_for(family, m);
}

static void set_wall(struct mts_assessment *a, int family, unsigned low, unsigned high)
{
	a->wall_low = low;
	a->wall_high = high;
	mts_advise(family, low, high, &a->advice_mtu, &a->advice_mss);
}

/*
 * The sender's data as it arrives here: a gap in its sequence space that no
 * resend has filled for a while, with later (smaller) segments arriving
 * above it, and nothing of full size ever arrived. full: the IP size of a
 * full segment from the two SYNs' MSS (0: unknown). Random loss and
 * congestion fail the last test (full-size segments arrive all the time),
 * an interactive flow losing a small segment the size test: what is missing
 * must be at least a full segment's worth.
 */
static bool inbound_hole(const struct mts_corr_cfg *cfg, const struct mts_dir *d,
			 unsigned full, unsigned hdrs, __u32 now)
{
	unsigned big = full ? full : IPV6_MIN_MTU + 1;

	return (d->xflags & MTS_X_GAP) && d->arr_max && d->arr_max < big &&
	       d->gap_len >= big - hdrs && !tick_before(now - d->t_gap, cfg->gap_ticks);
}

/* Nothing of full size from the server (d) ever arrived here. */
static bool download_unserved(const struct mts_flow *f, int family, int d)
{
	const struct mts_dir *far = &f->dir[d];
	unsigned full = mts_full_size(f, family);
	__u8 arr = MTS_X_ARR | MTS_X_LISTENER;

	return full && (far->xflags & arr) == arr && far->arr_max < full &&
	       !(far->xflags & MTS_X_GAP);
}

bool mts_inbound_waiting(const struct mts_corr_cfg *cfg, const struct mts_flow *f,
			 int family, int d, __u32 now)
{
	const struct mts_dir *near = &f->dir[!d];
	__u8 both = MTS_F_SND | MTS_F_ACK;

	/* Young first: t_first sits beside the key, which a walk over the
	 * table has read already, so an old flow costs no further line. */
	return tick_before(now - f->t_first, cfg->young_ticks) &&
	       download_unserved(f, family, d) && (near->flags & both) == both &&
	       near->snd_una == near->snd_nxt && !near->hole_rtx &&
	       !((f->dir[0].flags | f->dir[1].flags) & MTS_F_FIN);
}

static enum mts_verdict assess_dir(const struct mts_corr_cfg *cfg, int family,
				   const struct mts_dir *d, __u32 t_first, unsigned full,
				   __u32 now, struct mts_assessment *a)
{
	/* A packet no larger than every path must carry is never lost to a
	 * PMTU wall: losing it again and again means the path is dead. */
	unsigned min_mtu = family == AF_INET6 ? IPV6_MIN_MTU : IPV4_SAFE_MTU;
	bool hole = d->hole_rtx > 0;
	bool large = hole && d->hole_size > d->deliv_max && d->hole_size > min_mtu;
	bool acked = d->flags & MTS_F_ACK;
	bool ptb = d->ptb_mtu && (d->ptb_rx || d->ptb_tx);
	/* A PTB came back lately and the sender has not sent above its MTU
	 * since: PMTUD at work (not a black hole, not a dead path). */
	bool adapting = hole && ptb && d->over_ptb < cfg->over_ptb_min &&
			tick_before(now - d->t_ptb, cfg->ptb_settle_ticks);
	bool repeated = d->hole_rtx >= cfg->hole_rtx_min;
	/* Small packets still get through: later data was SACKed, or the
	 * cumulative ACK came right up to the lost segment (if only over the
	 * handshake: "ssh works, the transfer hangs"). */
	bool small_pass = (d->flags & MTS_F_SACK_HOLE) || (acked && d->snd_una == d->hole_seq);
	bool silent = !acked || tick_before(d->t_ack, d->t_hole);
	/* First seen mid-connection, its first (large, DF) segment still
	 * unacknowledged a while later: perhaps the resend of a segment a
	 * black hole has held since before we looked. */
	bool joined_wait = (d->xflags & MTS_X_JOINED) && (d->flags & MTS_F_PROBE) &&
			   (d->flags & MTS_F_DF) && d->probe_size > min_mtu &&
			   d->probe_size > d->deliv_max && !ptb &&
			   !tick_before(now - t_first, cfg->join_wait_ticks);

	if (hole && ptb && d->hole_size > d->ptb_mtu && d->over_ptb >= cfg->over_ptb_min) {
		a->why = "sender keeps resending above the MTU a PTB reported";
		a->wall_low = d->deliv_max;
		a->wall_high = d->ptb_mtu + 1;
		a->advice_mtu = d->ptb_mtu;
		a->advice_mss = mss_for(family, d->ptb_mtu);
		a->cause = MTS_CAUSE_IGNORED;
		return MTS_V_PTB_IGNORED;
	}
	/* This gateway is the wall: DF packets too big for its own route keep
	 * coming in (they never reach an egress, so no hole shows there) and
	 * no PTB of its own leaves towards the sender. */
	if (d->oversize >= cfg->oversize_min && d->route_mtu && !d->ptb_tx && !ptb) {
		a->why = "DF packets too big for this gateway's route keep arriving; "
			 "no PTB leaves towards the sender";
		a->wall_low = d->route_mtu;
		a->wall_high = d->fib_size > d->route_mtu ? d->fib_size : d->route_mtu + 1;
		a->advice_mtu = d->route_mtu;
		a->advice_mss = mss_for(family, d->route_mtu);
		a->cause = MTS_CAUSE_LOCAL;
		return MTS_V_BLACKHOLE;
	}
	if (inbound_hole(cfg, d, full, family == AF_INET6 ? 60 : 40, now)) {
		a->why = "arriving data: full-size segments never get here, smaller ones "
			 "sent after them do";
		a->inbound = true;
		a->lost = full;		/* 0 when the SYNs were not seen */
		set_wall(a, family, d->arr_max, full);
		a->cause = MTS_CAUSE_BEYOND;
		return MTS_V_BLACKHOLE;
	}
	if (large && repeated && small_pass && !adapting) {
		a->why = (d->flags & MTS_F_SACK_HOLE)
			 ? "large segment resent, never delivered; smaller data behind it arrives"
			 : "large segment resent, never delivered; everything before it arrived";
		a->lost = d->hole_size;
		set_wall(a, family, d->deliv_max, d->hole_size);
		/* Too big for our own route and no PTB of ours left: we are the
		 * wall and ours is the PTB lost. Otherwise it is further on. */
		a->cause = d->oversize && !d->ptb_tx ? MTS_CAUSE_LOCAL :
			   d->ptb_rx || d->ptb_tx ? NULL : MTS_CAUSE_BEYOND;
		return MTS_V_BLACKHOLE;
	}
	/* Dead, not a wall: what is lost is small, or a size this flow has
	 * carried before. */
	if (hole && repeated && silent && !adapting && !large) {
		a->why = d->hole_size > min_mtu
			 ? "segment resent, nothing comes back; this size was delivered before"
			 : "small segment resent, nothing comes back";
		return MTS_V_STALLED;
	}
	if (large && !adapting && (repeated || !tick_before(now - d->t_hole, cfg->suspect_ticks))) {
		a->lost = d->hole_size;
		set_wall(a, family, d->deliv_max, d->hole_size);
		if (d->xflags & MTS_X_JOINED && silent) {
			a->why = "joined mid-stall: a large DF segment is resent and nothing answers; "
				 "a probe of the path tells a black hole from a dead path";
			a->needs_probe = true;
		} else if (silent && repeated) {
			a->why = "large segment resent, nothing comes back; a probe of the path "
				 "tells a black hole from a dead path";
			a->needs_probe = true;
		} else {
			a->why = "large segment resent and not yet delivered";
		}
		return MTS_V_SUSPECT;
	}
	if (joined_wait) {
		a->why = "joined mid-stall: a large DF segment gets no answer; a probe of the "
			 "path tells a black hole from a dead path";
		a->lost = d->probe_size;
		a->needs_probe = true;
		set_wall(a, family, d->deliv_max, d->probe_size);
		return MTS_V_SUSPECT;
	}
	if (ptb) {
		a->why = "PTB seen; sender adapted";
		a->wall_low = d->deliv_max;
		a->wall_high = d->ptb_mtu + 1;
		a->advice_mtu = d->ptb_mtu;
		a->advice_mss = mss_for(family, d->ptb_mtu);
		return MTS_V_PMTU_LIMITED;
	}
	a->why = "data delivered";
	return MTS_V_HEALTHY;
}

enum mts_verdict mts_assess(const struct mts_corr_cfg *cfg, const struct mts_flow_key *key,
			    const struct mts_flow *flow, __u32 now, __u32 still,
			    enum mts_verdict prev, struct mts_assessment *out)
{
	struct mts_assessment best = { .verdict = MTS_V_NONE, .dir = -1 };

	unsigned full = mts_full_size(flow, key->family);

	for (int i = 0; i < 2; i++) {
		struct mts_assessment a = { .dir = i };
		const struct mts_dir *d = &flow->dir[i];

		if (!d->seg_max && !d->ptb_mtu && !d->oversize && !(d->xflags & MTS_X_GAP))
			continue;	/* this end sent nothing we saw */
		a.verdict = assess_dir(cfg, key->family, d, flow->t_first, full, now, &a);
		if (best.verdict == MTS_V_NONE ||
		    mts_verdict_rank(a.verdict) < mts_verdict_rank(best.verdict) ||
		    (a.verdict == best.verdict && d->seg_max > flow->dir[best.dir].seg_max))
			best = a;
	}
	if (best.verdict == MTS_V_NONE) {
		best.verdict = MTS_V_HEALTHY;
		best.why = "no data seen";
	}
	/* A download whose first flight died before it got here and left no
	 * tail: the far end acknowledged the request, and then nothing. A
	 * server thinking, a long poll or an idle session look the same; the
	 * probe of the far end settles it. Found one, it stays one while nothing of full size arrives: a
	 * client that gives up and closes (iperf3's timer) did not recover,
	 * whatever its last packets are. A client that sent full-size
	 * segments itself was an upload's black hole, and that one's end is
	 * judged above. */
	for (int i = 0; i < 2 && best.verdict == MTS_V_HEALTHY; i++) {
		const struct mts_dir *d = &flow->dir[i];
		bool held = prev == MTS_V_BLACKHOLE && download_unserved(flow, key->family, i) &&
			    flow->dir[!i].seg_max < full;

		if (!held && (!mts_inbound_waiting(cfg, flow, key->family, i, now) ||
			      tick_before(now - still, cfg->still_ticks)))
			continue;
		best = (struct mts_assessment){
			.verdict = MTS_V_SUSPECT, .dir = i, .lost = full,
			.needs_probe = true, .inbound = true, .idle_alike = true,
			.why = "arriving data: the request was acknowledged, then nothing; no "
			       "full-size segment has ever arrived: a download whose segments "
			       "die on the way here, or a far end with nothing to say yet",
		};
		set_wall(&best, key->family, d->arr_max, full);
	}
	/* A black hole whose resends get no answer is still that black hole:
	 * the moment a sender shrinks its resend (after a fix, or PLPMTUD)
	 * looks like silence until the ACK comes. The diagnosis stands until
	 * data flows ("recovered") or something else is seen. */
	if ((prev == MTS_V_BLACKHOLE || prev == MTS_V_PTB_IGNORED) &&
	    (best.verdict == MTS_V_STALLED || best.verdict == MTS_V_SUSPECT)) {
		best.verdict = prev;
		best.why = "the hole is still open; resends get no answer";
	}
	if ((prev == MTS_V_BLACKHOLE || prev == MTS_V_PTB_IGNORED || prev == MTS_V_RECOVERED) &&
	    (best.verdict == MTS_V_HEALTHY || best.verdict == MTS_V_PMTU_LIMITED)) {
		best.verdict = MTS_V_RECOVERED;
		best.why = "data flows again past the former hole";
	}
	/* A reset connection is gone: it may have recovered before its end,
	 * but what follows the reset (a killed client's orphaned resends
	 * answered by RST) is no news. The caller keeps the wall and the
	 * advice of a verdict that stands. */
	if (prev != MTS_V_NONE && mts_verdict_rank(best.verdict) <= mts_verdict_rank(prev) &&
	    ((flow->dir[0].xflags | flow->dir[1].xflags) & MTS_X_RST))
		best = (struct mts_assessment){
			.verdict = prev, .dir = best.dir,
			.why = "the connection was reset; its last verdict stands",
		};
	*out = best;
	return best.verdict;
}

/* A probe found the path carries pmtu and no more: the wall to the byte. */
static void probed_blackhole(struct mts_assessment *a, int family, unsigned pmtu,
			     const char *why)
{
	a->verdict = MTS_V_BLACKHOLE;
	a->why = why;
	a->wall_low = pmtu;
	a->wall_high = pmtu + 1;
	a->advice_mtu = pmtu;
	a->advice_mss = mss_for(family, pmtu);
	a->cause = a->cause ?: MTS_CAUSE_BEYOND;
}

/* A waiting download: news only if the path cannot carry what the far end
 * would send, and it never sent that much (else it knows its path). */
static void settle_waiting(struct mts_assessment *a, int family, const struct mts_probe_fact *p)
{
	if (!p->pmtu)
		return;		/* no answer: it stays a suspect */
	a->needs_probe = false;
	if (a->lost > p->pmtu && a->wall_low < p->pmtu) {
		probed_blackhole(a, family, p->pmtu,
				 "arriving data: no full-size segment ever arrived, the flow hangs "
				 "after its request, and a probe found the path carries less");
		return;
	}
	*a = (struct mts_assessment){
		.verdict = MTS_V_HEALTHY, .dir = a->dir, .idle_alike = true,
		.why = "waiting for the far end; a probe found the path carries what it sends",
	};
}

void mts_apply_probe(struct mts_assessment *a, int family, const struct mts_probe_fact *p)
{
	bool silent = a->needs_probe;	/* nothing but the probe can decide */

	if (a->idle_alike && (a->verdict == MTS_V_SUSPECT || a->verdict == MTS_V_BLACKHOLE)) {
		settle_waiting(a, family, p);
		return;
	}
	if (a->verdict != MTS_V_SUSPECT && a->verdict != MTS_V_BLACKHOLE)
		return;
	if (p->dead && silent && a->verdict == MTS_V_SUSPECT) {
		a->verdict = MTS_V_STALLED;
		a->why = "nothing answers even small probes of the path: it is dead, "
			 "not an MTU problem";
		a->wall_low = a->wall_high = a->advice_mtu = a->advice_mss = 0;
		a->needs_probe = false;
		return;
	}
	if (!p->pmtu || !a->lost)
		return;
	a->needs_probe = false;
	if (a->lost > p->pmtu) {
		probed_blackhole(a, family, p->pmtu,
				 "large segment never delivered; a probe found the path "
				 "carries no more than the wall");
	} else if (a->verdict == MTS_V_SUSPECT && silent) {
		/* The path carries the segment, yet nothing answers it. */
		a->verdict = MTS_V_STALLED;
		a->why = "a probe found the path carries this size, yet the flow gets no "
			 "answer: not an MTU problem";
		a->wall_low = a->wall_high = a->advice_mtu = a->advice_mss = 0;
	}
}

bool mts_blind_update(struct mts_blind *b, __u64 ours, __u64 kernel, double now)
{
	bool was = b->blind;

	if (!b->primed || kernel < b->kernel) {
		/* The first reading, or the device's counters restarted (a
		 * 32-bit one wraps at 4G packets): a new baseline. */
		*b = (struct mts_blind){ .ours = ours, .kernel = kernel, .since = now,
					 .primed = true, .blind = was };
		return false;
	}
	b->missed += kernel - b->kernel;
	b->kernel = kernel;
	if (ours != b->ours) {
		b->ours = ours;
		b->missed = 0;
		b->since = now;
		b->blind = false;
	} else if (b->missed >= MTS_BLIND_PKTS && (now - b->since) * 1000 >= MTS_BLIND_MS) {
		b->blind = true;
	}
	return b->blind != was;
}
