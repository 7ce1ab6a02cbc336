// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * top.c - the live view of one snapshot (snapshot.h), in curses or as text.
 *
 * Contract:
 * - The view reads only snapshots, never the detector: whatever holds one
 *   (the local loop, or mts_top_connect fetching /flows) gets the same view.
 * - The caller owns the clock: it calls mts_top_update about once a second
 *   and mts_top_poll in between; the view redraws only after a change
 *   (update, key, resize), with erase + refresh so curses sends the diff.
 * - Curses is never called from a signal handler. A caller's SIGINT/SIGTERM
 *   handler sets a flag; its loop then calls mts_top_close, which gives the
 *   terminal back. Install those handlers before mts_top_open: curses then
 *   leaves them alone (it only takes signals still at their default).
 * - One formatter serves both views: header_build lays out the header,
 *   flow_list filters and sorts, fmt_row formats a row into a buffer;
 *   curses adds colour over the same text, the plain view prints it.
 */
#define _GNU_SOURCE		/* strverscmp */
#include <curl/curl.h>
#include <curses.h>
#include <errno.h>
#include <locale.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include "correlator.h"
#include "top.h"

#define LINE_MAX_W	512	/* wider terminals are cut here */
#define HDR_LINES	12
#define HDR_SPANS	16
#define PANE_LINES	64
#define FETCH_MAX	(64 << 20)	/* a /flows reply larger than this is refused */

enum sort_key { SORT_VERDICT, SORT_AGE, SORT_RETRANS, SORT_SRC, SORT_MAX };
static const char *const sort_names[SORT_MAX] = { "verdict", "age", "retransmissions", "src" };

enum { PAIR_RED = 1, PAIR_MAGENTA, PAIR_YELLOW, PAIR_CYAN, PAIR_GREEN };
static const short verdict_pair[MTS_V_MAX] = {
	[MTS_V_BLACKHOLE] = PAIR_RED,
	[MTS_V_PTB_IGNORED] = PAIR_MAGENTA,
	[MTS_V_SUSPECT] = PAIR_YELLOW,
	[MTS_V_STALLED] = PAIR_YELLOW,
	[MTS_V_PMTU_LIMITED] = PAIR_CYAN,
	[MTS_V_RECOVERED] = PAIR_GREEN,
	[MTS_V_HEALTHY] = PAIR_GREEN,
};

struct mts_top {
	SCREEN *scr;
	bool colors;
	json_object *latest;		/* newest snapshot */
	json_object *shown;		/* what is drawn: latest unless paused */
	json_object **rows;		/* shown's flows, filtered and sorted */
	int n_rows;
	enum sort_key sort;
	enum mts_verdict filter;	/* MTS_V_NONE: all */
	int sel, top;			/* selected row, first row on screen */
	char sel_id[160];		/* the selected flow, kept across updates */
	bool paused, dirty;
	bool detail;			/* the detail pane is open */
	int detail_top;			/* its first line on screen */
	json_object *detail_flow;	/* its flow, as last seen */
	bool detail_gone;		/* no longer in the snapshot */
	char source[128];		/* --connect: where the snapshots come from */
	char status[512];		/* --connect: the last fetch error */
};

/* ---------------------------------------------------------------- JSON */

static json_object *jget(json_object *o, const char *k)
{
	json_object *v = NULL;

	return o && json_object_object_get_ex(o, k, &v) ? v : NULL;
}

static long long jint(json_object *o, const char *k)
{
	return json_object_get_int64(jget(o, k));	/* missing: 0 */
}

static double jdbl(json_object *o, const char *k)
{
	return json_object_get_double(jget(o, k));
}

static const char *jstr(json_object *o, const char *k)
{
	json_object *v = jget(o, k);

	return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
}

static size_t jlen(json_object *a)
{
	return json_object_is_type(a, json_type_array) ? json_object_array_length(a) : 0;
}

static enum mts_verdict verdict_of(json_object *flow)
{
	const char *s = jstr(flow, "verdict");

	for (int v = MTS_V_HEALTHY; v < MTS_V_MAX; v++)
		if (!strcmp(s, mts_verdict_name(v)))
			return v;
	return MTS_V_NONE;
}

/* Verdicts worst first, as the correlator ranks them. */
static enum mts_verdict verdict_by_rank(int rank)
{
	for (int v = MTS_V_HEALTHY; v < MTS_V_MAX; v++)
		if (mts_verdict_rank(v) == rank)
			return v;
	return MTS_V_NONE;
}

static void flow_id(json_object *flow, char *buf, size_t len)
{
	snprintf(buf, len, "%s %s %s", jstr(flow, "proto"), jstr(flow, "src"), jstr(flow, "dst"));
}

/* ------------------------------------------------------- small formats */

static void fmt_count(char *buf, size_t len, unsigned long long v)
{
	static const char units[] = "kMGTPE";
	double d = v;
	int u = -1;

	if (v < 100000) {
		snprintf(buf, len, "%llu", v);
		return;
	}
	while (d >= 1000 && u < 5) {
		d /= 1000;
		u++;
	}
	snprintf(buf, len, d < 100 ? "%.1f%c" : "%.0f%c", d, units[u]);
}

/* Seconds as one or two units: "42s", "5m03s", "2h07m", "3d04h". */
static void fmt_span(char *buf, size_t len, double secs, bool fine)
{
	unsigned long s = secs > 0 ? (unsigned long)secs : 0;

	if (s < 60)
		snprintf(buf, len, "%lus", s);
	else if (s < 3600)
		snprintf(buf, len, fine ? "%lum%02lus" : "%lum", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, len, fine ? "%luh%02lum" : "%luh", s / 3600, s / 60 % 60);
	else
		snprintf(buf, len, fine ? "%lud%02luh" : "%lud", s / 86400, s / 3600 % 24);
}

static void fmt_clock(char *buf, size_t len, double ts)
{
	time_t secs = (time_t)ts;
	struct tm tm;

	if (ts <= 0 || !localtime_r(&secs, &tm))
		snprintf(buf, len, "--:--:--");
	else
		strftime(buf, len, "%H:%M:%S", &tm);
}

/* Copy s into a field of w columns; cut on the left (keep a port) or right. */
static void fit(char *dst, const char *s, int w, bool keep_right)
{
	int n = strlen(s);

	if (n <= w) {
		memcpy(dst, s, n + 1);
	} else if (w <= 1) {
		snprintf(dst, 2, "%s", w ? "~" : "");
	} else if (keep_right) {
		dst[0] = '~';
		memcpy(dst + 1, s + n - (w - 1), w);
	} else {
		memcpy(dst, s, w - 1);
		strcpy(dst + w - 1, "~");
	}
}

/* -------------------------------------------------------------- header */

struct span {
	short line, col, len;
	enum mts_verdict v;
};

struct header {
	int n, x, indent, width;	/* lines, cursor, where this line's items start */
	char line[HDR_LINES][LINE_MAX_W];
	int n_spans;
	struct span span[HDR_SPANS];
};

static void hdr_break(struct header *h)
{
	if (h->x && h->n < HDR_LINES - 1)
		h->n++;
	h->x = h->indent = 0;
}

/* Add one item; items wrap within the width, continuation lines indented. */
static void hdr_add(struct header *h, enum mts_verdict v, const char *fmt, ...)
{
	char item[LINE_MAX_W];
	va_list ap;
	int len, at;

	va_start(ap, fmt);
	vsnprintf(item, sizeof(item), fmt, ap);
	va_end(ap);
	len = strlen(item);
	if (h->x > h->indent && h->x + 2 + len > h->width && h->n < HDR_LINES - 1) {
		h->n++;
		h->x = h->indent = 2;
		strcpy(h->line[h->n], "  ");
	}
	at = h->x > h->indent ? h->x + 2 : h->x;
	if (at >= h->width)
		return;
	if (len > h->width - at)
		len = h->width - at;
	snprintf(h->line[h->n] + h->x, LINE_MAX_W - h->x, "%*s%.*s", at - h->x, "", len, item);
	if (v != MTS_V_NONE && h->n_spans < HDR_SPANS)
		h->span[h->n_spans++] = (struct span){ h->n, at, len, v };
	h->x = at + len;
}

/* The header: title, totals, flows per verdict, and for the live view its state. */
static void header_build(struct header *h, json_object *snap, int width, const struct mts_top *t)
{
	json_object *ifaces = jget(snap, "ifaces"), *tot = jget(snap, "totals");
	json_object *verdicts = jget(snap, "verdicts"), *table = jget(snap, "flow_table");
	char a[32], b[32], names[256] = "";
	size_t n = 0;

	memset(h, 0, sizeof(*h));
	h->width = width;

	for (size_t i = 0; i < jlen(ifaces) && n < sizeof(names); i++)
		n += snprintf(names + n, sizeof(names) - n, "%s%s", i ? ", " : "",
			      jstr(json_object_array_get_idx(ifaces, i), "name"));
	hdr_add(h, MTS_V_NONE, "mtuscope%s%s", *jstr(snap, "version") ? " " : "",
		jstr(snap, "version"));
	if (*names)
		hdr_add(h, MTS_V_NONE, "on %s", names);
	if (t && *t->source)
		hdr_add(h, MTS_V_NONE, "from %s", t->source);
	if (snap) {
		fmt_span(a, sizeof(a), jdbl(snap, "uptime"), true);
		fmt_clock(b, sizeof(b), jdbl(snap, "ts"));
		hdr_add(h, MTS_V_NONE, "up %s", a);
		hdr_add(h, MTS_V_NONE, "%s", b);
	}
	if (t && t->paused)
		hdr_add(h, MTS_V_BLACKHOLE, "PAUSED");
	if (t && *t->status)
		hdr_add(h, MTS_V_BLACKHOLE, "%s", t->status);

	if (snap) {
		hdr_break(h);
		fmt_count(a, sizeof(a), jint(tot, "packets"));
		hdr_add(h, MTS_V_NONE, "pkts %s", a);
		hdr_add(h, MTS_V_NONE, "large rtx %lld", jint(tot, "rtx_large"));
		hdr_add(h, MTS_V_NONE, "PTB in %lld out %lld", jint(tot, "ptb_rx"), jint(tot, "ptb_tx"));
		hdr_add(h, MTS_V_NONE, "parse err %lld", jint(tot, "parse_errors"));
		hdr_add(h, MTS_V_NONE, "rb drops %lld", jint(tot, "events_dropped"));
		fmt_count(a, sizeof(a), jint(table, "capacity"));
		hdr_add(h, MTS_V_NONE, "table %lld/%s", jint(table, "entries"), a);

		hdr_break(h);
		for (int r = 0; r < MTS_V_MAX; r++) {
			enum mts_verdict v = verdict_by_rank(r);
			long long c = jint(verdicts, mts_verdict_name(v));

			if (v != MTS_V_NONE)
				hdr_add(h, c ? v : MTS_V_NONE, "%s %lld", mts_verdict_name(v), c);
		}
	}
	if (t) {
		hdr_break(h);
		hdr_add(h, MTS_V_NONE, "sort %s", sort_names[t->sort]);
		hdr_add(h, MTS_V_NONE, "filter %s",
			t->filter == MTS_V_NONE ? "all" : mts_verdict_name(t->filter));
		hdr_add(h, MTS_V_NONE, "%d of %zu flows shown", t->n_rows,
			jlen(jget(t->shown, "flows")));
	}
	if (h->x)
		h->n++;
}

/* ---------------------------------------------------------------- rows */

struct cells {
	char verdict[32], src[80], dst[80], iface[32], lrtx[16], ptb[16], wall[32], advice[32],
	     age[16];
};

struct cols {			/* column widths */
	int verdict, src, dst, iface, lrtx, ptb, wall, advice, age;
};

static const struct cells head_cells = {
	"VERDICT", "SRC", "DST", "IFACE", "LRTX", "PTB", "WALL", "MTU/MSS", "AGE"
};

static void flow_cells(json_object *f, struct cells *c)
{
	long long lo = jint(f, "wall_low"), hi = jint(f, "wall_high");
	long long mtu = jint(f, "advice_mtu"), mss = jint(f, "advice_mss");

	snprintf(c->verdict, sizeof(c->verdict), "%s", jstr(f, "verdict"));
	snprintf(c->src, sizeof(c->src), "%s", jstr(f, "src"));
	snprintf(c->dst, sizeof(c->dst), "%s", jstr(f, "dst"));
	snprintf(c->iface, sizeof(c->iface), "%s", jstr(f, "iface"));
	fmt_count(c->lrtx, sizeof(c->lrtx), jint(f, "large_retrans"));
	fmt_count(c->ptb, sizeof(c->ptb), jint(f, "ptb_rx") + jint(f, "ptb_tx"));
	if (hi)
		snprintf(c->wall, sizeof(c->wall), "%lld..%lld", lo, hi);
	else
		snprintf(c->wall, sizeof(c->wall), "-");
	if (mtu)
		snprintf(c->advice, sizeof(c->advice), "%lld/%lld", mtu, mss);
	else
		snprintf(c->advice, sizeof(c->advice), "-");
	fmt_span(c->age, sizeof(c->age), jdbl(f, "age"), false);
}

static void widen(int *w, const char *s)
{
	int n = strlen(s);

	if (n > *w)
		*w = n;
}

/*
 * Fixed columns take what their widest cell needs (at least a typical
 * value, so the table does not jump); src and dst share the rest.
 */
static void cols_fit(struct cols *c, json_object **rows, int n, int width)
{
	struct cells x;
	int need_src = 3, need_dst = 3, room;

	*c = (struct cols){ .verdict = 7, .iface = 5, .lrtx = 4, .ptb = 3, .wall = 10, .advice = 9,
			    .age = 3 };
	for (int i = 0; i < n; i++) {
		flow_cells(rows[i], &x);
		widen(&c->verdict, x.verdict);
		widen(&need_src, x.src);
		widen(&need_dst, x.dst);
		widen(&c->iface, x.iface);
		widen(&c->lrtx, x.lrtx);
		widen(&c->ptb, x.ptb);
		widen(&c->wall, x.wall);
		widen(&c->advice, x.advice);
		widen(&c->age, x.age);
	}
	if (c->verdict > 12)	/* "pmtu-limited"; anything longer is not ours */
		c->verdict = 12;
	if (c->iface > 10)
		c->iface = 10;
	room = width - (c->verdict + 1) - 4 /* " -> " */ - (c->iface + 1) - (c->lrtx + 1) -
	       (c->ptb + 1) - (c->wall + 1) - (c->advice + 1) - (c->age + 1);
	if (room < 12)
		room = 12;
	if (need_src + need_dst <= room) {
		c->src = need_src;
		c->dst = need_dst;
	} else {
		c->src = need_src < room / 2 ? need_src : room / 2;
		c->dst = need_dst < room - c->src ? need_dst : room - c->src;
		c->src = room - c->dst < need_src ? room - c->dst : need_src;
	}
}

/* Returns the row's length before any cut, as snprintf does. */
static int fmt_cells(char *buf, size_t len, const struct cells *x, const struct cols *c)
{
	char src[LINE_MAX_W], dst[LINE_MAX_W], ifc[LINE_MAX_W];

	fit(src, x->src, c->src, true);
	fit(dst, x->dst, c->dst, true);
	fit(ifc, x->iface, c->iface, false);
	return snprintf(buf, len, "%-*.*s %-*s %s %-*s %-*s %*s %*s %*s %*s %*s",
			c->verdict, c->verdict, x->verdict, c->src, src,
			x == &head_cells ? "  " : "->", c->dst, dst, c->iface, ifc,
			c->lrtx, x->lrtx, c->ptb, x->ptb, c->wall, x->wall,
			c->advice, x->advice, c->age, x->age);
}

/* One flow as one table row: the single row formatter of both views. */
static int fmt_row(char *buf, size_t len, json_object *flow, const struct cols *c)
{
	struct cells x;

	flow_cells(flow, &x);
	return fmt_cells(buf, len, &x, c);
}

struct entry {
	json_object *f;
	enum sort_key by;
};

/* Negative when a comes first in a "largest first" order. */
static int desc(double a, double b)
{
	return (a < b) - (a > b);
}

static int entry_cmp(const void *pa, const void *pb)
{
	json_object *a = ((const struct entry *)pa)->f, *b = ((const struct entry *)pb)->f;
	int rank = mts_verdict_rank(verdict_of(a)) - mts_verdict_rank(verdict_of(b)), d = 0;

	switch (((const struct entry *)pa)->by) {
	case SORT_AGE:		/* oldest first */
		d = desc(jdbl(a, "age"), jdbl(b, "age"));
		break;
	case SORT_RETRANS:	/* most first */
		d = desc(jint(a, "large_retrans"), jint(b, "large_retrans"));
		break;
	case SORT_SRC:
		d = strverscmp(jstr(a, "src"), jstr(b, "src"));
		break;
	default:		/* worst first; in a verdict, the latest to enter it */
		d = rank ? rank : desc(jdbl(b, "since"), jdbl(a, "since"));
		break;
	}
	if (!d)
		d = rank;
	if (!d)
		d = strverscmp(jstr(a, "src"), jstr(b, "src"));
	return d ? d : strverscmp(jstr(a, "dst"), jstr(b, "dst"));
}

/* The flows to show (filter: a verdict, or MTS_V_NONE for all), sorted. */
static int flow_list(json_object *snap, enum sort_key by, enum mts_verdict filter,
		     json_object ***out)
{
	json_object *flows = jget(snap, "flows");
	size_t n = jlen(flows);
	struct entry *e = calloc(n ? n : 1, sizeof(*e));
	int k = 0;

	*out = calloc(n ? n : 1, sizeof(**out));
	if (!e || !*out) {
		free(e);
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		json_object *f = json_object_array_get_idx(flows, i);

		if (json_object_is_type(f, json_type_object) &&
		    (filter == MTS_V_NONE || verdict_of(f) == filter))
			e[k++] = (struct entry){ f, by };
	}
	qsort(e, k, sizeof(*e), entry_cmp);
	for (int i = 0; i < k; i++)
		(*out)[i] = e[i].f;
	free(e);
	return k;
}

/* ---------------------------------------------------------- plain text */

static void put_line(FILE *f, const char *s)
{
	int n = strlen(s);

	while (n && s[n - 1] == ' ')
		n--;
	fprintf(f, "%.*s\n", n, s);
}

/* The width of the terminal on fd, 80 when it is not one. */
static int term_width(int fd)
{
	struct winsize ws;

	if (isatty(fd) && !ioctl(fd, TIOCGWINSZ, &ws) && ws.ws_col)
		return ws.ws_col;
	return 80;
}

/* width <= 0: f's terminal width, or 80 when f is not a terminal. */
void mts_top_print(FILE *f, json_object *snap, int width)
{
	struct header h;
	struct cols c;
	json_object **rows;
	char buf[LINE_MAX_W];
	int n;

	if (width <= 0)
		width = term_width(fileno(f));
	width = width < 40 ? 40 : width >= LINE_MAX_W ? LINE_MAX_W - 1 : width;
	header_build(&h, snap, width, NULL);
	for (int i = 0; i < h.n; i++)
		put_line(f, h.line[i]);
	n = flow_list(snap, SORT_VERDICT, MTS_V_NONE, &rows);
	cols_fit(&c, rows, n, width);
	if (fmt_cells(buf, sizeof(buf), &head_cells, &c) > width)
		buf[width] = 0;
	fputc('\n', f);
	put_line(f, buf);
	for (int i = 0; i < n; i++) {
		if (fmt_row(buf, sizeof(buf), rows[i], &c) > width)
			buf[width] = 0;
		put_line(f, buf);
	}
	free(rows);
	fflush(f);
}

/* --------------------------------------------------------- detail pane */

struct pane {
	int n;
	char line[PANE_LINES][LINE_MAX_W];
	bool bold[PANE_LINES];
};

static void pane_add(struct pane *p, bool bold, const char *s)
{
	if (p->n >= PANE_LINES)
		return;
	snprintf(p->line[p->n], LINE_MAX_W, "%s", s);
	p->bold[p->n++] = bold;
}

/*
 * Break s at spaces into lines of at most width, after a lead on the first
 * line and an indent on the others; cmd: end cut lines with a shell " \\".
 */
static void pane_wrap(struct pane *p, bool bold, const char *s, int width, const char *lead,
		      const char *indent, bool cmd)
{
	char line[LINE_MAX_W];
	const char *pre = lead;

	while (*s) {
		int room = width - strlen(pre) - (cmd ? 2 : 0), n = strlen(s), cut = n;

		if (room < 10)
			room = 10;
		if (n > room) {	/* a command breaks before an option if it can */
			for (cut = room; cut > 0 && (s[cut] != ' ' || (cmd && s[cut + 1] != '-'));
			     cut--)
				;
			for (cut = cut ? cut : room; cut > 0 && s[cut] != ' '; cut--)
				;
			if (!cut)
				cut = room;
		}
		snprintf(line, sizeof(line), "%s%.*s%s", pre, cut, s, cut < n && cmd ? " \\" : "");
		pane_add(p, bold, line);
		s += cut;
		while (*s == ' ')
			s++;
		pre = indent;
	}
}

static void value_str(json_object *v, char *buf, size_t len)
{
	switch (json_object_get_type(v)) {
	case json_type_string:
		snprintf(buf, len, "%s", json_object_get_string(v));
		break;
	case json_type_double:
		snprintf(buf, len, "%.2f", json_object_get_double(v));
		break;
	default:
		snprintf(buf, len, "%s", json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
		break;
	}
}

/* The fix as commands to paste, then every field of the flow in a grid. */
static void detail_build(struct pane *p, json_object *flow, int width, bool gone)
{
	enum { KEY_W = 13, CELL = 26 };
	char line[LINE_MAX_W] = "", item[LINE_MAX_W], val[LINE_MAX_W];
	const char *ifc = jstr(flow, "iface");
	bool v6 = !strcmp(jstr(flow, "family"), "ipv6") || jstr(flow, "src")[0] == '[';
	enum mts_verdict v = verdict_of(flow);
	long long mtu = jint(flow, "advice_mtu"), mss = jint(flow, "advice_mss");
	int x = 0;

	p->n = 0;
	if (gone)
		pane_add(p, true, "(no longer in the snapshot: its last known state)");
	if (mtu && mss && *ifc) {
		snprintf(line, sizeof(line), "%s: MTU %lld on %s, clamp TCP MSS to %lld:",
			 v == MTS_V_BLACKHOLE || v == MTS_V_PTB_IGNORED ? "fix" : "advice", mtu, ifc,
			 mss);
		pane_add(p, true, line);
		snprintf(line, sizeof(line), "ip link set dev %s mtu %lld", ifc, mtu);
		pane_wrap(p, false, line, width, "  ", "      ", true);
		snprintf(line, sizeof(line), "%s -t mangle -A FORWARD -o %s -p tcp --tcp-flags "
			 "SYN,RST SYN -j TCPMSS --set-mss %lld", v6 ? "ip6tables" : "iptables", ifc, mss);
		pane_wrap(p, false, line, width, "  ", "      ", true);
	} else {
		pane_add(p, false, "no advice: the wall of this flow is not known");
	}
	pane_add(p, false, "");
	line[0] = 0;
	json_object_object_foreach(flow, key, jv) {
		int len, span;

		value_str(jv, val, sizeof(val));
		len = snprintf(item, sizeof(item), "%-*s %s", KEY_W, key, val);
		span = (len + 2 + CELL - 1) / CELL * CELL;
		if (x && x + len > width) {
			pane_add(p, false, line);
			x = 0;
		}
		if (len > width) {
			pane_wrap(p, false, item, width, "", "              ", false);
			continue;
		}
		snprintf(line + x, sizeof(line) - x, "%-*s", span, item);
		x += span;
	}
	if (x)
		pane_add(p, false, line);
}

/* ---------------------------------------------------------------- curses */

static void rows_rebuild(struct mts_top *t)
{
	char id[sizeof(t->sel_id)];

	free(t->rows);
	t->n_rows = flow_list(t->shown, t->sort, t->filter, &t->rows);
	for (int i = 0; i < t->n_rows; i++) {
		flow_id(t->rows[i], id, sizeof(id));
		if (!strcmp(id, t->sel_id)) {
			t->sel = i;
			break;
		}
	}
	if (t->sel >= t->n_rows)
		t->sel = t->n_rows - 1;
	if (t->sel < 0)
		t->sel = 0;
	if (t->n_rows)
		flow_id(t->rows[t->sel], t->sel_id, sizeof(t->sel_id));
	t->dirty = true;
}

/* Follow the open pane's flow into the snapshot shown now. */
static void detail_refresh(struct mts_top *t)
{
	json_object *flows = jget(t->shown, "flows");
	char want[sizeof(t->sel_id)], id[sizeof(t->sel_id)];

	if (!t->detail_flow)
		return;
	flow_id(t->detail_flow, want, sizeof(want));
	for (size_t i = 0; i < jlen(flows); i++) {
		json_object *f = json_object_array_get_idx(flows, i);

		flow_id(f, id, sizeof(id));
		if (!strcmp(id, want)) {
			json_object_put(t->detail_flow);
			t->detail_flow = json_object_get(f);
			t->detail_gone = false;
			return;
		}
	}
	t->detail_gone = true;
}

static void show(struct mts_top *t, json_object *snap)
{
	if (t->shown != snap) {
		json_object_put(t->shown);
		t->shown = json_object_get(snap);
	}
	rows_rebuild(t);
	detail_refresh(t);
}

static void color(int y, int x, int n, attr_t attr, enum mts_verdict v, const struct mts_top *t)
{
	short pair = t->colors && (unsigned)v < MTS_V_MAX ? verdict_pair[v] : 0;

	if (v == MTS_V_BLACKHOLE)
		attr |= A_BOLD;
	mvchgat(y, x, n, attr, pair, NULL);
}

static void draw_detail(struct mts_top *t, int y0, int y1, int w)
{
	struct pane pane, *p = &pane;
	char title[LINE_MAX_W];
	int inner = y1 - y0 - 1, max_top;

	if (inner < 1 || w < 20)
		return;
	detail_build(p, t->detail_flow, w - 4, t->detail_gone);
	max_top = p->n > inner ? p->n - inner : 0;
	if (t->detail_top > max_top)
		t->detail_top = max_top;
	for (int y = y0; y <= y1; y++) {
		move(y, 0);
		clrtoeol();
	}
	attron(A_BOLD);
	mvaddch(y0, 0, ACS_ULCORNER);
	mvhline(y0, 1, ACS_HLINE, w - 2);
	mvaddch(y0, w - 1, ACS_URCORNER);
	mvvline(y0 + 1, 0, ACS_VLINE, inner);
	mvvline(y0 + 1, w - 1, ACS_VLINE, inner);
	mvaddch(y1, 0, ACS_LLCORNER);
	mvhline(y1, 1, ACS_HLINE, w - 2);
	mvaddch(y1, w - 1, ACS_LRCORNER);
	snprintf(title, sizeof(title), " %s %s -> %s on %s ", jstr(t->detail_flow, "verdict"),
		 jstr(t->detail_flow, "src"), jstr(t->detail_flow, "dst"),
		 jstr(t->detail_flow, "iface"));
	mvaddnstr(y0, 2, title, w - 4);
	mvaddnstr(y1, 2, max_top ? " Enter/Esc close  Up/Down scroll " : " Enter/Esc close ", w - 4);
	attroff(A_BOLD);
	color(y0, 3, strlen(jstr(t->detail_flow, "verdict")), A_BOLD, verdict_of(t->detail_flow), t);
	for (int i = 0; i < inner && t->detail_top + i < p->n; i++) {
		int k = t->detail_top + i;

		if (p->bold[k])
			attron(A_BOLD);
		mvaddnstr(y0 + 1 + i, 2, p->line[k], w - 4);
		attroff(A_BOLD);
	}
}

static void draw(struct mts_top *t)
{
	static const char keys[] =
		"q quit  p pause  s sort  f filter  Up/Down PgUp/PgDn select  Enter detail";
	int w = COLS < LINE_MAX_W ? COLS : LINE_MAX_W - 1, hgt = LINES;
	struct header hdr, *h = &hdr;
	char buf[LINE_MAX_W];
	struct cols c;
	int y, vis;

	t->dirty = false;
	erase();
	header_build(h, t->shown, w < 40 ? 40 : w, t);
	for (int i = 0; i < h->n && i < hgt; i++)
		mvaddnstr(i, 0, h->line[i], w);
	for (int i = 0; i < h->n_spans; i++)
		if (h->span[i].line < hgt && h->span[i].col < w)
			color(h->span[i].line, h->span[i].col, h->span[i].len, A_NORMAL, h->span[i].v, t);
	y = h->n;

	cols_fit(&c, t->rows, t->n_rows, w);
	fmt_cells(buf, sizeof(buf), &head_cells, &c);
	if (y < hgt - 1) {
		attron(A_REVERSE);
		mvprintw(y, 0, "%-*.*s", w, w, buf);
		attroff(A_REVERSE);
	}
	vis = hgt - 1 - (y + 1);
	if (vis < 0)
		vis = 0;
	if (t->sel < t->top)
		t->top = t->sel;
	if (vis && t->sel >= t->top + vis)
		t->top = t->sel - vis + 1;
	if (t->top > 0 && t->top > t->n_rows - vis)
		t->top = t->n_rows - vis > 0 ? t->n_rows - vis : 0;
	for (int i = 0; i < vis && t->top + i < t->n_rows; i++) {
		int r = t->top + i, row = y + 1 + i;

		fmt_row(buf, sizeof(buf), t->rows[r], &c);
		mvaddnstr(row, 0, buf, w);
		if (r == t->sel)
			mvchgat(row, 0, w, A_REVERSE, 0, NULL);
		color(row, 0, c.verdict, r == t->sel ? A_REVERSE : A_NORMAL, verdict_of(t->rows[r]), t);
	}
	if (!t->n_rows && y + 1 < hgt - 1)
		mvaddnstr(y + 1, 0, !t->shown ? "  (no data yet)" : t->filter != MTS_V_NONE ?
			  "  (no flows with this verdict; f: next filter)" : "  (no flows)", w);
	if (t->detail && t->detail_flow)
		draw_detail(t, y, hgt - 2, w);
	attron(A_BOLD);
	mvaddnstr(hgt - 1, 0, keys, w - 1);
	attroff(A_BOLD);
	refresh();
}

struct mts_top *mts_top_open(void)
{
	struct mts_top *t;

	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		fprintf(stderr, "mtuscope top: not a terminal (use --once for plain text)\n");
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		fprintf(stderr, "mtuscope top: out of memory\n");
		return NULL;
	}
	setlocale(LC_CTYPE, "");	/* ncursesw: the terminal's charset; numbers stay C */
	t->scr = newterm(NULL, stdout, stdin);
	if (!t->scr) {
		fprintf(stderr, "mtuscope top: cannot drive terminal type '%s'\n",
			getenv("TERM") ? getenv("TERM") : "(unset)");
		free(t);
		return NULL;
	}
	cbreak();		/* ^C stays a signal: the caller's handler ends the loop */
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	set_escdelay(25);
	curs_set(0);
	if (has_colors() && start_color() == OK) {
		use_default_colors();
		init_pair(PAIR_RED, COLOR_RED, -1);
		init_pair(PAIR_MAGENTA, COLOR_MAGENTA, -1);
		init_pair(PAIR_YELLOW, COLOR_YELLOW, -1);
		init_pair(PAIR_CYAN, COLOR_CYAN, -1);
		init_pair(PAIR_GREEN, COLOR_GREEN, -1);
		t->colors = true;
	}
	t->filter = MTS_V_NONE;
	t->dirty = true;
	return t;
}

void mts_top_update(struct mts_top *t, json_object *snapshot)
{
	if (!t || !snapshot)
		return;
	json_object_put(t->latest);
	t->latest = json_object_get(snapshot);
	if (!t->paused)
		show(t, t->latest);
}

static void select_row(struct mts_top *t, int sel)
{
	if (sel >= t->n_rows)
		sel = t->n_rows - 1;
	t->sel = sel < 0 ? 0 : sel;
	if (t->n_rows)
		flow_id(t->rows[t->sel], t->sel_id, sizeof(t->sel_id));
	t->dirty = true;
}

/* One key; true on quit. */
static bool handle_key(struct mts_top *t, int ch)
{
	int page = LINES > 10 ? LINES - 8 : 1;

	switch (ch) {
	case 'q':
	case 'Q':
		return true;
	case 'p':
	case 'P':
		t->paused = !t->paused;
		if (!t->paused && t->latest)
			show(t, t->latest);
		break;
	case 's':
	case 'S':
		t->sort = (t->sort + 1) % SORT_MAX;
		rows_rebuild(t);
		break;
	case 'f':
	case 'F': {
		int r = t->filter == MTS_V_NONE ? 0 : mts_verdict_rank(t->filter) + 1;

		t->filter = verdict_by_rank(r);	/* past the last one: MTS_V_NONE, all */
		rows_rebuild(t);
		break;
	}
	case KEY_UP:
	case KEY_DOWN:
	case KEY_PPAGE:
	case KEY_NPAGE: {
		int step = ch == KEY_UP || ch == KEY_DOWN ? 1 : page;
		int dir = ch == KEY_UP || ch == KEY_PPAGE ? -1 : 1;

		if (t->detail)
			t->detail_top = t->detail_top + dir * step < 0 ? 0 : t->detail_top + dir * step;
		else
			select_row(t, t->sel + dir * step);
		break;
	}
	case KEY_HOME:
		select_row(t, 0);
		break;
	case KEY_END:
		select_row(t, t->n_rows - 1);
		break;
	case '\n':
	case '\r':
	case KEY_ENTER:
	case 27:		/* Esc */
		if (t->detail || ch == 27) {
			t->detail = false;
		} else if (t->n_rows) {
			json_object_put(t->detail_flow);
			t->detail_flow = json_object_get(t->rows[t->sel]);
			t->detail_gone = false;
			t->detail_top = 0;
			t->detail = true;
		}
		break;
	case KEY_RESIZE:
		break;
	default:
		return false;
	}
	t->dirty = true;
	return false;
}

bool mts_top_poll(struct mts_top *t, int timeout_ms)
{
	bool quit = false;
	int ch;

	if (!t)
		return false;
	if (t->dirty)
		draw(t);
	timeout(timeout_ms > 0 ? timeout_ms : 0);
	while (!quit && (ch = getch()) != ERR) {
		quit = handle_key(t, ch);
		timeout(0);	/* take what else is queued, then draw once */
	}
	if (t->dirty && !quit)
		draw(t);
	return quit;
}

void mts_top_close(struct mts_top *t)
{
	if (!t)
		return;
	if (t->scr) {
		curs_set(1);
		endwin();
		delscreen(t->scr);
	}
	json_object_put(t->latest);
	json_object_put(t->shown);
	json_object_put(t->detail_flow);
	free(t->rows);
	free(t);
}

/* ----------------------------------------------------------- --connect */

/*
 * The one piece of global state: a signal handler can reach nothing else.
 * Only mts_top_connect's loop reads it.
 */
static volatile sig_atomic_t connect_stop;

static void on_stop(int sig)
{
	(void)sig;
	connect_stop = 1;
}

/* "ADDR:PORT", "[V6]:PORT" or "PORT" (127.0.0.1) -> the /flows URL. */
static int flows_url(const char *addr, char *url, size_t len)
{
	const char *colon = strrchr(addr, ':'), *port = colon ? colon + 1 : addr;
	int host_len = colon ? colon - addr : 0;
	char *end;
	unsigned long p;

	errno = 0;
	p = strtoul(port, &end, 10);
	if (!*port || *end || errno || p < 1 || p > 65535 || *port == '-' || *port == '+')
		return -1;
	if (!colon)
		return snprintf(url, len, "http://127.0.0.1:%lu/flows", p) < (int)len ? 0 : -1;
	if (!host_len)
		return -1;
	if (addr[0] == '[' ? addr[host_len - 1] != ']' || host_len < 3
			   : memchr(addr, ':', host_len) != NULL)
		return -1;	/* an IPv6 address needs its brackets */
	return snprintf(url, len, "http://%.*s:%lu/flows", host_len, addr, p) < (int)len ? 0 : -1;
}

struct fetch {
	CURLM *multi;
	CURL *easy;
	char *buf;
	size_t len, cap;
	bool busy;
	char err[CURL_ERROR_SIZE];	/* libcurl's words, in detail */
	const char *brief;		/* the failure in a few words */
};

static size_t fetch_data(char *data, size_t size, size_t n, void *arg)
{
	struct fetch *f = arg;
	size_t add = size * n;

	if (f->len + add + 1 > f->cap) {
		size_t cap = (f->len + add + 1) * 2;
		char *b = cap <= FETCH_MAX ? realloc(f->buf, cap) : NULL;

		if (!b)
			return 0;	/* curl fails the transfer */
		f->buf = b;
		f->cap = cap;
	}
	memcpy(f->buf + f->len, data, add);
	f->len += add;
	f->buf[f->len] = 0;
	return add;
}

static int fetch_init(struct fetch *f, const char *url)
{
	memset(f, 0, sizeof(*f));
	if (curl_global_init(CURL_GLOBAL_DEFAULT))
		return -1;
	f->multi = curl_multi_init();
	f->easy = curl_easy_init();
	if (!f->multi || !f->easy)
		return -1;
	curl_easy_setopt(f->easy, CURLOPT_URL, url);
	curl_easy_setopt(f->easy, CURLOPT_PROXY, "");	/* never an http_proxy from the env */
	curl_easy_setopt(f->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(f->easy, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
	curl_easy_setopt(f->easy, CURLOPT_TIMEOUT_MS, 3000L);
	curl_easy_setopt(f->easy, CURLOPT_FAILONERROR, 1L);
	curl_easy_setopt(f->easy, CURLOPT_ERRORBUFFER, f->err);
	curl_easy_setopt(f->easy, CURLOPT_WRITEFUNCTION, fetch_data);
	curl_easy_setopt(f->easy, CURLOPT_WRITEDATA, f);
	return 0;
}

static void fetch_free(struct fetch *f)
{
	if (f->busy)
		curl_multi_remove_handle(f->multi, f->easy);
	curl_easy_cleanup(f->easy);
	curl_multi_cleanup(f->multi);
	curl_global_cleanup();
	free(f->buf);
}

static void fetch_start(struct fetch *f)
{
	f->len = 0;
	f->err[0] = 0;
	f->busy = curl_multi_add_handle(f->multi, f->easy) == CURLM_OK;
}

/*
 * Let the transfer run for up to ms, returning early when the keyboard has
 * input if kbd (keys must not wait for a slow daemon). 0: still running;
 * 1: *snap is a new snapshot; -1: failed, err says why.
 */
static int fetch_wait(struct fetch *f, int ms, bool kbd, json_object **snap, char *err,
		      size_t errlen)
{
	struct curl_waitfd in = { .fd = STDIN_FILENO, .events = CURL_WAIT_POLLIN };
	CURLcode res = CURLE_FAILED_INIT;
	int running = 0, n;
	CURLMsg *m;
	json_object *o;

	if (!f->busy) {
		f->brief = "cannot start a transfer";
		snprintf(err, errlen, "%s", f->brief);
		return -1;
	}
	curl_multi_perform(f->multi, &running);
	if (running) {
		curl_multi_wait(f->multi, kbd ? &in : NULL, kbd, ms, &n);
		curl_multi_perform(f->multi, &running);
	}
	if (running)
		return 0;
	while ((m = curl_multi_info_read(f->multi, &n)))
		if (m->msg == CURLMSG_DONE)
			res = m->data.result;
	curl_multi_remove_handle(f->multi, f->easy);
	f->busy = false;
	f->brief = curl_easy_strerror(res);
	if (res != CURLE_OK) {
		snprintf(err, errlen, "%s", f->err[0] ? f->err : f->brief);
		return -1;
	}
	o = f->buf ? json_tokener_parse(f->buf) : NULL;
	if (!json_object_is_type(jget(o, "flows"), json_type_array)) {
		f->brief = "the reply is not a snapshot";
		snprintf(err, errlen, "the reply is not a snapshot (no \"flows\" array)");
		json_object_put(o);
		return -1;
	}
	*snap = o;
	return 1;
}

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static int connect_once(struct fetch *f, const char *url)
{
	json_object *snap = NULL;
	char err[CURL_ERROR_SIZE + 64];
	int r = 0;

	fetch_start(f);
	while (!connect_stop && !(r = fetch_wait(f, 200, false, &snap, err, sizeof(err))))
		;
	if (r <= 0) {
		fprintf(stderr, "mtuscope top: cannot fetch %s: %s\n", url,
			r ? err : "interrupted");
		return 1;
	}
	mts_top_print(stdout, snap, 0);
	json_object_put(snap);
	return 0;
}

/*
 * Fetch once a second; between fetches (and while one runs) handle keys.
 * A failed fetch keeps the last snapshot on screen and says why in the
 * header.
 */
static int connect_loop(struct fetch *f, const char *url)
{
	struct mts_top *t = mts_top_open();
	char err[CURL_ERROR_SIZE + 64], when[16];
	long long next = 0;
	double last_ok = 0;

	if (!t)
		return 1;
	/* the address as used: "http://" HOST:PORT "/flows" */
	snprintf(t->source, sizeof(t->source), "%.*s", (int)strlen(url) - 13, url + 7);
	while (!connect_stop) {
		json_object *snap = NULL;
		int r = 0, wait;

		if (!f->busy && mono_ms() >= next) {
			next = mono_ms() + 1000;
			fetch_start(f);
		}
		if (f->busy)
			r = fetch_wait(f, 100, true, &snap, err, sizeof(err));
		if (r > 0) {
			t->status[0] = 0;
			mts_top_update(t, snap);
			last_ok = jdbl(snap, "ts");
			json_object_put(snap);
		} else if (r < 0) {
			fmt_clock(when, sizeof(when), last_ok);
			snprintf(t->status, sizeof(t->status), "fetch failed: %s%s%s%s", f->brief,
				 last_ok ? " (showing " : "", last_ok ? when : "", last_ok ? ")" : "");
			t->dirty = true;
		}
		wait = f->busy ? 0 : (int)(next - mono_ms());
		if (mts_top_poll(t, wait < 0 ? 0 : wait > 100 ? 100 : wait))
			break;
	}
	mts_top_close(t);
	return 0;
}

int mts_top_connect(const char *addr, bool once)
{
	struct sigaction sa = { .sa_handler = on_stop }, old_int, old_term, old_hup;
	char url[300];
	struct fetch f;
	int rc;

	if (flows_url(addr, url, sizeof(url))) {
		fprintf(stderr, "mtuscope top: invalid --connect '%s': expected ADDR:PORT, "
			"[IPV6]:PORT or PORT\n", addr);
		return 64;
	}
	if (fetch_init(&f, url)) {
		fprintf(stderr, "mtuscope top: cannot initialise libcurl\n");
		fetch_free(&f);
		return 1;
	}
	/* no SA_RESTART: a signal wakes the wait at once */
	connect_stop = 0;
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	sigaction(SIGHUP, &sa, &old_hup);
	/* without a terminal there is nothing to keep live: one snapshot as text */
	rc = once || !isatty(STDOUT_FILENO) ? connect_once(&f, url) : connect_loop(&f, url);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGHUP, &old_hup, NULL);
	fetch_free(&f);
	return rc;
}
