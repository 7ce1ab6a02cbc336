// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * flow.bpf.c - tc ingress/egress hooks: parse, update the flow, count, and
 * emit an event only when a flow starts to need attention.
 *
 * What is counted where, so a forwarded packet's facts are counted once:
 *   egress:  data a sender put on the wire (sequence, segment sizes,
 *            retransmissions); PTBs this box generated itself.
 *   ingress: ACKs and SACKs for that data; PTBs arriving; DF data too big
 *            for the route it is about to take (bpf_fib_lookup).
 * Pure ACKs at egress and data at ingress need no flow work, which keeps
 * the common packets to one hash lookup at most.
 *
 * The programs never drop, redirect or modify a packet: every path returns
 * TC_ACT_UNSPEC so the next filter (or TCX program) runs.
 */
#include <linux/pkt_cls.h>
#include "parse.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Set by the loader before load; the verifier prunes what they disable. */
const volatile __s32 cfg_ifslot = -1;		/* -1: slot and framing from ifslots (one
						 * program for every interface); else this
						 * slot and cfg_l3 for every packet (replay) */
const volatile __u8  cfg_l3 = 0;		/* ... device has no L2 header (TUN, WireGuard) */
const volatile __u8  cfg_replay = 0;		/* clock is skb->tstamp (pcap replay) */
const volatile __u8  cfg_fib_check = 1;		/* check DF segments against the route MTU */
const volatile __u16 cfg_large_bytes = 1280;	/* "large" segment: IP size above this */
const volatile __u32 cfg_event_gap = MTS_MS_TO_TICKS(50);
const volatile __u32 cfg_ptb_grace = MTS_MS_TO_TICKS(100);

const volatile __u32 cfg_set_bits = 16;		/* 2^16 sets of MTS_FLOW_WAYS */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MTS_DEFAULT_FLOWS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct mts_slot);
} MTS_MAP_FLOWS SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MTS_USED_WORDS(MTS_DEFAULT_FLOWS));
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, __u64);
} MTS_MAP_USED SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MTS_IFSLOT_BUCKETS);
	__type(key, __u32);
	__type(value, struct mts_ifslot);
} MTS_MAP_IFSLOTS SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, (MTS_MAX_IFACES + 1) * 2);
	__type(key, __u32);
	__type(value, struct mts_counters);
} MTS_MAP_COUNTERS SEC(".maps");

/*
 * The last large UDP datagram's flow, per CPU, interface and hook: it lives
 * beside the counters, which every packet looks up anyway. A tunnel's
 * datagrams come back to back, and while nothing in its record would
 * change (same jiffy, no larger size, DF already noted, no PTB to check
 * against, the route known to fit) the next one needs no visit: a compare
 * instead of a key, a hash and a set. A memo at most a jiffy old can miss a
 * PTB that just arrived; over_ptb only counts after cfg_ptb_grace, far longer.
 */
struct udp_memo {
	struct tuple t;
	__u32 jiffy;
	__u16 size;		/* the largest seg_size the record already covers */
	__u8  df;		/* the record has MTS_F_DF */
	__u8  valid;
};

_Static_assert(sizeof(struct udp_memo) <= sizeof(((struct mts_counters *)0)->memo),
	       "udp_memo outgrew mts_counters.memo");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, MTS_RINGBUF_BYTES);
} MTS_MAP_EVENTS SEC(".maps");

#define MTS_PULL_BYTES	256	/* headers we need in the linear area at most */

/*
 * What the parser hands the hooks: scalars only. The hooks never hold a
 * packet pointer, so the parser's many paths do not multiply theirs (the
 * full parser, mts_parse(), is a global BPF function verified once).
 */
struct pkt {
	struct tuple t;
	__u32 seq, ack;		/* TCP */
	__u32 plen;		/* payload bytes in this skb (all segments) */
	__u32 seg_plen;		/* payload bytes of one wire segment */
	__u32 ptb_mtu;		/* ICMP frag-needed / packet-too-big */
	struct tuple q;		/* ... and the flow it quotes */
	__u16 opt_off;		/* TCP options: offset from skb->data, length */
	__u16 opt_len;
	__u16 seg_size;		/* IP size of one wire segment */
	__u8  tcp_flags;	/* FIN SYN RST PSH ACK ... as on the wire */
	__u8  df;
	__u8  gso;
	__u8  ptb;		/* this is a PTB and q is valid */
};

#define TCPF_FIN	0x01
#define TCPF_SYN	0x02
#define TCPF_RST	0x04
#define TCPF_ACK	0x10

struct pctx {
	struct __sk_buff *skb;
	struct mts_counters *cnt;
	__u32 now_ticks;
	bool have_now;		/* now_ticks was read */
	bool egress;
};

/* Ticks, read at most once per packet and only where a time is kept: a
 * clock read is a helper call, and the common packets need none. The coarse
 * clock (a jiffy, a few ms) is plenty for ~1 ms ticks judged against 50 ms
 * and more. */
static __always_inline __u32 now(struct pctx *x)
{
	if (!x->have_now) {
		x->now_ticks = (cfg_replay ? x->skb->tstamp : bpf_ktime_get_coarse_ns())
			       >> MTS_TICK_SHIFT;
		x->have_now = true;
	}
	return x->now_ticks;
}

/* Recency for eviction: jiffies, which the verifier inlines to a load. */
static __always_inline __u32 seen_now(void)
{
	return bpf_jiffies64();
}

static __always_inline bool seq_before(__u32 a, __u32 b)
{
	return (__s32)(a - b) < 0;
}

static __always_inline bool seq_after(__u32 a, __u32 b)
{
	return (__s32)(b - a) < 0;
}

/* Parse failures are counted by reason: the error is the counter index. */
static __always_inline void count_reason(struct mts_counters *cnt, int err)
{
	__u32 i = -err;

	/* Keep clang from folding the check back onto err, where the
	 * verifier could not see it bound the index. */
	asm volatile("" : "+r"(i));
	if (i < MTS_C_MAX)
		cnt->c[i]++;
}

static __always_inline __u16 sat_inc(__u16 v)
{
	return v == 0xffff ? v : v + 1;
}

/* ------------------------------------------------------------------ parse */

/* The quoted packet of a frag-needed / packet-too-big: its IP header and
 * the 8 transport bytes RFC 792 and RFC 4443 promise (the ports). The fast
 * build leaves a quote with IPv6 extension headers to the full one. */
static __always_inline int parse_ptb(struct cursor *c, struct pkt *p, __u8 family,
				     const bool fast)
{
	struct icmp_ptb *ih = c->pos;
	struct l3_info ql3;
	__u16 sport = 0, dport = 0;
	__be16 *ports;
	int proto;

	if ((void *)(ih + 1) > c->end)
		return -MTS_C_ERR_ICMP;
	c->pos = ih + 1;
	if (family == AF_INET) {
		if (ih->type != ICMP_DEST_UNREACH_ || ih->code != ICMP_FRAG_NEEDED_)
			return 0;
		p->ptb_mtu = bpf_ntohs(ih->v4.mtu);
		proto = parse_ipv4(c, &p->q, &ql3);
	} else {
		if (ih->type != ICMPV6_PKT_TOOBIG_)
			return 0;
		p->ptb_mtu = bpf_ntohl(ih->v6_mtu);
		proto = parse_ipv6(c, &p->q, &ql3, fast);
	}
	if (proto == MTS_PARSE_SLOW)
		return proto;
	if (proto < 0)
		return -MTS_C_ERR_QUOTE;
	if (proto == IPPROTO_TCP || proto == IPPROTO_UDP) {
		ports = c->pos;
		if ((void *)(ports + 4) > c->end)
			return -MTS_C_ERR_QUOTE;
		sport = bpf_ntohs(ports[0]);
		dport = bpf_ntohs(ports[1]);
	}
	p->q.meta = tuple_meta(family, proto, sport, dport);
	p->ptb = 1;
	return 0;
}

/*
 * Parse one packet into *p. Returns the L4 protocol, or -MTS_C_ERR_* for the
 * reason it gave up. Sizes are per wire segment: a GSO (send) or GRO
 * (receive) skb carries gso_segs segments of gso_size payload each.
 *
 * Two builds of it: the fast one is inlined into the hooks and handles the
 * common packets (no IPv6 extension headers, in the packet or in an ICMP
 * error's quote), returning MTS_PARSE_SLOW for the rest; mts_parse() is
 * the full one, a separate BPF function the verifier checks once. A
 * BPF-to-BPF call costs ~20 ns on a CPU with return-thunk mitigations
 * (SRSO), half the per-packet budget, so the common packets make none; and
 * inlining the full parser would multiply the hooks' paths past the
 * verifier's limit.
 */
static __always_inline int parse(struct __sk_buff *skb, struct pkt *p, bool l3dev,
				 const bool fast)
{
	struct cursor c;
	struct l3_info l3;
	struct tcphdr *th;
	struct udphdr *uh;
	void *data;
	__u64 l3_end;		/* 64-bit: a 32-bit difference loses its bound */
	__u32 hdrs, off;
	int proto, r;
	__u8 family;

	data = (void *)(long)skb->data;
	c.pos = data;
	c.end = (void *)(long)skb->data_end;
	proto = l3dev ? bpf_ntohs(skb->protocol) : parse_eth(&c);
	if (proto < 0)
		return proto;
	family = proto == ETH_P_IP ? AF_INET : AF_INET6;
	proto = parse_ip(&c, proto, &p->t, &l3, fast);
	if (proto < 0)
		return proto;
	/* One cursor for the verifier whatever the headers were (VLAN tags,
	 * IPv4 options, IPv6): a difference of packet pointers is a scalar it
	 * knows nothing of, so the transport parsing and what follows are
	 * verified once, not once for each L2/L3 layout. Three instructions. */
	l3_end = c.pos - data;
	if (l3_end > MTS_L3_END_MAX)
		return -MTS_C_ERR_IP_HDR;
	c.pos = data + l3_end;
	p->df = l3.df;
	hdrs = l3.hdr_len;

	if (proto == IPPROTO_TCP) {
		r = parse_tcp(&c, &th);
		if (r < 0)
			return r;
		p->t.meta = tuple_meta(family, proto, bpf_ntohs(th->source), bpf_ntohs(th->dest));
		p->seq = bpf_ntohl(th->seq);
		p->ack = bpf_ntohl(th->ack_seq);
		p->tcp_flags = ((__u8 *)th)[13];
		p->opt_off = (void *)(th + 1) - data;
		p->opt_len = th->doff * 4 - sizeof(*th);
		/* The usual options of a bulk transfer's ACK, NOP NOP TIMESTAMP,
		 * hold no SACK: spare the hooks the option walk. */
		if (p->opt_len == 12 && (void *)(th + 1) + 4 <= c.end &&
		    *(__u32 *)(th + 1) == bpf_htonl(0x0101080a))
			p->opt_len = 0;
		hdrs += th->doff * 4;
	} else if (proto == IPPROTO_UDP) {
		r = parse_udp(&c, &uh);
		if (r < 0)
			return r;
		p->t.meta = tuple_meta(family, proto, bpf_ntohs(uh->source), bpf_ntohs(uh->dest));
		hdrs += sizeof(*uh);
	} else if (proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6) {
		p->t.meta = tuple_meta(family, proto, 0, 0);
		p->ptb = 0;
		r = parse_ptb(&c, p, family, fast);
		return r < 0 ? r : proto;	/* MTS_PARSE_SLOW included */
	} else {
		p->t.meta = tuple_meta(family, proto, 0, 0);
		return proto;
	}

	off = c.pos - data;
	if (skb->gso_segs > 1 && skb->gso_size) {
		if (skb->len < off)
			return -MTS_C_ERR_IP_HDR;
		p->plen = skb->len - off;
		p->seg_plen = skb->gso_size;
		p->gso = 1;
	} else {
		if (l3.tot_len < hdrs)
			return -MTS_C_ERR_IP_HDR;
		p->plen = l3.tot_len - hdrs;
		p->seg_plen = p->plen;
		p->gso = 0;
	}
	p->seg_size = hdrs + p->seg_plen;
	return proto;
}

__noinline int mts_parse(struct __sk_buff *skb, struct pkt *p, __u32 l3dev)
{
	if (!skb || !p)
		return -MTS_C_ERR_L2;
	__builtin_memset(p, 0, sizeof(*p));
	return parse(skb, p, l3dev, false);
}

/* ------------------------------------------------------------------ flows */

/* The flow key as the five words the hash and the compares read: the
 * tuple's words in canonical order (the same layout, word for word). */
union fkey {
	struct mts_flow_key k;
	__u64 w[5];
};

_Static_assert(__builtin_offsetof(struct tuple, meta) == __builtin_offsetof(struct mts_flow_key, port) &&
	       __builtin_offsetof(struct tuple, family) == __builtin_offsetof(struct mts_flow_key, family) &&
	       __builtin_offsetof(struct tuple, proto) == __builtin_offsetof(struct mts_flow_key, proto) &&
	       sizeof(struct tuple) == sizeof(struct mts_flow_key), "tuple and key words differ");

/* Fills all of *k; returns which end (0 or 1) of the canonical key the source is:
 * the lower (address, port) is end 0. */
static __always_inline int flow_key(union fkey *k, const struct tuple *t)
{
	__u64 swapped = (t->meta & ~0xffffffffULL) | t->dport | (__u32)t->sport << 16;
	int s;

	if (t->src64[0] != t->dst64[0])
		s = bpf_be64_to_cpu(t->src64[0]) > bpf_be64_to_cpu(t->dst64[0]);
	else if (t->src64[1] != t->dst64[1])
		s = bpf_be64_to_cpu(t->src64[1]) > bpf_be64_to_cpu(t->dst64[1]);
	else
		s = t->sport > t->dport;
	if (s) {
		k->w[0] = t->dst64[0];
		k->w[1] = t->dst64[1];
		k->w[2] = t->src64[0];
		k->w[3] = t->src64[1];
		k->w[4] = swapped;
	} else {
		k->w[0] = t->src64[0];
		k->w[1] = t->src64[1];
		k->w[2] = t->dst64[0];
		k->w[3] = t->dst64[1];
		k->w[4] = t->meta;
	}
	return s;
}

/* A new record starts as this (read-only data, not 200 bytes of stack). */
static const struct mts_flow zero_flow;

static __always_inline bool key_eq(const struct mts_flow_key *a, const union fkey *b)
{
	const __u64 *x = (const void *)a, *y = b->w;

	return !((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) | (x[3] ^ y[3]) | (x[4] ^ y[4]));
}

static __always_inline bool suspicious(const struct mts_flow *f)
{
	return f->dir[0].hole_rtx || f->dir[1].hole_rtx;
}

/* Which of two occupied slots to give up: a flow without an open hole
 * before one with, then the stalest. */
static __always_inline bool worse_victim(const struct mts_slot *a, const struct mts_slot *b,
					 __u32 seen)
{
	bool sa = suspicious(&a->flow), sb = suspicious(&b->flow);

	if (sa != sb)
		return sb;
	return seen - a->flow.seen < seen - b->flow.seen;
}

/*
 * The flow's record in its set, or NULL. With create, a missing flow takes
 * an empty slot, or evicts one (counted). Two CPUs creating different flows
 * in the same slot at the same instant may mix their first facts; the
 * records are telemetry and the next packets set them right.
 */
static __always_inline struct mts_flow *flow_get(struct pctx *x, const union fkey *k,
						 bool create, bool *created)
{
	__u32 base = mts_flow_set_words(k->w, cfg_set_bits) * MTS_FLOW_WAYS;
	struct mts_slot *victim = NULL;
	__u32 seen = seen_now(), vi = 0, w64;
	__u64 *bits;

#pragma unroll
	for (__u32 w = 0; w < MTS_FLOW_WAYS; w++) {
		__u32 i = base + w;
		struct mts_slot *s = bpf_map_lookup_elem(&MTS_MAP_FLOWS, &i);

		if (!s)
			return NULL;
		if (key_eq(&s->key, k))
			return &s->flow;
		if (!create || (victim && !victim->key.family))
			continue;
		if (!victim || !s->key.family || worse_victim(victim, s, seen)) {
			victim = s;
			vi = i;
		}
	}
	if (!victim) {
		if (create)
			x->cnt->c[MTS_C_FLOW_FAIL]++;
		return NULL;
	}
	if (victim->key.family)
		x->cnt->c[MTS_C_FLOW_EVICT]++;
	victim->key.family = 0;		/* never a half-written flow under a valid key */
	__builtin_memcpy(&victim->flow, &zero_flow, sizeof(zero_flow));
	victim->flow.t_first = now(x);
	victim->flow.seen = seen;
	__builtin_memcpy(&victim->key, &k->k, sizeof(k->k));
	/* After the key (the atomic orders them): userspace clears a bit, then
	 * looks at the slot, so either it sees this flow or the bit stays. */
	w64 = vi / 64;
	bits = bpf_map_lookup_elem(&MTS_MAP_USED, &w64);
	if (bits)
		__sync_fetch_and_or(bits, 1ull << (vi & 63));
	x->cnt->c[MTS_C_FLOW_NEW]++;
	*created = true;
	return &victim->flow;
}

/* Forget a flow (its slot becomes empty). */
static __always_inline void flow_forget(struct mts_flow *f)
{
	struct mts_slot *s = (void *)f - __builtin_offsetof(struct mts_slot, flow);

	s->key.family = 0;
}

/* Events only tell userspace which flow to look at; the record has the facts. */
static __always_inline void emit(struct pctx *x, struct mts_flow *f,
				 const union fkey *k, __u8 type, int dir,
				 __u16 size, __u16 mtu)
{
	struct mts_event *e;

	if (f->t_event && now(x) - f->t_event < cfg_event_gap)
		return;
	f->t_event = now(x) | 1;
	e = bpf_ringbuf_reserve(&MTS_MAP_EVENTS, sizeof(*e), 0);
	if (!e) {
		x->cnt->c[MTS_C_EV_DROP]++;
		return;
	}
	__builtin_memcpy(&e->key, &k->k, sizeof(k->k));
	e->ifindex = x->skb->ifindex;
	e->ticks = now(x);
	e->type = type;
	e->dir = dir;
	e->size = size;
	e->mtu = mtu;
	e->pad = 0;
	bpf_ringbuf_submit(e, 0);
	x->cnt->c[MTS_C_EVENTS]++;
}

static __always_inline void delivered(struct mts_dir *d)
{
	if (d->probe_size > d->deliv_max)
		d->deliv_max = d->probe_size;
	d->flags &= ~(MTS_F_PROBE | MTS_F_PROBE2);
}

static __always_inline void delivered_big(struct mts_dir *d)
{
	if (d->seg_max > d->deliv_max)
		d->deliv_max = d->seg_max;
	d->flags &= ~(MTS_F_BIG | MTS_F_PROBE | MTS_F_PROBE2);
}

static __always_inline void delivered2(struct mts_dir *d)
{
	__u16 size = d->probe2_plen + (d->probe_size - d->probe_plen);

	if (size > d->deliv_max)
		d->deliv_max = size;
	d->flags &= ~MTS_F_PROBE2;
}

/* Does [l, r) cover the len bytes at seq? */
static __always_inline bool covers(__u32 l, __u32 r, __u32 seq, __u32 len)
{
	return !seq_after(l, seq) && !seq_before(r, seq + len);
}

static __always_inline void over_ptb(struct pctx *x, struct mts_dir *d, __u16 size)
{
	if (d->ptb_mtu && size > d->ptb_mtu && now(x) - d->t_ptb > cfg_ptb_grace)
		d->over_ptb = sat_inc(d->over_ptb);
}

/* The data path keeps the record's flags in a local (fl) and writes them
 * back once: a byte may alias any field for the compiler, so each store to
 * the record would otherwise make it load them again. */
static __always_inline __u8 tcp_retransmit(struct pctx *x, struct mts_flow *f,
					   const union fkey *k, int s, struct mts_dir *d,
					   const struct pkt *p, __u8 fl)
{
	bool large = p->seg_size > cfg_large_bytes;
	__u8 hole_rtx = d->hole_rtx;
	bool ev = false;

	x->cnt->c[large ? MTS_C_RTX_LARGE : MTS_C_RTX_SMALL]++;
	if (large)
		d->rtx_large = sat_inc(d->rtx_large);
	else
		d->rtx_small = sat_inc(d->rtx_small);

	/* A smaller resend of the probe (after a PTB, or PLPMTUD) is what an ACK
	 * past it will prove, not the original size. */
	if ((fl & MTS_F_PROBE) && p->seq == d->probe_seq && p->seg_size < d->probe_size) {
		d->probe_size = p->seg_size;
		d->probe_plen = p->seg_plen;
	}
	if ((fl & MTS_F_BIG) && p->seq == d->big_seq && p->seg_size < d->seg_max)
		fl &= ~MTS_F_BIG;

	if (hole_rtx && p->seq == d->hole_seq) {
		if (hole_rtx < 255)
			d->hole_rtx = ++hole_rtx;
		d->hole_size = p->seg_size;
		ev = hole_rtx == 2;
		/* From the third resend on (the RTO's backoff) an answer must
		 * follow this resend to count: dup ACKs of the SACK recovery
		 * before a path died would otherwise keep it "answered". */
		if (hole_rtx >= 3)
			d->t_ack = d->t_hole - 1;
	} else if (!hole_rtx || !(fl & MTS_F_ACK) || p->seq == d->snd_una) {
		/* The head of the unacknowledged data is what a black hole holds. */
		d->hole_seq = p->seq;
		d->hole_rtx = 1;
		d->hole_size = p->seg_size;
		d->t_hole = now(x);
		ev = p->seg_size > d->deliv_max;
	}
	if (ev)
		emit(x, f, k, MTS_EV_HOLE, s, p->seg_size, d->ptb_mtu);
	return fl;
}

/* The MSS a SYN announces, from its first option, where every stack puts
 * it (0: none there). */
static __always_inline __u16 syn_mss(struct __sk_buff *skb, __u32 opt_off, __u32 opt_len)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	__u8 *o;

	if (opt_off > MTS_PULL_BYTES || opt_len < 4)
		return 0;
	asm volatile("" : "+r"(opt_off));
	o = data + (opt_off & 511);
	if ((void *)(o + 4) > end || o[0] != 2 || o[1] != 4)
		return 0;
	return o[2] << 8 | o[3];
}

/* A full segment's size (mts_full_size); unknown MSS: anything above "large". */
static __always_inline __u32 full_size(const struct mts_flow *f, const struct pkt *p)
{
	__u32 full = mts_full_size(f, p->t.family);

	return full ? full : cfg_large_bytes + 1;
}

/*
 * Data of sender s arrived at this ingress. A segment that starts past the
 * highest byte seen leaves a gap: those bytes were sent and lost before
 * they got here. Where the wall stands before this gateway, the lost ones
 * are the full-size segments and only smaller ones (a write's tail) pass;
 * userspace hears of a gap that opens while no full-size segment has ever
 * arrived.
 */
static __always_inline void tcp_arrived(struct pctx *x, struct mts_flow *f, const union fkey *k,
					int s, struct mts_dir *a, const struct pkt *p)
{
	__u32 end = p->seq + p->plen, nxt = a->arr_nxt;
	__u8 xf = a->xflags;

	if (p->seg_size > a->arr_max)
		a->arr_max = p->seg_size;
	if (!(xf & MTS_X_ARR)) {
		nxt = end;
		xf |= MTS_X_ARR;
	} else if (seq_after(p->seq, nxt)) {
		if (!(xf & MTS_X_GAP)) {
			__u32 len = p->seq - nxt;

			a->gap_seq = nxt;
			a->gap_len = len > 0xffff ? 0xffff : len;
			a->t_gap = now(x);
			f->in_ifindex = x->skb->ifindex;
			xf |= MTS_X_GAP;
			if (a->arr_max < full_size(f, p))
				emit(x, f, k, MTS_EV_GAP, s, p->seg_size, 0);
		}
		nxt = end;
	} else {
		/* A resend reached the gap: whatever held it back let this through. */
		if ((xf & MTS_X_GAP) && !seq_after(p->seq, a->gap_seq) && seq_after(end, a->gap_seq))
			xf &= ~MTS_X_GAP;
		if (seq_after(end, nxt))
			nxt = end;
	}
	a->arr_nxt = nxt;
	a->xflags = xf;
}

static __always_inline void tcp_egress(struct pctx *x, const struct pkt *p)
{
	union fkey k;
	struct mts_flow *f;
	struct mts_dir *d;
	bool created = false, newer;
	__u16 size = p->seg_size, seg_max, deliv_max;
	__u32 end, snd_nxt;
	__u8 fl;
	int s;

	if (!p->plen && !(p->tcp_flags & (TCPF_SYN | TCPF_FIN | TCPF_RST)))
		return;		/* pure ACK: its facts are taken at ingress */

	s = flow_key(&k, &p->t);
	f = flow_get(x, &k, true, &created);
	if (!f)
		return;
	d = &f->dir[s & 1];
	f->seen = seen_now();
	/* Where the data leaves: large segments decide, so a FIN or a small
	 * reply going the other way does not move the flow to the LAN side. */
	if (!f->ifindex || size > cfg_large_bytes)
		f->ifindex = x->skb->ifindex;

	if (p->tcp_flags & TCPF_SYN) {
		/* A new connection on a reused tuple starts from nothing. */
		if (!(p->tcp_flags & TCPF_ACK) && !created) {
			__builtin_memset(f, 0, sizeof(*f));
			f->t_first = now(x);
			f->seen = seen_now();
			f->ifindex = x->skb->ifindex;
		}
		d->snd_nxt = p->seq + 1;
		d->flags |= MTS_F_SND;
		if (p->tcp_flags & TCPF_ACK)
			d->xflags |= MTS_X_LISTENER;
		d->syn_mss = syn_mss(x->skb, p->opt_off, p->opt_len);
		return;
	}
	fl = d->flags;
	if (p->tcp_flags & (TCPF_FIN | TCPF_RST))
		fl |= MTS_F_FIN;
	if (p->tcp_flags & TCPF_RST)
		d->xflags |= MTS_X_RST;
	if (!p->plen)
		goto out;
	/* Watching began mid-connection: this may be the resend of a segment
	 * a black hole has held for minutes, and the next one comes after a
	 * backoff of as long. Userspace is told now, while the segment waits
	 * for an ACK, so one sighting can be judged. */
	if (created) {
		d->xflags |= MTS_X_JOINED;
		if (p->df && size > cfg_large_bytes)
			emit(x, f, &k, MTS_EV_JOINED, s, size, 0);
	}

	end = p->seq + p->plen;
	if (p->df)
		fl |= MTS_F_DF;
	seg_max = d->seg_max;
	if (size > seg_max) {
		d->seg_max = seg_max = size;
		fl &= ~MTS_F_BIG;		/* big_seq was a smaller segment */
	}
	deliv_max = d->deliv_max;
	snd_nxt = d->snd_nxt;
	newer = !(fl & MTS_F_SND) || !seq_before(p->seq, snd_nxt);
	/* The newest full-size segment: when the oldest one (the probe) is
	 * the one lost, a SACK for this one still proves the size passes.
	 * A segment arrives whole or not at all, so its first byte will do.
	 * New data only: a retransmission is the oldest, not the newest. */
	if (size == seg_max && seg_max > deliv_max && newer) {
		d->big_seq = p->seq;
		fl |= MTS_F_BIG;
	}

	if (newer) {
		d->snd_nxt = end;
		fl |= MTS_F_SND;
	} else {
		fl = tcp_retransmit(x, f, &k, s, d, p, fl);
		if (seq_after(end, snd_nxt))
			d->snd_nxt = end;
	}

	/*
	 * Delivery probe: remember one segment larger than anything known
	 * delivered and watch for an ACK or SACK covering it. While the probe
	 * sits on the hole being retransmitted, new data takes its place, so
	 * random loss of one segment cannot hide that its siblings get through.
	 */
	if (size > deliv_max &&
	    (!(fl & MTS_F_PROBE) || size > d->probe_size ||
	     (newer && d->hole_rtx && d->probe_seq == d->hole_seq))) {
		d->probe_seq = p->seq;
		d->probe_plen = p->seg_plen;
		d->probe_size = size;
		fl = (fl | MTS_F_PROBE) & ~MTS_F_PROBE2;
	} else if (size > deliv_max && size < d->probe_size && !(fl & MTS_F_PROBE2)) {
		/* A smaller segment (a write's tail) sent while the probe
		 * waits: if it arrives and the probe does not, it bounds the
		 * wall from below far better than the handshake did. */
		d->probe2_seq = p->seq;
		d->probe2_plen = p->seg_plen;
		fl |= MTS_F_PROBE2;
	}
	over_ptb(x, d, size);
out:
	d->flags = fl;
}

/* One SACK block: data above the cumulative ACK arrived; maybe the probe too. */
static __always_inline void sack_block(struct mts_dir *d, __u32 l, __u32 r)
{
	if ((d->flags & MTS_F_ACK) && seq_after(l, d->snd_una))
		d->flags |= MTS_F_SACK_HOLE;
	if ((d->flags & MTS_F_BIG) && covers(l, r, d->big_seq, 1))
		delivered_big(d);
	if ((d->flags & MTS_F_PROBE2) && covers(l, r, d->probe2_seq, d->probe2_plen))
		delivered2(d);
	if ((d->flags & MTS_F_PROBE) && covers(l, r, d->probe_seq, d->probe_plen))
		delivered(d);
}

/*
 * Any other option layout: the full walk. A global function, verified
 * once: the SACK blocks it applies (four, each with its own branches)
 * were, inlined into the hooks, checked again on every path that reached
 * them, the largest part of the verifier's work.
 */
__noinline int mts_sack(struct __sk_buff *skb, __u64 opt_off, __u64 opt_len, struct mts_dir *d)
{
	void *data, *end;
	__u8 *opts, *sack = NULL;
	__u64 o = 0, off, room = 0;
	__u32 n;

	/* 64-bit arguments: a 32-bit one is re-extended from its original
	 * register after the compare, and the verifier loses the bound. */
	if (!skb || !d || opt_off > MTS_PULL_BYTES || opt_len > MTS_TCP_OPT_MAX)
		return 0;
	data = (void *)(long)skb->data;
	end = (void *)(long)skb->data_end;
	opts = data + opt_off;

	/* Find the option. Each round consumes at least one byte; the
	 * offset stays bounded. */
	for (int i = 0; i < MTS_TCP_OPT_MAX; i++) {
		__u8 *opt = opts + (o & 63);
		__u8 kind, len;

		/* Each round starts from one state, however the earlier ones
		 * went (a NOP, an option of any length): the offset back as
		 * a difference of packet pointers, which the verifier takes
		 * as a scalar it knows nothing of. Verified, the walk is
		 * then a round after another rather than every mix of them. */
		asm volatile("" : "+r"(opt));
		o = opt - opts;
		opt = opts + (o & 63);

		if (o + 2 > opt_len || (void *)(opt + 2) > end)
			return 0;
		kind = opt[0];
		if (kind == 0)
			return 0;
		if (kind == 1) {
			o++;
			continue;
		}
		len = opt[1];
		if (len < 2)
			return 0;
		if (kind == 5) {
			sack = opt;
			room = opt_len - o;
			break;
		}
		o += len;
	}
	if (!sack)
		return 0;
	/* Wherever the walk found it, one state from here on: a difference
	 * of packet pointers is a scalar the verifier knows nothing of. */
	off = sack - (__u8 *)data;
	if (off > MTS_PULL_BYTES + MTS_TCP_OPT_MAX)
		return 0;
	sack = data + off;
	if ((void *)(sack + 2) > end)
		return 0;
	if (sack[1] < 2)
		return 0;
	n = (__u32)(sack[1] - 2) / 8;
	if (n > MTS_SACK_MAX)
		n = MTS_SACK_MAX;
	if (2 + n * 8 > room)
		return 0;
#pragma unroll
	for (int j = 0; j < MTS_SACK_MAX; j++) {
		__be32 *b = (void *)(sack + 2 + j * 8);

		if (j >= (int)n || (void *)(b + 2) > end)
			return j;
		sack_block(d, bpf_ntohl(b[0]), bpf_ntohl(b[1]));
	}
	return MTS_SACK_MAX;
}

/*
 * The SACK option where Linux and most stacks put it: NOP NOP SACK, after
 * NOP NOP TIMESTAMP when timestamps are on. Its blocks are read inline at
 * fixed offsets, straight into sack_block(); any other layout returns false
 * and takes the full walk, mts_sack(), which is a BPF call (~20 ns here).
 */
static __always_inline bool sack_fast(struct __sk_buff *skb, __u32 opt_off, __u32 opt_len,
				      struct mts_dir *d)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	__u32 skip = opt_len % 8 ? 0 : 12;	/* 4 + 8n bytes, or 16 + 8n with TS */
	__u32 n = (opt_len - skip - 4) / 8;
	__u8 *o, *h;

	if (opt_off > MTS_PULL_BYTES || opt_len < 12 || n > MTS_SACK_MAX)
		return false;
	/* A bound the verifier sees on the register it adds, wherever the
	 * compiler put the check above. */
	asm volatile("" : "+r"(opt_off));
	o = data + (opt_off & 511);
	h = o + skip;
	if ((void *)(h + 4) > end || (skip && *(__u32 *)o != bpf_htonl(0x0101080a)))
		return false;
	if (*(__u32 *)h != bpf_htonl(0x01010500 | (2 + n * 8)))
		return false;
#pragma unroll
	for (__u32 j = 0; j < MTS_SACK_MAX; j++) {
		__be32 *b = (void *)(h + 4 + j * 8);

		if (j >= n || (void *)(b + 2) > end)
			break;
		sack_block(d, bpf_ntohl(b[0]), bpf_ntohl(b[1]));
	}
	return true;
}

static __always_inline void tcp_sack(struct pctx *x, const struct pkt *p, struct mts_dir *d)
{
	if (!sack_fast(x->skb, p->opt_off, p->opt_len, d))
		mts_sack(x->skb, p->opt_off, p->opt_len, d);
}

static __always_inline void route_check(struct pctx *x, struct mts_flow *f,
					const union fkey *k, int s,
					const struct pkt *p)
{
	struct mts_dir *d = &f->dir[s & 1];
	struct bpf_fib_lookup fib = {};
	long r;

	if (p->seg_size != d->fib_size) {
		fib.family = p->t.family;
		fib.l4_protocol = p->t.proto;
		fib.sport = bpf_htons(p->t.sport);
		fib.dport = bpf_htons(p->t.dport);
		fib.tot_len = p->seg_size;
		fib.ifindex = x->skb->ifindex;
		__builtin_memcpy(fib.ipv6_src, p->t.src, 16);
		__builtin_memcpy(fib.ipv6_dst, p->t.dst, 16);
		r = bpf_fib_lookup(x->skb, &fib, sizeof(fib), 0);
		d->fib_size = p->seg_size;
		d->route_mtu = r == BPF_FIB_LKUP_RET_FRAG_NEEDED ? fib.mtu_result : 0;
	}
	if (d->route_mtu && p->seg_size > d->route_mtu) {
		d->oversize = sat_inc(d->oversize);
		x->cnt->c[MTS_C_DF_OVERSIZE]++;
		emit(x, f, k, MTS_EV_OVERSIZE, s, p->seg_size, d->route_mtu);
	}
}

static __always_inline void tcp_ingress(struct pctx *x, const struct pkt *p)
{
	union fkey k;
	struct mts_flow *f;
	struct mts_dir *d;
	bool created;
	int s;

	if (!(p->tcp_flags & (TCPF_ACK | TCPF_SYN | TCPF_RST)))
		return;
	s = flow_key(&k, &p->t);
	f = flow_get(x, &k, false, &created);
	if (!f)
		return;		/* flows are born at egress, where data leaves */
	if (p->tcp_flags & TCPF_RST) {
		/* The far end's RST may be seen only here: the flow is gone. */
		f->dir[s & 1].xflags |= MTS_X_RST;
		return;
	}
	if (!(p->tcp_flags & TCPF_ACK)) {
		/* A connection opened towards us on a reused tuple: the old
		 * record says nothing about it. */
		flow_forget(f);
		return;
	}
	/* What the packet's sender sent, as it arrives here. */
	if (p->tcp_flags & TCPF_SYN) {
		d = &f->dir[s & 1];
		d->arr_nxt = p->seq + 1;
		d->xflags |= MTS_X_ARR | MTS_X_LISTENER;
		d->syn_mss = syn_mss(x->skb, p->opt_off, p->opt_len);
		f->hflags |= MTS_H_SYN_IN;
	} else if (p->plen) {
		tcp_arrived(x, f, &k, s, &f->dir[s & 1], p);
	}

	/* This packet acknowledges what the other end sent. */
	d = &f->dir[!s];
	/* All the correlator asks of t_ack is whether any ACK came since the
	 * hole opened: one clock read per hole, none per ACK. */
	if (d->hole_rtx && seq_before(d->t_ack, d->t_hole))
		d->t_ack = now(x);
	if (!(d->flags & MTS_F_ACK) || seq_after(p->ack, d->snd_una)) {
		d->snd_una = p->ack;
		d->flags = (d->flags | MTS_F_ACK) & ~MTS_F_SACK_HOLE;
		if (d->hole_rtx && seq_after(p->ack, d->hole_seq))
			d->hole_rtx = 0;
	}
	if ((d->flags & MTS_F_BIG) && seq_after(p->ack, d->big_seq))
		delivered_big(d);
	if ((d->flags & MTS_F_PROBE2) && !seq_before(p->ack, d->probe2_seq + d->probe2_plen))
		delivered2(d);
	if ((d->flags & MTS_F_PROBE) && !seq_before(p->ack, d->probe_seq + d->probe_plen))
		delivered(d);
	if (p->opt_len && (d->flags & (MTS_F_PROBE | MTS_F_PROBE2 | MTS_F_BIG) || d->hole_rtx))
		tcp_sack(x, p, d);

	if (cfg_fib_check && p->plen && p->df && p->seg_size > cfg_large_bytes)
		route_check(x, f, &k, s, p);
}

static __always_inline bool tuple_eq(const struct tuple *a, const struct tuple *b)
{
	return !((a->src64[0] ^ b->src64[0]) | (a->src64[1] ^ b->src64[1]) |
		 (a->dst64[0] ^ b->dst64[0]) | (a->dst64[1] ^ b->dst64[1]) | (a->meta ^ b->meta));
}

static __always_inline void udp_flow(struct pctx *x, const struct pkt *p)
{
	union fkey k;
	struct udp_memo *m = (void *)x->cnt->memo;
	__u32 jiffy;
	struct mts_flow *f;
	struct mts_dir *d;
	bool created = false;
	int s;

	/* Only large datagrams (tunnels, bulk UDP) are worth a flow record. */
	if (p->seg_size <= cfg_large_bytes)
		return;
	/* A capture replays thousands of packets a jiffy: there, its own clock. */
	jiffy = cfg_replay ? now(x) : seen_now();
	if (m->valid && m->jiffy == jiffy && p->seg_size <= m->size && (m->df || !p->df) &&
	    tuple_eq(&m->t, &p->t))
		return;
	m->valid = 0;

	s = flow_key(&k, &p->t);
	f = flow_get(x, &k, x->egress, &created);
	if (!f)
		return;
	d = &f->dir[s & 1];
	if (x->egress) {
		f->seen = seen_now();
		f->ifindex = x->skb->ifindex;
		if (p->df)
			d->flags |= MTS_F_DF;
		if (p->seg_size > d->seg_max)
			d->seg_max = p->seg_size;
		over_ptb(x, d, p->seg_size);
		if (d->ptb_mtu)
			return;
		m->size = d->seg_max;
	} else {
		if (cfg_fib_check && p->df)
			route_check(x, f, &k, s, p);
		if (d->route_mtu || (cfg_fib_check && d->fib_size != p->seg_size))
			return;
		m->size = p->seg_size;
	}
	__builtin_memcpy(&m->t, &p->t, sizeof(m->t));
	m->df = !!(d->flags & MTS_F_DF) || !x->egress;
	m->jiffy = jiffy;
	m->valid = 1;
}

/*
 * ICMP frag-needed / ICMPv6 packet-too-big: the quoted header names the flow
 * (its source is the sender that must shrink). Received at ingress; at
 * egress only those this box generated (a forwarded one was seen coming in).
 */
static __always_inline void icmp_ptb(struct pctx *x, const struct pkt *p)
{
	union fkey k;
	struct mts_flow *f;
	struct mts_dir *d;
	bool created = false;
	__u32 mtu = p->ptb_mtu > 0xffff ? 0xffff : p->ptb_mtu;
	int s;

	if (x->egress && x->skb->ingress_ifindex) {
		x->cnt->c[MTS_C_PTB_FWD]++;
		return;
	}
	x->cnt->c[x->egress ? MTS_C_PTB_TX : MTS_C_PTB_RX]++;
	if (p->q.proto != IPPROTO_TCP && p->q.proto != IPPROTO_UDP)
		return;

	s = flow_key(&k, &p->q);
	f = flow_get(x, &k, true, &created);
	if (!f)
		return;
	if (created)
		x->cnt->c[MTS_C_PTB_NOFLOW]++;
	d = &f->dir[s & 1];
	if (x->egress)
		d->ptb_tx = sat_inc(d->ptb_tx);
	else
		d->ptb_rx = sat_inc(d->ptb_rx);
	if (!d->ptb_mtu || mtu < d->ptb_mtu)
		d->ptb_mtu = mtu;
	d->t_ptb = now(x);
	emit(x, f, &k, MTS_EV_PTB, s, 0, mtu);
}

/* The interface's slot and framing: its first bucket holds it but for a
 * collision, which the loader resolves in the next ones. */
static __always_inline const struct mts_ifslot *ifslot_of(__u32 ifindex)
{
	for (__u32 i = 0; i < MTS_IFSLOT_PROBES; i++) {
		__u32 b = mts_ifslot_bucket(ifindex, i);
		const struct mts_ifslot *e = bpf_map_lookup_elem(&MTS_MAP_IFSLOTS, &b);

		if (!e || !e->ifindex)
			return NULL;	/* a free bucket ends the search */
		if (e->ifindex == ifindex)
			return e;
	}
	return NULL;
}

static __always_inline int handle(struct __sk_buff *skb, const bool egress)
{
	struct pctx x = { .skb = skb, .egress = egress };
	__u32 slot = cfg_ifslot;
	bool l3dev = cfg_l3;
	/* Not zeroed (17 stores, ~6 ns a packet here): the fast parser writes
	 * every field the hooks read of the packets it returns, and
	 * mts_parse() zeroes it for the rest. */
	struct pkt p __attribute__((aligned(8)));
	int proto;

	if (cfg_ifslot < 0) {
		const struct mts_ifslot *e = ifslot_of(skb->ifindex);

		/* Not ours to know (attached before the loader told us, or
		 * after it forgot): counted apart, and nothing more. */
		slot = e ? e->slot : MTS_SLOT_UNKNOWN;
		l3dev = e && e->l3;
	}
	slot = slot * 2 + egress;
	x.cnt = bpf_map_lookup_elem(&MTS_MAP_COUNTERS, &slot);
	if (!x.cnt)
		return TC_ACT_UNSPEC;
	x.cnt->c[MTS_C_PKTS]++;
	x.cnt->c[MTS_C_BYTES] += skb->len;
	if (slot >= MTS_SLOT_UNKNOWN * 2)
		return TC_ACT_UNSPEC;

	proto = parse(skb, &p, l3dev, true);
	if (proto == MTS_PARSE_SLOW)
		proto = mts_parse(skb, &p, l3dev);
	/* Headers a driver left outside the linear area: pull them (the bytes
	 * stay as they are) and parse once more. */
	if (parse_truncated(proto) && skb->len > skb->data_end - skb->data) {
		__u32 want = skb->len < MTS_PULL_BYTES ? skb->len : MTS_PULL_BYTES;

		if (!bpf_skb_pull_data(skb, want)) {
			x.cnt->c[MTS_C_PULLED]++;
			proto = mts_parse(skb, &p, l3dev);
		}
	}
	if (proto < 0) {
		count_reason(x.cnt, proto);
		return TC_ACT_UNSPEC;
	}
	if (p.t.family == AF_INET)
		x.cnt->c[MTS_C_IPV4]++;
	else
		x.cnt->c[MTS_C_IPV6]++;

	if (proto == IPPROTO_TCP) {
		x.cnt->c[MTS_C_TCP]++;
		if (p.gso)
			x.cnt->c[MTS_C_GSO]++;
		if (egress)
			tcp_egress(&x, &p);
		else
			tcp_ingress(&x, &p);
	} else if (proto == IPPROTO_UDP) {
		x.cnt->c[MTS_C_UDP]++;
		if (p.gso)
			x.cnt->c[MTS_C_GSO]++;
		udp_flow(&x, &p);
	} else if (proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6) {
		x.cnt->c[MTS_C_ICMP]++;
		if (p.ptb)
			icmp_ptb(&x, &p);
	}
	return TC_ACT_UNSPEC;
}

SEC("tc")
int mts_ingress(struct __sk_buff *skb)
{
	return handle(skb, false);
}

SEC("tc")
int mts_egress(struct __sk_buff *skb)
{
	return handle(skb, true);
}
