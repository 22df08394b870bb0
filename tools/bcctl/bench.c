// SPDX-License-Identifier: GPL-2.0
/*
 * bcctl bench: concurrent key operations through the PKCS#11 module, as
 * applications see them, from N threads in each of M processes against
 * one chip.
 *
 * The parent prepares (login, bench key), then forks the workers; each
 * worker process initializes the module again (a child may not use the
 * parent's PKCS#11 state), logs in, opens a session per thread, and
 * reports over a pipe: a ready record, a progress record each second,
 * and at the end its counts, its errors by CKR_* code and every
 * operation's latency.  The parent starts them all at once by closing
 * the "go" pipe, prints progress, and merges the results.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bcctl.h"

#define MAX_THREADS 256
#define MAX_PROCS 64
#define MAX_ERRS 16
/* The bucket of codes beyond MAX_ERRS - 1 distinct ones: no CKR_ value
 * (vendor codes are 0x80000000..0xffffffff of a 32-bit field). */
#define RV_OTHER ((uint64_t)1 << 40)

enum bench_op { OP_P256, OP_P384, OP_RSA2048, OP_RANDOM, OP_NOOP };

static const struct {
	const char *name;
	const char *key_label;
} op_info[] = {
	[OP_P256] = { "sign-p256", "bcctl-bench-p256" },
	[OP_P384] = { "sign-p384", "bcctl-bench-p384" },
	[OP_RSA2048] = { "sign-rsa2048", "bcctl-bench-rsa2048" },
	[OP_RANDOM] = { "random", NULL },
	[OP_NOOP] = { "noop", NULL },
};

struct bench_cfg {
	struct bcctl_p11_opts p11;
	struct bcctl_pin_src pin;
	enum bench_op op;
	int threads, procs;
	double duration;
	const char *key_label;
	bool json, quiet, have_pin;
	char pin_buf[BCCTL_PIN_MAX + 2];
	int pin_len;
};

/* Records on a worker's pipe: header, then @len payload bytes. */
enum { REC_READY = 1, REC_FAILED, REC_PROGRESS, REC_RESULT };

struct rec_hdr {
	uint32_t type;
	uint32_t len;
};

struct err_count {
	uint64_t rv;
	uint64_t count;
};

struct result_hdr {
	double seconds;
	uint64_t ops;
	uint64_t errors;
	uint32_t nerr;
	uint32_t reserved;
	uint64_t nlat;		/* latencies (ns) after the error counts */
};

struct thread_ctx {
	struct bcctl_p11 *p;
	const struct bench_cfg *cfg;
	CK_SESSION_HANDLE h;
	CK_OBJECT_HANDLE key;
	atomic_int *go, *stop;
	atomic_ullong ops, errors;
	uint64_t *lat;
	size_t nlat, cap;
	bool lat_full;
	struct err_count errs[MAX_ERRS];
	int nerrs;
};

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

static int send_rec(int fd, uint32_t type, const void *p, size_t len)
{
	struct rec_hdr h = { type, (uint32_t)len };
	int ret = write_all(fd, &h, sizeof(h));

	return ret ? ret : write_all(fd, p, len);
}

static void count_err(struct thread_ctx *t, CK_RV rv)
{
	atomic_fetch_add(&t->errors, 1);
	for (int i = 0; i < t->nerrs; i++)
		if (t->errs[i].rv == rv) {
			t->errs[i].count++;
			return;
		}
	if (t->nerrs < MAX_ERRS - 1) {
		t->errs[t->nerrs].rv = rv;
		t->errs[t->nerrs].count = 1;
		t->nerrs++;
	} else {
		/* Beyond that many distinct codes: "other", not a code. */
		if (t->nerrs == MAX_ERRS - 1) {
			t->errs[t->nerrs].rv = RV_OTHER;
			t->errs[t->nerrs].count = 0;
			t->nerrs++;
		}
		t->errs[MAX_ERRS - 1].count++;
	}
}

static void record(struct thread_ctx *t, uint64_t ns)
{
	if (t->nlat == t->cap && !t->lat_full) {
		size_t cap = t->cap ? t->cap * 2 : 4096;
		uint64_t *n = realloc(t->lat, cap * sizeof(*n));

		if (!n)
			t->lat_full = true;
		else {
			t->lat = n;
			t->cap = cap;
		}
	}
	if (t->nlat < t->cap)
		t->lat[t->nlat++] = ns;
}

static CK_RV one_op(struct thread_ctx *t, unsigned char *buf)
{
	CK_FUNCTION_LIST_PTR f = t->p->f;
	CK_MECHANISM ecdsa = { CKM_ECDSA, NULL, 0 };
	CK_MECHANISM rsa = { CKM_SHA256_RSA_PKCS, NULL, 0 };
	CK_ULONG sl = 512;
	CK_TOKEN_INFO ti;
	CK_RV rv;

	switch (t->cfg->op) {
	case OP_P256:
	case OP_P384:
		rv = f->C_SignInit(t->h, &ecdsa, t->key);
		if (rv == CKR_OK)
			rv = f->C_Sign(t->h, buf, t->cfg->op == OP_P256 ?
				       32 : 48, buf + 64, &sl);
		return rv;
	case OP_RSA2048:
		rv = f->C_SignInit(t->h, &rsa, t->key);
		if (rv == CKR_OK)
			rv = f->C_Sign(t->h, buf, 32, buf + 64, &sl);
		return rv;
	case OP_RANDOM:
		return f->C_GenerateRandom(t->h, buf + 64, 32);
	case OP_NOOP:
	default:
		return f->C_GetTokenInfo(t->p->slot, &ti);
	}
}

static void *bench_thread(void *arg)
{
	struct thread_ctx *t = arg;
	unsigned char buf[64 + 512];

	memset(buf, 0x5c, sizeof(buf));
	while (!atomic_load(t->go))
		usleep(100);
	while (!atomic_load_explicit(t->stop, memory_order_relaxed)) {
		uint64_t t0 = mono_ns();
		CK_RV rv = one_op(t, buf);

		if (rv == CKR_OK) {
			record(t, mono_ns() - t0);
			atomic_fetch_add_explicit(&t->ops, 1,
						  memory_order_relaxed);
		} else {
			count_err(t, rv);
		}
	}
	return NULL;
}

static CK_OBJECT_HANDLE find_priv(struct bcctl_p11 *p, CK_SESSION_HANDLE h,
				  const char *label)
{
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE t[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_LABEL, (void *)label, strlen(label) },
	};
	CK_OBJECT_HANDLE o = CK_INVALID_HANDLE;
	CK_ULONG n = 0;

	if (p->f->C_FindObjectsInit(h, t, 2) != CKR_OK)
		return CK_INVALID_HANDLE;
	if (p->f->C_FindObjects(h, &o, 1, &n) != CKR_OK || !n)
		o = CK_INVALID_HANDLE;
	p->f->C_FindObjectsFinal(h);
	return o;
}

static CK_RV make_key(struct bcctl_p11 *p, CK_SESSION_HANDLE h,
		      const struct bench_cfg *cfg, CK_OBJECT_HANDLE *out)
{
	static const unsigned char oid_p256[] = {
		0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };
	static const unsigned char oid_p384[] = {
		0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22 };
	CK_MECHANISM ec = { CKM_EC_KEY_PAIR_GEN, NULL, 0 };
	CK_MECHANISM rsa = { CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0 };
	CK_BBOOL yes = CK_TRUE;
	CK_ULONG bits = 2048;
	CK_BYTE exp[] = { 1, 0, 1 };
	const char *l = cfg->key_label;
	CK_ULONG ll = strlen(l);
	bool p256 = cfg->op == OP_P256;
	CK_ATTRIBUTE pub_ec[] = {
		{ CKA_EC_PARAMS, (void *)(p256 ? oid_p256 : oid_p384),
		  p256 ? sizeof(oid_p256) : sizeof(oid_p384) },
		{ CKA_VERIFY, &yes, 1 }, { CKA_TOKEN, &yes, 1 },
		{ CKA_LABEL, (void *)l, ll },
	};
	CK_ATTRIBUTE pub_rsa[] = {
		{ CKA_MODULUS_BITS, &bits, sizeof(bits) },
		{ CKA_PUBLIC_EXPONENT, exp, sizeof(exp) },
		{ CKA_VERIFY, &yes, 1 }, { CKA_TOKEN, &yes, 1 },
		{ CKA_LABEL, (void *)l, ll },
	};
	CK_ATTRIBUTE priv[] = {
		{ CKA_SIGN, &yes, 1 }, { CKA_PRIVATE, &yes, 1 },
		{ CKA_SENSITIVE, &yes, 1 }, { CKA_TOKEN, &yes, 1 },
		{ CKA_LABEL, (void *)l, ll },
	};
	CK_OBJECT_HANDLE pub;

	if (cfg->op == OP_RSA2048)
		return p->f->C_GenerateKeyPair(h, &rsa, pub_rsa, 5, priv, 5,
					       &pub, out);
	return p->f->C_GenerateKeyPair(h, &ec, pub_ec, 4, priv, 5, &pub, out);
}

/* In the parent: the bench key exists (made as a token key once). */
static int prepare(struct bcctl_p11 *p, struct bench_cfg *cfg)
{
	CK_SESSION_HANDLE h;
	CK_OBJECT_HANDLE key;
	CK_RV rv;

	rv = p->f->C_OpenSession(p->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION,
				 NULL, NULL, &h);
	if (rv != CKR_OK) {
		bcctl_err("C_OpenSession: %s", bcctl_ckr_name(rv));
		return EXIT_ERR;
	}
	if (cfg->have_pin) {
		rv = p->f->C_Login(h, CKU_USER, (CK_UTF8CHAR_PTR)cfg->pin_buf,
				   (CK_ULONG)cfg->pin_len);
		if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
			bcctl_err("login: %s", bcctl_ckr_name(rv));
			p->f->C_CloseSession(h);
			return EXIT_ERR;
		}
	}
	if (cfg->key_label) {
		key = find_priv(p, h, cfg->key_label);
		if (key == CK_INVALID_HANDLE) {
			rv = make_key(p, h, cfg, &key);
			if (rv != CKR_OK) {
				bcctl_err("making bench key '%s': %s",
					  cfg->key_label, bcctl_ckr_name(rv));
				p->f->C_CloseSession(h);
				return EXIT_ERR;
			}
			if (!cfg->quiet)
				fprintf(stderr, "bench: made token key '%s'\n",
					cfg->key_label);
		}
	}
	p->f->C_CloseSession(h);
	return EXIT_OK;
}

static void wait_go(int go_fd)
{
	char c;

	/* EOF (the parent closed its end) is the start signal. */
	while (read(go_fd, &c, 1) < 0 && errno == EINTR)
		;
}

static int send_failed(int fd, const char *what, CK_RV rv)
{
	char msg[200];

	snprintf(msg, sizeof(msg), "%s: %s", what, bcctl_ckr_name(rv));
	send_rec(fd, REC_FAILED, msg, strlen(msg) + 1);
	return 1;
}

/* A worker process: returns its exit status. */
static int worker(struct bcctl_p11 *p, struct bench_cfg *cfg, int out,
		  int go_fd)
{
	struct thread_ctx *t = calloc((size_t)cfg->threads, sizeof(*t));
	pthread_t *th = calloc((size_t)cfg->threads, sizeof(*th));
	atomic_int go = 0, stop = 0;
	CK_OBJECT_HANDLE key = CK_INVALID_HANDLE;
	struct result_hdr r;
	double start = 0, next;
	int started = 0, ret = 0;
	CK_RV rv;

	if (!t || !th) {
		send_rec(out, REC_FAILED, "out of memory", 14);
		free(t);
		free(th);
		return 1;
	}
	if (bcctl_p11_reinit(p)) {
		ret = send_failed(out, "C_Initialize", CKR_GENERAL_ERROR);
		goto out;
	}
	for (int i = 0; i < cfg->threads; i++) {
		t[i].p = p;
		t[i].cfg = cfg;
		t[i].go = &go;
		t[i].stop = &stop;
		rv = p->f->C_OpenSession(p->slot, CKF_SERIAL_SESSION, NULL,
					 NULL, &t[i].h);
		if (rv != CKR_OK) {
			ret = send_failed(out, "C_OpenSession", rv);
			goto out;
		}
	}
	if (cfg->have_pin) {
		rv = p->f->C_Login(t[0].h, CKU_USER,
				   (CK_UTF8CHAR_PTR)cfg->pin_buf,
				   (CK_ULONG)cfg->pin_len);
		/* The login holds for every session of this process. */
		bcctl_wipe(cfg->pin_buf, sizeof(cfg->pin_buf));
		if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
			ret = send_failed(out, "login", rv);
			goto out;
		}
	}
	if (cfg->key_label) {
		key = find_priv(p, t[0].h, cfg->key_label);
		if (key == CK_INVALID_HANDLE) {
			ret = send_failed(out, "finding the bench key",
					  CKR_KEY_HANDLE_INVALID);
			goto out;
		}
	}
	for (int i = 0; i < cfg->threads; i++) {
		t[i].key = key;
		if (pthread_create(&th[i], NULL, bench_thread, &t[i])) {
			atomic_store(&stop, 1);
			atomic_store(&go, 1);
			ret = send_failed(out, "pthread_create",
					  CKR_HOST_MEMORY);
			goto join;
		}
		started++;
	}
	send_rec(out, REC_READY, NULL, 0);
	wait_go(go_fd);
	start = mono();
	atomic_store(&go, 1);
	next = start + 1;
	for (;;) {
		double now = mono(), end = start + cfg->duration;
		uint64_t prog[2] = { 0, 0 };

		if (now >= end)
			break;
		double until = next < end ? next : end;

		if (until > now)
			usleep((useconds_t)((until - now) * 1e6));
		if (mono() >= next) {
			for (int i = 0; i < started; i++) {
				prog[0] += atomic_load(&t[i].ops);
				prog[1] += atomic_load(&t[i].errors);
			}
			send_rec(out, REC_PROGRESS, prog, sizeof(prog));
			next += 1;
		}
	}
	atomic_store(&stop, 1);
join:
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	if (ret)
		goto out;
	memset(&r, 0, sizeof(r));
	r.seconds = mono() - start;
	for (int i = 0; i < started; i++) {
		r.ops += atomic_load(&t[i].ops);
		r.errors += atomic_load(&t[i].errors);
		r.nerr += (uint32_t)t[i].nerrs;
		r.nlat += t[i].nlat;
	}
	{
		struct rec_hdr h = { REC_RESULT, 0 };
		uint64_t total = sizeof(r) + r.nerr * sizeof(struct err_count) +
				 r.nlat * sizeof(uint64_t);

		if (total > UINT32_MAX) {
			/* Keep the record's length honest: drop samples. */
			r.nlat = (UINT32_MAX - sizeof(r) -
				  r.nerr * sizeof(struct err_count)) / 8;
			total = sizeof(r) + r.nerr * sizeof(struct err_count) +
				r.nlat * sizeof(uint64_t);
		}
		h.len = (uint32_t)total;
		if (write_all(out, &h, sizeof(h)) || write_all(out, &r, sizeof(r)))
			ret = 1;
		for (int i = 0; i < started && !ret; i++)
			if (write_all(out, t[i].errs,
				      (size_t)t[i].nerrs * sizeof(t[i].errs[0])))
				ret = 1;
		uint64_t remain = r.nlat;

		for (int i = 0; i < started && !ret; i++) {
			uint64_t k = t[i].nlat < remain ? t[i].nlat : remain;

			remain -= k;
			if (k && write_all(out, t[i].lat,
					   k * sizeof(uint64_t)))
				ret = 1;
		}
	}
out:
	for (int i = 0; i < cfg->threads; i++) {
		if (t[i].h)
			p->f->C_CloseSession(t[i].h);
		free(t[i].lat);
	}
	free(t);
	free(th);
	return ret;
}

/* The parent's view of one worker. */
struct child {
	pid_t pid;
	int fd;
	unsigned char *buf;
	size_t len, cap;
	bool ready, done, failed, eof;
	uint64_t prog_ops, prog_errs;
	struct result_hdr res;
	struct err_count *errs;
	uint64_t *lat;
};

/* Takes every complete record out of c->buf. */
static void parse_records(struct child *c)
{
	size_t off = 0;

	while (c->len - off >= sizeof(struct rec_hdr)) {
		struct rec_hdr h;
		const unsigned char *p;

		memcpy(&h, c->buf + off, sizeof(h));
		if (c->len - off - sizeof(h) < h.len)
			break;
		p = c->buf + off + sizeof(h);
		switch (h.type) {
		case REC_READY:
			c->ready = true;
			break;
		case REC_FAILED:
			c->failed = true;
			bcctl_err("worker %d: %.*s", (int)c->pid, (int)h.len,
				  (const char *)p);
			break;
		case REC_PROGRESS:
			if (h.len == 16) {
				memcpy(&c->prog_ops, p, 8);
				memcpy(&c->prog_errs, p + 8, 8);
			}
			break;
		case REC_RESULT:
			if (h.len < sizeof(c->res))
				break;
			memcpy(&c->res, p, sizeof(c->res));
			if (h.len != sizeof(c->res) +
				     c->res.nerr * sizeof(struct err_count) +
				     c->res.nlat * sizeof(uint64_t)) {
				c->failed = true;
				break;
			}
			c->errs = malloc(c->res.nerr * sizeof(*c->errs) + 1);
			c->lat = malloc(c->res.nlat * sizeof(*c->lat) + 1);
			if (!c->errs || !c->lat) {
				c->failed = true;
				break;
			}
			memcpy(c->errs, p + sizeof(c->res),
			       c->res.nerr * sizeof(*c->errs));
			memcpy(c->lat, p + sizeof(c->res) +
			       c->res.nerr * sizeof(*c->errs),
			       c->res.nlat * sizeof(*c->lat));
			c->done = true;
			break;
		default:
			c->failed = true;
		}
		off += sizeof(h) + h.len;
	}
	memmove(c->buf, c->buf + off, c->len - off);
	c->len -= off;
}

static int read_child(struct child *c)
{
	ssize_t r;

	if (c->cap - c->len < 65536) {
		size_t cap = c->cap ? c->cap * 2 : 131072;
		unsigned char *n = realloc(c->buf, cap);

		if (!n)
			return -ENOMEM;
		c->buf = n;
		c->cap = cap;
	}
	r = read(c->fd, c->buf + c->len, c->cap - c->len);
	if (r < 0)
		return errno == EINTR ? 0 : -errno;
	if (r == 0) {
		c->eof = true;
		return 0;
	}
	c->len += (size_t)r;
	parse_records(c);
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static double pct_us(const uint64_t *v, size_t n, double q)
{
	size_t i;

	if (!n)
		return 0;
	/* Nearest rank. */
	i = (size_t)(q * (double)n + 0.999999);
	if (i < 1)
		i = 1;
	if (i > n)
		i = n;
	return (double)v[i - 1] / 1000.0;
}

static const char bench_help[] =
	"Usage: bcctl bench [--op OP] [--threads N] [--procs M]\n"
	"                   [--duration S] [--key-label L] [--json] [--quiet]\n"
	"                   [--pin-file F | --pin-env VAR | --no-login]\n"
	"                   [--module PATH] [--token LABEL] [DEVICE]\n"
	"Runs OP in a loop from N threads (default 1) in each of M processes\n"
	"(default 1) against one token for S seconds (default 5), through\n"
	"the PKCS#11 module; then prints operations per second, latency\n"
	"percentiles (p50, p99, p99.9) and every error by CKR_* code.  A\n"
	"progress line goes to stderr once a second (not with --quiet).\n"
	"OP:\n"
	"  sign-p256     C_SignInit + C_Sign, CKM_ECDSA, 32-byte digest\n"
	"  sign-p384     the same with a P-384 key and a 48-byte digest\n"
	"  sign-rsa2048  C_SignInit + C_Sign, CKM_SHA256_RSA_PKCS\n"
	"  random        C_GenerateRandom, 32 bytes\n"
	"  noop          C_GetTokenInfo: one chip round trip, no crypto\n"
	"The sign operations use the token key pair labelled L (default\n"
	"bcctl-bench-<type>), made the first time.  They need the user\n"
	"PIN (from --pin-file, --pin-env or a prompt); random and noop log\n"
	"in only when a PIN option is given.\n"
	"Exit status: 0 no errors, 1 any operation failed or the run could\n"
	"not start, 2 usage.\n";

enum { O_PIN_FILE = 256, O_PIN_ENV, O_MODULE, O_TOKEN, O_KEY_LABEL,
       O_NO_LOGIN };

static int parse(int argc, char **argv, struct bench_cfg *cfg)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "op", required_argument, NULL, 'o' },
		{ "threads", required_argument, NULL, 't' },
		{ "procs", required_argument, NULL, 'p' },
		{ "duration", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "pin-file", required_argument, NULL, O_PIN_FILE },
		{ "pin-env", required_argument, NULL, O_PIN_ENV },
		{ "no-login", no_argument, NULL, O_NO_LOGIN },
		{ "module", required_argument, NULL, O_MODULE },
		{ "token", required_argument, NULL, O_TOKEN },
		{ "key-label", required_argument, NULL, O_KEY_LABEL },
		{ NULL, 0, NULL, 0 },
	};
	bool op_set = false, no_login = false;
	char *end;
	long v;
	int c;

	cfg->threads = cfg->procs = 1;
	cfg->duration = 5;
	cfg->op = OP_P256;
	while ((c = getopt_long(argc, argv, "ho:t:p:d:jq", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			fputs(bench_help, stdout);
			return -1;
		case 'o':
			op_set = false;
			for (size_t i = 0; i < sizeof(op_info) /
			     sizeof(op_info[0]); i++)
				if (!strcmp(optarg, op_info[i].name)) {
					cfg->op = (enum bench_op)i;
					op_set = true;
				}
			if (!op_set) {
				bcctl_err("--op: unknown operation '%s'", optarg);
				return EXIT_USAGE;
			}
			break;
		case 't':
		case 'p':
			v = strtol(optarg, &end, 10);
			if (end == optarg || *end || v < 1 ||
			    v > (c == 't' ? MAX_THREADS : MAX_PROCS)) {
				bcctl_err("--%s: 1 to %d", c == 't' ? "threads" :
					  "procs", c == 't' ? MAX_THREADS :
					  MAX_PROCS);
				return EXIT_USAGE;
			}
			if (c == 't')
				cfg->threads = (int)v;
			else
				cfg->procs = (int)v;
			break;
		case 'd':
			cfg->duration = strtod(optarg, &end);
			if (end == optarg || *end || !(cfg->duration > 0) ||
			    cfg->duration > 86400) {
				bcctl_err("--duration: seconds, more than 0");
				return EXIT_USAGE;
			}
			break;
		case 'j': cfg->json = true; break;
		case 'q': cfg->quiet = true; break;
		case O_PIN_FILE: cfg->pin.file = optarg; break;
		case O_PIN_ENV: cfg->pin.env = optarg; break;
		case O_NO_LOGIN: no_login = true; break;
		case O_MODULE: cfg->p11.module = optarg; break;
		case O_TOKEN: cfg->p11.token = optarg; break;
		case O_KEY_LABEL: cfg->key_label = optarg; break;
		default:
			fputs(bench_help, stderr);
			return EXIT_USAGE;
		}
	}
	if (argc - optind > 1) {
		bcctl_err("bench takes at most one DEVICE");
		return EXIT_USAGE;
	}
	if (optind < argc)
		cfg->p11.device = argv[optind];
	if (cfg->pin.file && cfg->pin.env) {
		bcctl_err("a PIN comes from a file or a variable, not both");
		return EXIT_USAGE;
	}
	if (!op_info[cfg->op].key_label)
		cfg->key_label = NULL;
	else if (!cfg->key_label)
		cfg->key_label = op_info[cfg->op].key_label;
	if (cfg->key_label && no_login) {
		bcctl_err("--no-login: signing needs the user logged in");
		return EXIT_USAGE;
	}
	cfg->have_pin = !no_login && (cfg->key_label || cfg->pin.file ||
				      cfg->pin.env);
	return 0;
}

static void report(const struct bench_cfg *cfg, struct child *ch,
		   uint64_t ops, uint64_t errors, double secs,
		   uint64_t *lat, size_t nlat)
{
	struct err_count all[MAX_ERRS * 4];
	const int max_all = (int)(sizeof(all) / sizeof(all[0]));
	int nall = 0;
	double rate = secs > 0 ? (double)ops / secs : 0;

	for (int i = 0; i < cfg->procs; i++)
		for (uint32_t k = 0; k < ch[i].res.nerr; k++) {
			int j;

			for (j = 0; j < nall; j++)
				if (all[j].rv == ch[i].errs[k].rv)
					break;
			if (j == nall && nall >= max_all - 1) {
				/* Full: into the one "other" bucket. */
				for (j = 0; j < nall; j++)
					if (all[j].rv == RV_OTHER)
						break;
				if (j == nall)
					all[nall++] = (struct err_count){
						RV_OTHER, 0 };
			} else if (j == nall) {
				all[nall++] = (struct err_count){
					ch[i].errs[k].rv, 0 };
			}
			all[j].count += ch[i].errs[k].count;
		}
	if (cfg->json) {
		struct json j;

		json_init(&j, stdout);
		json_obj_begin(&j, NULL);
		json_str(&j, "op", op_info[cfg->op].name);
		json_u64(&j, "threads", (uint64_t)cfg->threads);
		json_u64(&j, "procs", (uint64_t)cfg->procs);
		json_dbl(&j, "seconds", secs);
		json_u64(&j, "ops", ops);
		json_dbl(&j, "ops_per_sec", rate);
		json_obj_begin(&j, "latency_us");
		json_dbl(&j, "p50", pct_us(lat, nlat, 0.50));
		json_dbl(&j, "p99", pct_us(lat, nlat, 0.99));
		json_dbl(&j, "p99.9", pct_us(lat, nlat, 0.999));
		json_dbl(&j, "max", nlat ? (double)lat[nlat - 1] / 1000 : 0);
		json_obj_end(&j);
		json_u64(&j, "errors", errors);
		json_obj_begin(&j, "errors_by_code");
		for (int i = 0; i < nall; i++)
			json_u64(&j, all[i].rv == RV_OTHER ? "other" :
				 bcctl_ckr_name((CK_RV)all[i].rv),
				 all[i].count);
		json_obj_end(&j);
		json_obj_end(&j);
		return;
	}
	printf("op:          %s, %d thread%s x %d process%s, %.1f s\n",
	       op_info[cfg->op].name, cfg->threads,
	       cfg->threads == 1 ? "" : "s", cfg->procs,
	       cfg->procs == 1 ? "" : "es", secs);
	printf("operations:  %llu (%.1f/s)\n", (unsigned long long)ops, rate);
	printf("latency:     p50 %.0f us, p99 %.0f us, p99.9 %.0f us, "
	       "max %.0f us\n", pct_us(lat, nlat, 0.50),
	       pct_us(lat, nlat, 0.99), pct_us(lat, nlat, 0.999),
	       nlat ? (double)lat[nlat - 1] / 1000 : 0.0);
	printf("errors:      %llu\n", (unsigned long long)errors);
	for (int i = 0; i < nall; i++)
		printf("  %-32s %llu\n", all[i].rv == RV_OTHER ? "other" :
		       bcctl_ckr_name((CK_RV)all[i].rv),
		       (unsigned long long)all[i].count);
}

int cmd_bench(int argc, char **argv)
{
	struct bench_cfg cfg;
	struct child ch[MAX_PROCS];
	struct bcctl_p11 p;
	int go[2] = { -1, -1 }, ret, nch = 0, status = EXIT_OK;
	uint64_t ops = 0, errors = 0, *lat = NULL;
	size_t nlat = 0;
	double secs = 0, t0, next_prog;
	bool tty = isatty(STDERR_FILENO);

	memset(&cfg, 0, sizeof(cfg));
	memset(ch, 0, sizeof(ch));
	ret = parse(argc, argv, &cfg);
	if (ret)
		return ret < 0 ? EXIT_OK : ret;
	ret = bcctl_p11_open(&p, &cfg.p11, cfg.have_pin);
	if (ret)
		return ret;
	if (cfg.have_pin) {
		cfg.pin_len = bcctl_read_pin(&cfg.pin, "user PIN", false,
					     cfg.pin_buf, sizeof(cfg.pin_buf));
		if (cfg.pin_len < 0) {
			status = EXIT_ERR;
			goto out;
		}
	}
	if (prepare(&p, &cfg)) {
		status = EXIT_ERR;
		goto out;
	}
	if (pipe2(go, O_CLOEXEC)) {
		bcctl_err("pipe: %s", strerror(errno));
		status = EXIT_ERR;
		goto out;
	}
	fflush(NULL);
	for (int i = 0; i < cfg.procs; i++) {
		int fds[2];

		if (pipe2(fds, O_CLOEXEC)) {
			bcctl_err("pipe: %s", strerror(errno));
			status = EXIT_ERR;
			break;
		}
		ch[i].pid = fork();
		if (ch[i].pid < 0) {
			bcctl_err("fork: %s", strerror(errno));
			close(fds[0]);
			close(fds[1]);
			status = EXIT_ERR;
			break;
		}
		if (ch[i].pid == 0) {
			int r;

			close(fds[0]);
			close(go[1]);
			for (int k = 0; k < i; k++)
				close(ch[k].fd);
			r = worker(&p, &cfg, fds[1], go[0]);
			bcctl_wipe(cfg.pin_buf, sizeof(cfg.pin_buf));
			bcctl_p11_close(&p);
			_exit(r);
		}
		close(fds[1]);
		ch[i].fd = fds[0];
		nch++;
	}
	close(go[0]);
	go[0] = -1;
	bcctl_wipe(cfg.pin_buf, sizeof(cfg.pin_buf));
	/* Wait for every worker to be ready (or to fail). */
	for (;;) {
		struct pollfd pfd[MAX_PROCS];
		int n = 0, ready = 0, gone = 0;

		for (int i = 0; i < nch; i++) {
			if (ch[i].ready)
				ready++;
			if (ch[i].failed || ch[i].eof)
				gone++;
		}
		if (ready + gone >= nch)
			break;
		for (int i = 0; i < nch; i++) {
			pfd[n].fd = ch[i].fd;
			pfd[n].events = POLLIN;
			n++;
		}
		if (poll(pfd, (nfds_t)n, 30000) <= 0) {
			bcctl_err("workers did not get ready");
			status = EXIT_ERR;
			break;
		}
		for (int i = 0; i < nch; i++)
			if (pfd[i].revents && read_child(&ch[i]))
				status = EXIT_ERR;
	}
	for (int i = 0; i < nch; i++)
		if (!ch[i].ready)
			status = EXIT_ERR;
	/* One worker could not start: the run would not measure what was
	 * asked, so the others are not left to run for nothing. */
	if (status != EXIT_OK)
		for (int i = 0; i < nch; i++)
			kill(ch[i].pid, SIGTERM);
	/* Start (or, on failure, release) them all at once. */
	close(go[1]);
	go[1] = -1;
	t0 = mono();
	/* Just after the workers' own once-a-second reports. */
	next_prog = t0 + 1.2;
	for (;;) {
		struct pollfd pfd[MAX_PROCS];
		int n = 0, open_ = 0;
		double now = mono();

		for (int i = 0; i < nch; i++)
			if (!ch[i].eof)
				open_++;
		if (!open_)
			break;
		for (int i = 0; i < nch; i++) {
			pfd[i].fd = ch[i].eof ? -1 : ch[i].fd;
			pfd[i].events = POLLIN;
			n++;
		}
		if (poll(pfd, (nfds_t)n, (int)((next_prog - now) * 1000) + 1) <
		    0 && errno != EINTR) {
			bcctl_err("poll: %s", strerror(errno));
			status = EXIT_ERR;
			break;
		}
		for (int i = 0; i < nch; i++)
			if (pfd[i].revents && read_child(&ch[i]))
				status = EXIT_ERR;
		now = mono();
		if (now >= next_prog) {
			uint64_t o = 0, e = 0;

			for (int i = 0; i < nch; i++) {
				o += ch[i].done ? ch[i].res.ops : ch[i].prog_ops;
				e += ch[i].done ? ch[i].res.errors :
				     ch[i].prog_errs;
			}
			if (!cfg.quiet && status == EXIT_OK)
				fprintf(stderr, "bench: %.0f/%.0f s, %llu ops, "
					"%.0f ops/s, %llu errors%s",
					now - t0 < cfg.duration ? now - t0 :
					cfg.duration, cfg.duration,
					(unsigned long long)o,
					(double)o / (now - t0),
					(unsigned long long)e,
					tty ? "   \r" : "\n");
			next_prog += 1;
		}
	}
	if (!cfg.quiet && tty)
		fputc('\n', stderr);
	for (int i = 0; i < nch; i++) {
		int st;

		while (waitpid(ch[i].pid, &st, 0) < 0 && errno == EINTR)
			;
		if (!WIFEXITED(st) || WEXITSTATUS(st) || !ch[i].done) {
			if (!ch[i].failed)
				bcctl_err("worker %d failed", (int)ch[i].pid);
			status = EXIT_ERR;
		}
	}
	if (status == EXIT_OK) {
		for (int i = 0; i < nch; i++)
			nlat += ch[i].res.nlat;
		lat = malloc(nlat * sizeof(*lat) + 1);
		if (!lat) {
			bcctl_err("out of memory");
			status = EXIT_ERR;
			goto out;
		}
		nlat = 0;
		for (int i = 0; i < nch; i++) {
			memcpy(lat + nlat, ch[i].lat,
			       ch[i].res.nlat * sizeof(*lat));
			nlat += ch[i].res.nlat;
			ops += ch[i].res.ops;
			errors += ch[i].res.errors;
			if (ch[i].res.seconds > secs)
				secs = ch[i].res.seconds;
		}
		qsort(lat, nlat, sizeof(*lat), cmp_u64);
		report(&cfg, ch, ops, errors, secs, lat, nlat);
		if (errors)
			status = EXIT_ERR;
	}
out:
	for (int i = 0; i < nch; i++) {
		close(ch[i].fd);
		free(ch[i].buf);
		free(ch[i].errs);
		free(ch[i].lat);
	}
	if (go[0] >= 0)
		close(go[0]);
	if (go[1] >= 0)
		close(go[1]);
	free(lat);
	bcctl_wipe(cfg.pin_buf, sizeof(cfg.pin_buf));
	bcctl_p11_close(&p);
	return status;
}
