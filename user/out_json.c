// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* out_json.c - one JSON object per line; every object has "ts" and "event". */
#include <json-c/json.h>
#include "format.h"
#include "output.h"

static json_object *event_new(const char *event, double ts)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "ts", json_object_new_double(ts));
	json_object_object_add(o, "event", json_object_new_string(event));
	return o;
}

static void emit(FILE *f, json_object *o)
{
	fprintf(f, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	fflush(f);
	json_object_put(o);
}

static void add_int(json_object *o, const char *k, long long v)
{
	json_object_object_add(o, k, json_object_new_int64(v));
}

static json_object *counters_obj(const struct mts_counters *c)
{
	json_object *o = json_object_new_object();

	for (int i = 0; i < MTS_C_MAX; i++)
		add_int(o, mts_counter_name(i), (long long)c->c[i]);
	return o;
}

void mts_json_start(FILE *f, double ts, const struct mts_iface_report *ifs, int n)
{
	json_object *o = event_new("start", ts), *arr = json_object_new_array();

	for (int i = 0; i < n; i++) {
		json_object *ifo = json_object_new_object();

		json_object_object_add(ifo, "name", json_object_new_string(ifs[i].name));
		json_object_object_add(ifo, "hook", json_object_new_string(ifs[i].hook));
		json_object_object_add(ifo, "l3", json_object_new_boolean(ifs[i].l3));
		json_object_array_add(arr, ifo);
	}
	json_object_object_add(o, "ifaces", arr);
	emit(f, o);
}

void mts_json_verdict(FILE *f, const struct mts_report *r)
{
	const struct mts_track *t = r->t;
	const struct mts_assessment *a = &t->a;
	int dir = a->dir < 0 ? 0 : a->dir;
	const struct mts_dir *d = &t->rec.dir[dir];
	char src[MTS_ENDPOINT_LEN], dst[MTS_ENDPOINT_LEN];
	json_object *o = event_new("verdict", r->ts);

	mts_fmt_endpoint(src, sizeof(src), &t->key, dir);
	mts_fmt_endpoint(dst, sizeof(dst), &t->key, !dir);
	json_object_object_add(o, "verdict", json_object_new_string(mts_verdict_name(a->verdict)));
	json_object_object_add(o, "prev", json_object_new_string(mts_verdict_name(t->prev)));
	json_object_object_add(o, "iface", json_object_new_string(r->iface));
	json_object_object_add(o, "proto", json_object_new_string(mts_proto_name(t->key.proto)));
	json_object_object_add(o, "family", json_object_new_string(mts_family_name(t->key.family)));
	json_object_object_add(o, "src", json_object_new_string(src));
	json_object_object_add(o, "dst", json_object_new_string(dst));
	if (a->wall_high || a->verdict == MTS_V_BLACKHOLE) {
		add_int(o, "wall_low", a->wall_low);
		add_int(o, "wall_high", a->wall_high);
		add_int(o, "advice_mtu", a->advice_mtu);
		add_int(o, "advice_mss", a->advice_mss);
	}
	json_object_object_add(o, "why", json_object_new_string(a->why ? a->why : ""));
	add_int(o, "seg_max", d->seg_max);
	add_int(o, "delivered_max", d->deliv_max);
	add_int(o, "hole_resends", d->hole_rtx);
	add_int(o, "large_retrans", d->rtx_large);
	add_int(o, "small_retrans", d->rtx_small);
	add_int(o, "ptb_rx", d->ptb_rx);
	add_int(o, "ptb_tx", d->ptb_tx);
	add_int(o, "ptb_mtu", d->ptb_mtu);
	add_int(o, "oversize", d->oversize);
	emit(f, o);
}

void mts_json_summary(FILE *f, const struct mts_summary *s)
{
	json_object *o = event_new("summary", s->ts);
	json_object *flows = json_object_new_object(), *issued = json_object_new_object();
	json_object *arr = json_object_new_array();

	for (int v = MTS_V_HEALTHY; v < MTS_V_MAX; v++) {
		add_int(flows, mts_verdict_name(v), s->flows[v]);
		add_int(issued, mts_verdict_name(v), s->issued[v]);
	}
	json_object_object_add(o, "flows", flows);
	json_object_object_add(o, "issued", issued);
	for (int i = 0; i < s->n_ifs; i++) {
		json_object *ifo = json_object_new_object();

		json_object_object_add(ifo, "name", json_object_new_string(s->ifs[i].name));
		json_object_object_add(ifo, "ingress", counters_obj(&s->ifs[i].in));
		json_object_object_add(ifo, "egress", counters_obj(&s->ifs[i].out));
		json_object_array_add(arr, ifo);
	}
	json_object_object_add(o, "ifaces", arr);
	emit(f, o);
}
