// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* out_text.c - one line per verdict change, with the fix spelled out. */
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include "format.h"
#include "output.h"

static void clock_str(char *buf, size_t len, double ts)
{
	time_t secs = (time_t)ts;
	struct tm tm;

	localtime_r(&secs, &tm);
	snprintf(buf, len, "%02d:%02d:%02d.%03d", tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (int)((ts - secs) * 1000));
}

void mts_text_start(FILE *f, const struct mts_iface_report *ifs, int n, const char *listen)
{
	fprintf(f, "watching");
	for (int i = 0; i < n; i++)
		fprintf(f, "%s %s (%s%s)", i ? "," : "", ifs[i].name, ifs[i].hook,
			ifs[i].l3 ? ", L3" : "");
	fprintf(f, "; one line per verdict change, Ctrl-C to stop\n");
	for (int i = 0; i < n; i++)
		if (ifs[i].why)
			fprintf(f, "  %s: %s\n", ifs[i].name, ifs[i].why);
	if (listen)
		fprintf(f, "serving http://%s/metrics and http://%s/flows\n", listen, listen);
	fflush(f);
}

void mts_text_attach(FILE *f, const struct mts_iface_report *ifr)
{
	fprintf(f, "attached %s (%s%s): %s\n", ifr->name, ifr->hook, ifr->l3 ? ", L3" : "",
		ifr->why ? ifr->why : "named");
	fflush(f);
}

void mts_text_iface(FILE *f, const struct mts_iface_report *ifr, const char *state)
{
	if (!strcmp(state, "back"))
		fprintf(f, "%s is back: attached again (%s%s, %.1f ms)\n", ifr->name, ifr->hook,
			ifr->l3 ? ", L3" : "", ifr->attach_ms);
	else
		fprintf(f, "%s is gone (deleted): its counters and flows are kept, and it is "
			"attached again if it comes back under its name\n", ifr->name);
	fflush(f);
}

void mts_text_hook(FILE *f, const struct mts_hook_report *h)
{
	if (h->blind)
		fprintf(f, "warning: %s %s: blind: the interface counted %llu packets in %.0f s and "
			"mtuscope's program saw none; a program ahead of it ends the chain (a tc "
			"filter or TCX program that returns OK, PASS or SHOT, or XDP drops them): "
			"tc filter show dev %s %s; bpftool net show dev %s\n", h->iface, h->direction,
			h->missed, h->seconds, h->iface, h->direction, h->iface);
	else
		fprintf(f, "%s %s: seeing packets again\n", h->iface, h->direction);
	fflush(f);
}

void mts_text_verdict(FILE *f, const struct mts_report *r)
{
	const struct mts_track *t = r->t;
	const struct mts_assessment *a = &t->a;
	int dir = a->dir < 0 ? 0 : a->dir;
	char when[16], src[MTS_ENDPOINT_LEN], dst[MTS_ENDPOINT_LEN];
	const char *ipt = t->key.family == AF_INET6 ? "ip6tables" : "iptables";

	clock_str(when, sizeof(when), r->ts);
	mts_fmt_endpoint(src, sizeof(src), &t->key, dir);
	mts_fmt_endpoint(dst, sizeof(dst), &t->key, !dir);
	fprintf(f, "%s %-12s %s %s %s -> %s", when, mts_verdict_name(a->verdict), r->iface,
		mts_proto_name(t->key.proto), src, dst);
	if (a->wall_high)
		fprintf(f, "  wall %u..%u", a->wall_low, a->wall_high);
	fprintf(f, "\n             %s%s\n", a->why ? a->why : "",
		a->inbound ? " (inbound: the wall is on the way to this gateway)" : "");
	if (r->tunnel)
		fprintf(f, "             WireGuard %s, peer %s, endpoint %s, %s layer\n", r->tunnel,
			r->peer, r->endpoint && *r->endpoint ? r->endpoint : "(none)", r->layer);
	if (a->cause && !strcmp(a->cause, MTS_CAUSE_LOCAL)) {
		fprintf(f, "             cause: %s: packets too big for this gateway's route arrive and "
			"no PTB leaves towards the sender; let this box's own PTBs out:\n", a->cause);
		if (t->key.family == AF_INET6)
			fprintf(f, "               ip6tables -I OUTPUT -p icmpv6 --icmpv6-type packet-too-big "
				"-j ACCEPT\n               nft insert rule inet filter output icmpv6 type "
				"packet-too-big accept\n");
		else
			fprintf(f, "               iptables -I OUTPUT -p icmp --icmp-type fragmentation-needed "
				"-j ACCEPT\n               nft insert rule inet filter output icmp type "
				"destination-unreachable icmp code frag-needed accept\n");
	} else if (a->cause && !strcmp(a->cause, MTS_CAUSE_BEYOND)) {
		fprintf(f, "             cause: %s: no PTB reaches this gateway; a hop further on is the "
			"wall and a firewall between drops its PTB (set the MTU and clamp MSS here)\n",
			a->cause);
	} else if (a->cause && !strcmp(a->cause, MTS_CAUSE_NAT)) {
		fprintf(f, "             cause: %s: PTBs for this flow arrive here but none goes on "
			"towards the sender; let conntrack's related ICMP through and clamp MSS:\n"
			"               %s -I FORWARD -m conntrack --ctstate RELATED -j ACCEPT\n"
			"               nft insert rule inet filter forward ct state related accept\n"
			"               (and no NOTRACK / notrack rule for ICMP in the raw table)\n",
			a->cause, ipt);
	} else if (a->cause && !strcmp(a->cause, MTS_CAUSE_IGNORED)) {
		fprintf(f, "             cause: %s: the sender keeps sending above the MTU its PTBs "
			"name (PMTU discovery off?); clamp MSS here\n", a->cause);
	}
	if (r->confirm)
		fprintf(f, "             confirm: %s%s\n", r->confirm,
			r->probing ? "   (watch --probe is running it)" : "");
	if (a->advice_mtu && (a->verdict == MTS_V_BLACKHOLE || a->verdict == MTS_V_PTB_IGNORED)) {
		fprintf(f, "             fix: MTU %u on %s, clamp TCP MSS to %u:\n",
			a->advice_mtu, r->iface, a->advice_mss);
		fprintf(f, "               ip link set dev %s mtu %u\n", r->iface, a->advice_mtu);
		fprintf(f, "               %s -t mangle -A FORWARD -o %s -p tcp --tcp-flags SYN,RST SYN "
			"-j TCPMSS --set-mss %u\n", ipt, r->iface, a->advice_mss);
		fprintf(f, "               nft add rule inet mangle forward oifname %s tcp flags syn "
			"tcp option maxseg size set %u\n", r->iface, a->advice_mss);
	}
	fflush(f);
}

void mts_text_summary(FILE *f, const struct mts_summary *s)
{
	bool any = false;

	fprintf(f, "summary: verdicts issued:");
	for (int v = MTS_V_HEALTHY; v < MTS_V_MAX; v++)
		if (s->issued[v]) {
			fprintf(f, " %s %lu", mts_verdict_name(v), s->issued[v]);
			any = true;
		}
	fprintf(f, "%s\n", any ? "" : " none");
	for (int i = 0; i < s->n_ifs; i++) {
		const struct mts_iface_report *ifr = &s->ifs[i];
		unsigned long long errs = 0;

		for (int c = MTS_C_ERR_L2; c < MTS_C_MAX; c++)
			errs += ifr->in.c[c] + ifr->out.c[c];
		fprintf(f, "  %s: %llu packets in, %llu out, %llu large resends, %llu PTB in, "
			"%llu PTB out, %llu unparsable\n", ifr->name,
			(unsigned long long)ifr->in.c[MTS_C_PKTS],
			(unsigned long long)ifr->out.c[MTS_C_PKTS],
			(unsigned long long)ifr->out.c[MTS_C_RTX_LARGE],
			(unsigned long long)ifr->in.c[MTS_C_PTB_RX],
			(unsigned long long)ifr->out.c[MTS_C_PTB_TX], errs);
	}
	fflush(f);
}
