// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * bench_bpf - what the detector's tc programs cost per packet, measured with
 * BPF_PROG_TEST_RUN against an empty program of the same type in the same
 * run.
 *
 * Method, per row: the detector and the empty program (r0 = TC_ACT_UNSPEC)
 * alternate, RUNS times each; every run is one BPF_PROG_TEST_RUN of the
 * same packet with repeat = REPEAT, and the kernel reports the mean time
 * per repetition. The row prints the best run of each (the least disturbed
 * by the rest of the machine) and their difference, "added"; the process
 * stays on one CPU. This VM drifts between quiet and busy phases lasting
 * seconds, in which both programs slow by up to a third: the rows take
 * turns (round k measures one pair of every row), so each row's RUNS pairs
 * spread over the whole measurement instead of falling into one phase. The
 * median of the paired differences (detector run k minus empty run k) is
 * printed beside the best to show how much a busy phase inflates it.
 *
 * A repeated packet is, to the detector, the same packet seen again: data
 * becomes a retransmission of the head segment, an ACK a duplicate ACK.
 * Rows whose everyday path needs fields that advance (in-order data, an ACK
 * that moves) are also measured "per call": CALLS test runs of repeat = 1,
 * each with the next sequence number, summed; the empty program is timed
 * the same way, so the timer's own cost cancels in the difference. A
 * per-call run starts cold (the syscall between two runs evicts the
 * program's code and data from L1), so these rows show a cold-cache cost
 * and are reported apart from the targets, which the issue sets for
 * repeat >= 1,000,000.
 *
 * Output: a table on stdout, and with --json FILE the rows as JSON.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <sched.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <json-c/json.h>
#include "bench_csum.h"
#include "mtuscope.h"
#include "flow.skel.h"

/* BENCH_QUICK=1 shrinks every count (the harness self-test); BENCH_ROWS=a,b
 * measures only those rows and BENCH_RUNS=N sets the pairs per row (profiling). */
static unsigned REPEAT = 1000000, RUNS = 15, CALLS = 200000;
#define RUNS_MAX	100

#define __packed __attribute__((packed))

enum kind { TCP_EXISTING, OTHER, NEW_FLOW, ICMP_PTB };

struct row {
	const char *name;
	const char *hook;	/* ingress | egress */
	enum kind kind;
	bool per_call;		/* fields advance on every call (see top) */
	unsigned char pkt[1600];
	size_t len;
	void (*advance)(unsigned char *pkt, size_t len, unsigned i);
	bool on;		/* selected (BENCH_ROWS) */
	double det_ns, empty_ns, added_ns, pair_median_ns;
	double diff[RUNS_MAX];	/* paired differences so far */
};

/* ---------------------------------------------------------------- packets */

struct tcp_opts_ts { __u8 nop1, nop2, kind, len; __be32 val, ecr; } __packed;
struct tcp_opts_sack { __u8 nop1, nop2, kind, len; __be32 l1, r1, l2, r2; } __packed;

static const __u8 MAC_A[6] = { 0x02, 0, 0, 0, 0, 1 }, MAC_B[6] = { 0x02, 0, 0, 0, 0, 2 };
#define LAN4	"192.0.2.10"
#define FAR4	"198.51.100.20"
#define LAN6	"2001:db8:1::10"
#define FAR6	"2001:db8:2::20"
#define SEQ0	1000000u
#define MSS	1448

static size_t put_eth(unsigned char *b, __u16 proto, bool vlan)
{
	struct ethhdr *e = (void *)b;

	memcpy(e->h_dest, MAC_B, 6);
	memcpy(e->h_source, MAC_A, 6);
	if (!vlan) {
		e->h_proto = htons(proto);
		return sizeof(*e);
	}
	e->h_proto = htons(ETH_P_8021Q);
	*(__be16 *)(b + 14) = htons(100);
	*(__be16 *)(b + 16) = htons(proto);
	return 18;
}

static size_t put_ip4(unsigned char *b, __u8 proto, const char *src, const char *dst,
		      size_t payload)
{
	struct iphdr *ip = (void *)b;

	memset(ip, 0, sizeof(*ip));
	ip->version = 4;
	ip->ihl = 5;
	ip->ttl = 64;
	ip->protocol = proto;
	ip->frag_off = htons(0x4000);	/* DF */
	ip->tot_len = htons(sizeof(*ip) + payload);
	inet_pton(AF_INET, src, &ip->saddr);
	inet_pton(AF_INET, dst, &ip->daddr);
	ip->check = csum(ip, sizeof(*ip));
	return sizeof(*ip);
}

static size_t put_ip6(unsigned char *b, __u8 proto, const char *src, const char *dst,
		      size_t payload)
{
	struct ipv6hdr *ip = (void *)b;

	memset(ip, 0, sizeof(*ip));
	ip->version = 6;
	ip->nexthdr = proto;
	ip->hop_limit = 64;
	ip->payload_len = htons(payload);
	inet_pton(AF_INET6, src, &ip->saddr);
	inet_pton(AF_INET6, dst, &ip->daddr);
	return sizeof(*ip);
}

/* TCP header with timestamps (and an optional SACK block), then payload. */
static size_t put_tcp(unsigned char *b, __u16 sport, __u16 dport, __u32 seq, __u32 ack,
		      size_t payload, bool sack)
{
	struct tcphdr *t = (void *)b;
	size_t opt = sack ? sizeof(struct tcp_opts_sack) : sizeof(struct tcp_opts_ts);

	memset(t, 0, sizeof(*t) + opt + payload);
	t->source = htons(sport);
	t->dest = htons(dport);
	t->seq = htonl(seq);
	t->ack_seq = htonl(ack);
	t->doff = (sizeof(*t) + opt) / 4;
	t->ack = 1;
	t->psh = payload > 0;
	t->window = htons(502);
	if (sack) {
		struct tcp_opts_sack *o = (void *)(t + 1);

		*o = (struct tcp_opts_sack){ 1, 1, 5, 18, htonl(SEQ0 + 2 * MSS), htonl(SEQ0 + 4 * MSS),
					     htonl(SEQ0 + 6 * MSS), htonl(SEQ0 + 8 * MSS) };
	} else {
		struct tcp_opts_ts *o = (void *)(t + 1);

		*o = (struct tcp_opts_ts){ 1, 1, 8, 10, htonl(1), htonl(2) };
	}
	return sizeof(*t) + opt + payload;
}

static size_t tcp4_data(unsigned char *b, bool vlan, __u16 sport)
{
	size_t l2 = put_eth(b, ETH_P_IP, vlan);
	size_t l4 = put_tcp(b + l2 + 20, sport, 5001, SEQ0, 1, MSS - 12, false);

	return l2 + put_ip4(b + l2, IPPROTO_TCP, LAN4, FAR4, l4) + l4;
}

/* A SYN: no payload, no ACK. */
static size_t tcp4_syn(unsigned char *b)
{
	size_t l2 = put_eth(b, ETH_P_IP, false);
	size_t l4 = put_tcp(b + l2 + 20, 40000, 5001, SEQ0 - 1, 0, 0, false);
	struct tcphdr *t = (void *)(b + l2 + 20);

	t->syn = 1;
	t->ack = 0;
	t->ack_seq = 0;
	return l2 + put_ip4(b + l2, IPPROTO_TCP, LAN4, FAR4, l4) + l4;
}

static size_t tcp4_ack(unsigned char *b, bool sack)
{
	size_t l2 = put_eth(b, ETH_P_IP, false);
	size_t l4 = put_tcp(b + l2 + 20, 5001, 40000, 1, SEQ0, 0, sack);

	return l2 + put_ip4(b + l2, IPPROTO_TCP, FAR4, LAN4, l4) + l4;
}

static size_t tcp6_data(unsigned char *b)
{
	size_t l2 = put_eth(b, ETH_P_IPV6, false);
	size_t l4 = put_tcp(b + l2 + 40, 40000, 5001, SEQ0, 1, MSS - 32, false);

	return l2 + put_ip6(b + l2, IPPROTO_TCP, LAN6, FAR6, l4) + l4;
}

static size_t udp4_wg(unsigned char *b)
{
	size_t l2 = put_eth(b, ETH_P_IP, false);
	struct udphdr *u = (void *)(b + l2 + 20);
	size_t l4 = sizeof(*u) + 1420 + 32;	/* an inner 1420 + WireGuard's 32 */

	memset(u, 0, l4);
	u->source = htons(51820);
	u->dest = htons(51820);
	u->len = htons(l4);
	return l2 + put_ip4(b + l2, IPPROTO_UDP, LAN4, FAR4, l4) + l4;
}

/* A frag-needed from a router, quoting our data segment (IP + 8 bytes). */
static size_t icmp4_ptb(unsigned char *b)
{
	size_t l2 = put_eth(b, ETH_P_IP, false);
	unsigned char *icmp = b + l2 + 20, quote[80];
	size_t ql = put_ip4(quote, IPPROTO_TCP, LAN4, FAR4, 20 + 12 + MSS - 12);

	put_tcp(quote + ql, 40000, 5001, SEQ0, 1, 0, false);
	memset(icmp, 0, 8);
	icmp[0] = 3;
	icmp[1] = 4;
	*(__be16 *)(icmp + 6) = htons(1400);
	memcpy(icmp + 8, quote, 28);
	*(__u16 *)(icmp + 2) = csum(icmp, 36);
	return l2 + put_ip4(b + l2, IPPROTO_ICMP, "203.0.113.1", LAN4, 36) + 36;
}

static size_t icmp6_ptb(unsigned char *b)
{
	size_t l2 = put_eth(b, ETH_P_IPV6, false);
	unsigned char *icmp = b + l2 + 40, quote[128];
	size_t ql = put_ip6(quote, IPPROTO_TCP, LAN6, FAR6, 32 + MSS - 32);

	put_tcp(quote + ql, 40000, 5001, SEQ0, 1, 0, false);
	memset(icmp, 0, 8);
	icmp[0] = 2;
	*(__be32 *)(icmp + 4) = htonl(1400);
	memcpy(icmp + 8, quote, 48 + 32);
	return l2 + put_ip6(b + l2, IPPROTO_ICMPV6, "2001:db8:ff::1", LAN6, 8 + 80) + 8 + 80;
}

static size_t arp(unsigned char *b)
{
	size_t l2 = put_eth(b, ETH_P_ARP, false);

	memset(b + l2, 0, 28);
	return l2 + 28;
}

/* ------------------------------------------------------------ advancing */

static void next_seq(unsigned char *pkt, size_t len, unsigned i)
{
	(void)len;
	struct iphdr *ip = (void *)(pkt + 14);
	size_t off = 14 + (ip->version == 4 ? 20 : 40);
	struct tcphdr *t = (void *)(pkt + off);

	t->seq = htonl(SEQ0 + (i + 1) * MSS);
}

static void next_ack(unsigned char *pkt, size_t len, unsigned i)
{
	(void)len;
	struct tcphdr *t = (void *)(pkt + 14 + 20);

	t->ack_seq = htonl(SEQ0 + (i + 1) * MSS);
}

static void next_port(unsigned char *pkt, size_t len, unsigned i)
{
	(void)len;
	struct tcphdr *t = (void *)(pkt + 14 + 20);

	t->source = htons(1024 + i % 60000);
	((struct iphdr *)(pkt + 14))->saddr = htonl(0xc6120000 + i / 60000);	/* 198.18.x */
}

/* ------------------------------------------------------------------ runs */

static int empty_prog(void)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = -1 },
		{ .code = BPF_JMP | BPF_EXIT },
	};

	return bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS, "mts_empty", "GPL", insns, 2, NULL);
}

static double run_repeat(int fd, const void *pkt, size_t len, int ingress_ifindex)
{
	struct __sk_buff ctx = { .ingress_ifindex = ingress_ifindex };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = len,
		    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = REPEAT);

	if (bpf_prog_test_run_opts(fd, &o) || o.retval != (__u32)-1)
		return -1;
	return o.duration;
}

static double run_calls(int fd, struct row *r)
{
	unsigned char pkt[sizeof(r->pkt)];
	struct __sk_buff ctx = {};
	unsigned long long total = 0;

	memcpy(pkt, r->pkt, r->len);
	for (unsigned i = 0; i < CALLS; i++) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = r->len,
			    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = 1);

		r->advance(pkt, r->len, i);
		if (bpf_prog_test_run_opts(fd, &o) || o.retval != (__u32)-1)
			return -1;
		total += o.duration;
	}
	return (double)total / CALLS;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* One pair of runs of row r, the k-th: detector, then the empty program. */
static void measure_pair(struct row *r, unsigned k, int det_fd, int empty_fd)
{
	double d, e;

	d = r->per_call ? run_calls(det_fd, r) : run_repeat(det_fd, r->pkt, r->len, 0);
	e = r->per_call ? run_calls(empty_fd, r) : run_repeat(empty_fd, r->pkt, r->len, 0);
	if (d < 0 || e < 0) {
		fprintf(stderr, "bench_bpf: %s: test run failed: %s\n", r->name, strerror(errno));
		exit(1);
	}
	if (!k || d < r->det_ns)
		r->det_ns = d;
	if (!k || e < r->empty_ns)
		r->empty_ns = e;
	r->diff[k] = d - e;
}

static void finish(struct row *r)
{
	qsort(r->diff, RUNS, sizeof(r->diff[0]), cmp_double);
	r->added_ns = r->det_ns - r->empty_ns;
	r->pair_median_ns = RUNS % 2 ? r->diff[RUNS / 2]
				     : (r->diff[RUNS / 2 - 1] + r->diff[RUNS / 2]) / 2;
}

/* An empty flow table, then one data segment out on each existing flow, so
 * the rows that expect one find it. */
static void reset_flows(int flows_fd, int eg_fd, struct row *rows, const int *existing, int n)
{
	static const struct mts_slot empty;

	for (__u32 i = 0; i < MTS_DEFAULT_FLOWS; i++)
		bpf_map_update_elem(flows_fd, &i, &empty, BPF_ANY);
	for (int i = 0; i < n; i++)
		run_repeat(eg_fd, rows[existing[i]].pkt, rows[existing[i]].len, 0);
}

int main(int argc, char **argv)
{
	const char *json_path = argc > 2 && !strcmp(argv[1], "--json") ? argv[2] : NULL;
	static struct row rows[] = {
		/* A connection's first packet, as a new flow starts. */
		{ .name = "tcp_syn_new_flow", .hook = "egress", .kind = NEW_FLOW, .per_call = true,
		  .advance = next_port },
		/* A full-size segment of a flow never seen: one joined
		 * mid-connection (attach, eviction), told to userspace. */
		{ .name = "tcp_data_joined_flow", .hook = "egress", .kind = NEW_FLOW, .per_call = true,
		  .advance = next_port },
		{ .name = "tcp_data_existing_in_order", .hook = "egress", .kind = TCP_EXISTING,
		  .per_call = true, .advance = next_seq },
		{ .name = "tcp_data_existing_repeated", .hook = "egress", .kind = TCP_EXISTING },
		{ .name = "tcp_ack_advancing", .hook = "ingress", .kind = TCP_EXISTING,
		  .per_call = true, .advance = next_ack },
		{ .name = "tcp_ack_duplicate", .hook = "ingress", .kind = TCP_EXISTING },
		{ .name = "tcp_ack_sack", .hook = "ingress", .kind = TCP_EXISTING },
		{ .name = "tcp_retransmit_large", .hook = "egress", .kind = TCP_EXISTING },
		{ .name = "tcp6_data_existing", .hook = "egress", .kind = TCP_EXISTING },
		{ .name = "tcp_vlan_data_existing", .hook = "egress", .kind = TCP_EXISTING },
		{ .name = "udp_wireguard_1452", .hook = "egress", .kind = OTHER },
		{ .name = "icmp_frag_needed", .hook = "ingress", .kind = ICMP_PTB },
		{ .name = "icmp6_packet_too_big", .hook = "ingress", .kind = ICMP_PTB },
		{ .name = "arp_non_ip", .hook = "ingress", .kind = OTHER },
	};
	const int n = sizeof(rows) / sizeof(rows[0]);
	const char *only = getenv("BENCH_ROWS");
	static const int existing[] = { 2, 8 };	/* rows whose flows the others reuse */
	struct flow_bpf *skel;
	int empty, in_fd, eg_fd, flows_fd;
	double worst_tcp = 0, worst_other = 0, worst_cold = 0;
	cpu_set_t cpus;
	json_object *out = json_object_new_object(), *arr = json_object_new_array();

	rows[0].len = tcp4_syn(rows[0].pkt);
	rows[1].len = tcp4_data(rows[1].pkt, false, 40000);
	rows[2].len = tcp4_data(rows[2].pkt, false, 40000);
	rows[3].len = tcp4_data(rows[3].pkt, false, 40000);
	rows[4].len = tcp4_ack(rows[4].pkt, false);
	rows[5].len = tcp4_ack(rows[5].pkt, false);
	rows[6].len = tcp4_ack(rows[6].pkt, true);
	rows[7].len = tcp4_data(rows[7].pkt, false, 40000);
	rows[8].len = tcp6_data(rows[8].pkt);
	rows[9].len = tcp4_data(rows[9].pkt, true, 40000);
	rows[10].len = udp4_wg(rows[10].pkt);
	rows[11].len = icmp4_ptb(rows[11].pkt);
	rows[12].len = icmp6_ptb(rows[12].pkt);
	rows[13].len = arp(rows[13].pkt);

	if (getenv("BENCH_QUICK") && strcmp(getenv("BENCH_QUICK"), "0")) {
		REPEAT = 20000;
		RUNS = 2;
		CALLS = 2000;
	}
	if (getenv("BENCH_RUNS") && atoi(getenv("BENCH_RUNS")) > 0)
		RUNS = atoi(getenv("BENCH_RUNS"));
	if (RUNS > RUNS_MAX)
		RUNS = RUNS_MAX;
	skel = flow_bpf__open();
	if (!skel || flow_bpf__load(skel)) {
		fprintf(stderr, "bench_bpf: loading the detector failed (root? BTF?)\n");
		return 1;
	}
	/* Test runs happen on loopback: its slot, found as on a live interface. */
	if (bpf_map_update_elem(bpf_map__fd(skel->maps.ifslots), &(__u32){ 1 },
				&(struct mts_ifslot){ .ifindex = 1, .slot = 0 }, BPF_ANY)) {
		fprintf(stderr, "bench_bpf: registering loopback failed: %s\n", strerror(errno));
		return 1;
	}
	empty = empty_prog();
	if (empty < 0) {
		fprintf(stderr, "bench_bpf: loading the empty program failed: %s\n", strerror(errno));
		return 1;
	}
	/* One CPU for the whole run: a migration would split a pair. */
	CPU_ZERO(&cpus);
	CPU_SET(sched_getcpu() < 0 ? 0 : sched_getcpu(), &cpus);
	sched_setaffinity(0, sizeof(cpus), &cpus);

	in_fd = bpf_program__fd(skel->progs.mts_ingress);
	eg_fd = bpf_program__fd(skel->progs.mts_egress);

	flows_fd = bpf_map__fd(skel->maps.flows);
	reset_flows(flows_fd, eg_fd, rows, existing, 2);

	printf("BPF cost per packet: BPF_PROG_TEST_RUN, %u runs of %u repeats each for the\n"
	       "detector and for an empty program (r0 = TC_ACT_UNSPEC), alternating on the same\n"
	       "packet and CPU, the rows taking turns (round k runs one pair of every row);\n"
	       "detector, empty: best run; added: their difference; pairs: the median of the\n"
	       "paired differences (how much a busy host inflates it).\n"
	       "Per-call rows: %u runs of repeat=1 with advancing fields, summed (cold\n"
	       "caches; not what the targets are set for).\n\n",
	       RUNS, REPEAT, CALLS);
	printf("%-28s %-7s %9s %9s %9s %9s\n", "packet", "hook", "detector", "empty", "added",
	       "pairs");
	for (int i = 0; i < n; i++)
		rows[i].on = !only || strstr(only, rows[i].name);
	for (unsigned k = 0; k < RUNS; k++) {
		for (int i = 0; i < n; i++) {
			struct row *r = &rows[i];

			if (!r->on)
				continue;
			/* New flows start from an empty table, and leave one
			 * with only the existing flows for the next rows. */
			if (r->kind == NEW_FLOW)
				reset_flows(flows_fd, eg_fd, rows, existing, 0);
			measure_pair(r, k, strcmp(r->hook, "egress") ? in_fd : eg_fd, empty);
			if (r->kind == NEW_FLOW)
				reset_flows(flows_fd, eg_fd, rows, existing, 2);
		}
	}
	for (int i = 0; i < n; i++) {
		struct row *r = &rows[i];
		json_object *o;
		double added;

		if (!r->on)
			continue;
		finish(r);
		o = json_object_new_object();
		added = r->added_ns;
		printf("%-28s %-7s %7.1f ns %6.1f ns %+6.1f ns %+6.1f ns%s\n", r->name, r->hook,
		       r->det_ns, r->empty_ns, added, r->pair_median_ns,
		       r->per_call ? "  (per call, cold)" : "");
		if (r->per_call && r->kind == TCP_EXISTING) {
			if (added > worst_cold)
				worst_cold = added;
		} else if (r->kind == TCP_EXISTING && added > worst_tcp) {
			worst_tcp = added;
		}
		if (r->kind == OTHER && added > worst_other)
			worst_other = added;
		json_object_object_add(o, "packet", json_object_new_string(r->name));
		json_object_object_add(o, "hook", json_object_new_string(r->hook));
		json_object_object_add(o, "method", json_object_new_string(
			r->per_call ? "per-call repeat=1, summed" : "repeated packet"));
		json_object_object_add(o, "detector_ns", json_object_new_double(r->det_ns));
		json_object_object_add(o, "empty_ns", json_object_new_double(r->empty_ns));
		json_object_object_add(o, "added_ns", json_object_new_double(added));
		json_object_object_add(o, "pair_median_added_ns",
				       json_object_new_double(r->pair_median_ns));
		json_object_array_add(arr, o);
	}
	printf("\nworst added, TCP on an existing flow: %.1f ns (target <= 40)\n", worst_tcp);
	printf("worst added, non-TCP non-ICMP:        %.1f ns (target <= 15)\n", worst_other);
	printf("worst added, TCP per call (cold):     %.1f ns (no target)\n", worst_cold);
	json_object_object_add(out, "added_ns_tcp_existing", json_object_new_double(worst_tcp));
	json_object_object_add(out, "added_ns_new_flow", json_object_new_double(rows[0].added_ns));
	json_object_object_add(out, "added_ns_joined_flow", json_object_new_double(rows[1].added_ns));
	json_object_object_add(out, "added_ns_tcp_cold_per_call", json_object_new_double(worst_cold));
	json_object_object_add(out, "added_ns_other", json_object_new_double(worst_other));
	json_object_object_add(out, "bpf_rows", arr);
	if (json_path) {
		FILE *f = fopen(json_path, "w");

		if (!f || fprintf(f, "%s\n", json_object_to_json_string_ext(out,
				  JSON_C_TO_STRING_PRETTY)) < 0 || fclose(f)) {
			fprintf(stderr, "bench_bpf: cannot write %s\n", json_path);
			return 1;
		}
	}
	json_object_put(out);
	close(empty);
	flow_bpf__destroy(skel);
	return 0;
}
