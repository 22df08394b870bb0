// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Emulator back-end: one stream connection to bcchip-emu per transport,
 * envelopes per docs/emulator.md, always client 1 of that connection.
 *
 * Many threads may have requests in flight on the connection at once.
 * Sending takes a short lock for one envelope.  Receiving has no thread
 * of its own (a library should not start threads behind the
 * application's back, and threads do not survive fork): whichever waiting
 * caller finds nobody reading becomes the reader, takes envelopes off the
 * socket and hands each to the caller waiting for its tag, until its own
 * answer arrives; then another waiter takes over.  No lock is held while
 * waiting for the emulator.
 */
#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "emu_envelope.h"
#include "transport.h"

#define CLIENT_ID 1

struct waiter {
	struct waiter *next;
	uint32_t tag;
	void *buf;
	size_t cap;
	size_t len;
	int done;	/* answer delivered (or err set) */
	int claimed;	/* a reader is copying the answer into buf */
	int err;
};

struct unix_priv {
	int fd;
	int timeout_ms;
	pthread_mutex_t send_lock;	/* one envelope at a time */
	pthread_mutex_t lock;		/* everything below */
	pthread_cond_t cond;
	uint32_t next_tag;
	int reading;
	int dead;			/* negative errno: stream unusable */
	struct waiter *waiters;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int sock_errno(int e)
{
	switch (e) {
	case EPIPE:
	case ECONNRESET:
	case ECONNREFUSED:
	case ENOTCONN:
		return -ENODEV;
	case EAGAIN:
		return -ETIMEDOUT;
	default:
		return -e;
	}
}

/* Waits for the socket to be readable until @deadline (ms, monotonic). */
static int wait_readable(int fd, int64_t deadline)
{
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int64_t left = deadline - now_ms();
		int r;

		if (left <= 0)
			return -ETIMEDOUT;
		r = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
	}
}

/* Reads exactly @len bytes; once a message has begun it must complete. */
static int read_full(struct unix_priv *p, void *buf, size_t len)
{
	uint8_t *b = buf;

	while (len) {
		ssize_t n;
		int ret = wait_readable(p->fd, now_ms() + p->timeout_ms);

		if (ret)
			return ret;
		n = read(p->fd, b, len);
		if (n == 0)
			return -ENODEV;
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return sock_errno(errno);
		}
		b += n;
		len -= (size_t)n;
	}
	return 0;
}

static int discard(struct unix_priv *p, size_t len)
{
	uint8_t sink[4096];

	while (len) {
		size_t n = len < sizeof(sink) ? len : sizeof(sink);
		int ret = read_full(p, sink, n);

		if (ret)
			return ret;
		len -= n;
	}
	return 0;
}

static int send_full(struct unix_priv *p, const struct bcem_envelope *env,
		     const void *payload, size_t len)
{
	struct iovec iov[2] = {
		{ .iov_base = (void *)env, .iov_len = sizeof(*env) },
		{ .iov_base = (void *)payload, .iov_len = len },
	};
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = 2 };
	size_t total = sizeof(*env) + len, sent = 0;

	while (sent < total) {
		ssize_t n = sendmsg(p->fd, &msg, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return sock_errno(errno);
		}
		sent += (size_t)n;
		while (n > 0 && msg.msg_iovlen) {
			size_t take = (size_t)n < msg.msg_iov[0].iov_len ?
				      (size_t)n : msg.msg_iov[0].iov_len;

			msg.msg_iov[0].iov_base =
				(uint8_t *)msg.msg_iov[0].iov_base + take;
			msg.msg_iov[0].iov_len -= take;
			n -= (ssize_t)take;
			if (!msg.msg_iov[0].iov_len) {
				msg.msg_iov++;
				msg.msg_iovlen--;
			}
		}
	}
	return 0;
}

/* With p->lock held. */
static void set_dead(struct unix_priv *p, int err)
{
	if (!p->dead)
		p->dead = err;
	pthread_cond_broadcast(&p->cond);
}

/* Only a waiter still waiting: a repeated tag must not overwrite. */
static struct waiter *find_waiter(struct unix_priv *p, uint32_t tag)
{
	for (struct waiter *w = p->waiters; w; w = w->next)
		if (w->tag == tag)
			return w->done || w->claimed ? NULL : w;
	return NULL;
}

static void remove_waiter(struct unix_priv *p, struct waiter *w)
{
	for (struct waiter **pp = &p->waiters; *pp; pp = &(*pp)->next)
		if (*pp == w) {
			*pp = w->next;
			return;
		}
}

/*
 * Takes one envelope off the socket and delivers it.  Called with
 * p->reading set and p->lock not held.  Returns 0, -ETIMEDOUT when nothing
 * arrived before @deadline (the stream is intact), or another error after
 * which the stream is unusable.
 */
static int read_one(struct unix_priv *p, int64_t deadline)
{
	struct bcem_envelope env;
	struct waiter *w;
	uint32_t len;
	int ret;

	ret = wait_readable(p->fd, deadline);
	if (ret)
		return ret == -ETIMEDOUT ? ret : sock_errno(-ret);
	ret = read_full(p, &env, sizeof(env));
	if (ret)
		return ret == -ETIMEDOUT ? -EBADMSG : ret;
	len = le32toh(env.length);
	if (le32toh(env.magic) != BCEM_MAGIC ||
	    le16toh(env.type) != BCEM_RESPONSE || env.reserved != 0 ||
	    le32toh(env.client) != CLIENT_ID || len > BCEM_MAX_PAYLOAD)
		return -EBADMSG;

	pthread_mutex_lock(&p->lock);
	w = find_waiter(p, le32toh(env.tag));
	if (w)
		w->claimed = 1;
	pthread_mutex_unlock(&p->lock);

	if (!w) {
		/* The answer to a request whose caller timed out. */
		ret = discard(p, len);
	} else if (le16toh(env.status) != 0 || len > w->cap) {
		ret = discard(p, len);
		w->err = le16toh(env.status) != 0 ? -EBADMSG : -EMSGSIZE;
	} else {
		ret = read_full(p, w->buf, len);
		w->len = len;
	}
	if (ret == -ETIMEDOUT)
		ret = -EBADMSG;	/* half a message: the stream is lost */

	pthread_mutex_lock(&p->lock);
	if (w) {
		if (ret && !w->err)
			w->err = ret;
		w->done = 1;
		w->claimed = 0;
	}
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	return ret;
}

static int unix_cmd(struct bc_transport *t, const void *req, size_t req_len,
		    void *resp, size_t resp_cap, size_t *resp_len,
		    uint32_t *gen)
{
	struct unix_priv *p = t->priv;
	struct bcem_envelope env;
	struct waiter w = { .buf = resp, .cap = resp_cap };
	int64_t deadline;
	int ret = 0;

	/* The library never sends RESET: one generation per connection. */
	*gen = 0;
	if (req_len > BCEM_MAX_PAYLOAD)
		return -EMSGSIZE;

	pthread_mutex_lock(&p->lock);
	if (p->dead) {
		ret = p->dead;
		pthread_mutex_unlock(&p->lock);
		return ret;
	}
	if (!++p->next_tag)
		++p->next_tag;
	w.tag = p->next_tag;
	w.next = p->waiters;
	p->waiters = &w;
	pthread_mutex_unlock(&p->lock);

	memset(&env, 0, sizeof(env));
	env.magic = htole32(BCEM_MAGIC);
	env.type = htole16(BCEM_REQUEST);
	env.client = htole32(CLIENT_ID);
	env.tag = htole32(w.tag);
	env.length = htole32((uint32_t)req_len);
	pthread_mutex_lock(&p->send_lock);
	ret = send_full(p, &env, req, req_len);
	pthread_mutex_unlock(&p->send_lock);

	pthread_mutex_lock(&p->lock);
	if (ret) {
		/* A partial envelope may be on the wire: nothing can follow. */
		set_dead(p, ret);
		goto out;
	}
	deadline = now_ms() + p->timeout_ms;
	while (!w.done) {
		if (p->dead && !w.claimed) {
			ret = p->dead;
			break;
		}
		if (!p->reading && !p->dead) {
			int r;

			p->reading = 1;
			pthread_mutex_unlock(&p->lock);
			r = read_one(p, deadline);
			pthread_mutex_lock(&p->lock);
			p->reading = 0;
			pthread_cond_broadcast(&p->cond);
			if (r == -ETIMEDOUT && !w.done) {
				ret = r;
				break;
			}
			if (r && r != -ETIMEDOUT)
				set_dead(p, r);
			continue;
		}
		if (w.claimed) {
			/* Our answer is being copied in: it will not be long. */
			pthread_cond_wait(&p->cond, &p->lock);
			continue;
		}
		{
			int64_t left = deadline - now_ms();
			struct timespec ts;

			if (left <= 0) {
				ret = -ETIMEDOUT;
				break;
			}
			clock_gettime(CLOCK_MONOTONIC, &ts);
			ts.tv_sec += left / 1000;
			ts.tv_nsec += (left % 1000) * 1000000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			pthread_cond_timedwait(&p->cond, &p->lock, &ts);
		}
	}
	if (w.done) {
		ret = w.err;
		if (!ret)
			*resp_len = w.len;
	}
out:
	remove_waiter(p, &w);
	pthread_mutex_unlock(&p->lock);
	return ret;
}

static int unix_info(struct bc_transport *t, struct bc_info *out)
{
	uint8_t body[sizeof(struct bcfw_info)];
	int ret;

	ret = bc_transport_call(t, BCFW_OP_GET_INFO, 0, NULL, 0, body,
				sizeof(body), NULL, NULL, NULL);
	if (ret == -EREMOTEIO)
		return -EIO;
	if (ret)
		return ret;
	out->state = BCCHIP_STATE_LIVE;
	return bc_chip_info_parse(body, sizeof(body), &out->chip);
}

static void unix_close(struct bc_transport *t, int orderly)
{
	struct unix_priv *p = t->priv;

	/* The emulator destroys this connection's clients when it closes. */
	close(p->fd);
	if (orderly) {
		pthread_cond_destroy(&p->cond);
		pthread_mutex_destroy(&p->lock);
		pthread_mutex_destroy(&p->send_lock);
	}
	free(p);
}

static const struct bc_transport_ops unix_ops = {
	.info = unix_info,
	.cmd = unix_cmd,
	.close = unix_close,
};

int bc_transport_unix_open(const char *path, struct bc_transport *t)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct unix_priv *p;
	pthread_condattr_t ca;
	struct timeval tv;
	int fd, ret;

	if (!*path)
		return -EINVAL;
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->timeout_ms = bc_transport_timeout_ms();

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		ret = -errno;
		goto err_free;
	}
	/* A stuck emulator must not block a sender forever either. */
	tv.tv_sec = p->timeout_ms / 1000;
	tv.tv_usec = (p->timeout_ms % 1000) * 1000;
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0) {
		ret = -errno;
		goto err_close;
	}
	while (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (errno == EINTR)
			continue;
		ret = errno == ENOENT ? -ENOENT : sock_errno(errno);
		goto err_close;
	}
	p->fd = fd;
	ret = pthread_mutex_init(&p->send_lock, NULL);
	if (ret) {
		ret = -ret;
		goto err_close;
	}
	ret = pthread_mutex_init(&p->lock, NULL);
	if (ret) {
		ret = -ret;
		goto err_send_lock;
	}
	ret = pthread_condattr_init(&ca);
	if (ret) {
		ret = -ret;
		goto err_lock;
	}
	ret = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	if (!ret)
		ret = pthread_cond_init(&p->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (ret) {
		ret = -ret;
		goto err_lock;
	}
	t->ops = &unix_ops;
	t->kind = BC_TRANSPORT_UNIX;
	t->priv = p;
	return 0;

err_lock:
	pthread_mutex_destroy(&p->lock);
err_send_lock:
	pthread_mutex_destroy(&p->send_lock);
err_close:
	close(fd);
err_free:
	free(p);
	return ret;
}
