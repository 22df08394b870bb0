// SPDX-License-Identifier: GPL-2.0
/*
 * A structured fuzzer for the char device: worker processes drive random
 * but well-typed sequences of open, close, dup and fork, and BCCHIP_IOC_INFO
 * and BCCHIP_IOC_CMD with random struct sizes, pointers (NULL, unmapped,
 * misaligned, read-only, stalled by userfaultfd), flags, reserved fields,
 * timeouts, generations and frames whose lengths sit on every boundary,
 * while a chaos process resets chip 1 through sysfs, unbinds and binds
 * it, and asks for status and attestation refreshes over netlink.
 *
 * Oracles: every errno is one docs/ioctl.md lists for that call; a
 * successful command's response fits the buffer (guard bytes intact) and
 * is a frame; an ECHO gives back its payload; no worker dies; afterwards
 * both chips are LIVE, answer, and hold no more sessions than before.
 *
 * Runs as root.  BCCHIP_FUZZ_SECONDS (default 60), BCCHIP_FUZZ_SEED
 * (default: from the clock, printed), BCCHIP_FUZZ_WORKERS (default 4).
 * The same seed gives every worker the same sequence of choices again
 * (timing, and so the interleaving, differs).  A worker that fails
 * prints its last operations.  Ends with `N passed, N failed`.
 */
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bcchip_chip_util.h"

#define MAX_WORKERS	16
#define SLOTS		8
#define HISTORY		32
#define GUARD		64
#define FUZZ_CHIPS	2

static unsigned int passed, failed;

static void result(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s ", ok ? "ok" : "not ok");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	if (ok)
		passed++;
	else
		failed++;
}

/* xorshift64*: each worker's own, from the seed */
static uint64_t rnd_state;

static uint64_t rnd(void)
{
	rnd_state ^= rnd_state >> 12;
	rnd_state ^= rnd_state << 25;
	rnd_state ^= rnd_state >> 27;
	return rnd_state * 0x2545F4914F6CDD1DULL;
}

static uint32_t below(uint32_t n)
{
	return n ? (uint32_t)(rnd() % n) : 0;
}

/* What the workers share with the parent (MAP_SHARED). */
struct worker_log {
	unsigned long ops, infos, cmds, cmd_ok, opens, forks, sessions;
	unsigned long unexpected;	/* oracle violations */
	unsigned int next;
	char last[HISTORY][96];
};

static struct worker_log *wlog;

/* a worker and its forked children count into the same shared log */
#define COUNT(field)	__atomic_fetch_add(&wlog->field, 1, __ATOMIC_RELAXED)

static void note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(wlog->last[__atomic_fetch_add(&wlog->next, 1,
						 __ATOMIC_RELAXED) % HISTORY],
		  sizeof(wlog->last[0]), fmt, ap);
	va_end(ap);
}

static void violation(const char *fmt, ...)
{
	char msg[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	COUNT(unexpected);
	note("VIOLATION %s", msg);
	fprintf(stderr, "# pid %d: %s\n", getpid(), msg);
}

/* Whether any of @n bytes at @p is not zero. */
static bool memchr_inv(const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n--)
		if (*b++)
			return true;
	return false;
}

/* ---- memory the pointers are drawn from ---- */

struct arena {
	uint8_t *buf;		/* max_frame + GUARD, read-write */
	uint8_t *ro;		/* one read-only page */
	uint8_t *hole;		/* an address with nothing mapped */
	uint8_t *stall;		/* two pages that fault to userfaultfd */
	long page;
	size_t buf_size;
};

static struct arena A;
static int uffd = -1;

/* Resolves the stall region's faults after a random pause. */
static void *uffd_server(void *arg)
{
	struct uffd_msg msg;
	struct pollfd p = { .fd = uffd, .events = POLLIN };
	unsigned int seed = (unsigned int)(uintptr_t)arg;

	for (;;) {
		struct uffdio_zeropage z;

		if (poll(&p, 1, -1) < 0 && errno != EINTR)
			return NULL;
		if (read(uffd, &msg, sizeof(msg)) != sizeof(msg))
			continue;
		if (msg.event != UFFD_EVENT_PAGEFAULT)
			continue;
		/* mostly short, now and then long enough to meet a reset */
		usleep(rand_r(&seed) % 8 ? 1000 * (rand_r(&seed) % 100) :
					   1000 * (500 + rand_r(&seed) % 2000));
		z.range.start = msg.arg.pagefault.address & ~(uint64_t)(A.page - 1);
		z.range.len = A.page;
		z.mode = 0;
		ioctl(uffd, UFFDIO_ZEROPAGE, &z);
	}
	return NULL;
}

static int arena_init(uint32_t max_frame)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg;
	pthread_t th;

	A.page = sysconf(_SC_PAGESIZE);
	A.buf_size = max_frame + GUARD;
	A.buf = malloc(A.buf_size);
	A.ro = mmap(NULL, A.page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	A.hole = mmap(NULL, A.page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	A.stall = mmap(NULL, 2 * A.page, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!A.buf || A.ro == MAP_FAILED || A.hole == MAP_FAILED ||
	    A.stall == MAP_FAILED)
		return -1;
	munmap(A.hole, A.page);
	uffd = syscall(__NR_userfaultfd, O_CLOEXEC);
	if (uffd < 0 || ioctl(uffd, UFFDIO_API, &api))
		goto no_uffd;
	reg.range.start = (uintptr_t)A.stall;
	reg.range.len = 2 * A.page;
	reg.mode = UFFDIO_REGISTER_MODE_MISSING;
	if (ioctl(uffd, UFFDIO_REGISTER, &reg) ||
	    pthread_create(&th, NULL, uffd_server,
			   (void *)(uintptr_t)(unsigned int)rnd()))
		goto no_uffd;
	pthread_detach(th);
	return 0;
no_uffd:
	/* without userfaultfd the region is plain memory: say so */
	fprintf(stderr, "# pid %d: no userfaultfd (%s): stalls are plain memory\n",
		getpid(), strerror(errno));
	if (uffd >= 0)
		close(uffd);
	uffd = -1;
	return 0;
}

/* A user pointer of a random kind, for @len bytes the kernel reads or writes. */
static void *pick_ptr(uint32_t len, bool *valid_rw, const char **kind)
{
	*valid_rw = false;
	switch (below(16)) {
	case 0:
		*kind = "null";
		return NULL;
	case 1:
		*kind = "hole";
		return A.hole;
	case 2:
		*kind = "ro";
		return A.ro;
	case 3:
		*kind = "stall";
		madvise(A.stall, 2 * A.page, MADV_DONTNEED);
		return A.stall + below(A.page);
	case 4:
		*kind = "kernel";
		return (void *)(uintptr_t)0xffff888000000000ULL;
	case 5:
		*kind = "misaligned";
		*valid_rw = len + 1 <= A.buf_size - GUARD;
		return A.buf + 1;
	default:
		*kind = "buf";
		*valid_rw = true;
		return A.buf;
	}
}

/* ---- what is fuzzed ---- */

static int fds[SLOTS];
static bool fd_rdonly[SLOTS];
static uint32_t max_frame = BT_MAX_FRAME;

/*
 * Opcodes this fuzzer does not send, because their effect outlasts the
 * run and the tests after it depend on the token: PINs (a lockout),
 * anything that creates, changes or destroys token objects (the key store
 * the other suites check), and the admin diagnostics that hold engines or
 * move the chip's clock.  The driver only looks at a frame's header, so
 * leaving these out costs the driver no coverage.
 */
static bool excluded(uint16_t op)
{
	switch (op) {
	case BCFW_OP_INIT_TOKEN:
	case BCFW_OP_INIT_PIN:
	case BCFW_OP_SET_PIN:
	case BCFW_OP_LOGIN:
	case BCFW_OP_CREATE_OBJECT:
	case BCFW_OP_COPY_OBJECT:
	case BCFW_OP_DESTROY_OBJECT:
	case BCFW_OP_SET_ATTRIBUTES:
	case BCFW_OP_GENERATE_KEY:
	case BCFW_OP_GENERATE_KEY_PAIR:
	case BCFW_OP_UNWRAP_KEY:
	case BCFW_OP_DERIVE_KEY:
		return true;
	default:
		return op >= 0x8000 && op != BCFW_OP_ATTEST_REFRESH;
	}
}

static const uint16_t known_ops[] = {
	BCFW_OP_GET_INFO, BCFW_OP_ECHO, BCFW_OP_RANDOM, BCFW_OP_SESSION_OPEN,
	BCFW_OP_SESSION_CLOSE, BCFW_OP_TOKEN_INFO, BCFW_OP_LOGOUT,
	BCFW_OP_MECH_LIST, BCFW_OP_MECH_INFO, BCFW_OP_GET_ATTRIBUTES,
	BCFW_OP_FIND_OBJECTS, BCFW_OP_SIGN_INIT, BCFW_OP_SIGN,
	BCFW_OP_DIGEST_INIT, BCFW_OP_DIGEST, BCFW_OP_CANCEL,
	BCFW_OP_ATTEST_STATUS, BCFW_OP_ATTEST_CHAIN, BCFW_OP_CLIENT_CLOSE,
	BCFW_OP_ATTEST_REFRESH,
};

static uint16_t pick_opcode(void)
{
	uint16_t op;

	if (below(4))
		op = known_ops[below(sizeof(known_ops) / sizeof(known_ops[0]))];
	else
		op = (uint16_t)rnd();
	return excluded(op) ? BCFW_OP_ECHO : op;
}

/* A length on or next to a boundary, or anything. */
static uint32_t pick_len(void)
{
	const uint32_t edges[] = {
		0, 1, BCFW_HDR_SIZE - 1, BCFW_HDR_SIZE, BCFW_HDR_SIZE + 1,
		BCFW_HDR_SIZE + 4, max_frame - 1, max_frame, max_frame + 1,
		1u << 31, UINT32_MAX, 4096, 4097,
	};

	if (below(3))
		return edges[below(sizeof(edges) / sizeof(edges[0]))];
	return below(max_frame + 2);
}

static bool errno_allowed_cmd(int e)
{
	switch (e) {
	case EINVAL: case EFAULT: case E2BIG: case ESTALE: case EMSGSIZE:
	case EPERM: case ETIMEDOUT: case EINTR: case EIO: case ECANCELED:
	case EAGAIN: case ENODEV: case ENOMEM: case EBADF:
		return true;
	default:
		return false;
	}
}

static bool errno_allowed_info(int e)
{
	switch (e) {
	case EINVAL: case EFAULT: case E2BIG: case ENODEV: case EBADF:
	case EINTR:
		return true;
	default:
		return false;
	}
}

static int pick_fd(bool *rdonly)
{
	int slot = below(SLOTS);

	*rdonly = fd_rdonly[slot];
	/* now and then one that is not ours, or no fd at all */
	return below(50) ? fds[slot] : (below(2) ? -1 : 1000);
}

static uint32_t pick_struct_size(uint32_t real)
{
	switch (below(10)) {
	case 0:
		return 0;
	case 1:
		return real - 8;
	case 2:
		return real + 8;
	case 3:
		return below(_IOC_SIZEMASK + 1);
	default:
		return real;
	}
}

static void do_info(void)
{
	uint8_t raw[sizeof(struct bcchip_ioc_info) + 64];
	struct bcchip_ioc_info *in = (void *)raw;
	uint32_t size = pick_struct_size(sizeof(*in));
	void *arg = raw;
	const char *kind = "struct";
	bool rw = true, rdonly, bad;
	int fd = pick_fd(&rdonly), ret;

	memset(raw, 0, sizeof(raw));
	if (!below(6))
		in->flags = (uint32_t)rnd();
	if (!below(6))
		in->reserved[below(4)] = rnd();
	if (!below(6))
		raw[sizeof(*in) + below(8)] = 1;	/* a tail past the struct */
	if (size > sizeof(raw) || !below(8))
		arg = pick_ptr(size, &rw, &kind);
	(void)rdonly;
	/* what the driver must refuse, decided before it can change it */
	bad = size < sizeof(*in) || in->flags ||
	      memchr_inv(in->reserved, sizeof(in->reserved)) ||
	      (size > sizeof(*in) &&
	       memchr_inv(raw + sizeof(*in), size - sizeof(*in)));
	note("INFO fd %d size %u %s flags %#x", fd, size, kind, in->flags);
	ret = ioctl(fd, _IOC(_IOC_READ | _IOC_WRITE, BCCHIP_IOC_MAGIC,
			     _IOC_NR(BCCHIP_IOC_INFO), size), arg);
	COUNT(infos);
	if (ret < 0 && !errno_allowed_info(errno))
		violation("INFO size %u %s: errno %d (%s)", size, kind, errno,
			  strerror(errno));
	if (!ret && arg == raw && in->abi_version != BCCHIP_ABI_VERSION)
		violation("INFO succeeded with abi_version %u", in->abi_version);
	if (!ret && arg == raw && bad)
		violation("INFO size %u succeeded with bad fields", size);
}

/* The frame's opcode class, as the driver classifies it. */
static bool is_host(uint16_t op)
{
	return op >= 0x4000 && op < 0x8000;
}

static void do_cmd(void)
{
	uint8_t raw[sizeof(struct bcchip_ioc_cmd) + 64];
	struct bcchip_ioc_cmd *c = (void *)raw;
	uint32_t size = pick_struct_size(sizeof(*c));
	uint32_t req_len = pick_len(), body, cap, i, hdr_len;
	uint8_t *req, *resp, fill = (uint8_t)rnd();
	const char *rk = "buf", *sk = "resp", *ak = "struct";
	bool req_ok = true, resp_ok = true, arg_ok = true, rdonly, bad;
	bool echo, magic_ok = true;
	uint16_t op = pick_opcode();
	void *arg = raw;
	int fd = pick_fd(&rdonly), ret;
	static uint8_t respbuf[BT_MAX_FRAME * 2 + GUARD];

	memset(raw, 0, sizeof(raw));
	/* the request: a frame in A.buf, its header on or off the length */
	req = A.buf;
	body = req_len > BCFW_HDR_SIZE && req_len <= max_frame ?
	       req_len - BCFW_HDR_SIZE : 0;
	bt_frame(req, op, below(4) ? 0 : (uint32_t)rnd(), NULL, 0);
	/* a body each byte of which an ECHO must give back */
	for (i = 0; i < body; i++)
		req[BCFW_HDR_SIZE + i] = (uint8_t)(fill + i * 31);
	if (op == BCFW_OP_SESSION_OPEN && below(2)) {
		/* a well-formed one: the session must go with its file */
		memset(req + BCFW_HDR_SIZE, 0, 8);
		req[BCFW_HDR_SIZE] = (uint8_t)below(2);
		req_len = BCFW_HDR_SIZE + 8;
		body = 8;
	}
	hdr_len = below(6) ? req_len : pick_len();
	bt_put_le32(req + 8, hdr_len);
	if (!below(10)) {
		bt_put_le32(req, (uint32_t)rnd());		/* magic */
		magic_ok = bt_get_le32(req) == BCFW_MAGIC;
	}
	if (!below(10))
		req[4] = (uint8_t)rnd();			/* version */
	echo = op == BCFW_OP_ECHO;
	if (!below(8))
		req = pick_ptr(req_len, &req_ok, &rk);

	/* the response buffer: a pattern, then guard bytes after it */
	cap = below(3) ? max_frame : pick_len();
	resp = respbuf;
	if (cap > sizeof(respbuf) - GUARD || !below(8)) {
		resp = pick_ptr(cap, &resp_ok, &sk);
		if (resp == A.buf || resp == A.buf + 1)
			resp_ok = false;	/* it is the request */
	}
	if (resp == respbuf) {
		memset(respbuf, 0x5c, cap);
		memset(respbuf + cap, 0xa5, GUARD);
	}

	c->req_len = req_len;
	c->req_ptr = (uintptr_t)req;
	c->resp_ptr = (uintptr_t)resp;
	c->resp_len = cap;
	switch (below(10)) {
	case 0:
		c->timeout_ms = (uint32_t)rnd();
		break;
	case 1:
		c->timeout_ms = below(2) ? BCCHIP_CMD_TIMEOUT_MIN_MS - 1 :
					   BCCHIP_CMD_TIMEOUT_MAX_MS + 1;
		break;
	case 2:
		c->timeout_ms = below(2) ? BCCHIP_CMD_TIMEOUT_MIN_MS :
					   BCCHIP_CMD_TIMEOUT_MAX_MS;
		break;
	case 3:
		c->timeout_ms = 0;	/* the driver's default */
		break;
	default:
		c->timeout_ms = 2000;
	}
	if (!below(6)) {
		struct bcchip_ioc_info in;

		memset(&in, 0, sizeof(in));
		/* the current generation, the one before, or anything */
		c->generation = (uint32_t)rnd();
		if (below(3) && !ioctl(fd, BCCHIP_IOC_INFO, &in))
			c->generation = in.generation - below(2);
	}
	if (!below(10))
		c->flags = (uint32_t)rnd();
	if (!below(10))
		c->reserved[below(2)] = rnd();
	if (!below(10))
		raw[sizeof(*c) + below(8)] = 1;
	if (size > sizeof(raw) || !below(10))
		arg = pick_ptr(size, &arg_ok, &ak);
	/* what the driver must refuse, whatever else happens */
	bad = size < sizeof(*c) || c->flags ||
	      memchr_inv(c->reserved, sizeof(c->reserved)) ||
	      (size > sizeof(*c) &&
	       memchr_inv(raw + sizeof(*c), size - sizeof(*c))) ||
	      req_len < BCFW_HDR_SIZE || req_len > max_frame ||
	      cap < BCFW_HDR_SIZE || (req == A.buf && !magic_ok) ||
	      (req == A.buf && hdr_len != req_len) ||
	      (c->timeout_ms && (c->timeout_ms < BCCHIP_CMD_TIMEOUT_MIN_MS ||
				 c->timeout_ms > BCCHIP_CMD_TIMEOUT_MAX_MS)) ||
	      (req == A.buf && is_host(op)) ||
	      (req == A.buf && op >= 0x8000 && rdonly);

	note("CMD fd %d size %u op %#x req %u/%s resp %u/%s to %u gen %u %s",
	     fd, size, op, req_len, rk, cap, sk, c->timeout_ms, c->generation,
	     ak);
	ret = ioctl(fd, _IOC(_IOC_READ | _IOC_WRITE, BCCHIP_IOC_MAGIC,
			     _IOC_NR(BCCHIP_IOC_CMD), size), arg);
	COUNT(cmds);
	if (ret < 0) {
		int e = errno;

		if (!errno_allowed_cmd(e))
			violation("CMD op %#x: errno %d (%s)", op, e, strerror(e));
		if (e == EPERM && arg == raw && req == A.buf && !is_host(op) &&
		    !(op >= 0x8000 && rdonly) && op < 0x8000)
			violation("CMD op %#x: EPERM for a user-class opcode", op);
		if (e == EMSGSIZE && arg == raw &&
		    (c->resp_len <= (cap < max_frame ? cap : max_frame) ||
		     c->resp_len > max_frame))
			violation("CMD op %#x: EMSGSIZE with %u needed for %u",
				  op, c->resp_len, cap);
		if (resp == respbuf)
			for (i = 0; i < GUARD; i++)
				if (respbuf[cap + i] != 0xa5) {
					violation("CMD op %#x failed (%d) but wrote past its %u-byte buffer",
						  op, e, cap);
					break;
				}
		return;
	}
	COUNT(cmd_ok);
	if (op == BCFW_OP_SESSION_OPEN && arg == raw && c->fw_status == BCFW_S_OK)
		COUNT(sessions);
	if (arg == raw && bad)
		violation("CMD op %#x size %u: succeeded with fields it must refuse",
			  op, size);
	if (arg != raw)
		return;
	if (!resp_ok || !req_ok) {
		/* a command may run with a bad response pointer, not succeed */
		if (resp == NULL || resp == A.hole || resp == A.ro ||
		    (uintptr_t)resp >= 0xffff800000000000ULL)
			violation("CMD op %#x succeeded with response buffer %s",
				  op, sk);
		return;
	}
	if (c->resp_len > cap || c->resp_len < BCFW_HDR_SIZE) {
		violation("CMD op %#x: resp_len %u for a %u-byte buffer", op,
			  c->resp_len, cap);
		return;
	}
	if (resp == respbuf && bt_get_le32(respbuf) != BCFW_MAGIC)
		violation("CMD op %#x: response without the frame magic", op);
	if (resp == respbuf)
		for (i = 0; i < GUARD; i++)
			if (respbuf[cap + i] != 0xa5) {
				violation("CMD op %#x: %u-byte buffer written past its end",
					  op, cap);
				break;
			}
	if (echo && c->fw_status == BCFW_S_OK && resp == respbuf &&
	    req == A.buf) {
		if (c->resp_len != req_len)
			violation("ECHO of %u bytes answered with %u", req_len,
				  c->resp_len);
		else if (memcmp(respbuf + BCFW_HDR_SIZE, A.buf + BCFW_HDR_SIZE,
				body))
			violation("ECHO answered with another body (%u bytes)",
				  body);
	}
}

static void do_open(void)
{
	int slot = below(SLOTS), flags, fd;
	const char *path = bt_chip_dev(below(FUZZ_CHIPS));

	flags = below(4) ? O_RDWR : O_RDONLY;
	if (!below(4))
		flags |= O_NONBLOCK;
	fd = open(path, flags | O_CLOEXEC);
	note("open %s %#x -> %d", path, flags, fd < 0 ? -errno : fd);
	COUNT(opens);
	if (fd < 0) {
		/* unbound (no node), or removed between lookup and open */
		if (errno != ENOENT && errno != ENODEV && errno != ENXIO &&
		    errno != EMFILE && errno != ENOMEM)
			violation("open %s: errno %d (%s)", path, errno,
				  strerror(errno));
		return;
	}
	if (fds[slot] >= 0)
		close(fds[slot]);
	fds[slot] = fd;
	fd_rdonly[slot] = (flags & O_ACCMODE) == O_RDONLY;
}

static void do_close(void)
{
	int slot = below(SLOTS);

	note("close slot %d fd %d", slot, fds[slot]);
	if (fds[slot] >= 0)
		close(fds[slot]);
	fds[slot] = -1;
}

static void do_dup(void)
{
	int from = below(SLOTS), to = below(SLOTS), fd;

	if (fds[from] < 0 || from == to)
		return;
	fd = fcntl(fds[from], F_DUPFD_CLOEXEC, 0);
	note("dup slot %d -> %d: %d", from, to, fd);
	if (fd < 0)
		return;
	if (fds[to] >= 0)
		close(fds[to]);
	fds[to] = fd;
	fd_rdonly[to] = fd_rdonly[from];
}

static void one_op(void);

/* A child with the files inherited: a few operations, then it exits or
 * is killed in the middle of one. */
static void do_fork(void)
{
	uint64_t child_seed = rnd();
	int status, kill_after = below(3) ? -1 : (int)below(50);
	pid_t pid;

	COUNT(forks);
	note("fork%s", kill_after >= 0 ? " (killed)" : "");
	pid = fork();
	if (pid < 0)
		return;
	if (pid == 0) {
		int n = 1 + below(5);

		rnd_state = child_seed | 1;
		while (n--)
			one_op();
		_exit(0);
	}
	if (kill_after >= 0) {
		usleep(1000 * kill_after);
		kill(pid, SIGKILL);
	}
	if (waitpid(pid, &status, 0) == pid && WIFSIGNALED(status) &&
	    WTERMSIG(status) != SIGKILL)
		violation("forked child died of signal %d", WTERMSIG(status));
}

static void one_op(void)
{
	uint32_t r = below(100);

	COUNT(ops);
	if (r < 8)
		do_open();
	else if (r < 12)
		do_close();
	else if (r < 14)
		do_dup();
	else if (r < 16)
		do_fork();
	else if (r < 36)
		do_info();
	else
		do_cmd();
}

static void worker(uint64_t seed, double end)
{
	int i;

	rnd_state = seed | 1;
	for (i = 0; i < SLOTS; i++)
		fds[i] = -1;
	/* userfaultfd servers are per process: the worker's own */
	if (arena_init(max_frame))
		_exit(3);
	while (bt_now() < end)
		one_op();
	for (i = 0; i < SLOTS; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	_exit(0);
}

/* ---- chaos on chip 1 ---- */

static bool chip_bound(const char *pci)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/bus/pci/drivers/bcchip/%s", pci);
	return access(path, F_OK) == 0;
}

static void chaos(const char *pci, double end, unsigned long counts[4])
{
	while (bt_now() < end - 2) {
		usleep(1000 * (1000 + below(2000)));
		/* what took effect is counted, not what was tried */
		switch (below(4)) {
		case 0:
			counts[0] += !bt_attr_write(1, "reset", "1");
			break;
		case 1:
			if (!bt_write_file("/sys/bus/pci/drivers/bcchip/unbind", pci)) {
				usleep(1000 * below(800));
				counts[1] += !bt_write_file("/sys/bus/pci/drivers/bcchip/bind",
							  pci);
			}
			break;
		case 2:
			counts[2] += system("bcctl status >/dev/null 2>&1") == 0;
			break;
		default:
			counts[3] += system("bcctl attestation refresh 1 >/dev/null 2>&1") == 0;
		}
	}
	if (!chip_bound(pci))
		bt_write_file("/sys/bus/pci/drivers/bcchip/bind", pci);
}

/* Waits for @pid until @deadline, then kills it; whether it ended by itself. */
static bool reaped(pid_t pid, double deadline, int *status)
{
	while (bt_now() < deadline) {
		pid_t r = waitpid(pid, status, WNOHANG);

		if (r == pid)
			return true;
		if (r < 0)
			return false;
		usleep(100 * 1000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, status, 0);
	return false;
}

static long sessions(int chip)
{
	return bt_attr_num(chip, "sessions_in_use");
}

int main(void)
{
	const char *s = getenv("BCCHIP_FUZZ_SECONDS");
	double secs = s ? atof(s) : 60, end;
	int nworkers = getenv("BCCHIP_FUZZ_WORKERS") ?
		       atoi(getenv("BCCHIP_FUZZ_WORKERS")) : 4;
	uint64_t seed = getenv("BCCHIP_FUZZ_SEED") ?
			strtoull(getenv("BCCHIP_FUZZ_SEED"), NULL, 0) :
			(uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	unsigned long chaos_counts[4] = { 0 }, ops = 0, cmds = 0, ok = 0,
		      bad = 0, forks = 0;
	struct bcchip_ioc_info info;
	pid_t pids[MAX_WORKERS];
	long before[FUZZ_CHIPS], after;
	char pci[32];
	int i, fd, status;
	double t;

	/* the seed must reach the log before anything can crash */
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (nworkers < 1 || nworkers > MAX_WORKERS)
		nworkers = 4;
	printf("# seed %#llx, %d workers, %.0f s (replay: BCCHIP_FUZZ_SEED=%#llx)\n",
	       (unsigned long long)seed, nworkers, secs,
	       (unsigned long long)seed);
	memset(&info, 0, sizeof(info));
	fd = bt_wait_open(bt_chip_dev(0), 10);
	if (fd < 0 || ioctl(fd, BCCHIP_IOC_INFO, &info) || bt_chip_pci(1, pci, sizeof(pci))) {
		result(false, "set-up: chips 0 and 1 present");
		printf("%u passed, %u failed\n", passed, failed);
		return 1;
	}
	max_frame = info.max_frame <= BT_MAX_FRAME ? info.max_frame : BT_MAX_FRAME;
	close(fd);
	for (i = 0; i < FUZZ_CHIPS; i++)
		before[i] = sessions(i);

	wlog = mmap(NULL, nworkers * sizeof(*wlog), PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (wlog == MAP_FAILED)
		return 1;
	memset(wlog, 0, nworkers * sizeof(*wlog));
	struct worker_log *logs = wlog;

	end = bt_now() + secs;
	rnd_state = seed | 1;
	for (i = 0; i < nworkers; i++) {
		uint64_t wseed = rnd();

		pids[i] = fork();
		if (pids[i] == 0) {
			wlog = &logs[i];
			worker(wseed, end);
		}
	}
	chaos(pci, end, chaos_counts);
	for (i = 0; i < nworkers; i++) {
		struct worker_log *l = &logs[i];
		bool clean;
		unsigned int k;

		if (pids[i] < 0 || !reaped(pids[i], end + 60, &status)) {
			result(false, "worker %d started and done in time", i);
			for (k = 0; k < HISTORY; k++)
				printf("#   %s\n", l->last[(l->next + k) % HISTORY]);
			continue;
		}
		clean = WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
			!l->unexpected;
		result(clean, "worker %d: %lu operations (%lu INFO, %lu CMD, %lu answered, %lu sessions opened, %lu opens, %lu forks), %lu violations, exit %#x",
		       i, l->ops, l->infos, l->cmds, l->cmd_ok, l->sessions,
		       l->opens, l->forks, l->unexpected, status);
		if (!clean)
			for (k = 0; k < HISTORY; k++)
				printf("#   %s\n", l->last[(l->next + k) % HISTORY]);
		ops += l->ops;
		cmds += l->cmds;
		ok += l->cmd_ok;
		bad += l->unexpected;
		forks += l->forks;
	}
	result(chaos_counts[0] + chaos_counts[1] > 0,
	       "the chaos loop reset or rebound chip 1 (%lu, %lu)",
	       chaos_counts[0], chaos_counts[1]);
	printf("# %lu operations, %lu commands (%lu answered), %lu forks, %lu violations; chaos on chip 1: %lu resets, %lu unbind/bind, %lu status, %lu refreshes\n",
	       ops, cmds, ok, forks, bad, chaos_counts[0], chaos_counts[1],
	       chaos_counts[2], chaos_counts[3]);

	/* the chips afterwards */
	for (i = 0; i < FUZZ_CHIPS; i++) {
		char state[32] = "";

		fd = bt_wait_open(bt_chip_dev(i), 30);
		result(fd >= 0 && bt_wait_echo(fd, 30) == 0,
		       "chip %d answers after the run", i);
		bt_attr_str(i, "state", state, sizeof(state));
		result(!strcmp(state, "live"), "chip %d is live (%s)", i, state);
		t = bt_now() + 15;
		do {
			after = sessions(i);
			if (after >= 0 && after <= before[i])
				break;
			usleep(200 * 1000);
		} while (bt_now() < t);
		result(after >= 0 && after <= before[i],
		       "chip %d: sessions in use %ld, before %ld", i, after,
		       before[i]);
		if (fd >= 0)
			close(fd);
	}
	printf("%u passed, %u failed\n", passed, failed);
	return failed ? 1 : 0;
}
