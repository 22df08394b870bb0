// SPDX-License-Identifier: GPL-2.0
/*
 * The socket side: one reader thread per connection parses envelopes and
 * queues requests; a fixed pool of engine threads runs them and writes the
 * responses, so answers may overtake each other as on the real chip.
 */
#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "emu.h"
#include "emu_envelope.h"

/* A peer that stops reading must not pin an engine for ever. */
#define EMU_SEND_TIMEOUT_S	10

static struct {
	pthread_mutex_t lock;		/* everything in here */
	pthread_cond_t cond;		/* jobs queued, or stop */
	pthread_cond_t gone;		/* a connection ended */
	struct emu_job *head, *tail;
	struct emu_conn *conns;
	unsigned int nconns;
	uint64_t next_conn_id;
	bool stop;
} srv = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.cond = PTHREAD_COND_INITIALIZER,
	.gone = PTHREAD_COND_INITIALIZER,
	.next_conn_id = 1,
};

static int read_full(int fd, void *buf, size_t n)
{
	uint8_t *p = buf;

	while (n) {
		ssize_t r = read(fd, p, n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -EPIPE;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static int skip(int fd, size_t n)
{
	uint8_t sink[4096];

	while (n) {
		size_t k = n < sizeof(sink) ? n : sizeof(sink);
		int ret = read_full(fd, sink, k);

		if (ret)
			return ret;
		n -= k;
	}
	return 0;
}

/* Only the connection's writer thread sends, one envelope at a time. */
static int send_job(int fd, const struct emu_job *j)
{
	struct bcem_envelope env = {
		.magic = htole32(BCEM_MAGIC),
		.type = htole16(j->out_type),
		.status = htole16(j->out_status),
		.client = htole32(j->client),
		.tag = htole32(j->tag),
		.length = htole32(j->out_len),
	};
	struct iovec iov[2] = {
		{ .iov_base = &env, .iov_len = sizeof(env) },
		{ .iov_base = j->out, .iov_len = j->out_len },
	};
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = j->out_len ? 2 : 1 };

	while (msg.msg_iovlen) {
		ssize_t w = sendmsg(fd, &msg, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		while (msg.msg_iovlen && (size_t)w >= msg.msg_iov->iov_len) {
			w -= (ssize_t)msg.msg_iov->iov_len;
			msg.msg_iov++;
			msg.msg_iovlen--;
		}
		if (msg.msg_iovlen) {
			msg.msg_iov->iov_base = (uint8_t *)msg.msg_iov->iov_base + w;
			msg.msg_iov->iov_len -= (size_t)w;
		}
	}
	return 0;
}

/*
 * Writes the connection's answers, so that engines never wait for a slow
 * or stuck peer.  A job stays counted in inflight until written (or
 * dropped), which bounds the answers queued here.
 */
static void *conn_writer(void *arg)
{
	struct emu_conn *c = arg;

	pthread_mutex_lock(&c->lock);
	for (;;) {
		struct emu_job *j;
		bool dead;
		int ret;

		while (!c->out_head && !c->writer_stop)
			pthread_cond_wait(&c->cond, &c->lock);
		j = c->out_head;
		if (!j)
			break;
		c->out_head = j->next;
		if (!c->out_head)
			c->out_tail = NULL;
		dead = c->dead;
		pthread_mutex_unlock(&c->lock);

		ret = dead ? 0 : send_job(c->fd, j);
		if (ret) {
			if (ret != -EPIPE && ret != -ECONNRESET)
				emu_log("conn %llu: send: %s; closing\n",
					(unsigned long long)c->id,
					strerror(-ret));
			/* The reader sees the shutdown and ends the conn. */
			shutdown(c->fd, SHUT_RDWR);
		}
		free(j->out);
		free(j);

		pthread_mutex_lock(&c->lock);
		if (ret)
			c->dead = true;
		c->inflight--;
		pthread_cond_broadcast(&c->cond);
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

static void conn_push(struct emu_conn *c, struct emu_job *j)
{
	j->next = NULL;
	pthread_mutex_lock(&c->lock);
	if (c->out_tail)
		c->out_tail->next = j;
	else
		c->out_head = j;
	c->out_tail = j;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

static void *engine_main(void *arg)
{
	(void)arg;
	for (;;) {
		struct emu_job *job;

		pthread_mutex_lock(&srv.lock);
		while (!srv.head && !srv.stop)
			pthread_cond_wait(&srv.cond, &srv.lock);
		job = srv.head;
		if (!job) {
			pthread_mutex_unlock(&srv.lock);
			return NULL;
		}
		srv.head = job->next;
		if (!srv.head)
			srv.tail = NULL;
		pthread_mutex_unlock(&srv.lock);

		job->out = emu_firmware_run(job, &job->out_len);
		job->out_type = BCEM_RESPONSE;
		job->out_status = job->out ? 0 : 1;
		if (!job->out)
			job->out_len = 0;
		/* job and its connection belong to the writer from here. */
		conn_push(job->conn, job);
	}
}

/*
 * Counts one more message in flight on c, waiting while the connection
 * has too many.  False when the connection is closing.
 */
static bool take_slot(struct emu_conn *c, struct emu_job *j)
{
	pthread_mutex_lock(&c->lock);
	while (c->inflight >= EMU_CONN_INFLIGHT && !c->closing)
		pthread_cond_wait(&c->cond, &c->lock);
	if (c->closing) {
		pthread_mutex_unlock(&c->lock);
		return false;
	}
	c->inflight++;
	j->reset_gen = c->reset_gen;
	pthread_mutex_unlock(&c->lock);
	return true;
}

static struct emu_job *job_new(struct emu_conn *c,
			       const struct bcem_envelope *env, uint32_t have)
{
	struct emu_job *j = calloc(1, sizeof(*j) + have);

	if (!j) {
		emu_log("conn %llu: out of memory\n", (unsigned long long)c->id);
		return NULL;
	}
	j->conn = c;
	j->client = le32toh(env->client);
	j->tag = le32toh(env->tag);
	j->len = le32toh(env->length);
	j->have = have;
	return j;
}

/* Returns false when the connection must end. */
static bool conn_request(struct emu_conn *c, const struct bcem_envelope *env)
{
	uint32_t len = le32toh(env->length);
	uint32_t have = len <= EMU_MAX_FRAME ? len : BCFW_HDR_SIZE;
	struct emu_job *job;

	if (len < BCFW_HDR_SIZE) {
		/* Not even a header to answer with: envelope status says so. */
		if (skip(c->fd, len))
			return false;
		job = job_new(c, env, 0);
		if (!job || !take_slot(c, job)) {
			free(job);
			return false;
		}
		job->out_type = BCEM_RESPONSE;
		job->out_status = 1;
		conn_push(c, job);
		return true;
	}
	job = job_new(c, env, have);
	if (!job)
		return false;
	/* Oversized frames keep only their header, to answer BAD_FRAME. */
	if (read_full(c->fd, job->data, have) || skip(c->fd, len - have) ||
	    !take_slot(c, job)) {
		free(job);
		return false;
	}

	pthread_mutex_lock(&srv.lock);
	if (srv.tail)
		srv.tail->next = job;
	else
		srv.head = job;
	srv.tail = job;
	pthread_cond_signal(&srv.cond);
	pthread_mutex_unlock(&srv.lock);
	return true;
}

static bool conn_reset(struct emu_conn *c, const struct bcem_envelope *env)
{
	struct emu_job *done = job_new(c, env, 0);

	if (!done)
		return false;
	pthread_mutex_lock(&c->lock);
	c->reset_gen++;
	pthread_cond_broadcast(&c->cond);
	/* Every answer so far is written before RESET_DONE. */
	while (c->inflight && !c->closing)
		pthread_cond_wait(&c->cond, &c->lock);
	c->inflight++;
	pthread_mutex_unlock(&c->lock);
	emu_sessions_drop_conn(c->id);
	done->out_type = BCEM_RESET_DONE;
	conn_push(c, done);
	return true;
}

static const char *envelope_error(const struct bcem_envelope *env)
{
	uint16_t type = le16toh(env->type);

	if (le32toh(env->magic) != BCEM_MAGIC)
		return "bad magic";
	if (le32toh(env->length) > BCEM_MAX_PAYLOAD)
		return "payload too long";
	if (env->reserved || env->status)
		return "reserved bits set";
	if (type == BCEM_RESET && env->length)
		return "RESET with a payload";
	if (type == BCEM_SUBSCRIBE &&
	    (env->length || env->client || env->tag))
		return "SUBSCRIBE with a payload, client or tag";
	if (type != BCEM_REQUEST && type != BCEM_RESET &&
	    type != BCEM_SUBSCRIBE)
		return "unexpected type";
	return NULL;
}

static void conn_subscribe(struct emu_conn *c)
{
	pthread_mutex_lock(&c->lock);
	c->subscribed = true;
	pthread_mutex_unlock(&c->lock);
}

unsigned int emu_server_broadcast(uint16_t type, const void *payload,
				  uint32_t len)
{
	unsigned int sent = 0;

	pthread_mutex_lock(&srv.lock);
	for (struct emu_conn *c = srv.conns; c; c = c->next) {
		struct emu_job *j;

		pthread_mutex_lock(&c->lock);
		/*
		 * A subscriber that stops reading must not make us hoard
		 * events: past the bound they are dropped for it.
		 */
		if (!c->subscribed || c->closing || c->dead ||
		    c->inflight >= EMU_CONN_INFLIGHT + EMU_CONN_EVENTS) {
			pthread_mutex_unlock(&c->lock);
			continue;
		}
		j = calloc(1, sizeof(*j));
		if (j)
			j->out = malloc(len ? len : 1);
		if (!j || !j->out) {
			pthread_mutex_unlock(&c->lock);
			if (j)
				free(j);
			emu_log("conn %llu: out of memory for an event\n",
				(unsigned long long)c->id);
			continue;
		}
		memcpy(j->out, payload, len);
		j->out_len = len;
		j->out_type = type;
		j->conn = c;
		/* Counted like an answer, so the connection outlives it. */
		c->inflight++;
		if (c->out_tail)
			c->out_tail->next = j;
		else
			c->out_head = j;
		c->out_tail = j;
		pthread_cond_broadcast(&c->cond);
		pthread_mutex_unlock(&c->lock);
		sent++;
	}
	pthread_mutex_unlock(&srv.lock);
	return sent;
}

static void conn_free(struct emu_conn *c)
{
	close(c->fd);
	pthread_cond_destroy(&c->cond);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static void conn_end(struct emu_conn *c)
{
	struct emu_conn **pp;

	pthread_mutex_lock(&c->lock);
	c->closing = true;
	pthread_cond_broadcast(&c->cond);
	while (c->inflight)
		pthread_cond_wait(&c->cond, &c->lock);
	c->writer_stop = true;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	pthread_join(c->writer, NULL);
	emu_sessions_drop_conn(c->id);

	pthread_mutex_lock(&srv.lock);
	for (pp = &srv.conns; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	pthread_mutex_unlock(&srv.lock);
	conn_free(c);

	/* Counted until freed, so that shutdown waits for the memory too. */
	pthread_mutex_lock(&srv.lock);
	srv.nconns--;
	pthread_cond_broadcast(&srv.gone);
	pthread_mutex_unlock(&srv.lock);
}

static void *conn_main(void *arg)
{
	struct emu_conn *c = arg;
	struct bcem_envelope env;
	const char *why;

	for (;;) {
		int ret = read_full(c->fd, &env, sizeof(env));

		if (ret) {
			if (ret != -EPIPE && ret != -ECONNRESET)
				emu_log("conn %llu: read: %s\n",
					(unsigned long long)c->id,
					strerror(-ret));
			break;
		}
		why = envelope_error(&env);
		if (why) {
			emu_log("conn %llu: invalid envelope (%s); closing\n",
				(unsigned long long)c->id, why);
			shutdown(c->fd, SHUT_RDWR);
			break;
		}
		if (le16toh(env.type) == BCEM_RESET) {
			if (!conn_reset(c, &env))
				break;
		} else if (le16toh(env.type) == BCEM_SUBSCRIBE) {
			conn_subscribe(c);
		} else if (!conn_request(c, &env)) {
			break;
		}
	}
	conn_end(c);
	return NULL;
}

static int start_thread(pthread_t *t, bool detached, void *(*fn)(void *),
			void *arg)
{
	pthread_attr_t ta;
	int ret;

	ret = pthread_attr_init(&ta);
	if (ret)
		return ret;
	if (detached)
		ret = pthread_attr_setdetachstate(&ta, PTHREAD_CREATE_DETACHED);
	/* Many connections, little depth: small stacks suffice. */
	if (!ret)
		ret = pthread_attr_setstacksize(&ta, 256 * 1024);
	if (!ret)
		ret = pthread_create(t, &ta, fn, arg);
	pthread_attr_destroy(&ta);
	return ret;
}

static int conn_start(int fd)
{
	struct timeval tv = { .tv_sec = EMU_SEND_TIMEOUT_S };
	pthread_condattr_t ca;
	struct emu_conn *c;
	pthread_t t;
	int ret;

	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)))
		return -errno;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->fd = fd;
	ret = pthread_condattr_init(&ca);
	if (ret)
		goto fail_free;
	/* SLEEP waits on this cond with a monotonic deadline. */
	ret = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	if (!ret)
		ret = pthread_cond_init(&c->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (ret)
		goto fail_free;
	ret = pthread_mutex_init(&c->lock, NULL);
	if (ret) {
		pthread_cond_destroy(&c->cond);
		goto fail_free;
	}
	ret = start_thread(&c->writer, false, conn_writer, c);
	if (ret) {
		pthread_mutex_destroy(&c->lock);
		pthread_cond_destroy(&c->cond);
		goto fail_free;
	}

	pthread_mutex_lock(&srv.lock);
	c->id = srv.next_conn_id++;
	c->next = srv.conns;
	srv.conns = c;
	srv.nconns++;
	pthread_mutex_unlock(&srv.lock);

	ret = start_thread(&t, true, conn_main, c);
	if (ret) {
		/* No reader: end the connection as a reader would. */
		shutdown(fd, SHUT_RDWR);
		conn_end(c);
		return 0;
	}
	return 0;
fail_free:
	free(c);
	return -ret;
}

static void accept_one(int listen_fd)
{
	unsigned int n;
	int fd, ret;

	fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno != EINTR && errno != EAGAIN && errno != ECONNABORTED)
			emu_log("accept: %s\n", strerror(errno));
		/* EMFILE and friends: do not spin on a full backlog. */
		if (errno == EMFILE || errno == ENFILE || errno == ENOMEM)
			usleep(100 * 1000);
		return;
	}
	pthread_mutex_lock(&srv.lock);
	n = srv.nconns;
	pthread_mutex_unlock(&srv.lock);
	if (n >= EMU_MAX_CONNS) {
		emu_log("too many connections; refusing one\n");
		close(fd);
		return;
	}
	ret = conn_start(fd);
	if (ret) {
		emu_log("cannot serve a connection: %s\n", strerror(-ret));
		close(fd);
	}
}

int emu_server_run(const struct emu_config *cfg, int listen_fd,
		   int signal_fd)
{
	pthread_t engines[EMU_MAX_ENGINES];
	unsigned int started = 0;
	int ret = 0;

	for (; started < cfg->engines; started++) {
		ret = pthread_create(&engines[started], NULL, engine_main, NULL);
		if (ret) {
			emu_log("cannot start engine: %s\n", strerror(ret));
			ret = -ret;
			break;
		}
	}

	while (!ret) {
		struct pollfd pfd[2] = {
			{ .fd = listen_fd, .events = POLLIN },
			{ .fd = signal_fd, .events = POLLIN },
		};

		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			emu_log("poll: %s\n", strerror(errno));
			break;
		}
		if (pfd[1].revents) {
			struct signalfd_siginfo si;

			if (read(signal_fd, &si, sizeof(si)) == sizeof(si))
				emu_log("signal %u: shutting down\n",
					si.ssi_signo);
			break;
		}
		if (pfd[0].revents)
			accept_one(listen_fd);
	}

	/* Wind down: end every connection, then the engines. */
	pthread_mutex_lock(&srv.lock);
	for (struct emu_conn *c = srv.conns; c; c = c->next) {
		shutdown(c->fd, SHUT_RDWR);
		pthread_mutex_lock(&c->lock);
		c->closing = true;
		pthread_cond_broadcast(&c->cond);
		pthread_mutex_unlock(&c->lock);
	}
	while (srv.nconns)
		pthread_cond_wait(&srv.gone, &srv.lock);
	srv.stop = true;
	pthread_cond_broadcast(&srv.cond);
	pthread_mutex_unlock(&srv.lock);
	for (unsigned int i = 0; i < started; i++)
		pthread_join(engines[i], NULL);
	return ret;
}
