// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Chip session pool, one per slot.  A multi-part operation needs a chip
 * session for as long as its state lives on the chip; everything else is
 * stateless on the chip.  Sessions are opened on demand up to the chip's
 * limit, kept when returned, and lent again; when all are lent, callers
 * wait (bounded by $BCCHIP_POOL_WAIT_MS, default 10 s) and then fail with
 * CKR_DEVICE_MEMORY (the chip has no room for another operation's state).
 * A chip full of other clients' sessions is retried the same way.
 *
 * The pool's own lock is a plain pthread mutex with a condition variable
 * (application mutex callbacks cannot wait), taken without bc_lock held.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec.h"
#include "p11.h"

/* When the chip refuses a session, try again this often. */
#define RETRY_MS 20

static int wait_ms(void)
{
	const char *s = secure_getenv("BCCHIP_POOL_WAIT_MS");
	char *end;
	long v;

	if (!s || !*s)
		return 10000;
	v = strtol(s, &end, 10);
	if (*end || v < 0 || v > 3600000)
		return 10000;
	return (int)v;
}

int bc_pool_init(struct bc_pool *p, uint32_t epoch, unsigned int limit)
{
	pthread_condattr_t ca;
	int ret;

	memset(p, 0, sizeof(*p));
	if (pthread_condattr_init(&ca))
		return -ENOMEM;
	/* Deadlines on the monotonic clock: wall-clock jumps do not count. */
	ret = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	if (!ret)
		ret = pthread_cond_init(&p->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (ret)
		return -ret;
	ret = pthread_mutex_init(&p->lock, NULL);
	if (ret) {
		pthread_cond_destroy(&p->cond);
		return -ret;
	}
	p->epoch = epoch;
	p->limit = limit ? limit : 1;
	return 0;
}

void bc_pool_destroy(struct bc_pool *p)
{
	free(p->idle);
	p->idle = NULL;
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
}

void bc_pool_reset_locked(struct bc_pool *p, uint32_t epoch,
			  unsigned int limit)
{
	pthread_mutex_lock(&p->lock);
	p->nidle = 0;
	p->open = 0;
	p->epoch = epoch;
	p->limit = limit ? limit : 1;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

static void deadline_in(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

static int before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec ||
	       (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

static CK_RV chip_open(struct bc_ctx *c, uint32_t *cs)
{
	struct bc_buf b;
	struct bc_rd r;
	uint8_t *out;
	size_t len;
	CK_RV rv;

	bc_buf_init(&b);
	bc_buf_le32(&b, BCFW_SESSION_RW);
	bc_buf_le32(&b, 0);
	if (b.oom) {
		bc_buf_free(&b);
		return CKR_HOST_MEMORY;
	}
	rv = bc_chip(c, BCFW_OP_SESSION_OPEN, 0, b.p, b.len, &out, &len);
	bc_buf_free(&b);
	if (rv != CKR_OK)
		return rv;
	bc_rd_init(&r, out, len);
	*cs = bc_rd_le32(&r);
	free(out);
	if (r.bad || len != 8 || !*cs)
		return CKR_DEVICE_ERROR;
	return CKR_OK;
}

static void chip_close(struct bc_ctx *c, uint32_t cs)
{
	/* If the chip no longer knows it, it is as closed as it gets. */
	(void)bc_chip(c, BCFW_OP_SESSION_CLOSE, cs, NULL, 0, NULL, NULL);
}

CK_RV bc_pool_get(struct bc_ctx *c, uint32_t *chip_session)
{
	struct bc_pool *p = &bc_g.slots[c->slot].pool;
	struct timespec deadline, now, until;
	CK_RV rv;

	deadline_in(&deadline, wait_ms());
	pthread_mutex_lock(&p->lock);
	for (;;) {
		int refused = 0;

		if (p->epoch != c->epoch) {
			pthread_mutex_unlock(&p->lock);
			return CKR_SESSION_HANDLE_INVALID;
		}
		if (p->nidle) {
			*chip_session = p->idle[--p->nidle];
			pthread_mutex_unlock(&p->lock);
			return CKR_OK;
		}
		if (p->open < p->limit) {
			p->open++;
			pthread_mutex_unlock(&p->lock);
			rv = chip_open(c, chip_session);
			if (rv == CKR_OK)
				return CKR_OK;
			pthread_mutex_lock(&p->lock);
			if (p->epoch == c->epoch && p->open)
				p->open--;
			if (rv != CKR_SESSION_COUNT) {
				pthread_cond_signal(&p->cond);
				pthread_mutex_unlock(&p->lock);
				return rv;
			}
			/* Other clients hold the chip's sessions. */
			refused = 1;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (!before(&now, &deadline)) {
			pthread_mutex_unlock(&p->lock);
			return CKR_DEVICE_MEMORY;
		}
		until = deadline;
		if (refused) {
			deadline_in(&until, RETRY_MS);
			if (before(&deadline, &until))
				until = deadline;
		}
		p->waiting++;
		pthread_cond_timedwait(&p->cond, &p->lock, &until);
		p->waiting--;
	}
}

void bc_pool_put(struct bc_ctx *c, uint32_t chip_session, int clean)
{
	struct bc_pool *p = &bc_g.slots[c->slot].pool;

	if (!chip_session)
		return;
	/* Whatever operation it holds must end before anyone else uses it. */
	if (!clean && bc_chip(c, BCFW_OP_CANCEL, chip_session, NULL, 0, NULL,
			      NULL) == CKR_OK)
		clean = 1;
	pthread_mutex_lock(&p->lock);
	if (p->epoch != c->epoch) {
		/* Gone with the chip's reset or the old connection. */
		pthread_mutex_unlock(&p->lock);
		return;
	}
	if (clean && p->nidle == p->cap) {
		size_t nc = p->cap ? p->cap * 2 : 16;
		uint32_t *ni = realloc(p->idle, nc * sizeof(*ni));

		if (ni) {
			p->idle = ni;
			p->cap = nc;
		}
	}
	if (clean && p->nidle < p->cap) {
		p->idle[p->nidle++] = chip_session;
		pthread_cond_signal(&p->cond);
		pthread_mutex_unlock(&p->lock);
		return;
	}
	if (p->open)
		p->open--;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
	chip_close(c, chip_session);
}

void bc_pool_drain(struct bc_ctx *c)
{
	struct bc_pool *p = &bc_g.slots[c->slot].pool;

	for (;;) {
		uint32_t cs;

		pthread_mutex_lock(&p->lock);
		if (p->epoch != c->epoch || !p->nidle) {
			pthread_mutex_unlock(&p->lock);
			return;
		}
		cs = p->idle[--p->nidle];
		if (p->open)
			p->open--;
		pthread_mutex_unlock(&p->lock);
		chip_close(c, cs);
	}
}
