// SPDX-License-Identifier: GPL-2.0
/*
 * Helpers shared by the emulator's host test programs (emutest.h): they
 * run the real bcchip-emu binary and talk to it over its socket.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "emutest.h"

/* Set once by emutest_begin(), before any thread starts; read-only after. */
static const char *emu_bin;
static char run_dir[64];

static pthread_mutex_t count_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned int passed, failed;	/* under count_lock */

int emutest_begin(int argc, char **argv, const char *name)
{
	int n;

	if (argc != 2) {
		fprintf(stderr, "usage: %s PATH-TO-bcchip-emu\n", argv[0]);
		return 2;
	}
	emu_bin = argv[1];
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
		perror("signal");
		return 1;
	}
	n = snprintf(run_dir, sizeof(run_dir), "/tmp/%s.XXXXXX", name);
	if (n < 0 || (size_t)n >= sizeof(run_dir)) {
		fprintf(stderr, "run directory name too long\n");
		return 1;
	}
	if (!mkdtemp(run_dir)) {
		perror("mkdtemp");
		return 1;
	}
	/* Emulators of a test run never touch the user's factory CA. */
	{
		char f[sizeof(run_dir) + 16];

		snprintf(f, sizeof(f), "%s/factory", run_dir);
		if (setenv("BCCHIP_FACTORY", f, 1)) {
			perror("setenv");
			return 1;
		}
	}
	return 0;
}

int emutest_end(void)
{
	char cmd[300];
	unsigned int p, f;

	/* Sanitizer reports end up in the emulators' logs. */
	snprintf(cmd, sizeof(cmd),
		 "! grep -l -E 'Sanitizer|runtime error' %s/*.log", run_dir);
	check(system(cmd) == 0, "no sanitizer reports in emulator logs");

	pthread_mutex_lock(&count_lock);
	p = passed;
	f = failed;
	pthread_mutex_unlock(&count_lock);
	if (f) {
		printf("emulator logs kept in %s\n", run_dir);
	} else {
		snprintf(cmd, sizeof(cmd), "rm -rf %s", run_dir);
		if (system(cmd) != 0)
			printf("could not remove %s\n", run_dir);
	}
	printf("%u passed, %u failed\n", p, f);
	return f ? 1 : 0;
}

const char *emutest_dir(void)
{
	return run_dir;
}

const char *emutest_bin(void)
{
	return emu_bin;
}

void check(bool ok, const char *what, ...)
{
	va_list ap;

	pthread_mutex_lock(&count_lock);
	if (ok) {
		passed++;
	} else {
		failed++;
		fputs("FAIL: ", stdout);
		va_start(ap, what);
		vprintf(what, ap);
		va_end(ap);
		fputc('\n', stdout);
		fflush(stdout);
	}
	pthread_mutex_unlock(&count_lock);
}

double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* ---- emulator processes ---- */

int emu_start(struct emu *e, const char *name, const char *const *extra)
{
	const char *argv[32];
	int n = 0;
	double until;

	snprintf(e->state, sizeof(e->state), "%s/%s.state", run_dir, name);
	snprintf(e->sock, sizeof(e->sock), "%s/%s.sock", run_dir, name);
	snprintf(e->pidfile, sizeof(e->pidfile), "%s/%s.pid", run_dir, name);
	snprintf(e->log, sizeof(e->log), "%s/%s.log", run_dir, name);
	unlink(e->pidfile);
	argv[n++] = emu_bin;
	argv[n++] = "--foreground";
	argv[n++] = "--state";
	argv[n++] = e->state;
	argv[n++] = "--socket";
	argv[n++] = e->sock;
	argv[n++] = "--pidfile";
	argv[n++] = e->pidfile;
	argv[n++] = "--log";
	argv[n++] = e->log;
	while (extra && *extra && n < 30)
		argv[n++] = *extra++;
	argv[n] = NULL;

	e->pid = fork();
	if (e->pid < 0)
		return -errno;
	if (e->pid == 0) {
		int lfd = open(e->log, O_WRONLY | O_CREAT | O_APPEND, 0644);

		/* No emulator outlives a crashed test run. */
		if (lfd < 0 || dup2(lfd, STDERR_FILENO) < 0 ||
		    dup2(lfd, STDOUT_FILENO) < 0 ||
		    prctl(PR_SET_PDEATHSIG, SIGTERM))
			_exit(126);
		execv(emu_bin, (char *const *)argv);
		_exit(127);
	}
	/* The pid file appears once the socket listens. */
	until = now_ms() + 20000;
	while (now_ms() < until) {
		int st;

		if (access(e->pidfile, F_OK) == 0)
			return 0;
		if (waitpid(e->pid, &st, WNOHANG) == e->pid) {
			e->pid = 0;
			return WIFEXITED(st) ? -WEXITSTATUS(st) - 1000 : -EIO;
		}
		usleep(10000);
	}
	kill(e->pid, SIGKILL);
	waitpid(e->pid, NULL, 0);
	e->pid = 0;
	return -ETIMEDOUT;
}

int emu_stop(struct emu *e)
{
	int st;

	if (e->pid <= 0)
		return -1;
	kill(e->pid, SIGTERM);
	if (waitpid(e->pid, &st, 0) != e->pid)
		return -1;
	e->pid = 0;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

bool emu_alive(struct emu *e)
{
	return e->pid > 0 && waitpid(e->pid, NULL, WNOHANG) == 0;
}

/* ---- socket and envelopes ---- */

int conn_open(const struct emu *e)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 20 };
	int fd;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (strlen(e->sock) >= sizeof(sa.sun_path)) {
		close(fd);
		return -1;
	}
	memcpy(sa.sun_path, e->sock, strlen(e->sock) + 1);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv))) {
		close(fd);
		return -1;
	}
	return fd;
}

int write_all(int fd, const void *buf, size_t n)
{
	const uint8_t *p = buf;

	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int read_all(int fd, void *buf, size_t n)
{
	uint8_t *p = buf;

	while (n) {
		ssize_t r = read(fd, p, n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

int send_env(int fd, uint16_t type, uint32_t client, uint32_t tag,
	     const void *payload, uint32_t len)
{
	struct bcem_envelope env = {
		.magic = htole32(BCEM_MAGIC),
		.type = htole16(type),
		.client = htole32(client),
		.tag = htole32(tag),
		.length = htole32(len),
	};

	if (write_all(fd, &env, sizeof(env)))
		return -1;
	return len ? write_all(fd, payload, len) : 0;
}

int recv_env(int fd, struct reply *r)
{
	struct bcem_envelope env;

	memset(r, 0, sizeof(*r));
	if (read_all(fd, &env, sizeof(env)))
		return -1;
	if (le32toh(env.magic) != BCEM_MAGIC ||
	    le32toh(env.length) > BCEM_MAX_PAYLOAD)
		return -2;
	r->type = le16toh(env.type);
	r->status = le16toh(env.status);
	r->client = le32toh(env.client);
	r->tag = le32toh(env.tag);
	r->len = le32toh(env.length);
	r->data = malloc(r->len ? r->len : 1);
	if (!r->data)
		return -3;
	if (read_all(fd, r->data, r->len)) {
		free(r->data);
		r->data = NULL;
		return -1;
	}
	return 0;
}

uint8_t *frame(uint16_t op, uint32_t session, const void *body, uint32_t blen)
{
	uint8_t *f = calloc(1, BCFW_HDR_SIZE + (size_t)blen);
	struct bcfw_hdr h = {
		.magic = htole32(BCFW_MAGIC),
		.version = BCFW_PROTO_VERSION,
		.opcode = htole16(op),
		.length = htole32(BCFW_HDR_SIZE + blen),
		.session = htole32(session),
	};

	if (!f)
		abort();
	memcpy(f, &h, sizeof(h));
	if (blen)
		memcpy(f + BCFW_HDR_SIZE, body, blen);
	return f;
}

void resp_free(struct resp *r)
{
	free(r->raw);
	memset(r, 0, sizeof(*r));
}

void parse_resp(struct reply *rp, struct resp *r)
{
	struct bcfw_hdr h;

	memset(r, 0, sizeof(*r));
	r->raw = rp->data;
	r->env_status = rp->status;
	if (rp->type != BCEM_RESPONSE) {
		r->err = -10;
		return;
	}
	if (rp->len < BCFW_HDR_SIZE) {
		r->err = rp->status ? -11 : -12;
		return;
	}
	memcpy(&h, rp->data, sizeof(h));
	if (le32toh(h.magic) != BCFW_MAGIC || h.version != 1 || h.flags ||
	    h.reserved || le32toh(h.length) != rp->len) {
		r->err = -13;
		return;
	}
	r->opcode = le16toh(h.opcode);
	r->session = le32toh(h.session);
	r->status = le32toh(h.status);
	r->blen = rp->len - BCFW_HDR_SIZE;
	r->body = rp->data + BCFW_HDR_SIZE;
}

void xact_raw(int fd, uint32_t client, const void *payload, uint32_t len,
	      struct resp *r)
{
	static uint32_t tags = 1000;	/* atomic: workers share it */
	struct reply rp;
	uint32_t tag = __atomic_add_fetch(&tags, 1, __ATOMIC_RELAXED);

	memset(r, 0, sizeof(*r));
	if (send_env(fd, BCEM_REQUEST, client, tag, payload, len)) {
		r->err = -1;
		return;
	}
	if (recv_env(fd, &rp)) {
		r->err = -2;
		return;
	}
	if (rp.tag != tag || rp.client != client) {
		free(rp.data);
		r->err = -3;
		return;
	}
	parse_resp(&rp, r);
}

void xact(int fd, uint32_t client, uint16_t op, uint32_t session,
	  const void *body, uint32_t blen, struct resp *r)
{
	uint8_t *f = frame(op, session, body, blen);

	xact_raw(fd, client, f, BCFW_HDR_SIZE + blen, r);
	free(f);
}

bool get_info(int fd, struct bcfw_info *info)
{
	struct resp r;
	bool ok;

	xact(fd, 1, BCFW_OP_GET_INFO, 0, NULL, 0, &r);
	ok = !r.err && r.status == BCFW_S_OK && r.blen == sizeof(*info);
	if (ok)
		memcpy(info, r.body, sizeof(*info));
	resp_free(&r);
	return ok;
}

/* ---- request building (key store and attestation tests) ---- */

void b_put(struct b *b, const void *v, size_t n)
{
	if (b->n + n > b->cap) {
		b->cap = (b->n + n) * 2 + 64;
		b->p = realloc(b->p, b->cap);
		if (!b->p)
			abort();
	}
	if (n)
		memcpy(b->p + b->n, v, n);
	b->n += n;
}

void b_u32(struct b *b, uint32_t v)
{
	v = htole32(v);
	b_put(b, &v, 4);
}

void b_pad8(struct b *b)
{
	static const uint8_t z[8];

	b_put(b, z, BCFW_ALIGN8(b->n) - b->n);
}

void b_free(struct b *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

void a_bytes(struct b *b, uint32_t type, const void *v, size_t len)
{
	b_u32(b, type);
	b_u32(b, (uint32_t)len);
	b_put(b, v, len);
	b_pad8(b);
	b->count++;
}

void a_ul(struct b *b, uint32_t type, uint64_t v)
{
	uint64_t le = htole64(v);

	a_bytes(b, type, &le, 8);
}

void a_bool(struct b *b, uint32_t type, bool v)
{
	uint8_t x = v;

	a_bytes(b, type, &x, 1);
}

uint32_t le32_at(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return le32toh(v);
}

uint32_t call(int fd, uint16_t op, uint32_t session, const void *body,
		     size_t blen, uint8_t **out, size_t *olen)
{
	struct resp r;
	uint32_t st;

	if (out) {
		*out = NULL;
		*olen = 0;
	}
	xact(fd, 1, op, session, body, (uint32_t)blen, &r);
	if (r.err) {
		resp_free(&r);
		return NO_ANSWER;
	}
	st = r.status;
	if (out) {
		*out = malloc(r.blen + 1);
		if (!*out)
			abort();
		memcpy(*out, r.body, r.blen);
		*olen = r.blen;
	}
	resp_free(&r);
	return st;
}

uint32_t call_b(int fd, uint16_t op, uint32_t session, struct b *body,
		       uint8_t **out, size_t *olen)
{
	return call(fd, op, session, body ? body->p : NULL, body ? body->n : 0,
		    out, olen);
}

uint32_t pin_op(int fd, uint16_t op, uint32_t a, const char *pin)
{
	struct b b = { 0 };
	uint32_t st;

	if (op == BCFW_OP_LOGIN)
		b_u32(&b, a);
	b_u32(&b, (uint32_t)strlen(pin));
	if (op != BCFW_OP_LOGIN)
		b_u32(&b, 0);
	b_put(&b, pin, strlen(pin));
	st = call_b(fd, op, 0, &b, NULL, NULL);
	b_free(&b);
	return st;
}

uint32_t get_attr(int fd, uint32_t h, uint32_t type, uint8_t **v)
{
	struct b b = { 0 };
	uint8_t *out = NULL;
	size_t n = 0;
	uint32_t st, len;

	*v = NULL;
	b_u32(&b, h);
	b_u32(&b, 1);
	b_u32(&b, type);
	st = call_b(fd, BCFW_OP_GET_ATTRIBUTES, 0, &b, &out, &n);
	b_free(&b);
	if (st || n < 16 || le32_at(out) != 1 || le32_at(out + 8) != type) {
		free(out);
		return st ? st : NO_ANSWER;
	}
	len = le32_at(out + 12);
	if (len < BCFW_ATTR_INVALID) {
		if (16 + (size_t)len > n) {
			free(out);
			return NO_ANSWER;
		}
		*v = malloc(len + 1);
		memcpy(*v, out + 16, len);
	}
	free(out);
	return len;
}
