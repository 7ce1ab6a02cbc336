/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * loader - open, load, attach and detach the BPF side.
 *
 * One object, loaded and verified once: the same two programs (ingress,
 * egress) run on every interface, which they tell apart by the ifslots map
 * (ifindex -> counter slot and L2/L3 framing), filled before each attach;
 * one flow table, one counter array, one ring buffer. Attached through TCX links where
 * the kernel has them (a link dies with its process, so even a SIGKILLed
 * run leaves nothing behind); otherwise clsact + cls_bpf at a fixed handle
 * and priority, replacing what a killed run of ours left there.
 */
#ifndef MTS_LOADER_H
#define MTS_LOADER_H

#include <net/if.h>
#include <stdbool.h>
#include "format.h"
#include "mtuscope.h"

enum mts_hook { MTS_HOOK_AUTO, MTS_HOOK_TCX, MTS_HOOK_TC };

struct mts_loader_opts {
	char *const *ifaces;
	int n_ifaces;
	enum mts_hook hook;
	bool verbose;
	__u32 flows_max;	/* flow table capacity */
	__u16 large_bytes;	/* segments above this count as large */
	bool attach;		/* false: load only (replay, tests) */
	bool replay;		/* clock from skb->tstamp */
};

struct flow_bpf;

struct mts_iface {
	char name[IF_NAMESIZE];
	char shown[MTS_SHOWN_LEN];	/* the name as outputs show it (mts_name_shown) */
	int ifindex;
	bool l3;		/* no L2 header (TUN, WireGuard, IP tunnels) */
	enum mts_hook hook;	/* how it is attached */
	int link_fd[2];		/* TCX links: ingress, egress */
	bool tc_attached[2];
	__u32 tc_prio[2];	/* the clsact priority each filter took */
	bool qdisc_created;	/* we made the clsact qdisc */
	bool gone;		/* deleted; its slot waits for it under its name */
	double attach_ms;	/* registering and attaching it took (no load: the
				 * programs are shared) */
};

struct mts_loader {
	struct mts_iface ifs[MTS_MAX_IFACES];
	int n;
	struct flow_bpf *skel[3];	/* the maps' object, ingress's, egress's */
	int prog_fd[2];		/* the programs every interface shares: ingress, egress */
	int flows_fd, counters_fd, events_fd, ifslots_fd;
	__u32 flows_max;	/* slots, a power of two */
	const volatile struct mts_slot *slots;	/* the flow table, mmap()ed read-only */
	size_t slots_len;
	__u64 *used;		/* a bit per used slot (MTS_MAP_USED), mmap()ed */
	size_t used_len;
	int ncpus;
};

/* On failure returns -errno and leaves a message for a human in err. */
int mts_loader_open(struct mts_loader *L, const struct mts_loader_opts *o,
		    char *err, size_t errlen);
void mts_loader_close(struct mts_loader *L);
/* Attach one more interface to an open loader (discovery at run time). */
int mts_loader_add(struct mts_loader *L, const char *name, const struct mts_loader_opts *o,
		   char *err, size_t errlen);

/* Slot i's interface was deleted: its links closed, the programs told to
 * forget its index; the slot (its counters) waits for it to come back. */
void mts_loader_gone(struct mts_loader *L, int i);
/* Slot i's interface is back under its name (a new index): attached again. */
int mts_loader_back(struct mts_loader *L, int i, enum mts_hook want, char *err, size_t errlen);

/* Counters of slot (interface index in L->ifs), summed over CPUs. */
int mts_loader_counters(const struct mts_loader *L, int slot, int egress,
			struct mts_counters *out);
/* Records in the flow table now (a walk of the used slots). */
long mts_loader_count_flows(const struct mts_loader *L);
/* The first used slot at or after i, or flows_max: walk the table as
 * for (i = mts_loader_next(L, 0); i < L->flows_max; i = mts_loader_next(L, i + 1)). */
__u32 mts_loader_next(const struct mts_loader *L, __u32 i);
/* Slot i in place (the mapped table, which the programs write meanwhile):
 * for a cheap filter before mts_loader_slot() copies it; NULL if empty. */
const struct mts_slot *mts_loader_peek(const struct mts_loader *L, __u32 i);
/* Copy slot i's key and record; false if the slot is empty. */
bool mts_loader_slot(const struct mts_loader *L, __u32 i, struct mts_flow_key *key,
		     struct mts_flow *rec);
/* Copy the record of flow k; false if the table does not hold it. */
bool mts_loader_flow(const struct mts_loader *L, const struct mts_flow_key *k,
		     struct mts_flow *out);
const char *mts_loader_ifname(const struct mts_loader *L, int ifindex);
const char *mts_hook_name(enum mts_hook h);

/* Root or CAP_BPF + CAP_NET_ADMIN: a clear message instead of EPERM later. */
int mts_check_privileges(char *err, size_t errlen);

/* Program fds (the same for every slot) for BPF_PROG_TEST_RUN (replay). */
int mts_loader_prog_fd(const struct mts_loader *L, int slot, int egress);
/* Run one Ethernet frame through slot 0's program (replay): 0, or -errno
 * (-EPROTO if the program asked for anything but "pass it on"). */
int mts_loader_test_run(const struct mts_loader *L, int egress, const void *frame, size_t len,
			__u64 tstamp_ns);

#endif
