// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * fuzz_text - libFuzzer harness for the parsers of other programs' output
 * (user/discover.c): any bytes, cut at NUL bytes into the output of
 * `wg show interfaces`, `wg show IFACE endpoints`, `wg show IFACE
 * allowed-ips` and `ip -json route get`, each in a buffer of its own size
 * (ASan sees a byte read past it). What the parsers keep must be well-formed:
 * names that fit and exist, at most the peers and prefixes there is room
 * for, prefix lengths within their family, ports and devices that fit. The
 * lookups the detector makes with it (a peer by inner address, by
 * endpoint) then run on addresses taken from the input.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "discover.h"

#define CHECK(cond, what)						\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "fuzz_text: %s\n", what);	\
			abort();					\
		}							\
	} while (0)

/* Which names "exist": a stand-in for if_nametoindex(), decided by the
 * name's bytes so an input always parses the same way. */
static unsigned fake_index(const char *name)
{
	return name[0] % 4 ? (unsigned)strlen(name) + 1 : 0;
}

/* The next NUL-terminated part of the input, in a buffer of its own. */
static char *part(const uint8_t **p, const uint8_t *end)
{
	const uint8_t *nul = memchr(*p, 0, end - *p);
	size_t n = (nul ? nul : end) - *p;
	char *s = malloc(n + 1);

	CHECK(s, "malloc");
	memcpy(s, *p, n);
	s[n] = 0;
	*p += n + (nul != NULL);
	return s;
}

static void check_iface(const struct mts_wg_iface *ifc)
{
	char buf[64];

	CHECK(ifc->n_peers >= 0 && ifc->n_peers <= MTS_WG_PEERS_MAX, "peer count");
	for (int i = 0; i < ifc->n_peers; i++) {
		const struct mts_wg_peer *p = &ifc->peers[i];

		CHECK(strlen(p->key) == 44 && p->key[43] == '=' &&
		      strspn(p->key, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				     "0123456789+/") == 43, "a key that is no WireGuard key kept");
		CHECK(p->n_allowed >= 0 && p->n_allowed <= MTS_WG_ALLOWED_MAX, "prefix count");
		for (int k = 0; k < p->n_allowed; k++) {
			const struct mts_prefix *pf = &p->allowed[k];

			CHECK(pf->addr.family == AF_INET || pf->addr.family == AF_INET6,
			      "prefix family");
			CHECK(pf->len >= 0 && pf->len <= (pf->addr.family == AF_INET ? 32 : 128),
			      "prefix length out of its family's range");
		}
		if (p->has_endpoint) {
			CHECK(p->endpoint.family == AF_INET || p->endpoint.family == AF_INET6,
			      "endpoint family");
			mts_addr_str(&p->endpoint, p->port, buf, sizeof(buf));
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size;
	char *ifs = part(&p, end), *eps = part(&p, end), *allowed = part(&p, end);
	char *route = part(&p, end);
	static struct mts_wg wg;
	struct mts_wg_iface *ifc;
	char dev[IF_NAMESIZE];
	__u8 addr[16] = {};

	memcpy(addr, data, size < sizeof(addr) ? size : sizeof(addr));
	memset(&wg, 0, sizeof(wg));
	mts_wg_parse_interfaces(&wg, ifs, fake_index);
	CHECK(wg.n >= 0 && wg.n <= MTS_WG_IFACES_MAX, "interface count");
	for (int i = 0; i < wg.n; i++) {
		CHECK(memchr(wg.ifs[i].name, 0, IF_NAMESIZE), "name not terminated");
		CHECK(!strchr(wg.ifs[i].name, '\'') && fake_index(wg.ifs[i].name),
		      "a name that cannot be used kept");
		for (int k = 0; k < i; k++)
			CHECK(strcmp(wg.ifs[i].name, wg.ifs[k].name), "a name kept twice");
	}
	/* The peers go to the first interface, or to one of their own. */
	ifc = wg.n ? &wg.ifs[0] : &wg.ifs[wg.n++];
	mts_wg_parse_endpoints(ifc, eps);
	mts_wg_parse_allowed(ifc, allowed);
	check_iface(ifc);
	mts_wg_peer_by_ip(ifc, AF_INET, addr);
	mts_wg_peer_by_ip(ifc, AF_INET6, addr);
	mts_wg_peer_by_endpoint(&wg, AF_INET, addr, addr[4] | addr[5] << 8, NULL);
	mts_wg_peer_by_endpoint(&wg, AF_INET6, addr, addr[4] | addr[5] << 8, NULL);
	if (!mts_route_parse(route, dev))
		CHECK(dev[0] && memchr(dev, 0, IF_NAMESIZE), "route device empty or too long");
	free(ifs);
	free(eps);
	free(allowed);
	free(route);
	return 0;
}
