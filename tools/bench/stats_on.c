// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * stats_on - run a command with BPF run-time statistics switched on.
 *
 *   stats_on COMMAND [ARG...]
 *
 * bpf_enable_stats(BPF_STATS_RUN_TIME) returns a file descriptor; while any
 * such descriptor is open the kernel accounts run_time_ns and run_cnt for
 * every BPF program (what `bpftool prog show` prints). This holds one while
 * COMMAND runs and closes it when COMMAND exits, so the statistics (which
 * cost every BPF program two clock reads per run) are on only for the
 * measuring window, and go off even if this process is killed: the kernel
 * closes the descriptor. The kernel.bpf_stats_enabled sysctl is never
 * touched. Exit status: COMMAND's; 125 when the statistics cannot be enabled.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <bpf/bpf.h>

int main(int argc, char **argv)
{
	int fd, status;
	pid_t pid;

	if (argc < 2) {
		fprintf(stderr, "usage: stats_on COMMAND [ARG...]\n");
		return 125;
	}
	fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (fd < 0) {
		fprintf(stderr, "stats_on: BPF_ENABLE_STATS failed: %s (root?)\n", strerror(-fd));
		return 125;
	}
	pid = fork();
	if (pid < 0) {
		perror("stats_on: fork");
		return 125;
	}
	if (!pid) {
		close(fd);	/* the parent's descriptor keeps the statistics on */
		execvp(argv[1], argv + 1);
		fprintf(stderr, "stats_on: %s: %s\n", argv[1], strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			perror("stats_on: waitpid");
			return 125;
		}
	close(fd);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
