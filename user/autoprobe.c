// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* autoprobe.c - watch --probe's searches, on their own thread. */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "autoprobe.h"

#define QUEUE		8	/* searches waiting */
#define RECENT		256	/* destinations remembered for the per-minute limit */
#define INTERVAL_S	60.0	/* one search per destination per minute at most */

struct recent {
	struct sockaddr_storage dst;
	double t;
	bool done;		/* its search finished: last holds the result */
	struct mts_probe_done last;
};

struct mts_autoprobe {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct mts_probe_req queue[QUEUE];
	int n_queue;
	struct mts_probe_done done[QUEUE];
	int n_done;
	struct recent recent[RECENT];
	unsigned rate;
	unsigned long searches, packets;
	volatile int cancel;
	bool stop;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static bool same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET)
		return !memcmp(&((const struct sockaddr_in *)a)->sin_addr,
			       &((const struct sockaddr_in *)b)->sin_addr, 4);
	return !memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
		       &((const struct sockaddr_in6 *)b)->sin6_addr, 16);
}

static void *worker(void *arg)
{
	struct mts_autoprobe *ap = arg;

	pthread_mutex_lock(&ap->lock);
	for (;;) {
		struct mts_probe_opts o = { .rate = ap->rate, .timeout_ms = 300, .tries = 2,
					    .cancel = &ap->cancel };
		struct mts_probe_done d = { 0 };

		while (!ap->stop && (!ap->n_queue || ap->n_done == QUEUE))
			pthread_cond_wait(&ap->cond, &ap->lock);
		if (ap->stop)
			break;
		d.req = ap->queue[0];
		memmove(ap->queue, ap->queue + 1, --ap->n_queue * sizeof(ap->queue[0]));
		pthread_mutex_unlock(&ap->lock);

		memcpy(&o.dst, &d.req.dst, d.req.dlen);
		o.dlen = d.req.dlen;
		o.port = d.req.port;
		d.rc = mts_probe_run(&o, &d.res, d.err, sizeof(d.err));

		pthread_mutex_lock(&ap->lock);
		ap->searches++;
		ap->packets += d.res.probes;
		for (int i = 0; i < RECENT; i++)
			if (same_addr(&ap->recent[i].dst, &d.req.dst)) {
				ap->recent[i].last = d;
				ap->recent[i].done = true;
			}
		if (!ap->stop)
			ap->done[ap->n_done++] = d;
	}
	pthread_mutex_unlock(&ap->lock);
	return NULL;
}

struct mts_autoprobe *mts_autoprobe_start(unsigned rate)
{
	struct mts_autoprobe *ap = calloc(1, sizeof(*ap));

	if (!ap)
		return NULL;
	/* a search is two dozen packets at most: half a second at this rate */
	ap->rate = rate ? rate : 50;
	pthread_mutex_init(&ap->lock, NULL);
	pthread_cond_init(&ap->cond, NULL);
	if ((errno = pthread_create(&ap->thread, NULL, worker, ap))) {
		free(ap);
		return NULL;
	}
	return ap;
}

bool mts_autoprobe_ask(struct mts_autoprobe *ap, const struct mts_probe_req *req)
{
	double t = now_s();
	struct recent *slot = &ap->recent[0];
	bool ok = false;

	pthread_mutex_lock(&ap->lock);
	for (int i = 0; i < RECENT; i++) {
		struct recent *r = &ap->recent[i];

		if (r->t && same_addr(&r->dst, &req->dst)) {
			if (t - r->t >= INTERVAL_S) {
				slot = r;
				break;
			}
			if (r->done && ap->n_done < QUEUE) {
				struct mts_probe_done *d = &ap->done[ap->n_done++];

				*d = r->last;
				d->req = *req;
				d->res.probes = 0;
				d->cached = true;
				ok = true;
			}
			goto out;
		}
		if (r->t < slot->t)
			slot = r;	/* the oldest goes if the destination is new */
	}
	if (ap->n_queue == QUEUE)
		goto out;
	slot->dst = req->dst;
	slot->t = t;
	slot->done = false;
	ap->queue[ap->n_queue++] = *req;
	pthread_cond_signal(&ap->cond);
	ok = true;
out:
	pthread_mutex_unlock(&ap->lock);
	return ok;
}

bool mts_autoprobe_take(struct mts_autoprobe *ap, struct mts_probe_done *out)
{
	bool got = false;

	pthread_mutex_lock(&ap->lock);
	if (ap->n_done) {
		*out = ap->done[0];
		memmove(ap->done, ap->done + 1, --ap->n_done * sizeof(ap->done[0]));
		pthread_cond_signal(&ap->cond);
		got = true;
	}
	pthread_mutex_unlock(&ap->lock);
	return got;
}

void mts_autoprobe_counts(struct mts_autoprobe *ap, unsigned long *searches,
			  unsigned long *packets)
{
	*searches = *packets = 0;
	if (!ap)
		return;
	pthread_mutex_lock(&ap->lock);
	*searches = ap->searches;
	*packets = ap->packets;
	pthread_mutex_unlock(&ap->lock);
}

void mts_autoprobe_stop(struct mts_autoprobe *ap)
{
	if (!ap)
		return;
	pthread_mutex_lock(&ap->lock);
	ap->stop = true;
	ap->cancel = 1;
	pthread_cond_signal(&ap->cond);
	pthread_mutex_unlock(&ap->lock);
	pthread_join(ap->thread, NULL);
	pthread_mutex_destroy(&ap->lock);
	pthread_cond_destroy(&ap->cond);
	free(ap);
}
