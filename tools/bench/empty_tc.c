// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * empty_tc - the floor of any tc design: an empty program (it returns
 * TC_ACT_UNSPEC and nothing else) on the ingress and egress TCX hooks of
 * each interface named, the hooks mtuscope uses, until SIGINT or SIGTERM.
 *
 *   empty_tc [--first] [--pass] IFACE...
 *
 * Appended after any TCX program already there, or with --first put ahead
 * of them (BPF_F_BEFORE with no anchor): the bench measures it beside
 * mtuscope on the same hooks, in both orders. With --pass it returns
 * TCX_PASS instead, which ends the chain: the lab's stand-in for another
 * tool that blinds the programs after it.
 * Prints "ready" once every hook holds it. The links die with the process,
 * so nothing stays attached whatever ends it. Exit status 1 (with the
 * reason) when loading or attaching fails.
 */
#include <errno.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

#define TCX_INGRESS	46	/* libbpf 1.1's headers predate TCX */
#define TCX_EGRESS	47
#define F_BEFORE	(1U << 3)	/* BPF_F_BEFORE */

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = -1 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	LIBBPF_OPTS(bpf_link_create_opts, opts);
	int prog, first = 1;

	for (; first < argc && argv[first][0] == '-'; first++) {
		if (!strcmp(argv[first], "--first"))
			opts.flags = F_BEFORE;
		else if (!strcmp(argv[first], "--pass"))
			insns[0].imm = 0;	/* TCX_PASS */
		else
			break;
	}
	if (argc <= first || argv[first][0] == '-') {
		fprintf(stderr, "usage: empty_tc [--first] [--pass] IFACE...\n");
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	prog = bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS, "mts_empty", "GPL", insns, 2, NULL);
	if (prog < 0) {
		fprintf(stderr, "empty_tc: loading the program failed: %s\n", strerror(errno));
		return 1;
	}
	for (int i = first; i < argc; i++) {
		unsigned ifindex = if_nametoindex(argv[i]);

		if (!ifindex) {
			fprintf(stderr, "empty_tc: unknown interface '%s'\n", argv[i]);
			return 1;
		}
		if (bpf_link_create(prog, ifindex, (enum bpf_attach_type)TCX_INGRESS, &opts) < 0 ||
		    bpf_link_create(prog, ifindex, (enum bpf_attach_type)TCX_EGRESS, &opts) < 0) {
			fprintf(stderr, "empty_tc: attaching to %s failed: %s\n", argv[i],
				strerror(errno));
			return 1;
		}
	}
	printf("ready\n");
	fflush(stdout);
	while (!stop)
		pause();
	return 0;
}
