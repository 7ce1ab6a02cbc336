// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * bench_gen - put many distinct TCP flows' data segments on an interface's
 * egress, where mtuscope's egress program creates and updates flow records.
 *
 *   bench_gen --if IF [--if IF2 ...] --flows N [--rate PPS] [--duration S | --passes P]
 *             [--payload B] [--suspect K [--suspect-every S]]
 *   bench_gen --if IF --flows N --churn --map-flows ID --map-counters ID
 *             [--step S] [--rate PPS]
 *   either with [--scatter]
 *
 * Segments go out through an AF_PACKET socket bound to IF (the ordinary
 * dev_queue_xmit path, so tc/TCX egress runs; no qdisc bypass). Flow i is
 * 198.18.0.0/15 + (i mod 131072), port 10000 + i / 131072  ->  203.0.113.2:80
 * (clients numbered in order, as behind a NAT or in a DHCP pool), or with
 * --scatter a pseudo-random address of 198.18.0.0/15 and port 1024..33791
 * (distinct for every i): test addresses only. The destination MAC is a locally administered one no
 * interface owns, so the peer drops every segment as "other host" before IP:
 * nothing answers, nothing is forwarded. TCP checksums are left zero (nobody
 * checks them: the BPF parser does not, and the peer never gets that far).
 *
 * Cycle mode (default): the N flows in turn, each segment new in-order data
 * of its flow (sequence advancing by the payload), at PPS packets per second
 * (0: as fast as possible), for S seconds or P passes over the N flows; the
 * first pass fills the table.
 * The first K flows (--suspect) instead resend the same 1400-byte segment,
 * each at most once per --suspect-every seconds (default 1, like a sender
 * backing off its RTO, whatever the packet rate): large retransmissions,
 * which the programs report to the daemon (suspect, then stalled: nothing
 * comes back).
 *
 * Churn mode: N new flows, one segment each, never revisited. After every S
 * of them, and right after the insert that evicted a flow for the first time
 * (see churn()), the flow table's entries (counted by map id, see
 * bench_map.h) and the programs' flows_new / flow_insert_failed /
 * flows_evicted counters (summed over interfaces and CPUs) are printed as one
 * JSON line:
 *   {"sent":..,"entries":..,"flows_new":..,"flow_insert_failed":..,
 *    "flows_evicted":..[,"first_eviction":true]}
 * Sending is synchronous (the egress program has run when sendmmsg returns),
 * so each line is exact.
 *
 * At the end: {"sent":..,"seconds":..,"pps":..} on stdout.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <net/if.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "bench_csum.h"
#include "bench_map.h"

#define BATCH		64
#define IFS_MAX		64	/* --if given more than once: flow i leaves by IF i mod n */
#define FRAME_MAX	1514
#define SUSPECT_PAYLOAD	1400

static volatile sig_atomic_t stop;
static bool scatter;	/* --scatter: flows spread over addresses and ports */

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Flow i's segment with sequence seq and plen payload bytes into b. */
static size_t build(unsigned char *b, unsigned i, __u32 seq, unsigned plen, __u16 ip_id)
{
	static const __u8 dmac[6] = { 0x02, 0xbe, 0x4c, 0, 0, 0xfe };
	static const __u8 smac[6] = { 0x02, 0xbe, 0x4c, 0, 0, 0x01 };
	struct ethhdr *e = (void *)b;
	struct iphdr *ip = (void *)(e + 1);
	struct tcphdr *t = (void *)(ip + 1);

	memcpy(e->h_dest, dmac, 6);
	memcpy(e->h_source, smac, 6);
	e->h_proto = htons(ETH_P_IP);
	memset(ip, 0, sizeof(*ip) + sizeof(*t));
	ip->version = 4;
	ip->ihl = 5;
	ip->ttl = 64;
	ip->protocol = IPPROTO_TCP;
	ip->id = htons(ip_id);
	ip->frag_off = htons(0x4000);	/* DF */
	ip->tot_len = htons(sizeof(*ip) + sizeof(*t) + plen);
	if (scatter) {
		/* i -> x is a bijection of 32-bit numbers, and x -> (address,
		 * port) one too: distinct flows, spread over both. */
		__u32 x = i * 2654435761u;

		ip->saddr = htonl(0xc6120000u + (x & 0x1ffff));
		t->source = htons(1024 + (x >> 17));
	} else {
		ip->saddr = htonl(0xc6120000u + (i % 131072));	/* 198.18.0.0/15 */
		t->source = htons(10000 + i / 131072);
	}
	ip->daddr = htonl(0xcb007102u);				/* 203.0.113.2 */
	ip->check = csum(ip, sizeof(*ip));
	t->dest = htons(80);
	t->seq = htonl(seq);
	t->ack_seq = htonl(1);
	t->doff = 5;
	t->ack = 1;
	t->psh = 1;
	t->window = htons(502);
	/* payload: whatever the buffer holds (zeroed once) */
	return sizeof(*e) + sizeof(*ip) + sizeof(*t) + plen;
}

/*
 * Flow i's first sequence number. It moves on with the wall clock (1 MB per
 * second, far more than a run sends per flow), so a later run continues
 * every flow past what an earlier run sent instead of resending it: healthy
 * flows stay healthy across runs (wrap-safe for runs within half an hour).
 */
static __u32 seq0(unsigned i)
{
	static __u32 base;

	if (!base) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		base = (__u32)(ts.tv_sec * 1000000ull + ts.tv_nsec / 1000) | 1;
	}
	return i * 2654435761u + base;
}

static void usage(void)
{
	fprintf(stderr, "usage: bench_gen --if IF [--if IF2 ...] --flows N [--rate PPS] [--duration S | --passes P]\n"
			"                 [--payload B] [--suspect K [--suspect-every S]]\n"
			"       bench_gen --if IF --flows N --churn --map-flows ID --map-counters ID\n"
			"                 [--step S] [--rate PPS]\n"
			"       (either: [--scatter])\n");
	exit(2);
}

struct gen {
	int fd;
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	unsigned char frames[BATCH][FRAME_MAX];
	int n;			/* frames queued */
	struct sockaddr_ll out[IFS_MAX];	/* the interfaces, if more than one */
	int n_out;
	unsigned long long sent;
	__u16 ip_id;
	double t0, rate;
};

static int queue(struct gen *g, unsigned i, __u32 seq, unsigned plen)
{
	g->iov[g->n].iov_len = build(g->frames[g->n], i, seq, plen, g->ip_id++);
	if (g->n_out > 1) {
		g->msgs[g->n].msg_hdr.msg_name = &g->out[i % g->n_out];
		g->msgs[g->n].msg_hdr.msg_namelen = sizeof(g->out[0]);
	}
	g->n++;
	return g->n == BATCH;
}

/* Send what is queued, paced to rate (never ahead of rate * elapsed). */
static int flush(struct gen *g)
{
	if (!g->n)
		return 0;
	if (g->rate > 0) {
		double wait = g->t0 + (g->sent + g->n) / g->rate - now_s();

		if (wait > 0) {
			struct timespec ts = { (time_t)wait, (long)((wait - (time_t)wait) * 1e9) };

			nanosleep(&ts, NULL);
		}
	}
	for (int j = 0; j < g->n; ) {
		int rc = sendmmsg(g->fd, g->msgs + j, g->n - j, 0);

		if (rc < 0) {
			if (errno == ENOBUFS || errno == EAGAIN || (errno == EINTR && !stop))
				continue;
			if (stop)
				break;
			fprintf(stderr, "bench_gen: sendmmsg: %s\n", strerror(errno));
			return -1;
		}
		j += rc;
		g->sent += rc;
	}
	g->n = 0;
	return 0;
}

static int sample(struct gen *g, struct bench_table *t, int counters_fd, bool first)
{
	struct mts_counters c;
	long entries = bench_table_count(t);
	int err = entries < 0 ? (int)entries : bench_counters(counters_fd, &c);

	if (err) {
		fprintf(stderr, "bench_gen: reading the maps: %s\n", strerror(-err));
		return err;
	}
	printf("{\"sent\":%llu,\"entries\":%ld,\"flows_new\":%llu,\"flow_insert_failed\":%llu,"
	       "\"flows_evicted\":%llu%s}\n", g->sent, entries,
	       (unsigned long long)c.c[MTS_C_FLOW_NEW], (unsigned long long)c.c[MTS_C_FLOW_FAIL],
	       (unsigned long long)c.c[MTS_C_FLOW_EVICT], first ? ",\"first_eviction\":true" : "");
	return 0;
}

/*
 * Churn: one segment per new flow. Until the first eviction, the programs'
 * counters are read after every flow (cheap), so the sample that shows it
 * comes right after the insert that evicted. Otherwise a sample every step
 * flows.
 */
static int churn(struct gen *g, unsigned nflows, unsigned payload, unsigned step,
		 struct bench_table *t, int counters_fd)
{
	bool evicted = false;
	unsigned next_sample = step;

	for (unsigned i = 0; i < nflows && !stop; i++) {
		bool last = i + 1 == nflows, due = i + 1 >= next_sample;
		struct mts_counters c;

		queue(g, i, seq0(i), payload);
		if (evicted && !due && !last && g->n < BATCH)
			continue;
		if (flush(g))
			return -1;
		if (!evicted) {
			if (bench_counters(counters_fd, &c))
				return -1;
			if (c.c[MTS_C_FLOW_EVICT]) {
				evicted = true;
				if (sample(g, t, counters_fd, true))
					return -1;
				next_sample = i + 1 + step;
				continue;
			}
		}
		if (!due && !last)
			continue;
		if (sample(g, t, counters_fd, false))
			return -1;
		next_sample = i + 1 + step;
	}
	return 0;
}

/*
 * Cycle: the flows in turn, in-order data; the first `suspect` flows resend
 * their first large segment, each at most once per suspect_every seconds
 * (like a sender backing off its RTO), whatever the packet rate.
 */
static int cycle(struct gen *g, unsigned nflows, unsigned payload, unsigned suspect,
		 double suspect_every, double duration, unsigned passes)
{
	__u32 *seq = malloc((size_t)nflows * sizeof(*seq));
	double *due = calloc(suspect + 1, sizeof(*due));
	double t_end = duration > 0 ? g->t0 + duration : 1e300;
	unsigned long long limit = passes ? (unsigned long long)passes * nflows : ~0ULL;
	unsigned long long visited = 0;
	unsigned i = 0;

	if (!seq || !due)
		return -1;
	for (unsigned k = 0; k < nflows; k++)
		seq[k] = seq0(k);
	while (!stop && visited < limit) {
		if (i < suspect) {
			double now = now_s();

			if (now >= due[i]) {
				due[i] = now + suspect_every;
				queue(g, i, seq[i], SUSPECT_PAYLOAD);
			}
		} else {
			queue(g, i, seq[i], payload);
			seq[i] += payload;
		}
		visited++;
		i = i + 1 == nflows ? 0 : i + 1;
		if (g->n == BATCH || visited == limit || i == 0) {
			if (flush(g))
				return -1;
			if (now_s() >= t_end)
				break;
		}
	}
	free(seq);
	free(due);
	return flush(g);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "if", 1, 0, 'i' }, { "flows", 1, 0, 'n' }, { "rate", 1, 0, 'r' },
		{ "duration", 1, 0, 'd' }, { "payload", 1, 0, 'p' }, { "suspect", 1, 0, 'k' },
		{ "suspect-every", 1, 0, 'e' },
		{ "churn", 0, 0, 'c' }, { "map-flows", 1, 0, 'F' }, { "map-counters", 1, 0, 'C' },
		{ "step", 1, 0, 's' }, { "passes", 1, 0, 'P' }, { "scatter", 0, 0, 'S' }, { 0 }
	};
	static struct gen g;
	const char *ifname = NULL, *ifnames[IFS_MAX];
	unsigned nflows = 0, payload = 64, suspect = 0, step = 256;
	unsigned map_flows = 0, map_counters = 0, passes = 0;
	double duration = 0, suspect_every = 1.0;
	bool churn_mode = false;
	int opt, rc, counters_fd = -1;
	struct sockaddr_ll sll = { .sll_family = AF_PACKET };

	while ((opt = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (opt) {
		case 'i':
			if (g.n_out == IFS_MAX) {
				fprintf(stderr, "bench_gen: at most %d interfaces\n", IFS_MAX);
				return 1;
			}
			ifnames[g.n_out++] = ifname = optarg;
			break;
		case 'n': nflows = strtoul(optarg, NULL, 0); break;
		case 'r': g.rate = atof(optarg); break;
		case 'd': duration = atof(optarg); break;
		case 'p': payload = strtoul(optarg, NULL, 0); break;
		case 'k': suspect = strtoul(optarg, NULL, 0); break;
		case 'e': suspect_every = atof(optarg); break;
		case 'c': churn_mode = true; break;
		case 'F': map_flows = strtoul(optarg, NULL, 0); break;
		case 'C': map_counters = strtoul(optarg, NULL, 0); break;
		case 's': step = strtoul(optarg, NULL, 0); break;
		case 'P': passes = strtoul(optarg, NULL, 0); break;
		case 'S': scatter = true; break;
		default: usage();
		}
	}
	if (!ifname || !nflows || payload > SUSPECT_PAYLOAD || suspect >= nflows || !step ||
	    (churn_mode && (!map_flows || !map_counters)) ||
	    (!churn_mode && duration <= 0 && !passes))
		usage();
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	g.fd = socket(AF_PACKET, SOCK_RAW, 0);	/* protocol 0: we receive nothing */
	sll.sll_ifindex = if_nametoindex(ifname);
	sll.sll_protocol = htons(ETH_P_IP);
	if (g.fd < 0 || !sll.sll_ifindex || bind(g.fd, (void *)&sll, sizeof(sll))) {
		fprintf(stderr, "bench_gen: packet socket on %s: %s\n", ifname, strerror(errno));
		return 1;
	}
	for (int j = 0; j < g.n_out; j++) {
		g.out[j] = sll;
		g.out[j].sll_ifindex = if_nametoindex(ifnames[j]);
		if (!g.out[j].sll_ifindex) {
			fprintf(stderr, "bench_gen: unknown interface '%s'\n", ifnames[j]);
			return 1;
		}
	}
	for (int j = 0; j < BATCH; j++) {
		g.iov[j].iov_base = g.frames[j];
		g.msgs[j].msg_hdr.msg_iov = &g.iov[j];
		g.msgs[j].msg_hdr.msg_iovlen = 1;
	}
	g.t0 = now_s();
	if (churn_mode) {
		counters_fd = bpf_map_get_fd_by_id(map_counters);
		if (counters_fd < 0) {
			fprintf(stderr, "bench_gen: map ids %u/%u: %s\n", map_flows, map_counters,
				strerror(errno));
			return 1;
		}
		struct bench_table t;

		rc = bench_table_open(&t, map_flows);
		if (rc) {
			fprintf(stderr, "bench_gen: flow table (map id %u): %s\n", map_flows,
				strerror(-rc));
			return 1;
		}
		rc = churn(&g, nflows, payload, step, &t, counters_fd);
	} else {
		rc = cycle(&g, nflows, payload, suspect, suspect_every, duration, passes);
	}
	if (rc)
		return 1;
	double secs = now_s() - g.t0;

	printf("{\"sent\":%llu,\"seconds\":%.3f,\"pps\":%.0f}\n", g.sent, secs, g.sent / secs);
	return 0;
}
