// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * bench_sweep - how long one full pass over a live flow table takes.
 *
 *   bench_sweep FLOWS_MAP_ID USED_MAP_ID [ROUNDS]
 *
 * Opens the running daemon's own table and its used bits by id
 * (bpf_map_get_fd_by_id, see bench_map.h) and times, ROUNDS times each,
 * alternating, the two passes the daemon makes over it, both the walk of
 * the used bits (user/slots.h) the daemon runs:
 *   count  how many flows it holds (every 5 s with --listen or top)
 *   sweep  every record read and checked for a hole, PTB or oversize (after
 *          ring-buffer drops): each used slot copied once and its key
 *          checked again, as watch.c sweep() does
 * Prints one JSON object: the table kind, slots, flows seen, best and median
 * milliseconds of each pass.
 */
#include <stdio.h>
#include <time.h>
#include "bench_map.h"
#include "slots.h"

#define MAX_ROUNDS 64

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static bool interesting(const struct mts_flow *rec)
{
	for (int d = 0; d < 2; d++)
		if (rec->dir[d].hole_rtx || rec->dir[d].ptb_mtu || rec->dir[d].oversize)
			return true;
	return false;
}

static long sweep_pass(struct bench_table *t, long *marked)
{
	long total = 0;

	*marked = 0;
	/* As watch.c sweep() does: each used slot read once, its key checked
	 * again after the copy. */
	for (__u32 i = mts_slots_next(t->slots, t->used, t->info.max_entries, 0);
	     i < t->info.max_entries;
	     i = mts_slots_next(t->slots, t->used, t->info.max_entries, i + 1)) {
		const volatile struct mts_slot *s = &t->slots[i];
		struct mts_flow_key key;
		struct mts_flow rec;

		memcpy(&key, (const void *)&s->key, sizeof(key));
		if (!key.family)
			continue;
		memcpy(&rec, (const void *)&s->flow, sizeof(rec));
		if (!memcmp((const void *)&s->key, &key, sizeof(key))) {
			total++;
			*marked += interesting(&rec);
		}
	}
	return total;
}

static long count_pass(struct bench_table *t)
{
	long n = 0;

	for (__u32 i = mts_slots_next(t->slots, t->used, t->info.max_entries, 0);
	     i < t->info.max_entries;
	     i = mts_slots_next(t->slots, t->used, t->info.max_entries, i + 1))
		n++;
	return n;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	double tc[MAX_ROUNDS], ts[MAX_ROUNDS];
	long counted = 0, swept = 0, marked = 0;
	struct bench_table t;
	int rounds, rc;

	if (argc < 3) {
		fprintf(stderr, "usage: bench_sweep FLOWS_MAP_ID USED_MAP_ID [ROUNDS]\n");
		return 2;
	}
	rounds = argc > 3 ? atoi(argv[3]) : 5;
	if (rounds < 1 || rounds > MAX_ROUNDS)
		rounds = 5;
	rc = bench_table_open(&t, strtoul(argv[1], NULL, 0));
	if (rc) {
		fprintf(stderr, "bench_sweep: map id %s: %s\n", argv[1], strerror(-rc));
		return 1;
	}
	rc = bench_table_used(&t, strtoul(argv[2], NULL, 0));
	if (rc) {
		fprintf(stderr, "bench_sweep: used-bits map id %s: %s\n", argv[2], strerror(-rc));
		return 1;
	}
	for (int r = 0; r < rounds; r++) {
		double t0 = now_s();

		counted = count_pass(&t);
		tc[r] = now_s() - t0;
		t0 = now_s();
		swept = sweep_pass(&t, &marked);
		ts[r] = now_s() - t0;
		if (counted < 0) {
			fprintf(stderr, "bench_sweep: counting: %s\n", strerror(-counted));
			return 1;
		}
	}
	qsort(tc, rounds, sizeof(double), cmp_double);
	qsort(ts, rounds, sizeof(double), cmp_double);
	printf("{\"table\":\"%s\",\"slots\":%u,\"entries\":%ld,\"entries_swept\":%ld,"
	       "\"marked\":%ld,\"rounds\":%d,"
	       "\"count_ms_best\":%.3f,\"count_ms_median\":%.3f,"
	       "\"sweep_ms_best\":%.3f,\"sweep_ms_median\":%.3f}\n",
	       "array of 4-way sets (mmap), walked by its used bits", t.info.max_entries,
	       counted, swept, marked, rounds, tc[0] * 1e3, tc[rounds / 2] * 1e3, ts[0] * 1e3,
	       ts[rounds / 2] * 1e3);
	return 0;
}
