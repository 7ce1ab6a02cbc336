/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * parse.h - cursor parsers shared by every hook.
 *
 * Contract: each parse_* takes a cursor over [pos, end), checks bounds
 * before every read, advances pos past the header it consumed and returns
 * the next protocol number (>= 0), or a negative counter index
 * (-MTS_C_ERR_*) naming why it gave up. Nothing here writes to the packet.
 */
#ifndef MTS_PARSE_H
#define MTS_PARSE_H

#include <stdbool.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "mtuscope.h"

#ifndef AF_INET
#define AF_INET		2
#endif
#ifndef AF_INET6
#define AF_INET6	10
#endif
#define ETH_P_8021AD_	0x88A8
#define IP_DF_		0x4000
#define IP_OFFSET_	0x1FFF
#define IP6_OFFSET_	0xFFF8
#define NEXTHDR_HOP_	0
#define NEXTHDR_ROUTING_ 43
#define NEXTHDR_FRAG_	44
#define NEXTHDR_AUTH_	51
#define NEXTHDR_DEST_	60

/* ICMP and ICMPv6 headers as far as frag-needed / packet-too-big need them
 * (the UAPI linux/icmp.h pulls in libc socket headers). */
#define ICMP_DEST_UNREACH_	3
#define ICMP_FRAG_NEEDED_	4
#define ICMPV6_PKT_TOOBIG_	2

struct icmp_ptb {
	__u8   type;
	__u8   code;
	__sum16 csum;
	union {
		struct {
			__be16 unused;
			__be16 mtu;
		} v4;
		__be32 v6_mtu;
	};
};

struct cursor {
	void *pos;
	void *end;
};

struct vlan_hdr_ {
	__be16 tci;
	__be16 proto;
};

struct frag_hdr_ {
	__u8   nexthdr;
	__u8   reserved;
	__be16 frag_off;
	__be32 id;
};

/*
 * The 5-tuple of a packet, or of the packet an ICMP error quotes. The
 * parsers write it in whole words (meta at once, when the ports are known)
 * so the hooks can read it back as words: a load must come from one store,
 * or it stalls until the stores retire (store-to-load forwarding).
 */
struct tuple {
	union {
		__u32 src[4];	/* network order; IPv4 in [0], the rest zero */
		__u64 src64[2];
	};
	union {
		__u32 dst[4];
		__u64 dst64[2];
	};
	union {
		struct {
			__u16 sport, dport;	/* host order */
			__u8  family, proto;
			__u16 pad;
		};
		__u64 meta;
	};
};

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "tuple_meta() composes struct tuple's meta for little-endian"
#endif

static __always_inline __u64 tuple_meta(__u8 family, __u8 proto, __u16 sport, __u16 dport)
{
	return sport | (__u32)dport << 16 | (__u64)family << 32 | (__u64)proto << 40;
}

/* What else the L3 parser learnt. */
struct l3_info {
	__u16 hdr_len;		/* IP header incl. IPv6 extension headers */
	__u16 tot_len;		/* IP packet length as the header states it */
	__u8  df;
};

static __always_inline int parse_eth(struct cursor *c)
{
	struct ethhdr *eth = c->pos;
	__u16 proto;

	if ((void *)(eth + 1) > c->end)
		return -MTS_C_ERR_L2;
	proto = eth->h_proto;
	c->pos = eth + 1;

#pragma unroll
	for (int i = 0; i < MTS_VLAN_MAX; i++) {
		struct vlan_hdr_ *vh = c->pos;

		if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD_))
			break;
		if ((void *)(vh + 1) > c->end)
			return -MTS_C_ERR_L2;
		proto = vh->proto;
		c->pos = vh + 1;
	}
	if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD_))
		return -MTS_C_ERR_VLAN;
	return bpf_ntohs(proto);
}

/* The L3 parsers fill t's addresses; the caller writes its meta. */
static __always_inline int parse_ipv4(struct cursor *c, struct tuple *t, struct l3_info *l3)
{
	struct iphdr *ip = c->pos;
	__u32 hl;

	if ((void *)(ip + 1) > c->end)
		return -MTS_C_ERR_IP;
	hl = ip->ihl * 4;
	if (ip->version != 4 || hl < sizeof(*ip))
		return -MTS_C_ERR_IP_HDR;
	if (c->pos + hl > c->end)
		return -MTS_C_ERR_IP;
	t->src64[0] = ip->saddr;
	t->src64[1] = 0;
	t->dst64[0] = ip->daddr;
	t->dst64[1] = 0;
	l3->hdr_len = hl;
	l3->tot_len = bpf_ntohs(ip->tot_len);
	l3->df = !!(ip->frag_off & bpf_htons(IP_DF_));
	c->pos += hl;
	/* A non-first fragment carries no transport header to key on. */
	if (ip->frag_off & bpf_htons(IP_OFFSET_))
		return -MTS_C_ERR_FRAG;
	return ip->protocol;
}

/* Returned by a parser told to be quick (fast) when the packet needs the
 * full one: IPv6 extension headers, ICMP. Not a counter index. */
#define MTS_PARSE_SLOW	(-1000)

/*
 * Where an extension header walk ends, as one state for the verifier: a
 * difference of packet pointers is a scalar it knows nothing of, so once
 * bounded, every way through the unrolled walk (each header a frame or
 * of its own length, up to MTS_IPV6_EXT_MAX of them) leaves the same
 * cursor, and what follows is verified once rather than once a way (the
 * walks, the quoted packet's included, were two thirds of its work).
 */
static __always_inline int ipv6_done(struct cursor *c, struct l3_info *l3, void *start, __u8 nh)
{
	__u64 len = c->pos - start;

	if (len > MTS_IPV6_HDRS_MAX)
		return -MTS_C_ERR_IP6_EXT;
	c->pos = start + len;
	l3->hdr_len = len;
	return nh;
}

/* Walks at most MTS_IPV6_EXT_MAX extension headers; the fast variant walks
 * none and returns MTS_PARSE_SLOW instead. */
static __always_inline int parse_ipv6(struct cursor *c, struct tuple *t, struct l3_info *l3,
				      const bool fast)
{
	struct ipv6hdr *ip6 = c->pos;
	void *start = c->pos;
	__u8 nh;

	if ((void *)(ip6 + 1) > c->end)
		return -MTS_C_ERR_IP;
	if (ip6->version != 6)
		return -MTS_C_ERR_IP_HDR;
	/* Word loads from the packet (unaligned access is fine where BPF runs
	 * with efficient unaligned access, and the verifier checks it). */
	t->src64[0] = *(__u64 *)&ip6->saddr;
	t->src64[1] = *((__u64 *)&ip6->saddr + 1);
	t->dst64[0] = *(__u64 *)&ip6->daddr;
	t->dst64[1] = *((__u64 *)&ip6->daddr + 1);
	l3->df = 1;	/* IPv6 routers never fragment */
	l3->tot_len = sizeof(*ip6) + bpf_ntohs(ip6->payload_len);
	nh = ip6->nexthdr;
	c->pos = ip6 + 1;
	if (fast && (nh == NEXTHDR_HOP_ || nh == NEXTHDR_ROUTING_ || nh == NEXTHDR_DEST_ ||
		     nh == NEXTHDR_AUTH_ || nh == NEXTHDR_FRAG_))
		return MTS_PARSE_SLOW;

#pragma unroll
	for (int i = 0; i < MTS_IPV6_EXT_MAX; i++) {
		struct ipv6_opt_hdr *oh = c->pos;
		struct frag_hdr_ *fh = c->pos;
		__u32 len;

		switch (nh) {
		case NEXTHDR_HOP_:
		case NEXTHDR_ROUTING_:
		case NEXTHDR_DEST_:
		case NEXTHDR_AUTH_:
			if ((void *)(oh + 1) > c->end)
				return -MTS_C_ERR_IP;
			len = nh == NEXTHDR_AUTH_ ? (oh->hdrlen + 2) * 4
						  : (oh->hdrlen + 1) * 8;
			nh = oh->nexthdr;
			if (c->pos + len > c->end)
				return -MTS_C_ERR_IP;
			c->pos += len;
			break;
		case NEXTHDR_FRAG_:
			if ((void *)(fh + 1) > c->end)
				return -MTS_C_ERR_IP;
			nh = fh->nexthdr;
			c->pos = fh + 1;
			if (fh->frag_off & bpf_htons(IP6_OFFSET_))
				return -MTS_C_ERR_FRAG;
			break;
		default:
			goto done;
		}
	}
	if (nh == NEXTHDR_HOP_ || nh == NEXTHDR_ROUTING_ || nh == NEXTHDR_DEST_ ||
	    nh == NEXTHDR_AUTH_ || nh == NEXTHDR_FRAG_)
		return -MTS_C_ERR_IP6_EXT;
done:
	return ipv6_done(c, l3, start, nh);
}

static __always_inline int parse_ip(struct cursor *c, __u16 eth_proto, struct tuple *t,
				    struct l3_info *l3, const bool fast)
{
	if (eth_proto == ETH_P_IP)
		return parse_ipv4(c, t, l3);
	if (eth_proto == ETH_P_IPV6)
		return parse_ipv6(c, t, l3, fast);
	return -MTS_C_NON_IP;
}

/* The TCP header including its options must be in bounds. */
static __always_inline int parse_tcp(struct cursor *c, struct tcphdr **th)
{
	struct tcphdr *t = c->pos;
	__u32 len;

	if ((void *)(t + 1) > c->end)
		return -MTS_C_ERR_TCP;
	len = t->doff * 4;
	if (len < sizeof(*t))
		return -MTS_C_ERR_TCP_HDR;
	if (c->pos + len > c->end)
		return -MTS_C_ERR_TCP;
	*th = t;
	c->pos += len;
	return 0;
}

static __always_inline int parse_udp(struct cursor *c, struct udphdr **uh)
{
	struct udphdr *u = c->pos;

	if ((void *)(u + 1) > c->end)
		return -MTS_C_ERR_UDP;
	*uh = u;
	c->pos = u + 1;
	return 0;
}

/* Reasons that mean "ran out of linear data", worth a pull and a retry. */
static __always_inline bool parse_truncated(int r)
{
	return r == -MTS_C_ERR_L2 || r == -MTS_C_ERR_IP || r == -MTS_C_ERR_TCP ||
	       r == -MTS_C_ERR_UDP || r == -MTS_C_ERR_ICMP;
}

#endif /* MTS_PARSE_H */
