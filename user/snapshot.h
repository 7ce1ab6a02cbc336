/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * snapshot - the detector's state as one JSON object, the single data model
 * behind /flows, `top` (local and --connect) and `top --once`:
 *
 * {
 *   "ts": 1796000016.27,            Unix seconds
 *   "version": "…", "uptime": 12.3,  seconds since attach
 *   "ifaces": [{"name", "hook", "l3", "ingress": {COUNTERS}, "egress": {COUNTERS}}],
 *   "totals": {"packets", "bytes", "rtx_large", "ptb_rx", "ptb_tx",
 *              "df_oversize", "parse_errors", "events_dropped"},
 *   "verdicts": {"healthy": n, "pmtu-limited": n, … every verdict},
 *   "issued": {… every verdict: changes reported into it},
 *   "flow_table": {"entries": n, "capacity": n},
 *   "flows": [FLOW, …]               worst verdict first
 * }
 * FLOW: the fields of a verdict event (README) with wall_low, wall_high,
 * advice_mtu and advice_mss always present (0: unknown), plus "age"
 * (seconds since the flow was first seen) and "since" (seconds in this
 * verdict).
 */
#ifndef MTS_SNAPSHOT_H
#define MTS_SNAPSHOT_H

#include <json-c/json.h>
#include "output.h"

struct mts_state {
	const struct mts_model *m;
	const struct mts_iface_report *ifs;
	int n_ifs;
	__u64 table_entries, table_capacity;
	double t_start;		/* Unix time of attach */
	bool probe;		/* --probe is on */
	unsigned long probe_searches, probe_packets;
};

/* The fields of one flow: verdict events and snapshots share them. */
json_object *mts_flow_json(const struct mts_track *t, const char *iface, double now,
			   __u32 now_ticks, bool full);
json_object *mts_snapshot_json(const struct mts_state *s, double now, __u32 now_ticks,
			       const char *(*ifname)(void *ctx, __u32 ifindex), void *ctx);

/* An exporter page in memory: /metrics (the Prometheus exposition) or
 * /flows (the snapshot, one line of JSON). *buf is malloc'd; 0 or -ENOMEM. */
int mts_page_render(const struct mts_state *s, bool metrics, double now, __u32 now_ticks,
		    const char *(*ifname)(void *ctx, __u32 ifindex), void *ctx,
		    char **buf, size_t *len);

#endif
