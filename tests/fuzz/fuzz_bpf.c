// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * fuzz_bpf - libFuzzer harness for the packet programs of bpf/flow.bpf.c,
 * run in the kernel through BPF_PROG_TEST_RUN (root). An input is a run of
 * packets, each
 *
 *   flags (1 byte)  bit 0 egress, bit 1 the L3 (TUN) programs, bit 2 a GSO
 *                   skb, bit 3 arrived on another interface (a forward),
 *                   bits 4-7 how far the clock moves first (0 ms .. 60 s)
 *   gso_size (2)    little endian, with bit 2
 *   length (2)      little endian, then that many bytes of packet
 *
 * so a handshake, its data, a retransmission and an ICMP quote of it can
 * follow each other into one flow record. The flow table starts empty for
 * every input. For every packet, whatever its bytes:
 *  - the verdict is TC_ACT_UNSPEC and the packet comes back byte for byte;
 *  - packets +1, bytes +len; exactly one of non_ip, ipv4, ipv6 or one parse
 *    error reason; tcp + udp + icmp no more than the IP packets; at most one
 *    flow made; PTB counters only for ICMP;
 *  - every ring-buffer record read back is counted in events, none lost
 *    (the ring is drained after each packet);
 *  - every filled slot of the flow table has its used bit.
 * A broken rule aborts (a finding). The kernel's coverage is not visible to
 * libFuzzer, so the counters that moved (per program) are fed back to it as
 * extra counters: an input that reaches a new counter is kept.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "flow.skel.h"
#include "mtuscope.h"

#define FLOWS		256		/* table slots: small, so sets fill and evict */
#define LO_IFINDEX	1		/* test runs happen on loopback */
#define MAX_PKT		4096

static struct flow_bpf *skel_eth, *skel_l3;
static int progs[4];			/* [l3 * 2 + egress] */
static int counters_fd, ncpus;
static struct mts_slot *slots;
static __u64 *used;
static struct ring_buffer *rb;
static unsigned long n_records;
static int cur_prog;			/* whose records the ring holds */
static __u64 clock_ns = 1000ull * 1000000000ull;

/* Counters that moved, per program: libFuzzer's feedback. */
__attribute__((used, section("__libfuzzer_extra_counters")))
static uint8_t moved[4][MTS_C_MAX + MTS_EV_MAX];

static const unsigned advance_ms[16] = { 0, 1, 2, 5, 10, 50, 100, 200, 500, 1000, 2000,
					 3000, 5000, 10000, 30000, 60000 };

#define CHECK(cond, ...)						\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "fuzz_bpf: " __VA_ARGS__);	\
			fputc('\n', stderr);				\
			abort();					\
		}							\
	} while (0)

static int on_record(void *ctx, void *data, size_t len)
{
	const struct mts_event *e = data;

	(void)ctx;
	CHECK(len >= sizeof(*e), "ring-buffer record of %zu bytes", len);
	if (e->type < MTS_EV_MAX)
		moved[cur_prog][MTS_C_MAX + e->type]++;
	n_records++;
	return 0;
}

static void counters(int slot, struct mts_counters *sum)
{
	static struct mts_counters *percpu;
	__u32 key = slot;

	if (!percpu)
		percpu = calloc(ncpus, sizeof(*percpu));
	CHECK(percpu && !bpf_map_lookup_elem(counters_fd, &key, percpu), "read counters");
	memset(sum, 0, sizeof(*sum));
	for (int cpu = 0; cpu < ncpus; cpu++)
		for (int i = 0; i < MTS_C_MAX; i++)
			sum->c[i] += percpu[cpu].c[i];
}

static void one_packet(int flags, __u16 gso_size, const uint8_t *pkt, size_t len)
{
	static uint8_t out[MAX_PKT];
	bool egress = flags & 1, l3 = flags & 2;
	int prog = l3 * 2 + egress, slot = (l3 ? 1 : 0) * 2 + egress;
	struct __sk_buff skb = { .ingress_ifindex = flags & 8 ? 2 : 0 };
	struct mts_counters a, b;
	__u64 d[MTS_C_MAX], classes = 0, ip, l4, ptb;
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = pkt, .data_size_in = len,
		    .data_out = out, .data_size_out = sizeof(out),
		    .ctx_in = &skb, .ctx_size_in = sizeof(skb));
	int err;

	clock_ns += advance_ms[flags >> 4] * 1000000ull;
	skb.tstamp = clock_ns;
	if (flags & 4) {
		skb.gso_size = gso_size ? gso_size : 1;
		skb.gso_segs = 2;
	}
	counters(slot, &a);
	err = bpf_prog_test_run_opts(progs[prog], &opts);
	if (err) {
		/* What BPF_PROG_TEST_RUN itself refuses (a frame shorter than
		 * its L2 header, an IP ethertype without an IP header's room,
		 * a GSO size it will not build): never reaches the program. */
		CHECK(errno == EINVAL || errno == E2BIG || errno == ENOSPC,
		      "test run: %s", strerror(errno));
		return;
	}
	CHECK((int)opts.retval == TC_ACT_UNSPEC, "verdict %u, not TC_ACT_UNSPEC", opts.retval);
	CHECK(opts.data_size_out == len && !memcmp(out, pkt, len), "packet changed");

	n_records = 0;
	cur_prog = prog;
	ring_buffer__consume(rb);
	counters(slot, &b);
	for (int i = 0; i < MTS_C_MAX; i++) {
		d[i] = b.c[i] - a.c[i];
		if (d[i])
			moved[prog][i]++;
	}
	CHECK(d[MTS_C_PKTS] == 1, "packets +%llu", (unsigned long long)d[MTS_C_PKTS]);
	CHECK(d[MTS_C_BYTES] >= len - 14 && d[MTS_C_BYTES] <= len, "bytes +%llu for %zu",
	      (unsigned long long)d[MTS_C_BYTES], len);
	for (int i = MTS_C_NON_IP; i <= MTS_C_IPV6; i++)
		classes += d[i];
	for (int i = MTS_C_ERR_L2; i < MTS_C_MAX; i++)
		classes += d[i];
	CHECK(classes == 1, "%llu of non_ip, ipv4, ipv6 and the error reasons",
	      (unsigned long long)classes);
	ip = d[MTS_C_IPV4] + d[MTS_C_IPV6];
	l4 = d[MTS_C_TCP] + d[MTS_C_UDP] + d[MTS_C_ICMP];
	ptb = d[MTS_C_PTB_RX] + d[MTS_C_PTB_TX] + d[MTS_C_PTB_FWD] + d[MTS_C_PTB_NOFLOW];
	CHECK(l4 <= ip, "tcp + udp + icmp +%llu for %llu IP packets", (unsigned long long)l4,
	      (unsigned long long)ip);
	CHECK(d[MTS_C_FLOW_NEW] <= 1, "flows +%llu", (unsigned long long)d[MTS_C_FLOW_NEW]);
	CHECK(!ptb || d[MTS_C_ICMP], "PTB counters moved for a packet not ICMP");
	CHECK(d[MTS_C_EV_DROP] == 0, "events dropped with the ring drained");
	CHECK(d[MTS_C_EVENTS] == n_records, "events +%llu, %lu records read",
	      (unsigned long long)d[MTS_C_EVENTS], n_records);
	for (__u32 i = 0; i < FLOWS; i++)
		CHECK(!slots[i].key.family || (used[i / 64] >> (i % 64) & 1),
		      "slot %u filled without its used bit", i);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	memset(slots, 0, FLOWS * sizeof(*slots));
	memset(used, 0, MTS_USED_WORDS(FLOWS) * sizeof(*used));
	for (size_t off = 0; off + 5 <= size;) {
		int flags = data[off];
		__u16 gso = data[off + 1] | data[off + 2] << 8;
		size_t n = data[off + 3] | data[off + 4] << 8;

		off += 5;
		if (n > size - off)
			n = size - off;
		if (n > MAX_PKT)
			n = MAX_PKT;
		one_packet(flags, gso, data + off, n);
		off += n;
	}
	return 0;
}

static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

/* Both skeletons on one set of maps, as the loader builds them: the
 * Ethernet programs find loopback in ifslots (slot 0), the L3 ones are
 * fixed to slot 1. The clock is skb->tstamp (cfg_replay). */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct mts_ifslot lo = { .ifindex = LO_IFINDEX, .slot = 0 };
	__u32 bucket = mts_ifslot_bucket(LO_IFINDEX, 0);
	int err, fd;

	(void)argc;
	(void)argv;
	libbpf_set_print(quiet);
	skel_eth = flow_bpf__open();
	skel_l3 = flow_bpf__open();
	CHECK(skel_eth && skel_l3, "open the programs: %s", strerror(errno));
	skel_eth->rodata->cfg_ifslot = -1;
	skel_l3->rodata->cfg_ifslot = 1;
	skel_l3->rodata->cfg_l3 = 1;
	skel_eth->rodata->cfg_replay = skel_l3->rodata->cfg_replay = 1;
	skel_eth->rodata->cfg_set_bits = skel_l3->rodata->cfg_set_bits = mts_set_bits(FLOWS);
	err = bpf_map__set_max_entries(skel_eth->maps.flows, FLOWS);
	err = err ?: bpf_map__set_max_entries(skel_eth->maps.used, MTS_USED_WORDS(FLOWS));
	err = err ?: flow_bpf__load(skel_eth);
	err = err ?: bpf_map__reuse_fd(skel_l3->maps.used, bpf_map__fd(skel_eth->maps.used));
	err = err ?: bpf_map__reuse_fd(skel_l3->maps.flows, bpf_map__fd(skel_eth->maps.flows));
	err = err ?: bpf_map__reuse_fd(skel_l3->maps.counters, bpf_map__fd(skel_eth->maps.counters));
	err = err ?: bpf_map__reuse_fd(skel_l3->maps.events, bpf_map__fd(skel_eth->maps.events));
	err = err ?: flow_bpf__load(skel_l3);
	CHECK(!err, "load the programs (root and BPF needed): %s", strerror(-err));
	CHECK(!bpf_map_update_elem(bpf_map__fd(skel_eth->maps.ifslots), &bucket, &lo, BPF_ANY),
	      "register loopback: %s", strerror(errno));
	progs[0] = bpf_program__fd(skel_eth->progs.mts_ingress);
	progs[1] = bpf_program__fd(skel_eth->progs.mts_egress);
	progs[2] = bpf_program__fd(skel_l3->progs.mts_ingress);
	progs[3] = bpf_program__fd(skel_l3->progs.mts_egress);
	counters_fd = bpf_map__fd(skel_eth->maps.counters);
	fd = bpf_map__fd(skel_eth->maps.flows);
	slots = mmap(NULL, FLOWS * sizeof(*slots), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	used = mmap(NULL, MTS_USED_WORDS(FLOWS) * sizeof(*used), PROT_READ | PROT_WRITE,
		    MAP_SHARED, bpf_map__fd(skel_eth->maps.used), 0);
	CHECK(slots != MAP_FAILED && used != MAP_FAILED, "map the flow table: %s", strerror(errno));
	rb = ring_buffer__new(bpf_map__fd(skel_eth->maps.events), on_record, NULL, NULL);
	CHECK(rb, "ring buffer: %s", strerror(errno));
	ncpus = libbpf_num_possible_cpus();
	CHECK(ncpus > 0, "possible CPUs");
	return 0;
}
