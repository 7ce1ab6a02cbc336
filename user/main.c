// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* main.c - the command line: subcommands and their options, nothing else. */
#include <argp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "http.h"
#include "replay.h"
#include "top.h"
#include "watch.h"

const char *argp_program_version = "mtuscope " MTS_VERSION;
const char *argp_program_bug_address = "the mtuscope issue tracker";

static const char usage_top[] =
"Usage: mtuscope COMMAND [OPTION...] [ARG...]\n"
"Find path-MTU black holes on a live gateway, passively and at line rate.\n"
"\n"
"Commands:\n"
"  watch IFACE...   attach to the interfaces and print one line per verdict change\n"
"                   (--listen ADDR:PORT: also serve Prometheus /metrics and /flows)\n"
"  top IFACE...     attach and show a live, top-style view of the flows\n"
"  top --connect ADDR:PORT\n"
"                   the same view from a running `watch --listen` daemon\n"
"  replay FILE      judge a capture (pcap, pcapng) as a live run would have\n"
"\n"
"Run `mtuscope COMMAND --help` for a command's options.\n"
"\n"
"Examples:\n"
"  mtuscope watch wg0 eth0             # the tunnel and its underlay\n"
"  mtuscope watch --json -d 60 wg0     # JSON lines for 60 seconds\n"
"  mtuscope watch --listen 9841 wg0 eth0   # a daemon for Prometheus\n"
"  mtuscope top wg0 eth0\n"
"  mtuscope replay --json gateway.pcap\n";

/* ------------------------------------------------------------------ watch */

enum { OPT_HOOK = 1000, OPT_FLOWS, OPT_LARGE, OPT_LISTEN, OPT_CONNECT, OPT_ONCE, OPT_MTU };

struct cli {
	struct mts_watch_opts w;
	const char *connect;	/* top --connect */
};

static const struct argp_option watch_options[] = {
	{ "json", 'j', NULL, 0, "One JSON object per line (schema in README)", 0 },
	{ "duration", 'd', "SEC", 0, "Stop after SEC seconds (default: until Ctrl-C)", 0 },
	{ "verbose", 'v', NULL, 0, "Show libbpf's messages and the verifier log", 0 },
	{ "hook", OPT_HOOK, "auto|tcx|tc", 0,
	  "How to attach: TCX links (kernel 6.6+), clsact, or auto (default)", 0 },
	{ "flows", OPT_FLOWS, "N", 0, "Flow table capacity (default 262144)", 0 },
	{ "large-bytes", OPT_LARGE, "N", 0,
	  "Segments above N bytes count as large (default 1280)", 0 },
	{ "listen", OPT_LISTEN, "ADDR:PORT", 0,
	  "Serve Prometheus /metrics and JSON /flows over HTTP (PORT alone: loopback; "
	  "default port 9841)", 0 },
	{ 0 }
};

static const char watch_doc[] =
"Attach to each IFACE (tc ingress and egress; Ethernet and L3 devices such as "
"WireGuard alike) and report each flow's verdict when it changes: healthy, "
"pmtu-limited, suspect, blackhole, ptb-ignored, recovered, stalled. A blackhole "
"comes with the wall (largest IP packet delivered, smallest lost) and the fix "
"(MTU to set, MSS to clamp to). Detaches on exit, Ctrl-C, SIGTERM or --duration."
"\vExamples:\n"
"  mtuscope watch wg0 eth0\n"
"  mtuscope watch --json --duration 30 wg0 eth0 eth1\n"
"\n"
"Needs root, or CAP_BPF, CAP_NET_ADMIN and CAP_PERFMON.";

static int parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* An HTTP address option's value, checked as the server will parse it. */
static const char *http_addr(struct argp_state *state, const char *opt, const char *arg)
{
	struct sockaddr_storage ss;
	unsigned len;

	if (mts_http_parse_addr(arg, &ss, &len))
		argp_error(state, "invalid %s '%s': expected PORT, ADDR:PORT or [ADDR]:PORT "
			   "with a numeric address", opt, arg);
	return arg;
}

static error_t watch_parse(int key, char *arg, struct argp_state *state)
{
	struct cli *cli = state->input;
	struct mts_watch_opts *o = &cli->w;
	unsigned long v;
	char *end;

	switch (key) {
	case 'j':
		o->json = true;
		break;
	case 'd':
		errno = 0;
		o->duration = strtod(arg, &end);
		if (errno || end == arg || *end || !(o->duration > 0) || o->duration > 1e9)
			argp_error(state, "invalid --duration '%s': expected seconds > 0", arg);
		break;
	case 'v':
		o->lo.verbose = true;
		break;
	case OPT_HOOK:
		if (!strcmp(arg, "auto"))
			o->lo.hook = MTS_HOOK_AUTO;
		else if (!strcmp(arg, "tcx"))
			o->lo.hook = MTS_HOOK_TCX;
		else if (!strcmp(arg, "tc"))
			o->lo.hook = MTS_HOOK_TC;
		else
			argp_error(state, "invalid --hook '%s': expected auto, tcx or tc", arg);
		break;
	case OPT_FLOWS:
		if (parse_uint(arg, 1024, 1u << 24, &v))
			argp_error(state, "invalid --flows '%s': expected 1024..16777216", arg);
		o->lo.flows_max = v;
		break;
	case OPT_LARGE:
		if (parse_uint(arg, 576, 65535, &v))
			argp_error(state, "invalid --large-bytes '%s': expected 576..65535", arg);
		o->lo.large_bytes = v;
		break;
	case OPT_LISTEN:
		o->listen = http_addr(state, "--listen", arg);
		break;
	case OPT_CONNECT:
		cli->connect = http_addr(state, "--connect", arg);
		break;
	case OPT_ONCE:
		o->once = true;
		break;
	case ARGP_KEY_ARG:
		return ARGP_ERR_UNKNOWN;	/* interfaces are collected below */
	case ARGP_KEY_ARGS:
		o->lo.ifaces = state->argv + state->next;
		o->lo.n_ifaces = state->argc - state->next;
		break;
	case ARGP_KEY_NO_ARGS:
		if (!cli->connect)
			argp_error(state, "no interface given (e.g. %s wg0 eth0)",
				   o->top ? "mtuscope top" : "mtuscope watch");
		break;
	case ARGP_KEY_END:
		if (cli->connect && o->lo.n_ifaces)
			argp_error(state, "--connect shows a daemon's view: name no interface");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static int cmd_watch(int argc, char **argv)
{
	struct argp argp = { watch_options, watch_parse, "IFACE...", watch_doc, 0, 0, 0 };
	struct cli cli = {
		.w = { .lo = { .hook = MTS_HOOK_AUTO, .attach = true }, .tick_ms = 100 },
	};

	argp_parse(&argp, argc, argv, 0, NULL, &cli);
	return mts_watch(&cli.w);
}

/* -------------------------------------------------------------------- top */

static const struct argp_option top_options[] = {
	{ "once", OPT_ONCE, NULL, 0,
	  "Print one plain-text snapshot and exit (after --duration, default 2 s, "
	  "when attaching; also the mode when stdout is not a terminal)", 0 },
	{ "connect", OPT_CONNECT, "ADDR:PORT", 0,
	  "Show a running daemon's view (watch --listen) instead of attaching", 0 },
	{ "duration", 'd', "SEC", 0, "Stop after SEC seconds", 0 },
	{ "verbose", 'v', NULL, 0, "Show libbpf's messages and the verifier log", 0 },
	{ "hook", OPT_HOOK, "auto|tcx|tc", 0, "How to attach (as for watch)", 0 },
	{ "flows", OPT_FLOWS, "N", 0, "Flow table capacity (default 262144)", 0 },
	{ "large-bytes", OPT_LARGE, "N", 0, "Segments above N bytes count as large", 0 },
	{ "listen", OPT_LISTEN, "ADDR:PORT", 0, "Also serve /metrics and /flows", 0 },
	{ 0 }
};

static const char top_doc[] =
"A full-screen, top-style view of the flows, worst first, refreshed every second: "
"verdict, src -> dst, interface, large retransmissions, PTBs, the wall and the "
"advised MTU/MSS. Either attach to IFACE... like watch, or --connect to a daemon."
"\vKeys: q quit, p pause, s cycle sort, f cycle verdict filter, arrows/PgUp/PgDn "
"scroll, Enter details of the selected flow.\n"
"\n"
"Examples:\n"
"  mtuscope top wg0 eth0\n"
"  mtuscope top --connect 127.0.0.1:9841\n"
"  mtuscope top --once --connect 9841\n";

static int cmd_top(int argc, char **argv)
{
	struct argp argp = { top_options, watch_parse, "IFACE...", top_doc, 0, 0, 0 };
	struct cli cli = {
		.w = { .lo = { .hook = MTS_HOOK_AUTO, .attach = true }, .tick_ms = 100,
		       .top = true },
	};

	argp_parse(&argp, argc, argv, 0, NULL, &cli);
	if (!isatty(STDOUT_FILENO))
		cli.w.once = true;
	if (cli.connect)
		return mts_top_connect(cli.connect, cli.w.once);
	if (cli.w.once && !cli.w.duration)
		cli.w.duration = 2;
	return mts_watch(&cli.w);
}

/* ----------------------------------------------------------------- replay */

static const struct argp_option replay_options[] = {
	{ "json", 'j', NULL, 0, "One JSON object per line, as watch --json", 0 },
	{ "mtu", OPT_MTU, "N", 0,
	  "Packets larger than N bytes are GRO/TSO super-packets, counted as the "
	  "N-byte segments they carry (default 1500)", 0 },
	{ "flows", OPT_FLOWS, "N", 0, "Flow table capacity (default 262144)", 0 },
	{ "large-bytes", OPT_LARGE, "N", 0, "Segments above N bytes count as large", 0 },
	{ "verbose", 'v', NULL, 0, "Show libbpf's messages and the verifier log", 0 },
	{ 0 }
};

static const char replay_doc[] =
"Run every packet of FILE (pcap or pcapng: Ethernet, Linux cooked SLL/SLL2 as from "
"`tcpdump -i any`, or raw IP as from a tunnel interface) through the same BPF "
"programs on the capture's own clock, and report the verdicts a live `watch` "
"would have. A capture from the gateway's LAN side or tunnel interface during "
"the transfer is best; headers are enough (tcpdump -s 200)."
"\vExamples:\n"
"  tcpdump -i eth1 -s 200 -w gw.pcap   # on the customer's gateway\n"
"  mtuscope replay gw.pcap\n"
"  mtuscope replay --json --mtu 9000 jumbo.pcapng\n"
"\n"
"Needs root, or CAP_BPF and CAP_PERFMON, to run the programs.";

static error_t replay_parse(int key, char *arg, struct argp_state *state)
{
	struct mts_replay_opts *o = state->input;
	unsigned long v;

	switch (key) {
	case 'j':
		o->json = true;
		break;
	case 'v':
		o->lo.verbose = true;
		break;
	case OPT_MTU:
		if (parse_uint(arg, 576, 65535, &v))
			argp_error(state, "invalid --mtu '%s': expected 576..65535", arg);
		o->mtu = v;
		break;
	case OPT_FLOWS:
		if (parse_uint(arg, 1024, 1u << 24, &v))
			argp_error(state, "invalid --flows '%s': expected 1024..16777216", arg);
		o->lo.flows_max = v;
		break;
	case OPT_LARGE:
		if (parse_uint(arg, 576, 65535, &v))
			argp_error(state, "invalid --large-bytes '%s': expected 576..65535", arg);
		o->lo.large_bytes = v;
		break;
	case ARGP_KEY_ARG:
		if (o->file)
			argp_error(state, "one capture at a time (got '%s' and '%s')", o->file, arg);
		o->file = arg;
		break;
	case ARGP_KEY_NO_ARGS:
		argp_error(state, "no capture given (e.g. mtuscope replay gw.pcap)");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static int cmd_replay(int argc, char **argv)
{
	struct argp argp = { replay_options, replay_parse, "FILE", replay_doc, 0, 0, 0 };
	struct mts_replay_opts o = { 0 };

	argp_parse(&argp, argc, argv, 0, NULL, &o);
	return mts_replay(&o);
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	if (!cmd || !strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
		fputs(usage_top, cmd ? stdout : stderr);
		return cmd ? 0 : 64;
	}
	if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version")) {
		printf("%s\n", argp_program_version);
		return 0;
	}
	if (!strcmp(cmd, "watch")) {
		argv[1] = "mtuscope watch";
		return cmd_watch(argc - 1, argv + 1);
	}
	if (!strcmp(cmd, "top")) {
		argv[1] = "mtuscope top";
		return cmd_top(argc - 1, argv + 1);
	}
	if (!strcmp(cmd, "replay")) {
		argv[1] = "mtuscope replay";
		return cmd_replay(argc - 1, argv + 1);
	}
	fprintf(stderr, "mtuscope: unknown command '%s' (try mtuscope --help)\n", cmd);
	return 64;
}
