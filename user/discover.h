/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* discover - WireGuard interfaces, their peers, and the routes to them. */
#ifndef MTS_DISCOVER_H
#define MTS_DISCOVER_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include "format.h"
#include "mtuscope.h"

#define MTS_WG_PEERS_MAX	64	/* per interface; more are not correlated */
#define MTS_WG_ALLOWED_MAX	16	/* allowed-ips prefixes per peer */
#define MTS_WG_IFACES_MAX	16	/* WireGuard interfaces correlated */

struct mts_addr {
	int family;		/* AF_INET, AF_INET6 */
	__u8 b[16];		/* network order */
};

struct mts_prefix {
	struct mts_addr addr;
	int len;
};

struct mts_wg_peer {
	char key[48];		/* base64 public key */
	struct mts_addr endpoint;
	__u16 port;
	bool has_endpoint;
	struct mts_prefix allowed[MTS_WG_ALLOWED_MAX];
	int n_allowed;
};

struct mts_wg_iface {
	char name[IF_NAMESIZE];
	char shown[MTS_SHOWN_LEN];	/* as outputs show it (mts_name_shown) */
	int ifindex;
	unsigned mtu;		/* the interface's MTU when read (0: unknown) */
	struct mts_wg_peer peers[MTS_WG_PEERS_MAX];
	int n_peers;
};

struct mts_wg {
	struct mts_wg_iface ifs[MTS_WG_IFACES_MAX];
	int n;
};

/* The WireGuard interfaces of this namespace and their peers. 0 or -1. */
int mts_wg_read(struct mts_wg *wg, char *err, size_t errlen);
/* The interface the route to a goes out of. 0 or -1. */
int mts_route_dev(const struct mts_addr *a, char dev[IF_NAMESIZE]);
/* The peer whose allowed IPs hold addr (longest prefix), or NULL. */
const struct mts_wg_peer *mts_wg_peer_by_ip(const struct mts_wg_iface *ifc, int family,
					    const __u8 *addr);
/* The peer whose endpoint is addr:port, and its interface, or NULL. */
const struct mts_wg_peer *mts_wg_peer_by_endpoint(const struct mts_wg *wg, int family,
						  const __u8 *addr, __u16 port,
						  const struct mts_wg_iface **ifc);
bool mts_addr_parse(const char *s, struct mts_addr *a);

/* The parsers of outside output, pure (fuzz_text): each takes the whole text
 * (changed in place) and keeps what is well-formed, skipping the rest.
 * `wg show interfaces`: names that exist here (index_of: their ifindex, 0
 * for none); `wg show IFACE endpoints` / `allowed-ips`: "KEY\tADDR:PORT",
 * "KEY\tPREFIX PREFIX ..." lines; `ip -json route get`: the first route's
 * "dev", 0 or -1. */
void mts_wg_parse_interfaces(struct mts_wg *wg, char *text, unsigned (*index_of)(const char *));
void mts_wg_parse_endpoints(struct mts_wg_iface *ifc, char *text);
void mts_wg_parse_allowed(struct mts_wg_iface *ifc, char *text);
int mts_route_parse(const char *json, char dev[IF_NAMESIZE]);
const char *mts_addr_str(const struct mts_addr *a, __u16 port, char *buf, size_t len);

#endif
