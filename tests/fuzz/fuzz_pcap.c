// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * fuzz_pcap - libFuzzer harness for the capture reader: any bytes as a
 * capture file, read by libpcap as `mtuscope replay` reads one (nanosecond
 * precision), refused or each record handed to the frame splitter as
 * replay does; a crash, a hang or a sanitizer report is a finding.
 */
#include <stdint.h>
#include <stdio.h>
#include <pcap/pcap.h>
#include "feed.h"

static int sink(void *ctx, int egress, const void *frame, size_t len, __u64 ns)
{
	(void)ctx;
	(void)egress;
	(void)frame;
	(void)len;
	(void)ns;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *pkt;
	struct mts_feed fd;
	FILE *f;
	pcap_t *p;

	if (!size || !(f = fmemopen((void *)data, size, "rb")))
		return 0;
	p = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_NANO, errbuf);
	if (!p) {
		fclose(f);
		return 0;
	}
	if (mts_feed_supported(pcap_datalink(p)) && !mts_feed_init(&fd, 1500, sink, NULL)) {
		for (int n = 0; n < 10000 && pcap_next_ex(p, &h, &pkt) == 1; n++)
			mts_feed_frame(&fd, pcap_datalink(p), pkt, h->caplen,
				       (__u64)h->ts.tv_sec * 1000000000ULL + h->ts.tv_usec);
		mts_feed_free(&fd);
	}
	pcap_close(p);		/* closes f */
	return 0;
}
