// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * replay.c - a capture through the same BPF programs, with
 * BPF_PROG_TEST_RUN on the capture's own clock, judged by the same
 * correlator: a customer's pcap gets the verdicts a live run would have.
 *
 * One vantage point sees both directions of a flow, so every TCP and UDP
 * packet runs through the ingress program (what it acknowledges) and then
 * the egress program (what it sends); ICMP runs through ingress (a PTB that
 * arrived) unless the capture marks it outgoing (one this box generated).
 * Every frame is handed to the programs as Ethernet, cut to its headers:
 * sizes come from the IP header, so a snaplen-cut packet is judged whole.
 * A GRO/TSO super-packet (larger than --mtu) is split into the segments it
 * carries, each of the size the MTU allows, before it goes in.
 */
#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <string.h>
#include "feed.h"
#include "replay.h"
#include "watch.h"

#define JUDGE_NS	100000000ULL	/* judge the flows every 100 ms of capture time */

static int engine_run(void *ctx, int egress, const void *frame, size_t len, __u64 ns)
{
	return mts_engine_run(ctx, egress, frame, len, ns);
}

int mts_replay(const struct mts_replay_opts *ro)
{
	char errbuf[PCAP_ERRBUF_SIZE] = "", err[512] = "";
	struct mts_watch_opts o = { .json = ro->json, .lo = ro->lo };
	struct mts_feed fd;
	struct pcap_pkthdr *h;
	const u_char *data;
	struct mts_engine *e = NULL;
	__u64 ns = 0, next_judge = 0;
	double unix_ts = 0;
	const char *base;
	int dlt, rc, exit_code = 1;
	pcap_t *p;

	p = pcap_open_offline_with_tstamp_precision(ro->file, PCAP_TSTAMP_PRECISION_NANO, errbuf);
	if (!p) {
		fprintf(stderr, "mtuscope: cannot read capture '%s': %s\n", ro->file, errbuf);
		return 1;
	}
	if (mts_feed_init(&fd, ro->mtu, engine_run, NULL)) {
		fprintf(stderr, "mtuscope: out of memory\n");
		pcap_close(p);
		return 1;
	}
	dlt = pcap_datalink(p);
	if (!mts_feed_supported(dlt)) {
		fprintf(stderr, "mtuscope: %s: link type %s (%d) is not supported; captures on "
			"Ethernet, Linux cooked (SLL, SLL2, e.g. tcpdump -i any) and raw IP "
			"(tunnel interfaces) are\n", ro->file,
			pcap_datalink_val_to_name(dlt) ?: "unknown", dlt);
		goto out;
	}
	base = strrchr(ro->file, '/') ? strrchr(ro->file, '/') + 1 : ro->file;
	o.lo.attach = false;
	o.lo.replay = true;
	o.lo.n_ifaces = 0;

	while ((rc = pcap_next_ex(p, &h, &data)) == 1) {
		ns = (__u64)h->ts.tv_sec * 1000000000ULL + h->ts.tv_usec;	/* nanosecond precision */
		unix_ts = h->ts.tv_sec + h->ts.tv_usec / 1e9;
		if (!e) {
			e = mts_engine_open(&o, base, unix_ts, err, sizeof(err));
			if (!e) {
				fprintf(stderr, "mtuscope: %s\n", err);
				goto out;
			}
			fd.ctx = e;
			next_judge = ns + JUDGE_NS;
		}
		fd.packets++;
		if (h->caplen < h->len)
			fd.cut++;
		mts_feed_frame(&fd, dlt, data, h->caplen, ns);
		if (fd.failed) {
			fprintf(stderr, "mtuscope: %s: running packet %lu through the programs "
				"failed: %s\n", ro->file, fd.packets, strerror(-fd.err));
			goto out;
		}
		mts_engine_step(e, ns >> MTS_TICK_SHIFT, unix_ts, ns >= next_judge);
		if (ns >= next_judge)
			next_judge = ns + JUDGE_NS;
	}
	if (rc == PCAP_ERROR)
		fprintf(stderr, "mtuscope: %s: the capture ends early after %lu packets (%s); "
			"judging what was read\n", ro->file, fd.packets, pcap_geterr(p));
	if (!e) {
		fprintf(stderr, "mtuscope: %s: no packets in the capture\n", ro->file);
		goto out;
	}
	mts_engine_finish(e, ns >> MTS_TICK_SHIFT, unix_ts);
	fprintf(stderr, "mtuscope: %s: %lu packets (%lu cut by the snaplen, %lu too short to "
		"read, %lu refused by the kernel, %lu GRO/TSO super-packets split into %lu "
		"segments)\n", ro->file, fd.packets, fd.cut, fd.short_, fd.refused, fd.split,
		fd.segments);
	exit_code = 0;
out:
	mts_engine_close(e);
	mts_feed_free(&fd);
	pcap_close(p);
	return exit_code;
}
