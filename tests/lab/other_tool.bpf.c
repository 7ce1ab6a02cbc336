// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * other_tool.bpf.c - stands in for another tool's tc filter in the lab tests:
 * it drops IPv4 packets with TTL 7 and passes the rest, so whether it still
 * runs is visible from outside (a TTL-7 ping fails, a TTL-8 ping works).
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
SEC("tc")
int other_tool(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);

	if ((void *)(ip + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP))
		return TC_ACT_OK;
	return ip->ttl == 7 ? TC_ACT_SHOT : TC_ACT_OK;
}
char LICENSE[] SEC("license") = "GPL";
