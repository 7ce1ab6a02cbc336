// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* http.c - /metrics and /flows over libmicrohttpd (contract in http.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <microhttpd.h>
#include "http.h"

/* Limits that keep bad clients from hurting anyone (see README). */
#define HTTP_MAX_CONNS		64
#define HTTP_MAX_CONNS_PER_IP	16
#define HTTP_CONN_MEMORY	(32 * 1024)	/* request line + headers */
#define HTTP_TIMEOUT_S		10

struct mts_http {
	struct MHD_Daemon *d;
	mts_render_fn render;
	void *ctx;
};

int mts_http_parse_addr(const char *spec, void *ss, unsigned *socklen)
{
	struct addrinfo hints = { .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
				  .ai_socktype = SOCK_STREAM }, *ai;
	char host[INET6_ADDRSTRLEN + 2] = "127.0.0.1", port[8];
	const char *colon = strrchr(spec, ':');
	struct in6_addr a;
	char *end;
	unsigned long p;

	/* An address alone gets the default port. */
	if ((!colon && strchr(spec, '.')) || (spec[0] == '[' && spec[strlen(spec) - 1] == ']')) {
		size_t n = strlen(spec) - (spec[0] == '[' ? 2 : 0);

		if (n >= sizeof(host))
			return -EINVAL;
		memcpy(host, spec + (spec[0] == '['), n);
		host[n] = 0;
		snprintf(port, sizeof(port), "%d", MTS_HTTP_DEFAULT_PORT);
		goto resolve;
	}
	if (colon) {
		size_t n = colon - spec;

		if (spec[0] == '[') {
			if (n < 3 || spec[n - 1] != ']' || n - 2 >= sizeof(host))
				return -EINVAL;
			memcpy(host, spec + 1, n - 2);
			host[n - 2] = 0;
		} else {
			if (!n || n >= sizeof(host) || memchr(spec, ':', n))
				return -EINVAL;
			memcpy(host, spec, n);
			host[n] = 0;
		}
		spec = colon + 1;
	}
	errno = 0;
	p = strtoul(spec, &end, 10);
	if (errno || end == spec || *end || *spec == '-' || p > 65535)
		return -EINVAL;
	snprintf(port, sizeof(port), "%lu", p);
resolve:
	/* Dotted quads and IPv6 only: getaddrinfo() also takes inet_aton()'s
	 * short forms ("1.2.3" is 1.2.0.3), which nobody means on purpose. */
	if (inet_pton(AF_INET, host, &a) != 1 && inet_pton(AF_INET6, host, &a) != 1)
		return -EINVAL;
	if (getaddrinfo(host, port, &hints, &ai))
		return -EINVAL;
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*socklen = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type,
			     char *body, size_t len, bool owned)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(len, body,
					    owned ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	if (!r) {
		if (owned)
			free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version,
				  const char *upload, size_t *upload_size, void **req)
{
	static char not_found[] = "not found: try /metrics or /flows\n";
	static char not_allowed[] = "method not allowed: GET only\n";
	static char failed[] = "rendering failed\n";
	struct mts_http *h = cls;
	enum mts_page page;
	char *buf;
	size_t len;

	(void)version;
	(void)upload;
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD)) {
		/* Answer at once; a body, if any, is not read. */
		*upload_size = 0;
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", not_allowed,
			     sizeof(not_allowed) - 1, false);
	}
	if (!*req) {		/* headers are in; wait for the (empty) body */
		*req = h;
		return MHD_YES;
	}
	if (*upload_size) {	/* a GET with a body: ignore it */
		*upload_size = 0;
		return MHD_YES;
	}
	if (!strcmp(url, "/metrics"))
		page = MTS_PAGE_METRICS;
	else if (!strcmp(url, "/flows"))
		page = MTS_PAGE_FLOWS;
	else
		return reply(c, MHD_HTTP_NOT_FOUND, "text/plain", not_found,
			     sizeof(not_found) - 1, false);
	if (h->render(h->ctx, page, &buf, &len))
		return reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain", failed,
			     sizeof(failed) - 1, false);
	return reply(c, MHD_HTTP_OK,
		     page == MTS_PAGE_METRICS ? "text/plain; version=0.0.4; charset=utf-8"
					      : "application/json",
		     buf, len, true);
}

static void log_quiet(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	(void)fmt;
	(void)ap;
}

static void log_verbose(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	fputs("mtuscope: http: ", stderr);
	vfprintf(stderr, fmt, ap);
}

struct mts_http *mts_http_start(const char *spec, mts_render_fn render, void *ctx,
				bool verbose, char *bound, size_t boundlen,
				char *err, size_t errlen)
{
	struct sockaddr_storage ss, got;
	socklen_t gotlen = sizeof(got);
	unsigned len;
	/* poll(), not epoll: level-triggered, so a client that closes its
	 * side right after the request is let go as soon as it is answered
	 * (edge-triggered, libmicrohttpd 0.9.75 kept it until the timeout). */
	unsigned flags = MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
	const union MHD_DaemonInfo *info;
	char host[INET6_ADDRSTRLEN];
	struct mts_http *h;

	if (mts_http_parse_addr(spec, &ss, &len)) {
		snprintf(err, errlen, "invalid --listen '%s': expected PORT, ADDR:PORT or [ADDR]:PORT",
			 spec);
		return NULL;
	}
	h = calloc(1, sizeof(*h));
	if (!h) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	h->render = render;
	h->ctx = ctx;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	errno = 0;
	h->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, h,
				MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTP_MAX_CONNS,
				MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)HTTP_MAX_CONNS_PER_IP,
				MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_CONN_MEMORY,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_TIMEOUT_S,
				MHD_OPTION_EXTERNAL_LOGGER, verbose ? log_verbose : log_quiet, NULL,
				MHD_OPTION_END);
	if (!h->d) {
		snprintf(err, errlen, "cannot listen on %s: %s", spec,
			 errno ? strerror(errno) : "libmicrohttpd refused to start");
		free(h);
		return NULL;
	}
	/* Report what was really bound (port 0 picks one). */
	info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_LISTEN_FD);
	if (info && !getsockname(info->listen_fd, (struct sockaddr *)&got, &gotlen)) {
		if (got.ss_family == AF_INET6) {
			struct sockaddr_in6 *s6 = (void *)&got;

			inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
			snprintf(bound, boundlen, "[%s]:%u", host, ntohs(s6->sin6_port));
		} else {
			struct sockaddr_in *s4 = (void *)&got;

			inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
			snprintf(bound, boundlen, "%s:%u", host, ntohs(s4->sin_port));
		}
	} else {
		snprintf(bound, boundlen, "%s", spec);
	}
	return h;
}

void mts_http_stop(struct mts_http *h)
{
	if (!h)
		return;
	MHD_stop_daemon(h->d);
	free(h);
}
