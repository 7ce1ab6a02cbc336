// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <linux/capability.h>
#include <net/if_arp.h>
#include <linux/netlink.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "flow.skel.h"
#include "format.h"
#include "loader.h"
#include "slots.h"

/* Debian's libbpf 1.1 and UAPI headers predate TCX (kernel 6.6). */
#define MTS_BPF_TCX_INGRESS	46
#define MTS_BPF_TCX_EGRESS	47
#define MTS_BPF_F_BEFORE	(1U << 3)	/* no relative program: the first */

/* Our cls_bpf filters in the clsact fallback: a fixed handle, so a new run
 * finds what a killed one left (and replaces it) instead of stacking a
 * second copy; the priority ahead of other filters (attach_tc()), or this
 * one on a hook of our own. */
#define MTS_TC_HANDLE		0x6d7473	/* "mts" */
#define MTS_TC_PRIO		0xc0de

#define ERR(...) snprintf(err, errlen, __VA_ARGS__)

static bool verbose_print;

static int print_libbpf(enum libbpf_print_level level, const char *fmt, va_list args)
{
	(void)level;
	if (!verbose_print)
		return 0;
	return vfprintf(stderr, fmt, args);
}

const char *mts_hook_name(enum mts_hook h)
{
	return h == MTS_HOOK_TCX ? "tcx" : h == MTS_HOOK_TC ? "tc" : "auto";
}

int mts_check_privileges(char *err, size_t errlen)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = {};
	bool bpf, net, perf, admin;

	if (syscall(SYS_capget, &hdr, data))
		return 0;	/* cannot tell: let the kernel decide */
#define HAS(cap) (!!(data[(cap) >> 5].effective & (1u << ((cap) & 31))))
	admin = HAS(CAP_SYS_ADMIN);
	net = HAS(CAP_NET_ADMIN);
	bpf = HAS(CAP_BPF) || admin;
	/* Without CAP_PERFMON the verifier applies its Spectre v1 limits for
	 * unprivileged programs, which reject ours. */
	perf = HAS(CAP_PERFMON) || admin;
#undef HAS
	if (bpf && net && perf)
		return 0;
	ERR("not permitted: mtuscope needs root, or CAP_BPF, CAP_NET_ADMIN and CAP_PERFMON "
	    "(missing:%s%s%s); try sudo", bpf ? "" : " CAP_BPF", net ? "" : " CAP_NET_ADMIN",
	    perf ? "" : " CAP_PERFMON");
	return -EPERM;
}

static int iface_type(const char *name)
{
	struct ifreq ifr = {};
	int sk, type = -1;

	sk = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sk < 0)
		return -1;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (!ioctl(sk, SIOCGIFHWADDR, &ifr))
		type = ifr.ifr_hwaddr.sa_family;
	close(sk);
	return type;
}

/*
 * What a clsact hook holds, via an RTM_GETTFILTER dump (libbpf has no way to
 * list filters): ours (handle MTS_TC_HANDLE, at whatever priority a run
 * took) with its priority and program, and everyone else's, with the lowest
 * priority among them (the first to run). A dump also reports one header
 * entry per priority with handle 0; only real filters carry one.
 */
struct tc_hook_scan {
	int ours, others;
	__u32 our_prio, our_prog;	/* the last of ours listed */
	__u32 first_prio;		/* of the others' (0: none) */
};

static __u32 tc_filter_prog(const struct nlmsghdr *nh)
{
	const struct tcmsg *t = NLMSG_DATA(nh);
	const struct rtattr *a = (const void *)((const char *)t + NLMSG_ALIGN(sizeof(*t)));
	int len = nh->nlmsg_len - NLMSG_LENGTH(sizeof(*t));

	for (; RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		const struct rtattr *o = RTA_DATA(a);
		int olen = RTA_PAYLOAD(a);

		if (a->rta_type != TCA_OPTIONS)
			continue;
		for (; RTA_OK(o, olen); o = RTA_NEXT(o, olen))
			if (o->rta_type == TCA_BPF_ID && RTA_PAYLOAD(o) >= sizeof(__u32))
				return *(const __u32 *)RTA_DATA(o);
	}
	return 0;
}

static int tc_scan_hook(int ifindex, __u32 parent, struct tc_hook_scan *out)
{
	struct {
		struct nlmsghdr n;
		struct tcmsg t;
	} req = {
		.n.nlmsg_len = NLMSG_LENGTH(sizeof(struct tcmsg)),
		.n.nlmsg_type = RTM_GETTFILTER,
		.n.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
		.t.tcm_family = AF_UNSPEC,
		.t.tcm_ifindex = ifindex,
		.t.tcm_parent = parent,
	};
	char buf[16384] __attribute__((aligned(NLMSG_ALIGNTO)));
	int sk, rc = 0;

	memset(out, 0, sizeof(*out));
	sk = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (sk < 0)
		return -errno;
	if (send(sk, &req, req.n.nlmsg_len, 0) < 0) {
		rc = -errno;
		goto out;
	}
	for (;;) {
		ssize_t len = recv(sk, buf, sizeof(buf), 0);
		struct nlmsghdr *nh;

		if (len < 0) {
			rc = -errno;
			goto out;
		}
		for (nh = (void *)buf; NLMSG_OK(nh, len); nh = NLMSG_NEXT(nh, len)) {
			struct tcmsg *t = NLMSG_DATA(nh);
			__u32 prio = t->tcm_info >> 16;

			if (nh->nlmsg_type == NLMSG_DONE)
				goto out;
			if (nh->nlmsg_type == NLMSG_ERROR) {
				rc = -EIO;
				goto out;
			}
			if (nh->nlmsg_type != RTM_NEWTFILTER || !t->tcm_handle)
				continue;
			if (t->tcm_handle == MTS_TC_HANDLE) {
				out->ours++;
				out->our_prio = prio;
				out->our_prog = tc_filter_prog(nh);
			} else {
				out->others++;
				if (!out->first_prio || prio < out->first_prio)
					out->first_prio = prio;
			}
		}
	}
out:
	close(sk);
	return rc;
}

static __u32 tc_parent(int dir)
{
	return TC_H_MAKE(TC_H_CLSACT, dir ? TC_H_MIN_EGRESS : TC_H_MIN_INGRESS);
}

/* Filters on either clsact hook: ours (*ours) and everyone else's (return). */
static int tc_filters(int ifindex, int *ours)
{
	struct tc_hook_scan in, eg;

	if (tc_scan_hook(ifindex, tc_parent(0), &in) || tc_scan_hook(ifindex, tc_parent(1), &eg))
		return -1;	/* cannot tell: treat the qdisc as someone else's */
	*ours = in.ours + eg.ours;
	return in.others + eg.others;
}

/* A process other than this one holding program id (by an fd of it), or 0:
 * a live run's filter, not one a killed run left behind. */
static pid_t prog_holder(__u32 id)
{
	char want[32], line[64], path[64];
	pid_t self = getpid(), found = 0;
	struct dirent *p, *f;
	DIR *proc = opendir("/proc"), *fds;

	snprintf(want, sizeof(want), "prog_id:\t%u\n", id);
	while (proc && !found && (p = readdir(proc))) {
		pid_t pid = atoi(p->d_name);

		if (pid <= 0 || pid == self)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/fdinfo", pid);
		fds = opendir(path);
		while (fds && !found && (f = readdir(fds))) {
			FILE *in;

			if (f->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "/proc/%d/fdinfo/%.16s", pid, f->d_name);
			in = fopen(path, "re");
			while (in && fgets(line, sizeof(line), in))
				if (!strcmp(line, want)) {
					found = pid;
					break;
				}
			if (in)
				fclose(in);
		}
		if (fds)
			closedir(fds);
	}
	if (proc)
		closedir(proc);
	return found;
}

/*
 * Our filter on one clsact hook, ahead of everyone else's (the lowest
 * priority runs first; one that returns OK or SHOT ends the chain, and ours
 * after it would never run), or at MTS_TC_PRIO on a hook of our own. A
 * filter of ours that a live run holds is that run's: refused, never taken
 * over; one a killed run left is replaced.
 */
static int attach_tc(struct mts_iface *ifc, int dir, int prog_fd, char *err, size_t errlen)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifc->ifindex,
		    .attach_point = dir ? BPF_TC_EGRESS : BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = MTS_TC_HANDLE, .prog_fd = prog_fd);
	const char *hook_name = dir ? "egress" : "ingress";
	struct tc_hook_scan sc;
	bool only_ours = false;
	int rc, ours = 0;

	rc = bpf_tc_hook_create(&hook);
	if (rc && rc != -EEXIST) {
		ERR("attaching to %s %s (clsact) failed: %s", ifc->name, hook_name, strerror(-rc));
		return rc;
	}
	if (!rc)
		ifc->qdisc_created = true;
	else if (dir == 0)
		only_ours = tc_filters(ifc->ifindex, &ours) == 0 && ours > 0;
	rc = tc_scan_hook(ifc->ifindex, tc_parent(dir), &sc);
	if (rc) {
		ERR("listing the %s %s filters failed: %s", ifc->name, hook_name, strerror(-rc));
		return rc;
	}
	if (sc.ours) {
		pid_t pid = sc.our_prog ? prog_holder(sc.our_prog) : 0;
		LIBBPF_OPTS(bpf_tc_opts, stale, .handle = MTS_TC_HANDLE, .priority = sc.our_prio);

		if (pid > 0) {
			ERR("%s %s (clsact) is watched by another mtuscope (PID %d); stop it "
			    "first, or watch through TCX links, which share the hook (--hook tcx)",
			    ifc->name, hook_name, (int)pid);
			return -EBUSY;
		}
		bpf_tc_detach(&hook, &stale);	/* a killed run's */
	}
	/* A qdisc holding nothing but a killed run's filters was made by that
	 * run: ours to remove when we leave. */
	if (only_ours)
		ifc->qdisc_created = true;
	opts.priority = sc.first_prio > 1 ? sc.first_prio - 1 : MTS_TC_PRIO;
	if (sc.first_prio == 1)
		fprintf(stderr, "mtuscope: %s %s: another filter holds the first priority (1); "
			"ours runs after it, and a warning says so if it ends the chain\n",
			ifc->name, hook_name);
	rc = bpf_tc_attach(&hook, &opts);
	if (rc) {
		ERR("attaching to %s %s (clsact) failed: %s", ifc->name, hook_name, strerror(-rc));
		return rc;
	}
	ifc->tc_attached[dir] = true;
	ifc->tc_prio[dir] = opts.priority;
	return 0;
}

static void detach_tc(struct mts_iface *ifc)
{
	int ours;

	for (int dir = 0; dir < 2; dir++) {
		LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifc->ifindex,
			    .attach_point = dir ? BPF_TC_EGRESS : BPF_TC_INGRESS);
		LIBBPF_OPTS(bpf_tc_opts, opts, .handle = MTS_TC_HANDLE, .priority = ifc->tc_prio[dir]);

		if (ifc->tc_attached[dir])
			bpf_tc_detach(&hook, &opts);
		ifc->tc_attached[dir] = false;
	}
	/* Remove the qdisc only if we made it and no other tool's filter
	 * has moved in since. */
	if (ifc->qdisc_created && tc_filters(ifc->ifindex, &ours) == 0) {
		LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifc->ifindex,
			    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);

		bpf_tc_hook_destroy(&hook);
	}
	ifc->qdisc_created = false;
}

static int attach_iface(const struct mts_loader *L, struct mts_iface *ifc, enum mts_hook want,
			char *err, size_t errlen)
{
	const int *fds = L->prog_fd;
	int types[2] = { MTS_BPF_TCX_INGRESS, MTS_BPF_TCX_EGRESS };
	int rc;

	if (want != MTS_HOOK_TC) {
		/* At the head of the hook's programs: one ahead of ours that
		 * returns TCX_PASS or TCX_DROP would end the chain before us. */
		LIBBPF_OPTS(bpf_link_create_opts, head, .flags = MTS_BPF_F_BEFORE);

		for (int dir = 0; dir < 2; dir++) {
			rc = bpf_link_create(fds[dir], ifc->ifindex,
					     (enum bpf_attach_type)types[dir], &head);
			if (rc < 0) {
				rc = -errno;
				break;
			}
			ifc->link_fd[dir] = rc;
			rc = 0;
		}
		if (!rc) {
			ifc->hook = MTS_HOOK_TCX;
			return 0;
		}
		for (int dir = 0; dir < 2; dir++) {
			if (ifc->link_fd[dir] >= 0)
				close(ifc->link_fd[dir]);
			ifc->link_fd[dir] = -1;
		}
		/* EINVAL: this kernel does not know TCX; anything else is real. */
		if (want == MTS_HOOK_TCX || rc != -EINVAL) {
			ERR("attaching to %s through TCX failed: %s%s", ifc->name, strerror(-rc),
			    rc == -EINVAL ? " (kernel without TCX? try --hook tc)" : "");
			return rc;
		}
	}
	for (int dir = 0; dir < 2; dir++) {
		rc = attach_tc(ifc, dir, fds[dir], err, errlen);
		if (rc)
			return rc;
	}
	ifc->hook = MTS_HOOK_TC;
	return 0;
}

/* "processed N insns ... verification time T usec" of a program's log
 * (BPF_LOG_STATS), as one line for --verbose. */
static void print_verifier_stats(const struct bpf_program *p, const char *log)
{
	const char *insns = strstr(log, "processed "), *t = strstr(log, "verification time ");
	unsigned long n = insns ? strtoul(insns + 10, NULL, 10) : 0;
	unsigned long us = t ? strtoul(t + 18, NULL, 10) : 0;

	fprintf(stderr, "mtuscope: %s verified: %lu instructions processed, %.1f ms\n",
		bpf_program__name(p), n, us / 1000.0);
}

/* The object opened and configured; stats: the verifier's statistics of
 * each program into logs. */
static struct flow_bpf *open_programs(const struct mts_loader *L, const struct mts_loader_opts *o,
				      char logs[2][4096])
{
	struct flow_bpf *s = flow_bpf__open();

	if (!s)
		return NULL;
	s->rodata->cfg_ifslot = o->replay ? 0 : -1;
	s->rodata->cfg_replay = o->replay;
	s->rodata->cfg_fib_check = !o->replay;	/* a capture's routes are not ours */
	s->rodata->cfg_set_bits = mts_set_bits(L->flows_max);
	if (o->large_bytes)
		s->rodata->cfg_large_bytes = o->large_bytes;
	if (logs) {
		bpf_program__set_log_buf(s->progs.mts_ingress, logs[0], 4096);
		bpf_program__set_log_buf(s->progs.mts_egress, logs[1], 4096);
		bpf_program__set_log_level(s->progs.mts_ingress, 4);	/* BPF_LOG_STATS */
		bpf_program__set_log_level(s->progs.mts_egress, 4);
	}
	if (bpf_map__set_max_entries(s->maps.flows, L->flows_max) ||
	    bpf_map__set_max_entries(s->maps.used, MTS_USED_WORDS(L->flows_max))) {
		flow_bpf__destroy(s);
		return NULL;
	}
	return s;
}

struct load_job {
	struct flow_bpf *s;
	int rc;
};

static void *load_job(void *arg)
{
	struct load_job *j = arg;

	j->rc = flow_bpf__load(j->s);
	return NULL;
}

/*
 * The verifier takes most of the start-up, a program at a time, and the two
 * programs are independent: each is loaded from an object of its own, on a
 * thread of its own, both sharing the maps a third object (no programs)
 * made first.
 */
static int load_objects(struct mts_loader *L, const struct mts_loader_opts *o,
			char logs[2][4096])
{
	struct load_job jobs[2] = { 0 };
	pthread_t th;
	bool threaded;
	int rc;

	for (int i = 0; i < 3; i++) {
		L->skel[i] = open_programs(L, o, i ? logs : NULL);
		if (!L->skel[i])
			return -errno;
	}
	bpf_program__set_autoload(L->skel[0]->progs.mts_ingress, false);
	bpf_program__set_autoload(L->skel[0]->progs.mts_egress, false);
	bpf_program__set_autoload(L->skel[1]->progs.mts_egress, false);
	bpf_program__set_autoload(L->skel[2]->progs.mts_ingress, false);
	rc = flow_bpf__load(L->skel[0]);
	if (rc)
		return rc;
	for (int i = 1; i < 3; i++) {
		struct flow_bpf *s = L->skel[i], *m = L->skel[0];

		rc = bpf_map__reuse_fd(s->maps.flows, bpf_map__fd(m->maps.flows));
		rc = rc ?: bpf_map__reuse_fd(s->maps.counters, bpf_map__fd(m->maps.counters));
		rc = rc ?: bpf_map__reuse_fd(s->maps.events, bpf_map__fd(m->maps.events));
		rc = rc ?: bpf_map__reuse_fd(s->maps.ifslots, bpf_map__fd(m->maps.ifslots));
		rc = rc ?: bpf_map__reuse_fd(s->maps.used, bpf_map__fd(m->maps.used));
		if (rc)
			return rc;
		jobs[i - 1].s = s;
	}
	threaded = !pthread_create(&th, NULL, load_job, &jobs[0]);
	if (!threaded)
		load_job(&jobs[0]);
	load_job(&jobs[1]);
	if (threaded)
		pthread_join(th, NULL);
	return jobs[0].rc ?: jobs[1].rc;
}

static void destroy_objects(struct mts_loader *L)
{
	for (int i = 2; i >= 0; i--) {
		flow_bpf__destroy(L->skel[i]);
		L->skel[i] = NULL;
	}
}

/*
 * The programs, loaded and verified once for every interface: each packet
 * finds its interface's counter slot and framing in ifslots. A replay runs
 * frames through them by BPF_PROG_TEST_RUN, all as slot 0's.
 */
static int load_programs(struct mts_loader *L, const struct mts_loader_opts *o,
			 char *err, size_t errlen)
{
	static char logs[2][4096];
	int rc = load_objects(L, o, verbose_print ? logs : NULL);

	if (rc && verbose_print) {
		/* Again, for libbpf to print the verifier's whole log. */
		destroy_objects(L);
		rc = load_objects(L, o, NULL);
	}
	if (rc) {
		ERR("loading the BPF programs failed: %s%s", strerror(-rc),
		    verbose_print ? "" : " (run with --verbose for the verifier log)");
		destroy_objects(L);
		return rc;
	}
	if (verbose_print) {
		print_verifier_stats(L->skel[1]->progs.mts_ingress, logs[0]);
		print_verifier_stats(L->skel[2]->progs.mts_egress, logs[1]);
	}
	L->prog_fd[0] = bpf_program__fd(L->skel[1]->progs.mts_ingress);
	L->prog_fd[1] = bpf_program__fd(L->skel[2]->progs.mts_egress);
	L->flows_fd = bpf_map__fd(L->skel[0]->maps.flows);
	L->counters_fd = bpf_map__fd(L->skel[0]->maps.counters);
	L->events_fd = bpf_map__fd(L->skel[0]->maps.events);
	L->ifslots_fd = bpf_map__fd(L->skel[0]->maps.ifslots);
	return 0;
}

/* Tell the programs ifc's slot and framing (before it is attached): the
 * first bucket from its ifindex on that is free, or already its own. */
static int ifslot_set(struct mts_loader *L, const struct mts_iface *ifc, int slot)
{
	struct mts_ifslot e = { .ifindex = ifc->ifindex, .slot = slot, .l3 = ifc->l3 };
	int freed = -1;

	for (__u32 i = 0; i < MTS_IFSLOT_PROBES; i++) {
		__u32 b = mts_ifslot_bucket(ifc->ifindex, i);
		struct mts_ifslot cur;

		if (bpf_map_lookup_elem(L->ifslots_fd, &b, &cur))
			return -errno;
		if (cur.ifindex == (__u32)ifc->ifindex) {
			freed = b;	/* its own bucket, wherever a freed one was */
			break;
		}
		if (freed < 0 && (!cur.ifindex || cur.ifindex == MTS_IFSLOT_GONE))
			freed = b;
		if (!cur.ifindex)
			break;
	}
	if (freed < 0)
		return -ENOSPC;
	return bpf_map_update_elem(L->ifslots_fd, &(__u32){ freed }, &e, BPF_ANY) ? -errno : 0;
}

/* Forget ifc (after it is detached); the bucket stays a step in the search. */
static void ifslot_clear(struct mts_loader *L, const struct mts_iface *ifc)
{
	for (__u32 i = 0; i < MTS_IFSLOT_PROBES; i++) {
		__u32 b = mts_ifslot_bucket(ifc->ifindex, i);
		struct mts_ifslot cur, gone = { .ifindex = MTS_IFSLOT_GONE };

		if (bpf_map_lookup_elem(L->ifslots_fd, &b, &cur) || !cur.ifindex)
			return;
		if (cur.ifindex == (__u32)ifc->ifindex) {
			bpf_map_update_elem(L->ifslots_fd, &b, &gone, BPF_ANY);
			return;
		}
	}
}

/* Slot i's interface: known to the programs, then attached. */
static int attach_slot(struct mts_loader *L, int i, enum mts_hook want, char *err, size_t errlen)
{
	struct mts_iface *ifc = &L->ifs[i];
	double t0 = mts_now_mono();
	int rc = ifslot_set(L, ifc, i);

	if (rc) {
		ERR("registering %s with the BPF programs failed: %s", ifc->name,
		    rc == -ENOSPC ? "its interface index collides with too many others" : strerror(-rc));
		return rc;
	}
	rc = attach_iface(L, ifc, want, err, errlen);
	if (rc)
		ifslot_clear(L, ifc);
	ifc->attach_ms = (mts_now_mono() - t0) * 1e3;
	return rc;
}

static int resolve(struct mts_loader *L, int i, const char *name, char *err, size_t errlen)
{
	struct mts_iface *ifc = &L->ifs[i];
	int type;

	if (strlen(name) >= IF_NAMESIZE || !(ifc->ifindex = if_nametoindex(name))) {
		ERR("unknown interface '%s' (see `ip link`)", name);
		return -ENODEV;
	}
	for (int j = 0; j < i; j++)
		if (L->ifs[j].ifindex == ifc->ifindex) {
			ERR("interface '%s' named twice", name);
			return -EINVAL;
		}
	snprintf(ifc->name, sizeof(ifc->name), "%s", name);
	mts_name_shown(ifc->shown, sizeof(ifc->shown), ifc->name);
	type = iface_type(ifc->name);
	ifc->l3 = type != ARPHRD_ETHER && type != ARPHRD_LOOPBACK;
	ifc->link_fd[0] = ifc->link_fd[1] = -1;
	return 0;
}

void mts_loader_gone(struct mts_loader *L, int i)
{
	struct mts_iface *ifc = &L->ifs[i];

	if (i < 0 || i >= L->n || ifc->gone)
		return;
	/* The kernel detached everything with the device: TCX links are left
	 * defunct (closing frees them), filters went with its qdisc. Nothing
	 * more to remove, and its index may name another device one day. */
	for (int dir = 0; dir < 2; dir++) {
		if (ifc->link_fd[dir] >= 0)
			close(ifc->link_fd[dir]);
		ifc->link_fd[dir] = -1;
		ifc->tc_attached[dir] = false;
	}
	ifc->qdisc_created = false;
	ifslot_clear(L, ifc);
	ifc->gone = true;
}

int mts_loader_back(struct mts_loader *L, int i, enum mts_hook want, char *err, size_t errlen)
{
	struct mts_iface *ifc = &L->ifs[i];
	char name[IF_NAMESIZE];
	int old = ifc->ifindex, rc;

	if (i < 0 || i >= L->n || !ifc->gone)
		return -EINVAL;
	snprintf(name, sizeof(name), "%s", ifc->name);
	rc = resolve(L, i, name, err, errlen);
	if (rc) {
		ifc->ifindex = old;
		return rc;
	}
	rc = attach_slot(L, i, want, err, errlen);
	if (rc) {
		ifc->ifindex = old;	/* still gone: tried again when it changes */
		return rc;
	}
	ifc->gone = false;
	return 0;
}

int mts_loader_add(struct mts_loader *L, const char *name, const struct mts_loader_opts *o,
		   char *err, size_t errlen)
{
	int i = L->n, rc;

	if (i >= MTS_MAX_IFACES) {
		ERR("too many interfaces: at most %d", MTS_MAX_IFACES);
		return -E2BIG;
	}
	rc = resolve(L, i, name, err, errlen);
	rc = rc ?: attach_slot(L, i, o->hook, err, errlen);
	if (rc)
		return rc;
	L->n = i + 1;
	return 0;
}

int mts_loader_open(struct mts_loader *L, const struct mts_loader_opts *o,
		    char *err, size_t errlen)
{
	int n = o->n_ifaces > 0 ? o->n_ifaces : 1;
	int rc;

	memset(L, 0, sizeof(*L));
	L->flows_fd = L->counters_fd = L->events_fd = L->ifslots_fd = -1;
	/* Sets of MTS_FLOW_WAYS slots, a power of two of them. */
	L->flows_max = MTS_FLOW_WAYS;
	while (L->flows_max < (o->flows_max ? o->flows_max : MTS_DEFAULT_FLOWS))
		L->flows_max *= 2;
	L->ncpus = libbpf_num_possible_cpus();
	verbose_print = o->verbose;
	libbpf_set_print(print_libbpf);

	if (o->n_ifaces > MTS_MAX_IFACES) {
		ERR("too many interfaces: %d (at most %d)", o->n_ifaces, MTS_MAX_IFACES);
		return -E2BIG;
	}
	/* Resolve every name before touching the kernel: a typo costs nothing. */
	for (int i = 0; i < o->n_ifaces; i++) {
		rc = resolve(L, i, o->ifaces[i], err, errlen);
		if (rc)
			return rc;
	}
	rc = mts_check_privileges(err, errlen);
	if (rc)
		return rc;

	for (int i = 0; i < n; i++)
		L->ifs[i].link_fd[0] = L->ifs[i].link_fd[1] = -1;
	rc = load_programs(L, o, err, errlen);
	if (rc)
		return rc;
	L->n = n;
	L->slots_len = (size_t)L->flows_max * sizeof(struct mts_slot);
	L->slots = mmap(NULL, L->slots_len, PROT_READ, MAP_SHARED, L->flows_fd, 0);
	if (L->slots == MAP_FAILED) {
		rc = -errno;
		L->slots = NULL;
		ERR("mapping the flow table failed: %s", strerror(-rc));
		goto fail;
	}
	L->used_len = MTS_USED_WORDS(L->flows_max) * sizeof(__u64);
	L->used = mmap(NULL, L->used_len, PROT_READ | PROT_WRITE, MAP_SHARED,
		       bpf_map__fd(L->skel[0]->maps.used), 0);
	if (L->used == MAP_FAILED) {
		rc = -errno;
		L->used = NULL;
		ERR("mapping the flow table's used bits failed: %s", strerror(-rc));
		goto fail;
	}
	if (o->attach) {
		for (int i = 0; i < o->n_ifaces; i++) {
			rc = attach_slot(L, i, o->hook, err, errlen);
			if (rc)
				goto fail;
		}
	}
	return 0;
fail:
	mts_loader_close(L);
	return rc;
}

void mts_loader_close(struct mts_loader *L)
{
	for (int i = 0; i < L->n; i++) {
		struct mts_iface *ifc = &L->ifs[i];

		for (int dir = 0; dir < 2; dir++) {
			if (ifc->link_fd[dir] >= 0)
				close(ifc->link_fd[dir]);
			ifc->link_fd[dir] = -1;
		}
		if (ifc->tc_attached[0] || ifc->tc_attached[1] || ifc->qdisc_created)
			detach_tc(ifc);
	}
	L->n = 0;
	destroy_objects(L);
	if (L->slots)
		munmap((void *)L->slots, L->slots_len);
	L->slots = NULL;
	if (L->used)
		munmap(L->used, L->used_len);
	L->used = NULL;
}

/* Copy a slot's key and record; false if it is empty or was given away
 * while we copied. */
static bool read_slot(const volatile struct mts_slot *s, struct mts_flow_key *key,
		      struct mts_flow *rec)
{
	memcpy(key, (const void *)&s->key, sizeof(*key));
	if (!key->family)
		return false;
	memcpy(rec, (const void *)&s->flow, sizeof(*rec));
	return !memcmp((const void *)&s->key, key, sizeof(*key));
}

const struct mts_slot *mts_loader_peek(const struct mts_loader *L, __u32 i)
{
	const struct mts_slot *s;

	if (i >= L->flows_max)
		return NULL;
	s = (const struct mts_slot *)&L->slots[i];
	return s->key.family ? s : NULL;
}

bool mts_loader_slot(const struct mts_loader *L, __u32 i, struct mts_flow_key *key,
		     struct mts_flow *rec)
{
	return i < L->flows_max && read_slot(&L->slots[i], key, rec);
}

bool mts_loader_flow(const struct mts_loader *L, const struct mts_flow_key *k,
		     struct mts_flow *out)
{
	__u32 base = mts_flow_set(k, mts_set_bits(L->flows_max)) * MTS_FLOW_WAYS;
	struct mts_flow_key got;

	for (__u32 w = 0; w < MTS_FLOW_WAYS; w++)
		if (read_slot(&L->slots[base + w], &got, out) && !memcmp(&got, k, sizeof(got)))
			return true;
	return false;
}

int mts_loader_counters(const struct mts_loader *L, int slot, int egress,
			struct mts_counters *out)
{
	struct mts_counters *percpu;
	__u32 key = slot * 2 + !!egress;
	int rc;

	memset(out, 0, sizeof(*out));
	percpu = calloc(L->ncpus, sizeof(*percpu));
	if (!percpu)
		return -ENOMEM;
	rc = bpf_map_lookup_elem(L->counters_fd, &key, percpu);
	if (!rc)
		for (int c = 0; c < L->ncpus; c++)
			for (int i = 0; i < MTS_C_MAX; i++)
				out->c[i] += percpu[c].c[i];
	free(percpu);
	return rc ? -errno : 0;
}

long mts_loader_count_flows(const struct mts_loader *L)
{
	long n = 0;

	for (__u32 i = mts_loader_next(L, 0); i < L->flows_max; i = mts_loader_next(L, i + 1))
		n++;
	return n;
}

__u32 mts_loader_next(const struct mts_loader *L, __u32 i)
{
	return mts_slots_next(L->slots, L->used, L->flows_max, i);
}

const char *mts_loader_ifname(const struct mts_loader *L, int ifindex)
{
	for (int i = 0; i < L->n; i++)
		if (L->ifs[i].ifindex == ifindex)
			return L->ifs[i].shown;
	return NULL;
}

int mts_loader_prog_fd(const struct mts_loader *L, int slot, int egress)
{
	if (slot < 0 || slot >= L->n)
		return -1;
	return L->prog_fd[!!egress];
}

int mts_loader_test_run(const struct mts_loader *L, int egress, const void *frame, size_t len,
			__u64 tstamp_ns)
{
	struct __sk_buff ctx = { .tstamp = tstamp_ns };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = len,
		    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = 1);
	int fd = mts_loader_prog_fd(L, 0, egress);

	if (fd < 0)
		return -EBADF;
	if (bpf_prog_test_run_opts(fd, &o))
		return -errno;
	return o.retval == (__u32)TC_ACT_UNSPEC ? 0 : -EPROTO;
}
