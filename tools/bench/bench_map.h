/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * bench_map.h - reading a running mtuscope's flow table and counters from
 * outside, by map id (header only; the bench tools share it).
 *
 * The flow table is an array of sets of slots (BPF_MAP_TYPE_ARRAY of struct
 * mts_slot, BPF_F_MMAPABLE: a slot is used when key.family != 0), read
 * through a read-only mmap like the daemon does.
 */
#ifndef MTS_BENCH_MAP_H
#define MTS_BENCH_MAP_H

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "mtuscope.h"

struct bench_table {
	int fd;
	struct bpf_map_info info;
	const volatile struct mts_slot *slots;	/* mmap()ed */
	__u64 *used;				/* its used bits, mmap()ed, or NULL */
};

static inline int bench_table_open(struct bench_table *t, __u32 id)
{
	__u32 len = sizeof(t->info);
	void *p;

	memset(t, 0, sizeof(*t));
	t->fd = bpf_map_get_fd_by_id(id);
	if (t->fd < 0 || bpf_obj_get_info_by_fd(t->fd, &t->info, &len))
		return -errno;
	if (t->info.type != BPF_MAP_TYPE_ARRAY || t->info.value_size != sizeof(struct mts_slot))
		return -EPROTO;	/* not a flow table built against this include/mtuscope.h */
	p = mmap(NULL, (size_t)t->info.max_entries * sizeof(struct mts_slot), PROT_READ,
		 MAP_SHARED, t->fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	t->slots = p;
	return 0;
}

/* The table's used bits (MTS_MAP_USED) by map id, mapped as the daemon
 * maps them (writable: a walk clears the bits of empty slots). */
static inline int bench_table_used(struct bench_table *t, __u32 id)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	int fd = bpf_map_get_fd_by_id(id);
	void *p;

	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	if (info.type != BPF_MAP_TYPE_ARRAY || info.value_size != sizeof(__u64) ||
	    info.max_entries != MTS_USED_WORDS(t->info.max_entries))
		return -EPROTO;
	p = mmap(NULL, (size_t)info.max_entries * sizeof(__u64), PROT_READ | PROT_WRITE,
		 MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	t->used = p;
	return 0;
}

/* Flows in the table now: used slots. */
static inline long bench_table_count(struct bench_table *t)
{
	long total = 0;

	for (__u32 i = 0; i < t->info.max_entries; i++)
		total += t->slots[i].key.family != 0;
	return total;
}

/* Counters summed over every interface slot and CPU. */
static inline int bench_counters(int fd, struct mts_counters *sum)
{
	static struct mts_counters *pc;
	static int ncpus;

	if (!pc) {
		ncpus = libbpf_num_possible_cpus();
		pc = calloc(ncpus, sizeof(*pc));
		if (!pc)
			return -ENOMEM;
	}
	memset(sum, 0, sizeof(*sum));
	for (__u32 k = 0; k < MTS_MAX_IFACES * 2; k++) {
		if (bpf_map_lookup_elem(fd, &k, pc))
			return -errno;
		for (int c = 0; c < ncpus; c++)
			for (int i = 0; i < MTS_C_MAX; i++)
				sum->c[i] += pc[c].c[i];
	}
	return 0;
}

#endif
