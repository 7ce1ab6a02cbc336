// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * bench_corr - correlator throughput: flow records judged per second.
 *
 *   bench_corr [--json FILE] N...
 *
 * For each N, builds N synthetic flow records (struct mts_flow, as the BPF
 * programs leave them) in a fixed, shuffled mix:
 *   60% healthy       data sent and acknowledged, largest size delivered
 *   10% pmtu-limited  a PTB came back and the sender shrank its segments
 *   10% suspect       a large segment resent once, not delivered yet
 *   10% blackhole     a large segment resent 3 times, later data SACKed
 *   10% stalled       a small segment resent 3 times, nothing comes back
 * then times mts_assess() (user/correlator.o, exactly what the daemon runs)
 * over all of them, one pass after another, until at least MIN_PASSES passes
 * and MIN_SECONDS have gone by. The fastest pass counts (the least disturbed
 * by the rest of the machine); the median pass is printed beside it. The
 * verdicts of one pass are tallied to show that the mix is what it claims.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <json-c/json.h>
#include "correlator.h"

#define MIN_PASSES	5
#define MIN_SECONDS	0.5

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static unsigned long long rng = 0x9e3779b97f4a7c15ULL;

static unsigned rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng >> 11);
}

enum kind { K_HEALTHY, K_PMTU, K_SUSPECT, K_BLACKHOLE, K_STALLED };

static enum kind kind_of(unsigned i)
{
	unsigned m = i % 10;

	return m < 6 ? K_HEALTHY : m == 6 ? K_PMTU : m == 7 ? K_SUSPECT :
	       m == 8 ? K_BLACKHOLE : K_STALLED;
}

/* One synthetic record; now is the "current" tick the pass judges at. */
static void make_flow(unsigned i, enum kind k, __u32 now, struct mts_flow_key *key,
		      struct mts_flow *f)
{
	struct mts_dir *d = &f->dir[0];
	__u32 seq = rnd();

	memset(key, 0, sizeof(*key));
	memset(f, 0, sizeof(*f));
	key->family = AF_INET;
	key->proto = 6;
	key->addr[0][0] = htonl(0xc6120000u | (i & 0x1ffff));	/* 198.18.0.0/15 */
	key->addr[1][0] = htonl(0xcb007100u | (i % 200 + 1));	/* 203.0.113.0/24 */
	key->port[0] = 1024 + i % 60000;
	key->port[1] = 443;
	f->t_first = now - 5000;
	f->seen = now - rnd() % 100;
	f->ifindex = 2;

	/* the reverse direction: a request, small, acknowledged */
	f->dir[1].seg_max = 300;
	f->dir[1].deliv_max = 300;
	f->dir[1].flags = MTS_F_SND | MTS_F_ACK;
	f->dir[1].snd_nxt = f->dir[1].snd_una = rnd();

	d->flags = MTS_F_SND | MTS_F_ACK | MTS_F_DF;
	d->snd_nxt = seq + 100000;
	d->snd_una = seq + 100000 - 1448 * (rnd() % 10);
	d->t_ack = now - rnd() % 50;
	d->seg_max = 1500;
	switch (k) {
	case K_HEALTHY:
		d->deliv_max = 1500;
		if (rnd() % 4 == 0) {	/* random loss, recovered */
			d->rtx_large = 1;
			d->hole_seq = d->snd_una - 1448;
		}
		break;
	case K_PMTU:
		d->deliv_max = 1400;
		d->ptb_mtu = 1400;
		d->ptb_rx = 1;
		d->t_ptb = now - 300;
		d->hole_rtx = 1;
		d->hole_seq = d->snd_una;
		d->hole_size = 1400;
		d->t_hole = now - 280;
		d->rtx_large = 1;
		break;
	case K_SUSPECT:
		d->deliv_max = 1000;
		d->hole_rtx = 1;
		d->hole_seq = d->snd_una;
		d->hole_size = 1500;
		d->t_hole = now - 400;
		d->rtx_large = 1;
		break;
	case K_BLACKHOLE:
		d->deliv_max = 1000;
		d->hole_rtx = 3;
		d->hole_seq = d->snd_una;
		d->hole_size = 1500;
		d->t_hole = now - 900;
		d->t_ack = now - 100;
		d->rtx_large = 3;
		d->flags |= MTS_F_SACK_HOLE;
		break;
	case K_STALLED:
		d->deliv_max = 1500;
		d->hole_rtx = 3;
		d->hole_seq = d->snd_una;
		d->hole_size = 500;
		d->t_hole = now - 900;
		d->t_ack = now - 2000;
		d->rtx_small = 3;
		break;
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	const char *json_path = NULL;
	json_object *out = json_object_new_object(), *rows = json_object_new_array();
	struct mts_corr_cfg cfg;
	__u32 now = 1u << 30;
	int a = 1;

	if (argc > 2 && !strcmp(argv[1], "--json")) {
		json_path = argv[2];
		a = 3;
	}
	if (a >= argc) {
		fprintf(stderr, "usage: bench_corr [--json FILE] N...\n");
		return 2;
	}
	mts_corr_defaults(&cfg);
	printf("Correlator: mts_assess() over N synthetic records (60%% healthy, 10%% each "
	       "pmtu-limited, suspect, blackhole, stalled; shuffled), best of >= %d passes "
	       "and >= %.1f s\n", MIN_PASSES, MIN_SECONDS);
	printf("%10s %8s %12s %12s %10s  %s\n", "flows", "passes", "best pass", "flows/s",
	       "ns/flow", "median flows/s");

	for (; a < argc; a++) {
		unsigned n = strtoul(argv[a], NULL, 0);
		struct mts_flow_key *keys = malloc((size_t)n * sizeof(*keys));
		struct mts_flow *flows = malloc((size_t)n * sizeof(*flows));
		unsigned char *prev = malloc(n);
		unsigned *order = malloc((size_t)n * sizeof(*order));
		unsigned tally[MTS_V_MAX] = { 0 };
		double times[4096], t0, t_all;
		unsigned long sink = 0;
		int passes = 0;

		if (!n || !keys || !flows || !prev || !order) {
			fprintf(stderr, "bench_corr: bad N or out of memory: %s\n", argv[a]);
			return 1;
		}
		/* Kinds interleaved at random: no pattern for the branch predictor. */
		for (unsigned i = 0; i < n; i++)
			order[i] = i;
		for (unsigned i = n - 1; i > 0; i--) {
			unsigned j = rnd() % (i + 1), t = order[i];

			order[i] = order[j];
			order[j] = t;
		}
		for (unsigned i = 0; i < n; i++) {
			make_flow(i, kind_of(order[i]), now, &keys[i], &flows[i]);
			prev[i] = MTS_V_NONE;
		}
		t_all = now_s();
		do {
			t0 = now_s();
			for (unsigned i = 0; i < n; i++) {
				struct mts_assessment as;
				enum mts_verdict v = mts_assess(&cfg, &keys[i], &flows[i], now,
								now, prev[i], &as);

				sink += v + as.wall_high;
				if (!passes)
					tally[v]++;
			}
			times[passes++] = now_s() - t0;
		} while ((passes < MIN_PASSES || now_s() - t_all < MIN_SECONDS) &&
			 passes < (int)(sizeof(times) / sizeof(times[0])));
		qsort(times, passes, sizeof(times[0]), cmp_double);

		double best = times[0], med = times[passes / 2];
		json_object *r = json_object_new_object(), *vt = json_object_new_object();

		printf("%10u %8d %9.3f ms %12.0f %10.1f  %.0f\n", n, passes, best * 1e3, n / best,
		       best * 1e9 / n, n / med);
		for (int v = MTS_V_HEALTHY; v < MTS_V_MAX; v++)
			json_object_object_add(vt, mts_verdict_name(v),
					       json_object_new_int(tally[v]));
		json_object_object_add(r, "flows", json_object_new_int64(n));
		json_object_object_add(r, "passes", json_object_new_int(passes));
		json_object_object_add(r, "best_pass_s", json_object_new_double(best));
		json_object_object_add(r, "flows_per_s", json_object_new_double(n / best));
		json_object_object_add(r, "median_flows_per_s", json_object_new_double(n / med));
		json_object_object_add(r, "ns_per_flow", json_object_new_double(best * 1e9 / n));
		json_object_object_add(r, "verdicts", vt);
		json_object_object_add(r, "method", json_object_new_string(
			"mts_assess over N synthetic records in memory, best of the passes"));
		json_object_array_add(rows, r);
		if (sink == 42)	/* keep the loop's results alive */
			putchar(' ');
		free(keys);
		free(flows);
		free(prev);
		free(order);
	}
	{
		json_object *r0 = json_object_array_get_idx(rows, 0);
		json_object *vt = json_object_object_get(r0, "verdicts");

		printf("verdict mix of the first N: ");
		json_object_object_foreach(vt, k, v)
			printf("%s %d  ", k, json_object_get_int(v));
		printf("\n");
	}
	json_object_object_add(out, "corr_rows", rows);
	if (json_path) {
		FILE *f = fopen(json_path, "w");

		if (!f || fprintf(f, "%s\n", json_object_to_json_string_ext(out,
				  JSON_C_TO_STRING_PRETTY)) < 0 || fclose(f)) {
			fprintf(stderr, "bench_corr: cannot write %s\n", json_path);
			return 1;
		}
	}
	json_object_put(out);
	return 0;
}
