// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * out_prom.c - the Prometheus text exposition (version 0.0.4) of the
 * detector's state. Labels carry bounded values only: interface,
 * direction, protocol, reason, verdict. No per-flow series.
 */
#include "format.h"
#include "out_prom.h"

/* A metric family fed by a run of per-interface counters; with a label,
 * each counter of the run is one value of it (named after the counter). */
struct family {
	const char *name, *help;
	enum mts_counter first, last;
	const char *label;
	int strip;		/* leading characters of the counter name to drop */
};

static const struct family families[] = {
	{ "packets_total", "Packets seen", MTS_C_PKTS, MTS_C_PKTS, NULL, 0 },
	{ "bytes_total", "Bytes seen (skb length, L2 header included)", MTS_C_BYTES, MTS_C_BYTES, NULL, 0 },
	{ "protocol_packets_total", "Packets seen by protocol", MTS_C_NON_IP, MTS_C_ICMP, "protocol", 0 },
	{ "gso_packets_total", "GSO/GRO packets (each carries several wire segments)", MTS_C_GSO, MTS_C_GSO, NULL, 0 },
	{ "df_oversize_packets_total", "Don't-fragment packets too big for their route", MTS_C_DF_OVERSIZE, MTS_C_DF_OVERSIZE, NULL, 0 },
	{ "large_retransmissions_total", "Retransmitted TCP segments above --large-bytes", MTS_C_RTX_LARGE, MTS_C_RTX_LARGE, NULL, 0 },
	{ "small_retransmissions_total", "Retransmitted TCP segments up to --large-bytes", MTS_C_RTX_SMALL, MTS_C_RTX_SMALL, NULL, 0 },
	{ "ptb_received_total", "ICMP frag-needed / ICMPv6 packet-too-big received and matched to a flow", MTS_C_PTB_RX, MTS_C_PTB_RX, NULL, 0 },
	{ "ptb_emitted_total", "ICMP frag-needed / ICMPv6 packet-too-big this host generated", MTS_C_PTB_TX, MTS_C_PTB_TX, NULL, 0 },
	{ "ptb_forwarded_total", "ICMP frag-needed / ICMPv6 packet-too-big forwarded through this host", MTS_C_PTB_FWD, MTS_C_PTB_FWD, NULL, 0 },
	{ "ptb_unmatched_total", "ICMP frag-needed / ICMPv6 packet-too-big about no tracked flow", MTS_C_PTB_NOFLOW, MTS_C_PTB_NOFLOW, NULL, 0 },
	{ "flows_created_total", "Flow records created", MTS_C_FLOW_NEW, MTS_C_FLOW_NEW, NULL, 0 },
	{ "flow_insert_failures_total", "Flow records that could not be created", MTS_C_FLOW_FAIL, MTS_C_FLOW_FAIL, NULL, 0 },
	{ "flows_evicted_total", "Flow records given up to make room for a new flow", MTS_C_FLOW_EVICT, MTS_C_FLOW_EVICT, NULL, 0 },
	{ "events_total", "Events sent to userspace", MTS_C_EVENTS, MTS_C_EVENTS, NULL, 0 },
	{ "ringbuf_drops_total", "Events lost to a full ring buffer", MTS_C_EV_DROP, MTS_C_EV_DROP, NULL, 0 },
	{ "headers_pulled_total", "Packets whose headers had to be pulled into the linear area", MTS_C_PULLED, MTS_C_PULLED, NULL, 0 },
	{ "parse_errors_total", "Packets the parser gave up on, by reason", MTS_C_ERR_L2, MTS_C_MAX - 1, "reason", 4 },
};

/* Label values in the exposition format: backslash, quote, newline escaped. */
static void label_value(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fprintf(f, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

static void header(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP mtuscope_%s %s\n# TYPE mtuscope_%s %s\n", name, help, name, type);
}

static void family_out(FILE *f, const struct family *fam, const struct mts_state *s)
{
	header(f, fam->name, "counter", fam->help);
	for (int i = 0; i < s->n_ifs; i++) {
		for (int dir = 0; dir < 2; dir++) {
			const struct mts_counters *c = dir ? &s->ifs[i].out : &s->ifs[i].in;

			for (int k = fam->first; k <= (int)fam->last; k++) {
				fprintf(f, "mtuscope_%s{interface=\"", fam->name);
				label_value(f, s->ifs[i].name);
				fprintf(f, "\",direction=\"%s\"", dir ? "egress" : "ingress");
				if (fam->label)
					fprintf(f, ",%s=\"%s\"", fam->label,
						mts_counter_name(k) + fam->strip);
				fprintf(f, "} %llu\n", (unsigned long long)c->c[k]);
			}
		}
	}
}

void mts_prom_render(FILE *f, const struct mts_state *s)
{
	unsigned long tally[MTS_V_MAX];

	header(f, "build_info", "gauge", "Build information; the value is always 1");
	fprintf(f, "mtuscope_build_info{version=\"");
	label_value(f, MTS_VERSION);
	fprintf(f, "\"} 1\n");
	header(f, "start_time_seconds", "gauge", "When the detector attached, Unix time");
	fprintf(f, "mtuscope_start_time_seconds %.3f\n", s->t_start);

	for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++)
		family_out(f, &families[i], s);
	header(f, "hook_blind", "gauge", "1 while the interface passes packets the hook's program never sees "
	       "(another program ahead of it ends the chain)");
	for (int i = 0; i < s->n_ifs; i++)
		for (int dir = 0; dir < 2; dir++) {
			fprintf(f, "mtuscope_hook_blind{interface=\"");
			label_value(f, s->ifs[i].name);
			fprintf(f, "\",direction=\"%s\"} %d\n", dir ? "egress" : "ingress",
				s->ifs[i].blind[dir]);
		}

	mts_model_tally(s->m, tally);
	header(f, "flows", "gauge", "Flows under watch by current verdict");
	for (int v = MTS_V_HEALTHY; v < MTS_V_MAX; v++)
		fprintf(f, "mtuscope_flows{verdict=\"%s\"} %lu\n", mts_verdict_name(v), tally[v]);
	header(f, "verdicts_total", "counter", "Verdict changes issued, by the new verdict");
	for (int v = MTS_V_HEALTHY; v < MTS_V_MAX; v++)
		fprintf(f, "mtuscope_verdicts_total{verdict=\"%s\"} %lu\n", mts_verdict_name(v),
			s->m->verdicts_issued[v]);
	if (s->probe) {
		header(f, "probe_searches_total", "counter", "Path MTU searches run by --probe");
		fprintf(f, "mtuscope_probe_searches_total %lu\n", s->probe_searches);
		header(f, "probe_packets_total", "counter", "Probe packets sent by --probe");
		fprintf(f, "mtuscope_probe_packets_total %lu\n", s->probe_packets);
	}
	header(f, "flow_table_entries", "gauge", "Records in the kernel flow table");
	fprintf(f, "mtuscope_flow_table_entries %llu\n", (unsigned long long)s->table_entries);
	header(f, "flow_table_capacity", "gauge", "Capacity of the kernel flow table");
	fprintf(f, "mtuscope_flow_table_capacity %llu\n", (unsigned long long)s->table_capacity);
}
