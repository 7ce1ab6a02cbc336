// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_bpf.c - the tc programs of bpf/flow.bpf.c driven with BPF_PROG_TEST_RUN.
 *
 * Every packet is a __packed struct of UAPI headers built with designated
 * initialisers and run through mts_ingress or mts_egress by one helper,
 * run(), which also checks what must hold for every packet: the verdict is
 * TC_ACT_UNSPEC and the packet comes back byte for byte. Tests then assert on
 * the per-interface counters (summed over every possible CPU), the flow
 * records and the ring-buffer events.
 *
 * Two skeletons share one set of maps, as the loader builds them: slot 0 is an
 * Ethernet device, slot 1 an L3 device (cfg_l3, TUN/WireGuard). Both run with
 * cfg_replay so the clock is skb->tstamp and every time is the test's own.
 *
 * Limits of BPF_PROG_TEST_RUN that shape some packets here (kernel 6.x):
 *  - the skb is linear and at most a page less head- and tailroom (~3.7 KB),
 *    so a GSO skb carries two segments, and the pull-and-retry path for
 *    headers outside the linear area (headers_pulled) cannot be reached;
 *  - the kernel runs eth_type_trans() on the first 14 bytes and refuses an
 *    IPv4 (IPv6) ethertype with less than 20 (40) bytes after them, so
 *    shorter IP headers are sent behind an 802.1Q tag;
 *  - skb->protocol always comes from bytes 12-13, also for an L3 packet:
 *    the L3 tests pick source addresses whose bytes there spell the ethertype.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/types.h>
#include <linux/if_arp.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/icmp.h>
#include <linux/icmpv6.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <sys/mman.h>
#include <bpf/bpf.h>
#include <bpf/bpf_endian.h>
#include <bpf/libbpf.h>
#include "flow.skel.h"
#include "mtuscope.h"
#include "slots.h"
#include "testlib.h"

#ifndef __packed
#define __packed __attribute__((packed))
#endif

#define IP_DF		0x4000
#define IP6_MF		0x0001	/* fragment header: more fragments */
#define ETH_P_8021AD_	0x88A8

#define TH_FIN		0x01
#define TH_SYN		0x02
#define TH_RST		0x04
#define TH_PSH		0x08
#define TH_ACK		0x10

#define TCPOPT_NOP_	1
#define TCPOPT_SACK_	5
#define TCPOPT_TS_	8

#define MSS		1460	/* payload of a 1500-byte IPv4 segment */
#define MSS_TS		1448	/* ... with the timestamp option */
#define FULL4		1500	/* IP size of a full segment */
#define LO_IFINDEX	1	/* test runs without ctx->ifindex use loopback */
#define EG		true
#define IN		false

/* A flow: the client is the lower end (index 0), the server the higher. */
#define CLIENT_PORT	50000
#define SERVER_PORT	443
#define SEQ0		1000000u
#define CLIENT_ISN	7000u

#define IP4(a, b, c, d)	bpf_htonl((__u32)(a) << 24 | (b) << 16 | (c) << 8 | (d))
#define CLIENT4		IP4(192, 0, 2, 1)
#define SERVER4		IP4(198, 51, 100, 7)
#define ROUTER4		IP4(203, 0, 113, 1)

static const struct in6_addr CLIENT6 = { .s6_addr = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 } };
static const struct in6_addr SERVER6 = { .s6_addr = { 0x20, 0x01, 0x0d, 0xb8, [15] = 2 } };
static const struct in6_addr ROUTER6 = { .s6_addr = { 0x20, 0x01, 0x0d, 0xb8, 0xff, [15] = 1 } };
static const struct in6_addr HOME6 = { .s6_addr = { 0x20, 0x01, 0x0d, 0xb8, 0xaa, [15] = 9 } };

/* 802.1Q / 802.1ad tag (the kernel's struct vlan_hdr is not UAPI). */
struct vlan_hdr {
	__be16 h_vlan_TCI;
	__be16 h_vlan_encapsulated_proto;
} __packed;

/* IPv6 fragment header (the kernel's struct frag_hdr is not UAPI). */
struct ip6_frag_hdr {
	__u8   nexthdr;
	__u8   reserved;
	__be16 frag_off;
	__be32 identification;
} __packed;

/* An 8-byte hop-by-hop or destination options header: one PadN option. */
struct ip6_opts8 {
	struct ipv6_opt_hdr hdr;
	__u8 padn[6];
} __packed;

/* NOP, NOP, timestamps: what Linux puts on every segment. */
struct tcp_ts_opt {
	__u8   nop[2];
	__u8   kind;
	__u8   len;
	__be32 tsval;
	__be32 tsecr;
} __packed;

/* NOP, NOP, SACK with one block. */
struct tcp_sack1_opt {
	__u8   nop[2];
	__u8   kind;
	__u8   len;
	__be32 left;
	__be32 right;
} __packed;

struct arp_ipv4 {
	struct arphdr hdr;
	__u8   sha[ETH_ALEN];
	__be32 spa;
	__u8   tha[ETH_ALEN];
	__be32 tpa;
} __packed;

/* The packets most tests send: one TCP segment, up to a full one. */
struct tcp4_pkt {
	struct ethhdr eth;
	struct iphdr ip;
	struct tcphdr tcp;
	__u8 data[MSS];
} __packed;

struct tcp6_pkt {
	struct ethhdr eth;
	struct ipv6hdr ip6;
	struct tcphdr tcp;
	__u8 data[MSS];
} __packed;

/* ICMP frag-needed / ICMPv6 packet-too-big quoting a TCP segment the way
 * Linux routers do (the full TCP header; RFC 792 promises only 8 bytes). */
struct ptb4_pkt {
	struct ethhdr eth;
	struct iphdr ip;
	struct icmphdr icmp;
	struct iphdr qip;
	struct tcphdr qtcp;
} __packed;

struct ptb6_pkt {
	struct ethhdr eth;
	struct ipv6hdr ip6;
	struct icmp6hdr icmp6;
	struct ipv6hdr qip6;
	struct tcphdr qtcp;
} __packed;

/* Bytes from a header to the end of the packet: an IP total length. */
#define LEN_FROM(pkt, member)	(sizeof(pkt) - offsetof(typeof(pkt), member))

/* ------------------------------------------------------------ harness */

static struct flow_bpf *skel_eth, *skel_l3;
static int prog_in, prog_eg, prog_l3_in, prog_l3_eg;
static int ifslots_fd;
static int flows_fd, counters_fd;
static const volatile struct mts_slot *slots;	/* the flow table, mmap()ed */
static __u64 *used;				/* its used bits, mmap()ed */
static struct ring_buffer *events_rb;
static int ncpus;

static __u64 clock_ns;		/* skb->tstamp of the next run (cfg_replay) */

#define T0_NS		(1000ull * 1000000000ull)
#define MS(n)		((__u64)(n) * 1000000ull)
#define TICKS(ns)	((__u32)((ns) >> MTS_TICK_SHIFT))

#define MAX_EVENTS	16
static struct mts_event events[MAX_EVENTS];
static int n_events;

static const char *const counter_names[] = {
#define MTS_X_NAME(id, name) name,
	MTS_COUNTERS(MTS_X_NAME)
#undef MTS_X_NAME
};

static int on_event(void *ctx, void *data, size_t len)
{
	(void)ctx;
	if (len >= sizeof(struct mts_event) && n_events < MAX_EVENTS)
		memcpy(&events[n_events++], data, sizeof(struct mts_event));
	return 0;
}

static int read_events(void)
{
	ring_buffer__consume(events_rb);
	return n_events;
}

static void advance_ms(unsigned int ms)
{
	clock_ns += MS(ms);
}

/*
 * Run one packet through a program. Whatever the packet, the verdict must
 * be TC_ACT_UNSPEC (let the next filter run) and the packet must come back
 * as it went in. ctx may be NULL; its tstamp is the test clock.
 */
static bool run_ctx(int prog_fd, const void *pkt, size_t len, const struct __sk_buff *ctx)
{
	static __u8 out[4096];
	struct __sk_buff skb = {};
	LIBBPF_OPTS(bpf_test_run_opts, opts,
		    .data_in = pkt,
		    .data_size_in = len,
		    .data_out = out,
		    .data_size_out = sizeof(out),	/* the kernel writes it back */
		    .ctx_in = &skb,
		    .ctx_size_in = sizeof(skb),
	);
	int err;

	if (ctx)
		skb = *ctx;
	skb.tstamp = clock_ns;
	err = bpf_prog_test_run_opts(prog_fd, &opts);
	ASSERT_EQ(err ? -errno : 0, 0, "bpf_prog_test_run_opts");
	ASSERT_EQ((int)opts.retval, TC_ACT_UNSPEC, "verdict (TC_ACT_UNSPEC)");
	ASSERT_EQ(opts.data_size_out, len, "output packet length");
	ASSERT_TRUE(!memcmp(out, pkt, len), "output packet equals input");
	return true;
}

static bool run(int prog_fd, const void *pkt, size_t len)
{
	return run_ctx(prog_fd, pkt, len, NULL);
}

#define EGRESS(pkt, len)	ASSERT_TRUE(run(prog_eg, pkt, len), "egress run")
#define INGRESS(pkt, len)	ASSERT_TRUE(run(prog_in, pkt, len), "ingress run")

/* Counters of one slot and direction, summed over every possible CPU. */
static bool read_counters(int slot, bool egress, struct mts_counters *sum)
{
	struct mts_counters *percpu = calloc(ncpus, sizeof(*percpu));
	__u32 key = slot * 2 + egress;
	int err;

	memset(sum, 0, sizeof(*sum));
	ASSERT_TRUE(percpu, "calloc");
	err = bpf_map_lookup_elem(counters_fd, &key, percpu);
	if (!err)
		for (int cpu = 0; cpu < ncpus; cpu++)
			for (int i = 0; i < MTS_C_MAX; i++)
				sum->c[i] += percpu[cpu].c[i];
	free(percpu);
	ASSERT_EQ(err, 0, "lookup counters");
	return true;
}

#define ASSERT_CNT(cnt, id, want)	ASSERT_EQ((cnt)->c[MTS_C_##id], want, "counter " #id)

/* Every parse failure reason (and non_ip) is zero except `except`. */
static bool no_other_errors(const struct mts_counters *c, int except)
{
	char what[64];

	for (int i = MTS_C_ERR_L2; i <= MTS_C_ERR_QUOTE; i++) {
		if (i == except)
			continue;
		snprintf(what, sizeof(what), "counter %s", counter_names[i]);
		ASSERT_EQ(c->c[i], 0, what);
	}
	if (except != MTS_C_NON_IP)
		ASSERT_EQ(c->c[MTS_C_NON_IP], 0, "counter non_ip");
	return true;
}

#define TEST_FLOWS 4096	/* flow table slots in these tests */

static int count_flows(void)
{
	struct mts_slot slot;
	int n = 0;

	for (__u32 i = 0; i < TEST_FLOWS; i++)
		if (!bpf_map_lookup_elem(flows_fd, &i, &slot) && slot.key.family)
			n++;
	return n;
}

/* The flow's slot in its set, as the programs and the loader find it. */
static bool find_flow(const struct mts_flow_key *k, struct mts_flow *f)
{
	__u32 base = mts_flow_set(k, mts_set_bits(TEST_FLOWS)) * MTS_FLOW_WAYS;
	struct mts_slot slot;

	for (__u32 w = 0; w < MTS_FLOW_WAYS; w++) {
		__u32 i = base + w;

		if (!bpf_map_lookup_elem(flows_fd, &i, &slot) &&
		    !memcmp(&slot.key, k, sizeof(*k))) {
			*f = slot.flow;
			return true;
		}
	}
	return false;
}

static bool get_flow(const struct mts_flow_key *k, struct mts_flow *f)
{
	ASSERT_TRUE(find_flow(k, f), "flow record under the expected key");
	return true;
}

static bool dir_is_empty(const struct mts_dir *d)
{
	static const struct mts_dir zero;

	return !memcmp(d, &zero, sizeof(zero));
}

/* What the live programs know of loopback. */
static int set_lo_slot(__u8 slot, bool l3)
{
	struct mts_ifslot e = { .ifindex = LO_IFINDEX, .slot = slot, .l3 = l3 };

	return bpf_map_update_elem(ifslots_fd, &(__u32){ LO_IFINDEX }, &e, BPF_ANY);
}

/* Start every test from empty maps, no events and the same clock. */
static bool reset(void)
{
	struct mts_counters *zero = calloc(ncpus, sizeof(*zero));
	bool ok = zero != NULL;

	for (__u32 i = 0; zero && i < (MTS_MAX_IFACES + 1) * 2; i++)
		ok &= !bpf_map_update_elem(counters_fd, &i, zero, BPF_ANY);
	free(zero);
	for (__u32 i = 0; i < TEST_FLOWS; i++) {
		static const struct mts_slot empty;

		if (bpf_map_update_elem(flows_fd, &i, &empty, BPF_ANY)) {
			ok = false;
			break;
		}
	}
	memset(used, 0, MTS_USED_WORDS(TEST_FLOWS) * sizeof(*used));
	ring_buffer__consume(events_rb);
	n_events = 0;
	clock_ns = T0_NS;
	return ok;
}

#define RUN_FRESH(fn) do {							\
	if (!reset()) {								\
		fprintf(stderr, "  cannot reset the maps before %s\n", #fn);	\
		printf("not ok %s\n", #fn);					\
		tl_failed++;							\
		break;								\
	}									\
	RUN(fn);								\
} while (0)

/* ------------------------------------------------------------ packets */

static void ip4_csum(void *iph)
{
	__u8 *b = iph;
	size_t n = (b[0] & 0xf) * 4;
	__u32 sum = 0;

	b[10] = b[11] = 0;
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += b[i] << 8 | b[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	b[10] = ~sum >> 8;
	b[11] = ~sum & 0xff;
}

static struct ethhdr eth_hdr(__u16 proto)
{
	return (struct ethhdr){
		.h_dest = { 0x02, 0x00, 0x5e, 0x00, 0x00, 0x02 },
		.h_source = { 0x02, 0x00, 0x5e, 0x00, 0x00, 0x01 },
		.h_proto = bpf_htons(proto),
	};
}

/* Checksum it with ip4_csum() once the header is final. */
static struct iphdr ip4_hdr(__u8 proto, __be32 src, __be32 dst, size_t tot_len)
{
	return (struct iphdr){
		.version = 4,
		.ihl = 5,
		.tot_len = bpf_htons(tot_len),
		.id = bpf_htons(0x1234),
		.frag_off = bpf_htons(IP_DF),
		.ttl = 64,
		.protocol = proto,
		.saddr = src,
		.daddr = dst,
	};
}

static struct ipv6hdr ip6_hdr(__u8 nexthdr, const struct in6_addr *src,
			      const struct in6_addr *dst, size_t payload_len)
{
	return (struct ipv6hdr){
		.version = 6,
		.payload_len = bpf_htons(payload_len),
		.nexthdr = nexthdr,
		.hop_limit = 64,
		.saddr = *src,
		.daddr = *dst,
	};
}

static struct tcphdr tcp_hdr(__u16 sport, __u16 dport, __u32 seq, __u32 ack,
			     __u8 flags, size_t opt_bytes)
{
	return (struct tcphdr){
		.source = bpf_htons(sport),
		.dest = bpf_htons(dport),
		.seq = bpf_htonl(seq),
		.ack_seq = bpf_htonl(ack),
		.doff = (sizeof(struct tcphdr) + opt_bytes) / 4,
		.fin = !!(flags & TH_FIN),
		.syn = !!(flags & TH_SYN),
		.rst = !!(flags & TH_RST),
		.psh = !!(flags & TH_PSH),
		.ack = !!(flags & TH_ACK),
		.window = bpf_htons(502),
	};
}

static struct tcp_ts_opt ts_opt(void)
{
	return (struct tcp_ts_opt){
		.nop = { TCPOPT_NOP_, TCPOPT_NOP_ },
		.kind = TCPOPT_TS_,
		.len = 10,
		.tsval = bpf_htonl(123456),
		.tsecr = bpf_htonl(654321),
	};
}

/* One IPv4 TCP segment with plen payload bytes; returns the frame length. */
static size_t tcp4(struct tcp4_pkt *p, __be32 src, __u16 sport, __be32 dst, __u16 dport,
		   __u32 seq, __u32 ack, __u8 flags, size_t plen)
{
	*p = (struct tcp4_pkt){
		.eth = eth_hdr(ETH_P_IP),
		.ip = ip4_hdr(IPPROTO_TCP, src, dst, sizeof(p->ip) + sizeof(p->tcp) + plen),
		.tcp = tcp_hdr(sport, dport, seq, ack, flags, 0),
	};
	memset(p->data, 0xa5, plen);
	ip4_csum(&p->ip);
	return offsetof(struct tcp4_pkt, data) + plen;
}

static size_t tcp6(struct tcp6_pkt *p, const struct in6_addr *src, __u16 sport,
		   const struct in6_addr *dst, __u16 dport, __u32 seq, __u32 ack,
		   __u8 flags, size_t plen)
{
	*p = (struct tcp6_pkt){
		.eth = eth_hdr(ETH_P_IPV6),
		.ip6 = ip6_hdr(IPPROTO_TCP, src, dst, sizeof(p->tcp) + plen),
		.tcp = tcp_hdr(sport, dport, seq, ack, flags, 0),
	};
	memset(p->data, 0xa5, plen);
	return offsetof(struct tcp6_pkt, data) + plen;
}

/* The two directions of the test connection. */
static size_t server_data4(struct tcp4_pkt *p, __u32 seq, size_t plen)
{
	return tcp4(p, SERVER4, SERVER_PORT, CLIENT4, CLIENT_PORT, seq, CLIENT_ISN + 1,
		    TH_ACK | TH_PSH, plen);
}

static size_t client_ack4(struct tcp4_pkt *p, __u32 ack)
{
	return tcp4(p, CLIENT4, CLIENT_PORT, SERVER4, SERVER_PORT, CLIENT_ISN + 1, ack, TH_ACK, 0);
}

static struct mts_flow_key key4(__be32 a0, __u16 p0, __be32 a1, __u16 p1, __u8 proto)
{
	return (struct mts_flow_key){
		.addr = { { a0 }, { a1 } },
		.port = { p0, p1 },
		.family = AF_INET,
		.proto = proto,
	};
}

static struct mts_flow_key key6(const struct in6_addr *a0, __u16 p0,
				const struct in6_addr *a1, __u16 p1, __u8 proto)
{
	struct mts_flow_key k = { .port = { p0, p1 }, .family = AF_INET6, .proto = proto };

	memcpy(k.addr[0], a0, 16);
	memcpy(k.addr[1], a1, 16);
	return k;
}

/* The test connection's record: client (lower) is dir[0], server dir[1]. */
static struct mts_flow_key conn4(void)
{
	return key4(CLIENT4, CLIENT_PORT, SERVER4, SERVER_PORT, IPPROTO_TCP);
}

static struct mts_flow_key conn6(void)
{
	return key6(&CLIENT6, CLIENT_PORT, &SERVER6, SERVER_PORT, IPPROTO_TCP);
}

/* frag-needed from a router to the server, quoting the server's segment. */
static size_t ptb4(struct ptb4_pkt *p, __u16 mtu, __u32 quoted_seq)
{
	*p = (struct ptb4_pkt){
		.eth = eth_hdr(ETH_P_IP),
		.ip = ip4_hdr(IPPROTO_ICMP, ROUTER4, SERVER4, LEN_FROM(*p, ip)),
		.icmp = {
			.type = ICMP_DEST_UNREACH,
			.code = ICMP_FRAG_NEEDED,
			.un.frag.mtu = bpf_htons(mtu),
		},
		.qip = ip4_hdr(IPPROTO_TCP, SERVER4, CLIENT4, FULL4),
		.qtcp = tcp_hdr(SERVER_PORT, CLIENT_PORT, quoted_seq, CLIENT_ISN + 1,
				TH_ACK | TH_PSH, 0),
	};
	p->ip.frag_off = 0;
	ip4_csum(&p->qip);
	ip4_csum(&p->ip);
	return sizeof(*p);
}

/* Cut a frag-needed after `keep` bytes of its quote (a terse router). */
static size_t ptb4_cut(struct ptb4_pkt *p, size_t keep)
{
	size_t len = offsetof(struct ptb4_pkt, qip) + keep;

	p->ip.tot_len = bpf_htons(len - sizeof(p->eth));
	ip4_csum(&p->ip);
	return len;
}

/* ------------------------------------------------------------ shared checks */

/*
 * One TCP data segment went out of `slot` and was parsed through: counted
 * as `family` and TCP with no parse error, and the record under k holds it
 * in dir[dir] with seg_max = its IP packet size.
 */
static bool expect_tcp_data(int slot, int family, const struct mts_flow_key *k,
			    int dir, __u16 ip_size)
{
	struct mts_counters c;
	struct mts_flow f;

	ASSERT_TRUE(read_counters(slot, EG, &c), "read counters");
	ASSERT_CNT(&c, PKTS, 1);
	ASSERT_EQ(c.c[family], 1, counter_names[family]);
	ASSERT_CNT(&c, TCP, 1);
	ASSERT_CNT(&c, FLOW_NEW, 1);
	ASSERT_TRUE(no_other_errors(&c, -1), "no parse errors");
	ASSERT_TRUE(get_flow(k, &f), "flow");
	ASSERT_EQ(f.dir[dir].seg_max, ip_size, "seg_max = IP packet size");
	ASSERT_TRUE(f.dir[dir].flags & MTS_F_SND, "snd_nxt valid");
	ASSERT_TRUE(dir_is_empty(&f.dir[!dir]), "other direction untouched");
	return true;
}

/* The parser gave up on the one packet of this slot, for `reason` only,
 * before any protocol was counted or any flow touched. */
static bool expect_gave_up(int slot, bool egress, int reason)
{
	struct mts_counters c;

	ASSERT_TRUE(read_counters(slot, egress, &c), "read counters");
	ASSERT_CNT(&c, PKTS, 1);
	ASSERT_EQ(c.c[reason], 1, counter_names[reason]);
	ASSERT_TRUE(no_other_errors(&c, reason), "no other reason");
	ASSERT_CNT(&c, IPV4, 0);
	ASSERT_CNT(&c, IPV6, 0);
	ASSERT_CNT(&c, TCP, 0);
	ASSERT_CNT(&c, UDP, 0);
	ASSERT_CNT(&c, ICMP, 0);
	ASSERT_CNT(&c, FLOW_NEW, 0);
	return true;
}

/* ------------------------------------------------------------ parser paths */

static bool test_eth_ipv4_tcp_parsed(void)
{
	struct tcp4_pkt pkt;
	size_t len = server_data4(&pkt, SEQ0, MSS);
	struct mts_flow_key k = conn4();

	EGRESS(&pkt, len);
	return expect_tcp_data(0, MTS_C_IPV4, &k, 1, FULL4);
}

static bool test_vlan_8021q_ipv4_tcp_parsed(void)
{
	struct {
		struct ethhdr eth;
		struct vlan_hdr vlan;
		struct iphdr ip;
		struct tcphdr tcp;
		__u8 data[1000];
	} __packed pkt = {
		.eth = eth_hdr(ETH_P_8021Q),
		.vlan = { .h_vlan_TCI = bpf_htons(100), .h_vlan_encapsulated_proto = bpf_htons(ETH_P_IP) },
		.ip = ip4_hdr(IPPROTO_TCP, SERVER4, CLIENT4, LEN_FROM(pkt, ip)),
		.tcp = tcp_hdr(SERVER_PORT, CLIENT_PORT, SEQ0, 1, TH_ACK | TH_PSH, 0),
	};
	struct mts_flow_key k = conn4();

	ip4_csum(&pkt.ip);
	EGRESS(&pkt, sizeof(pkt));
	return expect_tcp_data(0, MTS_C_IPV4, &k, 1, LEN_FROM(pkt, ip));
}

static bool test_qinq_8021ad_8021q_ipv4_tcp_parsed(void)
{
	struct {
		struct ethhdr eth;
		struct vlan_hdr outer;
		struct vlan_hdr inner;
		struct iphdr ip;
		struct tcphdr tcp;
		__u8 data[1000];
	} __packed pkt = {
		.eth = eth_hdr(ETH_P_8021AD_),
		.outer = { .h_vlan_TCI = bpf_htons(10), .h_vlan_encapsulated_proto = bpf_htons(ETH_P_8021Q) },
		.inner = { .h_vlan_TCI = bpf_htons(200), .h_vlan_encapsulated_proto = bpf_htons(ETH_P_IP) },
		.ip = ip4_hdr(IPPROTO_TCP, SERVER4, CLIENT4, LEN_FROM(pkt, ip)),
		.tcp = tcp_hdr(SERVER_PORT, CLIENT_PORT, SEQ0, 1, TH_ACK | TH_PSH, 0),
	};
	struct mts_flow_key k = conn4();

	ip4_csum(&pkt.ip);
	EGRESS(&pkt, sizeof(pkt));
	return expect_tcp_data(0, MTS_C_IPV4, &k, 1, LEN_FROM(pkt, ip));
}

static bool test_three_vlan_tags_counted_as_vlan_depth(void)
{
	struct {
		struct ethhdr eth;
		struct vlan_hdr tag[3];
		struct iphdr ip;
		struct tcphdr tcp;
	} __packed pkt = {
		.eth = eth_hdr(ETH_P_8021AD_),
		.tag = {
			{ .h_vlan_TCI = bpf_htons(1), .h_vlan_encapsulated_proto = bpf_htons(ETH_P_8021Q) },
			{ .h_vlan_TCI = bpf_htons(2), .h_vlan_encapsulated_proto = bpf_htons(ETH_P_8021Q) },
			{ .h_vlan_TCI = bpf_htons(3), .h_vlan_encapsulated_proto = bpf_htons(ETH_P_IP) },
		},
		.ip = ip4_hdr(IPPROTO_TCP, SERVER4, CLIENT4, LEN_FROM(pkt, ip)),
		.tcp = tcp_hdr(SERVER_PORT, CLIENT_PORT, SEQ0, 1, TH_ACK, 0),
	};

	ip4_csum(&pkt.ip);
	EGRESS(&pkt, sizeof(pkt));
	return expect_gave_up(0, EG, MTS_C_ERR_VLAN);
}

static bool test_ipv4_options_tcp_parsed(void)
{
	struct {
		struct ethhdr eth;
		struct iphdr ip;
		__u8 router_alert[4];	/* RFC 2113 */
		struct tcphdr tcp;
		__u8 data[1000];
	} __packed pkt = {
		.eth = eth_hdr(ETH_P_IP),
		.ip = ip4_hdr(IPPROTO_TCP, SERVER4, CLIENT4, LEN_FROM(pkt, ip)),
		.router_alert = { 0x94, 0x04, 0x00, 0x00 },
		.tcp = tcp_hdr(SERVER_PORT, CLIENT_PORT, SEQ0, 1, TH_ACK | TH_PSH, 0),
	};
	struct mts_flow_key k = conn4();

	pkt.ip.ihl = 6;
	ip4_csum(&pkt.ip);
	EGRESS(&pkt, sizeof(pkt));
	return expect_tcp_data(0, MTS_C_IPV4, &k, 1, LEN_FROM(pkt, ip));
}

static bool test_eth_ipv6_tcp_parsed(void)
{
	struct tcp6_pkt pkt;
	size_t len = tcp6(&pkt, &SERVER6, SERVER_PORT, &CLIENT6, CLIENT_PORT, SEQ0, 1,
			  TH_ACK | TH_PSH, 1000);
	struct mts_flow_key k = conn6();

	EGRESS(&pkt, len);
	return expect_tcp_data(0, MTS_C_IPV6, &k, 1, sizeof(pkt.ip6) + sizeof(pkt.tcp) + 1000);
}

/* The next segment of the same IPv6 flow finds its record. */
static bool test_eth_ipv6_next_segment_same_flow(void)
{
	struct tcp6_pkt pkt;
	struct mts_counters c;
	size_t len;

	for (int i = 0; i < 3; i++) {
		len = tcp6(&pkt, &SERVER6, SERVER_PORT, &CLIENT6, CLIENT_PORT, SEQ0 + i * 1000, 1,
			   TH_ACK | TH_PSH, 1000);
		EGRESS(&pkt, len);
	}
	ASSERT_TRUE(read_counters(0, EG, &c), "read counters");
	ASSERT_CNT(&c, FLOW_NEW, 1);
	ASSERT_EQ(count_flows(), 1, "one flow");
	return true;
}

static bool test_ipv6_hop_dest_routing_headers_walked(void)
{
	struct {
		struct ethhdr eth;
		struct ipv6hdr ip6;
		struct ip6_opts8 hop;
		struct ip6_opts8 dst;
		struct rt2_hdr rt;
		struct tcphdr tcp;
		__u8 data[1000];
	} __packed pkt = {
		.eth = eth_hdr(ETH_P_IPV6),
		.ip6 = ip6_hdr(IPPROTO_HOPOPTS, &SERVER6, &CLIENT6, LEN_FROM(pkt, hop)),
		.hop = { .hdr = { .nexthdr = IPPROTO_DSTOPTS }, .padn = { 1, 4 } },
		.dst = { .hdr = { .nexthdr = IPPROTO_ROUTING }, .padn = { 1, 4 } },
		.rt = {
			.rt_hdr = { .nexthdr = IPPROTO_TCP, .hdrlen = 2, .type = 2, .segments_left = 1 },
			.addr = HOME6,
		},
		.tcp = tcp_hdr(SERVER_PORT, CLIENT_PORT, SEQ0, 1, TH_ACK | TH_PSH, 0),
	};
	struct mts_flow_key k = conn6();

	_Static_assert(sizeof(struct rt2_hdr) == 24, "type 2 routing header is 24 bytes");
	EGRESS(&pkt, sizeof(pkt));
	return expect_tcp_data(0, MTS_C_IPV6, &k, 1, LEN_FROM(pkt, ip6));
}

static bool test_ipv6_six_extension_headers_walked(void)
{
	struct {
		struct ethhdr eth;
		struct ipv6hdr ip6;
		struct ip6_opts8 ext[MTS_IPV6_EXT_MAX];
		struct tcphdr tcp;
		__u8 data[100];
	} __packed pkt = {
		.eth = eth_hdr(ETH_P_IPV6),
		.ip6 = ip6_hdr(IPPROTO_HOPOPTS, &SERVER6, &CLIENT6, LEN_FROM(pkt, ext)),
		.tcp = tcp_hdr(SERVER_PORT, CLIENT_PORT, SEQ0, 1, TH_ACK | TH_PSH, 0),
	};
	struct mts_flow_key k = conn6();

	for (int i = 0; i < MTS_IPV6_EXT_MAX; i++)
		pkt.ext[i] = (struct ip6_opts8){
			.hdr.nexthdr = i + 1 < MTS_IPV6_EXT_MAX ? IPPROTO_DSTOPTS : IPPROTO_TCP,
			.padn = { 1, 4 },
		};
	EGRESS(&pkt, sizeof(pkt));
	return expect_tcp_data(0, MTS_C_IPV6, &k, 1, LEN_FROM(pkt, ip6));
}

static bool test_ipv6_too_many_extension_headers_counted(void)
{
	struct {
		struct ethhdr eth;
		struct ipv6hdr ip6;
		struct ip6_opts8 ext[MTS_IPV6_EXT_MAX + 1];
		struct tcphdr tcp;
	} __packed pkt = {
		.eth = eth_hdr(ETH_P_IPV6),
		.ip6 = ip6_hdr(IPPROTO_HOPOPTS, &SERVER6, &CLIENT6, LEN_FROM(pkt, ext)),
		.tcp = tcp_hdr(SERVER_PORT, CLIENT_PORT, SEQ0, 1, TH_ACK, 0),
	};

	for (int i = 0; i <= MTS_IPV6_EXT_MAX; i++)
		pkt.ext[i] = (struct ip6_opts8){
			.hdr.nexthdr = i < MTS_IPV6_EXT_MAX ? IPPROTO_DSTOPTS : IPPROTO_TCP,
			.padn = { 1, 4 },
		};
	EGRESS(&pkt, sizeof(pkt));
	return expect_gave_up(0, EG, MTS_C_ERR_IP6_EXT);
}

static bool test_ipv6_first_fragment_parsed(void)
{
	struct {
		struct ethhdr eth;
		struct ipv6hdr ip6;
		struct ip6_frag_hdr frag;
		struct tcphdr tcp;
		__u8 data[1000];
	} __packed pkt = {
		.eth = eth_hdr(ETH_P_IPV6),
		.ip6 = ip6_hdr(IPPROTO_FRAGMENT, &SERVER6, &CLIENT6, LEN_FROM(pkt, frag)),
		.frag = { .nexthdr = IPPROTO_TCP, .frag_off = bpf_htons(IP6_MF),
			  .identification = bpf_htonl(77) },
		.tcp = tcp_hdr(SERVER_PORT, CLIENT_PORT, SEQ0, 1, TH_ACK | TH_PSH, 0),
	};
	struct mts_flow_key k = conn6();

	EGRESS(&pkt, sizeof(pkt));
	return expect_tcp_data(0, MTS_C_IPV6, &k, 1, LEN_FROM(pkt, ip6));
}

static bool test_ipv6_non_first_fragment_counted(void)
{
	struct {
		struct ethhdr eth;
		struct ipv6hdr ip6;
		struct ip6_frag_hdr frag;
		__u8 data[200];
	} __packed pkt = {
		.eth = eth_hdr(ETH_P_IPV6),
		.ip6 = ip6_hdr(IPPROTO_FRAGMENT, &SERVER6, &CLIENT6, LEN_FROM(pkt, frag)),
		.frag = { .nexthdr = IPPROTO_TCP, .frag_off = bpf_htons(181 << 3) /* offset 1448 */,
			  .identification = bpf_htonl(77) },
	};

	EGRESS(&pkt, sizeof(pkt));
	return expect_gave_up(0, EG, MTS_C_ERR_FRAG);
}

static bool test_ipv4_non_first_fragment_counted(void)
{
	struct {
		struct ethhdr eth;
		struct iphdr ip;
		__u8 data[200];
	} __packed pkt = {
		.eth = eth_hdr(ETH_P_IP),
		.ip = ip4_hdr(IPPROTO_TCP, SERVER4, CLIENT4, LEN_FROM(pkt, ip)),
	};

	pkt.ip.frag_off = bpf_htons(1480 / 8);		/* second fragment, last */
	ip4_csum(&pkt.ip);
	EGRESS(&pkt, sizeof(pkt));
	return expect_gave_up(0, EG, MTS_C_ERR_FRAG);
}

static bool test_udp_large_datagram_tracked(void)
{
	struct {
		struct ethhdr eth;
		struct iphdr ip;
		struct udphdr udp;
		__u8 data[1400];
	} __packed pkt = {
		.eth = eth_hdr(ETH_P_IP),
		.ip = ip4_hdr(IPPROTO_UDP, CLIENT4, SERVER4, LEN_FROM(pkt, ip)),
		.udp = { .source = bpf_htons(51820), .dest = bpf_htons(51821),
			 .len = bpf_htons(LEN_FROM(pkt, udp)) },
	};
	struct mts_flow_key k = key4(CLIENT4, 51820, SERVER4, 51821, IPPROTO_UDP);
	struct mts_counters c;
	struct mts_flow f;

	ip4_csum(&pkt.ip);
	EGRESS(&pkt, sizeof(pkt));
	ASSERT_TRUE(read_counters(0, EG, &c), "read counters");
	ASSERT_CNT(&c, IPV4, 1);
	ASSERT_CNT(&c, UDP, 1);
	ASSERT_CNT(&c, TCP, 0);
	ASSERT_CNT(&c, FLOW_NEW, 1);
	ASSERT_TRUE(no_other_errors(&c, -1), "no parse errors");
	ASSERT_TRUE(get_flow(&k, &f), "flow");
	ASSERT_EQ(f.dir[0].seg_max, LEN_FROM(pkt, ip), "seg_max = IP packet size");
	ASSERT_TRUE(f.dir[0].flags & MTS_F_DF, "DF noted");
	ASSERT_TRUE(dir_is_empty(&f.dir[1]), "other direction untouched");
	return true;
}

/* A UDP datagram from the client (a tunnel's outer packet) of `payload` bytes. */
static bool egress_udp4(size_t payload, bool df)
{
	struct {
		struct ethhdr eth;
		struct iphdr ip;
		struct udphdr udp;
		__u8 data[1500];
	} __packed pkt = {
		.eth = eth_hdr(ETH_P_IP),
		.udp = { .source = bpf_htons(51820), .dest = bpf_htons(51821),
			 .len = bpf_htons(sizeof(struct udphdr) + payload) },
	};
	size_t size = offsetof(typeof(pkt), data) + payload;

	if (payload > sizeof(pkt.data))
		return false;
	pkt.ip = ip4_hdr(IPPROTO_UDP, CLIENT4, SERVER4, size - offsetof(typeof(pkt), ip));
	if (!df)
		pkt.ip.frag_off = 0;
	ip4_csum(&pkt.ip);
	EGRESS(&pkt, size);
	return true;
}

#define UDP4_IP(payload)	(sizeof(struct iphdr) + sizeof(struct udphdr) + (payload))

/* The program remembers the last datagram's flow and skips the record
 * while nothing would change: a larger datagram must still reach it. */
static bool test_udp_memo_passes_larger_datagram(void)
{
	struct mts_flow_key k = key4(CLIENT4, 51820, SERVER4, 51821, IPPROTO_UDP);
	struct mts_flow f;

	ASSERT_TRUE(egress_udp4(1300, true) && egress_udp4(1300, true), "datagrams");
	ASSERT_TRUE(egress_udp4(1200, true), "smaller");
	ASSERT_TRUE(get_flow(&k, &f), "flow");
	ASSERT_EQ(f.dir[0].seg_max, UDP4_IP(1300), "seg_max");
	ASSERT_TRUE(egress_udp4(1400, true), "larger");
	ASSERT_TRUE(get_flow(&k, &f), "flow");
	ASSERT_EQ(f.dir[0].seg_max, UDP4_IP(1400), "seg_max grew past the memo");
	return true;
}

/* ... and so must the first DF datagram after plain ones. */
static bool test_udp_memo_passes_first_df(void)
{
	struct mts_flow_key k = key4(CLIENT4, 51820, SERVER4, 51821, IPPROTO_UDP);
	struct mts_flow f;

	ASSERT_TRUE(egress_udp4(1300, false) && egress_udp4(1300, false), "datagrams");
	ASSERT_TRUE(get_flow(&k, &f), "flow");
	ASSERT_TRUE(!(f.dir[0].flags & MTS_F_DF), "no DF yet");
	ASSERT_TRUE(egress_udp4(1300, true), "DF datagram");
	ASSERT_TRUE(get_flow(&k, &f), "flow");
	ASSERT_TRUE(f.dir[0].flags & MTS_F_DF, "DF noted past the memo");
	return true;
}

/* A frag-needed for the tunnel's flow; then every datagram still above its
 * MTU after the grace is counted, however many come in a row. */
static bool test_udp_over_ptb_counted_past_memo(void)
{
	struct mts_flow_key k = key4(CLIENT4, 51820, SERVER4, 51821, IPPROTO_UDP);
	struct ptb4_pkt ptb;
	struct mts_flow f;
	size_t len;

	ASSERT_TRUE(egress_udp4(1400, true) && egress_udp4(1400, true), "datagrams");
	len = ptb4(&ptb, 1400, 0);
	ptb.ip.daddr = CLIENT4;
	ptb.qip.protocol = IPPROTO_UDP;
	ptb.qip.saddr = CLIENT4;
	ptb.qip.daddr = SERVER4;
	ptb.qtcp.source = bpf_htons(51820);
	ptb.qtcp.dest = bpf_htons(51821);
	ip4_csum(&ptb.qip);
	ip4_csum(&ptb.ip);
	INGRESS(&ptb, len);
	advance_ms(250);
	for (int i = 0; i < 5; i++)
		ASSERT_TRUE(egress_udp4(1400, true), "datagram above the MTU");
	ASSERT_TRUE(get_flow(&k, &f), "flow");
	ASSERT_EQ(f.dir[0].ptb_mtu, 1400, "ptb_mtu");
	ASSERT_EQ(f.dir[0].over_ptb, 5, "each datagram above the MTU counted");
	return true;
}

static bool test_udp_small_datagram_not_tracked(void)
{
	struct {
		struct ethhdr eth;
		struct iphdr ip;
		struct udphdr udp;
		__u8 data[100];
	} __packed pkt = {
		.eth = eth_hdr(ETH_P_IP),
		.ip = ip4_hdr(IPPROTO_UDP, CLIENT4, SERVER4, LEN_FROM(pkt, ip)),
		.udp = { .source = bpf_htons(5353), .dest = bpf_htons(53),
			 .len = bpf_htons(LEN_FROM(pkt, udp)) },
	};
	struct mts_counters c;

	ip4_csum(&pkt.ip);
	EGRESS(&pkt, sizeof(pkt));
	ASSERT_TRUE(read_counters(0, EG, &c), "read counters");
	ASSERT_CNT(&c, UDP, 1);
	ASSERT_CNT(&c, FLOW_NEW, 0);
	ASSERT_EQ(count_flows(), 0, "flows");
	return true;
}

static bool test_arp_counted_as_non_ip(void)
{
	struct {
		struct ethhdr eth;
		struct arp_ipv4 arp;
	} __packed pkt = {
		.eth = eth_hdr(ETH_P_ARP),
		.arp = {
			.hdr = { .ar_hrd = bpf_htons(ARPHRD_ETHER), .ar_pro = bpf_htons(ETH_P_IP),
				 .ar_hln = ETH_ALEN, .ar_pln = 4, .ar_op = bpf_htons(ARPOP_REQUEST) },
			.sha = { 0x02, 0x00, 0x5e, 0x00, 0x00, 0x01 },
			.spa = CLIENT4,
			.tpa = SERVER4,
		},
	};

	INGRESS(&pkt, sizeof(pkt));
	return expect_gave_up(0, IN, MTS_C_NON_IP);
}

static bool test_ethernet_padding_not_counted_as_payload(void)
{
	struct {
		struct ethhdr eth;
		struct iphdr ip;
		struct tcphdr tcp;
		__u8 data[1];
		__u8 pad[5];		/* to the 60-byte Ethernet minimum */
	} __packed pkt = {
		.eth = eth_hdr(ETH_P_IP),
		.ip = ip4_hdr(IPPROTO_TCP, SERVER4, CLIENT4, LEN_FROM(pkt, ip) - 5),
		.tcp = tcp_hdr(SERVER_PORT, CLIENT_PORT, SEQ0, 1, TH_ACK | TH_PSH, 0),
		.data = { 'x' },
	};
	struct mts_flow_key k = conn4();
	struct mts_flow f;

	_Static_assert(sizeof(pkt) == 60, "minimum Ethernet frame");
	ip4_csum(&pkt.ip);
	EGRESS(&pkt, sizeof(pkt));
	ASSERT_TRUE(get_flow(&k, &f), "flow");
	ASSERT_EQ(f.dir[1].seg_max, 41, "seg_max from tot_len, not the frame");
	ASSERT_EQ(f.dir[1].snd_nxt, SEQ0 + 1, "snd_nxt: one payload byte");
	return true;
}

/*
 * L3 device: no Ethernet header, the protocol comes from skb->protocol.
 * BPF_PROG_TEST_RUN takes skb->protocol from bytes 12-13 of the packet,
 * which are the first two bytes of an IPv4 saddr: 8.0.x.x spells ETH_P_IP,
 * so the tunnel addresses are 8.0.0.0/24. In IPv6 they are saddr bytes
 * 4-5: 2001:db8:86dd::/48 spells ETH_P_IPV6.
 */
#define TUN_LOCAL4	IP4(8, 0, 0, 1)
#define TUN_PEER4	IP4(8, 0, 0, 2)
#define TUN_ROUTER4	IP4(8, 0, 0, 254)

static const struct in6_addr TUN_LOCAL6 = {
	.s6_addr = { 0x20, 0x01, 0x0d, 0xb8, 0x86, 0xdd, [15] = 2 } };
static const struct in6_addr TUN_PEER6 = {
	.s6_addr = { 0x20, 0x01, 0x0d, 0xb8, 0x86, 0xdd, [15] = 1 } };

struct l3_tcp4_pkt {
	struct iphdr ip;
	struct tcphdr tcp;
	__u8 data[1000];
} __packed;

static size_t l3_tun_data4(struct l3_tcp4_pkt *p)
{
	*p = (struct l3_tcp4_pkt){
		.ip = ip4_hdr(IPPROTO_TCP, TUN_LOCAL4, TUN_PEER4, sizeof(*p)),
		.tcp = tcp_hdr(SERVER_PORT, CLIENT_PORT, SEQ0, 1, TH_ACK | TH_PSH, 0),
	};
	ip4_csum(&p->ip);
	return sizeof(*p);
}

static bool test_l3_ipv4_tcp_parsed(void)
{
	struct l3_tcp4_pkt pkt;
	size_t len = l3_tun_data4(&pkt);
	struct mts_flow_key k = key4(TUN_LOCAL4, SERVER_PORT, TUN_PEER4, CLIENT_PORT, IPPROTO_TCP);
	struct mts_counters c;

	ASSERT_TRUE(run(prog_l3_eg, &pkt, len), "L3 egress run");
	if (!expect_tcp_data(1, MTS_C_IPV4, &k, 0, len))
		return false;
	ASSERT_TRUE(read_counters(0, EG, &c), "read slot 0 counters");
	ASSERT_CNT(&c, PKTS, 0);
	return true;
}

/* One program for every interface: an L3 one is told apart by its ifslot
 * (slot and framing), as the loader registers it before attaching. */
static bool test_live_program_takes_framing_and_slot_from_ifslots(void)
{
	struct l3_tcp4_pkt pkt;
	size_t len = l3_tun_data4(&pkt);
	struct mts_flow_key k = key4(TUN_LOCAL4, SERVER_PORT, TUN_PEER4, CLIENT_PORT, IPPROTO_TCP);
	bool ok;

	ASSERT_TRUE(!set_lo_slot(5, true), "register loopback as an L3 interface in slot 5");
	ok = run(prog_eg, &pkt, len) && expect_tcp_data(5, MTS_C_IPV4, &k, 0, len);
	set_lo_slot(0, false);
	return ok;
}

/* An interface the programs were not told of: its packets are counted
 * apart and nothing more (no parse, no flow). */
static bool test_unknown_interface_counted_apart(void)
{
	struct tcp4_pkt pkt;
	size_t len = server_data4(&pkt, SEQ0, 1000);
	struct mts_counters c, c0;
	bool ok;

	ASSERT_TRUE(!bpf_map_update_elem(ifslots_fd, &(__u32){ LO_IFINDEX },
					 &(struct mts_ifslot){ 0 }, BPF_ANY), "clear loopback");
	ok = run(prog_eg, &pkt, len) && read_counters(MTS_SLOT_UNKNOWN, EG, &c) &&
	     read_counters(0, EG, &c0);
	set_lo_slot(0, false);
	ASSERT_TRUE(ok, "run and read counters");
	ASSERT_CNT(&c, PKTS, 1);
	ASSERT_CNT(&c, TCP, 0);
	ASSERT_CNT(&c0, PKTS, 0);
	ASSERT_EQ(count_flows(), 0, "no flow");
	return true;
}

static bool test_l3_ipv6_tcp_parsed(void)
{
	struct {
		struct ipv6hdr ip6;
		struct tcphdr tcp;
		__u8 data[1000];
	} __packed pkt = {
		.ip6 = ip6_hdr(IPPROTO_TCP, &TUN_LOCAL6, &TUN_PEER6, LEN_FROM(pkt, tcp)),
		.tcp = tcp_hdr(SERVER_PORT, CLIENT_PORT, SEQ0, 1, TH_ACK | TH_PSH, 0),
	};
	/* The local end is the higher address here: its data is dir[1]. */
	struct mts_flow_key k = key6(&TUN_PEER6, CLIENT_PORT, &TUN_LOCAL6, SERVER_PORT, IPPROTO_TCP);

	ASSERT_TRUE(run(prog_l3_eg, &pkt, sizeof(pkt)), "L3 egress run");
	return expect_tcp_data(1, MTS_C_IPV6, &k, 1, sizeof(pkt));
}

static bool test_l3_frag_needed_matches_flow(void)
{
	struct l3_tcp4_pkt data;
	struct {
		struct iphdr ip;
		struct icmphdr icmp;
		struct iphdr qip;
		struct tcphdr qtcp;
	} __packed ptb = {
		.ip = ip4_hdr(IPPROTO_ICMP, TUN_ROUTER4, TUN_LOCAL4, sizeof(ptb)),
		.icmp = { .type = ICMP_DEST_UNREACH, .code = ICMP_FRAG_NEEDED,
			  .un.frag.mtu = bpf_htons(1280) },
		.qip = ip4_hdr(IPPROTO_TCP, TUN_LOCAL4, TUN_PEER4, sizeof(data)),
		.qtcp = tcp_hdr(SERVER_PORT, CLIENT_PORT, SEQ0, 1, TH_ACK | TH_PSH, 0),
	};
	struct mts_flow_key k = key4(TUN_LOCAL4, SERVER_PORT, TUN_PEER4, CLIENT_PORT, IPPROTO_TCP);
	struct mts_counters c;
	struct mts_flow f;
	size_t len = l3_tun_data4(&data);

	ip4_csum(&ptb.qip);
	ip4_csum(&ptb.ip);
	ASSERT_TRUE(run(prog_l3_eg, &data, len), "L3 egress run");
	ASSERT_TRUE(run(prog_l3_in, &ptb, sizeof(ptb)), "L3 ingress run");
	ASSERT_TRUE(read_counters(1, IN, &c), "read slot 1 ingress counters");
	ASSERT_CNT(&c, ICMP, 1);
	ASSERT_CNT(&c, PTB_RX, 1);
	ASSERT_CNT(&c, PTB_NOFLOW, 0);
	ASSERT_TRUE(get_flow(&k, &f), "flow");
	ASSERT_EQ(f.dir[0].ptb_rx, 1, "local sender ptb_rx");
	ASSERT_EQ(f.dir[0].ptb_mtu, 1280, "local sender ptb_mtu");
	ASSERT_TRUE(dir_is_empty(&f.dir[1]), "peer direction untouched");
	return true;
}

/* ------------------------------------------------------------ flows */

static bool test_egress_data_creates_flow_record(void)
{
	struct tcp4_pkt pkt;
	size_t len = server_data4(&pkt, SEQ0, MSS);
	struct mts_flow_key k = conn4();
	struct mts_counters c;
	struct mts_flow f;
	const struct mts_dir *d = &f.dir[1];

	EGRESS(&pkt, len);
	ASSERT_TRUE(read_counters(0, EG, &c), "read counters");
	ASSERT_CNT(&c, BYTES, len);
	ASSERT_EQ(count_flows(), 1, "flows");
	ASSERT_TRUE(get_flow(&k, &f), "flow");
	ASSERT_EQ(f.t_first, TICKS(T0_NS), "t_first");
	ASSERT_TRUE(f.seen != 0, "seen stamped");
	ASSERT_EQ(f.ifindex, LO_IFINDEX, "ifindex");
	ASSERT_EQ(d->seg_max, FULL4, "seg_max");
	ASSERT_EQ(d->snd_nxt, SEQ0 + MSS, "snd_nxt");
	ASSERT_EQ(d->flags, MTS_F_SND | MTS_F_DF | MTS_F_BIG | MTS_F_PROBE, "flags");
	ASSERT_EQ(d->probe_seq, SEQ0, "probe_seq");
	ASSERT_EQ(d->probe_size, FULL4, "probe_size");
	ASSERT_EQ(d->probe_plen, MSS, "probe_plen");
	ASSERT_EQ(d->deliv_max, 0, "deliv_max");
	ASSERT_TRUE(dir_is_empty(&f.dir[0]), "client direction untouched");
	return true;
}

static bool test_both_directions_share_canonical_record(void)
{
	struct tcp4_pkt pkt;
	struct mts_flow_key k = conn4();
	struct mts_flow f;
	size_t len;

	len = server_data4(&pkt, SEQ0, MSS);		/* higher end sends */
	EGRESS(&pkt, len);
	len = tcp4(&pkt, CLIENT4, CLIENT_PORT, SERVER4, SERVER_PORT, CLIENT_ISN + 1,
		   SEQ0 + MSS, TH_ACK | TH_PSH, 100);	/* lower end sends */
	EGRESS(&pkt, len);
	ASSERT_EQ(count_flows(), 1, "one record for both directions");
	ASSERT_TRUE(get_flow(&k, &f), "flow");
	ASSERT_EQ(f.dir[1].seg_max, FULL4, "server data in dir[1]");
	ASSERT_EQ(f.dir[0].seg_max, 140, "client data in dir[0]");
	ASSERT_EQ(f.dir[0].snd_nxt, CLIENT_ISN + 1 + 100, "client snd_nxt");
	return true;
}

static bool test_same_address_ends_ordered_by_port(void)
{
	const __be32 lo = IP4(127, 0, 0, 1);
	struct tcp4_pkt pkt;
	size_t len = tcp4(&pkt, lo, 50000, lo, 8080, SEQ0, 1, TH_ACK | TH_PSH, 100);
	struct mts_flow_key k = key4(lo, 8080, lo, 50000, IPPROTO_TCP);
	struct mts_flow f;

	EGRESS(&pkt, len);
	ASSERT_TRUE(get_flow(&k, &f), "flow keyed (8080, 50000)");
	ASSERT_EQ(f.dir[1].seg_max, 140, "sender (port 50000) is dir[1]");
	ASSERT_TRUE(dir_is_empty(&f.dir[0]), "dir[0] untouched");
	return true;
}

static bool test_pure_ack_at_egress_creates_no_flow(void)
{
	struct tcp4_pkt pkt;
	size_t len = client_ack4(&pkt, SEQ0);
	struct mts_counters c;

	EGRESS(&pkt, len);
	ASSERT_TRUE(read_counters(0, EG, &c), "read counters");
	ASSERT_CNT(&c, TCP, 1);
	ASSERT_CNT(&c, FLOW_NEW, 0);
	ASSERT_EQ(count_flows(), 0, "flows");
	return true;
}

static bool test_gso_skb_counted_per_segment(void)
{
	/* The largest GSO skb BPF_PROG_TEST_RUN takes: two full segments. */
	enum { SEGS = 2 };
	struct {
		struct ethhdr eth;
		struct iphdr ip;
		struct tcphdr tcp;
		struct tcp_ts_opt ts;
		__u8 data[SEGS * MSS_TS];
	} __packed pkt = {
		.eth = eth_hdr(ETH_P_IP),
		.ip = ip4_hdr(IPPROTO_TCP, SERVER4, CLIENT4, LEN_FROM(pkt, ip)),
		.tcp = tcp_hdr(SERVER_PORT, CLIENT_PORT, SEQ0, 1, TH_ACK | TH_PSH, sizeof(pkt.ts)),
		.ts = ts_opt(),
	};
	struct __sk_buff ctx = { .gso_segs = SEGS, .gso_size = MSS_TS };
	struct mts_flow_key k = conn4();
	struct mts_counters c;
	struct mts_flow f;

	ip4_csum(&pkt.ip);
	ASSERT_TRUE(run_ctx(prog_eg, &pkt, sizeof(pkt), &ctx), "egress run");
	ASSERT_TRUE(read_counters(0, EG, &c), "read counters");
	ASSERT_CNT(&c, GSO, 1);
	ASSERT_CNT(&c, TCP, 1);
	ASSERT_CNT(&c, DF_OVERSIZE, 0);
	ASSERT_TRUE(get_flow(&k, &f), "flow");
	ASSERT_EQ(f.dir[1].seg_max, FULL4, "seg_max = one wire segment, not the skb");
	ASSERT_EQ(f.dir[1].probe_size, FULL4, "probe_size = one wire segment");
	ASSERT_EQ(f.dir[1].probe_plen, MSS_TS, "probe_plen = gso_size");
	ASSERT_EQ(f.dir[1].snd_nxt, SEQ0 + SEGS * MSS_TS, "snd_nxt past every segment");
	ASSERT_EQ(f.dir[1].oversize, 0, "never oversize");
	return true;
}

/* Watching began mid-connection (maybe mid-stall): a flow first seen with
 * a large DF data segment is marked joined and userspace is told at once,
 * since the next resend may come after minutes of backoff. */
static bool test_flow_first_seen_with_large_data_is_joined_and_told(void)
{
	struct tcp4_pkt pkt;
	size_t len = server_data4(&pkt, SEQ0, MSS);
	struct mts_flow_key k = conn4();
	struct mts_flow f;

	EGRESS(&pkt, len);
	ASSERT_TRUE(get_flow(&k, &f), "flow");
	ASSERT_EQ(f.dir[1].xflags, MTS_X_JOINED, "joined");
	ASSERT_EQ(f.dir[0].xflags, 0, "the other end: nothing seen of it");
	ASSERT_EQ(read_events(), 1, "events");
	ASSERT_EQ(events[0].type, MTS_EV_JOINED, "event type");
	ASSERT_EQ(events[0].dir, 1, "event dir");
	ASSERT_EQ(events[0].size, FULL4, "event size");
	return true;
}

static bool test_flow_first_seen_with_small_data_is_joined_silently(void)
{
	struct tcp4_pkt pkt;
	size_t len = server_data4(&pkt, SEQ0, 100);
	struct mts_flow_key k = conn4();
	struct mts_flow f;

	EGRESS(&pkt, len);
	ASSERT_TRUE(get_flow(&k, &f), "flow");
	ASSERT_EQ(f.dir[1].xflags, MTS_X_JOINED, "joined");
	ASSERT_EQ(read_events(), 0, "no event: no wall holds a small segment");
	return true;
}

static bool test_flow_born_with_syn_is_not_joined(void)
{
	struct tcp4_pkt pkt;
	struct mts_flow_key k = conn4();
	struct mts_flow f;
	size_t len;

	len = tcp4(&pkt, CLIENT4, CLIENT_PORT, SERVER4, SERVER_PORT, CLIENT_ISN, 0, TH_SYN, 0);
	EGRESS(&pkt, len);
	len = tcp4(&pkt, CLIENT4, CLIENT_PORT, SERVER4, SERVER_PORT, CLIENT_ISN + 1, 0,
		   TH_ACK, MSS);
	EGRESS(&pkt, len);
	ASSERT_TRUE(get_flow(&k, &f), "flow");
	ASSERT_EQ(f.dir[0].xflags, 0, "not joined");
	ASSERT_EQ(read_events(), 0, "no event");
	return true;
}

/* The client's SYN leaves, the server's SYN-ACK arrives (its data starts
 * at SEQ0). */
static bool handshake_from_client(void)
{
	struct tcp4_pkt pkt;
	size_t len;

	len = tcp4(&pkt, CLIENT4, CLIENT_PORT, SERVER4, SERVER_PORT, CLIENT_ISN, 0, TH_SYN, 0);
	EGRESS(&pkt, len);
	len = tcp4(&pkt, SERVER4, SERVER_PORT, CLIENT4, CLIENT_PORT, SEQ0 - 1, CLIENT_ISN + 1,
		   TH_SYN | TH_ACK, 0);
	INGRESS(&pkt, len);
	return true;
}

/* The server is the end that answered the SYN, whichever side of this
 * gateway it is on: a download's request goes to it. */
static bool test_syn_ack_sender_is_the_listener(void)
{
	struct tcp4_pkt pkt;
	struct mts_flow_key k = conn4();
	struct mts_flow f;
	size_t len;

	/* the server behind this gateway: its SYN-ACK leaves */
	len = tcp4(&pkt, SERVER4, SERVER_PORT, CLIENT4, CLIENT_PORT, SEQ0 - 1, CLIENT_ISN + 1,
		   TH_SYN | TH_ACK, 0);
	EGRESS(&pkt, len);
	ASSERT_TRUE(get_flow(&k, &f), "flow");
	ASSERT_EQ(f.dir[1].xflags, MTS_X_LISTENER, "server: the listener");
	ASSERT_EQ(f.dir[0].xflags, 0, "client: not");
	ASSERT_EQ(f.hflags & MTS_H_SYN_IN, 0, "no SYN arrived: no download to wait for");
	/* the server beyond it: the client's SYN leaves, the SYN-ACK arrives */
	if (!reset())
		return false;
	if (!handshake_from_client())
		return false;
	ASSERT_TRUE(get_flow(&k, &f), "flow");
	ASSERT_EQ(f.dir[1].xflags & MTS_X_LISTENER, MTS_X_LISTENER, "server: the listener");
	ASSERT_EQ(f.dir[0].xflags & MTS_X_LISTENER, 0, "client: not");
	ASSERT_EQ(f.hflags & MTS_H_SYN_IN, MTS_H_SYN_IN, "its SYN-ACK arrived: told beside the key");
	return true;
}

/* A RST marks its sender's side gone; a FIN only closes it. */
static bool test_rst_marks_the_connection_gone(void)
{
	struct tcp4_pkt pkt;
	struct mts_flow_key k = conn4();
	struct mts_flow f;
	size_t len;

	if (!handshake_from_client())
		return false;
	len = tcp4(&pkt, CLIENT4, CLIENT_PORT, SERVER4, SERVER_PORT, CLIENT_ISN + 1, SEQ0,
		   TH_FIN | TH_ACK, 0);
	EGRESS(&pkt, len);
	ASSERT_TRUE(get_flow(&k, &f), "flow");
	ASSERT_EQ(f.dir[0].flags & MTS_F_FIN, MTS_F_FIN, "FIN: closed");
	ASSERT_EQ(f.dir[0].xflags & MTS_X_RST, 0, "FIN: not reset");
	len = tcp4(&pkt, CLIENT4, CLIENT_PORT, SERVER4, SERVER_PORT, CLIENT_ISN + 2, 0, TH_RST, 0);
	EGRESS(&pkt, len);
	ASSERT_TRUE(get_flow(&k, &f), "flow");
	ASSERT_EQ(f.dir[0].xflags & MTS_X_RST, MTS_X_RST, "RST: reset");
	ASSERT_EQ(f.dir[1].xflags & MTS_X_RST, 0, "the other end did not");
	/* the server's RST, seen only as it arrives */
	len = tcp4(&pkt, SERVER4, SERVER_PORT, CLIENT4, CLIENT_PORT, SEQ0, 0, TH_RST, 0);
	INGRESS(&pkt, len);
	ASSERT_TRUE(get_flow(&k, &f), "flow");
	ASSERT_EQ(f.dir[1].xflags & MTS_X_RST, MTS_X_RST, "arriving RST: reset");
	return true;
}

/* Every slot the programs fill has its used bit; the walk over the bits
 * finds exactly the used slots, drops the bit of a slot found empty, and a
 * slot filled again has its bit again. */
static int walk_used(void)
{
	int n = 0;

	for (__u32 i = mts_slots_next(slots, used, TEST_FLOWS, 0); i < TEST_FLOWS;
	     i = mts_slots_next(slots, used, TEST_FLOWS, i + 1)) {
		if (!slots[i].key.family)
			return -1;
		n++;
	}
	return n;
}

static bool used_bit(__u32 i)
{
	return used[i / 64] >> (i % 64) & 1;
}

static bool test_used_bits_follow_the_table(void)
{
	static const struct mts_slot empty;
	struct tcp4_pkt pkt;
	__u32 first = TEST_FLOWS, n = 0;
	size_t len;

	for (int c = 0; c < 50; c++) {
		len = tcp4(&pkt, CLIENT4, 40000 + c, SERVER4, SERVER_PORT, CLIENT_ISN, 0, TH_ACK, 100);
		EGRESS(&pkt, len);
	}
	ASSERT_EQ(count_flows(), 50, "a record per connection");
	for (__u32 i = 0; i < TEST_FLOWS; i++) {
		if (!slots[i].key.family)
			continue;
		ASSERT_TRUE(used_bit(i), "each used slot has its bit");
		first = first < i ? first : i;
		n++;
	}
	ASSERT_EQ(n, 50, "the mapped table holds them");
	ASSERT_EQ(walk_used(), 50, "the walk finds every used slot, only those");
	ASSERT_TRUE(!bpf_map_update_elem(flows_fd, &first, &empty, BPF_ANY), "empty one slot");
	ASSERT_TRUE(used_bit(first), "its bit stays until a walk finds it empty");
	ASSERT_EQ(walk_used(), 49, "the walk skips it");
	ASSERT_TRUE(!used_bit(first), "and drops its bit");
	ASSERT_EQ(walk_used(), 49, "the other bits stay");
	for (int c = 0; c < 50; c++) {
		len = tcp4(&pkt, CLIENT4, 40000 + c, SERVER4, SERVER_PORT, CLIENT_ISN + 100, 0,
			   TH_ACK, 100);
		EGRESS(&pkt, len);
	}
	ASSERT_EQ(walk_used(), 50, "the flow back in a slot, with its bit");
	return true;
}

/* A download through a wall before this gateway: after the handshake the
 * server's full-size segments die on the way and a write's small tail
 * arrives past them. The gap is marked, and told. */
static bool download_through_wall(void)
{
	struct tcp4_pkt pkt;
	size_t len;

	if (!handshake_from_client())
		return false;
	advance_ms(2);
	len = server_data4(&pkt, SEQ0 + 5 * MSS, 952);	/* five full ones missing */
	INGRESS(&pkt, len);
	return true;
}

static bool test_arriving_data_past_missing_bytes_opens_gap(void)
{
	struct mts_flow_key k = conn4();
	struct mts_flow f;
	const struct mts_dir *d = &f.dir[1];

	if (!download_through_wall())
		return false;
	ASSERT_TRUE(get_flow(&k, &f), "flow");
	ASSERT_EQ(d->xflags, MTS_X_ARR | MTS_X_GAP | MTS_X_LISTENER, "gap marked");
	ASSERT_EQ(d->gap_seq, SEQ0, "gap starts after the SYN-ACK");
	ASSERT_EQ(d->gap_len, 5 * MSS, "gap length");
	ASSERT_EQ(d->arr_max, 952 + 40, "largest arrived");
	ASSERT_EQ(d->arr_nxt, SEQ0 + 5 * MSS + 952, "arr_nxt");
	ASSERT_EQ(d->t_gap, TICKS(clock_ns), "t_gap");
	ASSERT_EQ(f.in_ifindex, LO_IFINDEX, "in_ifindex");
	ASSERT_EQ(read_events(), 1, "events");
	ASSERT_EQ(events[0].type, MTS_EV_GAP, "event type");
	ASSERT_EQ(events[0].dir, 1, "event dir");
	return true;
}

static bool test_resend_reaching_the_gap_closes_it(void)
{
	struct tcp4_pkt pkt;
	struct mts_flow_key k = conn4();
	struct mts_flow f;
	size_t len;

	if (!download_through_wall())
		return false;
	advance_ms(200);
	len = server_data4(&pkt, SEQ0, MSS);
	INGRESS(&pkt, len);
	ASSERT_TRUE(get_flow(&k, &f), "flow");
	ASSERT_EQ(f.dir[1].xflags, MTS_X_ARR | MTS_X_LISTENER, "gap closed");
	ASSERT_EQ(f.dir[1].arr_max, FULL4, "a full segment arrived");
	return true;
}

static bool test_in_order_arrivals_open_no_gap(void)
{
	struct tcp4_pkt pkt;
	struct mts_flow_key k = conn4();
	struct mts_flow f;
	size_t len;

	if (!handshake_from_client())
		return false;
	for (int i = 0; i < 4; i++) {
		len = server_data4(&pkt, SEQ0 + i * MSS, MSS);
		INGRESS(&pkt, len);
	}
	ASSERT_TRUE(get_flow(&k, &f), "flow");
	ASSERT_EQ(f.dir[1].xflags, MTS_X_ARR | MTS_X_LISTENER, "no gap");
	ASSERT_EQ(f.dir[1].arr_nxt, SEQ0 + 4 * MSS, "arr_nxt");
	ASSERT_EQ(read_events(), 0, "no event");
	return true;
}

static bool test_syn_on_reused_tuple_resets_record(void)
{
	struct tcp4_pkt pkt;
	struct mts_flow_key k = conn4();
	struct mts_flow f;
	size_t len;

	len = server_data4(&pkt, SEQ0, MSS);
	EGRESS(&pkt, len);
	advance_ms(200);
	EGRESS(&pkt, len);				/* a retransmission */
	advance_ms(60000);
	len = tcp4(&pkt, CLIENT4, CLIENT_PORT, SERVER4, SERVER_PORT, CLIENT_ISN, 0, TH_SYN, 0);
	EGRESS(&pkt, len);
	ASSERT_TRUE(get_flow(&k, &f), "flow");
	ASSERT_EQ(f.t_first, TICKS(clock_ns), "t_first restarts");
	ASSERT_TRUE(dir_is_empty(&f.dir[1]), "old server state gone");
	ASSERT_EQ(f.dir[0].snd_nxt, CLIENT_ISN + 1, "snd_nxt = ISN + 1");
	ASSERT_EQ(f.dir[0].flags, MTS_F_SND, "flags");
	return true;
}

/* The server's side: the client's SYN on a reused tuple comes in at ingress
 * and drops the old record, so the new connection starts from nothing. */
static bool test_ingress_syn_on_reused_tuple_drops_record(void)
{
	struct tcp4_pkt pkt;
	struct mts_flow_key k = conn4();
	struct mts_flow f;
	size_t len;

	len = server_data4(&pkt, SEQ0, MSS);
	EGRESS(&pkt, len);
	advance_ms(200);
	EGRESS(&pkt, len);				/* a retransmission */
	ASSERT_TRUE(get_flow(&k, &f), "flow before");
	advance_ms(60000);
	len = tcp4(&pkt, CLIENT4, CLIENT_PORT, SERVER4, SERVER_PORT, CLIENT_ISN, 0, TH_SYN, 0);
	INGRESS(&pkt, len);
	ASSERT_TRUE(!find_flow(&k, &f), "old record gone");
	len = server_data4(&pkt, SEQ0 + 5000, MSS);
	EGRESS(&pkt, len);
	ASSERT_TRUE(get_flow(&k, &f), "new record");
	ASSERT_EQ(f.dir[1].hole_rtx, 0, "no hole carried over");
	ASSERT_EQ(f.dir[1].rtx_large, 0, "no retransmission carried over");
	return true;
}

/* ------------------------------------------------------------ retransmissions */

static bool test_large_retransmission_opens_hole(void)
{
	struct tcp4_pkt pkt;
	size_t len = server_data4(&pkt, SEQ0, MSS);
	struct mts_flow_key k = conn4();
	struct mts_counters c;
	struct mts_flow f;
	__u64 t_rtx;

	EGRESS(&pkt, len);
	advance_ms(200);
	t_rtx = clock_ns;
	EGRESS(&pkt, len);
	advance_ms(400);
	EGRESS(&pkt, len);
	ASSERT_TRUE(read_counters(0, EG, &c), "read counters");
	ASSERT_CNT(&c, RTX_LARGE, 2);
	ASSERT_CNT(&c, RTX_SMALL, 0);
	ASSERT_CNT(&c, EVENTS, 3);		/* joined mid-connection, then the hole twice */
	ASSERT_TRUE(get_flow(&k, &f), "flow");
	ASSERT_EQ(f.dir[1].rtx_large, 2, "rtx_large");
	ASSERT_EQ(f.dir[1].hole_rtx, 2, "hole_rtx");
	ASSERT_EQ(f.dir[1].hole_seq, SEQ0, "hole_seq");
	ASSERT_EQ(f.dir[1].hole_size, FULL4, "hole_size");
	ASSERT_EQ(f.dir[1].t_hole, TICKS(t_rtx), "t_hole = first retransmission");
	ASSERT_EQ(read_events(), 3, "events");
	ASSERT_EQ(events[1].type, MTS_EV_HOLE, "event type");
	ASSERT_EQ(events[1].dir, 1, "event dir");
	ASSERT_EQ(events[1].size, FULL4, "event size");
	ASSERT_TRUE(!memcmp(&events[1].key, &k, sizeof(k)), "event key");
	return true;
}

static bool test_small_retransmission_counted_small(void)
{
	struct tcp4_pkt pkt;
	size_t len = server_data4(&pkt, SEQ0, 100);
	struct mts_flow_key k = conn4();
	struct mts_counters c;
	struct mts_flow f;

	EGRESS(&pkt, len);
	advance_ms(200);
	EGRESS(&pkt, len);
	ASSERT_TRUE(read_counters(0, EG, &c), "read counters");
	ASSERT_CNT(&c, RTX_SMALL, 1);
	ASSERT_CNT(&c, RTX_LARGE, 0);
	ASSERT_TRUE(get_flow(&k, &f), "flow");
	ASSERT_EQ(f.dir[1].rtx_small, 1, "rtx_small");
	ASSERT_EQ(f.dir[1].rtx_large, 0, "rtx_large");
	return true;
}

static bool test_ack_past_hole_clears_it_and_raises_deliv_max(void)
{
	struct tcp4_pkt pkt;
	struct mts_flow_key k = conn4();
	struct mts_counters c;
	struct mts_flow f;
	const struct mts_dir *d = &f.dir[1];
	size_t len;

	len = server_data4(&pkt, SEQ0, MSS);
	EGRESS(&pkt, len);
	advance_ms(200);
	EGRESS(&pkt, len);
	ASSERT_TRUE(get_flow(&k, &f), "flow");
	ASSERT_EQ(d->hole_rtx, 1, "hole open");
	advance_ms(30);
	len = client_ack4(&pkt, SEQ0 + MSS);
	INGRESS(&pkt, len);
	ASSERT_TRUE(read_counters(0, IN, &c), "read ingress counters");
	ASSERT_CNT(&c, TCP, 1);
	ASSERT_CNT(&c, FLOW_NEW, 0);
	ASSERT_TRUE(get_flow(&k, &f), "flow");
	ASSERT_EQ(d->hole_rtx, 0, "hole cleared");
	ASSERT_EQ(d->snd_una, SEQ0 + MSS, "snd_una");
	ASSERT_EQ(d->deliv_max, FULL4, "deliv_max = the delivered segment");
	ASSERT_EQ(d->t_ack, TICKS(clock_ns), "t_ack");
	ASSERT_TRUE(d->flags & MTS_F_ACK, "ACK flag");
	ASSERT_TRUE(!(d->flags & (MTS_F_PROBE | MTS_F_BIG)), "nothing left to prove");
	ASSERT_TRUE(dir_is_empty(&f.dir[0]), "client direction untouched");
	return true;
}

/* Three full segments out, the first retransmitted (a hole at snd_una). */
static bool send_three_and_retransmit_first(void)
{
	struct tcp4_pkt pkt;
	size_t len;

	for (int i = 0; i < 3; i++) {
		len = server_data4(&pkt, SEQ0 + i * MSS, MSS);
		EGRESS(&pkt, len);
	}
	advance_ms(200);
	len = server_data4(&pkt, SEQ0, MSS);
	EGRESS(&pkt, len);
	return true;
}

/* An ACK from the client with timestamps and one SACK block. */
static bool ingress_sack(__u32 ack, __u32 left, __u32 right)
{
	struct {
		struct ethhdr eth;
		struct iphdr ip;
		struct tcphdr tcp;
		struct tcp_ts_opt ts;
		struct tcp_sack1_opt sack;
	} __packed pkt = {
		.eth = eth_hdr(ETH_P_IP),
		.ip = ip4_hdr(IPPROTO_TCP, CLIENT4, SERVER4, LEN_FROM(pkt, ip)),
		.tcp = tcp_hdr(CLIENT_PORT, SERVER_PORT, CLIENT_ISN + 1, ack, TH_ACK,
			       sizeof(pkt.ts) + sizeof(pkt.sack)),
		.ts = ts_opt(),
		.sack = {
			.nop = { TCPOPT_NOP_, TCPOPT_NOP_ },
			.kind = TCPOPT_SACK_,
			.len = 10,
			.left = bpf_htonl(left),
			.right = bpf_htonl(right),
		},
	};

	ip4_csum(&pkt.ip);
	INGRESS(&pkt, sizeof(pkt));
	return true;
}

/* An ACK from the client whose options are the given bytes (a multiple of 4). */
static bool ingress_opts(__u32 ack, const __u8 *opts, size_t len)
{
	struct {
		struct ethhdr eth;
		struct iphdr ip;
		struct tcphdr tcp;
		__u8 opts[40];
	} __packed pkt = {
		.eth = eth_hdr(ETH_P_IP),
		.tcp = tcp_hdr(CLIENT_PORT, SERVER_PORT, CLIENT_ISN + 1, ack, TH_ACK, len),
	};
	size_t size = offsetof(typeof(pkt), opts) + len;

	if (len % 4 || len > sizeof(pkt.opts))
		return false;
	memcpy(pkt.opts, opts, len);
	pkt.ip = ip4_hdr(IPPROTO_TCP, CLIENT4, SERVER4, size - offsetof(typeof(pkt), ip));
	ip4_csum(&pkt.ip);
	INGRESS(&pkt, size);
	return true;
}

#define BE32(v)	(__u8)((v) >> 24), (__u8)((v) >> 16), (__u8)((v) >> 8), (__u8)(v)

/*
 * The SACK option in the layouts the program reads inline (NOP NOP SACK,
 * with and without timestamps before it) and in one it must walk (SACK
 * first, two blocks, timestamps after, EOL padding): each marks the hole.
 */
static bool sack_layout_marks_sack_hole(const __u8 *opts, size_t len)
{
	struct mts_flow_key k = conn4();
	struct mts_flow f;

	ASSERT_TRUE(send_three_and_retransmit_first(), "data");
	ASSERT_TRUE(ingress_opts(SEQ0, opts, len), "SACK");
	ASSERT_TRUE(get_flow(&k, &f), "flow");
	ASSERT_EQ(f.dir[1].snd_una, SEQ0, "snd_una");
	ASSERT_TRUE(f.dir[1].flags & MTS_F_SACK_HOLE, "SACK_HOLE set");
	return true;
}

static bool test_sack_without_timestamps_read(void)
{
	const __u8 o[] = { 1, 1, 5, 10, BE32(SEQ0 + MSS), BE32(SEQ0 + 3 * MSS) };

	return sack_layout_marks_sack_hole(o, sizeof(o));
}

static bool test_sack_three_blocks_after_timestamps_read(void)
{
	const __u8 o[] = { 1, 1, 8, 10, BE32(1), BE32(2), 1, 1, 5, 26,
			   BE32(SEQ0 + 5 * MSS), BE32(SEQ0 + 6 * MSS),
			   BE32(SEQ0 + 3 * MSS), BE32(SEQ0 + 4 * MSS),
			   BE32(SEQ0 + MSS), BE32(SEQ0 + 2 * MSS) };

	return sack_layout_marks_sack_hole(o, sizeof(o));
}

static bool test_sack_in_unusual_layout_walked(void)
{
	const __u8 o[] = { 5, 18, BE32(SEQ0 + 4 * MSS), BE32(SEQ0 + 5 * MSS),
			   BE32(SEQ0 + MSS), BE32(SEQ0 + 3 * MSS),
			   8, 10, BE32(1), BE32(2), 0, 0, 0, 0 };

	return sack_layout_marks_sack_hole(o, sizeof(o));
}

static bool test_sack_above_snd_una_marks_sack_hole(void)
{
	struct mts_flow_key k = conn4();
	struct mts_flow f;
	const struct mts_dir *d = &f.dir[1];

	ASSERT_TRUE(send_three_and_retransmit_first(), "data");
	ASSERT_TRUE(ingress_sack(SEQ0, SEQ0 + MSS, SEQ0 + 3 * MSS), "SACK");
	ASSERT_TRUE(get_flow(&k, &f), "flow");
	ASSERT_EQ(d->snd_una, SEQ0, "snd_una");
	ASSERT_TRUE(d->flags & MTS_F_ACK, "ACK flag");
	ASSERT_TRUE(d->flags & MTS_F_SACK_HOLE, "SACK_HOLE set");
	ASSERT_EQ(d->hole_rtx, 1, "hole still pending");
	return true;
}

static bool test_sack_without_anything_pending_is_not_parsed(void)
{
	struct tcp4_pkt pkt;
	struct mts_flow_key k = conn4();
	struct mts_flow f;
	size_t len;

	len = server_data4(&pkt, SEQ0, MSS);
	EGRESS(&pkt, len);
	len = client_ack4(&pkt, SEQ0 + MSS);		/* full size delivered */
	INGRESS(&pkt, len);
	for (int i = 1; i < 3; i++) {			/* no bigger than delivered */
		len = server_data4(&pkt, SEQ0 + i * MSS, MSS);
		EGRESS(&pkt, len);
	}
	ASSERT_TRUE(get_flow(&k, &f), "flow");
	ASSERT_EQ(f.dir[1].flags & (MTS_F_PROBE | MTS_F_PROBE2 | MTS_F_BIG), 0, "nothing pending");
	ASSERT_TRUE(ingress_sack(SEQ0 + MSS, SEQ0 + 2 * MSS, SEQ0 + 3 * MSS), "SACK");
	ASSERT_TRUE(get_flow(&k, &f), "flow");
	ASSERT_TRUE(!(f.dir[1].flags & MTS_F_SACK_HOLE), "no SACK_HOLE");
	return true;
}

/*
 * The oldest full-size segment is lost and retransmitted (RTO); the SACK
 * that then reports the newer full-size segments proves that size passes
 * ("when the oldest one (the probe) is the one lost, a SACK for this one
 * still proves the size passes", tcp_egress).
 */
static bool test_sack_of_newest_full_segment_raises_deliv_max_during_hole(void)
{
	struct mts_flow_key k = conn4();
	struct mts_flow f;
	const struct mts_dir *d = &f.dir[1];

	ASSERT_TRUE(send_three_and_retransmit_first(), "data");
	ASSERT_TRUE(ingress_sack(SEQ0, SEQ0 + MSS, SEQ0 + 3 * MSS), "SACK");
	ASSERT_TRUE(get_flow(&k, &f), "flow");
	ASSERT_EQ(d->deliv_max, FULL4, "deliv_max");
	ASSERT_TRUE(!(d->flags & MTS_F_BIG), "big segment delivered");
	return true;
}

static bool test_dsack_below_snd_una_marks_no_hole(void)
{
	struct mts_flow_key k = conn4();
	struct mts_flow f;

	ASSERT_TRUE(send_three_and_retransmit_first(), "data");
	/* A D-SACK: the block reports a duplicate below the cumulative ACK. */
	ASSERT_TRUE(ingress_sack(SEQ0 + MSS, SEQ0, SEQ0 + MSS), "D-SACK");
	ASSERT_TRUE(get_flow(&k, &f), "flow");
	ASSERT_EQ(f.dir[1].snd_una, SEQ0 + MSS, "snd_una");
	ASSERT_TRUE(!(f.dir[1].flags & MTS_F_SACK_HOLE), "no SACK_HOLE");
	return true;
}

static bool test_cumulative_ack_clears_sack_hole(void)
{
	struct tcp4_pkt pkt;
	struct mts_flow_key k = conn4();
	struct mts_flow f;
	size_t len;

	ASSERT_TRUE(send_three_and_retransmit_first(), "data");
	ASSERT_TRUE(ingress_sack(SEQ0, SEQ0 + MSS, SEQ0 + 3 * MSS), "SACK");
	len = client_ack4(&pkt, SEQ0 + 3 * MSS);
	INGRESS(&pkt, len);
	ASSERT_TRUE(get_flow(&k, &f), "flow");
	ASSERT_TRUE(!(f.dir[1].flags & MTS_F_SACK_HOLE), "SACK_HOLE cleared");
	ASSERT_EQ(f.dir[1].hole_rtx, 0, "hole cleared");
	ASSERT_EQ(f.dir[1].snd_una, SEQ0 + 3 * MSS, "snd_una");
	return true;
}

/* ------------------------------------------------------------ ICMP PTB */

static bool test_frag_needed_sets_ptb_on_quoted_sender(void)
{
	struct tcp4_pkt data;
	struct ptb4_pkt ptb;
	struct mts_flow_key k = conn4();
	struct mts_counters c;
	struct mts_flow f;
	size_t len;

	len = server_data4(&data, SEQ0, MSS);
	EGRESS(&data, len);
	advance_ms(60);		/* past the per-flow event gap after the joined event */
	len = ptb4(&ptb, 1400, SEQ0);
	INGRESS(&ptb, len);
	ASSERT_TRUE(read_counters(0, IN, &c), "read counters");
	ASSERT_CNT(&c, IPV4, 1);
	ASSERT_CNT(&c, ICMP, 1);
	ASSERT_CNT(&c, PTB_RX, 1);
	ASSERT_CNT(&c, PTB_NOFLOW, 0);
	ASSERT_CNT(&c, FLOW_NEW, 0);
	ASSERT_CNT(&c, EVENTS, 1);
	ASSERT_TRUE(no_other_errors(&c, -1), "no parse errors");
	ASSERT_TRUE(get_flow(&k, &f), "flow");
	ASSERT_EQ(f.dir[1].ptb_rx, 1, "server ptb_rx");
	ASSERT_EQ(f.dir[1].ptb_mtu, 1400, "server ptb_mtu");
	ASSERT_EQ(f.dir[1].t_ptb, TICKS(clock_ns), "t_ptb");
	ASSERT_EQ(f.dir[1].ptb_tx, 0, "ptb_tx");
	ASSERT_TRUE(dir_is_empty(&f.dir[0]), "client direction untouched");
	ASSERT_EQ(read_events(), 2, "events: joined, PTB");
	ASSERT_EQ(events[1].type, MTS_EV_PTB, "event type");
	ASSERT_EQ(events[1].dir, 1, "event dir");
	ASSERT_EQ(events[1].mtu, 1400, "event mtu");
	return true;
}

static bool test_packet_too_big_sets_ptb_on_quoted_sender(void)
{
	struct tcp6_pkt data;
	struct ptb6_pkt ptb = {
		.eth = eth_hdr(ETH_P_IPV6),
		.ip6 = ip6_hdr(IPPROTO_ICMPV6, &ROUTER6, &SERVER6, LEN_FROM(ptb, icmp6)),
		.icmp6 = { .icmp6_type = ICMPV6_PKT_TOOBIG, .icmp6_mtu = bpf_htonl(1280) },
		.qip6 = ip6_hdr(IPPROTO_TCP, &SERVER6, &CLIENT6, FULL4 - sizeof(struct ipv6hdr)),
		.qtcp = tcp_hdr(SERVER_PORT, CLIENT_PORT, SEQ0, 1, TH_ACK | TH_PSH, 0),
	};
	struct mts_flow_key k = conn6();
	struct mts_counters c;
	struct mts_flow f;
	size_t len;

	len = tcp6(&data, &SERVER6, SERVER_PORT, &CLIENT6, CLIENT_PORT, SEQ0, 1,
		   TH_ACK | TH_PSH, FULL4 - sizeof(struct ipv6hdr) - sizeof(struct tcphdr));
	EGRESS(&data, len);
	INGRESS(&ptb, sizeof(ptb));
	ASSERT_TRUE(read_counters(0, IN, &c), "read counters");
	ASSERT_CNT(&c, IPV6, 1);
	ASSERT_CNT(&c, ICMP, 1);
	ASSERT_CNT(&c, PTB_RX, 1);
	ASSERT_CNT(&c, PTB_NOFLOW, 0);
	ASSERT_TRUE(get_flow(&k, &f), "flow");
	ASSERT_EQ(f.dir[1].seg_max, FULL4, "seg_max");
	ASSERT_EQ(f.dir[1].ptb_rx, 1, "server ptb_rx");
	ASSERT_EQ(f.dir[1].ptb_mtu, 1280, "server ptb_mtu");
	ASSERT_TRUE(dir_is_empty(&f.dir[0]), "client direction untouched");
	return true;
}

/* The quote carries an extension header: the fast parser hands it to the
 * full one, which must find the same flow. */
static bool test_packet_too_big_quoting_extension_header_matches(void)
{
	struct tcp6_pkt data;
	struct {
		struct ethhdr eth;
		struct ipv6hdr ip6;
		struct icmp6hdr icmp6;
		struct ipv6hdr qip6;
		struct ip6_opts8 qdst;
		struct tcphdr qtcp;
	} __packed ptb = {
		.eth = eth_hdr(ETH_P_IPV6),
		.ip6 = ip6_hdr(IPPROTO_ICMPV6, &ROUTER6, &SERVER6, LEN_FROM(ptb, icmp6)),
		.icmp6 = { .icmp6_type = ICMPV6_PKT_TOOBIG, .icmp6_mtu = bpf_htonl(1400) },
		.qip6 = ip6_hdr(IPPROTO_DSTOPTS, &SERVER6, &CLIENT6, FULL4 - sizeof(struct ipv6hdr)),
		.qdst = { .hdr.nexthdr = IPPROTO_TCP, .padn = { 1, 4 } },
		.qtcp = tcp_hdr(SERVER_PORT, CLIENT_PORT, SEQ0, 1, TH_ACK | TH_PSH, 0),
	};
	struct mts_flow_key k = conn6();
	struct mts_counters c;
	struct mts_flow f;
	size_t len;

	len = tcp6(&data, &SERVER6, SERVER_PORT, &CLIENT6, CLIENT_PORT, SEQ0, 1,
		   TH_ACK | TH_PSH, FULL4 - sizeof(struct ipv6hdr) - sizeof(struct tcphdr));
	EGRESS(&data, len);
	INGRESS(&ptb, sizeof(ptb));
	ASSERT_TRUE(read_counters(0, IN, &c), "read counters");
	ASSERT_CNT(&c, PTB_RX, 1);
	ASSERT_CNT(&c, PTB_NOFLOW, 0);
	ASSERT_CNT(&c, ERR_QUOTE, 0);
	ASSERT_TRUE(get_flow(&k, &f), "flow");
	ASSERT_EQ(f.dir[1].ptb_rx, 1, "server ptb_rx");
	ASSERT_EQ(f.dir[1].ptb_mtu, 1400, "server ptb_mtu");
	return true;
}

static bool test_ptb_with_truncated_quote_is_counted(void)
{
	struct tcp4_pkt data;
	struct ptb4_pkt ptb;
	struct mts_flow_key k = conn4();
	struct mts_flow f;
	size_t len;

	len = server_data4(&data, SEQ0, MSS);
	EGRESS(&data, len);
	ptb4(&ptb, 1400, SEQ0);
	len = ptb4_cut(&ptb, 12);		/* 12 of the quoted 20-byte IP header */
	INGRESS(&ptb, len);
	if (!expect_gave_up(0, IN, MTS_C_ERR_QUOTE))
		return false;
	ASSERT_TRUE(get_flow(&k, &f), "flow");
	ASSERT_EQ(f.dir[1].ptb_rx, 0, "not matched: ptb_rx");
	ASSERT_EQ(f.dir[1].ptb_mtu, 0, "not matched: ptb_mtu");
	ASSERT_EQ(read_events(), 1, "events: the joined flow's only");
	ASSERT_EQ(events[0].type, MTS_EV_JOINED, "no PTB event");
	return true;
}

static bool test_ptb_with_short_transport_quote_is_counted(void)
{
	struct tcp4_pkt data;
	struct ptb4_pkt ptb;
	struct mts_flow_key k = conn4();
	struct mts_flow f;
	size_t len;

	len = server_data4(&data, SEQ0, MSS);
	EGRESS(&data, len);
	ptb4(&ptb, 1400, SEQ0);
	len = ptb4_cut(&ptb, sizeof(struct iphdr) + 4);	/* ports only, not 8 bytes */
	INGRESS(&ptb, len);
	if (!expect_gave_up(0, IN, MTS_C_ERR_QUOTE))
		return false;
	ASSERT_TRUE(get_flow(&k, &f), "flow");
	ASSERT_EQ(f.dir[1].ptb_rx, 0, "not matched: ptb_rx");
	return true;
}

static bool test_ptb_for_unknown_flow_counts_unmatched(void)
{
	struct ptb4_pkt ptb;
	size_t len = ptb4(&ptb, 1400, SEQ0);
	struct mts_flow_key k = conn4();
	struct mts_counters c;
	struct mts_flow f;

	INGRESS(&ptb, len);
	ASSERT_TRUE(read_counters(0, IN, &c), "read counters");
	ASSERT_CNT(&c, PTB_RX, 1);
	ASSERT_CNT(&c, PTB_NOFLOW, 1);
	ASSERT_CNT(&c, FLOW_NEW, 1);
	/* The record is made so the PTB is remembered when data shows up. */
	ASSERT_TRUE(get_flow(&k, &f), "flow");
	ASSERT_EQ(f.dir[1].ptb_rx, 1, "ptb_rx");
	ASSERT_EQ(f.dir[1].ptb_mtu, 1400, "ptb_mtu");
	ASSERT_EQ(f.dir[1].seg_max, 0, "no data seen");
	return true;
}

/* This box itself sends frag-needed to the client for its upload. */
static bool egress_local_ptb_to_client(const struct __sk_buff *ctx)
{
	struct ptb4_pkt ptb;

	ptb4(&ptb, 1400, CLIENT_ISN + 1);
	ptb.ip.daddr = CLIENT4;
	ptb.qip.saddr = CLIENT4;
	ptb.qip.daddr = SERVER4;
	ptb.qtcp.source = bpf_htons(CLIENT_PORT);
	ptb.qtcp.dest = bpf_htons(SERVER_PORT);
	ip4_csum(&ptb.qip);
	ip4_csum(&ptb.ip);
	ASSERT_TRUE(run_ctx(prog_eg, &ptb, sizeof(ptb), ctx), "egress run");
	return true;
}

static bool test_local_ptb_at_egress_counts_ptb_tx(void)
{
	struct tcp4_pkt data;
	struct __sk_buff ctx = { .ingress_ifindex = 0 };	/* generated here */
	struct mts_flow_key k = conn4();
	struct mts_counters c;
	struct mts_flow f;
	size_t len;

	len = tcp4(&data, CLIENT4, CLIENT_PORT, SERVER4, SERVER_PORT, CLIENT_ISN + 1, SEQ0,
		   TH_ACK | TH_PSH, MSS);
	EGRESS(&data, len);
	ASSERT_TRUE(egress_local_ptb_to_client(&ctx), "PTB");
	ASSERT_TRUE(read_counters(0, EG, &c), "read counters");
	ASSERT_CNT(&c, ICMP, 1);
	ASSERT_CNT(&c, PTB_TX, 1);
	ASSERT_CNT(&c, PTB_RX, 0);
	ASSERT_CNT(&c, PTB_FWD, 0);
	ASSERT_CNT(&c, PTB_NOFLOW, 0);
	ASSERT_TRUE(get_flow(&k, &f), "flow");
	ASSERT_EQ(f.dir[0].ptb_tx, 1, "client ptb_tx");
	ASSERT_EQ(f.dir[0].ptb_rx, 0, "client ptb_rx");
	ASSERT_EQ(f.dir[0].ptb_mtu, 1400, "client ptb_mtu");
	ASSERT_TRUE(dir_is_empty(&f.dir[1]), "server direction untouched");
	return true;
}

static bool test_forwarded_ptb_at_egress_not_counted_as_tx(void)
{
	struct __sk_buff ctx = { .ingress_ifindex = 2 };	/* came in elsewhere */
	struct mts_counters c;

	ASSERT_TRUE(egress_local_ptb_to_client(&ctx), "PTB");
	ASSERT_TRUE(read_counters(0, EG, &c), "read counters");
	ASSERT_CNT(&c, ICMP, 1);
	ASSERT_CNT(&c, PTB_FWD, 1);
	ASSERT_CNT(&c, PTB_TX, 0);
	ASSERT_CNT(&c, FLOW_NEW, 0);
	ASSERT_EQ(count_flows(), 0, "flows");
	return true;
}

static bool test_port_unreachable_is_not_ptb(void)
{
	struct tcp4_pkt data;
	struct ptb4_pkt icmp;
	struct mts_flow_key k = conn4();
	struct mts_counters c;
	struct mts_flow f;
	size_t len;

	len = server_data4(&data, SEQ0, MSS);
	EGRESS(&data, len);
	len = ptb4(&icmp, 0, SEQ0);
	icmp.icmp.code = ICMP_PORT_UNREACH;
	INGRESS(&icmp, len);
	ASSERT_TRUE(read_counters(0, IN, &c), "read counters");
	ASSERT_CNT(&c, ICMP, 1);
	ASSERT_CNT(&c, PTB_RX, 0);
	ASSERT_TRUE(no_other_errors(&c, -1), "no parse errors");
	ASSERT_TRUE(get_flow(&k, &f), "flow");
	ASSERT_EQ(f.dir[1].ptb_rx, 0, "ptb_rx");
	return true;
}

static bool test_segments_above_ptb_after_grace_count_over_ptb(void)
{
	struct tcp4_pkt data;
	struct ptb4_pkt ptb;
	struct mts_flow_key k = conn4();
	struct mts_flow f;
	size_t len;

	len = server_data4(&data, SEQ0, MSS);
	EGRESS(&data, len);
	len = ptb4(&ptb, 1400, SEQ0);
	INGRESS(&ptb, len);
	advance_ms(50);					/* within the grace */
	len = server_data4(&data, SEQ0 + MSS, MSS);
	EGRESS(&data, len);
	ASSERT_TRUE(get_flow(&k, &f), "flow");
	ASSERT_EQ(f.dir[1].over_ptb, 0, "within grace");
	advance_ms(250);
	len = server_data4(&data, SEQ0 + 2 * MSS, MSS);
	EGRESS(&data, len);
	len = server_data4(&data, SEQ0 + 3 * MSS, 1400 - 40);	/* fits the PTB */
	EGRESS(&data, len);
	ASSERT_TRUE(get_flow(&k, &f), "flow");
	ASSERT_EQ(f.dir[1].over_ptb, 1, "one segment above ptb_mtu after the grace");
	return true;
}

/* ------------------------------------------------------------ malformed */

static bool test_truncated_vlan_tag_counted_as_l2(void)
{
	struct {
		struct ethhdr eth;
		__be16 tci;		/* the tag ends here */
	} __packed pkt = {
		.eth = eth_hdr(ETH_P_8021Q),
		.tci = bpf_htons(100),
	};

	INGRESS(&pkt, sizeof(pkt));
	return expect_gave_up(0, IN, MTS_C_ERR_L2);
}

static bool test_truncated_ipv4_header_counted(void)
{
	struct {
		struct ethhdr eth;
		struct vlan_hdr vlan;
		__u8 ip[10];		/* half an IPv4 header */
	} __packed pkt = {
		.eth = eth_hdr(ETH_P_8021Q),
		.vlan = { .h_vlan_TCI = bpf_htons(100), .h_vlan_encapsulated_proto = bpf_htons(ETH_P_IP) },
		.ip = { 0x45, 0x00, 0x05, 0xdc },
	};

	INGRESS(&pkt, sizeof(pkt));
	return expect_gave_up(0, IN, MTS_C_ERR_IP);
}

static bool test_truncated_ipv4_options_counted(void)
{
	struct {
		struct ethhdr eth;
		struct iphdr ip;	/* ihl says 60 bytes: 40 of options are missing */
	} __packed pkt = {
		.eth = eth_hdr(ETH_P_IP),
		.ip = ip4_hdr(IPPROTO_TCP, CLIENT4, SERVER4, 100),
	};

	/* No checksum: it would cover 60 bytes of a 20-byte header (and the
	 * parser, like the stack's tc hooks, never checks one). */
	pkt.ip.ihl = 15;
	INGRESS(&pkt, sizeof(pkt));
	return expect_gave_up(0, IN, MTS_C_ERR_IP);
}

static bool test_ipv4_ihl_below_5_counted(void)
{
	struct {
		struct ethhdr eth;
		struct iphdr ip;
		struct tcphdr tcp;
	} __packed pkt = {
		.eth = eth_hdr(ETH_P_IP),
		.ip = ip4_hdr(IPPROTO_TCP, CLIENT4, SERVER4, LEN_FROM(pkt, ip)),
		.tcp = tcp_hdr(CLIENT_PORT, SERVER_PORT, 1, 1, TH_ACK, 0),
	};

	pkt.ip.ihl = 4;
	ip4_csum(&pkt.ip);
	INGRESS(&pkt, sizeof(pkt));
	return expect_gave_up(0, IN, MTS_C_ERR_IP_HDR);
}

static bool test_ipv4_total_length_below_headers_counted(void)
{
	struct {
		struct ethhdr eth;
		struct iphdr ip;
		struct tcphdr tcp;
		__u8 data[100];
	} __packed pkt = {
		.eth = eth_hdr(ETH_P_IP),
		.ip = ip4_hdr(IPPROTO_TCP, SERVER4, CLIENT4, 30),	/* < 20 + 20 */
		.tcp = tcp_hdr(SERVER_PORT, CLIENT_PORT, SEQ0, 1, TH_ACK | TH_PSH, 0),
	};

	ip4_csum(&pkt.ip);
	EGRESS(&pkt, sizeof(pkt));
	if (!expect_gave_up(0, EG, MTS_C_ERR_IP_HDR))
		return false;
	ASSERT_EQ(count_flows(), 0, "flows");
	return true;
}

static bool test_truncated_ipv6_header_counted(void)
{
	struct {
		struct ethhdr eth;
		struct vlan_hdr vlan;
		__u8 ip6[30];		/* of 40 */
	} __packed pkt = {
		.eth = eth_hdr(ETH_P_8021Q),
		.vlan = { .h_vlan_TCI = bpf_htons(100), .h_vlan_encapsulated_proto = bpf_htons(ETH_P_IPV6) },
		.ip6 = { 0x60 },
	};

	INGRESS(&pkt, sizeof(pkt));
	return expect_gave_up(0, IN, MTS_C_ERR_IP);
}

static bool test_truncated_ipv6_extension_header_counted(void)
{
	struct {
		struct ethhdr eth;
		struct ipv6hdr ip6;
		struct ip6_opts8 hop;	/* says 16 bytes, has 8 */
	} __packed pkt = {
		.eth = eth_hdr(ETH_P_IPV6),
		.ip6 = ip6_hdr(IPPROTO_HOPOPTS, &CLIENT6, &SERVER6, 40),
		.hop = { .hdr = { .nexthdr = IPPROTO_TCP, .hdrlen = 1 }, .padn = { 1, 4 } },
	};

	INGRESS(&pkt, sizeof(pkt));
	return expect_gave_up(0, IN, MTS_C_ERR_IP);
}

static bool test_truncated_tcp_header_counted(void)
{
	struct {
		struct ethhdr eth;
		struct iphdr ip;
		__u8 tcp[10];		/* of 20 */
	} __packed pkt = {
		.eth = eth_hdr(ETH_P_IP),
		.ip = ip4_hdr(IPPROTO_TCP, CLIENT4, SERVER4, LEN_FROM(pkt, ip)),
		.tcp = { 0xc3, 0x50, 0x01, 0xbb },
	};

	ip4_csum(&pkt.ip);
	INGRESS(&pkt, sizeof(pkt));
	return expect_gave_up(0, IN, MTS_C_ERR_TCP);
}

static bool test_tcp_doff_below_5_counted(void)
{
	struct {
		struct ethhdr eth;
		struct iphdr ip;
		struct tcphdr tcp;
	} __packed pkt = {
		.eth = eth_hdr(ETH_P_IP),
		.ip = ip4_hdr(IPPROTO_TCP, CLIENT4, SERVER4, LEN_FROM(pkt, ip)),
		.tcp = tcp_hdr(CLIENT_PORT, SERVER_PORT, 1, 1, TH_ACK, 0),
	};

	pkt.tcp.doff = 4;
	ip4_csum(&pkt.ip);
	INGRESS(&pkt, sizeof(pkt));
	return expect_gave_up(0, IN, MTS_C_ERR_TCP_HDR);
}

static bool test_truncated_tcp_options_counted(void)
{
	struct {
		struct ethhdr eth;
		struct iphdr ip;
		struct tcphdr tcp;
		struct tcp_ts_opt ts;	/* doff says 40 bytes of options */
	} __packed pkt = {
		.eth = eth_hdr(ETH_P_IP),
		.ip = ip4_hdr(IPPROTO_TCP, CLIENT4, SERVER4, LEN_FROM(pkt, ip)),
		.tcp = tcp_hdr(CLIENT_PORT, SERVER_PORT, 1, 1, TH_ACK, 40),
		.ts = ts_opt(),
	};

	ip4_csum(&pkt.ip);
	INGRESS(&pkt, sizeof(pkt));
	return expect_gave_up(0, IN, MTS_C_ERR_TCP);
}

static bool test_truncated_udp_header_counted(void)
{
	struct {
		struct ethhdr eth;
		struct iphdr ip;
		__u8 udp[4];		/* of 8 */
	} __packed pkt = {
		.eth = eth_hdr(ETH_P_IP),
		.ip = ip4_hdr(IPPROTO_UDP, CLIENT4, SERVER4, LEN_FROM(pkt, ip)),
		.udp = { 0x13, 0x88, 0x00, 0x35 },
	};

	ip4_csum(&pkt.ip);
	INGRESS(&pkt, sizeof(pkt));
	return expect_gave_up(0, IN, MTS_C_ERR_UDP);
}

static bool test_truncated_icmp_header_counted(void)
{
	struct {
		struct ethhdr eth;
		struct iphdr ip;
		__u8 icmp[4];		/* of 8 */
	} __packed pkt = {
		.eth = eth_hdr(ETH_P_IP),
		.ip = ip4_hdr(IPPROTO_ICMP, ROUTER4, SERVER4, LEN_FROM(pkt, ip)),
		.icmp = { ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED },
	};

	ip4_csum(&pkt.ip);
	INGRESS(&pkt, sizeof(pkt));
	return expect_gave_up(0, IN, MTS_C_ERR_ICMP);
}

static bool test_truncated_icmpv6_header_counted(void)
{
	struct {
		struct ethhdr eth;
		struct ipv6hdr ip6;
		__u8 icmp6[4];		/* of 8 */
	} __packed pkt = {
		.eth = eth_hdr(ETH_P_IPV6),
		.ip6 = ip6_hdr(IPPROTO_ICMPV6, &ROUTER6, &SERVER6, 4),
		.icmp6 = { ICMPV6_PKT_TOOBIG },
	};

	INGRESS(&pkt, sizeof(pkt));
	return expect_gave_up(0, IN, MTS_C_ERR_ICMP);
}

/* ------------------------------------------------------------ setup */

static int print_libbpf(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, args);
}

/* Both configurations share one set of maps, as the loader builds them. */
static int load(void)
{
	int err;

	skel_eth = flow_bpf__open();
	skel_l3 = flow_bpf__open();
	if (!skel_eth || !skel_l3)
		return -errno;
	/* The Ethernet programs as a live run has them: slot and framing
	 * from ifslots (loopback's, where test runs happen); the L3 ones
	 * fixed, as a replay has them. */
	skel_eth->rodata->cfg_ifslot = -1;
	skel_eth->rodata->cfg_replay = 1;
	skel_l3->rodata->cfg_ifslot = 1;
	skel_l3->rodata->cfg_l3 = 1;
	skel_l3->rodata->cfg_replay = 1;
	skel_eth->rodata->cfg_set_bits = mts_set_bits(TEST_FLOWS);
	skel_l3->rodata->cfg_set_bits = mts_set_bits(TEST_FLOWS);
	err = bpf_map__set_max_entries(skel_eth->maps.flows, TEST_FLOWS);
	err = err ?: bpf_map__set_max_entries(skel_eth->maps.used, MTS_USED_WORDS(TEST_FLOWS));
	err = err ?: flow_bpf__load(skel_eth);
	err = err ?: bpf_map__reuse_fd(skel_l3->maps.used, bpf_map__fd(skel_eth->maps.used));
	err = err ?: bpf_map__reuse_fd(skel_l3->maps.flows, bpf_map__fd(skel_eth->maps.flows));
	err = err ?: bpf_map__reuse_fd(skel_l3->maps.counters, bpf_map__fd(skel_eth->maps.counters));
	err = err ?: bpf_map__reuse_fd(skel_l3->maps.events, bpf_map__fd(skel_eth->maps.events));
	err = err ?: flow_bpf__load(skel_l3);
	if (err)
		return err;
	ifslots_fd = bpf_map__fd(skel_eth->maps.ifslots);
	if (set_lo_slot(0, false))
		return -errno;
	prog_in = bpf_program__fd(skel_eth->progs.mts_ingress);
	prog_eg = bpf_program__fd(skel_eth->progs.mts_egress);
	prog_l3_in = bpf_program__fd(skel_l3->progs.mts_ingress);
	prog_l3_eg = bpf_program__fd(skel_l3->progs.mts_egress);
	flows_fd = bpf_map__fd(skel_eth->maps.flows);
	slots = mmap(NULL, TEST_FLOWS * sizeof(*slots), PROT_READ, MAP_SHARED, flows_fd, 0);
	used = mmap(NULL, MTS_USED_WORDS(TEST_FLOWS) * sizeof(*used), PROT_READ | PROT_WRITE,
		    MAP_SHARED, bpf_map__fd(skel_eth->maps.used), 0);
	if (slots == MAP_FAILED || used == MAP_FAILED)
		return -errno;
	counters_fd = bpf_map__fd(skel_eth->maps.counters);
	events_rb = ring_buffer__new(bpf_map__fd(skel_eth->maps.events), on_event, NULL, NULL);
	if (!events_rb)
		return -errno;
	ncpus = libbpf_num_possible_cpus();
	return ncpus > 0 ? 0 : ncpus;
}

int main(void)
{
	int err;

	libbpf_set_print(print_libbpf);
	err = load();
	if (err) {
		fprintf(stderr, "loading the BPF programs failed: %s (run as root)\n", strerror(-err));
		printf("not ok load_bpf_programs\n");
		ring_buffer__free(events_rb);
		flow_bpf__destroy(skel_l3);
		flow_bpf__destroy(skel_eth);
		return 1;
	}

	/* parser paths */
	RUN_FRESH(test_eth_ipv4_tcp_parsed);
	RUN_FRESH(test_vlan_8021q_ipv4_tcp_parsed);
	RUN_FRESH(test_qinq_8021ad_8021q_ipv4_tcp_parsed);
	RUN_FRESH(test_three_vlan_tags_counted_as_vlan_depth);
	RUN_FRESH(test_ipv4_options_tcp_parsed);
	RUN_FRESH(test_eth_ipv6_tcp_parsed);
	RUN_FRESH(test_eth_ipv6_next_segment_same_flow);
	RUN_FRESH(test_ipv6_hop_dest_routing_headers_walked);
	RUN_FRESH(test_ipv6_six_extension_headers_walked);
	RUN_FRESH(test_ipv6_too_many_extension_headers_counted);
	RUN_FRESH(test_ipv6_first_fragment_parsed);
	RUN_FRESH(test_ipv6_non_first_fragment_counted);
	RUN_FRESH(test_ipv4_non_first_fragment_counted);
	RUN_FRESH(test_udp_large_datagram_tracked);
	RUN_FRESH(test_udp_small_datagram_not_tracked);
	RUN_FRESH(test_udp_memo_passes_larger_datagram);
	RUN_FRESH(test_udp_memo_passes_first_df);
	RUN_FRESH(test_udp_over_ptb_counted_past_memo);
	RUN_FRESH(test_arp_counted_as_non_ip);
	RUN_FRESH(test_ethernet_padding_not_counted_as_payload);
	RUN_FRESH(test_l3_ipv4_tcp_parsed);
	RUN_FRESH(test_l3_ipv6_tcp_parsed);
	RUN_FRESH(test_live_program_takes_framing_and_slot_from_ifslots);
	RUN_FRESH(test_unknown_interface_counted_apart);
	RUN_FRESH(test_l3_frag_needed_matches_flow);

	/* flow records */
	RUN_FRESH(test_egress_data_creates_flow_record);
	RUN_FRESH(test_flow_first_seen_with_large_data_is_joined_and_told);
	RUN_FRESH(test_flow_first_seen_with_small_data_is_joined_silently);
	RUN_FRESH(test_flow_born_with_syn_is_not_joined);
	RUN_FRESH(test_syn_ack_sender_is_the_listener);
	RUN_FRESH(test_rst_marks_the_connection_gone);
	RUN_FRESH(test_used_bits_follow_the_table);
	RUN_FRESH(test_arriving_data_past_missing_bytes_opens_gap);
	RUN_FRESH(test_resend_reaching_the_gap_closes_it);
	RUN_FRESH(test_in_order_arrivals_open_no_gap);
	RUN_FRESH(test_both_directions_share_canonical_record);
	RUN_FRESH(test_same_address_ends_ordered_by_port);
	RUN_FRESH(test_pure_ack_at_egress_creates_no_flow);
	RUN_FRESH(test_gso_skb_counted_per_segment);
	RUN_FRESH(test_syn_on_reused_tuple_resets_record);
	RUN_FRESH(test_ingress_syn_on_reused_tuple_drops_record);

	/* retransmissions, ACKs, SACKs */
	RUN_FRESH(test_large_retransmission_opens_hole);
	RUN_FRESH(test_small_retransmission_counted_small);
	RUN_FRESH(test_ack_past_hole_clears_it_and_raises_deliv_max);
	RUN_FRESH(test_sack_above_snd_una_marks_sack_hole);
	RUN_FRESH(test_sack_without_timestamps_read);
	RUN_FRESH(test_sack_three_blocks_after_timestamps_read);
	RUN_FRESH(test_sack_in_unusual_layout_walked);
	RUN_FRESH(test_sack_without_anything_pending_is_not_parsed);
	RUN_FRESH(test_sack_of_newest_full_segment_raises_deliv_max_during_hole);
	RUN_FRESH(test_dsack_below_snd_una_marks_no_hole);
	RUN_FRESH(test_cumulative_ack_clears_sack_hole);

	/* ICMP frag-needed / packet-too-big */
	RUN_FRESH(test_frag_needed_sets_ptb_on_quoted_sender);
	RUN_FRESH(test_packet_too_big_sets_ptb_on_quoted_sender);
	RUN_FRESH(test_packet_too_big_quoting_extension_header_matches);
	RUN_FRESH(test_ptb_with_truncated_quote_is_counted);
	RUN_FRESH(test_ptb_with_short_transport_quote_is_counted);
	RUN_FRESH(test_ptb_for_unknown_flow_counts_unmatched);
	RUN_FRESH(test_local_ptb_at_egress_counts_ptb_tx);
	RUN_FRESH(test_forwarded_ptb_at_egress_not_counted_as_tx);
	RUN_FRESH(test_port_unreachable_is_not_ptb);
	RUN_FRESH(test_segments_above_ptb_after_grace_count_over_ptb);

	/* truncated and malformed */
	RUN_FRESH(test_truncated_vlan_tag_counted_as_l2);
	RUN_FRESH(test_truncated_ipv4_header_counted);
	RUN_FRESH(test_truncated_ipv4_options_counted);
	RUN_FRESH(test_ipv4_ihl_below_5_counted);
	RUN_FRESH(test_ipv4_total_length_below_headers_counted);
	RUN_FRESH(test_truncated_ipv6_header_counted);
	RUN_FRESH(test_truncated_ipv6_extension_header_counted);
	RUN_FRESH(test_truncated_tcp_header_counted);
	RUN_FRESH(test_tcp_doff_below_5_counted);
	RUN_FRESH(test_truncated_tcp_options_counted);
	RUN_FRESH(test_truncated_udp_header_counted);
	RUN_FRESH(test_truncated_icmp_header_counted);
	RUN_FRESH(test_truncated_icmpv6_header_counted);

	ring_buffer__free(events_rb);
	flow_bpf__destroy(skel_l3);
	flow_bpf__destroy(skel_eth);
	return TL_EXIT();
}
