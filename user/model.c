// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* model.c - an open-addressing table of tracked flows (linear probing,
 * backward-shift deletion, so no tombstones accumulate). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "model.h"

static size_t key_hash(const struct mts_flow_key *k)
{
	const unsigned char *p = (const void *)k;
	size_t h = 1469598103934665603ULL;	/* FNV-1a */

	for (size_t i = 0; i < sizeof(*k); i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	return h;
}

int mts_model_init(struct mts_model *m, size_t cap_hint)
{
	size_t cap = 64;

	while (cap < cap_hint * 2)
		cap <<= 1;
	memset(m, 0, sizeof(*m));
	m->slots = calloc(cap, sizeof(*m->slots));
	if (!m->slots)
		return -ENOMEM;
	m->cap = cap;
	mts_corr_defaults(&m->cfg);
	return 0;
}

void mts_model_free(struct mts_model *m)
{
	free(m->slots);
	memset(m, 0, sizeof(*m));
}

static struct mts_track *probe(const struct mts_model *m, const struct mts_flow_key *k)
{
	size_t i = key_hash(k) & (m->cap - 1);

	while (m->slots[i].used && memcmp(&m->slots[i].key, k, sizeof(*k)))
		i = (i + 1) & (m->cap - 1);
	return &m->slots[i];
}

struct mts_track *mts_model_find(struct mts_model *m, const struct mts_flow_key *k)
{
	struct mts_track *t = probe(m, k);

	return t->used ? t : NULL;
}

static int grow(struct mts_model *m)
{
	struct mts_model bigger = *m;

	bigger.slots = calloc(m->cap * 2, sizeof(*m->slots));
	if (!bigger.slots)
		return -ENOMEM;
	bigger.cap = m->cap * 2;
	for (size_t i = 0; i < m->cap; i++)
		if (m->slots[i].used)
			*probe(&bigger, &m->slots[i].key) = m->slots[i];
	free(m->slots);
	*m = bigger;
	return 0;
}

struct mts_track *mts_model_add(struct mts_model *m, const struct mts_flow_key *k, __u32 ifindex)
{
	struct mts_track *t = probe(m, k);

	if (t->used)
		return t;
	if ((m->n + 1) * 2 > m->cap) {
		if (grow(m))
			return NULL;
		t = probe(m, k);
	}
	memset(t, 0, sizeof(*t));
	t->used = true;
	t->key = *k;
	t->ifindex = ifindex;
	t->a.verdict = MTS_V_NONE;
	t->a.dir = -1;
	m->n++;
	return t;
}

void mts_model_remove(struct mts_model *m, struct mts_track *t)
{
	size_t hole = t - m->slots, i = hole;

	m->slots[hole].used = false;
	m->n--;
	/* Shift back any entry that probed past the freed slot. */
	for (;;) {
		size_t home;

		i = (i + 1) & (m->cap - 1);
		if (!m->slots[i].used)
			return;
		home = key_hash(&m->slots[i].key) & (m->cap - 1);
		if (((i - home) & (m->cap - 1)) >= ((i - hole) & (m->cap - 1))) {
			m->slots[hole] = m->slots[i];
			m->slots[i].used = false;
			hole = i;
		}
	}
}

/* Any byte sent, arrived or acknowledged, either way. */
static bool moved(const struct mts_flow *a, const struct mts_flow *b)
{
	for (int i = 0; i < 2; i++)
		if (a->dir[i].snd_nxt != b->dir[i].snd_nxt ||
		    a->dir[i].snd_una != b->dir[i].snd_una ||
		    a->dir[i].arr_nxt != b->dir[i].arr_nxt)
			return true;
	return false;
}

bool mts_model_update(struct mts_model *m, struct mts_track *t, const struct mts_flow *rec,
		      __u32 now_ticks, double now_unix)
{
	enum mts_verdict before = t->a.verdict, v;
	struct mts_assessment a;

	/* Any packet moves the record's recency stamp: the flow is alive. */
	if (!t->t_active || rec->seen != t->rec.seen)
		t->t_active = now_ticks | 1;
	if (!t->t_still || moved(rec, &t->rec))
		t->t_still = now_ticks | 1;
	t->rec = *rec;
	v = mts_assess(&m->cfg, &t->key, rec, now_ticks, t->t_still, before, &a);
	/* The interface to fix: where the data leaves, or, when it is lost
	 * before it gets here, where it arrives. */
	if (a.inbound && rec->in_ifindex)
		t->ifindex = rec->in_ifindex;
	else if (rec->ifindex)
		t->ifindex = rec->ifindex;
	mts_apply_probe(&a, t->key.family, &t->probe);
	v = a.verdict;
	if (v == before && !a.wall_high) {	/* a diagnosis that stands keeps its wall */
		a.wall_low = t->a.wall_low;
		a.wall_high = t->a.wall_high;
		a.advice_mtu = t->a.advice_mtu;
		a.advice_mss = t->a.advice_mss;
		a.cause = a.cause ?: t->a.cause;
	}
	t->a = a;
	if (v == MTS_V_HEALTHY || v == MTS_V_RECOVERED || v == MTS_V_PMTU_LIMITED) {
		if (!t->t_quiet)
			t->t_quiet = now_ticks | 1;
	} else {
		t->t_quiet = 0;
	}
	if (v == before)
		return false;
	t->prev = before;
	t->t_change = now_unix;
	/* A flow first seen healthy is news to no one: not reported. */
	if (before == MTS_V_NONE && v == MTS_V_HEALTHY)
		return false;
	if (v < MTS_V_MAX)
		m->verdicts_issued[v]++;
	return true;
}

void mts_model_tally(const struct mts_model *m, unsigned long out[MTS_V_MAX])
{
	const struct mts_track *t;

	memset(out, 0, sizeof(unsigned long) * MTS_V_MAX);
	mts_model_each(m, t)
		if ((unsigned)t->a.verdict < MTS_V_MAX)
			out[t->a.verdict]++;
}
