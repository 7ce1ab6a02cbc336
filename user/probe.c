// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * probe.c - find the path MTU to a destination the way an engineer does
 * with `ping -M do -s N`, by a binary search of don't-fragment probes, and
 * still where every ICMP message is filtered on the path.
 *
 * A probe passes only on an answer that proves it arrived: an ICMP echo
 * reply, or, where echo does not pass, the answer to a TCP SYN carrying
 * payload up to the probe's size (a SYN-ACK from a listening port, a RST
 * from a closed one; our own stack then resets the half-open connection).
 * Silence after the retries, a frag-needed / packet-too-big, or a local
 * EMSGSIZE means too big. The result is the largest IP packet that arrived.
 *
 * Probes leave with DF set and the kernel's PMTU cache bypassed
 * (IP_PMTUDISC_PROBE), so an earlier PTB cannot hide the wall.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/icmp6.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <json-c/json.h>
#include "probe.h"

#define IP4_HDR		20
#define IP6_HDR		40
#define MAX_PROBE	65535

struct prober {
	const struct mts_probe_opts *o;
	struct sockaddr_storage dst, src;
	socklen_t dlen;
	int family;
	int fd;			/* raw socket of the method */
	bool tcp;
	__u16 port;		/* TCP: destination port (host order) */
	__u16 ident;		/* ICMP echo id / TCP source port base */
	unsigned seq;
	unsigned sent;		/* packets sent, retries included */
	unsigned ptb_mtu;	/* smallest MTU a PTB reported for our probes */
	double next_send;	/* rate limit */
	double rtt;		/* of the first answered probe (0: none yet) */
	unsigned char buf[MAX_PROBE];
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void pace(struct prober *p)
{
	double t = now_s();

	if (p->next_send > t)
		usleep((useconds_t)((p->next_send - t) * 1e6));
	p->next_send = now_s() + 1.0 / p->o->rate;
}

static __u16 csum(const void *data, size_t len, __u32 sum)
{
	const unsigned char *b = data;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += b[i] << 8 | b[i + 1];
	if (len & 1)
		sum += b[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons(~sum & 0xffff);
}

static unsigned hdr_len(const struct prober *p)
{
	return p->family == AF_INET ? IP4_HDR : IP6_HDR;
}

/* Build the probe for an IP packet of `size` bytes into p->buf; its length. */
static size_t build(struct prober *p, unsigned size, __u32 *isn, __u16 *sport)
{
	size_t len = size - hdr_len(p);

	memset(p->buf, 0, len);
	for (size_t i = p->tcp ? sizeof(struct tcphdr) : 8; i < len; i++)
		p->buf[i] = (unsigned char)i;	/* payload after the header */
	p->seq++;
	if (!p->tcp) {
		struct icmphdr *ic = (void *)p->buf;

		ic->type = p->family == AF_INET ? ICMP_ECHO : ICMP6_ECHO_REQUEST;
		ic->un.echo.id = htons(p->ident);
		ic->un.echo.sequence = htons(p->seq);
		if (p->family == AF_INET)
			ic->checksum = csum(p->buf, len, 0);	/* the kernel does ICMPv6's */
		return len;
	}
	struct tcphdr *th = (void *)p->buf;
	__u32 r;

	if (getrandom(&r, sizeof(r), 0) != sizeof(r))
		r = (__u32)random();
	*isn = r;
	/* A fresh source port per probe: no answer is mistaken for another's. */
	*sport = 32768 + (p->ident + p->seq * 7) % 28000;
	th->source = htons(*sport);
	th->dest = htons(p->port);
	th->seq = htonl(*isn);
	th->doff = 5;
	th->syn = 1;
	th->window = htons(64240);
	if (p->family == AF_INET) {
		const struct sockaddr_in *s = (const void *)&p->src, *d = (const void *)&p->dst;
		unsigned char ph[12];

		memcpy(ph, &s->sin_addr, 4);
		memcpy(ph + 4, &d->sin_addr, 4);
		ph[8] = 0;
		ph[9] = IPPROTO_TCP;
		ph[10] = len >> 8;
		ph[11] = len & 0xff;
		__u32 sum = 0;

		for (int i = 0; i < 12; i += 2)
			sum += ph[i] << 8 | ph[i + 1];
		th->check = csum(p->buf, len, sum);
	}
	return len;
}

/*
 * Did the answer in buf (n bytes; IPv4 raw sockets include the IP header)
 * prove the probe arrived (1), say it was too big (0, PTB MTU noted), or
 * is it someone else's (-1)?
 */
static int match(struct prober *p, const unsigned char *b, size_t n,
		 const struct sockaddr_storage *from, __u32 isn, __u16 sport, size_t payload)
{
	size_t off = 0;

	if (p->family == AF_INET) {
		if (n < IP4_HDR || (b[0] >> 4) != 4)
			return -1;
		off = (b[0] & 15) * 4;
	}
	if (n < off + 8)
		return -1;
	b += off;
	n -= off;
	if (p->tcp) {
		const struct tcphdr *th = (const void *)b;
		bool same = p->family == AF_INET
			? !memcmp(&((const struct sockaddr_in *)from)->sin_addr,
				  &((const struct sockaddr_in *)&p->dst)->sin_addr, 4)
			: !memcmp(&((const struct sockaddr_in6 *)from)->sin6_addr,
				  &((const struct sockaddr_in6 *)&p->dst)->sin6_addr, 16);

		/* A listener's SYN-ACK acknowledges the SYN alone; a closed
		 * port's RST acknowledges the SYN and its payload. */
		if (!same || n < sizeof(*th) || ntohs(th->source) != p->port ||
		    ntohs(th->dest) != sport || !th->ack)
			return -1;
		if (th->syn && ntohl(th->ack_seq) == isn + 1)
			return 1;
		if (th->rst && (ntohl(th->ack_seq) == isn + 1 ||
				ntohl(th->ack_seq) == isn + 1 + (__u32)payload))
			return 1;
		return -1;
	}
	if (p->family == AF_INET) {
		const struct icmphdr *ic = (const void *)b;

		if (ic->type == ICMP_ECHOREPLY)
			return ntohs(ic->un.echo.id) == p->ident &&
			       ntohs(ic->un.echo.sequence) == (__u16)p->seq ? 1 : -1;
		if (ic->type == ICMP_DEST_UNREACH && ic->code == ICMP_FRAG_NEEDED &&
		    n >= 8 + IP4_HDR + 8) {
			const unsigned char *q = b + 8 + (b[8] & 15) * 4;

			if (q + 8 > b + n || q[0] != ICMP_ECHO ||
			    (q[4] << 8 | q[5]) != p->ident || (q[6] << 8 | q[7]) != (__u16)p->seq)
				return -1;
			if (ntohs(ic->un.frag.mtu) && (!p->ptb_mtu || ntohs(ic->un.frag.mtu) < p->ptb_mtu))
				p->ptb_mtu = ntohs(ic->un.frag.mtu);
			return 0;
		}
		return -1;
	}
	const struct icmp6_hdr *ic6 = (const void *)b;

	if (ic6->icmp6_type == ICMP6_ECHO_REPLY)
		return ntohs(ic6->icmp6_id) == p->ident && ntohs(ic6->icmp6_seq) == (__u16)p->seq ? 1 : -1;
	if (ic6->icmp6_type == ICMP6_PACKET_TOO_BIG && n >= 8 + IP6_HDR + 8) {
		const unsigned char *q = b + 8 + IP6_HDR;

		if (q[0] != ICMP6_ECHO_REQUEST || (q[4] << 8 | q[5]) != p->ident ||
		    (q[6] << 8 | q[7]) != (__u16)p->seq)
			return -1;
		if (!p->ptb_mtu || ntohl(ic6->icmp6_mtu) < p->ptb_mtu)
			p->ptb_mtu = ntohl(ic6->icmp6_mtu);
		return 0;
	}
	return -1;
}

/*
 * How long to wait for an answer: the configured timeout until a round trip
 * is known, then five round trips (50 ms at least), never longer than the
 * timeout. A search of a dozen sizes, half of them lost, then takes a few
 * hundred milliseconds on a LAN-scale path instead of seconds.
 */
static double wait_s(const struct prober *p)
{
	double t = p->o->timeout_ms / 1000.0, r = 5 * p->rtt;

	if (!p->rtt)
		return t;
	r = r < 0.05 ? 0.05 : r;
	return r < t ? r : t;
}

/* One size, sent up to tries times: 1 arrived, 0 did not, -errno on a
 * local error. */
static int try_size(struct prober *p, unsigned size, unsigned tries)
{
	for (unsigned attempt = 0; attempt < tries; attempt++) {
		__u32 isn = 0;
		__u16 sport = 0;
		double deadline, sent_at;
		size_t len;

		if (p->o->cancel && *p->o->cancel)
			return -ECANCELED;
		len = build(p, size, &isn, &sport);

		pace(p);
		p->sent++;
		if (sendto(p->fd, p->buf, len, 0, (struct sockaddr *)&p->dst, p->dlen) < 0) {
			if (errno == EMSGSIZE)
				return 0;	/* larger than this host's own route allows */
			return -errno;
		}
		sent_at = now_s();
		deadline = sent_at + wait_s(p);
		for (double left; (left = deadline - now_s()) > 0;) {
			struct pollfd pfd = { .fd = p->fd, .events = POLLIN };
			unsigned char in[2048];
			struct sockaddr_storage from;
			socklen_t flen = sizeof(from);
			ssize_t n;
			int r;

			if (poll(&pfd, 1, (int)(left * 1000) + 1) <= 0)
				continue;
			n = recvfrom(p->fd, in, sizeof(in), MSG_DONTWAIT, (struct sockaddr *)&from, &flen);
			if (n < 0)
				continue;
			r = match(p, in, n, &from, isn, sport, len - sizeof(struct tcphdr));
			if (r > 0 && !p->rtt)
				p->rtt = now_s() - sent_at;
			if (r >= 0)
				return r;
		}
	}
	return 0;
}

static int open_socket(struct prober *p, bool tcp, char *err, size_t errlen)
{
	int proto = tcp ? IPPROTO_TCP : p->family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6;
	int fd = socket(p->family, SOCK_RAW | SOCK_CLOEXEC, proto);
	int pmtu = p->family == AF_INET ? IP_PMTUDISC_PROBE : IPV6_PMTUDISC_PROBE, one = 1;

	if (fd < 0) {
		snprintf(err, errlen, "cannot open a raw socket: %s%s", strerror(errno),
			 errno == EPERM ? " (needs root or CAP_NET_RAW)" : "");
		return -1;
	}
	if (p->family == AF_INET) {
		setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, sizeof(pmtu));
	} else {
		int off = 16;	/* TCP's checksum field: the kernel fills it in */

		setsockopt(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &pmtu, sizeof(pmtu));
		setsockopt(fd, IPPROTO_IPV6, IPV6_DONTFRAG, &one, sizeof(one));
		if (tcp)
			setsockopt(fd, IPPROTO_IPV6, IPV6_CHECKSUM, &off, sizeof(off));
	}
	if (p->fd >= 0)
		close(p->fd);
	p->fd = fd;
	p->tcp = tcp;
	return 0;
}

/* The route's MTU towards dst and our source address on it. */
static int route_of(struct prober *p, unsigned *mtu, char *err, size_t errlen)
{
	int fd = socket(p->family, SOCK_DGRAM | SOCK_CLOEXEC, 0), v = 0;
	socklen_t len = sizeof(v), slen = sizeof(p->src);
	struct sockaddr_storage d = p->dst;

	((struct sockaddr_in *)&d)->sin_port = htons(9);	/* same offset in v6 */
	if (fd < 0 || connect(fd, (struct sockaddr *)&d, p->dlen) ||
	    getsockname(fd, (struct sockaddr *)&p->src, &slen) ||
	    getsockopt(fd, p->family == AF_INET ? IPPROTO_IP : IPPROTO_IPV6,
		       p->family == AF_INET ? IP_MTU : IPV6_MTU, &v, &len)) {
		snprintf(err, errlen, "no route to the destination: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	*mtu = v;
	return 0;
}

int mts_probe_run(const struct mts_probe_opts *o, struct mts_probe_result *res,
		  char *err, size_t errlen)
{
	struct prober *p = calloc(1, sizeof(*p));
	unsigned first_hop, lo, fail, floor_size;
	int r, rc = -1;

	memset(res, 0, sizeof(*res));
	if (!p) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	p->o = o;
	p->fd = -1;
	memcpy(&p->dst, &o->dst, o->dlen);
	p->dlen = o->dlen;
	p->family = o->dst.ss_family;
	p->port = o->port;
	if (getrandom(&p->ident, sizeof(p->ident), 0) != sizeof(p->ident))
		p->ident = getpid();
	if (route_of(p, &first_hop, err, errlen))
		goto out;
	res->first_hop_mtu = first_hop;
	floor_size = o->min ? o->min : p->family == AF_INET ? 576 : 1280;
	fail = (o->max ? o->max : first_hop) + 1;
	if (floor_size >= fail || fail - 1 < hdr_len(p) + 20) {
		snprintf(err, errlen, "nothing to search: smallest probe %u, largest %u",
			 floor_size, fail - 1);
		goto out;
	}

	/* Which probe proves delivery: ICMP echo where it passes, else TCP. */
	res->method = "none";
	if (o->method != MTS_PROBE_TCP) {
		if (open_socket(p, false, err, errlen))
			goto out;
		/* With TCP to fall back on, one unanswered echo is enough to
		 * move on: ICMP is what firewalls drop most. */
		r = try_size(p, floor_size, o->method == MTS_PROBE_AUTO && o->port ? 1 : o->tries);
		if (r < 0) {
			snprintf(err, errlen, "sending probes failed: %s", strerror(-r));
			goto out;
		}
		if (r > 0) {
			res->method = "icmp-echo";
		} else if (o->method == MTS_PROBE_ICMP || !o->port) {
			snprintf(err, errlen, "no answer to ICMP echo of %u bytes%s", floor_size,
				 o->port ? "" : ": name a listening TCP port (DEST:PORT) to probe "
				 "with TCP SYNs instead");
			goto out;
		}
	}
	if (!strcmp(res->method, "none")) {
		if (open_socket(p, true, err, errlen))
			goto out;
		r = try_size(p, floor_size, o->tries);
		if (r <= 0) {
			if (r < 0)
				snprintf(err, errlen, "sending probes failed: %s", strerror(-r));
			else
				snprintf(err, errlen, "no answer to TCP SYNs of %u bytes to port %u%s",
					 floor_size, o->port,
					 o->method == MTS_PROBE_TCP ? "" : " (nor to ICMP echo)");
			/* A closed port answers a SYN with RST: only a dead path
			 * (or a firewall dropping both) stays silent to both. */
			res->dead = r == 0 && o->method == MTS_PROBE_AUTO;
			goto out;
		}
		res->method = "tcp-syn";
	}
	lo = floor_size;

	/* The largest first: a path without a wall is answered at once. */
	r = try_size(p, fail - 1, o->tries);
	if (r < 0) {
		snprintf(err, errlen, "sending probes failed: %s", strerror(-r));
		goto out;
	}
	if (r > 0)
		lo = fail - 1;
	else
		fail--;
	while (fail - lo > 1) {
		unsigned mid = lo + (fail - lo) / 2;

		/* A PTB names the wall: try it next. */
		if (p->ptb_mtu > lo && p->ptb_mtu < fail)
			mid = p->ptb_mtu;
		p->ptb_mtu = 0;
		r = try_size(p, mid, o->tries);
		if (r < 0) {
			snprintf(err, errlen, "sending probes failed: %s", strerror(-r));
			goto out;
		}
		if (r > 0)
			lo = mid;
		else
			fail = mid;
	}
	res->pmtu = lo;
	res->lost = lo < (o->max ? o->max : first_hop) ? fail : 0;
	rc = 0;
out:
	res->probes = p->sent;
	if (p->fd >= 0)
		close(p->fd);
	free(p);
	return rc;
}

int mts_probe_parse_dest(const char *arg, struct sockaddr_storage *ss, socklen_t *len,
			 __u16 *port)
{
	char host[256];
	const char *colon = strrchr(arg, ':'), *h = arg;
	size_t hl = strlen(arg);
	struct addrinfo hints = { .ai_flags = AI_NUMERICHOST, .ai_socktype = SOCK_RAW }, *ai;
	unsigned long v = 0;
	char *end;

	*port = 0;
	if (arg[0] == '[') {			/* [v6]:port or [v6] */
		const char *rb = strchr(arg, ']');

		if (!rb)
			return -1;
		h = arg + 1;
		hl = rb - h;
		colon = rb[1] == ':' ? rb + 1 : NULL;
		if (rb[1] && !colon)
			return -1;
	} else if (colon && strchr(arg, ':') == colon) {	/* v4:port */
		hl = colon - arg;
	} else {
		colon = NULL;			/* bare v6 (or v4 without port) */
	}
	if (colon) {
		errno = 0;
		v = strtoul(colon + 1, &end, 10);
		if (errno || end == colon + 1 || *end || v < 1 || v > 65535)
			return -1;
		*port = v;
	}
	if (hl == 0 || hl >= sizeof(host))
		return -1;
	memcpy(host, h, hl);
	host[hl] = 0;
	/* Numeric only, and IPv4 in its full dotted-quad form. */
	if (!strchr(host, ':')) {
		struct in_addr a;

		if (inet_pton(AF_INET, host, &a) != 1)
			return -1;
	}
	if (getaddrinfo(host, NULL, &hints, &ai))
		return -1;
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*len = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}
