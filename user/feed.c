// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * feed.c - a captured frame as the frames the BPF programs are given (see
 * feed.h). Pure: no BPF, no I/O; the caller's run() gets each frame.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <pcap/pcap.h>
#include <pcap/sll.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "feed.h"
#include "mtuscope.h"

#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2	276
#endif

/*
 * What a super-packet's segments were: GRO merges segments of one size,
 * the sender's. Learnt per sending direction from the capture: the largest
 * ordinary segment seen, else the MSS the receiver announced in its SYN.
 */
struct seg_key {
	__u32 src[4], dst[4];
	__u16 sport, dport;
	__u32 family;
};

struct mts_seg_info {
	struct seg_key k;
	unsigned max_payload;	/* largest payload of an ordinary segment */
	unsigned peer_mss;	/* MSS the receiving end announced */
	bool used;
};

/* Header fields by byte offset: a capture's packets sit at any alignment
 * (after a 14-byte Ethernet header, say), so never through a struct. */
static unsigned rd16(const unsigned char *p)
{
	return p[0] << 8 | p[1];
}

static __u32 rd32(const unsigned char *p)
{
	return (__u32)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
}

static void wr16(unsigned char *p, unsigned v)
{
	p[0] = v >> 8;
	p[1] = v;
}

static void wr32(unsigned char *p, __u32 v)
{
	wr16(p, v >> 16);
	wr16(p + 2, v);
}

#define SEG_BITS	12
#define SEG_SLOTS	(1u << SEG_BITS)	/* directions remembered; more only loses the hint */

static int run(struct mts_feed *fd, int egress, const void *frame, size_t len, __u64 ns)
{
	int rc = fd->run(fd->ctx, egress, frame, len, ns);

	if (rc == -EINVAL) {		/* a frame the kernel will not build an skb of */
		fd->refused++;
	} else if (rc) {
		fd->failed++;
		fd->err = rc;
	}
	return rc;
}

/* Where the L3 packet's transport header ends, and what it is. */
struct l3 {
	unsigned ip_len;	/* as the IP header states */
	unsigned hdrs;		/* IP + transport header bytes */
	int proto;
	int family;
};

static bool l3_of(const unsigned char *p, size_t len, struct l3 *o)
{
	unsigned iphl;

	if (len < 1)
		return false;
	if (p[0] >> 4 == 4) {
		iphl = (p[0] & 15) * 4u;
		if (len < sizeof(struct iphdr) || iphl < sizeof(struct iphdr) || len < iphl)
			return false;
		o->ip_len = rd16(p + 2);		/* tot_len */
		o->proto = p[9];
		o->family = 4;
		if (rd16(p + 6) & 0x1fff)
			o->proto = -1;		/* a later fragment: no transport header */
	} else if (p[0] >> 4 == 6) {
		if (len < sizeof(struct ipv6hdr))
			return false;
		iphl = sizeof(struct ipv6hdr);
		o->ip_len = sizeof(struct ipv6hdr) + rd16(p + 4);	/* payload_len */
		o->proto = p[6];		/* nexthdr; extension headers: never split */
		o->family = 6;
	} else {
		return false;
	}
	o->hdrs = iphl;
	if (o->proto == IPPROTO_TCP && len >= iphl + sizeof(struct tcphdr))
		o->hdrs += (p[iphl + 12] >> 4) * 4;	/* doff */
	else if (o->proto == IPPROTO_UDP)
		o->hdrs += sizeof(struct udphdr);
	else
		o->proto = o->proto == IPPROTO_ICMP || o->proto == IPPROTO_ICMPV6 ? o->proto : -1;
	return true;
}

static struct mts_seg_info *seg_find(struct mts_feed *fd, const unsigned char *p, const struct l3 *l,
				 bool reverse)
{
	struct seg_key k = { .family = l->family };
	const unsigned char *ports = p + (l->family == 4 ? (p[0] & 15) * 4u : 40);
	size_t alen = l->family == 4 ? 4 : 16, soff = l->family == 4 ? 12 : 8;
	__u64 w[5];
	__u32 h;

	if (!fd->seg)
		return NULL;
	memcpy(reverse ? k.dst : k.src, p + soff, alen);
	memcpy(reverse ? k.src : k.dst, p + soff + alen, alen);
	memcpy(&k.sport, ports + (reverse ? 2 : 0), 2);
	memcpy(&k.dport, ports + (reverse ? 0 : 2), 2);
	_Static_assert(sizeof(k) == sizeof(w), "seg_key is five words");
	memcpy(w, &k, sizeof(w));
	h = mts_flow_set_words(w, SEG_BITS);	/* the flow table's own hash */
	for (unsigned i = 0; i < 8; i++) {
		struct mts_seg_info *s = &fd->seg[(h + i) % SEG_SLOTS];

		if (!s->used) {
			s->used = true;
			s->k = k;
			return s;
		}
		if (!memcmp(&s->k, &k, sizeof(k)))
			return s;
	}
	return NULL;
}

/* Learn from an ordinary TCP segment (all of its headers captured). */
static void seg_learn(struct mts_feed *fd, const unsigned char *p, const struct l3 *l)
{
	unsigned iphl = l->family == 4 ? (p[0] & 15) * 4u : sizeof(struct ipv6hdr);
	const unsigned char *o = p + iphl + sizeof(struct tcphdr), *end = p + l->hdrs;
	struct mts_seg_info *s;

	if (p[iphl + 13] & 0x02) {		/* SYN */
		/* Its MSS option bounds what the other end will send. */
		while (o + 1 < end && *o != 0) {
			if (*o == 1) {
				o++;
				continue;
			}
			if (o[1] < 2 || o + o[1] > end)
				break;
			if (o[0] == 2 && o[1] == 4 && (s = seg_find(fd, p, l, true)))
				s->peer_mss = o[2] << 8 | o[3];
			o += o[1];
		}
	} else if (l->ip_len > l->hdrs && (s = seg_find(fd, p, l, false)) &&
		   l->ip_len - l->hdrs > s->max_payload) {
		s->max_payload = l->ip_len - l->hdrs;
	}
}

/* The payload of each segment a TCP super-packet carries. */
static unsigned seg_payload(struct mts_feed *fd, const unsigned char *p, const struct l3 *l)
{
	unsigned fit = fd->mtu - l->hdrs, opts = l->hdrs - (l->family == 4 ? (p[0] & 15) * 4u : 40) - 20;
	struct mts_seg_info *s = l->proto == IPPROTO_TCP ? seg_find(fd, p, l, false) : NULL;

	if (s && s->max_payload && s->max_payload < fit)
		return s->max_payload;
	if (s && s->peer_mss > opts && s->peer_mss - opts < fit)
		return s->peer_mss - opts;	/* Linux: MSS less the options carried */
	return fit;
}

/* Set the IP length field of the L3 packet at p (and UDP's). */
static void set_len(unsigned char *p, const struct l3 *l, unsigned ip_len)
{
	unsigned iphl = l->family == 4 ? (p[0] & 15) * 4u : sizeof(struct ipv6hdr);

	if (l->family == 4)
		wr16(p + 2, ip_len);				/* tot_len */
	else
		wr16(p + 4, ip_len - sizeof(struct ipv6hdr));	/* payload_len */
	if (l->proto == IPPROTO_UDP)
		wr16(p + iphl + 4, ip_len - iphl);		/* UDP length */
}

/* One L3 packet (p, caplen bytes, ethertype proto) through the programs. */
static void feed_l3(struct mts_feed *fd, __u16 proto, const unsigned char *p, size_t caplen,
		    int outgoing, __u64 ns)
{
	/* Aligned for the Ethernet header written through its struct. */
	unsigned char frame[ETH_HLEN + MTS_FEED_BYTES] __attribute__((aligned(8)));
	struct ethhdr *eth = (void *)frame;
	unsigned char *l3p = frame + ETH_HLEN;
	size_t n = caplen < MTS_FEED_BYTES ? caplen : MTS_FEED_BYTES;
	struct l3 l = { .proto = -1 };
	bool ip = l3_of(p, caplen, &l);

	memset(eth, 0, sizeof(*eth));
	eth->h_dest[0] = eth->h_source[0] = 0x02;
	eth->h_dest[5] = 2;
	eth->h_source[5] = 1;
	wr16(frame + offsetof(struct ethhdr, h_proto), proto);
	memcpy(l3p, p, n);

	if (ip && l.ip_len > fd->mtu && (l.proto == IPPROTO_TCP || l.proto == IPPROTO_UDP) &&
	    caplen >= l.hdrs && l.hdrs < fd->mtu && l.hdrs <= MTS_FEED_BYTES) {
		/* A super-packet: its segments, of the sender's size. */
		unsigned seg = seg_payload(fd, p, &l), payload = l.ip_len - l.hdrs;
		unsigned iphl = l.family == 4 ? (p[0] & 15) * 4u : sizeof(struct ipv6hdr);
		__u32 seq = l.proto == IPPROTO_TCP ? rd32(l3p + iphl + 4) : 0;
		__u8 flags = l.proto == IPPROTO_TCP ? l3p[iphl + 13] : 0;

		fd->split++;
		for (unsigned off = 0; off < payload; off += seg) {
			unsigned len = payload - off < seg ? payload - off : seg;

			set_len(l3p, &l, l.hdrs + len);
			if (l.proto == IPPROTO_TCP) {
				wr32(l3p + iphl + 4, seq + off);
				/* FIN and PSH belong to the last segment only. */
				l3p[iphl + 13] = off + len < payload ? flags & ~0x09 : flags;
			}
			run(fd, 0, frame, ETH_HLEN + l.hdrs, ns);
			run(fd, 1, frame, ETH_HLEN + l.hdrs, ns);
			fd->segments++;
		}
		return;
	}
	if (ip && l.proto == IPPROTO_TCP && caplen >= l.hdrs)
		seg_learn(fd, p, &l);
	/* Less than an IP header: nothing any program could read. */
	if (!n || (ip == false && (proto == ETH_P_IP || proto == ETH_P_IPV6))) {
		fd->short_++;
		return;
	}
	if (l.proto == IPPROTO_ICMP || l.proto == IPPROTO_ICMPV6) {
		run(fd, outgoing == 1, frame, ETH_HLEN + n, ns);
	} else {
		run(fd, 0, frame, ETH_HLEN + n, ns);
		run(fd, 1, frame, ETH_HLEN + n, ns);
	}
}

/* One captured frame: find its L3 packet and direction by link type. */
void mts_feed_frame(struct mts_feed *fd, int dlt, const unsigned char *d, size_t caplen, __u64 ns)
{
	int outgoing = -1;
	__u16 proto;

	switch (dlt) {
	case DLT_EN10MB:
		if (caplen < ETH_HLEN) {
			fd->short_++;
			return;
		}
		proto = rd16(d + 12);			/* h_proto */
		if (proto == ETH_P_8021Q || proto == ETH_P_8021AD || proto < ETH_P_802_3_MIN) {
			/* VLAN tags (and anything else) as they are: the
			 * programs parse Ethernet themselves. */
			size_t n = caplen < ETH_HLEN + MTS_FEED_BYTES ? caplen : ETH_HLEN + MTS_FEED_BYTES;

			run(fd, 0, d, n, ns);
			run(fd, 1, d, n, ns);
			return;
		}
		feed_l3(fd, proto, d + ETH_HLEN, caplen - ETH_HLEN, -1, ns);
		return;
	case DLT_LINUX_SLL:
		if (caplen < SLL_HDR_LEN) {
			fd->short_++;
			return;
		}
		outgoing = rd16(d + offsetof(struct sll_header, sll_pkttype)) == LINUX_SLL_OUTGOING;
		proto = rd16(d + offsetof(struct sll_header, sll_protocol));
		d += SLL_HDR_LEN;
		caplen -= SLL_HDR_LEN;
		break;
	case DLT_LINUX_SLL2:
		if (caplen < 20) {
			fd->short_++;
			return;
		}
		outgoing = d[10] == LINUX_SLL_OUTGOING;
		proto = rd16(d);
		d += 20;
		caplen -= 20;
		break;
	default:	/* DLT_RAW, DLT_IPV4, DLT_IPV6: the IP packet alone */
		if (caplen < 1) {
			fd->short_++;
			return;
		}
		proto = d[0] >> 4 == 6 ? ETH_P_IPV6 : ETH_P_IP;
		break;
	}
	feed_l3(fd, proto, d, caplen, outgoing, ns);
}

bool mts_feed_supported(int dlt)
{
	return dlt == DLT_EN10MB || dlt == DLT_LINUX_SLL || dlt == DLT_LINUX_SLL2 ||
	       dlt == DLT_RAW || dlt == DLT_IPV4 || dlt == DLT_IPV6;
}


int mts_feed_init(struct mts_feed *fd, unsigned mtu, mts_feed_run_fn run, void *ctx)
{
	memset(fd, 0, sizeof(*fd));
	fd->mtu = mtu ? mtu : 1500;
	fd->run = run;
	fd->ctx = ctx;
	/* Without it super-packets split at the MTU, not the sender's size. */
	fd->seg = calloc(SEG_SLOTS, sizeof(struct mts_seg_info));
	return fd->seg ? 0 : -ENOMEM;
}

void mts_feed_free(struct mts_feed *fd)
{
	free(fd->seg);
	fd->seg = NULL;
}
