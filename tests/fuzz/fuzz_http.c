// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * fuzz_http - libFuzzer harness for the exporter's request path: the real
 * server (user/http.c, libmicrohttpd) in a network namespace of its own, the real pages (mts_page_render: /metrics, /flows). An input is
 *
 *   state length (2 bytes, little endian), the state, the request
 *
 * The state makes the detector's view: up to three interfaces with names of
 * any bytes (as a kernel name may be; shown as the loader shows them), their counters and blind flags, and
 * flows whose records are the input's bytes run through the correlator. The
 * request is sent as it is, then the write side is closed, and the answer
 * must come within 15 s (the server's idle timeout is 10 s) and be an HTTP
 * status line or nothing. Both pages of the state must also be well-formed
 * whatever it holds: valid UTF-8; /metrics every line a comment or a sample
 * in the exposition format, label values escaped; /flows one JSON object.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include "http.h"
#include "format.h"
#include "snapshot.h"

#define MAX_IFS		3
#define MAX_FLOWS	8
#define ANSWER_S	15

#define CHECK(cond, ...)						\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "fuzz_http: " __VA_ARGS__);	\
			fputc('\n', stderr);				\
			abort();					\
		}							\
	} while (0)

static struct sockaddr_in server;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct mts_model model;
static struct mts_iface_report ifs[MAX_IFS];
static char names[MAX_IFS][MTS_SHOWN_LEN];	/* as the loader shows them */
static struct mts_state state = { .m = &model, .ifs = ifs };

static const char *ifname(void *ctx, __u32 ifindex)
{
	(void)ctx;
	return ifindex < MAX_IFS && (int)ifindex < state.n_ifs ? names[ifindex] : NULL;
}

static int render(void *ctx, enum mts_page page, char **buf, size_t *len)
{
	int rc;

	(void)ctx;
	pthread_mutex_lock(&lock);
	rc = mts_page_render(&state, page == MTS_PAGE_METRICS, 1796000000.0, 1000, ifname, NULL,
			     buf, len);
	pthread_mutex_unlock(&lock);
	return rc;
}

/* ------------------------------------------------------------ the state */

static size_t take(void *dst, size_t n, const uint8_t **p, const uint8_t *end)
{
	size_t k = (size_t)(end - *p) < n ? (size_t)(end - *p) : n;

	memset(dst, 0, n);
	memcpy(dst, *p, k);
	*p += k;
	return k;
}

static void build_state(const uint8_t *p, const uint8_t *end)
{
	__u8 n = 0;

	mts_model_free(&model);
	CHECK(!mts_model_init(&model, 16), "model");
	memset(ifs, 0, sizeof(ifs));
	take(&n, 1, &p, end);
	state.n_ifs = n % (MAX_IFS + 1);
	for (int i = 0; i < state.n_ifs; i++) {
		char name[IF_NAMESIZE];
		__u8 len = 0, flags = 0;

		take(&len, 1, &p, end);
		take(name, len % IF_NAMESIZE, &p, end);
		name[len % IF_NAMESIZE] = 0;
		mts_name_shown(names[i], sizeof(names[i]), name);
		take(&flags, 1, &p, end);
		ifs[i].name = names[i];
		ifs[i].hook = flags & 1 ? "tc" : "tcx";
		ifs[i].l3 = flags >> 1 & 1;
		ifs[i].blind[0] = flags >> 2 & 1;
		ifs[i].blind[1] = flags >> 3 & 1;
		take(ifs[i].in.c, sizeof(__u64) * 4, &p, end);
		take(ifs[i].out.c + MTS_C_ERR_L2, sizeof(__u64) * 4, &p, end);
	}
	/* Flows: a key and a record each, the record assessed twice (its
	 * first sight, then a second later) as the loop would. */
	for (int i = 0; i < MAX_FLOWS && p < end; i++) {
		struct mts_flow_key k;
		struct mts_flow rec;
		struct mts_track *t;

		take(&k, sizeof(k), &p, end);
		take(&rec, sizeof(rec), &p, end);
		t = mts_model_add(&model, &k, i % MAX_IFS);
		CHECK(t, "model add");
		mts_model_update(&model, t, &rec, 1000, 1796000000.0);
		mts_model_update(&model, t, &rec, 1000 + 1000000000 / (1 << MTS_TICK_SHIFT),
				 1796000001.0);
	}
	state.table_entries = model.n;
	state.table_capacity = 256;
	state.t_start = 1795999990.0;
}

/* ------------------------------------------------------------ the pages */

/* Well-formed UTF-8 (no overlong forms, surrogates or values past U+10FFFF). */
static bool utf8_ok(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned c = s[i], need, min, v;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			need = 1, min = 0x80, v = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			need = 2, min = 0x800, v = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			need = 3, min = 0x10000, v = c & 0x07;
		else
			return false;
		if (i + need >= n)
			return false;
		for (unsigned k = 1; k <= need; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			v = v << 6 | (s[i + k] & 0x3f);
		}
		if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
			return false;
		i += need + 1;
	}
	return true;
}

static bool name_char(char c, bool first, bool label)
{
	return c == '_' || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') ||
	       (!first && c >= '0' && c <= '9') || (!label && c == ':');
}

/* The end of a metric (label) name at s, or NULL if none starts there. */
static const char *name_end(const char *s, bool label)
{
	if (!name_char(*s, true, label))
		return NULL;
	while (name_char(*++s, false, label))
		;
	return s;
}

/* One line of the text exposition format 0.0.4. */
static bool prom_line_ok(const char *l)
{
	const char *s;
	char *end;

	if (!strncmp(l, "# HELP ", 7) || !strncmp(l, "# TYPE ", 7))
		return name_end(l + 7, false) != NULL;
	if (!(s = name_end(l, false)))
		return false;
	if (*s == '{') {
		s++;
		while (*s != '}') {
			if (!(s = name_end(s, true)) || s[0] != '=' || s[1] != '"')
				return false;
			for (s += 2; *s != '"'; s++) {
				if (!*s || *s == '\n')
					return false;
				if (*s == '\\' && (s[1] == '\\' || s[1] == '"' || s[1] == 'n'))
					s++;
				else if (*s == '\\')
					return false;
			}
			s++;
			if (*s == ',')
				s++;
			else if (*s != '}')
				return false;
		}
		s++;
	}
	if (*s != ' ')
		return false;
	strtod(s + 1, &end);
	return end != s + 1 && !*end;
}

static void check_pages(void)
{
	char *buf;
	size_t len;

	CHECK(!render(NULL, MTS_PAGE_METRICS, &buf, &len), "/metrics rendering failed");
	CHECK(strlen(buf) == len && utf8_ok((unsigned char *)buf, len), "/metrics not UTF-8 text");
	CHECK(len && buf[len - 1] == '\n', "/metrics does not end a line");
	for (char *save = NULL, *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		CHECK(prom_line_ok(l), "/metrics line not in the exposition format: %s", l);
	free(buf);

	CHECK(!render(NULL, MTS_PAGE_FLOWS, &buf, &len), "/flows rendering failed");
	CHECK(strlen(buf) == len && utf8_ok((unsigned char *)buf, len), "/flows not UTF-8 text");
	json_object *o = json_tokener_parse(buf);

	CHECK(o && json_object_is_type(o, json_type_object), "/flows not a JSON object");
	json_object_put(o);
	free(buf);
}

/* ------------------------------------------------------------ the request */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A connection to the server. libFuzzer's timer (SIGALRM) interrupts system
 * calls: an interrupted connect() goes on by itself, waited for here. */
static int dial(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), err = 0;
	socklen_t len = sizeof(err);
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };

	CHECK(fd >= 0, "socket: %s", strerror(errno));
	if (!connect(fd, (struct sockaddr *)&server, sizeof(server)))
		return fd;
	CHECK(errno == EINTR, "connect: %s", strerror(errno));
	while (poll(&pfd, 1, ANSWER_S * 1000) < 0)
		CHECK(errno == EINTR, "poll: %s", strerror(errno));
	CHECK(!getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) && !err, "connect: %s",
	      strerror(err));
	return fd;
}

static void ask(const uint8_t *req, size_t n)
{
	static char answer[1 << 20];
	size_t got = 0, off = 0;
	double deadline = now_s() + ANSWER_S;
	int fd = dial();
	unsigned status;

	while (off < n) {	/* the server may answer and close before reading it all */
		ssize_t w = send(fd, req + off, n - off, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += w;
	}
	shutdown(fd, SHUT_WR);
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int left = (deadline - now_s()) * 1000;
		ssize_t r;

		int ready = poll(&pfd, 1, left > 0 ? left : 0);

		if (ready < 0 && errno == EINTR)
			continue;
		CHECK(ready == 1, "no end to the answer in %d s", ANSWER_S);
		r = recv(fd, answer + got, got < sizeof(answer) ? sizeof(answer) - got : 0, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || got == sizeof(answer))
			break;
		got += r;
	}
	close(fd);
	if (!got)
		return;
	CHECK(got >= 12 && (!memcmp(answer, "HTTP/1.1 ", 9) || !memcmp(answer, "HTTP/1.0 ", 9)) &&
	      sscanf(answer + 9, "%3u", &status) == 1 && status >= 100 && status <= 599,
	      "the answer is no HTTP status line: %.40s", answer);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t slen;

	if (size < 2)
		return 0;
	slen = data[0] | data[1] << 8;
	if (slen > size - 2)
		slen = size - 2;
	pthread_mutex_lock(&lock);
	build_state(data + 2, data + 2 + slen);
	pthread_mutex_unlock(&lock);
	check_pages();
	ask(data + 2 + slen, size - 2 - slen);
	return 0;
}

/* A network namespace of our own, its loopback up with a documentation
 * address, the server on that. */
#define SERVER_ADDR	"192.0.2.80"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct ifreq ifr = { .ifr_name = "lo" }, alias = { .ifr_name = "lo:fuzz" };
	struct sockaddr_in *a = (struct sockaddr_in *)&alias.ifr_addr;
	char bound[64], err[256];
	int fd;

	(void)argc;
	(void)argv;
	CHECK(!unshare(CLONE_NEWNET), "a network namespace of its own (root needed): %s",
	      strerror(errno));
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	CHECK(fd >= 0 && !ioctl(fd, SIOCGIFFLAGS, &ifr), "loopback flags: %s", strerror(errno));
	ifr.ifr_flags |= IFF_UP;
	CHECK(!ioctl(fd, SIOCSIFFLAGS, &ifr), "loopback up: %s", strerror(errno));
	a->sin_family = AF_INET;
	inet_pton(AF_INET, SERVER_ADDR, &a->sin_addr);
	CHECK(!ioctl(fd, SIOCSIFADDR, &alias), "address on loopback: %s", strerror(errno));
	close(fd);
	CHECK(!mts_model_init(&model, 16), "model");
	CHECK(mts_http_start(SERVER_ADDR ":0", render, NULL, false, bound, sizeof(bound), err,
			     sizeof(err)), "start the server: %s", err);
	server.sin_family = AF_INET;
	server.sin_addr = a->sin_addr;
	server.sin_port = htons(atoi(strrchr(bound, ':') + 1));
	return 0;
}
