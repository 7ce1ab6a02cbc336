// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * discover.c - the WireGuard interfaces of this network namespace, their
 * peers (public key, endpoint, allowed IPs), and the interfaces the
 * endpoints route through.
 *
 * Read with wireguard-tools' `wg show`, which speaks to kernel WireGuard
 * (generic netlink) and to userspace implementations such as wireguard-go
 * (their UAPI sockets in /var/run/wireguard) alike. Only the `endpoints`
 * and `allowed-ips` views are asked for: no private key ever enters this
 * process. wireguard-go's socket directory is shared by every namespace,
 * so an interface counts only if it exists here. Routes come from
 * `ip -json route get`.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <json-c/json.h>
#include "discover.h"

static struct mts_wg_iface *iface_of(struct mts_wg *wg, const char *name)
{
	for (int i = 0; i < wg->n; i++)
		if (!strcmp(wg->ifs[i].name, name))
			return &wg->ifs[i];
	return NULL;
}

/* A WireGuard public key as wg prints it: 32 bytes in base64, 44 characters. */
static bool key_ok(const char *key)
{
	size_t n = strspn(key, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");

	return n == 43 && !strcmp(key + n, "=");
}

static struct mts_wg_peer *peer_of(struct mts_wg_iface *ifc, const char *key)
{
	if (!key_ok(key))
		return NULL;
	for (int i = 0; i < ifc->n_peers; i++)
		if (!strcmp(ifc->peers[i].key, key))
			return &ifc->peers[i];
	if (ifc->n_peers == MTS_WG_PEERS_MAX)
		return NULL;
	struct mts_wg_peer *p = &ifc->peers[ifc->n_peers++];

	memset(p, 0, sizeof(*p));
	snprintf(p->key, sizeof(p->key), "%s", key);
	return p;
}

/* "203.0.113.5:51820" or "[2001:db8::5]:51820"; false for "(none)". */
static bool parse_endpoint(const char *s, struct mts_addr *a, __u16 *port)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon = strrchr(s, ':');
	unsigned long p;
	char *end;
	size_t n;

	if (!colon || colon == s)
		return false;
	n = colon - s;
	if (s[0] == '[') {
		if (n < 3 || s[n - 1] != ']')
			return false;
		s++;
		n -= 2;
	}
	if (n >= sizeof(host))
		return false;
	memcpy(host, s, n);
	host[n] = 0;
	errno = 0;
	p = strtoul(colon + 1, &end, 10);
	if (errno || end == colon + 1 || *end || p > 65535)
		return false;
	*port = p;
	return mts_addr_parse(host, a);
}

/* "198.18.0.0/15" or "2001:db8::/32"; false for anything else. */
static bool parse_prefix(char *s, struct mts_prefix *pf)
{
	char *slash = strchr(s, '/'), *end;
	unsigned long len;

	if (!slash)
		return false;
	*slash = 0;
	if (!mts_addr_parse(s, &pf->addr))
		return false;
	errno = 0;
	len = strtoul(slash + 1, &end, 10);
	if (errno || end == slash + 1 || *end || len > (pf->addr.family == AF_INET ? 32u : 128u))
		return false;
	pf->len = len;
	return true;
}

bool mts_addr_parse(const char *s, struct mts_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, s, a->b) == 1) {
		a->family = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, s, a->b) == 1) {
		a->family = AF_INET6;
		return true;
	}
	return false;
}

void mts_wg_parse_endpoints(struct mts_wg_iface *ifc, char *text)
{
	char *save = NULL;

	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *in = NULL, *key = strtok_r(line, "\t", &in), *ep = strtok_r(NULL, "\t", &in);
		struct mts_wg_peer *p = key ? peer_of(ifc, key) : NULL;

		if (p && ep)
			p->has_endpoint = parse_endpoint(ep, &p->endpoint, &p->port);
	}
}

void mts_wg_parse_allowed(struct mts_wg_iface *ifc, char *text)
{
	char *save = NULL;

	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *in = NULL, *key = strtok_r(line, "\t", &in), *ips = strtok_r(NULL, "\t", &in);
		struct mts_wg_peer *p = key ? peer_of(ifc, key) : NULL;
		char *ip_save = NULL;

		if (!p || !ips)
			continue;
		for (char *tok = strtok_r(ips, " ", &ip_save); tok; tok = strtok_r(NULL, " ", &ip_save)) {
			struct mts_prefix *pf = &p->allowed[p->n_allowed];

			if (p->n_allowed < MTS_WG_ALLOWED_MAX && parse_prefix(tok, pf))
				p->n_allowed++;
		}
	}
}

void mts_wg_parse_interfaces(struct mts_wg *wg, char *text, unsigned (*index_of)(const char *))
{
	char *save = NULL;

	for (char *n = strtok_r(text, " \t\n", &save); n; n = strtok_r(NULL, " \t\n", &save)) {
		struct mts_wg_iface *ifc;
		unsigned idx;

		if (strlen(n) >= IF_NAMESIZE || strchr(n, '\'') || iface_of(wg, n) ||
		    wg->n == MTS_WG_IFACES_MAX || !(idx = index_of(n)))
			continue;
		ifc = &wg->ifs[wg->n++];
		memset(ifc, 0, sizeof(*ifc));
		snprintf(ifc->name, sizeof(ifc->name), "%s", n);
		mts_name_shown(ifc->shown, sizeof(ifc->shown), ifc->name);
		ifc->ifindex = idx;
	}
}

int mts_route_parse(const char *json, char dev[IF_NAMESIZE])
{
	json_object *j = json_tokener_parse(json), *r, *d;
	const char *s;
	int rc = -1;

	if (j && json_object_is_type(j, json_type_array) && json_object_array_length(j) > 0 &&
	    (r = json_object_array_get_idx(j, 0)) && json_object_is_type(r, json_type_object) &&
	    json_object_object_get_ex(r, "dev", &d) && json_object_is_type(d, json_type_string) &&
	    (s = json_object_get_string(d)) && *s && strlen(s) < IF_NAMESIZE) {
		memcpy(dev, s, strlen(s) + 1);
		rc = 0;
	}
	json_object_put(j);
	return rc;
}

/* A command's whole output (at most MTS_CMD_OUT bytes), NUL-terminated;
 * NULL if it could not be run. *status: pclose()'s. */
#define MTS_CMD_OUT	(256 * 1024)

static char *slurp(const char *cmd, int *status)
{
	FILE *f = popen(cmd, "r");
	char *buf;
	size_t n;

	if (!f)
		return NULL;
	buf = malloc(MTS_CMD_OUT + 1);
	n = buf ? fread(buf, 1, MTS_CMD_OUT, f) : 0;
	*status = pclose(f);
	if (buf)
		buf[n] = 0;
	return buf;
}

/* One interface's peers: `wg show IFACE endpoints` and `allowed-ips`. */
static void read_peers(struct mts_wg_iface *ifc)
{
	char cmd[96], *out;
	int status;

	snprintf(cmd, sizeof(cmd), "wg show '%s' endpoints 2>/dev/null", ifc->name);
	if ((out = slurp(cmd, &status)))
		mts_wg_parse_endpoints(ifc, out);
	free(out);
	snprintf(cmd, sizeof(cmd), "wg show '%s' allowed-ips 2>/dev/null", ifc->name);
	if ((out = slurp(cmd, &status)))
		mts_wg_parse_allowed(ifc, out);
	free(out);
}

static unsigned iface_mtu(const char *name)
{
	char path[64];
	unsigned mtu = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/class/net/%s/mtu", name);
	f = fopen(path, "r");
	if (f) {
		if (fscanf(f, "%u", &mtu) != 1)
			mtu = 0;
		fclose(f);
	}
	return mtu;
}

static unsigned index_of(const char *name)
{
	return if_nametoindex(name);
}

int mts_wg_read(struct mts_wg *wg, char *err, size_t errlen)
{
	char *out;
	int rc;

	memset(wg, 0, sizeof(*wg));
	/* The interfaces of this namespace only: wireguard-go's socket
	 * directory is shared by all, and a stale socket left by a dead one
	 * elsewhere must not spoil the rest. Interface names are kernel
	 * names (no quotes), so they are safe in the commands below. */
	out = slurp("wg show interfaces 2>/dev/null", &rc);
	if (!out) {
		snprintf(err, errlen, "cannot run wg (wireguard-tools): %s", strerror(errno));
		return -1;
	}
	mts_wg_parse_interfaces(wg, out, index_of);
	free(out);
	if (rc != -1 && WIFEXITED(rc) && WEXITSTATUS(rc) == 127) {
		snprintf(err, errlen, "wg (wireguard-tools) is not installed: name the "
			 "interfaces to watch, or install it");
		return -1;
	}
	if (rc == -1 || !WIFEXITED(rc) || WEXITSTATUS(rc)) {
		snprintf(err, errlen, "`wg show interfaces` failed (needs CAP_NET_ADMIN)");
		return -1;
	}
	for (int i = 0; i < wg->n; i++) {
		wg->ifs[i].mtu = iface_mtu(wg->ifs[i].name);
		read_peers(&wg->ifs[i]);
	}
	return 0;
}

int mts_route_dev(const struct mts_addr *a, char dev[IF_NAMESIZE])
{
	char host[INET6_ADDRSTRLEN], cmd[160], *out;
	int status, rc;

	if (!inet_ntop(a->family, a->b, host, sizeof(host)))
		return -1;
	snprintf(cmd, sizeof(cmd), "ip -json %sroute get %s 2>/dev/null",
		 a->family == AF_INET6 ? "-6 " : "", host);
	out = slurp(cmd, &status);
	rc = out ? mts_route_parse(out, dev) : -1;
	free(out);
	return rc;
}

static bool in_prefix(const struct mts_prefix *p, int family, const __u8 *addr)
{
	int full = p->len / 8, rest = p->len % 8;

	if (p->addr.family != family || p->len > (family == AF_INET ? 32 : 128))
		return false;
	if (memcmp(p->addr.b, addr, full))
		return false;
	return !rest || !((p->addr.b[full] ^ addr[full]) & (0xff << (8 - rest)));
}

const struct mts_wg_peer *mts_wg_peer_by_ip(const struct mts_wg_iface *ifc, int family,
					    const __u8 *addr)
{
	const struct mts_wg_peer *best = NULL;
	int best_len = -1;

	for (int i = 0; ifc && i < ifc->n_peers; i++)
		for (int k = 0; k < ifc->peers[i].n_allowed; k++) {
			const struct mts_prefix *p = &ifc->peers[i].allowed[k];

			if (p->len > best_len && in_prefix(p, family, addr)) {
				best = &ifc->peers[i];
				best_len = p->len;
			}
		}
	return best;
}

const struct mts_wg_peer *mts_wg_peer_by_endpoint(const struct mts_wg *wg, int family,
						  const __u8 *addr, __u16 port,
						  const struct mts_wg_iface **ifc)
{
	size_t alen = family == AF_INET ? 4 : 16;

	for (int i = 0; wg && i < wg->n; i++)
		for (int k = 0; k < wg->ifs[i].n_peers; k++) {
			const struct mts_wg_peer *p = &wg->ifs[i].peers[k];

			if (p->has_endpoint && p->endpoint.family == family && p->port == port &&
			    !memcmp(p->endpoint.b, addr, alen)) {
				if (ifc)
					*ifc = &wg->ifs[i];
				return p;
			}
		}
	return NULL;
}

const char *mts_addr_str(const struct mts_addr *a, __u16 port, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN] = "?";

	inet_ntop(a->family, a->b, host, sizeof(host));
	if (a->family == AF_INET6)
		snprintf(buf, len, "[%s]:%u", host, port);
	else
		snprintf(buf, len, "%s:%u", host, port);
	return buf;
}
