// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* main.c - the command line: subcommands and their options, nothing else. */
#include <argp.h>
#include <arpa/inet.h>
#include <json-c/json.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "http.h"
#include "probe.h"
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
"  watch [IFACE...] attach to the interfaces (none named: every WireGuard interface\n"
"                   and the underlays of its peers) and print one line per verdict change\n"
"                   (--listen ADDR:PORT: also serve Prometheus /metrics and /flows)\n"
"  top IFACE...     attach and show a live, top-style view of the flows\n"
"  top --connect ADDR:PORT\n"
"                   the same view from a running `watch --listen` daemon\n"
"  replay FILE      judge a capture (pcap, pcapng) as a live run would have\n"
"  probe DEST[:PORT]\n"
"                   find the path MTU to DEST by a binary search of DF probes\n"
"                   (ICMP echo; TCP SYNs to PORT where ICMP is filtered)\n"
"\n"
"Run `mtuscope COMMAND --help` for a command's options.\n"
"\n"
"Examples:\n"
"  mtuscope watch wg0 eth0             # the tunnel and its underlay\n"
"  mtuscope watch --json -d 60 wg0     # JSON lines for 60 seconds\n"
"  mtuscope watch --listen 9841 wg0 eth0   # a daemon for Prometheus\n"
"  mtuscope top wg0 eth0\n"
"  mtuscope replay --json gateway.pcap\n"
"  mtuscope probe 203.0.113.7:443\n";

/* ------------------------------------------------------------------ watch */

enum { OPT_HOOK = 1000, OPT_FLOWS, OPT_LARGE, OPT_LISTEN, OPT_CONNECT, OPT_ONCE, OPT_MTU,
       OPT_METHOD, OPT_MIN, OPT_MAX, OPT_RATE, OPT_TIMEOUT, OPT_TRIES, OPT_LAN,
       OPT_PROBE, OPT_PROBE_RATE };

struct cli {
	struct mts_watch_opts w;
	const char *connect;	/* top --connect */
	char *lan[MTS_MAX_IFACES];
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
	{ "lan", OPT_LAN, "IFACE", 0,
	  "With no IFACE named: also watch this LAN-facing interface (repeatable)", 0 },
	{ "probe", OPT_PROBE, NULL, 0,
	  "Search the path MTU of each suspect or black-hole flow's destination (or tunnel "
	  "peer) with DF probes, once per destination a minute, to pin the wall", 0 },
	{ "probe-rate", OPT_PROBE_RATE, "PPS", 0, "With --probe: probe packets a second at most "
	  "(default 50)", 0 },
	{ 0 }
};

static const char watch_doc[] =
"With no IFACE, find every WireGuard interface (kernel or userspace, through "
"wireguard-tools' `wg`) and the interfaces its peers' endpoints route through, "
"attach to them, say why, and pick up new tunnels and endpoints while running; "
"verdicts on tunnel flows name the tunnel, peer, endpoint and layer. "
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

/* Options every command that loads the programs shares: true if key was one. */
static bool loader_opt(int key, const char *arg, struct argp_state *state,
		       struct mts_loader_opts *lo)
{
	unsigned long v;

	switch (key) {
	case 'v':
		lo->verbose = true;
		return true;
	case OPT_FLOWS:
		if (parse_uint(arg, 1024, 1u << 24, &v))
			argp_error(state, "invalid --flows '%s': expected 1024..16777216", arg);
		lo->flows_max = v;
		return true;
	case OPT_LARGE:
		if (parse_uint(arg, 576, 65535, &v))
			argp_error(state, "invalid --large-bytes '%s': expected 576..65535", arg);
		lo->large_bytes = v;
		return true;
	}
	return false;
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
	case OPT_LISTEN:
		o->listen = http_addr(state, "--listen", arg);
		break;
	case OPT_CONNECT:
		cli->connect = http_addr(state, "--connect", arg);
		break;
	case OPT_ONCE:
		o->once = true;
		break;
	case OPT_PROBE:
		o->probe = true;
		break;
	case OPT_PROBE_RATE:
		if (parse_uint(arg, 1, 1000, &v))
			argp_error(state, "invalid --probe-rate '%s': expected 1..1000", arg);
		o->probe_rate = v;
		break;
	case OPT_LAN:
		if (o->n_lan == MTS_MAX_IFACES)
			argp_error(state, "too many --lan interfaces");
		cli->lan[o->n_lan++] = arg;
		o->lan = cli->lan;
		break;
	case ARGP_KEY_ARG:
		return ARGP_ERR_UNKNOWN;	/* interfaces are collected below */
	case ARGP_KEY_ARGS:
		o->lo.ifaces = state->argv + state->next;
		o->lo.n_ifaces = state->argc - state->next;
		break;
	case ARGP_KEY_NO_ARGS:
		/* No interface: every WireGuard interface and its underlays. */
		if (!cli->connect)
			o->discover = true;
		break;
	case ARGP_KEY_END:
		if (cli->connect && o->lo.n_ifaces)
			argp_error(state, "--connect shows a daemon's view: name no interface");
		if (o->n_lan && o->lo.n_ifaces)
			argp_error(state, "--lan adds to discovery: name no interface, or name "
				   "the LAN interface with the others");
		break;
	default:
		if (!loader_opt(key, arg, state, &o->lo))
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
	case OPT_MTU:
		if (parse_uint(arg, 576, 65535, &v))
			argp_error(state, "invalid --mtu '%s': expected 576..65535", arg);
		o->mtu = v;
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
		if (!loader_opt(key, arg, state, &o->lo))
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

/* ------------------------------------------------------------------ probe */

static const struct argp_option probe_options[] = {
	{ "json", 'j', NULL, 0, "One JSON object", 0 },
	{ "method", OPT_METHOD, "auto|icmp|tcp", 0,
	  "ICMP echo, TCP SYNs to PORT, or echo where it is answered and else TCP (default)", 0 },
	{ "min", OPT_MIN, "N", 0, "Smallest IP packet tried (default 576, IPv6 1280)", 0 },
	{ "max", OPT_MAX, "N", 0, "Largest IP packet tried (default: the route's MTU)", 0 },
	{ "rate", OPT_RATE, "PPS", 0, "At most PPS probes a second (default 20)", 0 },
	{ "timeout", OPT_TIMEOUT, "MS", 0, "Wait MS for each answer (default 500)", 0 },
	{ "tries", OPT_TRIES, "N", 0, "Sends of one size before it counts as lost (default 2)", 0 },
	{ 0 }
};

static const char probe_doc[] =
"Find the path MTU to DEST like `ping -M do -s N` by hand: don't-fragment probes of "
"binary-searched sizes, each passing only on an answer that proves it arrived, so it "
"works where every ICMP error is filtered. ICMP echo where echo is answered; otherwise "
"TCP SYNs carrying payload to PORT (a listening port answers SYN-ACK, a closed one "
"RST; this host then resets the half-open connection). Prints the largest IP packet "
"that arrived, the probes sent, and the fix."
"\vExamples:\n"
"  mtuscope probe 192.0.2.10\n"
"  mtuscope probe --json 198.51.100.7:443\n"
"  mtuscope probe '[2001:db8::7]:22'\n"
"\n"
"Exit status: 0 found, 1 no answer or error, 64 bad command line. Needs root or "
"CAP_NET_RAW.";

struct probe_cli {
	struct mts_probe_opts o;
	const char *dest;
	bool json;
};

static error_t probe_parse(int key, char *arg, struct argp_state *state)
{
	struct probe_cli *c = state->input;
	unsigned long v;

	switch (key) {
	case 'j':
		c->json = true;
		break;
	case OPT_METHOD:
		if (!strcmp(arg, "auto"))
			c->o.method = MTS_PROBE_AUTO;
		else if (!strcmp(arg, "icmp"))
			c->o.method = MTS_PROBE_ICMP;
		else if (!strcmp(arg, "tcp"))
			c->o.method = MTS_PROBE_TCP;
		else
			argp_error(state, "invalid --method '%s': expected auto, icmp or tcp", arg);
		break;
	case OPT_MIN:
	case OPT_MAX:
		if (parse_uint(arg, 68, 65535, &v))
			argp_error(state, "invalid --%s '%s': expected 68..65535",
				   key == OPT_MIN ? "min" : "max", arg);
		*(key == OPT_MIN ? &c->o.min : &c->o.max) = v;
		break;
	case OPT_RATE:
		if (parse_uint(arg, 1, 1000, &v))
			argp_error(state, "invalid --rate '%s': expected 1..1000 probes a second", arg);
		c->o.rate = v;
		break;
	case OPT_TIMEOUT:
		if (parse_uint(arg, 10, 60000, &v))
			argp_error(state, "invalid --timeout '%s': expected 10..60000 ms", arg);
		c->o.timeout_ms = v;
		break;
	case OPT_TRIES:
		if (parse_uint(arg, 1, 10, &v))
			argp_error(state, "invalid --tries '%s': expected 1..10", arg);
		c->o.tries = v;
		break;
	case ARGP_KEY_ARG:
		if (c->dest)
			argp_error(state, "one destination at a time");
		if (mts_probe_parse_dest(arg, &c->o.dst, &c->o.dlen, &c->o.port))
			argp_error(state, "invalid destination '%s': expected ADDR, ADDR:PORT, "
				   "[V6ADDR]:PORT or V6ADDR, numeric", arg);
		c->dest = arg;
		break;
	case ARGP_KEY_NO_ARGS:
		argp_error(state, "no destination given (e.g. mtuscope probe 192.0.2.10:443)");
		break;
	case ARGP_KEY_END:
		if (c->o.method == MTS_PROBE_TCP && !c->o.port)
			argp_error(state, "--method tcp needs a port (DEST:PORT)");
		if (c->o.min && c->o.max && c->o.min >= c->o.max)
			argp_error(state, "--min must be below --max");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static int cmd_probe(int argc, char **argv)
{
	struct argp argp = { probe_options, probe_parse, "DEST[:PORT]", probe_doc, 0, 0, 0 };
	struct probe_cli c = { .o = { .rate = 20, .timeout_ms = 500, .tries = 2 } };
	struct mts_probe_result r;
	char err[256] = "", addr[INET6_ADDRSTRLEN] = "";
	int rc, v6, mss, wg;

	argp_parse(&argp, argc, argv, 0, NULL, &c);
	v6 = c.o.dst.ss_family == AF_INET6;
	inet_ntop(c.o.dst.ss_family, v6 ? (void *)&((struct sockaddr_in6 *)&c.o.dst)->sin6_addr
					: (void *)&((struct sockaddr_in *)&c.o.dst)->sin_addr,
		  addr, sizeof(addr));
	rc = mts_probe_run(&c.o, &r, err, sizeof(err));
	/* The fix: the path's MTU, TCP's MSS under it, and a WireGuard
	 * tunnel's MTU over it (32 bytes of header, counter and tag, UDP 8,
	 * outer IP 20 or 40; inner packets pad to 16, never beyond the MTU). */
	mss = rc ? 0 : (int)r.pmtu - (v6 ? 60 : 40);
	wg = rc ? 0 : (int)r.pmtu - (v6 ? 80 : 60);
	if (c.json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "dest", json_object_new_string(addr));
		if (c.o.port)
			json_object_object_add(o, "port", json_object_new_int(c.o.port));
		if (!rc) {
			json_object_object_add(o, "pmtu", json_object_new_int(r.pmtu));
			json_object_object_add(o, "lost", json_object_new_int(r.lost));
			json_object_object_add(o, "advice_mtu", json_object_new_int(r.pmtu));
			json_object_object_add(o, "advice_mss", json_object_new_int(mss));
			json_object_object_add(o, "wireguard_mtu", json_object_new_int(wg));
		} else {
			json_object_object_add(o, "error", json_object_new_string(err));
		}
		json_object_object_add(o, "method", json_object_new_string(r.method ?: "none"));
		json_object_object_add(o, "probes", json_object_new_int(r.probes));
		json_object_object_add(o, "first_hop_mtu", json_object_new_int(r.first_hop_mtu));
		printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		json_object_put(o);
	} else if (!rc) {
		printf("%s: path MTU %u: the largest IP packet that arrived", addr, r.pmtu);
		if (r.lost)
			printf(" (%u did not)", r.lost);
		printf("; %s, %u probes", r.method, r.probes);
		if (r.first_hop_mtu > r.pmtu)
			printf("; this host's route allows %u", r.first_hop_mtu);
		printf("\n");
		if (r.lost) {
			printf("  fix: MTU %u towards %s, TCP MSS %d:\n", r.pmtu, addr, mss);
			printf("    ip %sroute change %s/%d via ... mtu %u\n", v6 ? "-6 " : "", addr,
			       v6 ? 128 : 32, r.pmtu);
			printf("    %s -t mangle -A FORWARD -p tcp --tcp-flags SYN,RST SYN "
			       "-j TCPMSS --set-mss %d\n", v6 ? "ip6tables" : "iptables", mss);
			printf("    nft add rule inet mangle forward tcp flags syn tcp option maxseg "
			       "size set %d\n", mss);
			printf("  a WireGuard tunnel over this path: MTU = %d (%u - %d)\n", wg, r.pmtu,
			       v6 ? 80 : 60);
		}
	}
	if (rc && !c.json)
		fprintf(stderr, "mtuscope: probe %s: %s (%u probes sent)\n", addr, err, r.probes);
	return rc ? 1 : 0;
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
	if (!strcmp(cmd, "probe")) {
		argv[1] = "mtuscope probe";
		return cmd_probe(argc - 1, argv + 1);
	}
	if (!strcmp(cmd, "replay")) {
		argv[1] = "mtuscope replay";
		return cmd_replay(argc - 1, argv + 1);
	}
	fprintf(stderr, "mtuscope: unknown command '%s' (try mtuscope --help)\n", cmd);
	return 64;
}
