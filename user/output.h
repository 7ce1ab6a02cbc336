/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* output - renderers of the model: plain text and JSON lines. */
#ifndef MTS_OUTPUT_H
#define MTS_OUTPUT_H

#include <stdio.h>
#include "model.h"

struct mts_report {
	double ts;		/* Unix time */
	const char *iface;	/* where the flow's data leaves */
	const struct mts_track *t;
	/* A WireGuard flow: the tunnel, the peer (public key) and its
	 * endpoint, and the layer the flow is (inner: on the tunnel
	 * interface; outer: the datagrams to the endpoint). NULL otherwise. */
	const char *tunnel, *peer, *endpoint, *layer;
	unsigned tunnel_mtu;	/* inner flows: the tunnel interface's MTU */
	/* A suspect only a probe of the path can settle: the command that does
	 * (NULL otherwise), and whether watch --probe runs it already. */
	const char *confirm;
	bool probing;
};

struct mts_iface_report {
	const char *name;
	const char *hook;
	const char *why;	/* discovery: why it was attached (NULL: named) */
	int l3;
	double attach_ms;	/* registering and attaching it took */
	struct mts_counters in, out;
	bool blind[2];		/* ingress, egress: packets pass that the hook never sees */
};

/* A hook whose program misses its interface's packets (blind: another
 * program ahead of it ends the chain), or sees them again. */
struct mts_hook_report {
	const char *iface, *direction;
	bool blind;
	unsigned long long missed;	/* packets the interface counted meanwhile */
	double seconds;			/* ... over this long */
};

struct mts_summary {
	double ts;
	unsigned long flows[MTS_V_MAX];		/* tracked flows by current verdict */
	unsigned long issued[MTS_V_MAX];	/* verdict changes made */
	const struct mts_iface_report *ifs;
	int n_ifs;
};

/* listen: the address the exporter serves on, or NULL. */
void mts_text_start(FILE *f, const struct mts_iface_report *ifs, int n, const char *listen);
void mts_text_verdict(FILE *f, const struct mts_report *r);
void mts_text_summary(FILE *f, const struct mts_summary *s);

void mts_json_start(FILE *f, double ts, const struct mts_iface_report *ifs, int n,
		    const char *listen);
/* An interface attached while running (discovery). */
void mts_json_attach(FILE *f, double ts, const struct mts_iface_report *ifr);
void mts_text_attach(FILE *f, const struct mts_iface_report *ifr);
void mts_json_verdict(FILE *f, const struct mts_report *r);
/* A watched interface deleted ("gone") or back under its name ("back"). */
void mts_json_iface(FILE *f, double ts, const struct mts_iface_report *ifr, const char *state);
void mts_text_iface(FILE *f, const struct mts_iface_report *ifr, const char *state);
/* A warning event: a hook blind, or seeing again. */
void mts_json_hook(FILE *f, double ts, const struct mts_hook_report *h);
void mts_text_hook(FILE *f, const struct mts_hook_report *h);
void mts_json_summary(FILE *f, const struct mts_summary *s);

#endif
