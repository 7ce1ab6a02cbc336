/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* format - names and text forms shared by every output. */
#ifndef MTS_FORMAT_H
#define MTS_FORMAT_H

#include <stddef.h>
#include "mtuscope.h"

#define MTS_ENDPOINT_LEN 64	/* "[ffff:...:ffff]:65535" fits */

/* "192.0.2.1:80" or "[2001:db8::1]:80" for end i of the key. */
void mts_fmt_endpoint(char *buf, size_t len, const struct mts_flow_key *k, int end);
const char *mts_proto_name(int proto);
const char *mts_family_name(int family);
const char *mts_counter_name(int idx);

/* An interface name as outputs show it: a kernel name may hold any byte but
 * '/', ':', NUL and white space, so bytes that are not UTF-8 and control
 * characters (an escape sequence in a terminal) become U+FFFD. */
#define MTS_SHOWN_LEN	(3 * 16)	/* IF_NAMESIZE - 1 bytes, 3 each, and the NUL */
void mts_name_shown(char *dst, size_t len, const char *name);

/* Wall-clock seconds since the epoch, as a double. */
double mts_now_unix(void);
/* Monotonic seconds (intervals, deadlines), as a double. */
double mts_now_mono(void);
/* Monotonic clock in BPF ticks (the clock bpf_ktime_get_ns reads). */
__u32 mts_now_ticks(void);

#endif
