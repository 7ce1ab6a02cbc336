/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* probe - the path MTU to a destination by a binary search of DF probes. */
#ifndef MTS_PROBE_H
#define MTS_PROBE_H

#include <stdbool.h>
#include <sys/socket.h>
#include <linux/types.h>

enum mts_probe_method { MTS_PROBE_AUTO, MTS_PROBE_ICMP, MTS_PROBE_TCP };

struct mts_probe_opts {
	struct sockaddr_storage dst;
	socklen_t dlen;
	__u16 port;			/* TCP probes go here (0: ICMP echo only) */
	enum mts_probe_method method;
	unsigned min, max;		/* IP packet sizes searched (0: 576/1280, route MTU) */
	unsigned rate;			/* probes per second at most */
	unsigned timeout_ms;		/* wait for each answer */
	unsigned tries;			/* sends of one size before it counts as lost */
	volatile int *cancel;		/* set: give up at the next probe (NULL: never) */
};

struct mts_probe_result {
	unsigned pmtu;			/* largest IP packet that arrived */
	unsigned lost;			/* smallest that did not (0: none above pmtu tried) */
	unsigned first_hop_mtu;		/* this host's route MTU towards dst */
	const char *method;		/* "icmp-echo", "tcp-syn" */
	unsigned probes;		/* packets sent, retries included */
	bool dead;			/* not even the smallest probe was answered, by any method */
};

/* 0 and res filled, or -1 with a message in err (res->probes still set). */
int mts_probe_run(const struct mts_probe_opts *o, struct mts_probe_result *res,
		  char *err, size_t errlen);

/* ADDR, ADDR:PORT, [V6ADDR]:PORT or V6ADDR, numeric only. 0 or -1. */
int mts_probe_parse_dest(const char *arg, struct sockaddr_storage *ss, socklen_t *len,
			 __u16 *port);

#endif
