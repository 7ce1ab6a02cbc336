// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* out_json.c - one JSON object per line; every object has "ts" and "event". */
#include <string.h>
#include <json-c/json.h>
#include "format.h"
#include "output.h"
#include "snapshot.h"

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

void mts_json_start(FILE *f, double ts, const struct mts_iface_report *ifs, int n,
		    const char *listen)
{
	json_object *o = event_new("start", ts), *arr = json_object_new_array();

	for (int i = 0; i < n; i++) {
		json_object *ifo = json_object_new_object();

		json_object_object_add(ifo, "name", json_object_new_string(ifs[i].name));
		json_object_object_add(ifo, "hook", json_object_new_string(ifs[i].hook));
		json_object_object_add(ifo, "l3", json_object_new_boolean(ifs[i].l3));
		json_object_object_add(ifo, "attach_ms", json_object_new_double(ifs[i].attach_ms));
		if (ifs[i].why)
			json_object_object_add(ifo, "why", json_object_new_string(ifs[i].why));
		json_object_array_add(arr, ifo);
	}
	json_object_object_add(o, "ifaces", arr);
	if (listen)
		json_object_object_add(o, "listen", json_object_new_string(listen));
	emit(f, o);
}

void mts_json_attach(FILE *f, double ts, const struct mts_iface_report *ifr)
{
	json_object *o = event_new("attach", ts);

	json_object_object_add(o, "iface", json_object_new_string(ifr->name));
	json_object_object_add(o, "hook", json_object_new_string(ifr->hook));
	json_object_object_add(o, "l3", json_object_new_boolean(ifr->l3));
	json_object_object_add(o, "attach_ms", json_object_new_double(ifr->attach_ms));
	if (ifr->why)
		json_object_object_add(o, "why", json_object_new_string(ifr->why));
	emit(f, o);
}

void mts_json_iface(FILE *f, double ts, const struct mts_iface_report *ifr, const char *state)
{
	json_object *o = event_new("iface", ts);

	json_object_object_add(o, "iface", json_object_new_string(ifr->name));
	json_object_object_add(o, "state", json_object_new_string(state));
	if (!strcmp(state, "back")) {
		json_object_object_add(o, "hook", json_object_new_string(ifr->hook));
		json_object_object_add(o, "l3", json_object_new_boolean(ifr->l3));
		json_object_object_add(o, "attach_ms", json_object_new_double(ifr->attach_ms));
	}
	emit(f, o);
}

void mts_json_hook(FILE *f, double ts, const struct mts_hook_report *h)
{
	json_object *o = event_new("warning", ts);

	json_object_object_add(o, "warning", json_object_new_string(h->blind ? "hook-blind" : "hook-seeing"));
	json_object_object_add(o, "iface", json_object_new_string(h->iface));
	json_object_object_add(o, "direction", json_object_new_string(h->direction));
	json_object_object_add(o, "blind", json_object_new_boolean(h->blind));
	if (h->blind) {
		add_int(o, "missed_packets", h->missed);
		json_object_object_add(o, "seconds", json_object_new_double(h->seconds));
	}
	emit(f, o);
}

void mts_json_verdict(FILE *f, const struct mts_report *r)
{
	json_object *o = event_new("verdict", r->ts);
	json_object *flow = mts_flow_json(r->t, r->iface, r->ts, 0, false);

	json_object_object_foreach(flow, k, v)
		json_object_object_add(o, k, json_object_get(v));
	json_object_put(flow);
	if (r->tunnel) {
		json_object_object_add(o, "tunnel", json_object_new_string(r->tunnel));
		json_object_object_add(o, "peer", json_object_new_string(r->peer));
		json_object_object_add(o, "endpoint", json_object_new_string(r->endpoint ?: ""));
		json_object_object_add(o, "layer", json_object_new_string(r->layer));
		if (r->tunnel_mtu)
			json_object_object_add(o, "tunnel_mtu", json_object_new_int(r->tunnel_mtu));
	}
	if (r->confirm) {
		json_object_object_add(o, "confirm", json_object_new_string(r->confirm));
		json_object_object_add(o, "probing", json_object_new_boolean(r->probing));
	}
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
