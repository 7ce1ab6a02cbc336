// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * watch.c - the live loop: events name flows to watch, a tick reads their
 * records and judges them, verdict changes go to the output.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <unistd.h>
#include <linux/if_ether.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "autoprobe.h"
#include "discover.h"
#include "format.h"
#include "http.h"
#include "output.h"
#include "snapshot.h"
#include "top.h"
#include "watch.h"

#define MTS_LINGER_MS	30000	/* keep an unremarkable flow this long */
#define MTS_CLOSED_LINGER_MS 3000 /* and a closed one this long after its last packet */
#define MTS_COUNT_S	5.0	/* how often the flow table is counted (exporter, top) */
#define MTS_RESCAN_S	5.0	/* discovery: how often WireGuard is looked at again */
#define MTS_HOOKS_S	1.0	/* how often each hook is held against its interface */
#define MTS_RESCAN_SOON_S 0.3	/* discovery: a look this soon after a new interface */
#define MTS_WAITING_MS	500	/* how often the table is swept for waiting downloads */
#define MTS_WAITING_SLOTS 262144	/* ... for a table up to this size; a bigger one
					 * less often (waiting_every()) */

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/*
 * The loop owns everything; the HTTP thread only renders pages from it,
 * under lock, into memory. The lock is taken by the loop only around a
 * tick, never while it waits for events.
 */
struct watch {
	const struct mts_watch_opts *o;
	struct mts_loader L;
	struct mts_model m;
	struct mts_iface_report ifr[MTS_MAX_IFACES];
	__u64 ev_drops;
	__u32 t_waiting;	/* ticks: the latest sweep for waiting downloads */
	pthread_mutex_t lock;
	struct mts_http *http;
	struct mts_top *top;
	double t_start;		/* Unix time of attach */
	long table_entries;
	bool quiet;		/* the screen belongs to top, or only a snapshot is wanted */
	const char *source;	/* replay: the capture, named in place of interfaces */
	struct ring_buffer *rb;
	struct mts_wg wg;	/* WireGuard interfaces and peers (correlation) */
	bool have_wg;
	char why[MTS_MAX_IFACES][160];	/* discovery: why each interface is watched */
	char failed[MTS_MAX_IFACES][IF_NAMESIZE];	/* could not attach: said once */
	int n_failed;
	struct mts_autoprobe *ap;	/* --probe */
	char peer_bad[MTS_WG_PEERS_MAX][48];	/* peers reported in a black hole */
	int n_peer_bad;
	struct mts_blind blind[MTS_MAX_IFACES][2];	/* each hook against its interface */
	int nl;			/* rtnetlink, RTMGRP_LINK: interfaces that go and come back */
	bool rescan_soon;	/* discovery: a new interface appeared */
};


static int on_event(void *ctx, void *data, size_t size)
{
	struct watch *w = ctx;
	const struct mts_event *e = data;

	if (size < sizeof(*e))
		return 0;
	if (!mts_model_add(&w->m, &e->key, e->ifindex))
		return -ENOMEM;
	return 0;
}

/* Tie a flow to its WireGuard peer: an inner flow (on a tunnel interface)
 * by the peer's allowed IPs, an outer datagram flow by the endpoint. The
 * peer, or NULL. */
static const struct mts_wg_peer *tunnel_of(const struct watch *w, const struct mts_track *t,
					   struct mts_report *r, char *ep, size_t eplen)
{
	const struct mts_flow_key *k = &t->key;
	int dir = t->a.dir < 0 ? 0 : t->a.dir;

	if (!w->have_wg)
		return NULL;
	for (int i = 0; i < w->wg.n; i++) {
		const struct mts_wg_iface *ifc = &w->wg.ifs[i];
		const struct mts_wg_peer *p;

		if (ifc->ifindex != (int)t->ifindex)
			continue;
		/* The far end of the data first: that is where it tunnels to. */
		p = mts_wg_peer_by_ip(ifc, k->family, (const __u8 *)k->addr[!dir]);
		p = p ?: mts_wg_peer_by_ip(ifc, k->family, (const __u8 *)k->addr[dir]);
		if (!p)
			return NULL;
		r->tunnel = ifc->shown;
		r->peer = p->key;
		r->endpoint = p->has_endpoint ? mts_addr_str(&p->endpoint, p->port, ep, eplen) : "";
		r->layer = "inner";
		r->tunnel_mtu = ifc->mtu;
		return p;
	}
	if (k->proto != IPPROTO_UDP)
		return NULL;
	for (int end = 0; end < 2; end++) {
		const struct mts_wg_iface *ifc;
		const struct mts_wg_peer *p = mts_wg_peer_by_endpoint(&w->wg, k->family,
				(const __u8 *)k->addr[end], k->port[end], &ifc);

		if (p) {
			r->tunnel = ifc->shown;
			r->peer = p->key;
			r->endpoint = mts_addr_str(&p->endpoint, p->port, ep, eplen);
			r->layer = "outer";
			return p;
		}
	}
	return NULL;
}

/*
 * What a probe of t's path goes to: the flow's far end (a TCP port it
 * listens on: the receiver of an upload, the sender of a download) or,
 * inside a WireGuard tunnel, the peer's endpoint (whose closed TCP port
 * answers RST), whose result less the tunnel's overhead is the inner wall.
 */
static void probe_target(const struct watch *w, const struct mts_track *t,
			 struct mts_probe_req *req)
{
	const struct mts_flow_key *k = &t->key;
	int far = t->a.dir < 0 ? 1 : t->a.inbound ? t->a.dir : !t->a.dir;
	const struct mts_wg_peer *p;
	struct mts_report r = { 0 };
	char ep[64];

	memset(req, 0, sizeof(*req));
	req->key = *k;
	p = tunnel_of(w, t, &r, ep, sizeof(ep));
	if (p && p->has_endpoint && !strcmp(r.layer, "inner")) {
		req->dst.ss_family = p->endpoint.family;
		req->port = p->port;
		/* WireGuard: 32 bytes of header, counter and tag, UDP 8, outer IP. */
		req->overhead = 32 + 8 + (p->endpoint.family == AF_INET ? 20 : 40);
		if (p->endpoint.family == AF_INET)
			memcpy(&((struct sockaddr_in *)&req->dst)->sin_addr, p->endpoint.b, 4);
		else
			memcpy(&((struct sockaddr_in6 *)&req->dst)->sin6_addr, p->endpoint.b, 16);
	} else {
		req->dst.ss_family = k->family;
		req->port = k->port[far];
		if (k->family == AF_INET)
			memcpy(&((struct sockaddr_in *)&req->dst)->sin_addr, k->addr[far], 4);
		else
			memcpy(&((struct sockaddr_in6 *)&req->dst)->sin6_addr, k->addr[far], 16);
	}
	req->dlen = req->dst.ss_family == AF_INET ? sizeof(struct sockaddr_in)
						  : sizeof(struct sockaddr_in6);
}

/* The address a probe request goes to, as text (no brackets, no port). */
static const char *req_addr(const struct mts_probe_req *req, char *buf, size_t len)
{
	const void *a = req->dst.ss_family == AF_INET
			? (const void *)&((const struct sockaddr_in *)&req->dst)->sin_addr
			: (const void *)&((const struct sockaddr_in6 *)&req->dst)->sin6_addr;

	if (!inet_ntop(req->dst.ss_family, a, buf, len))
		snprintf(buf, len, "?");
	return buf;
}

/* "mtuscope probe DEST:PORT", the command that settles a silent suspect. */
static const char *confirm_cmd(const struct watch *w, const struct mts_track *t,
			       char *buf, size_t len)
{
	struct mts_probe_req req;
	char addr[INET6_ADDRSTRLEN];
	bool v6;

	if (!t->a.needs_probe || t->a.verdict != MTS_V_SUSPECT)
		return NULL;
	probe_target(w, t, &req);
	v6 = req.dst.ss_family == AF_INET6;
	req_addr(&req, addr, sizeof(addr));
	snprintf(buf, len, "mtuscope probe %s%s%s:%u%s", v6 ? "[" : "", addr, v6 ? "]" : "",
		 req.port, req.overhead ? "  (the tunnel carries its path MTU less " : "");
	if (req.overhead)
		snprintf(buf + strlen(buf), len - strlen(buf), "%u)", req.overhead);
	return buf;
}

static void report(struct watch *w, const struct mts_track *t, double now)
{
	const char *name = w->source ?: mts_loader_ifname(&w->L, t->ifindex);
	char unknown[24], ep[64], confirm[128];
	struct mts_report r = { .ts = now, .t = t };

	tunnel_of(w, t, &r, ep, sizeof(ep));
	r.confirm = confirm_cmd(w, t, confirm, sizeof(confirm));
	r.probing = w->ap != NULL;

	if (!name) {
		snprintf(unknown, sizeof(unknown), "if%u", t->ifindex);
		name = unknown;
	}
	r.iface = name;
	if (w->quiet)
		return;
	if (w->o->json)
		mts_json_verdict(stdout, &r);
	else
		mts_text_verdict(stdout, &r);
}

/* --probe: a suspect or black-hole flow gets one path MTU search (or the
 * result of its destination's search of the last minute). */
static void maybe_probe(struct watch *w, struct mts_track *t)
{
	struct mts_probe_req req;

	if (!w->ap || t->probe_asked ||
	    (t->a.verdict != MTS_V_SUSPECT && t->a.verdict != MTS_V_BLACKHOLE))
		return;
	probe_target(w, t, &req);
	t->probe_asked = mts_autoprobe_ask(w->ap, &req);
}

/*
 * A waiting download that an idle flow resembles is news only once the
 * probe has spoken: its suspect is held back (without --probe, for good:
 * every idle session would be one), and a probe that clears it leaves
 * nothing to say. Reports what is news.
 */
static void report_change(struct watch *w, struct mts_track *t, double now)
{
	if (t->a.idle_alike && t->a.needs_probe) {
		t->held = true;
		return;
	}
	if (t->held && t->a.verdict == MTS_V_HEALTHY) {
		t->held = false;
		return;
	}
	t->held = false;
	report(w, t, now);
}

/*
 * What a finished probe says t's path carries (0: nothing known): its path
 * MTU or, through a tunnel, the endpoint's less the tunnel's overhead. A
 * path that carries full Ethernet packets (1500) all the way has no wall
 * for peers on Ethernet: a datagram larger than that, each peer fragments
 * before it sends, so the tunnel carries all its own MTU allows (WireGuard
 * at 1440 over IPv6 needs 1520: fragmented, it works). A path that carries
 * less has its wall where the other peer's DF datagrams die.
 */
static unsigned probe_carries(const struct watch *w, const struct mts_track *t,
			      const struct mts_probe_done *d)
{
	struct mts_report r = { 0 };
	char ep[64];

	if (d->rc || d->res.pmtu <= d->req.overhead)
		return 0;
	if (!d->req.overhead)
		return d->res.pmtu;
	if (t && !d->res.lost && d->res.pmtu >= ETH_DATA_LEN &&
	    tunnel_of(w, t, &r, ep, sizeof(ep)) && r.tunnel_mtu)
		return r.tunnel_mtu;
	return d->res.pmtu - d->req.overhead;
}

/* Finished searches: pin the flows' walls, say what was found. */
static void probe_results(struct watch *w)
{
	struct mts_probe_done d;

	while (w->ap && mts_autoprobe_take(w->ap, &d)) {
		struct mts_track *t = mts_model_find(&w->m, &d.req.key);
		char addr[INET6_ADDRSTRLEN];
		unsigned inner = probe_carries(w, t, &d);

		req_addr(&d.req, addr, sizeof(addr));
		if (t && inner)
			t->probe.pmtu = inner;
		if (t && d.rc && d.res.dead)
			t->probe.dead = true;
		/* No answer: the held suspect is all there is to say. */
		if (t && t->held && !inner) {
			t->held = false;
			report(w, t, mts_now_unix());
		}
		if (w->quiet || d.cached)
			continue;
		if (w->o->json) {
			json_object *o = json_object_new_object();
			char fdst[MTS_ENDPOINT_LEN];
			int dir = t && t->a.dir >= 0 ? t->a.dir : 0;

			mts_fmt_endpoint(fdst, sizeof(fdst), &d.req.key, !dir);
			json_object_object_add(o, "ts", json_object_new_double(mts_now_unix()));
			json_object_object_add(o, "event", json_object_new_string("probe"));
			json_object_object_add(o, "dest", json_object_new_string(addr));
			json_object_object_add(o, "port", json_object_new_int(d.req.port));
			json_object_object_add(o, "flow_dst", json_object_new_string(fdst));
			json_object_object_add(o, "method", json_object_new_string(d.res.method ?: "none"));
			json_object_object_add(o, "probes", json_object_new_int(d.res.probes));
			if (d.rc) {
				json_object_object_add(o, "error", json_object_new_string(d.err));
			} else {
				json_object_object_add(o, "pmtu", json_object_new_int(d.res.pmtu));
				if (d.req.overhead)
					json_object_object_add(o, "tunnel_mtu", json_object_new_int(inner));
			}
			printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
			json_object_put(o);
		} else if (d.rc) {
			printf("probe %s: %s (%u probes)\n", addr, d.err, d.res.probes);
		} else {
			printf("probe %s: path MTU %u (%s, %u probes)", addr, d.res.pmtu, d.res.method,
			       d.res.probes);
			if (d.req.overhead)
				printf("; the tunnel carries %u", inner);
			printf("\n");
		}
		fflush(stdout);
	}
}

/* Ticks between sweeps for waiting downloads: a pass reads the used slots
 * (~20 ms for a million young flows here; an empty table costs its 8 bytes
 * per 64 slots), so a bigger table is swept 1 s apart per MTS_WAITING_SLOTS,
 * and the daemon stays under 1% of a core (1M slots: every 4 s). */
static __u32 waiting_every(const struct watch *w)
{
	__u32 times = (w->L.flows_max + MTS_WAITING_SLOTS - 1) / MTS_WAITING_SLOTS;

	return MTS_MS_TO_TICKS(MTS_WAITING_MS) * (times > 1 ? 2 * times : 1);
}

/* Downloads that may hang on their first flight announce themselves by no
 * packet at all: they are found in the table. Each slot is judged in place
 * (a racy read, as a filter); only a candidate is copied and judged again. */
static void sweep_waiting(struct watch *w, __u32 now)
{
	for (__u32 i = mts_loader_next(&w->L, 0); i < w->L.flows_max;
	     i = mts_loader_next(&w->L, i + 1)) {
		const struct mts_slot *s = mts_loader_peek(&w->L, i);
		struct mts_flow_key key;
		struct mts_flow rec;

		if (!s || s->key.proto != IPPROTO_TCP || !(s->flow.hflags & MTS_H_SYN_IN) ||
		    (!mts_inbound_waiting(&w->m.cfg, &s->flow, s->key.family, 0, now) &&
		     !mts_inbound_waiting(&w->m.cfg, &s->flow, s->key.family, 1, now)) ||
		    !mts_loader_slot(&w->L, i, &key, &rec))
			continue;
		for (int d = 0; d < 2; d++)
			if (mts_inbound_waiting(&w->m.cfg, &rec, key.family, d, now))
				mts_model_add(&w->m, &key, rec.ifindex);
	}
}

/* Events lost to a full ring buffer: find the flows they were about. */
static void sweep(struct watch *w)
{
	for (__u32 i = mts_loader_next(&w->L, 0); i < w->L.flows_max;
	     i = mts_loader_next(&w->L, i + 1)) {
		struct mts_flow_key key;
		struct mts_flow rec;

		if (!mts_loader_slot(&w->L, i, &key, &rec))
			continue;
		for (int d = 0; d < 2; d++)
			if (rec.dir[d].hole_rtx || rec.dir[d].ptb_mtu || rec.dir[d].oversize ||
			    (rec.dir[d].xflags & MTS_X_GAP))
				mts_model_add(&w->m, &key, rec.ifindex);
	}
}

static void read_counters(struct watch *w)
{
	for (int i = 0; i < w->L.n; i++) {
		mts_loader_counters(&w->L, i, 0, &w->ifr[i].in);
		mts_loader_counters(&w->L, i, 1, &w->ifr[i].out);
	}
}

/*
 * Inside a WireGuard tunnel a delivered inner packet of d bytes went out
 * padded to 16 (never beyond the tunnel MTU), so every inner packet up to
 * that padded size fits the same outer datagram: the tunnel MTU to set is
 * min(pad16(d), the tunnel's MTU), exactly, unless a probe pinned it.
 */
static void wireguard_advice(const struct watch *w, struct mts_track *t)
{
	struct mts_assessment *a = &t->a;
	struct mts_report r = { 0 };
	unsigned m;
	char ep[64];

	if (!a->wall_low || !a->advice_mtu || t->probe.pmtu ||
	    (a->verdict != MTS_V_BLACKHOLE && a->verdict != MTS_V_SUSPECT))
		return;
	tunnel_of(w, t, &r, ep, sizeof(ep));
	if (!r.tunnel || strcmp(r.layer, "inner") || !r.tunnel_mtu)
		return;
	m = (a->wall_low + 15) / 16 * 16;
	if (m > r.tunnel_mtu)
		m = r.tunnel_mtu;
	/* Only ever better than the plain advice: a flow that delivered just
	 * an 89-byte request would otherwise be told MTU 96. */
	if (m >= a->wall_high || m < a->wall_low || m <= a->advice_mtu)
		return;
	a->advice_mtu = m;
	a->advice_mss = m - (t->key.family == AF_INET6 ? 60 : 40);
}

/* PTBs this box forwarded (out of any watched interface) so far. */
static unsigned long long forwarded_ptbs(const struct watch *w)
{
	unsigned long long n = 0;

	for (int i = 0; i < w->L.n; i++)
		n += w->ifr[i].out.c[MTS_C_PTB_FWD];
	return n;
}

/*
 * A sender that "ignores" the PTBs arriving here may never have got them:
 * if more came for this flow since it was first seen with one and this box
 * forwarded none towards anyone meanwhile, they do not get past this
 * gateway (conntrack did not match them to the NATed flow, or FORWARD
 * drops them).
 */
static void nat_cause(const struct watch *w, struct mts_track *t, const struct mts_flow *rec)
{
	int dir = t->a.dir;

	if (dir < 0 || dir > 1 || !rec->dir[dir].ptb_rx || w->source)
		return;
	if (!t->fwd_base_set) {
		t->fwd_base = forwarded_ptbs(w);
		t->rx_base = rec->dir[dir].ptb_rx;
		t->fwd_base_set = true;
	}
	if (t->a.verdict == MTS_V_PTB_IGNORED && rec->dir[dir].ptb_rx > t->rx_base &&
	    forwarded_ptbs(w) == t->fwd_base)
		t->a.cause = MTS_CAUSE_NAT;
}

/* Judge the watched flows at now (ticks) and unix_now (for reports). */
static void tick_at(struct watch *w, __u32 now, double unix_now)
{
	__u32 linger = MTS_MS_TO_TICKS(MTS_LINGER_MS);
	__u32 closed_linger = MTS_MS_TO_TICKS(MTS_CLOSED_LINGER_MS);
	struct mts_flow_key *gone = NULL;
	size_t n_gone = 0, cap_gone = 0;
	struct mts_track *t;
	__u64 drops = 0;

	read_counters(w);
	for (int i = 0; i < w->L.n; i++)
		drops += w->ifr[i].in.c[MTS_C_EV_DROP] + w->ifr[i].out.c[MTS_C_EV_DROP];
	if (drops > w->ev_drops) {
		w->ev_drops = drops;
		sweep(w);
	}
	if (!w->t_waiting || (__s32)(now - w->t_waiting) >= (__s32)waiting_every(w)) {
		sweep_waiting(w, now);
		w->t_waiting = now | 1;
	}

	mts_model_each(&w->m, t) {
		struct mts_flow rec;
		bool drop;

		if (!mts_loader_flow(&w->L, &t->key, &rec)) {
			drop = true;	/* evicted or never made it into the table */
		} else {
			int dir;

			const char *cause = t->a.cause;
			unsigned wall = t->a.wall_high;
			bool changed = mts_model_update(&w->m, t, &rec, now, unix_now);

			wireguard_advice(w, t);
			nat_cause(w, t, &rec);
			/* The cause learnt later is news too. */
			if (!changed && t->a.cause && !strcmp(t->a.cause, MTS_CAUSE_NAT) &&
			    (!cause || strcmp(cause, MTS_CAUSE_NAT)))
				report(w, t, unix_now);
			/* So is the wall a probe pinned under a standing black hole. */
			else if (!changed && t->a.verdict == MTS_V_BLACKHOLE && t->probe.pmtu &&
				 t->a.wall_high != wall && t->a.wall_high == t->a.wall_low + 1)
				report(w, t, unix_now);
			if (changed)
				report_change(w, t, unix_now);
			maybe_probe(w, t);
			dir = t->a.dir;
			/* Quiet and unremarkable for a while, or closed by its
			 * sender (FIN/RST) and silent since: no longer news. */
			/* Signed: t_quiet and t_active are stamped now | 1, one
			 * tick ahead of an even now, and an unsigned difference
			 * then wraps to "long ago" (a new healthy flow was
			 * dropped on its first tick, one time in two). */
			drop = (t->t_quiet && (__s32)(now - t->t_quiet) > (__s32)linger &&
				(__s32)(now - t->t_active) > (__s32)linger) ||
			       (dir >= 0 && (rec.dir[dir].flags & MTS_F_FIN) &&
				(__s32)(now - t->t_active) > (__s32)closed_linger);
		}
		if (drop) {
			if (n_gone == cap_gone) {
				void *p = realloc(gone, (cap_gone = cap_gone * 2 + 16) * sizeof(*gone));

				if (!p)
					break;
				gone = p;
			}
			gone[n_gone++] = t->key;
		}
	}
	for (size_t i = 0; i < n_gone; i++)
		if ((t = mts_model_find(&w->m, &gone[i])))
			mts_model_remove(&w->m, t);
	free(gone);
}

/*
 * A tunnel's underlay black hole breaks every inner flow of its peer: the
 * peer is reported once, with the flows, when its first flow turns
 * blackhole, and again when none is left.
 */
static void peer_events(struct watch *w, double unix_now)
{
	for (int i = 0; w->have_wg && i < w->wg.n; i++)
		for (int j = 0; j < w->wg.ifs[i].n_peers; j++) {
			const struct mts_wg_peer *p = &w->wg.ifs[i].peers[j];
			json_object *flows = json_object_new_array();
			char ep[64], fdst[MTS_ENDPOINT_LEN], list[512] = "";
			struct mts_track *t;
			int bad = -1, n = 0;

			for (int k = 0; k < w->n_peer_bad; k++)
				if (!strcmp(w->peer_bad[k], p->key))
					bad = k;
			mts_model_each(&w->m, t) {
				struct mts_report r = { 0 };

				if (t->a.verdict != MTS_V_BLACKHOLE)
					continue;
				tunnel_of(w, t, &r, ep, sizeof(ep));
				if (!r.peer || strcmp(r.peer, p->key))
					continue;
				mts_fmt_endpoint(fdst, sizeof(fdst), &t->key, t->a.dir < 0 ? 1 : !t->a.dir);
				json_object_array_add(flows, json_object_new_string(fdst));
				if (strlen(list) + strlen(fdst) + 2 < sizeof(list))
					snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
						 n ? ", " : "", fdst);
				n++;
			}
			if ((n > 0) == (bad >= 0) || (n && w->n_peer_bad == MTS_WG_PEERS_MAX)) {
				json_object_put(flows);
				continue;	/* no news */
			}
			if (n)
				snprintf(w->peer_bad[w->n_peer_bad++], sizeof(w->peer_bad[0]), "%s", p->key);
			else
				memmove(w->peer_bad[bad], w->peer_bad[bad + 1],
					(--w->n_peer_bad - bad) * sizeof(w->peer_bad[0]));
			if (w->quiet) {
				json_object_put(flows);
				continue;
			}
			if (p->has_endpoint)
				mts_addr_str(&p->endpoint, p->port, ep, sizeof(ep));
			else
				snprintf(ep, sizeof(ep), "(none)");
			if (w->o->json) {
				json_object *o = json_object_new_object();

				json_object_object_add(o, "ts", json_object_new_double(unix_now));
				json_object_object_add(o, "event", json_object_new_string("peer"));
				json_object_object_add(o, "verdict",
						       json_object_new_string(n ? "blackhole" : "recovered"));
				json_object_object_add(o, "tunnel", json_object_new_string(w->wg.ifs[i].shown));
				json_object_object_add(o, "peer", json_object_new_string(p->key));
				json_object_object_add(o, "endpoint", json_object_new_string(ep));
				json_object_object_add(o, "flows", flows);
				printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
				json_object_put(o);
			} else {
				json_object_put(flows);
				printf("peer %s (endpoint %s) on %s: %s%s%s\n", p->key, ep, w->wg.ifs[i].shown,
				       n ? "black hole; breaks " : "recovered", list, "");
			}
			fflush(stdout);
		}
}

/* Each hook's packets against its interface's own (rx for ingress, tx for
 * egress; the kernel's link statistics, in this namespace): a hook that
 * misses them is blind, and says so. */
static void check_hooks(struct watch *w, double now)
{
	struct ifaddrs *all, *a;

	if (getifaddrs(&all))
		return;
	for (int i = 0; i < w->L.n; i++) {
		const struct rtnl_link_stats *st = NULL;

		for (a = all; a && !st; a = a->ifa_next)
			if (a->ifa_addr && a->ifa_addr->sa_family == AF_PACKET && a->ifa_data &&
			    !strcmp(a->ifa_name, w->L.ifs[i].name))
				st = a->ifa_data;
		for (int dir = 0; st && dir < 2; dir++) {
			struct mts_blind *b = &w->blind[i][dir];
			__u64 ours = (dir ? &w->ifr[i].out : &w->ifr[i].in)->c[MTS_C_PKTS];
			__u64 missed = b->missed;
			double since = b->since;
			struct mts_hook_report h = { .iface = w->L.ifs[i].shown,
						     .direction = dir ? "egress" : "ingress" };

			if (!mts_blind_update(b, ours, dir ? st->tx_packets : st->rx_packets, now))
				continue;
			w->ifr[i].blind[dir] = h.blind = b->blind;
			h.missed = b->blind ? b->missed : missed;
			h.seconds = now - (b->blind ? b->since : since);
			if (w->quiet)
				continue;
			if (w->o->json)
				mts_json_hook(stdout, mts_now_unix(), &h);
			else
				mts_text_hook(stdout, &h);
		}
	}
	freeifaddrs(all);
}

static void tick(struct watch *w)
{
	double now = mts_now_unix();

	tick_at(w, mts_now_ticks(), now);
	peer_events(w, now);
}

static const char *ifname_cb(void *ctx, __u32 ifindex)
{
	struct watch *w = ctx;

	return mts_loader_ifname(&w->L, ifindex);
}

static struct mts_state state_of(struct watch *w)
{
	unsigned long searches, packets;

	mts_autoprobe_counts(w->ap, &searches, &packets);
	return (struct mts_state){
		.m = &w->m, .ifs = w->ifr, .n_ifs = w->L.n,
		.table_entries = w->table_entries > 0 ? w->table_entries : 0,
		.table_capacity = w->L.flows_max, .t_start = w->t_start,
		.probe = w->ap != NULL, .probe_searches = searches, .probe_packets = packets,
	};
}

/* Caller holds the lock. */
static json_object *snapshot(struct watch *w)
{
	struct mts_state st = state_of(w);

	return mts_snapshot_json(&st, mts_now_unix(), mts_now_ticks(), ifname_cb, w);
}

/* The HTTP thread's view: render in memory under the lock, send without. */
static int render(void *ctx, enum mts_page page, char **buf, size_t *len)
{
	struct watch *w = ctx;
	struct mts_state st;
	int rc;

	pthread_mutex_lock(&w->lock);
	st = state_of(w);
	rc = mts_page_render(&st, page == MTS_PAGE_METRICS, mts_now_unix(), mts_now_ticks(),
			     ifname_cb, w, buf, len);
	pthread_mutex_unlock(&w->lock);
	return rc;
}

static void summarize(struct watch *w, double unix_now)
{
	struct mts_summary s = { .ts = unix_now, .ifs = w->ifr, .n_ifs = w->L.n };

	read_counters(w);
	mts_model_tally(&w->m, s.flows);
	memcpy(s.issued, w->m.verdicts_issued, sizeof(s.issued));
	if (w->o->json)
		mts_json_summary(stdout, &s);
	else
		mts_text_summary(stdout, &s);
}

/* Is name attached already (or was it tried and refused)? */
static bool known_iface(const struct watch *w, const char *name)
{
	for (int i = 0; i < w->L.n; i++)
		if (!strcmp(w->L.ifs[i].name, name))
			return true;
	for (int i = 0; i < w->n_failed; i++)
		if (!strcmp(w->failed[i], name))
			return true;
	return false;
}

/*
 * What discovery would watch: each WireGuard interface, the interfaces its
 * peers' endpoints route through, and the --lan ones. Calls add() for each
 * one not yet attached, with the reason.
 */
static void plan(struct watch *w, const struct mts_wg *wg,
		 void (*add)(struct watch *w, const char *name, const char *why))
{
	char why[160], dev[IF_NAMESIZE], ep[64];

	for (int i = 0; i < wg->n; i++) {
		const struct mts_wg_iface *ifc = &wg->ifs[i];

		snprintf(why, sizeof(why), "WireGuard, %d peer%s", ifc->n_peers,
			 ifc->n_peers == 1 ? "" : "s");
		if (!known_iface(w, ifc->name))
			add(w, ifc->name, why);
		for (int k = 0; k < ifc->n_peers; k++) {
			const struct mts_wg_peer *p = &ifc->peers[k];

			if (!p->has_endpoint || mts_route_dev(&p->endpoint, dev) || known_iface(w, dev))
				continue;
			snprintf(why, sizeof(why), "underlay of %s: the route to peer %.8s...'s "
				 "endpoint %s", ifc->shown, p->key,
				 mts_addr_str(&p->endpoint, p->port, ep, sizeof(ep)));
			add(w, dev, why);
		}
	}
	for (int i = 0; i < w->o->n_lan; i++)
		if (!known_iface(w, w->o->lan[i]))
			add(w, w->o->lan[i], "LAN side (--lan)");
}

/* At start: collect names and reasons for the loader. */
static char plan_names[MTS_MAX_IFACES][IF_NAMESIZE];
static char *plan_ptrs[MTS_MAX_IFACES];
static int plan_n;

static void plan_collect(struct watch *w, const char *name, const char *why)
{
	for (int i = 0; i < plan_n; i++)
		if (!strcmp(plan_names[i], name))
			return;
	if (plan_n == MTS_MAX_IFACES)
		return;
	snprintf(plan_names[plan_n], IF_NAMESIZE, "%s", name);
	snprintf(w->why[plan_n], sizeof(w->why[0]), "%s", why);
	plan_ptrs[plan_n] = plan_names[plan_n];
	plan_n++;
}

/* While running: attach what is new, say so. */
static void plan_attach(struct watch *w, const char *name, const char *why)
{
	char err[512];
	int i = w->L.n;

	if (mts_loader_add(&w->L, name, &w->o->lo, err, sizeof(err))) {
		fprintf(stderr, "mtuscope: %s (%s): %s\n", name, why, err);
		if (w->n_failed < MTS_MAX_IFACES)
			snprintf(w->failed[w->n_failed++], IF_NAMESIZE, "%s", name);
		return;
	}
	snprintf(w->why[i], sizeof(w->why[0]), "%s", why);
	w->ifr[i].name = w->L.ifs[i].shown;
	w->ifr[i].hook = mts_hook_name(w->L.ifs[i].hook);
	w->ifr[i].l3 = w->L.ifs[i].l3;
	w->ifr[i].attach_ms = w->L.ifs[i].attach_ms;
	w->ifr[i].why = w->why[i];
	if (w->quiet)
		return;
	if (w->o->json)
		mts_json_attach(stdout, mts_now_unix(), &w->ifr[i]);
	else
		mts_text_attach(stdout, &w->ifr[i]);
}

/* ---------------------------------------------- interfaces that come and go */

static int links_open(void)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK };
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);

	if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		fd = -1;
	}
	return fd;
}

static void iface_event(struct watch *w, int i, const char *state)
{
	if (w->quiet)
		return;
	if (w->o->json)
		mts_json_iface(stdout, mts_now_unix(), &w->ifr[i], state);
	else
		mts_text_iface(stdout, &w->ifr[i], state);
}

/* A watched interface deleted: said once; its counters stay (the slot is
 * kept), its flows stay in the table by key. */
static void iface_gone(struct watch *w, int i)
{
	mts_loader_gone(&w->L, i);
	w->ifr[i].blind[0] = w->ifr[i].blind[1] = false;
	iface_event(w, i, "gone");
}

/* ... and back under its name: attached again, its hooks judged afresh. */
static void iface_back(struct watch *w, int i)
{
	char err[512];

	if (mts_loader_back(&w->L, i, w->o->lo.hook, err, sizeof(err))) {
		fprintf(stderr, "mtuscope: %s is back, attaching failed: %s\n", w->L.ifs[i].shown, err);
		return;
	}
	w->ifr[i].hook = mts_hook_name(w->L.ifs[i].hook);
	w->ifr[i].l3 = w->L.ifs[i].l3;
	w->ifr[i].attach_ms = w->L.ifs[i].attach_ms;
	memset(w->blind[i], 0, sizeof(w->blind[i]));
	iface_event(w, i, "back");
}

static void link_changed(struct watch *w, bool deleted, int ifindex, const char *name)
{
	bool known = false;

	for (int i = 0; i < w->L.n; i++) {
		struct mts_iface *ifc = &w->L.ifs[i];

		if (!ifc->gone && ifc->ifindex == ifindex) {
			known = true;
			if (deleted)
				iface_gone(w, i);
		} else if (ifc->gone && !deleted && name && !strcmp(name, ifc->name)) {
			known = true;
			iface_back(w, i);
		}
	}
	if (!known && !deleted && w->o->discover)
		w->rescan_soon = true;	/* perhaps a new tunnel */
}

/* Every name against the index it has now: after the kernel dropped
 * notifications (ENOBUFS), and nothing missed for it. */
static void links_resync(struct watch *w)
{
	for (int i = 0; i < w->L.n; i++) {
		struct mts_iface *ifc = &w->L.ifs[i];
		int now = (int)if_nametoindex(ifc->name);

		if (!ifc->gone && now != ifc->ifindex)
			iface_gone(w, i);
		if (ifc->gone && now)
			iface_back(w, i);
	}
}

/* Caller holds the lock. */
static void links_poll(struct watch *w)
{
	char buf[16384] __attribute__((aligned(NLMSG_ALIGNTO)));
	bool resync = false;
	ssize_t len;

	while (w->nl >= 0 && (len = recv(w->nl, buf, sizeof(buf), MSG_DONTWAIT)) != 0) {
		struct nlmsghdr *nh;

		if (len < 0) {
			if (errno == ENOBUFS) {
				resync = true;
				continue;
			}
			break;		/* EAGAIN: nothing more */
		}
		for (nh = (void *)buf; NLMSG_OK(nh, len); nh = NLMSG_NEXT(nh, len)) {
			const struct ifinfomsg *ifi = NLMSG_DATA(nh);
			const struct rtattr *a = IFLA_RTA(ifi);
			int alen = IFLA_PAYLOAD(nh);
			char name[IF_NAMESIZE] = "";

			if (nh->nlmsg_type != RTM_NEWLINK && nh->nlmsg_type != RTM_DELLINK)
				continue;
			for (; RTA_OK(a, alen); a = RTA_NEXT(a, alen))
				if (a->rta_type == IFLA_IFNAME)
					snprintf(name, sizeof(name), "%.*s", (int)RTA_PAYLOAD(a),
						 (const char *)RTA_DATA(a));
			link_changed(w, nh->nlmsg_type == RTM_DELLINK, ifi->ifi_index,
				     name[0] ? name : NULL);
		}
	}
	if (resync)
		links_resync(w);
}

/* Caller holds the lock; wg was read without it (it runs `wg`). */
static void rescan(struct watch *w, const struct mts_wg *wg)
{
	if (w->o->discover)
		plan(w, wg, plan_attach);
	w->wg = *wg;		/* peers and endpoints as they are now */
	w->have_wg = true;
}

int mts_watch(const struct mts_watch_opts *o)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct ring_buffer *rb = NULL;
	struct watch *w;
	double start, next_tick, next_ui, next_count, next_rescan, next_hooks, tick_s = (o->tick_ms ? o->tick_ms : 100) / 1000.0;
	char err[512] = "";
	int rc, exit_code = 1;

	w = calloc(1, sizeof(*w));
	if (!w || mts_model_init(&w->m, 1024)) {
		fprintf(stderr, "mtuscope: out of memory\n");
		free(w);
		return 1;
	}
	w->o = o;
	w->quiet = o->top;
	/* Before attaching, so no deletion after it goes unnoticed. */
	w->nl = links_open();
	if (w->nl < 0)
		fprintf(stderr, "mtuscope: cannot follow interface changes (rtnetlink: %s); a "
			"deleted interface will not be re-attached\n", strerror(errno));
	pthread_mutex_init(&w->lock, NULL);
	/* No SA_RESTART: a signal must interrupt the poll. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	if (o->discover) {
		struct mts_loader_opts lo = o->lo;

		if (mts_wg_read(&w->wg, err, sizeof(err))) {
			fprintf(stderr, "mtuscope: discovery: %s\n", err);
			goto out;
		}
		w->have_wg = true;
		plan(w, &w->wg, plan_collect);
		if (!w->wg.n) {
			fprintf(stderr, "mtuscope: no WireGuard interface in this network namespace: "
				"name the interfaces to watch (mtuscope watch IFACE...)\n");
			goto out;
		}
		lo.ifaces = plan_ptrs;
		lo.n_ifaces = plan_n;
		rc = mts_loader_open(&w->L, &lo, err, sizeof(err));
	} else {
		rc = mts_loader_open(&w->L, &o->lo, err, sizeof(err));
		if (!rc && !mts_wg_read(&w->wg, err, sizeof(err)))
			w->have_wg = true;	/* correlation only; no wg is fine */
	}
	if (rc) {
		fprintf(stderr, "mtuscope: %s\n", err);
		goto out;
	}
	rb = ring_buffer__new(w->L.events_fd, on_event, w, NULL);
	if (!rb) {
		fprintf(stderr, "mtuscope: setting up the event ring buffer failed: %s\n",
			strerror(errno));
		goto out;
	}
	for (int i = 0; i < w->L.n; i++) {
		w->ifr[i].name = w->L.ifs[i].shown;
		w->ifr[i].hook = mts_hook_name(w->L.ifs[i].hook);
		w->ifr[i].l3 = w->L.ifs[i].l3;
		w->ifr[i].attach_ms = w->L.ifs[i].attach_ms;
		w->ifr[i].why = o->discover ? w->why[i] : NULL;
	}
	w->t_start = mts_now_unix();
	w->table_entries = mts_loader_count_flows(&w->L);
	if (o->listen) {
		char bound[80];

		w->http = mts_http_start(o->listen, render, w, o->lo.verbose, bound, sizeof(bound),
					 err, sizeof(err));
		if (!w->http) {
			fprintf(stderr, "mtuscope: %s\n", err);
			goto out;
		}
		if (o->json)
			mts_json_start(stdout, w->t_start, w->ifr, w->L.n, bound);
		else if (!w->quiet)
			mts_text_start(stdout, w->ifr, w->L.n, bound);
	} else if (o->json) {
		mts_json_start(stdout, w->t_start, w->ifr, w->L.n, NULL);
	} else if (!w->quiet) {
		mts_text_start(stdout, w->ifr, w->L.n, NULL);
	}
	if (o->probe && !(w->ap = mts_autoprobe_start(o->probe_rate))) {
		fprintf(stderr, "mtuscope: starting the probe thread failed: %s\n", strerror(errno));
		goto out;
	}
	if (o->top && !o->once) {
		w->top = mts_top_open();
		if (!w->top)
			goto out;
	}

	start = next_tick = next_ui = mts_now_mono();
	next_count = next_rescan = start + MTS_COUNT_S;
	next_hooks = start;
	while (!stop) {
		double now = mts_now_mono(), wait = next_tick - now;

		if (o->duration > 0 && start + o->duration - now < wait)
			wait = start + o->duration - now;
		rc = ring_buffer__poll(rb, wait > 0 ? (int)(wait * 1000) + 1 : 0);
		if (rc < 0 && rc != -EINTR) {
			fprintf(stderr, "mtuscope: reading events failed: %s\n", strerror(-rc));
			goto out;
		}
		now = mts_now_mono();
		if (now >= next_tick) {
			pthread_mutex_lock(&w->lock);
			probe_results(w);
			tick(w);
			pthread_mutex_unlock(&w->lock);
			next_tick += tick_s;
			if (next_tick < now)
				next_tick = now + tick_s;
		}
		pthread_mutex_lock(&w->lock);
		links_poll(w);
		pthread_mutex_unlock(&w->lock);
		if (w->rescan_soon && next_rescan > now + MTS_RESCAN_SOON_S) {
			next_rescan = now + MTS_RESCAN_SOON_S;	/* let wg configure it */
			w->rescan_soon = false;
		}
		if (now >= next_hooks) {
			pthread_mutex_lock(&w->lock);
			check_hooks(w, now);
			pthread_mutex_unlock(&w->lock);
			next_hooks = now + MTS_HOOKS_S;
		}
		if (w->have_wg && now >= next_rescan) {
			/* New tunnels and endpoints, picked up while running. */
			struct mts_wg *wg = malloc(sizeof(*wg));

			if (wg && !mts_wg_read(wg, err, sizeof(err))) {
				pthread_mutex_lock(&w->lock);
				rescan(w, wg);
				pthread_mutex_unlock(&w->lock);
			}
			free(wg);
			next_rescan = now + MTS_RESCAN_S;
		}
		if ((w->http || o->top) && now >= next_count) {
			long n = mts_loader_count_flows(&w->L);	/* outside the lock */

			pthread_mutex_lock(&w->lock);
			w->table_entries = n;
			pthread_mutex_unlock(&w->lock);
			next_count = now + MTS_COUNT_S;
		}
		if (w->top) {
			if (now >= next_ui) {
				json_object *snap = snapshot(w);

				mts_top_update(w->top, snap);
				json_object_put(snap);
				next_ui = now + 1.0;
			}
			if (mts_top_poll(w->top, 0))
				break;
		}
		if (o->duration > 0 && now >= start + o->duration)
			break;
	}
	mts_top_close(w->top);
	w->top = NULL;
	mts_http_stop(w->http);	/* no request in flight past this point */
	mts_autoprobe_stop(w->ap);	/* a search under way is cancelled */
	w->ap = NULL;
	w->http = NULL;
	ring_buffer__consume(rb);
	tick(w);
	if (o->once) {
		json_object *snap;

		w->table_entries = mts_loader_count_flows(&w->L);
		snap = snapshot(w);
		mts_top_print(stdout, snap, 0);
		json_object_put(snap);
	} else if (!o->top) {
		summarize(w, mts_now_unix());
	}
	exit_code = 0;
out:
	mts_top_close(w->top);
	mts_http_stop(w->http);
	mts_autoprobe_stop(w->ap);
	ring_buffer__free(rb);
	mts_loader_close(&w->L);
	if (w->nl >= 0)
		close(w->nl);
	mts_model_free(&w->m);
	pthread_mutex_destroy(&w->lock);
	free(w);
	return exit_code;
}

/* ----------------------------------------------------------------- engine */

struct mts_engine *mts_engine_open(const struct mts_watch_opts *o, const char *source,
				   double t_start, char *err, size_t errlen)
{
	struct watch *w = calloc(1, sizeof(*w));
	int rc;

	if (!w || mts_model_init(&w->m, 1024)) {
		snprintf(err, errlen, "out of memory");
		free(w);
		return NULL;
	}
	w->o = o;
	w->source = source;
	pthread_mutex_init(&w->lock, NULL);
	rc = mts_loader_open(&w->L, &o->lo, err, errlen);
	if (!rc) {
		w->rb = ring_buffer__new(w->L.events_fd, on_event, w, NULL);
		if (!w->rb)
			snprintf(err, errlen, "setting up the event ring buffer failed: %s",
				 strerror(errno));
	}
	if (rc || !w->rb) {
		mts_engine_close(w);
		return NULL;
	}
	w->ifr[0].name = source;
	w->ifr[0].hook = "replay";
	w->t_start = t_start;
	if (o->json)
		mts_json_start(stdout, t_start, w->ifr, 1, NULL);
	else
		mts_text_start(stdout, w->ifr, 1, NULL);
	return w;
}

int mts_engine_run(struct mts_engine *w, int egress, const void *frame, size_t len,
		   __u64 tstamp_ns)
{
	return mts_loader_test_run(&w->L, egress, frame, len, tstamp_ns);
}

void mts_engine_step(struct mts_engine *w, __u32 now_ticks, double unix_now, bool judge)
{
	ring_buffer__consume(w->rb);
	if (judge)
		tick_at(w, now_ticks, unix_now);
}

void mts_engine_finish(struct mts_engine *w, __u32 now_ticks, double unix_now)
{
	mts_engine_step(w, now_ticks, unix_now, true);
	summarize(w, unix_now);
}

void mts_engine_close(struct mts_engine *w)
{
	if (!w)
		return;
	ring_buffer__free(w->rb);
	mts_loader_close(&w->L);
	mts_model_free(&w->m);
	pthread_mutex_destroy(&w->lock);
	free(w);
}
