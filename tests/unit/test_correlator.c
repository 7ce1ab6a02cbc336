// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_correlator.c - the correlator against synthetic flow records.
 *
 * Every record is built the way bpf/flow.bpf.c fills one: sizes are IP
 * packet sizes of one wire segment (IPv4 + TCP with timestamps: 52 bytes of
 * headers, IPv6: 72), hole_rtx counts consecutive resends of hole_seq and is
 * cleared when an ACK passes it, deliv_max only grows when an ACK or SACK
 * covers a watched segment, MTS_F_SACK_HOLE means a SACK showed data above
 * snd_una, t_ack is the latest ACK for this data (duplicates included) and
 * t_hole the first resend of hole_seq. Times are ticks (ns >> 20) on a
 * timeline that starts at T0; at(ms) is a point on it.
 *
 * One behaviour per test: every verdict, every false-positive trap of
 * DESIGN.md section 1, the advice, the names and ranks, and tick wrap-around.
 */
#include <ctype.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include "testlib.h"
#include "correlator.h"
#include "discover.h"

#define T0		5000000u	/* ticks when the connection starts: arbitrary */
#define V4_HDRS		52		/* IPv4 20 + TCP 20 + timestamps 12 */
#define V6_HDRS		72		/* IPv6 40 + TCP 20 + timestamps 12 */
#define LARGE		1280		/* the BPF side's default "large" segment */

static __u32 at(unsigned ms)
{
	return T0 + MTS_MS_TO_TICKS(ms);
}

/* The shift that puts the 2^32 tick wrap exactly at ms on the timeline. */
static __u32 wrap_at(unsigned ms)
{
	return 0u - at(ms);
}

/* Initial sequence numbers of the two ends; data starts at ISS + 1. */
static __u32 iss(int s)
{
	return s ? 0x7f0000a1u : 0x2a000001u;
}

/* 10.0.0.1:40000 <-> 10.0.1.2:443; end 0 is the lower address. */
static struct mts_flow_key key4(void)
{
	struct mts_flow_key k = { .family = AF_INET, .proto = 6 /* TCP */ };

	k.addr[0][0] = htonl(0x0a000001);
	k.addr[1][0] = htonl(0x0a000102);
	k.port[0] = 40000;
	k.port[1] = 443;
	return k;
}

/* 2001:db8::1:40000 <-> 2001:db8:1::2:443 */
static struct mts_flow_key key6(void)
{
	struct mts_flow_key k = { .family = AF_INET6, .proto = 6 };

	k.addr[0][0] = htonl(0x20010db8);
	k.addr[0][3] = htonl(1);
	k.addr[1][0] = htonl(0x20010db8);
	k.addr[1][1] = htonl(0x00010000);
	k.addr[1][3] = htonl(2);
	k.port[0] = 40000;
	k.port[1] = 443;
	return k;
}

/* ------------------------------------------------------------ builders */

/*
 * End s moved n segments of seg bytes (IP size, hdrs of it headers) and
 * every one was acknowledged, the latest ACK at ack_ms: a healthy sender.
 */
static struct mts_flow bulk(int s, unsigned seg, unsigned hdrs, unsigned n, unsigned ack_ms)
{
	struct mts_flow f = { 0 };
	struct mts_dir *d = &f.dir[s];

	d->snd_nxt = iss(s) + 1 + n * (seg - hdrs);
	d->snd_una = d->snd_nxt;
	d->seg_max = seg;
	d->deliv_max = seg;
	d->t_ack = at(ack_ms);
	d->flags = MTS_F_SND | MTS_F_ACK | MTS_F_DF;
	f.t_first = at(0);
	f.seen = ack_ms;
	f.ifindex = 3;
	return f;
}

/*
 * End s, right after the handshake, sent a burst of four seg-byte segments
 * and a tail of tail bytes. The receiver SACKed the tail at 1 ms (the head
 * is missing); the head was resent at 200, 560 and 1400 ms and never
 * acknowledged. This is the plain IPv4 lab run of DESIGN.md section 1.
 */
static struct mts_flow lab_hole(int s, unsigned seg, unsigned tail, unsigned hdrs)
{
	struct mts_flow f = { 0 };
	struct mts_dir *d = &f.dir[s];
	__u32 una = iss(s) + 1;

	d->snd_una = una;		/* the handshake's ACK */
	d->snd_nxt = una + 4 * (seg - hdrs) + (tail - hdrs);
	d->seg_max = seg;
	d->deliv_max = tail;		/* the tail, SACKed (probe2) */
	d->probe_seq = una;		/* the head still waits */
	d->probe_size = seg;
	d->probe_plen = seg - hdrs;
	d->big_seq = una + 3 * (seg - hdrs);
	d->hole_seq = una;
	d->hole_rtx = 3;
	d->hole_size = seg;
	d->t_hole = at(200);
	d->rtx_large = 3;
	d->t_ack = at(1);
	d->flags = MTS_F_SND | MTS_F_ACK | MTS_F_DF | MTS_F_SACK_HOLE |
		   MTS_F_PROBE | MTS_F_BIG;
	f.t_first = at(0);
	f.seen = 1400;
	f.ifindex = 3;
	return f;
}

/* The head of end s's unacknowledged data resent rtx times, the first
 * resend at first_ms, the latest at size bytes. */
static void resend_head(struct mts_dir *d, unsigned size, unsigned rtx, unsigned first_ms)
{
	d->hole_seq = d->snd_una;
	d->hole_rtx = rtx;
	d->hole_size = size;
	d->t_hole = at(first_ms);
	if (size > LARGE)
		d->rtx_large += rtx;
	else
		d->rtx_small += rtx;
}

/* A frag-needed / packet-too-big for this data arrived (latest at ms). */
static void ptb_rx(struct mts_dir *d, unsigned mtu, unsigned count, unsigned ms)
{
	d->ptb_mtu = mtu;
	d->ptb_rx = count;
	d->t_ptb = at(ms);
}

/* Move every timestamp of the record by delta ticks. */
static void shift_times(struct mts_flow *f, __u32 delta)
{
	f->t_first += delta;
	f->seen += delta;
	if (f->t_event)
		f->t_event += delta;
	for (int i = 0; i < 2; i++) {
		f->dir[i].t_hole += delta;
		f->dir[i].t_ack += delta;
		if (f->dir[i].ptb_mtu)
			f->dir[i].t_ptb += delta;
	}
}

/* still: since when the flow stood still (now: it just moved). */
static struct mts_assessment judge_still(const struct mts_flow_key *k, const struct mts_flow *f,
					 __u32 now, __u32 still, enum mts_verdict prev)
{
	struct mts_corr_cfg cfg;
	struct mts_assessment a;
	enum mts_verdict v;

	mts_corr_defaults(&cfg);
	memset(&a, 0, sizeof(a));
	v = mts_assess(&cfg, k, f, now, still, prev, &a);
	if (v != a.verdict) {
		fprintf(stderr, "  mts_assess returned %s but wrote %s\n",
			mts_verdict_name(v), mts_verdict_name(a.verdict));
		a.verdict = MTS_V_MAX;	/* fails every verdict check below */
	}
	return a;
}

static struct mts_assessment judge(const struct mts_flow_key *k, const struct mts_flow *f,
				   __u32 now, enum mts_verdict prev)
{
	return judge_still(k, f, now, now, prev);
}

/* By name, so a failure reads "got blackhole, want stalled". */
#define ASSERT_VERDICT(a, want) do {						\
	ASSERT_STREQ(mts_verdict_name((a).verdict), mts_verdict_name(want), "verdict"); \
	ASSERT_TRUE((a).why && (a).why[0], "verdict says why");		\
} while (0)

#define ASSERT_NOT_VERDICT(a, bad) do {						\
	if ((a).verdict == (bad)) {						\
		fprintf(stderr, "  %s:%d: verdict: got %s (%s), must not be\n",	\
			__FILE__, __LINE__, mts_verdict_name((a).verdict),	\
			(a).why ? (a).why : "");				\
		return false;							\
	}									\
} while (0)

/* ------------------------------------------------------------ verdicts */

/* ------------------------------------------------------------ flow sets */

/*
 * How evenly n keys fall into the 2^16 sets of the default table: the
 * keys beyond four in a set (each an eviction). Random keys give ~1700 for
 * 100k; the bound fails a hash whose set bits ignore part of the key.
 */
static unsigned set_overflow(struct mts_flow_key (*gen)(unsigned i), unsigned n)
{
	static unsigned load[1 << 16];
	unsigned over = 0;

	memset(load, 0, sizeof(load));
	for (unsigned i = 0; i < n; i++) {
		struct mts_flow_key k = gen(i);

		if (++load[mts_flow_set(&k, 16)] > MTS_FLOW_WAYS)
			over++;
	}
	return over;
}

/* 198.18.0.0/15 clients numbered in order, to one server (bench_gen's flows). */
static struct mts_flow_key ordered_clients(unsigned i)
{
	struct mts_flow_key k = { .family = AF_INET, .proto = 6 };

	k.addr[0][0] = htonl(0xc6120000u + i % 131072);
	k.addr[1][0] = htonl(0xcb007102u);
	k.port[0] = 10000 + i / 131072;
	k.port[1] = 80;
	return k;
}

static struct mts_flow_key ordered_ports(unsigned i)
{
	struct mts_flow_key k = key4();

	k.port[0] = 1024 + i % 60000;
	k.port[1] = 443 + i / 60000;
	return k;
}

/* 2001:db8::N, and 2001:db8:0:N::1: the last bits, and the /64, in order. */
static struct mts_flow_key ordered_hosts6(unsigned i)
{
	struct mts_flow_key k = key6();

	k.addr[0][3] = htonl(i);
	return k;
}

static struct mts_flow_key ordered_subnets6(unsigned i)
{
	struct mts_flow_key k = key6();

	k.addr[0][1] = htonl(i);
	return k;
}

static bool test_flow_sets_spread_keys_numbered_in_order(void)
{
	ASSERT_TRUE(set_overflow(ordered_clients, 100000) < 2600, "IPv4 clients in order");
	ASSERT_TRUE(set_overflow(ordered_ports, 100000) < 2600, "ports in order");
	ASSERT_TRUE(set_overflow(ordered_hosts6, 100000) < 2600, "IPv6 hosts in order");
	ASSERT_TRUE(set_overflow(ordered_subnets6, 100000) < 2600, "IPv6 /64s in order");
	ASSERT_EQ(mts_flow_set_words((__u64[5]){ 1, 2, 3, 4, 5 }, 0), 0, "one set");
	return true;
}

static bool test_healthy_bulk_transfer(void)
{
	struct mts_flow_key k = key4();
	struct mts_flow f = bulk(0, 1500, V4_HDRS, 5000, 3000);
	struct mts_assessment a = judge(&k, &f, at(3001), MTS_V_NONE);

	ASSERT_VERDICT(a, MTS_V_HEALTHY);
	ASSERT_EQ(a.dir, 0, "dir is the data sender");
	ASSERT_EQ(a.advice_mtu, 0, "no advice");
	ASSERT_EQ(a.advice_mss, 0, "no advice");
	return true;
}

static bool test_no_data_is_healthy_without_dir(void)
{
	struct mts_flow_key k = key4();
	struct mts_flow f = { .t_first = at(0), .seen = 0 };
	struct mts_assessment a = judge(&k, &f, at(10), MTS_V_NONE);

	ASSERT_VERDICT(a, MTS_V_HEALTHY);
	ASSERT_EQ(a.dir, -1, "no sender");
	return true;
}

static bool test_fresh_single_resend_is_healthy(void)
{
	/* One resend 50 ms ago, not yet acknowledged: too early to suspect. */
	struct mts_flow_key k = key4();
	struct mts_flow f = lab_hole(0, 1500, 1004, V4_HDRS);
	struct mts_assessment a;

	f.dir[0].hole_rtx = 1;
	a = judge(&k, &f, at(250), MTS_V_NONE);
	ASSERT_VERDICT(a, MTS_V_HEALTHY);
	return true;
}

static bool test_suspect_large_resend_pending(void)
{
	/* Resent once at 200 ms and still not delivered at 400 ms. */
	struct mts_flow_key k = key4();
	struct mts_flow f = lab_hole(0, 1500, 1004, V4_HDRS);
	struct mts_assessment a;

	f.dir[0].hole_rtx = 1;
	f.dir[0].rtx_large = 1;
	a = judge(&k, &f, at(400), MTS_V_NONE);
	ASSERT_VERDICT(a, MTS_V_SUSPECT);
	ASSERT_EQ(a.dir, 0, "dir");
	ASSERT_EQ(a.wall_low, 1004, "wall_low: the tail got through");
	ASSERT_EQ(a.wall_high, 1500, "wall_high: the head did not");
	return true;
}

static bool test_blackhole_ipv4_lab_run(void)
{
	struct mts_flow_key k = key4();
	struct mts_flow f = lab_hole(0, 1500, 1004, V4_HDRS);
	struct mts_assessment a = judge(&k, &f, at(1500), MTS_V_NONE);

	ASSERT_VERDICT(a, MTS_V_BLACKHOLE);
	ASSERT_EQ(a.dir, 0, "dir is the sender of the lost segment");
	ASSERT_EQ(a.wall_low, 1004, "wall_low: the SACKed tail");
	ASSERT_EQ(a.wall_high, 1500, "wall_high: the resent head");
	ASSERT_EQ(a.advice_mtu, 1280, "advice_mtu: 1280 lies inside the bounds");
	ASSERT_EQ(a.advice_mss, 1240, "advice_mss: IPv4 MTU - 40");
	return true;
}

static bool test_blackhole_ipv6(void)
{
	/* WireGuard-over-IPv6 style wall: a 1400-byte tail arrives. */
	struct mts_flow_key k = key6();
	struct mts_flow f = lab_hole(0, 1500, 1400, V6_HDRS);
	struct mts_assessment a = judge(&k, &f, at(1500), MTS_V_NONE);

	ASSERT_VERDICT(a, MTS_V_BLACKHOLE);
	ASSERT_EQ(a.dir, 0, "dir");
	ASSERT_EQ(a.wall_low, 1400, "wall_low");
	ASSERT_EQ(a.wall_high, 1500, "wall_high");
	ASSERT_EQ(a.advice_mtu, 1400, "advice_mtu: what was delivered");
	ASSERT_EQ(a.advice_mss, 1340, "advice_mss: IPv6 MTU - 60");
	return true;
}

static bool test_blackhole_ipv6_small_tail_advises_1280(void)
{
	struct mts_flow_key k = key6();
	struct mts_flow f = lab_hole(0, 1500, 1100, V6_HDRS);
	struct mts_assessment a = judge(&k, &f, at(1500), MTS_V_NONE);

	ASSERT_VERDICT(a, MTS_V_BLACKHOLE);
	ASSERT_EQ(a.wall_low, 1100, "wall_low");
	ASSERT_EQ(a.wall_high, 1500, "wall_high");
	ASSERT_EQ(a.advice_mtu, 1280, "advice_mtu: the IPv6 minimum");
	ASSERT_EQ(a.advice_mss, 1220, "advice_mss");
	return true;
}

static bool test_blackhole_ack_stops_at_large_segment(void)
{
	/* No SACK: 600-byte writes were delivered, then a full-size write's
	 * head is resent again and again with the ACK right in front of it. */
	struct mts_flow_key k = key4();
	struct mts_flow f = bulk(0, 600, V4_HDRS, 40, 100);
	struct mts_dir *d = &f.dir[0];
	struct mts_assessment a;

	d->seg_max = 1500;
	d->snd_nxt += 3 * 1448;
	resend_head(d, 1500, 3, 300);
	a = judge(&k, &f, at(1500), MTS_V_NONE);
	ASSERT_VERDICT(a, MTS_V_BLACKHOLE);
	ASSERT_EQ(a.wall_low, 600, "wall_low");
	ASSERT_EQ(a.wall_high, 1500, "wall_high");
	ASSERT_EQ(a.advice_mtu, 1280, "advice_mtu");
	ASSERT_EQ(a.advice_mss, 1240, "advice_mss");
	return true;
}

static bool test_silent_wall_below_ptb_mtu_is_blackhole(void)
{
	/* A PTB (1400) arrived at once and the sender obeyed; a second hop
	 * silently drops its 1400-byte segments for the next second and more. */
	struct mts_flow_key k = key4();
	struct mts_flow f = lab_hole(0, 1400, 1004, V4_HDRS);
	struct mts_assessment a;

	f.dir[0].seg_max = 1500;	/* the very first segment, before the PTB */
	ptb_rx(&f.dir[0], 1400, 1, 1);
	a = judge(&k, &f, at(1500), MTS_V_NONE);
	ASSERT_VERDICT(a, MTS_V_BLACKHOLE);
	ASSERT_EQ(a.wall_low, 1004, "wall_low");
	ASSERT_EQ(a.wall_high, 1400, "wall_high");
	return true;
}

static bool test_ptb_ignored(void)
{
	/* PTBs (MTU 1400) came back for the head and its first resend; the
	 * sender resent at 1500 twice more, past the grace. */
	struct mts_flow_key k = key4();
	struct mts_flow f = lab_hole(0, 1500, 1004, V4_HDRS);
	struct mts_dir *d = &f.dir[0];
	struct mts_assessment a;

	ptb_rx(d, 1400, 2, 201);
	d->over_ptb = 2;
	a = judge(&k, &f, at(1500), MTS_V_NONE);
	ASSERT_VERDICT(a, MTS_V_PTB_IGNORED);
	ASSERT_EQ(a.dir, 0, "dir");
	ASSERT_EQ(a.wall_low, 1004, "wall_low");
	ASSERT_EQ(a.wall_high, 1401, "wall_high: just above the reported MTU");
	ASSERT_EQ(a.advice_mtu, 1400, "advice_mtu: the reported MTU");
	ASSERT_EQ(a.advice_mss, 1360, "advice_mss");
	return true;
}

static bool test_ptb_ignored_when_generated_here(void)
{
	/* This gateway generated the PTBs (ptb_tx) toward a LAN sender that
	 * never reacts (its firewall eats them): the same verdict. */
	struct mts_flow_key k = key6();
	struct mts_flow f = lab_hole(1, 1500, 1004, V6_HDRS);
	struct mts_dir *d = &f.dir[1];
	struct mts_assessment a;

	d->ptb_mtu = 1420;
	d->ptb_tx = 4;
	d->t_ptb = at(1400);
	d->over_ptb = 3;
	a = judge(&k, &f, at(1500), MTS_V_NONE);
	ASSERT_VERDICT(a, MTS_V_PTB_IGNORED);
	ASSERT_EQ(a.dir, 1, "dir");
	ASSERT_EQ(a.advice_mtu, 1420, "advice_mtu");
	ASSERT_EQ(a.advice_mss, 1360, "advice_mss: IPv6 MTU - 60");
	return true;
}

static bool test_pmtu_limited_working_pmtud(void)
{
	/* PTB 1400 at 5 ms; the sender shrank to 1400 and data flows. */
	struct mts_flow_key k = key4();
	struct mts_flow f = bulk(0, 1400, V4_HDRS, 3000, 2000);
	struct mts_dir *d = &f.dir[0];
	struct mts_assessment a;

	d->seg_max = 1500;		/* the first flight, before the PTB */
	ptb_rx(d, 1400, 1, 5);
	d->hole_seq = iss(0) + 1;	/* the shrunk resend, acknowledged */
	d->hole_size = 1400;
	d->t_hole = at(5);
	d->rtx_large = 3;
	a = judge(&k, &f, at(2001), MTS_V_NONE);
	ASSERT_VERDICT(a, MTS_V_PMTU_LIMITED);
	ASSERT_EQ(a.dir, 0, "dir");
	ASSERT_EQ(a.wall_low, 1400, "wall_low");
	ASSERT_EQ(a.wall_high, 1401, "wall_high");
	ASSERT_EQ(a.advice_mtu, 1400, "advice_mtu");
	ASSERT_EQ(a.advice_mss, 1360, "advice_mss");
	return true;
}

static bool test_recovered_after_blackhole(void)
{
	/* PLPMTUD (tcp_mtu_probing) shrank the resend to 1064 bytes; the ACK
	 * passed the hole and smaller segments flow. */
	struct mts_flow_key k = key4();
	struct mts_flow f = bulk(0, 1064, V4_HDRS, 500, 3000);
	struct mts_dir *d = &f.dir[0];
	struct mts_assessment a;

	d->seg_max = 1500;
	d->hole_seq = iss(0) + 1;
	d->hole_size = 1064;
	d->t_hole = at(200);
	d->rtx_large = 4;
	d->rtx_small = 1;
	a = judge(&k, &f, at(3001), MTS_V_BLACKHOLE);
	ASSERT_VERDICT(a, MTS_V_RECOVERED);
	ASSERT_EQ(a.dir, 0, "dir");
	return true;
}

static bool test_recovered_upload_with_handshake_seen(void)
{
	/* The same with the handshake seen: the server answered the SYN and
	 * sent nothing of full size (only ACKs), the shape of a waiting
	 * download, but the client sent full-size data: an upload's hole. */
	struct mts_flow_key k = key4();
	struct mts_flow f = bulk(0, 1064, V4_HDRS, 500, 3000);
	struct mts_dir *d = &f.dir[0], *s = &f.dir[1];

	d->seg_max = 1500;
	d->hole_seq = iss(0) + 1;
	d->hole_size = 1064;
	d->t_hole = at(200);
	d->rtx_large = 4;
	d->syn_mss = s->syn_mss = 1460;
	s->xflags = MTS_X_ARR | MTS_X_LISTENER;
	s->arr_nxt = iss(1) + 1;
	d->flags |= MTS_F_FIN;		/* done, and closed */
	ASSERT_VERDICT(judge(&k, &f, at(3001), MTS_V_BLACKHOLE), MTS_V_RECOVERED);
	return true;
}

static bool test_recovered_stays_recovered(void)
{
	struct mts_flow_key k = key4();
	struct mts_flow f = bulk(0, 1064, V4_HDRS, 900, 6000);
	struct mts_assessment a;

	f.dir[0].seg_max = 1500;
	a = judge(&k, &f, at(6001), MTS_V_RECOVERED);
	ASSERT_VERDICT(a, MTS_V_RECOVERED);
	return true;
}

static bool test_reset_connection_keeps_its_verdict(void)
{
	/* A killed client's orphaned socket resends smaller after the fix;
	 * the far end, long closed, answers RST: no news. */
	struct mts_flow_key k = key4();
	struct mts_flow f = bulk(0, 1064, V4_HDRS, 500, 3000);
	struct mts_assessment a;

	f.dir[0].seg_max = 1500;
	f.dir[1].xflags |= MTS_X_RST;
	f.dir[1].flags |= MTS_F_FIN;
	/* it recovered before the end: it says so */
	ASSERT_VERDICT(judge(&k, &f, at(3001), MTS_V_BLACKHOLE), MTS_V_RECOVERED);
	/* the same verdict, its wall looser now: the caller's wall stands */
	f = lab_hole(0, 1500, 100, V4_HDRS);
	f.dir[1].xflags |= MTS_X_RST;
	a = judge(&k, &f, at(1000), MTS_V_BLACKHOLE);
	ASSERT_VERDICT(a, MTS_V_BLACKHOLE);
	ASSERT_EQ(a.wall_high, 0, "the caller keeps the wall");
	/* recovered, then the orphan's resends look like the hole again */
	ASSERT_VERDICT(judge(&k, &f, at(1000), MTS_V_RECOVERED), MTS_V_RECOVERED);
	/* a flow first judged after its reset is judged as it is */
	ASSERT_VERDICT(judge(&k, &f, at(1000), MTS_V_NONE), MTS_V_BLACKHOLE);
	return true;
}

static bool test_recovered_after_ptb_ignored(void)
{
	struct mts_flow_key k = key4();
	struct mts_flow f = bulk(0, 1400, V4_HDRS, 900, 6000);
	struct mts_assessment a;

	f.dir[0].seg_max = 1500;
	ptb_rx(&f.dir[0], 1400, 5, 3000);
	f.dir[0].over_ptb = 4;		/* before it finally obeyed */
	a = judge(&k, &f, at(6001), MTS_V_PTB_IGNORED);
	ASSERT_VERDICT(a, MTS_V_RECOVERED);
	return true;
}

static bool test_healthy_without_prior_blackhole_is_not_recovered(void)
{
	struct mts_flow_key k = key4();
	struct mts_flow f = bulk(0, 1500, V4_HDRS, 900, 6000);
	struct mts_assessment a = judge(&k, &f, at(6001), MTS_V_STALLED);

	ASSERT_VERDICT(a, MTS_V_HEALTHY);
	return true;
}

static bool test_blackhole_still_open_is_not_recovered(void)
{
	struct mts_flow_key k = key4();
	struct mts_flow f = lab_hole(0, 1500, 1004, V4_HDRS);
	struct mts_assessment a = judge(&k, &f, at(3200), MTS_V_BLACKHOLE);

	ASSERT_VERDICT(a, MTS_V_BLACKHOLE);
	return true;
}

static bool test_blackhole_gone_silent_stays_blackhole(void)
{
	/* After the fix the sender resends the head at 1280: too small to be
	 * "large", and no ACK yet. That is not a dead path. */
	struct mts_flow_key k = key4();
	struct mts_flow f = bulk(0, 1500, V4_HDRS, 300, 100);
	struct mts_dir *d = &f.dir[0];
	struct mts_assessment a;

	d->snd_nxt += 10 * 1448;
	resend_head(d, 1280, 4, 300);
	a = judge(&k, &f, at(3500), MTS_V_NONE);
	ASSERT_VERDICT(a, MTS_V_STALLED);
	a = judge(&k, &f, at(3500), MTS_V_BLACKHOLE);
	ASSERT_VERDICT(a, MTS_V_BLACKHOLE);
	a = judge(&k, &f, at(3500), MTS_V_PTB_IGNORED);
	ASSERT_VERDICT(a, MTS_V_PTB_IGNORED);
	return true;
}

/* Where the PTB dies: the cause named with the black hole. */
static bool test_cause_ptb_filtered_beyond(void)
{
	struct mts_flow_key k = key4();
	struct mts_flow f = lab_hole(0, 1500, 1004, V4_HDRS);
	struct mts_assessment a = judge(&k, &f, at(3200), MTS_V_NONE);

	ASSERT_VERDICT(a, MTS_V_BLACKHOLE);
	ASSERT_TRUE(a.cause && !strcmp(a.cause, MTS_CAUSE_BEYOND), "cause beyond");
	return true;
}

static bool test_cause_local_ptb_dropped(void)
{
	/* Our own route was too small for the packets (ingress route
	 * check) and no PTB of ours left. */
	struct mts_flow_key k = key4();
	struct mts_flow f = lab_hole(0, 1500, 1004, V4_HDRS);
	struct mts_assessment a;

	f.dir[0].oversize = 3;
	f.dir[0].route_mtu = 1400;
	a = judge(&k, &f, at(3200), MTS_V_NONE);
	ASSERT_VERDICT(a, MTS_V_BLACKHOLE);
	ASSERT_TRUE(a.cause && !strcmp(a.cause, MTS_CAUSE_LOCAL), "cause local");
	/* ... but a PTB of ours did leave: not our firewall. */
	f.dir[0].ptb_tx = 2;
	a = judge(&k, &f, at(3200), MTS_V_NONE);
	ASSERT_TRUE(!a.cause || strcmp(a.cause, MTS_CAUSE_LOCAL), "not local once a PTB left");
	return true;
}

/* The gateway is the wall: its segments never reach an egress, so only
 * the ingress route check sees them, again and again. */
static bool test_gateway_wall_without_own_ptb_is_blackhole(void)
{
	struct mts_flow_key k = key4();
	struct mts_flow f = {};
	struct mts_dir *d = &f.dir[0];
	struct mts_assessment a;

	d->flags = MTS_F_SND;		/* the SYN went out; no data ever did */
	d->oversize = 1;
	d->fib_size = 1500;
	d->route_mtu = 1400;
	a = judge(&k, &f, at(300), MTS_V_NONE);
	ASSERT_NOT_VERDICT(a, MTS_V_BLACKHOLE);	/* one: PMTUD may still work */
	d->oversize = 3;
	a = judge(&k, &f, at(900), MTS_V_NONE);
	ASSERT_VERDICT(a, MTS_V_BLACKHOLE);
	ASSERT_TRUE(a.cause && !strcmp(a.cause, MTS_CAUSE_LOCAL), "cause local");
	ASSERT_EQ(a.advice_mtu, 1400, "advice = the route's MTU");
	ASSERT_EQ(a.wall_low, 1400, "wall low");
	ASSERT_EQ(a.wall_high, 1500, "wall high");
	/* Our PTB did leave: PMTUD at work, not a black hole. */
	d->ptb_tx = 1;
	a = judge(&k, &f, at(900), MTS_V_NONE);
	ASSERT_NOT_VERDICT(a, MTS_V_BLACKHOLE);
	return true;
}

static bool test_cause_ptb_ignored(void)
{
	struct mts_flow_key k = key4();
	struct mts_flow f = lab_hole(0, 1500, 1004, V4_HDRS);
	struct mts_assessment a;

	ptb_rx(&f.dir[0], 1400, 5, 2000);
	f.dir[0].over_ptb = 4;
	a = judge(&k, &f, at(3200), MTS_V_NONE);
	ASSERT_VERDICT(a, MTS_V_PTB_IGNORED);
	ASSERT_TRUE(a.cause && !strcmp(a.cause, MTS_CAUSE_IGNORED), "cause ignored");
	return true;
}

static bool test_stalled_dead_path(void)
{
	/* A bulk transfer whose path died at 100 ms: the head is resent four
	 * times, no ACK, no SACK, nothing at all since. */
	struct mts_flow_key k = key4();
	struct mts_flow f = bulk(0, 1500, V4_HDRS, 300, 100);
	struct mts_dir *d = &f.dir[0];
	struct mts_assessment a;

	d->snd_nxt += 10 * 1448;
	resend_head(d, 1500, 4, 300);
	a = judge(&k, &f, at(3500), MTS_V_NONE);
	ASSERT_VERDICT(a, MTS_V_STALLED);
	ASSERT_EQ(a.dir, 0, "dir");
	ASSERT_EQ(a.advice_mtu, 0, "no MTU advice for a dead path");
	return true;
}

/* ------------------------------------------- false-positive traps (§1) */

static bool test_random_loss_resent_once_then_acked_not_blackhole(void)
{
	/* One full-size segment lost, resent once, the ACK moved past it. */
	struct mts_flow_key k = key4();
	struct mts_flow f = bulk(0, 1500, V4_HDRS, 2000, 2000);
	struct mts_dir *d = &f.dir[0];
	struct mts_assessment a;

	d->hole_seq = d->snd_una - 900 * 1448;	/* hole_rtx cleared by the ACK */
	d->hole_size = 1500;
	d->t_hole = at(800);
	d->rtx_large = 1;
	a = judge(&k, &f, at(2001), MTS_V_NONE);
	ASSERT_NOT_VERDICT(a, MTS_V_BLACKHOLE);
	ASSERT_VERDICT(a, MTS_V_HEALTHY);
	return true;
}

static bool test_random_loss_of_first_segment_twice_not_blackhole(void)
{
	/* The very first full-size segment lost twice in a row; its siblings
	 * were SACKed, which proved the full size passes (MTS_F_BIG). */
	struct mts_flow_key k = key4();
	struct mts_flow f = lab_hole(0, 1500, 1004, V4_HDRS);
	struct mts_dir *d = &f.dir[0];
	struct mts_assessment a;

	d->deliv_max = 1500;
	d->flags &= ~MTS_F_BIG;
	d->hole_rtx = 2;
	d->t_ack = at(565);		/* dup ACKs for the siblings' resends */
	a = judge(&k, &f, at(600), MTS_V_NONE);
	ASSERT_NOT_VERDICT(a, MTS_V_BLACKHOLE);
	ASSERT_NOT_VERDICT(a, MTS_V_SUSPECT);
	return true;
}

static bool test_congestion_tail_drops_not_blackhole(void)
{
	/* A bottleneck drops tails of full-size bursts: dozens of large
	 * resends, the current head resent twice (fast retransmit, then RTO),
	 * SACKs keep coming and the ACK keeps progressing. */
	struct mts_flow_key k = key4();
	struct mts_flow f = bulk(0, 1500, V4_HDRS, 20000, 9000);
	struct mts_dir *d = &f.dir[0];
	struct mts_assessment a;

	d->snd_nxt += 40 * 1448;
	resend_head(d, 1500, 2, 8700);
	d->rtx_large = 57;
	d->flags |= MTS_F_SACK_HOLE;
	d->t_ack = at(9100);
	a = judge(&k, &f, at(9150), MTS_V_NONE);
	ASSERT_NOT_VERDICT(a, MTS_V_BLACKHOLE);
	ASSERT_VERDICT(a, MTS_V_HEALTHY);
	return true;
}

static bool test_dead_path_bulk_is_stalled_not_blackhole(void)
{
	/* Nothing comes back after 100 ms, while the last full-size segment
	 * delivered was the same size as the one resent. */
	struct mts_flow_key k = key6();
	struct mts_flow f = bulk(0, 1500, V6_HDRS, 300, 100);
	struct mts_dir *d = &f.dir[0];
	struct mts_assessment a;

	d->snd_nxt += 10 * 1428;
	resend_head(d, 1500, 5, 300);
	a = judge(&k, &f, at(7000), MTS_V_NONE);
	ASSERT_NOT_VERDICT(a, MTS_V_BLACKHOLE);
	ASSERT_VERDICT(a, MTS_V_STALLED);
	return true;
}

static bool test_dead_path_small_request_is_stalled_not_blackhole(void)
{
	/* Handshake done, then the path dies: the client's 140-byte request
	 * (small: far below any wall) is resent again and again, no ACK, no
	 * SACK, nothing back since the SYN-ACK. */
	struct mts_flow_key k = key4();
	struct mts_flow f = { .t_first = at(0), .seen = 1400, .ifindex = 3 };
	struct mts_dir *d = &f.dir[0];
	struct mts_assessment a;

	d->snd_una = iss(0) + 1;		/* the SYN-ACK's ACK */
	d->snd_nxt = d->snd_una + 140 - V4_HDRS;
	d->t_ack = at(0);
	d->seg_max = 140;
	d->probe_seq = d->snd_una;
	d->probe_size = 140;
	d->probe_plen = 140 - V4_HDRS;
	d->big_seq = d->snd_una;
	d->flags = MTS_F_SND | MTS_F_ACK | MTS_F_DF | MTS_F_PROBE | MTS_F_BIG;
	resend_head(d, 140, 3, 200);
	a = judge(&k, &f, at(1500), MTS_V_NONE);
	ASSERT_NOT_VERDICT(a, MTS_V_BLACKHOLE);
	ASSERT_VERDICT(a, MTS_V_STALLED);
	return true;
}

static bool test_dead_path_small_segments_is_stalled_not_blackhole(void)
{
	/* An interactive session (outputs up to 200 bytes delivered) whose
	 * path dies: a 300-byte output is resent, nothing comes back. */
	struct mts_flow_key k = key4();
	struct mts_flow f = bulk(1, 200, V4_HDRS, 400, 5000);
	struct mts_dir *d = &f.dir[1];
	struct mts_assessment a;

	d->seg_max = 300;
	d->snd_nxt += 300 - V4_HDRS;
	resend_head(d, 300, 4, 5300);
	a = judge(&k, &f, at(9000), MTS_V_NONE);
	ASSERT_NOT_VERDICT(a, MTS_V_BLACKHOLE);
	ASSERT_VERDICT(a, MTS_V_STALLED);
	return true;
}

static bool test_late_ptb_after_resends_not_blackhole(void)
{
	/* Working PMTUD with a rate-limited router: the PTBs for the first
	 * transmission and the first resend were not sent, the one for the
	 * second resend (560 ms) arrives at 600 ms. The sender has been told;
	 * it has not had the chance to act on it yet (over_ptb 0). */
	struct mts_flow_key k = key4();
	struct mts_flow f = lab_hole(0, 1500, 1004, V4_HDRS);
	struct mts_dir *d = &f.dir[0];
	struct mts_assessment a;

	d->hole_rtx = 2;
	d->rtx_large = 2;
	ptb_rx(d, 1400, 1, 600);
	a = judge(&k, &f, at(600), MTS_V_NONE);
	ASSERT_NOT_VERDICT(a, MTS_V_BLACKHOLE);
	ASSERT_NOT_VERDICT(a, MTS_V_PTB_IGNORED);
	ASSERT_NOT_VERDICT(a, MTS_V_STALLED);	/* something did come back */
	return true;
}

static bool test_pmtud_shrunk_resend_in_flight_not_blackhole(void)
{
	/* ... and the sender obeyed at once: the head resent at 1400 bytes
	 * (Linux tcp_simple_retransmit), its ACK one round trip away. */
	struct mts_flow_key k = key4();
	struct mts_flow f = lab_hole(0, 1500, 1004, V4_HDRS);
	struct mts_dir *d = &f.dir[0];
	struct mts_assessment a;

	ptb_rx(d, 1400, 1, 600);
	d->hole_rtx = 3;		/* 200 ms, 560 ms, and now at 1400 */
	d->hole_size = 1400;
	d->probe_size = 1400;
	d->probe_plen = 1400 - V4_HDRS;
	a = judge(&k, &f, at(640), MTS_V_NONE);
	ASSERT_NOT_VERDICT(a, MTS_V_BLACKHOLE);
	ASSERT_NOT_VERDICT(a, MTS_V_PTB_IGNORED);
	return true;
}

static bool test_zero_window_receiver_not_blackhole(void)
{
	/* The application stopped reading: the window closed, the sender's
	 * persist probes are pure ACKs (not tracked), replies keep coming;
	 * no loss, no resend, for a minute. */
	struct mts_flow_key k = key4();
	struct mts_flow f = bulk(0, 1500, V4_HDRS, 400, 60000);
	struct mts_assessment a;

	f.seen = 500;
	a = judge(&k, &f, at(60001), MTS_V_NONE);
	ASSERT_NOT_VERDICT(a, MTS_V_BLACKHOLE);
	ASSERT_VERDICT(a, MTS_V_HEALTHY);
	return true;
}

static bool test_zero_window_one_byte_probes_not_blackhole(void)
{
	/* BSD/Windows-style persist probes: the same 1-byte segment (53 IP
	 * bytes) resent again and again, each answered by an ACK that stays
	 * right in front of it (window 0). */
	struct mts_flow_key k = key4();
	struct mts_flow f = bulk(1, 1500, V4_HDRS, 400, 500);
	struct mts_dir *d = &f.dir[1];
	struct mts_assessment a;

	d->snd_nxt += 1;
	resend_head(d, V4_HDRS + 1, 9, 1000);
	d->t_ack = at(30000);
	a = judge(&k, &f, at(30001), MTS_V_NONE);
	ASSERT_NOT_VERDICT(a, MTS_V_BLACKHOLE);
	ASSERT_VERDICT(a, MTS_V_HEALTHY);
	return true;
}

static bool test_small_window_receiver_not_blackhole(void)
{
	/* A receiver with a 1000-byte window: the sender sends what fits,
	 * its one earlier full-size segment is still in flight. */
	struct mts_flow_key k = key6();
	struct mts_flow f = bulk(0, 1072, V6_HDRS, 800, 4000);
	struct mts_dir *d = &f.dir[0];
	struct mts_assessment a;

	d->seg_max = 1500;
	d->probe_seq = d->snd_una - 1428;
	d->probe_size = 1500;
	d->flags |= MTS_F_PROBE;
	a = judge(&k, &f, at(4001), MTS_V_NONE);
	ASSERT_NOT_VERDICT(a, MTS_V_BLACKHOLE);
	ASSERT_VERDICT(a, MTS_V_HEALTHY);
	return true;
}

/* --------------------------------------------------------- directions */

static bool test_blackhole_sender_in_dir1(void)
{
	/* The server (end 1) answers a small request with a large response. */
	struct mts_flow_key k = key4();
	struct mts_flow f = lab_hole(1, 1500, 1004, V4_HDRS);
	struct mts_dir *c = &f.dir[0];
	struct mts_assessment a;

	c->snd_una = c->snd_nxt = iss(0) + 1 + 300;
	c->seg_max = c->deliv_max = 352;
	c->t_ack = at(0);
	c->flags = MTS_F_SND | MTS_F_ACK | MTS_F_DF;
	a = judge(&k, &f, at(1500), MTS_V_NONE);
	ASSERT_VERDICT(a, MTS_V_BLACKHOLE);
	ASSERT_EQ(a.dir, 1, "dir is the server end");
	ASSERT_EQ(a.wall_low, 1004, "wall_low");
	ASSERT_EQ(a.wall_high, 1500, "wall_high");
	return true;
}

static bool test_healthy_sender_in_dir1(void)
{
	struct mts_flow_key k = key6();
	struct mts_flow f = bulk(1, 1500, V6_HDRS, 100, 500);
	struct mts_assessment a = judge(&k, &f, at(501), MTS_V_NONE);

	ASSERT_VERDICT(a, MTS_V_HEALTHY);
	ASSERT_EQ(a.dir, 1, "dir");
	return true;
}

static bool test_worse_direction_wins(void)
{
	/* End 0 is healthy, end 1 suspect: the flow is suspect, dir 1. */
	struct mts_flow_key k = key4();
	struct mts_flow f = lab_hole(1, 1500, 1004, V4_HDRS);
	struct mts_flow b = bulk(0, 1500, V4_HDRS, 100, 390);
	struct mts_assessment a;

	f.dir[0] = b.dir[0];
	f.dir[1].hole_rtx = 1;
	a = judge(&k, &f, at(400), MTS_V_NONE);
	ASSERT_VERDICT(a, MTS_V_SUSPECT);
	ASSERT_EQ(a.dir, 1, "dir");
	return true;
}

static bool test_same_verdict_prefers_larger_sender(void)
{
	struct mts_flow_key k = key4();
	struct mts_flow f = bulk(1, 1500, V4_HDRS, 100, 500);
	struct mts_flow b = bulk(0, 200, V4_HDRS, 10, 500);
	struct mts_assessment a;

	f.dir[0] = b.dir[0];
	a = judge(&k, &f, at(501), MTS_V_NONE);
	ASSERT_VERDICT(a, MTS_V_HEALTHY);
	ASSERT_EQ(a.dir, 1, "dir: the bulk sender");
	return true;
}

/* -------------------------------------------------------------- advice */

static bool test_advise_ipv4_mss_is_mtu_minus_40(void)
{
	unsigned mtu = 1, mss = 1;

	mts_advise(AF_INET, 1400, 1450, &mtu, &mss);
	ASSERT_EQ(mtu, 1400, "mtu: what was delivered");
	ASSERT_EQ(mss, 1360, "mss");
	return true;
}

static bool test_advise_ipv6_mss_is_mtu_minus_60(void)
{
	unsigned mtu = 1, mss = 1;

	mts_advise(AF_INET6, 1400, 1450, &mtu, &mss);
	ASSERT_EQ(mtu, 1400, "mtu");
	ASSERT_EQ(mss, 1340, "mss");
	return true;
}

static bool test_advise_1280_when_inside_bounds(void)
{
	unsigned mtu = 1, mss = 1;

	/* A handshake proves 60 bytes, a 1500-byte segment is lost. */
	mts_advise(AF_INET6, 60, 1500, &mtu, &mss);
	ASSERT_EQ(mtu, 1280, "IPv6 mtu");
	ASSERT_EQ(mss, 1220, "IPv6 mss");
	mts_advise(AF_INET, 60, 1500, &mtu, &mss);
	ASSERT_EQ(mtu, 1280, "IPv4 mtu");
	ASSERT_EQ(mss, 1240, "IPv4 mss");
	mts_advise(AF_INET6, 1000, 1281, &mtu, &mss);
	ASSERT_EQ(mtu, 1280, "just inside");
	return true;
}

static bool test_advise_1280_not_when_it_was_lost(void)
{
	unsigned mtu = 1, mss = 1;

	/* 1280 itself was lost: not inside the bounds, keep what arrived. */
	mts_advise(AF_INET6, 1000, 1280, &mtu, &mss);
	ASSERT_EQ(mtu, 1000, "mtu");
	ASSERT_EQ(mss, 940, "mss");
	return true;
}

static bool test_advise_ipv4_576_floor(void)
{
	unsigned mtu = 1, mss = 1;

	mts_advise(AF_INET, 60, 1000, &mtu, &mss);
	ASSERT_EQ(mtu, 576, "mtu");
	ASSERT_EQ(mss, 536, "mss");
	/* IPv6 has no 576 rung: below 1280 it keeps what was delivered. */
	mts_advise(AF_INET6, 80, 1000, &mtu, &mss);
	ASSERT_EQ(mtu, 80, "IPv6 mtu");
	ASSERT_EQ(mss, 20, "IPv6 mss");
	return true;
}

static bool test_advise_never_reaches_the_wall(void)
{
	unsigned mtu = 1, mss = 1;

	/* Inconsistent evidence (delivered >= lost): stay below the loss. */
	mts_advise(AF_INET, 1500, 1400, &mtu, &mss);
	ASSERT_EQ(mtu, 1399, "mtu");
	ASSERT_EQ(mss, 1359, "mss");
	mts_advise(AF_INET, 1400, 1400, &mtu, &mss);
	ASSERT_EQ(mtu, 1399, "equal bounds");
	return true;
}

static bool test_advise_unknown_bounds(void)
{
	unsigned mtu = 1, mss = 1;

	mts_advise(AF_INET, 0, 0, &mtu, &mss);
	ASSERT_EQ(mtu, 0, "nothing known: no mtu");
	ASSERT_EQ(mss, 0, "nothing known: no mss");
	mts_advise(AF_INET6, 0, 1500, &mtu, &mss);
	ASSERT_EQ(mtu, 1280, "only the loss known");
	ASSERT_EQ(mss, 1220, "only the loss known");
	mts_advise(AF_INET, 1420, 0, &mtu, &mss);
	ASSERT_EQ(mtu, 1420, "only delivery known: no clamp");
	ASSERT_EQ(mss, 1380, "only delivery known");
	return true;
}

static bool test_advise_tiny_mtu_has_no_mss(void)
{
	unsigned mtu = 1, mss = 1;

	mts_advise(AF_INET6, 60, 0, &mtu, &mss);
	ASSERT_EQ(mtu, 60, "mtu");
	ASSERT_EQ(mss, 0, "no room for an MSS");
	return true;
}

/* ------------------------------------------------------ names and ranks */

static bool test_verdict_names(void)
{
	static const char *const want[MTS_V_MAX] = {
		[MTS_V_HEALTHY] = "healthy",
		[MTS_V_PMTU_LIMITED] = "pmtu-limited",
		[MTS_V_SUSPECT] = "suspect",
		[MTS_V_BLACKHOLE] = "blackhole",
		[MTS_V_PTB_IGNORED] = "ptb-ignored",
		[MTS_V_RECOVERED] = "recovered",
		[MTS_V_STALLED] = "stalled",
	};

	for (int v = MTS_V_HEALTHY; v < MTS_V_MAX; v++) {
		const char *n = mts_verdict_name(v);

		ASSERT_TRUE(n && n[0], "non-empty name");
		for (const char *c = n; *c; c++)
			ASSERT_TRUE(islower((unsigned char)*c) || *c == '-', "lowercase name");
		ASSERT_STREQ(n, want[v], "name");
		for (int w = MTS_V_HEALTHY; w < v; w++)
			ASSERT_TRUE(strcmp(n, mts_verdict_name(w)), "distinct names");
	}
	ASSERT_TRUE(mts_verdict_name(MTS_V_MAX) != NULL, "out of range: still a string");
	ASSERT_TRUE(mts_verdict_name((enum mts_verdict)-1) != NULL, "negative: still a string");
	return true;
}

static bool test_verdict_rank_blackhole_worst_healthy_best(void)
{
	/* The order correlator.h documents: worst first. */
	static const enum mts_verdict order[] = {
		MTS_V_BLACKHOLE, MTS_V_PTB_IGNORED, MTS_V_SUSPECT, MTS_V_STALLED,
		MTS_V_PMTU_LIMITED, MTS_V_RECOVERED, MTS_V_HEALTHY,
	};

	for (int v = MTS_V_HEALTHY; v < MTS_V_MAX; v++) {
		if (v != MTS_V_BLACKHOLE)
			ASSERT_TRUE(mts_verdict_rank(MTS_V_BLACKHOLE) < mts_verdict_rank(v),
				    "blackhole ranks worst");
		if (v != MTS_V_HEALTHY)
			ASSERT_TRUE(mts_verdict_rank(MTS_V_HEALTHY) > mts_verdict_rank(v),
				    "healthy ranks best");
	}
	for (unsigned i = 1; i < sizeof(order) / sizeof(order[0]); i++)
		ASSERT_TRUE(mts_verdict_rank(order[i - 1]) < mts_verdict_rank(order[i]),
			    "documented order");
	return true;
}

/* ---------------------------------------------------------- tick wrap */

static bool test_blackhole_across_tick_wrap(void)
{
	/* The lab run with the 2^32 wrap between the SACK and the first resend. */
	struct mts_flow_key k = key4();
	struct mts_flow f = lab_hole(0, 1500, 1004, V4_HDRS);
	__u32 w = wrap_at(100);
	struct mts_assessment a;

	shift_times(&f, w);
	ASSERT_TRUE(f.dir[0].t_ack > f.dir[0].t_hole, "timestamps wrapped");
	a = judge(&k, &f, at(1500) + w, MTS_V_NONE);
	ASSERT_VERDICT(a, MTS_V_BLACKHOLE);
	ASSERT_EQ(a.wall_high, 1500, "wall_high");
	return true;
}

static bool test_stalled_across_tick_wrap(void)
{
	/* Last ACK just before the wrap, the resends after it: silent. */
	struct mts_flow_key k = key4();
	struct mts_flow f = bulk(0, 1500, V4_HDRS, 300, 100);
	__u32 w = wrap_at(200);
	struct mts_assessment a;

	f.dir[0].snd_nxt += 10 * 1448;
	resend_head(&f.dir[0], 1500, 4, 300);
	shift_times(&f, w);
	ASSERT_TRUE(f.dir[0].t_ack > f.dir[0].t_hole, "timestamps wrapped");
	a = judge(&k, &f, at(3500) + w, MTS_V_NONE);
	ASSERT_VERDICT(a, MTS_V_STALLED);
	return true;
}

static bool test_ack_after_wrap_is_not_silent(void)
{
	/* The congestion record with the wrap between the first resend and
	 * the latest ACK: ACKs still come, so not stalled. */
	struct mts_flow_key k = key4();
	struct mts_flow f = bulk(0, 1500, V4_HDRS, 20000, 9000);
	__u32 w = wrap_at(8800);
	struct mts_assessment a;

	f.dir[0].snd_nxt += 40 * 1448;
	resend_head(&f.dir[0], 1500, 2, 8700);
	f.dir[0].t_ack = at(9100);
	shift_times(&f, w);
	ASSERT_TRUE(f.dir[0].t_ack < f.dir[0].t_hole, "timestamps wrapped");
	a = judge(&k, &f, at(9150) + w, MTS_V_NONE);
	ASSERT_VERDICT(a, MTS_V_HEALTHY);
	return true;
}

static bool test_suspect_age_across_tick_wrap(void)
{
	/* Resent at 200 ms, judged at 400 ms, the wrap at 300 ms. */
	struct mts_flow_key k = key4();
	struct mts_flow f = lab_hole(0, 1500, 1004, V4_HDRS);
	__u32 w = wrap_at(300);
	struct mts_assessment a;

	f.dir[0].hole_rtx = 1;
	shift_times(&f, w);
	a = judge(&k, &f, at(400) + w, MTS_V_NONE);
	ASSERT_TRUE(at(400) + w < f.dir[0].t_hole, "now wrapped");
	ASSERT_VERDICT(a, MTS_V_SUSPECT);
	return true;
}

static bool test_young_hole_across_tick_wrap_is_not_suspect(void)
{
	/* Resent at 200 ms, judged at 250 ms, the wrap at 220 ms. */
	struct mts_flow_key k = key4();
	struct mts_flow f = lab_hole(0, 1500, 1004, V4_HDRS);
	__u32 w = wrap_at(220);
	struct mts_assessment a;

	f.dir[0].hole_rtx = 1;
	shift_times(&f, w);
	a = judge(&k, &f, at(250) + w, MTS_V_NONE);
	ASSERT_VERDICT(a, MTS_V_HEALTHY);
	return true;
}

/* ------------------------------------------------ joined mid-connection */

/*
 * Watching began while end s was stalled: the first packet seen of it was
 * one resend of its head, size bytes, DF, and nothing has come back since
 * (the record as tcp_egress makes it: the resend looks like new data).
 */
static struct mts_flow joined(int s, unsigned size, unsigned hdrs)
{
	struct mts_flow f = { .t_first = at(0), .seen = 1, .ifindex = 3 };
	struct mts_dir *d = &f.dir[s];
	__u32 seq = iss(s) + 1 + 700 * 1448;

	d->snd_nxt = seq + size - hdrs;
	d->seg_max = size;
	d->probe_seq = seq;
	d->probe_size = size;
	d->probe_plen = size - hdrs;
	d->big_seq = seq;
	d->flags = MTS_F_SND | MTS_F_DF | MTS_F_PROBE | MTS_F_BIG;
	d->xflags = MTS_X_JOINED;
	return f;
}

static bool test_joined_mid_stall_one_resend_is_suspect(void)
{
	struct mts_flow_key k = key4();
	struct mts_flow f = joined(0, 1500, V4_HDRS);
	struct mts_assessment a = judge(&k, &f, at(1100), MTS_V_NONE);

	ASSERT_VERDICT(a, MTS_V_SUSPECT);
	ASSERT_TRUE(a.needs_probe, "only a probe can settle it");
	ASSERT_TRUE(strstr(a.why, "joined mid-stall") != NULL, "why says joined mid-stall");
	ASSERT_EQ(a.lost, 1500, "the segment that does not get through");
	return true;
}

static bool test_joined_mid_stall_within_a_second_is_not_yet_suspect(void)
{
	struct mts_flow_key k = key4();
	struct mts_flow f = joined(0, 1500, V4_HDRS);
	struct mts_assessment a = judge(&k, &f, at(400), MTS_V_NONE);

	ASSERT_VERDICT(a, MTS_V_HEALTHY);
	return true;
}

static bool test_joined_healthy_flow_acked_is_not_suspect(void)
{
	/* Joined mid-transfer on a working path: the ACK covered the first
	 * segment seen (delivered: the probe is done, deliv_max its size). */
	struct mts_flow_key k = key4();
	struct mts_flow f = joined(0, 1500, V4_HDRS);
	struct mts_dir *d = &f.dir[0];
	struct mts_assessment a;

	d->flags = (d->flags | MTS_F_ACK) & ~(MTS_F_PROBE | MTS_F_BIG);
	d->snd_una = d->snd_nxt;
	d->deliv_max = 1500;
	d->t_ack = at(1);
	a = judge(&k, &f, at(5000), MTS_V_NONE);
	ASSERT_VERDICT(a, MTS_V_HEALTHY);
	return true;
}

static bool test_joined_small_segment_unanswered_is_not_suspect(void)
{
	/* An idle interactive flow's keystroke, joined: no wall holds 120 bytes. */
	struct mts_flow_key k = key4();
	struct mts_flow f = joined(0, 120, V4_HDRS);
	struct mts_assessment a = judge(&k, &f, at(3000), MTS_V_NONE);

	ASSERT_NOT_VERDICT(a, MTS_V_SUSPECT);
	return true;
}

static bool test_joined_mid_stall_resent_again_is_suspect_not_stalled(void)
{
	/* The next resend comes after the backoff, still unanswered: silence
	 * about a large segment is no proof of a dead path. */
	struct mts_flow_key k = key6();
	struct mts_flow f = joined(0, 1500, V6_HDRS);
	struct mts_dir *d = &f.dir[0];
	struct mts_assessment a;

	d->hole_seq = d->probe_seq;
	resend_head(d, 1500, 2, 13000);
	d->hole_seq = d->probe_seq;
	a = judge(&k, &f, at(26000), MTS_V_NONE);
	ASSERT_NOT_VERDICT(a, MTS_V_STALLED);
	ASSERT_VERDICT(a, MTS_V_SUSPECT);
	ASSERT_TRUE(a.needs_probe, "only a probe can settle it");
	return true;
}

static bool test_large_resent_silent_after_handshake_is_blackhole(void)
{
	/* Watched from the handshake: the first full-size burst vanished and
	 * its head is resent with no answer since. The handshake got through
	 * just before and the ACK stands right at the lost segment: the classic
	 * "ssh works, the transfer hangs", a black hole, not a dead path. */
	struct mts_flow_key k = key4();
	struct mts_flow f = { .t_first = at(0), .seen = 1400, .ifindex = 3 };
	struct mts_dir *d = &f.dir[0];
	struct mts_assessment a;

	d->snd_una = iss(0) + 1;
	d->snd_nxt = d->snd_una + 10 * 1448;
	d->t_ack = at(0);
	d->seg_max = 1500;
	d->flags = MTS_F_SND | MTS_F_ACK | MTS_F_DF;
	resend_head(d, 1500, 4, 200);
	a = judge(&k, &f, at(3100), MTS_V_NONE);
	ASSERT_NOT_VERDICT(a, MTS_V_STALLED);
	ASSERT_VERDICT(a, MTS_V_BLACKHOLE);
	return true;
}

static bool test_large_resent_never_acked_is_suspect_not_stalled(void)
{
	/* No ACK of this data was ever seen (the record began with the
	 * resends): a wall and a dead path look alike. */
	struct mts_flow_key k = key4();
	struct mts_flow f = { .t_first = at(0), .seen = 1400, .ifindex = 3 };
	struct mts_dir *d = &f.dir[0];
	struct mts_assessment a;

	d->snd_nxt = iss(0) + 1 + 1448;
	d->seg_max = 1500;
	d->flags = MTS_F_SND | MTS_F_DF;
	resend_head(d, 1500, 3, 200);
	d->hole_seq = iss(0) + 1;
	a = judge(&k, &f, at(3100), MTS_V_NONE);
	ASSERT_NOT_VERDICT(a, MTS_V_STALLED);
	ASSERT_VERDICT(a, MTS_V_SUSPECT);
	ASSERT_TRUE(a.needs_probe, "only a probe can settle it");
	return true;
}

/* A probe's finding applied to an assessment, as the model does each tick. */
static struct mts_assessment probed(const struct mts_flow_key *k, const struct mts_flow *f,
				    __u32 now, unsigned pmtu, bool dead)
{
	struct mts_assessment a = judge(k, f, now, MTS_V_NONE);
	struct mts_probe_fact p = { .pmtu = pmtu, .dead = dead };

	mts_apply_probe(&a, k->family, &p);
	return a;
}

static bool test_joined_probe_below_segment_is_blackhole_to_the_byte(void)
{
	struct mts_flow_key k = key4();
	struct mts_flow f = joined(0, 1500, V4_HDRS);
	struct mts_assessment a = probed(&k, &f, at(1100), 1419, false);

	ASSERT_VERDICT(a, MTS_V_BLACKHOLE);
	ASSERT_EQ(a.wall_low, 1419, "wall_low: the path MTU");
	ASSERT_EQ(a.wall_high, 1420, "wall_high: one more");
	ASSERT_EQ(a.advice_mtu, 1419, "advice MTU");
	ASSERT_EQ(a.advice_mss, 1379, "advice MSS");
	ASSERT_TRUE(!a.needs_probe, "settled");
	return true;
}

/* A hook another program ends the chain before: the interface's packets
 * move, the hook's do not, for 2 s and 10 packets; seeing again at once. */
static bool test_hook_blind_when_only_the_kernel_counts(void)
{
	struct mts_blind b = {};

	ASSERT_TRUE(!mts_blind_update(&b, 100, 5000, 0.0), "the first reading is a baseline");
	ASSERT_TRUE(!mts_blind_update(&b, 150, 5100, 1.0), "both moving: seeing");
	ASSERT_TRUE(!mts_blind_update(&b, 150, 5200, 2.0), "1 s without ours: not yet");
	ASSERT_TRUE(mts_blind_update(&b, 150, 5300, 3.0), "2 s and 200 packets without ours: blind");
	ASSERT_TRUE(b.blind, "blind");
	ASSERT_TRUE(!mts_blind_update(&b, 150, 5400, 4.0), "still blind: no change to tell");
	ASSERT_TRUE(mts_blind_update(&b, 151, 5500, 5.0), "one packet of ours: seeing again");
	ASSERT_TRUE(!b.blind, "seeing");
	return true;
}

static bool test_hook_not_blind_on_a_quiet_interface(void)
{
	struct mts_blind b = {};

	mts_blind_update(&b, 0, 0, 0.0);
	for (int t = 1; t <= 10; t++)
		ASSERT_TRUE(!mts_blind_update(&b, 0, t < 5 ? 0 : 9, t), "no traffic, or under 10 packets");
	ASSERT_TRUE(!b.blind, "a quiet interface is not a blind hook");
	/* the device's counters restart (a 32-bit one wraps): a new baseline */
	ASSERT_TRUE(!mts_blind_update(&b, 0, 3, 11.0), "counters restarted");
	ASSERT_TRUE(!mts_blind_update(&b, 0, 40, 12.0), "1 s after the restart: not yet");
	ASSERT_TRUE(mts_blind_update(&b, 0, 80, 13.0), "2 s after: blind");
	return true;
}

static bool test_blackhole_probe_pins_the_wall(void)
{
	/* scp over the hole: only the ssh handshake (100 bytes) was
	 * delivered, so the passive wall is 100..1500; the probe says 1400. */
	struct mts_flow_key k = key4();
	struct mts_flow f = lab_hole(0, 1500, 100, V4_HDRS);
	struct mts_assessment a = judge(&k, &f, at(1000), MTS_V_NONE);

	ASSERT_VERDICT(a, MTS_V_BLACKHOLE);
	ASSERT_EQ(a.wall_low, 100, "passive wall_low: the largest delivered");
	a = probed(&k, &f, at(1000), 1400, false);
	ASSERT_VERDICT(a, MTS_V_BLACKHOLE);
	ASSERT_EQ(a.wall_low, 1400, "wall_low: the path MTU");
	ASSERT_EQ(a.wall_high, 1401, "wall_high: one more");
	ASSERT_EQ(a.advice_mtu, 1400, "advice MTU");
	return true;
}

static bool test_joined_probe_dead_path_is_stalled(void)
{
	struct mts_flow_key k = key4();
	struct mts_flow f = joined(0, 1500, V4_HDRS);
	struct mts_assessment a = probed(&k, &f, at(1100), 0, true);

	ASSERT_NOT_VERDICT(a, MTS_V_BLACKHOLE);
	ASSERT_VERDICT(a, MTS_V_STALLED);
	ASSERT_EQ(a.advice_mtu, 0, "no MTU advice for a dead path");
	return true;
}

static bool test_joined_probe_path_carries_segment_is_stalled(void)
{
	struct mts_flow_key k = key6();
	struct mts_flow f = joined(0, 1500, V6_HDRS);
	struct mts_assessment a = probed(&k, &f, at(1100), 1500, false);

	ASSERT_NOT_VERDICT(a, MTS_V_BLACKHOLE);
	ASSERT_VERDICT(a, MTS_V_STALLED);
	return true;
}

static bool test_probe_never_turns_answered_suspect_into_stalled(void)
{
	/* ACKs come back (the hole is young, not silent): a dead probe result
	 * must not make it a dead path. */
	struct mts_flow_key k = key4();
	struct mts_flow f = bulk(0, 1500, V4_HDRS, 300, 100);
	struct mts_dir *d = &f.dir[0];
	struct mts_assessment a;

	d->snd_nxt += 10 * 1448;
	d->deliv_max = 1000;
	resend_head(d, 1500, 1, 300);
	d->t_ack = at(310);
	a = probed(&k, &f, at(600), 0, true);
	ASSERT_VERDICT(a, MTS_V_SUSPECT);
	return true;
}

static bool test_blackhole_does_not_weaken_to_suspect(void)
{
	struct mts_flow_key k = key4();
	struct mts_flow f = joined(0, 1500, V4_HDRS);
	struct mts_assessment a = judge(&k, &f, at(2000), MTS_V_BLACKHOLE);

	ASSERT_VERDICT(a, MTS_V_BLACKHOLE);
	return true;
}

/* ----------------------------------------------- data arriving (downloads) */

/*
 * A download through the hole, as the gateway sees it when the wall stands
 * before it: the client (end 0) announced MSS 1460, the server (end 1)
 * too; the server's first flight of full-size segments died on the way and
 * only the write's 1004-byte tail arrived, above a gap of five segments,
 * at 2 ms. Nothing of full size ever arrived.
 */
static struct mts_flow download_hole(unsigned hdrs)
{
	struct mts_flow f = { .t_first = at(0), .seen = 1, .ifindex = 3, .in_ifindex = 4 };
	struct mts_dir *d = &f.dir[1];
	__u32 first = iss(1) + 1;

	f.dir[0].syn_mss = 1460;
	f.dir[0].flags = MTS_F_SND;
	f.dir[0].snd_nxt = iss(0) + 1;
	f.dir[0].seg_max = 60;
	d->syn_mss = 1460;
	d->xflags = MTS_X_ARR | MTS_X_GAP;
	d->gap_seq = first;
	d->gap_len = 5 * 1448;
	d->t_gap = at(2);
	d->arr_max = 1004 + hdrs - V4_HDRS;
	d->arr_nxt = first + 5 * 1448 + 952;
	return f;
}

static bool test_download_gap_below_small_tail_is_inbound_blackhole(void)
{
	struct mts_flow_key k = key4();
	struct mts_flow f = download_hole(V4_HDRS);
	struct mts_assessment a = judge(&k, &f, at(1100), MTS_V_NONE);

	ASSERT_VERDICT(a, MTS_V_BLACKHOLE);
	ASSERT_TRUE(a.inbound, "inbound");
	ASSERT_EQ(a.dir, 1, "the server's data");
	ASSERT_EQ(a.wall_low, 1004, "wall_low: the tail that arrived");
	ASSERT_EQ(a.wall_high, 1500, "wall_high: a full segment");
	ASSERT_EQ(a.lost, 1500, "lost");
	return true;
}

static bool test_download_gap_ipv6(void)
{
	struct mts_flow_key k = key6();
	struct mts_flow f = download_hole(V6_HDRS);
	struct mts_assessment a = judge(&k, &f, at(1100), MTS_V_NONE);

	ASSERT_VERDICT(a, MTS_V_BLACKHOLE);
	ASSERT_EQ(a.wall_high, 1520, "wall_high: MSS 1460 + 60");
	ASSERT_EQ(a.advice_mtu, 1280, "advice: 1280 inside the bounds");
	return true;
}

static bool test_download_young_gap_is_not_blackhole(void)
{
	/* Fast retransmit fills a gap within a round trip or two. */
	struct mts_flow_key k = key4();
	struct mts_flow f = download_hole(V4_HDRS);
	struct mts_assessment a = judge(&k, &f, at(400), MTS_V_NONE);

	ASSERT_NOT_VERDICT(a, MTS_V_BLACKHOLE);
	return true;
}

static bool test_download_gap_filled_is_not_blackhole(void)
{
	struct mts_flow_key k = key4();
	struct mts_flow f = download_hole(V4_HDRS);
	struct mts_assessment a;

	f.dir[1].xflags &= ~MTS_X_GAP;
	a = judge(&k, &f, at(3000), MTS_V_NONE);
	ASSERT_VERDICT(a, MTS_V_HEALTHY);
	return true;
}

static bool test_download_random_loss_full_size_arrived_not_blackhole(void)
{
	/* 3% loss on a bulk download: a gap whose resends die too, but
	 * full-size segments arrive all the time. */
	struct mts_flow_key k = key4();
	struct mts_flow f = download_hole(V4_HDRS);
	struct mts_assessment a;

	f.dir[1].arr_max = 1500;
	a = judge(&k, &f, at(3000), MTS_V_NONE);
	ASSERT_NOT_VERDICT(a, MTS_V_BLACKHOLE);
	return true;
}

static bool test_interactive_small_segment_lost_not_blackhole(void)
{
	/* An ssh session loses one 120-byte echo and its resend: the missing
	 * bytes are far fewer than one full segment. */
	struct mts_flow_key k = key4();
	struct mts_flow f = download_hole(V4_HDRS);
	struct mts_assessment a;

	f.dir[1].arr_max = 120;
	f.dir[1].gap_len = 68;
	a = judge(&k, &f, at(3000), MTS_V_NONE);
	ASSERT_NOT_VERDICT(a, MTS_V_BLACKHOLE);
	return true;
}

static bool test_download_gap_without_syns_uses_1280(void)
{
	/* Joined mid-download (no MSS known): small segments only, a gap of
	 * more than 1280 bytes: the same evidence, the size unknown. */
	struct mts_flow_key k = key4();
	struct mts_flow f = download_hole(V4_HDRS);
	struct mts_assessment a;

	f.dir[0].syn_mss = f.dir[1].syn_mss = 0;
	a = judge(&k, &f, at(1100), MTS_V_NONE);
	ASSERT_VERDICT(a, MTS_V_BLACKHOLE);
	ASSERT_EQ(a.wall_low, 1004, "wall_low");
	return true;
}

/*
 * A download whose first flight died whole on the way here (no tail):
 * end 0 (the client) sent a 300-byte request at 1 ms, the server acknowledged it and
 * its 200-byte response headers arrived at 2 ms, the client acknowledged
 * those; since then nothing. The sweep's candidate.
 */
static struct mts_flow download_waiting(unsigned hdrs)
{
	struct mts_flow f = { .t_first = at(0), .seen = 1, .ifindex = 3 };
	struct mts_dir *c = &f.dir[0], *s = &f.dir[1];

	c->syn_mss = s->syn_mss = 1460;
	c->flags = MTS_F_SND | MTS_F_ACK;
	c->snd_nxt = c->snd_una = iss(0) + 1 + 300;
	c->seg_max = c->deliv_max = 300 + hdrs;
	c->xflags = MTS_X_ARR;		/* the request arrived here too */
	c->arr_max = 300 + hdrs;
	c->arr_nxt = c->snd_nxt;
	s->xflags = MTS_X_ARR | MTS_X_LISTENER;
	s->arr_max = 200 + hdrs;
	s->arr_nxt = iss(1) + 1 + 200;
	s->flags = MTS_F_SND | MTS_F_ACK;	/* what passed here is acknowledged */
	s->snd_nxt = s->snd_una = s->arr_nxt;
	s->seg_max = s->deliv_max = 200 + hdrs;
	return f;
}

static bool test_download_waiting_still_is_inbound_suspect(void)
{
	struct mts_flow_key k = key4();
	struct mts_flow f = download_waiting(V4_HDRS);
	struct mts_assessment a = judge_still(&k, &f, at(1200), at(3), MTS_V_NONE);

	ASSERT_VERDICT(a, MTS_V_SUSPECT);
	ASSERT_TRUE(a.inbound && a.idle_alike && a.needs_probe, "inbound, held for the probe");
	ASSERT_EQ(a.dir, 1, "the server's data");
	ASSERT_EQ(a.lost, 1500, "lost: a full segment");
	ASSERT_EQ(a.wall_low, 252, "wall_low: what arrived");
	return true;
}

static bool test_download_waiting_not_yet_still_is_healthy(void)
{
	struct mts_flow_key k = key4();
	struct mts_flow f = download_waiting(V4_HDRS);

	/* a round trip is not a wait; nor is a flow that just moved */
	ASSERT_VERDICT(judge_still(&k, &f, at(600), at(3), MTS_V_NONE), MTS_V_HEALTHY);
	ASSERT_VERDICT(judge(&k, &f, at(5000), MTS_V_NONE), MTS_V_HEALTHY);
	return true;
}

static bool test_download_waiting_ruled_out(void)
{
	struct mts_flow_key k = key4();
	struct mts_flow f;

	/* full-size segments arrived: it knows its path */
	f = download_waiting(V4_HDRS);
	f.dir[1].arr_max = 1500;
	ASSERT_VERDICT(judge_still(&k, &f, at(1200), at(3), MTS_V_NONE), MTS_V_HEALTHY);
	/* the request itself is not acknowledged: an upload's business */
	f = download_waiting(V4_HDRS);
	f.dir[0].snd_nxt += 1000;
	ASSERT_NOT_VERDICT(judge_still(&k, &f, at(1200), at(3), MTS_V_NONE), MTS_V_SUSPECT);
	/* closed */
	f = download_waiting(V4_HDRS);
	f.dir[1].flags |= MTS_F_FIN;
	ASSERT_VERDICT(judge_still(&k, &f, at(1200), at(3), MTS_V_NONE), MTS_V_HEALTHY);
	/* a session that has traded small data for a minute */
	f = download_waiting(V4_HDRS);
	ASSERT_VERDICT(judge_still(&k, &f, at(61000), at(60000), MTS_V_NONE), MTS_V_HEALTHY);
	/* the handshake was not seen: no full size to miss */
	f = download_waiting(V4_HDRS);
	f.dir[1].syn_mss = 0;
	ASSERT_VERDICT(judge_still(&k, &f, at(1200), at(3), MTS_V_NONE), MTS_V_HEALTHY);
	/* the far end opened the connection: no request of ours waits */
	f = download_waiting(V4_HDRS);
	f.dir[1].xflags &= ~MTS_X_LISTENER;
	ASSERT_VERDICT(judge_still(&k, &f, at(1200), at(3), MTS_V_NONE), MTS_V_HEALTHY);
	return true;
}

static struct mts_assessment probed_waiting(unsigned arrived, unsigned pmtu, bool dead,
					    enum mts_verdict prev)
{
	struct mts_flow_key k = key4();
	struct mts_flow f = download_waiting(V4_HDRS);
	struct mts_probe_fact p = { .pmtu = pmtu, .dead = dead };
	struct mts_assessment a;

	f.dir[1].arr_max = arrived;
	a = judge_still(&k, &f, at(1200), at(3), prev);
	mts_apply_probe(&a, k.family, &p);
	return a;
}

static bool test_download_waiting_probe_decides(void)
{
	struct mts_assessment a = probed_waiting(252, 1400, false, MTS_V_NONE);

	ASSERT_VERDICT(a, MTS_V_BLACKHOLE);
	ASSERT_TRUE(a.inbound && !a.needs_probe, "inbound, settled");
	ASSERT_EQ(a.wall_low, 1400, "wall_low: the probe");
	ASSERT_EQ(a.wall_high, 1401, "wall_high: to the byte");
	ASSERT_EQ(a.advice_mtu, 1400, "advice");
	ASSERT_EQ(a.advice_mss, 1360, "mss");
	/* the path carries a full segment: an idle flow, not news */
	a = probed_waiting(252, 1500, false, MTS_V_NONE);
	ASSERT_VERDICT(a, MTS_V_HEALTHY);
	ASSERT_TRUE(a.idle_alike, "dismissed quietly");
	/* segments as large as the path carries arrived: it knows its path */
	ASSERT_VERDICT(probed_waiting(1400, 1400, false, MTS_V_NONE), MTS_V_HEALTHY);
	/* nothing answers the probe: it stays a suspect */
	ASSERT_VERDICT(probed_waiting(252, 0, true, MTS_V_NONE), MTS_V_SUSPECT);
	/* a black hole the probe found stays one, wall and all */
	a = probed_waiting(252, 1400, false, MTS_V_BLACKHOLE);
	ASSERT_VERDICT(a, MTS_V_BLACKHOLE);
	ASSERT_EQ(a.wall_high, 1401, "wall_high");
	return true;
}

static bool test_download_waiting_blackhole_closed_is_not_recovered(void)
{
	/* iperf3 -R through the hole: the client's timer ends the test and
	 * it closes, nothing of full size having arrived. */
	struct mts_flow_key k = key4();
	struct mts_flow f = download_waiting(V4_HDRS);
	struct mts_probe_fact p = { .pmtu = 1400 };
	struct mts_assessment a;

	f.dir[0].flags |= MTS_F_FIN;
	f.dir[0].snd_nxt++;		/* its FIN, not acknowledged yet */
	a = judge_still(&k, &f, at(2500), at(2400), MTS_V_BLACKHOLE);
	mts_apply_probe(&a, k.family, &p);
	ASSERT_VERDICT(a, MTS_V_BLACKHOLE);
	ASSERT_EQ(a.wall_high, 1401, "the probe's wall stands");
	/* ... and long after: still the hole, not a recovery */
	a = judge_still(&k, &f, at(90000), at(2400), MTS_V_BLACKHOLE);
	ASSERT_VERDICT(a, MTS_V_BLACKHOLE);
	/* full-size data arriving is a recovery */
	f.dir[1].arr_max = 1500;
	ASSERT_VERDICT(judge_still(&k, &f, at(2500), at(2400), MTS_V_BLACKHOLE),
		       MTS_V_RECOVERED);
	/* a flow never found one closes healthy */
	f = download_waiting(V4_HDRS);
	f.dir[0].flags |= MTS_F_FIN;
	ASSERT_VERDICT(judge_still(&k, &f, at(2500), at(2400), MTS_V_NONE), MTS_V_HEALTHY);
	return true;
}

/* ------------------------------------------------------------ outside output */

static unsigned any_index(const char *name)
{
	return strcmp(name, "gone0") ? 7 : 0;
}

static bool test_wg_interfaces_only_usable_names(void)
{
	char text[] = "wg0 gone0\twg'1 wg0\nthis-name-is-too-long-for-linux wg1\n";
	static struct mts_wg wg;

	mts_wg_parse_interfaces(&wg, text, any_index);
	ASSERT_EQ(wg.n, 2, "interfaces kept");
	ASSERT_STREQ(wg.ifs[0].name, "wg0", "first");
	ASSERT_STREQ(wg.ifs[1].name, "wg1", "second");
	ASSERT_EQ(wg.ifs[1].ifindex, 7, "its index");
	return true;
}

/* WireGuard public keys as wg prints them. */
#define KEY_A "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
#define KEY_B "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB="
#define KEY_C "CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC="
#define KEY_D "DDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDD="
#define KEY_E "EEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEE="

static bool test_wg_peers_keep_only_well_formed(void)
{
	char eps[] = KEY_A "\t203.0.113.2:51820\n" KEY_B "\t[2001:db8::2]:443\n" KEY_C "\t(none)\n"
		     KEY_D "\t198.51.100.1:70000\n" KEY_E "\t198.51.100.1:\n";
	char bad[] = "not-a-key\t198.51.100.9:1\n" KEY_A "x\t198.51.100.9:1\n";
	char allowed[] = KEY_A "\t198.18.0.0/15 198.18.4.0/-8 198.18.5.0/33 198.18.6.0/x 198.18.7.1\n"
			 KEY_B "\t2001:db8:1::/64 ::/129 ::/0\n";
	static struct mts_wg_iface ifc;
	__u8 in[4] = { 198, 19, 1, 1 }, out[4] = { 198, 20, 0, 1 };

	mts_wg_parse_endpoints(&ifc, eps);
	mts_wg_parse_allowed(&ifc, allowed);
	mts_wg_parse_endpoints(&ifc, bad);
	ASSERT_EQ(ifc.n_peers, 5, "peers (lines without a WireGuard key skipped)");
	ASSERT_TRUE(ifc.peers[0].has_endpoint && ifc.peers[0].port == 51820, "IPv4 endpoint");
	ASSERT_TRUE(ifc.peers[1].has_endpoint && ifc.peers[1].endpoint.family == AF_INET6 &&
		    ifc.peers[1].port == 443, "IPv6 endpoint");
	ASSERT_TRUE(!ifc.peers[2].has_endpoint, "(none)");
	ASSERT_TRUE(!ifc.peers[3].has_endpoint, "port above 65535 refused");
	ASSERT_TRUE(!ifc.peers[4].has_endpoint, "empty port refused");
	ASSERT_EQ(ifc.peers[0].n_allowed, 1, "only the well-formed IPv4 prefix");
	ASSERT_EQ(ifc.peers[0].allowed[0].len, 15, "its length");
	ASSERT_EQ(ifc.peers[1].n_allowed, 2, "IPv6 prefixes up to /128");
	ASSERT_TRUE(mts_wg_peer_by_ip(&ifc, AF_INET, in) == &ifc.peers[0], "inside 198.18.0.0/15");
	ASSERT_TRUE(!mts_wg_peer_by_ip(&ifc, AF_INET, out), "outside it");
	return true;
}

static bool test_names_shown_as_utf8(void)
{
	char out[MTS_SHOWN_LEN], ff[16];

	mts_name_shown(out, sizeof(out), "wg0");
	ASSERT_STREQ(out, "wg0", "plain name");
	mts_name_shown(out, sizeof(out), "caf\xc3\xa9-\xe2\x82\xac");
	ASSERT_STREQ(out, "caf\xc3\xa9-\xe2\x82\xac", "UTF-8 kept");
	mts_name_shown(out, sizeof(out), "a\xff" "b");
	ASSERT_STREQ(out, "a\xef\xbf\xbd" "b", "a byte that is not UTF-8");
	mts_name_shown(out, sizeof(out), "\x1b[2J\x7f");
	ASSERT_STREQ(out, "\xef\xbf\xbd[2J\xef\xbf\xbd", "control characters");
	mts_name_shown(out, sizeof(out), "\xc0\xaf\xe2\x82");
	ASSERT_STREQ(out, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd",
		     "overlong and cut-short sequences");
	mts_name_shown(out, sizeof(out), "\xed\xa0\x80");
	ASSERT_STREQ(out, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", "a surrogate");
	memset(ff, 0xff, 15);
	ff[15] = 0;
	mts_name_shown(out, sizeof(out), ff);
	ASSERT_EQ(strlen(out), 45, "the longest name's worst case fits");
	return true;
}

static bool test_route_dev_from_ip_json(void)
{
	char dev[IF_NAMESIZE];

	ASSERT_EQ(mts_route_parse("[{\"dst\":\"203.0.113.2\",\"dev\":\"lab-u0\",\"flags\":[]}]",
				  dev), 0, "a route");
	ASSERT_STREQ(dev, "lab-u0", "its device");
	ASSERT_EQ(mts_route_parse("[]", dev), -1, "no route");
	ASSERT_EQ(mts_route_parse("[{\"dev\":7}]", dev), -1, "dev not a string");
	ASSERT_EQ(mts_route_parse("[{\"dev\":\"a-name-longer-than-ifnamsiz\"}]", dev), -1,
		  "dev too long");
	ASSERT_EQ(mts_route_parse("{\"dev\":\"x\"}", dev), -1, "not an array");
	ASSERT_EQ(mts_route_parse("[{\"dev\":\"x\"", dev), -1, "cut short");
	return true;
}

int main(void)
{
	RUN(test_healthy_bulk_transfer);
	RUN(test_no_data_is_healthy_without_dir);
	RUN(test_fresh_single_resend_is_healthy);
	RUN(test_suspect_large_resend_pending);
	RUN(test_blackhole_ipv4_lab_run);
	RUN(test_blackhole_ipv6);
	RUN(test_blackhole_ipv6_small_tail_advises_1280);
	RUN(test_blackhole_ack_stops_at_large_segment);
	RUN(test_silent_wall_below_ptb_mtu_is_blackhole);
	RUN(test_ptb_ignored);
	RUN(test_ptb_ignored_when_generated_here);
	RUN(test_pmtu_limited_working_pmtud);
	RUN(test_recovered_after_blackhole);
	RUN(test_recovered_upload_with_handshake_seen);
	RUN(test_recovered_stays_recovered);
	RUN(test_recovered_after_ptb_ignored);
	RUN(test_reset_connection_keeps_its_verdict);
	RUN(test_healthy_without_prior_blackhole_is_not_recovered);
	RUN(test_blackhole_still_open_is_not_recovered);
	RUN(test_stalled_dead_path);
	RUN(test_blackhole_gone_silent_stays_blackhole);
	RUN(test_cause_ptb_filtered_beyond);
	RUN(test_cause_local_ptb_dropped);
	RUN(test_cause_ptb_ignored);
	RUN(test_gateway_wall_without_own_ptb_is_blackhole);

	RUN(test_flow_sets_spread_keys_numbered_in_order);
	RUN(test_random_loss_resent_once_then_acked_not_blackhole);
	RUN(test_random_loss_of_first_segment_twice_not_blackhole);
	RUN(test_congestion_tail_drops_not_blackhole);
	RUN(test_dead_path_bulk_is_stalled_not_blackhole);
	RUN(test_dead_path_small_request_is_stalled_not_blackhole);
	RUN(test_dead_path_small_segments_is_stalled_not_blackhole);
	RUN(test_late_ptb_after_resends_not_blackhole);
	RUN(test_pmtud_shrunk_resend_in_flight_not_blackhole);
	RUN(test_zero_window_receiver_not_blackhole);
	RUN(test_zero_window_one_byte_probes_not_blackhole);
	RUN(test_small_window_receiver_not_blackhole);

	RUN(test_blackhole_sender_in_dir1);
	RUN(test_healthy_sender_in_dir1);
	RUN(test_worse_direction_wins);
	RUN(test_same_verdict_prefers_larger_sender);

	RUN(test_advise_ipv4_mss_is_mtu_minus_40);
	RUN(test_advise_ipv6_mss_is_mtu_minus_60);
	RUN(test_advise_1280_when_inside_bounds);
	RUN(test_advise_1280_not_when_it_was_lost);
	RUN(test_advise_ipv4_576_floor);
	RUN(test_advise_never_reaches_the_wall);
	RUN(test_advise_unknown_bounds);
	RUN(test_advise_tiny_mtu_has_no_mss);

	RUN(test_verdict_names);
	RUN(test_verdict_rank_blackhole_worst_healthy_best);

	RUN(test_blackhole_across_tick_wrap);
	RUN(test_stalled_across_tick_wrap);
	RUN(test_ack_after_wrap_is_not_silent);
	RUN(test_suspect_age_across_tick_wrap);
	RUN(test_young_hole_across_tick_wrap_is_not_suspect);
	RUN(test_joined_mid_stall_one_resend_is_suspect);
	RUN(test_joined_mid_stall_within_a_second_is_not_yet_suspect);
	RUN(test_joined_healthy_flow_acked_is_not_suspect);
	RUN(test_joined_small_segment_unanswered_is_not_suspect);
	RUN(test_joined_mid_stall_resent_again_is_suspect_not_stalled);
	RUN(test_large_resent_silent_after_handshake_is_blackhole);
	RUN(test_large_resent_never_acked_is_suspect_not_stalled);
	RUN(test_joined_probe_below_segment_is_blackhole_to_the_byte);
	RUN(test_joined_probe_dead_path_is_stalled);
	RUN(test_joined_probe_path_carries_segment_is_stalled);
	RUN(test_probe_never_turns_answered_suspect_into_stalled);
	RUN(test_blackhole_does_not_weaken_to_suspect);
	RUN(test_download_gap_below_small_tail_is_inbound_blackhole);
	RUN(test_download_gap_ipv6);
	RUN(test_download_young_gap_is_not_blackhole);
	RUN(test_download_gap_filled_is_not_blackhole);
	RUN(test_download_random_loss_full_size_arrived_not_blackhole);
	RUN(test_interactive_small_segment_lost_not_blackhole);
	RUN(test_download_gap_without_syns_uses_1280);
	RUN(test_download_waiting_still_is_inbound_suspect);
	RUN(test_download_waiting_not_yet_still_is_healthy);
	RUN(test_download_waiting_ruled_out);
	RUN(test_download_waiting_probe_decides);
	RUN(test_download_waiting_blackhole_closed_is_not_recovered);
	RUN(test_blackhole_probe_pins_the_wall);
	RUN(test_hook_blind_when_only_the_kernel_counts);
	RUN(test_hook_not_blind_on_a_quiet_interface);

	RUN(test_wg_interfaces_only_usable_names);
	RUN(test_wg_peers_keep_only_well_formed);
	RUN(test_route_dev_from_ip_json);
	RUN(test_names_shown_as_utf8);

	return TL_EXIT();
}
