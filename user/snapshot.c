// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* snapshot.c - the detector's state as JSON (schema in snapshot.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "format.h"
#include "out_prom.h"
#include "snapshot.h"

#define TICK_SECONDS ((double)(1u << MTS_TICK_SHIFT) / 1e9)

static void add_int(json_object *o, const char *k, long long v)
{
	json_object_object_add(o, k, json_object_new_int64(v));
}

static void add_str(json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, json_object_new_string(v));
}

static void add_num(json_object *o, const char *k, double v)
{
	/* Milliseconds are plenty; fewer digits read better. */
	json_object_object_add(o, k, json_object_new_double((long long)(v * 1000) / 1000.0));
}

json_object *mts_flow_json(const struct mts_track *t, const char *iface, double now,
			   __u32 now_ticks, bool full)
{
	const struct mts_assessment *a = &t->a;
	int dir = a->dir < 0 ? 0 : a->dir;
	const struct mts_dir *d = &t->rec.dir[dir];
	char src[MTS_ENDPOINT_LEN], dst[MTS_ENDPOINT_LEN];
	json_object *o = json_object_new_object();

	mts_fmt_endpoint(src, sizeof(src), &t->key, dir);
	mts_fmt_endpoint(dst, sizeof(dst), &t->key, !dir);
	add_str(o, "verdict", mts_verdict_name(a->verdict));
	add_str(o, "prev", mts_verdict_name(t->prev));
	add_str(o, "iface", iface);
	add_str(o, "proto", mts_proto_name(t->key.proto));
	add_str(o, "family", mts_family_name(t->key.family));
	add_str(o, "src", src);
	add_str(o, "dst", dst);
	/* outbound: the data passes here and is lost further on; inbound: it
	 * is lost on its way here (a download through the hole) */
	add_str(o, "direction", a->inbound ? "inbound" : "outbound");
	if (full || a->wall_high || a->verdict == MTS_V_BLACKHOLE) {
		add_int(o, "wall_low", a->wall_low);
		add_int(o, "wall_high", a->wall_high);
		add_int(o, "advice_mtu", a->advice_mtu);
		add_int(o, "advice_mss", a->advice_mss);
	}
	add_str(o, "why", a->why ? a->why : "");
	if (a->cause)
		add_str(o, "cause", a->cause);
	add_int(o, "seg_max", d->seg_max);
	add_int(o, "delivered_max", d->deliv_max);
	add_int(o, "hole_resends", d->hole_rtx);
	add_int(o, "large_retrans", d->rtx_large);
	add_int(o, "small_retrans", d->rtx_small);
	add_int(o, "ptb_rx", d->ptb_rx);
	add_int(o, "ptb_tx", d->ptb_tx);
	add_int(o, "ptb_mtu", d->ptb_mtu);
	add_int(o, "oversize", d->oversize);
	if (full) {
		add_num(o, "age", (__s32)(now_ticks - t->rec.t_first) * TICK_SECONDS);
		add_num(o, "since", t->t_change ? now - t->t_change : 0);
	}
	return o;
}

static json_object *counters_json(const struct mts_counters *c)
{
	json_object *o = json_object_new_object();

	for (int i = 0; i < MTS_C_MAX; i++)
		add_int(o, mts_counter_name(i), (long long)c->c[i]);
	return o;
}

static int worst_first(const void *a, const void *b)
{
	const struct mts_track *x = *(const struct mts_track *const *)a;
	const struct mts_track *y = *(const struct mts_track *const *)b;
	int d = mts_verdict_rank(x->a.verdict) - mts_verdict_rank(y->a.verdict);

	if (d)
		return d;
	return (x->t_change < y->t_change) - (x->t_change > y->t_change);	/* newest first */
}

json_object *mts_snapshot_json(const struct mts_state *s, double now, __u32 now_ticks,
			       const char *(*ifname)(void *ctx, __u32 ifindex), void *ctx)
{
	json_object *o = json_object_new_object(), *ifs = json_object_new_array();
	json_object *totals = json_object_new_object(), *verdicts = json_object_new_object();
	json_object *issued = json_object_new_object(), *table = json_object_new_object();
	json_object *flows = json_object_new_array();
	unsigned long tally[MTS_V_MAX];
	struct mts_counters sum = { 0 };
	const struct mts_track *t, **order;
	unsigned long long errs = 0;
	size_t n = 0;

	json_object_object_add(o, "ts", json_object_new_double(now));
	add_str(o, "version", MTS_VERSION);
	add_num(o, "uptime", now - s->t_start);
	for (int i = 0; i < s->n_ifs; i++) {
		const struct mts_iface_report *r = &s->ifs[i];
		json_object *ifo = json_object_new_object();

		add_str(ifo, "name", r->name);
		add_str(ifo, "hook", r->hook);
		json_object_object_add(ifo, "l3", json_object_new_boolean(r->l3));
		json_object_object_add(ifo, "ingress", counters_json(&r->in));
		json_object_object_add(ifo, "egress", counters_json(&r->out));
		json_object_array_add(ifs, ifo);
		for (int c = 0; c < MTS_C_MAX; c++)
			sum.c[c] += r->in.c[c] + r->out.c[c];
	}
	json_object_object_add(o, "ifaces", ifs);

	for (int c = MTS_C_ERR_L2; c < MTS_C_MAX; c++)
		errs += sum.c[c];
	add_int(totals, "packets", sum.c[MTS_C_PKTS]);
	add_int(totals, "bytes", sum.c[MTS_C_BYTES]);
	add_int(totals, "rtx_large", sum.c[MTS_C_RTX_LARGE]);
	add_int(totals, "ptb_rx", sum.c[MTS_C_PTB_RX]);
	add_int(totals, "ptb_tx", sum.c[MTS_C_PTB_TX]);
	add_int(totals, "df_oversize", sum.c[MTS_C_DF_OVERSIZE]);
	add_int(totals, "parse_errors", errs);
	add_int(totals, "events_dropped", sum.c[MTS_C_EV_DROP]);
	json_object_object_add(o, "totals", totals);

	mts_model_tally(s->m, tally);
	for (int v = MTS_V_HEALTHY; v < MTS_V_MAX; v++) {
		add_int(verdicts, mts_verdict_name(v), tally[v]);
		add_int(issued, mts_verdict_name(v), s->m->verdicts_issued[v]);
	}
	json_object_object_add(o, "verdicts", verdicts);
	json_object_object_add(o, "issued", issued);
	add_int(table, "entries", s->table_entries);
	add_int(table, "capacity", s->table_capacity);
	json_object_object_add(o, "flow_table", table);

	order = malloc((s->m->n + 1) * sizeof(*order));
	if (order) {
		mts_model_each(s->m, t)
			if (t->a.verdict != MTS_V_NONE)
				order[n++] = t;
		qsort(order, n, sizeof(*order), worst_first);
		for (size_t i = 0; i < n; i++) {
			const char *name = ifname(ctx, order[i]->ifindex);

			json_object_array_add(flows, mts_flow_json(order[i], name ? name : "?",
								   now, now_ticks, true));
		}
		free(order);
	}
	json_object_object_add(o, "flows", flows);
	return o;
}

int mts_page_render(const struct mts_state *s, bool metrics, double now, __u32 now_ticks,
		    const char *(*ifname)(void *ctx, __u32 ifindex), void *ctx,
		    char **buf, size_t *len)
{
	*buf = NULL;
	*len = 0;
	if (metrics) {
		FILE *f = open_memstream(buf, len);

		if (!f)
			return -ENOMEM;
		mts_prom_render(f, s);
		if (!fclose(f))
			return 0;
	} else {
		json_object *o = mts_snapshot_json(s, now, now_ticks, ifname, ctx);
		const char *txt = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);

		*buf = txt ? strdup(txt) : NULL;
		*len = *buf ? strlen(*buf) : 0;
		json_object_put(o);
		if (*buf)
			return 0;
	}
	free(*buf);
	*buf = NULL;
	*len = 0;
	return -ENOMEM;
}
