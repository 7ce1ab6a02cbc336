/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * slots.h - the walk over a flow table's used slots, by their bits in
 * MTS_MAP_USED (see include/mtuscope.h). Header only: the loader and the
 * bench tools share it.
 */
#ifndef MTS_SLOTS_H
#define MTS_SLOTS_H

#include "mtuscope.h"

/*
 * The first used slot at or after i, or n (the table's slots). A bit whose
 * slot is empty is cleared on the way (the flow was forgotten or never
 * finished); the slot is then looked at again: a program that filled it
 * meanwhile set the bit after writing the key, so either this walk sees
 * the flow or the bit stays set. Safe beside the programs and beside other
 * walks of the same table.
 */
static inline __u32 mts_slots_next(const volatile struct mts_slot *slots, __u64 *used,
				   __u32 n, __u32 i)
{
	while (i < n) {
		__u32 w = i / 64;
		__u64 bits = __atomic_load_n(&used[w], __ATOMIC_RELAXED) & (~0ull << (i % 64));

		if (!bits) {
			i = (w + 1) * 64;
			continue;
		}
		i = w * 64 + __builtin_ctzll(bits);
		if (i >= n)
			break;
		/* The used slot four ahead, by its bit alone: a walk of a
		 * cold table otherwise waits a cache miss at every slot. */
		bits &= bits - 1;
		bits &= bits - 1;
		bits &= bits - 1;
		bits &= bits - 1;
		if (bits) {
			const volatile char *a = (const volatile char *)&slots[w * 64 + __builtin_ctzll(bits)];

			__builtin_prefetch((const void *)a);
			__builtin_prefetch((const void *)(a + 96));
			__builtin_prefetch((const void *)(a + 176));
		}
		if (slots[i].key.family)
			return i;
		__atomic_fetch_and(&used[w], ~(1ull << (i % 64)), __ATOMIC_SEQ_CST);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (slots[i].key.family) {
			__atomic_fetch_or(&used[w], 1ull << (i % 64), __ATOMIC_SEQ_CST);
			return i;
		}
		i++;
	}
	return n;
}

#endif
