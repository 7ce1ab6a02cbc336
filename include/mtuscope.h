/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * mtuscope.h - the ABI shared by the BPF programs and userspace.
 *
 * Fixed-width types only; every size that both sides need is one constant
 * here. A flow is keyed by a canonical (bidirectional) 5-tuple, so the two
 * directions of one connection share one record: dir[0] holds the state of
 * data sent from the lower (addr, port) end, dir[1] from the higher one.
 * Each direction record holds what its data sender did (sequence, segment
 * sizes, retransmissions) and what came back for that data (ACKs, SACKs,
 * ICMP frag-needed / packet-too-big quoting it).
 *
 * Times are "ticks" of 2^20 ns (about 1.05 ms) held in 32 bits: cheap to
 * compute in BPF (a shift), wrap after 52 days, compared with wrap-safe
 * subtraction.
 */
#ifndef MTUSCOPE_H
#define MTUSCOPE_H

#include <linux/types.h>

#define MTS_TICK_SHIFT		20
#define MTS_MS_TO_TICKS(ms)	((__u32)(((__u64)(ms) * 1000000ULL) >> MTS_TICK_SHIFT))

#define MTS_MAX_IFACES		64	/* attached interfaces (counter slots) */
#define MTS_SLOT_UNKNOWN	MTS_MAX_IFACES	/* counts packets of an interface not in ifslots */
#define MTS_IFSLOT_BUCKETS	1024	/* ifindex -> slot table, probed linearly */
#define MTS_IFSLOT_PROBES	4
#define MTS_DEFAULT_FLOWS	262144	/* flow table capacity */
#define MTS_RINGBUF_BYTES	(256 * 1024)
#define MTS_VLAN_MAX		2	/* 802.1ad + 802.1Q */
#define MTS_IPV6_EXT_MAX	6	/* extension headers walked before giving up */
#define MTS_IPV6_HDRS_MAX	1024	/* ... and bytes of headers, the fixed one's included */
#define MTS_L3_END_MAX		(22 + MTS_IPV6_HDRS_MAX)	/* L2 (two tags) and L3 headers */
#define MTS_TCP_OPT_MAX		40	/* option bytes in a TCP header */
#define MTS_SACK_MAX		4	/* SACK blocks in one option */

/* Map names are shared so the loader cannot drift from the object. */
#define MTS_MAP_FLOWS		flows
#define MTS_MAP_COUNTERS	counters
#define MTS_MAP_EVENTS		events
#define MTS_MAP_IFSLOTS		ifslots
#define MTS_MAP_USED		used

/* What the programs know of an interface they run on: its counter slot and
 * framing. One program serves every interface; this is how it tells them
 * apart (bucket: ifindex, then the next ones, mod MTS_IFSLOT_BUCKETS). */
#define MTS_IFSLOT_GONE		0xffffffffu	/* a bucket freed inside a run of them */

struct mts_ifslot {
	__u32 ifindex;		/* 0: free; MTS_IFSLOT_GONE: freed, search on */
	__u8  slot;		/* counter slot */
	__u8  l3;		/* no L2 header (TUN, WireGuard, IP tunnels) */
	__u8  pad[2];
};

/* The i-th bucket of ifindex's search (i < MTS_IFSLOT_PROBES). */
static inline __u32 mts_ifslot_bucket(__u32 ifindex, __u32 i)
{
	return (ifindex + i) & (MTS_IFSLOT_BUCKETS - 1);
}

enum mts_dirn { MTS_INGRESS = 0, MTS_EGRESS = 1 };

/* AF_INET6's value, for the inline helpers below: this header includes no
 * socket header (libc's and the BPF side's spell it differently). */
#define MTS_AF_INET6		10

struct mts_flow_key {
	__u32 addr[2][4];	/* network order; [0] < [1] by (addr, port); IPv4 in [i][0] */
	__u16 port[2];		/* host byte order; 0 for ICMP */
	__u8  family;		/* AF_INET or AF_INET6 */
	__u8  proto;		/* IPPROTO_TCP, IPPROTO_UDP */
	__u16 pad;
};

/* mts_flow.hflags */
#define MTS_H_SYN_IN	0x0001	/* a connection's SYN arrived here: it may become a download
				 * the waiting sweep looks at (its dirs are read only then) */

/* mts_dir.flags */
#define MTS_F_SND	0x01	/* snd_nxt is valid */
#define MTS_F_ACK	0x02	/* snd_una is valid */
#define MTS_F_PROBE	0x04	/* waiting to see probe_seq delivered */
#define MTS_F_SACK_HOLE	0x08	/* a SACK showed data above snd_una delivered */
#define MTS_F_DF	0x10	/* data carried DF (IPv4) or was IPv6 */
#define MTS_F_FIN	0x20	/* FIN or RST seen from this sender */
#define MTS_F_PROBE2	0x40	/* waiting to see probe2_seq delivered */
#define MTS_F_BIG	0x80	/* waiting to see big_seq delivered */

/* mts_dir.xflags */
#define MTS_X_JOINED	0x01	/* this sender's first packet seen was data, not a SYN:
				 * watching began mid-connection (maybe mid-stall) */
#define MTS_X_ARR	0x02	/* arr_nxt is valid */
#define MTS_X_GAP	0x04	/* bytes from gap_seq on never arrived here, later ones did */
#define MTS_X_LISTENER	0x08	/* this end answered the SYN (SYN-ACK): the server */
#define MTS_X_RST	0x10	/* this end reset the connection: it is gone */

/*
 * One direction of a flow: 88 bytes. Sizes are IP packet sizes of one wire
 * segment (a GSO/GRO skb counts as its segments). Per-flow counters
 * saturate; interface counters are exact.
 *
 * Most fields follow data this sender puts on the wire through an egress
 * (and what comes back for it). The arr_* and gap_* fields follow the same
 * sender's data arriving at an ingress: where the wall stands before this
 * gateway (a download through the hole), the large segments never arrive
 * and the gap they leave in the sequence space is what this box can see.
 */
struct mts_dir {
	/* The first 40 bytes are what the common packets touch (a data
	 * segment at egress, an ACK or data at ingress): in the slot's
	 * layout they share one cache line more often than not. */
	__u32 snd_nxt;		/* end of the highest data sent */
	__u32 snd_una;		/* highest cumulative ACK received */
	__u32 probe_seq;	/* segment whose delivery we wait to see */
	__u32 big_seq;		/* the newest segment of seg_max size */
	__u32 arr_nxt;		/* end of the highest data that arrived */
	__u16 seg_max;		/* largest segment sent */
	__u16 deliv_max;	/* largest segment known delivered */
	__u16 probe_size;
	__u16 probe_plen;	/* payload bytes of the probe segment */
	__u16 ptb_mtu;		/* smallest MTU a PTB reported (0: none) */
	__u16 arr_max;		/* largest segment of this sender that arrived */
	__u16 fib_size;		/* segment size last checked against the route */
	__u16 route_mtu;	/* MTU of the route when fib_size was too big */
	__u8  hole_rtx;		/* consecutive retransmissions of hole_seq */
	__u8  flags;		/* MTS_F_* */
	__u8  xflags;		/* MTS_X_* */
	__u8  pad;
	/* Then what a hole, a probe's sibling, a PTB or a gap brings. */
	__u32 hole_seq;		/* segment being retransmitted again and again */
	__u32 t_hole;		/* first retransmission of hole_seq */
	__u32 t_ack;		/* an ACK received since t_hole (set once per hole) */
	__u32 probe2_seq;	/* a smaller segment sent while probe_seq waits */
	__u32 t_ptb;		/* latest frag-needed / packet-too-big */
	__u32 gap_seq;		/* first byte that never arrived (MTS_X_GAP) */
	__u32 t_gap;		/* when that gap opened */
	__u16 hole_size;	/* size of the hole segment's latest retransmission */
	__u16 probe2_plen;	/* its payload; its headers are the probe's */
	__u16 ptb_rx;		/* PTBs received (ingress) */
	__u16 ptb_tx;		/* PTBs this box generated (egress, local) */
	__u16 over_ptb;		/* segments above ptb_mtu sent after the grace */
	__u16 oversize;		/* DF segments too big for their route (ingress) */
	__u16 rtx_large;	/* retransmitted segments > large_bytes */
	__u16 rtx_small;
	__u16 syn_mss;		/* MSS this end announced in its SYN (0: not seen) */
	__u16 gap_len;		/* bytes missing at gap_seq when the gap opened (saturates) */
};

/* The header comes first: after the 40-byte key it fills the slot's first
 * 64 bytes, so a lookup's key compare and the seen/ifindex stores of the
 * same packet touch one line when the slot starts on one. */
struct mts_flow {
	__u32 t_first;
	__u32 seen;		/* jiffies (low 32 bits) of the latest packet: recency */
	__u32 t_event;		/* latest event sent (rate limit) */
	__u32 ifindex;		/* interface data last left through */
	__u32 in_ifindex;	/* interface a gap in arriving data was last seen on */
	__u16 hflags;		/* MTS_H_*: facts of either direction, beside the key */
	__u16 pad;		/* slots stay a multiple of 8 bytes: the key is read as words */
	struct mts_dir dir[2];
};

/*
 * The flow table is an array of sets of MTS_FLOW_WAYS slots: a flow lives
 * in one slot of the set its hash picks. Lookups are a few inlined array
 * reads and key compares, with no helper call (calls cost the most per
 * packet); a full set evicts its stalest slot, sparing flows with an open
 * hole. An empty slot has key.family == 0. The array is mmap()ed by
 * userspace, which finds flows with the same hash.
 *
 * Beside it, one bit a slot (MTS_MAP_USED, u64 words, mmap()ed writable):
 * the programs set a slot's bit whenever they fill it and never clear it;
 * userspace clears the bits of slots it finds empty. A walk over the used
 * slots then reads 8 bytes per 64 slots plus the slots in use, not every
 * slot's cache line (an idle daemon swept 16 MB twice a second).
 */
#define MTS_FLOW_WAYS		4
#define MTS_USED_WORDS(slots)	(((slots) + 63) / 64)

struct mts_slot {
	struct mts_flow_key key;
	struct mts_flow flow;
};

/*
 * The set a flow lives in, out of 2^bits. Five independent multiplies, one
 * per 8 bytes of the key, run side by side (a chain of dependent ones cost
 * ~20 ns a packet); one xor-shift and one multiply then carry every key bit
 * into the top bits, which pick the set (Fibonacci hashing). Addresses and
 * ports numbered in order spread like random keys (tests/unit); without
 * the xor-shift, clients numbered in order in the last octets fell into
 * one set in eight. murmur3's fmix64 does as well at twice the latency.
 */
static inline __attribute__((always_inline)) __u32 mts_flow_set_words(const __u64 w[5], __u32 bits)
{
	__u64 h = (w[0] * 0x9e3779b97f4a7c15ULL) ^ (w[1] * 0xc2b2ae3d27d4eb4fULL) ^
		  (w[2] * 0x165667b19e3779f9ULL) ^ (w[3] * 0x85ebca77c2b2ae63ULL) ^
		  (w[4] * 0x27d4eb2f165667c5ULL);

	h ^= h >> 29;
	h *= 0x9e3779b97f4a7c15ULL;
	return (h >> 1) >> (63 - bits);		/* bits = 0: one set */
}

static inline __attribute__((always_inline)) __u32 mts_flow_set(const struct mts_flow_key *k,
								__u32 bits)
{
	__u64 w[5];

	__builtin_memcpy(w, k, sizeof(w));
	return mts_flow_set_words(w, bits);
}

/* log2 of the number of sets in a table of flows slots (a power of two). */
static inline __u32 mts_set_bits(__u32 flows)
{
	__u32 bits = 0;

	while ((__u32)MTS_FLOW_WAYS << bits < flows)
		bits++;
	return bits;
}

/*
 * The IP size of a full segment between the two ends of a TCP flow: the
 * smaller MSS their SYNs announced plus the IP and TCP headers (options eat
 * into the payload, not the size). 0: a SYN was not seen.
 */
static inline __attribute__((always_inline)) __u32 mts_full_size(const struct mts_flow *f,
								 __u8 family)
{
	__u32 a = f->dir[0].syn_mss, b = f->dir[1].syn_mss, m = a < b ? a : b;

	return m ? m + (family == MTS_AF_INET6 ? 60 : 40) : 0;
}

/* The kernel's memory per flow is one slot: keep it within 256 bytes. */
_Static_assert(sizeof(struct mts_dir) == 88, "mts_dir layout changed");
_Static_assert(sizeof(struct mts_flow) == 200, "mts_flow outgrew its budget");
_Static_assert(sizeof(struct mts_slot) == 240, "mts_slot layout changed");
_Static_assert(sizeof(struct mts_dir) == 88, "mts_dir layout changed");
_Static_assert(sizeof(struct mts_flow_key) == 40, "mts_flow_key layout changed");

enum mts_event_type {
	MTS_EV_HOLE = 1,	/* a segment retransmitted (1st or 2nd time) */
	MTS_EV_PTB,		/* frag-needed / packet-too-big matched a flow */
	MTS_EV_OVERSIZE,	/* DF segment too big for its route */
	MTS_EV_FIN,		/* a watched flow closed */
	MTS_EV_JOINED,		/* first seen mid-connection with a large DF segment */
	MTS_EV_GAP,		/* arriving data skipped bytes while no full-size segment ever arrived */
	MTS_EV_MAX
};

struct mts_event {
	struct mts_flow_key key;
	__u32 ifindex;
	__u32 ticks;
	__u8  type;		/* enum mts_event_type */
	__u8  dir;		/* index into mts_flow.dir */
	__u16 size;		/* segment size involved */
	__u16 mtu;		/* PTB or route MTU, if any */
	__u16 pad;
};

/*
 * Per-interface, per-direction counters (per-CPU array, index
 * slot * 2 + (egress ? 1 : 0)). X-macro so userspace gets the names.
 * Counters named err_* are packets the parser gave up on, by reason.
 */
#define MTS_COUNTERS(X)							\
	X(PKTS,		"packets")					\
	X(BYTES,	"bytes")					\
	X(NON_IP,	"non_ip")					\
	X(IPV4,		"ipv4")						\
	X(IPV6,		"ipv6")						\
	X(TCP,		"tcp")						\
	X(UDP,		"udp")						\
	X(ICMP,		"icmp")						\
	X(GSO,		"gso_packets")					\
	X(DF_OVERSIZE,	"df_oversize")					\
	X(RTX_LARGE,	"rtx_large")					\
	X(RTX_SMALL,	"rtx_small")					\
	X(PTB_RX,	"ptb_rx")					\
	X(PTB_TX,	"ptb_tx")					\
	X(PTB_FWD,	"ptb_forwarded")				\
	X(PTB_NOFLOW,	"ptb_unmatched")				\
	X(FLOW_NEW,	"flows_new")					\
	X(FLOW_FAIL,	"flow_insert_failed")				\
	X(FLOW_EVICT,	"flows_evicted")				\
	X(EVENTS,	"events")					\
	X(EV_DROP,	"events_dropped")				\
	X(PULLED,	"headers_pulled")				\
	X(ERR_L2,	"err_l2_truncated")				\
	X(ERR_VLAN,	"err_vlan_depth")				\
	X(ERR_IP,	"err_ip_truncated")				\
	X(ERR_IP_HDR,	"err_ip_header")				\
	X(ERR_IP6_EXT,	"err_ipv6_ext")					\
	X(ERR_FRAG,	"err_fragment")					\
	X(ERR_TCP,	"err_tcp_truncated")				\
	X(ERR_TCP_HDR,	"err_tcp_header")				\
	X(ERR_UDP,	"err_udp_truncated")				\
	X(ERR_ICMP,	"err_icmp_truncated")				\
	X(ERR_QUOTE,	"err_icmp_quote")

#define MTS_X_ENUM(id, name) MTS_C_##id,
enum mts_counter { MTS_COUNTERS(MTS_X_ENUM) MTS_C_MAX };
#undef MTS_X_ENUM

struct mts_counters {
	__u64 c[MTS_C_MAX];
	__u64 memo[6];		/* the hook's own per-CPU scratch (BPF side), not counted */
};

enum mts_verdict {
	MTS_V_NONE = 0,
	MTS_V_HEALTHY,
	MTS_V_PMTU_LIMITED,
	MTS_V_SUSPECT,
	MTS_V_BLACKHOLE,
	MTS_V_PTB_IGNORED,
	MTS_V_RECOVERED,
	MTS_V_STALLED,
	MTS_V_MAX
};

#endif /* MTUSCOPE_H */
