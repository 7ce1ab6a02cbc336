/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * http - the exporter's HTTP server (libmicrohttpd, its own thread):
 * GET /metrics and GET /flows, 404 elsewhere, 405 for other methods.
 * Pages are rendered by the caller's callback into a buffer (under the
 * caller's lock, in memory only), then sent without any lock held, so a
 * slow or hostile client never holds up the detector.
 */
#ifndef MTS_HTTP_H
#define MTS_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#define MTS_HTTP_DEFAULT_PORT	9841

enum mts_page { MTS_PAGE_METRICS, MTS_PAGE_FLOWS };

/* Fill *buf (malloc'd; the server frees it) and *len; 0 or -errno. */
typedef int (*mts_render_fn)(void *ctx, enum mts_page page, char **buf, size_t *len);

struct mts_http;

/*
 * Parse "PORT" (loopback), "ADDR:PORT" or "[ADDR6]:PORT" into a socket
 * address; 0 or -EINVAL.
 */
int mts_http_parse_addr(const char *spec, void *sockaddr_storage, unsigned *socklen);

/* Start serving; NULL with a message in err. bound: "ADDR:PORT" really bound. */
struct mts_http *mts_http_start(const char *spec, mts_render_fn render, void *ctx,
				bool verbose, char *bound, size_t boundlen,
				char *err, size_t errlen);
void mts_http_stop(struct mts_http *h);

#endif
