// SPDX-License-Identifier: GPL-2.0
/*
 * Isolation between the users of one chip (docs/ioctl.md, docs/driver.md):
 * whatever an unprivileged member of group bcchip does through its own
 * files, another user's PKCS#11 signing keeps working with bounded
 * latency and the driver never resets the chip.
 *
 *  - SLEEP holds a firmware engine: it is admin class (write access and
 *    CAP_SYS_ADMIN), so ordinary users cannot pin engines with it;
 *  - timeout_ms is 0 (the default) or within [MIN, MAX], so nobody can
 *    turn every command into an abandoned one with a 1 ms budget;
 *  - a file and a uid can only have so many commands outstanding,
 *    abandoned ones included (sysfs max_cmds_per_file, max_cmds_per_uid):
 *    over the limit an O_NONBLOCK file gets EAGAIN at once, and another
 *    uid is still admitted;
 *  - a victim (uid 1001) signs through libbc_pkcs11.so while an attacker
 *    (uid 1002) floods the chip from many processes, threads and files:
 *    no victim error, no reset, p99 within max(20 x baseline, 2 s).
 *
 * Runs as root in the VM (tools/vm/run): the node of chip
 * $BCCHIP_TEST_CHIP (default 1) is made root:bcchip 0660 for the test, as
 * udev would, and restored afterwards.  The token of that chip must have
 * the user PIN tools/vm/guest-tests gives it.  $BCCHIP_ATTACK_SECONDS
 * (default 180) is the length of the attack.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <p11-kit/pkcs11.h>

#include "kselftest_harness.h"
#include "bcchip_chip_util.h"

BT_CLOSING_LINE()

/* The bounds are new uapi; build against an older header too. */
#ifndef BCCHIP_CMD_TIMEOUT_MIN_MS
#define BCCHIP_CMD_TIMEOUT_MIN_MS	100
#endif
#ifndef BCCHIP_CMD_TIMEOUT_MAX_MS
#define BCCHIP_CMD_TIMEOUT_MAX_MS	600000
#endif

#define BCCHIP_GID		900	/* group bcchip in the VM */
#define VICTIM_UID		1001
#define ATTACKER_UID		1002
#define P11_MODULE		"/usr/lib/x86_64-linux-gnu/pkcs11/libbc_pkcs11.so"
#define USER_PIN		"user-1234"

#define BASELINE_SECS		10
#define ATTACK_SECS_DEFAULT	180
#define ATTACK_PROCS		4
#define ATTACK_THREADS		16
#define FILES_PER_THREAD	4
#define LAT_CAP			(1u << 20)	/* latencies kept per phase */
#define ERRNO_SLOTS		160		/* [0]: success, [e]: errno e */
#define MAX_KIDS		32

static int attack_seconds(void)
{
	const char *s = getenv("BCCHIP_ATTACK_SECONDS");
	int v = s && *s ? atoi(s) : 0;

	return v > 0 ? v : ATTACK_SECS_DEFAULT;
}

static const char *node_path(int chip)
{
	static char path[64];

	snprintf(path, sizeof(path), "/dev/bcchip%d", chip);
	return path;
}

/*
 * What must be undone even when a test process is killed by the
 * harness's timeout (SIGKILL, no teardown): the harness's own process
 * undoes it at exit, from this page shared with every test process.
 */
struct guard {
	int chip;
	int have_node;
	struct stat node;		/* the node before the tests */
	int emu_stopped;
};

static struct guard *guard;

static void restore_node(const char *path, const struct stat *st)
{
	if (chown(path, st->st_uid, st->st_gid) ||
	    chmod(path, st->st_mode & 07777))
		fprintf(stderr, "# restoring %s: %s\n", path, strerror(errno));
}

static void guard_exit(void)
{
	if (guard->emu_stopped)
		bt_ask_host("cont-emu", guard->chip);
	if (guard->have_node)
		restore_node(node_path(guard->chip), &guard->node);
}

static void __attribute__((constructor)) guard_init(void)
{
	guard = mmap(NULL, sizeof(*guard), PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (guard == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	guard->chip = bt_chip();
	guard->have_node = !stat(node_path(guard->chip), &guard->node);
	atexit(guard_exit);
}

/* ------------------------------------------------------------------ */
/* Unprivileged children                                               */
/* ------------------------------------------------------------------ */

static pid_t kids[MAX_KIDS];
static int nkids;

/* An ordinary member of group bcchip: no capabilities once uid is not 0. */
static int become(uid_t uid, pid_t parent)
{
	gid_t gid = BCCHIP_GID;

	if (setgroups(1, &gid) || setgid(gid) || setuid(uid))
		return -1;
	/* the credential change cleared any parent-death signal */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent)
		return -1;
	return geteuid() == uid ? 0 : -1;
}

/* Runs @fn(@arg) as @uid in a child; its return value is the exit code. */
static pid_t spawn_as(uid_t uid, int (*fn)(void *), void *arg)
{
	pid_t parent = getpid(), pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (become(uid, parent))
			_exit(100);
		_exit(fn(arg));
	}
	if (nkids < MAX_KIDS)
		kids[nkids++] = pid;
	return pid;
}

static void forget_kid(pid_t pid)
{
	for (int i = 0; i < nkids; i++) {
		if (kids[i] == pid) {
			kids[i] = kids[--nkids];
			return;
		}
	}
}

/*
 * Waits up to @secs for @pid, then kills it; returns its exit code, or
 * -1 when it did not exit by itself.
 */
static int reap(pid_t pid, double secs)
{
	double end = bt_now() + secs;
	int status;
	pid_t r;

	do {
		r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			goto done;
		if (r < 0)
			return -1;
		usleep(20 * 1000);
	} while (bt_now() < end);
	kill(pid, SIGKILL);
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	forget_kid(pid);
	return -1;
done:
	forget_kid(pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void reap_all(void)
{
	while (nkids) {
		pid_t pid = kids[nkids - 1];

		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		forget_kid(pid);
	}
}

/*
 * Lock-step with a child: the child reports a step done and waits for
 * the go; the parent meanwhile acts on the chip (freeze, thaw, another
 * uid's command).
 */
struct chan {
	int up[2];
	int down[2];
};

static int chan_init(struct chan *c)
{
	if (pipe(c->up))
		return -1;
	if (pipe(c->down)) {
		close(c->up[0]);
		close(c->up[1]);
		return -1;
	}
	return 0;
}

static void chan_close(struct chan *c)
{
	close(c->up[0]);
	close(c->up[1]);
	close(c->down[0]);
	close(c->down[1]);
}

/* Child: this step is done; wait for the next go.  -1: parent gone. */
static int chan_step(struct chan *c)
{
	char b = 's';

	if (write(c->up[1], &b, 1) != 1)
		return -1;
	return read(c->down[0], &b, 1) == 1 ? 0 : -1;
}

/* Parent: wait up to @secs for the child's step; 0 when it came. */
static int chan_wait(struct chan *c, double secs)
{
	struct pollfd p = { .fd = c->up[0], .events = POLLIN };
	char b;

	if (poll(&p, 1, (int)(secs * 1000)) != 1)
		return -1;
	return read(c->up[0], &b, 1) == 1 ? 0 : -1;
}

static void chan_go(struct chan *c)
{
	char b = 'g';

	if (write(c->down[1], &b, 1) != 1)
		fprintf(stderr, "# chan_go: %s\n", strerror(errno));
}

static void *shared_alloc(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* ------------------------------------------------------------------ */
/* Commands                                                            */
/* ------------------------------------------------------------------ */

/* An ECHO request of @len bytes, header included, in @buf. */
static void echo_frame(uint8_t *buf, uint32_t len)
{
	for (uint32_t i = BCFW_HDR_SIZE; i < len; i++)
		buf[i] = (uint8_t)(i * 31 + 7);
	bt_frame(buf, BCFW_OP_ECHO, 0, NULL, 0);
	bt_put_le32(buf + 8, len);
}

/*
 * Sends the ECHO in @req (@len bytes) with @timeout_ms; 0 when answered
 * correctly, -EBADMSG when answered wrongly, else -errno.
 */
static int echo_send(int fd, const uint8_t *req, uint32_t len, uint8_t *resp,
		     uint32_t resp_cap, uint32_t timeout_ms)
{
	struct bcchip_ioc_cmd cmd;

	memset(&cmd, 0, sizeof(cmd));
	cmd.req_len = len;
	cmd.req_ptr = (uintptr_t)req;
	cmd.resp_ptr = (uintptr_t)resp;
	cmd.resp_len = resp_cap;
	cmd.timeout_ms = timeout_ms;
	if (ioctl(fd, BCCHIP_IOC_CMD, &cmd) < 0)
		return -errno;
	if (cmd.fw_status != BCFW_S_OK || cmd.resp_len != len ||
	    memcmp(resp + BCFW_HDR_SIZE, req + BCFW_HDR_SIZE,
		   len - BCFW_HDR_SIZE))
		return -EBADMSG;
	return 0;
}

/* A short ECHO with @timeout_ms. */
static int echo_small(int fd, uint32_t timeout_ms)
{
	uint8_t req[64], resp[128];

	echo_frame(req, sizeof(req));
	return echo_send(fd, req, sizeof(req), resp, sizeof(resp), timeout_ms);
}

static int chip_info(int fd, struct bcchip_ioc_info *info)
{
	memset(info, 0, sizeof(*info));
	return ioctl(fd, BCCHIP_IOC_INFO, info) < 0 ? -errno : 0;
}

static const char *errname(int err)
{
	switch (err) {
	case 0: return "ok";
	case EPERM: return "EPERM";
	case EINVAL: return "EINVAL";
	case EAGAIN: return "EAGAIN";
	case ETIMEDOUT: return "ETIMEDOUT";
	case EINTR: return "EINTR";
	case EIO: return "EIO";
	case ECANCELED: return "ECANCELED";
	case ENODEV: return "ENODEV";
	case ESTALE: return "ESTALE";
	case EBADMSG: return "EBADMSG";
	case EACCES: return "EACCES";
	case ENOMEM: return "ENOMEM";
	case EMFILE: return "EMFILE";
	case EMSGSIZE: return "EMSGSIZE";
	default: return "other";
	}
}

/* ------------------------------------------------------------------ */
/* Fixture                                                             */
/* ------------------------------------------------------------------ */

FIXTURE(iso) {
	int chip;
	const char *node;
	int root_fd;
	long gen0, resets0;
	long per_file, per_uid;		/* sysfs; <= 0 when missing */
};

FIXTURE_SETUP(iso)
{
	self->chip = bt_chip();
	self->node = node_path(self->chip);
	self->root_fd = -1;
	ASSERT_TRUE(guard->have_node) TH_LOG("no %s", self->node);
	/* what udev/60-bcchip.rules would do */
	ASSERT_EQ(0, chown(self->node, 0, BCCHIP_GID));
	ASSERT_EQ(0, chmod(self->node, 0660));
	self->root_fd = open(self->node, O_RDWR | O_CLOEXEC);
	ASSERT_GE(self->root_fd, 0);
	ASSERT_EQ(0, bt_wait_echo(self->root_fd, 15));
	self->gen0 = bt_attr_num(self->chip, "generation");
	self->resets0 = bt_attr_num(self->chip, "reset_count");
	ASSERT_GT(self->gen0, 0);
	ASSERT_GE(self->resets0, 0);
	self->per_file = bt_attr_num(self->chip, "max_cmds_per_file");
	self->per_uid = bt_attr_num(self->chip, "max_cmds_per_uid");
}

FIXTURE_TEARDOWN(iso)
{
	reap_all();
	if (guard->emu_stopped) {
		bt_ask_host("cont-emu", self->chip);
		guard->emu_stopped = 0;
		if (self->root_fd >= 0)
			bt_wait_echo(self->root_fd, 15);
	}
	if (self->root_fd >= 0)
		close(self->root_fd);
	restore_node(self->node, &guard->node);
}

/*
 * Freezes the chip's firmware: commands stay outstanding.  Returns once
 * a root command times out, i.e. the harness acted.
 */
static int freeze(int chip, int root_fd)
{
	double end;

	bt_ask_host("stop-emu", chip);
	guard->emu_stopped = 1;
	end = bt_now() + 10;
	do {
		int ret = echo_small(root_fd, BCCHIP_CMD_TIMEOUT_MIN_MS);

		if (ret == -ETIMEDOUT)
			return 0;
		usleep(100 * 1000);
	} while (bt_now() < end);
	return -1;
}

static int thaw(int chip, int root_fd)
{
	bt_ask_host("cont-emu", chip);
	guard->emu_stopped = 0;
	return bt_wait_echo(root_fd, 15);
}

/* ------------------------------------------------------------------ */
/* 1. SLEEP is admin class                                             */
/* ------------------------------------------------------------------ */

struct sleep_report {
	int inherited_fd;	/* root's O_RDWR file, passed down */
	int own_rdwr;
	int own_rdonly;
	int inherited;
};

static int sleep_unpriv(void *arg)
{
	struct sleep_report *r = arg;
	const char *node = node_path(bt_chip());
	int fd;

	fd = open(node, O_RDWR | O_CLOEXEC);
	r->own_rdwr = fd < 0 ? 1000 + errno : bt_sleep_cmd(fd, 10, 0);
	if (fd >= 0)
		close(fd);
	fd = open(node, O_RDONLY | O_CLOEXEC);
	r->own_rdonly = fd < 0 ? 1000 + errno : bt_sleep_cmd(fd, 10, 0);
	if (fd >= 0)
		close(fd);
	/* privilege is checked at the ioctl, not at open */
	r->inherited = bt_sleep_cmd(r->inherited_fd, 10, 0);
	return 0;
}

TEST_F(iso, sleep_needs_admin)
{
	struct sleep_report *r = shared_alloc(sizeof(*r));
	uint8_t req[64], resp[128];
	struct bcfw_sleep_req body = { .msecs = 10 };
	struct bcchip_ioc_cmd cmd;
	uint32_t len;
	double t0, elapsed;
	int rd, ret;
	pid_t pid;

	ASSERT_NE(NULL, r);
	rd = open(self->node, O_RDONLY | O_CLOEXEC);
	ASSERT_GE(rd, 0);
	ret = bt_sleep_cmd(rd, 10, 0);
	ksft_print_msg("SLEEP opcode %#x; root, O_RDONLY: %d (%s)\n",
		       BCFW_OP_SLEEP, ret, errname(-ret));
	EXPECT_EQ(-EPERM, ret);
	close(rd);

	r->inherited_fd = self->root_fd;
	pid = spawn_as(ATTACKER_UID, sleep_unpriv, r);
	ASSERT_GT(pid, 0);
	ASSERT_EQ(0, reap(pid, 30));
	ksft_print_msg("uid %d: own O_RDWR %d (%s), own O_RDONLY %d (%s), root's O_RDWR %d (%s)\n",
		       ATTACKER_UID, r->own_rdwr, errname(-r->own_rdwr),
		       r->own_rdonly, errname(-r->own_rdonly), r->inherited,
		       errname(-r->inherited));
	EXPECT_EQ(-EPERM, r->own_rdwr);
	EXPECT_EQ(-EPERM, r->own_rdonly);
	EXPECT_EQ(-EPERM, r->inherited);

	/* the administrator still may, and the firmware really sleeps */
	len = bt_frame(req, BCFW_OP_SLEEP, 0, &body, sizeof(body));
	t0 = bt_now();
	ret = bt_cmd(self->root_fd, req, len, resp, sizeof(resp), &cmd);
	elapsed = bt_now() - t0;
	ksft_print_msg("root, O_RDWR: %d (%s), fw_status %u, %.1f ms\n", ret,
		       errname(-ret), cmd.fw_status, elapsed * 1000);
	EXPECT_EQ(0, ret);
	EXPECT_EQ(BCFW_S_OK, cmd.fw_status);
	EXPECT_GE(elapsed, 0.010);
	EXPECT_EQ(0, bt_sleep_cmd(self->root_fd, 10, 0));
	munmap(r, sizeof(*r));
}

/* ------------------------------------------------------------------ */
/* 2. timeout_ms bounds                                                */
/* ------------------------------------------------------------------ */

TEST_F(iso, timeout_bounds)
{
	static const struct {
		uint32_t timeout_ms;
		int want;
	} cases[] = {
		{ 1, -EINVAL },
		{ BCCHIP_CMD_TIMEOUT_MIN_MS - 1, -EINVAL },
		{ BCCHIP_CMD_TIMEOUT_MAX_MS + 1, -EINVAL },
		{ UINT32_MAX, -EINVAL },
		{ 0, 0 },
		{ BCCHIP_CMD_TIMEOUT_MIN_MS, 0 },
		{ BCCHIP_CMD_TIMEOUT_MAX_MS, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int ret = echo_small(self->root_fd, cases[i].timeout_ms);

		ksft_print_msg("ECHO timeout_ms %u: %d (%s), want %s\n",
			       cases[i].timeout_ms, ret, errname(-ret),
			       errname(-cases[i].want));
		EXPECT_EQ(cases[i].want, ret)
			TH_LOG("timeout_ms %u", cases[i].timeout_ms);
	}
}

/* ------------------------------------------------------------------ */
/* 3, 4. Caps on outstanding commands                                  */
/* ------------------------------------------------------------------ */

#define CAP_MAX_FILES	64

struct cap_report {
	struct chan c;
	long per_file, per_uid;
	int nfiles;			/* files the attacker spreads over */
	int open_err;
	int tries;			/* commands sent */
	int admitted;			/* ETIMEDOUT: in, and left behind */
	int per_file_admitted[CAP_MAX_FILES];
	int refused;			/* EAGAIN */
	int refused_below_file_cap;	/* EAGAIN with the file under its cap */
	int other;			/* anything else */
	int other_errno;
	double refused_ms_max;
	int second_file;		/* test 3: same uid, new file */
	int other_uid;			/* another uid's command */
	int again;			/* after the thaw */
	int again_ok;			/* files answering after the thaw */
	double drain_s;
};

/* Test 3: one O_NONBLOCK file, ECHOs one after another until refused. */
static int file_cap_attacker(void *arg)
{
	struct cap_report *r = arg;
	const char *node = node_path(bt_chip());
	int fd, fd2, ret, i;
	double t0;

	fd = open(node, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		r->open_err = errno;
		return 1;
	}
	for (i = 0; i < r->per_file + r->per_uid + 8; i++) {
		t0 = bt_now();
		ret = echo_small(fd, BCCHIP_CMD_TIMEOUT_MIN_MS);
		r->tries++;
		if (ret == -ETIMEDOUT) {
			r->admitted++;
			continue;
		}
		r->refused_ms_max = (bt_now() - t0) * 1000;
		if (ret == -EAGAIN) {
			r->refused++;
		} else {
			r->other++;
			r->other_errno = -ret;
		}
		break;
	}
	/* the cap is the file's: another file of the same uid gets in */
	fd2 = open(node, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	r->second_file = fd2 < 0 ? 1000 + errno :
			 echo_small(fd2, BCCHIP_CMD_TIMEOUT_MIN_MS);
	if (chan_step(&r->c))
		return 2;
	/* thawed: once the left-behind commands drain, the file works */
	t0 = bt_now();
	r->again = bt_wait_echo(fd, 20);
	r->drain_s = bt_now() - t0;
	r->again_ok = !r->again;
	if (fd2 >= 0)
		close(fd2);
	close(fd);
	return 0;
}

/* Test 4: many O_NONBLOCK files of one uid, round robin until refused. */
static int uid_cap_attacker(void *arg)
{
	struct cap_report *r = arg;
	const char *node = node_path(bt_chip());
	int fds[CAP_MAX_FILES], round, i, ret;
	double t0;

	for (i = 0; i < r->nfiles; i++) {
		fds[i] = open(node, O_RDWR | O_NONBLOCK | O_CLOEXEC);
		if (fds[i] < 0) {
			r->open_err = errno;
			return 1;
		}
	}
	for (round = 0; round < r->per_uid + 2; round++) {
		int refused = 0;

		for (i = 0; i < r->nfiles; i++) {
			t0 = bt_now();
			ret = echo_small(fds[i], BCCHIP_CMD_TIMEOUT_MIN_MS);
			r->tries++;
			if (ret == -ETIMEDOUT) {
				r->admitted++;
				r->per_file_admitted[i]++;
			} else if (ret == -EAGAIN) {
				double ms = (bt_now() - t0) * 1000;

				refused++;
				r->refused++;
				if (r->per_file_admitted[i] < r->per_file)
					r->refused_below_file_cap++;
				if (ms > r->refused_ms_max)
					r->refused_ms_max = ms;
			} else {
				r->other++;
				r->other_errno = -ret;
			}
		}
		if (refused == r->nfiles)
			break;
	}
	if (chan_step(&r->c))
		return 2;
	t0 = bt_now();
	r->again = bt_wait_echo(fds[0], 20);
	r->drain_s = bt_now() - t0;
	for (i = 0; i < r->nfiles; i++) {
		if (!bt_wait_echo(fds[i], 5))
			r->again_ok++;
		close(fds[i]);
	}
	return 0;
}

static int other_uid_echo(void *arg)
{
	struct cap_report *r = arg;
	int fd = open(node_path(bt_chip()), O_RDWR | O_NONBLOCK | O_CLOEXEC);

	r->other_uid = fd < 0 ? 1000 + errno :
		       echo_small(fd, BCCHIP_CMD_TIMEOUT_MIN_MS);
	if (fd >= 0)
		close(fd);
	return 0;
}

/*
 * Freezes the firmware, runs @attacker as ATTACKER_UID up to its step,
 * one command of VICTIM_UID, thaws, lets the attacker finish.
 */
static void run_cap_test(struct __test_metadata *_metadata,
			 FIXTURE_DATA(iso) *self, struct cap_report *r,
			 int (*attacker)(void *))
{
	pid_t a, b;

	ASSERT_EQ(0, chan_init(&r->c));
	ASSERT_EQ(0, freeze(self->chip, self->root_fd))
		TH_LOG("the firmware did not stop answering");
	a = spawn_as(ATTACKER_UID, attacker, r);
	ASSERT_GT(a, 0);
	/* budget: 100 ms per admitted command, on a slow VM */
	EXPECT_EQ(0, chan_wait(&r->c, 60)) TH_LOG("attacker stuck");
	b = spawn_as(VICTIM_UID, other_uid_echo, r);
	ASSERT_GT(b, 0);
	EXPECT_EQ(0, reap(b, 30));
	EXPECT_EQ(0, thaw(self->chip, self->root_fd));
	chan_go(&r->c);
	EXPECT_EQ(0, reap(a, 90));
	chan_close(&r->c);
}

static void check_no_reset(struct __test_metadata *_metadata,
			   FIXTURE_DATA(iso) *self)
{
	long gen = bt_attr_num(self->chip, "generation");
	long resets = bt_attr_num(self->chip, "reset_count");

	ksft_print_msg("generation %ld -> %ld, reset_count %ld -> %ld\n",
		       self->gen0, gen, self->resets0, resets);
	EXPECT_EQ(self->gen0, gen);
	EXPECT_EQ(self->resets0, resets);
}

TEST_F_TIMEOUT(iso, per_file_cap_nonblock, 240)
{
	struct cap_report *r = shared_alloc(sizeof(*r));
	long want;

	ASSERT_NE(NULL, r);
	ksft_print_msg("max_cmds_per_file %ld, max_cmds_per_uid %ld, queues %ld x depth %ld\n",
		       self->per_file, self->per_uid,
		       bt_attr_num(self->chip, "queue_count"),
		       bt_attr_num(self->chip, "queue_depth"));
	ASSERT_GT(self->per_file, 0) TH_LOG("no max_cmds_per_file in sysfs");
	ASSERT_GT(self->per_uid, 0) TH_LOG("no max_cmds_per_uid in sysfs");
	r->per_file = self->per_file;
	r->per_uid = self->per_uid;
	run_cap_test(_metadata, self, r, file_cap_attacker);

	want = self->per_file < self->per_uid ? self->per_file : self->per_uid;
	ksft_print_msg("one file of uid %d: %d tries, %d admitted (ETIMEDOUT, left behind), then %s in %.1f ms\n",
		       ATTACKER_UID, r->tries, r->admitted,
		       r->refused ? "EAGAIN" : r->other ?
		       errname(r->other_errno) : "no refusal",
		       r->refused_ms_max);
	ksft_print_msg("second file, same uid: %d (%s); file of uid %d: %d (%s)\n",
		       r->second_file, errname(-r->second_file), VICTIM_UID,
		       r->other_uid, errname(-r->other_uid));
	ksft_print_msg("after the thaw: %d (%s) after %.2f s\n", r->again,
		       errname(-r->again), r->drain_s);
	EXPECT_EQ(0, r->open_err);
	EXPECT_EQ(want, r->admitted);
	EXPECT_EQ(1, r->refused) TH_LOG("refused with %s",
					errname(r->other_errno));
	/* only the uid's cap stops a second file of the same uid */
	EXPECT_EQ(self->per_file < self->per_uid ? -ETIMEDOUT : -EAGAIN,
		  r->second_file);
	/* admitted, so it waited for the frozen firmware */
	EXPECT_EQ(-ETIMEDOUT, r->other_uid);
	EXPECT_EQ(0, r->again);
	check_no_reset(_metadata, self);
	munmap(r, sizeof(*r));
}

TEST_F_TIMEOUT(iso, per_uid_cap_nonblock, 240)
{
	struct cap_report *r = shared_alloc(sizeof(*r));

	ASSERT_NE(NULL, r);
	ASSERT_GT(self->per_file, 0) TH_LOG("no max_cmds_per_file in sysfs");
	ASSERT_GT(self->per_uid, 0) TH_LOG("no max_cmds_per_uid in sysfs");
	r->per_file = self->per_file;
	r->per_uid = self->per_uid;
	/* enough files that none reaches its own cap before the uid's */
	r->nfiles = (int)(self->per_uid / self->per_file) + 2;
	ASSERT_LE(r->nfiles, CAP_MAX_FILES);
	run_cap_test(_metadata, self, r, uid_cap_attacker);

	ksft_print_msg("%d files of uid %d: %d tries, %d admitted in all (cap %ld), %d EAGAIN (%d with the file under its cap of %ld), longest refusal %.1f ms, %d other (%s)\n",
		       r->nfiles, ATTACKER_UID, r->tries, r->admitted,
		       self->per_uid,
		       r->refused, r->refused_below_file_cap, self->per_file,
		       r->refused_ms_max, r->other, errname(r->other_errno));
	ksft_print_msg("file of uid %d: %d (%s); after the thaw: %d (%s) after %.2f s, %d/%d files answer\n",
		       VICTIM_UID, r->other_uid, errname(-r->other_uid),
		       r->again, errname(-r->again), r->drain_s, r->again_ok,
		       r->nfiles);
	EXPECT_EQ(0, r->open_err);
	EXPECT_EQ(self->per_uid, r->admitted);
	EXPECT_GT(r->refused_below_file_cap, 0);
	EXPECT_EQ(0, r->other);
	EXPECT_EQ(-ETIMEDOUT, r->other_uid);
	EXPECT_EQ(0, r->again);
	EXPECT_EQ(r->nfiles, r->again_ok);
	check_no_reset(_metadata, self);
	munmap(r, sizeof(*r));
}

/* ------------------------------------------------------------------ */
/* 5. A victim signing through PKCS#11 while an attacker floods        */
/* ------------------------------------------------------------------ */

enum { PH_SETUP, PH_BASE, PH_ATTACK, PH_STOP };

enum attack_kind {
	K_SLEEP,	/* SLEEP, the longest, minimum budget: must be EPERM */
	K_ECHO,		/* largest ECHOs, default budget */
	K_ABANDON,	/* largest ECHOs, minimum budget: left behind */
	K_OPENCLOSE,	/* open, maybe one command, close */
	K_NONBLOCK,	/* largest ECHOs, O_NONBLOCK files, EAGAIN retried */
	K_NR,
};

static const char *const kind_name[K_NR] = {
	"sleep", "echo-max", "abandon", "open-close", "nonblock",
};

struct victim_phase {
	long ops;
	long errors;
	unsigned long last_rv;
	long recoveries;
	uint32_t n;			/* latencies kept */
	uint32_t lat_us[LAT_CAP];
};

struct attack_shm {
	int phase;
	int stop;
	int ready;			/* victim: 1 ready, < 0 failed step */
	unsigned long setup_rv;
	uint8_t serial[BCFW_SERIAL_LEN];
	uint32_t max_frame;
	struct victim_phase v[2];	/* PH_BASE, PH_ATTACK */
	long counts[K_NR][ERRNO_SLOTS];
};

/* which attacker process this is: set before its fork */
static int attacker_index;

struct victim_ctx {
	CK_FUNCTION_LIST_PTR f;
	CK_SLOT_ID slot;
	CK_SESSION_HANDLE h;
	CK_OBJECT_HANDLE priv;
};

/* A session, logged in, with a fresh session P-256 key pair. */
static CK_RV victim_session(struct victim_ctx *v)
{
	static const CK_BYTE p256[] = {
		0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };
	CK_MECHANISM gen = { CKM_EC_KEY_PAIR_GEN, NULL, 0 };
	CK_BBOOL no = CK_FALSE, yes = CK_TRUE;
	CK_ATTRIBUTE pub[] = {
		{ CKA_TOKEN, &no, sizeof(no) },
		{ CKA_EC_PARAMS, (void *)p256, sizeof(p256) },
		{ CKA_VERIFY, &yes, sizeof(yes) },
	};
	CK_ATTRIBUTE priv[] = {
		{ CKA_TOKEN, &no, sizeof(no) },
		{ CKA_PRIVATE, &yes, sizeof(yes) },
		{ CKA_SENSITIVE, &yes, sizeof(yes) },
		{ CKA_SIGN, &yes, sizeof(yes) },
	};
	CK_OBJECT_HANDLE pubh;
	CK_RV rv;

	rv = v->f->C_OpenSession(v->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION,
				 NULL, NULL, &v->h);
	if (rv != CKR_OK)
		return rv;
	rv = v->f->C_Login(v->h, CKU_USER, (CK_UTF8CHAR_PTR)USER_PIN,
			   strlen(USER_PIN));
	if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN)
		goto fail;
	rv = v->f->C_GenerateKeyPair(v->h, &gen, pub, 3, priv, 4, &pubh,
				     &v->priv);
	if (rv == CKR_OK)
		return CKR_OK;
fail:
	v->f->C_CloseSession(v->h);
	v->h = CK_INVALID_HANDLE;
	return rv;
}

static int victim_fail(struct attack_shm *a, int step, CK_RV rv)
{
	a->setup_rv = rv;
	__atomic_store_n(&a->ready, -step, __ATOMIC_RELEASE);
	return step;
}

static int victim_main(void *arg)
{
	struct attack_shm *a = arg;
	CK_MECHANISM ecdsa = { CKM_ECDSA, NULL, 0 };
	CK_C_GetFunctionList get_list;
	CK_SLOT_ID slots[16];
	CK_ULONG nslots = 16, i;
	struct victim_ctx v = { 0 };
	CK_BYTE digest[32], sig[128];
	CK_TOKEN_INFO ti;
	void *lib;
	CK_RV rv;
	int ph;

	lib = dlopen(P11_MODULE, RTLD_NOW | RTLD_LOCAL);
	if (!lib)
		return victim_fail(a, 1, 0);
	get_list = (CK_C_GetFunctionList)dlsym(lib, "C_GetFunctionList");
	if (!get_list)
		return victim_fail(a, 2, 0);
	rv = get_list(&v.f);
	if (rv != CKR_OK)
		return victim_fail(a, 3, rv);
	rv = v.f->C_Initialize(NULL);
	if (rv != CKR_OK)
		return victim_fail(a, 4, rv);
	rv = v.f->C_GetSlotList(CK_TRUE, slots, &nslots);
	if (rv != CKR_OK)
		return victim_fail(a, 5, rv);
	/* the slot whose token is our chip, by its serial */
	for (i = 0; i < nslots; i++) {
		if (v.f->C_GetTokenInfo(slots[i], &ti) == CKR_OK &&
		    !memcmp(ti.serialNumber, a->serial, sizeof(a->serial)))
			break;
	}
	if (i == nslots)
		return victim_fail(a, 6, nslots);
	v.slot = slots[i];
	rv = victim_session(&v);
	if (rv != CKR_OK)
		return victim_fail(a, 7, rv);
	for (i = 0; i < sizeof(digest); i++)
		digest[i] = (CK_BYTE)(i * 7 + 1);
	__atomic_store_n(&a->ready, 1, __ATOMIC_RELEASE);

	while ((ph = __atomic_load_n(&a->phase, __ATOMIC_ACQUIRE)) != PH_STOP) {
		struct victim_phase *p;
		CK_ULONG siglen = sizeof(sig);
		double t0, dt;

		if (ph == PH_SETUP) {
			usleep(1000);
			continue;
		}
		p = &a->v[ph == PH_BASE ? 0 : 1];
		t0 = bt_now();
		rv = v.h == CK_INVALID_HANDLE ? CKR_SESSION_HANDLE_INVALID :
		     v.f->C_SignInit(v.h, &ecdsa, v.priv);
		if (rv == CKR_OK)
			rv = v.f->C_Sign(v.h, digest, sizeof(digest), sig,
					 &siglen);
		dt = bt_now() - t0;
		p->ops++;
		if (p->n < LAT_CAP)
			p->lat_us[p->n++] = (uint32_t)(dt * 1e6);
		if (rv == CKR_OK)
			continue;
		p->errors++;
		p->last_rv = rv;
		/*
		 * Start afresh, as an application would: whatever state the
		 * failure left, a new session and key pair make the next
		 * figure mean something.
		 */
		if (v.h != CK_INVALID_HANDLE)
			v.f->C_CloseSession(v.h);
		v.h = CK_INVALID_HANDLE;
		usleep(50 * 1000);
		rv = victim_session(&v);
		if (rv == CKR_OK) {
			p->recoveries++;
		} else {
			p->errors++;
			p->last_rv = rv;
		}
	}
	if (v.h != CK_INVALID_HANDLE)
		v.f->C_CloseSession(v.h);
	v.f->C_Finalize(NULL);
	return 0;
}

struct attacker {
	struct attack_shm *a;
	enum attack_kind kind;
	int fds[FILES_PER_THREAD];
	uint8_t *req, *resp;
};

static void count(struct attacker *t, int ret)
{
	int slot = ret > -ERRNO_SLOTS + 1 && ret <= 0 ? -ret : ERRNO_SLOTS - 1;

	__atomic_fetch_add(&t->a->counts[t->kind][slot], 1, __ATOMIC_RELAXED);
}

static void *attacker_thread(void *arg)
{
	struct attacker *t = arg;
	struct attack_shm *a = t->a;
	const char *node = node_path(bt_chip());
	uint32_t max = a->max_frame;
	unsigned int n = 0;
	int ret, fd;

	while (!__atomic_load_n(&a->stop, __ATOMIC_RELAXED)) {
		fd = t->fds[n++ % FILES_PER_THREAD];
		switch (t->kind) {
		case K_SLEEP:
			ret = bt_sleep_cmd(fd, BCFW_SLEEP_MAX_MS,
					   BCCHIP_CMD_TIMEOUT_MIN_MS);
			break;
		case K_ECHO:
			ret = echo_send(fd, t->req, max, t->resp, max, 0);
			break;
		case K_ABANDON:
			ret = echo_send(fd, t->req, max, t->resp, max,
					BCCHIP_CMD_TIMEOUT_MIN_MS);
			break;
		case K_OPENCLOSE:
			fd = open(node, O_RDWR | O_CLOEXEC);
			if (fd < 0) {
				ret = -errno;
				break;
			}
			ret = n % 2 ? echo_send(fd, t->req, max, t->resp, max,
						BCCHIP_CMD_TIMEOUT_MIN_MS) : 0;
			close(fd);
			break;
		default:
			ret = echo_send(fd, t->req, max, t->resp, max,
					BCCHIP_CMD_TIMEOUT_MIN_MS);
			if (ret == -EAGAIN)
				sched_yield();
			break;
		}
		count(t, ret);
	}
	return NULL;
}

static int attacker_main(void *arg)
{
	struct attack_shm *a = arg;
	struct attacker t[ATTACK_THREADS];
	pthread_t thr[ATTACK_THREADS];
	const char *node = node_path(bt_chip());
	int i, j, started = 0;

	for (i = 0; i < ATTACK_THREADS; i++) {
		int flags = O_RDWR | O_CLOEXEC;

		t[i].a = a;
		t[i].kind = (enum attack_kind)
			    ((attacker_index * ATTACK_THREADS + i) % K_NR);
		if (t[i].kind == K_NONBLOCK)
			flags |= O_NONBLOCK;
		t[i].req = malloc(a->max_frame);
		t[i].resp = malloc(a->max_frame);
		if (!t[i].req || !t[i].resp)
			return 1;
		echo_frame(t[i].req, a->max_frame);
		for (j = 0; j < FILES_PER_THREAD; j++) {
			t[i].fds[j] = open(node, flags);
			if (t[i].fds[j] < 0)
				return 2;
		}
	}
	for (i = 0; i < ATTACK_THREADS; i++) {
		if (pthread_create(&thr[i], NULL, attacker_thread, &t[i]))
			break;
		started++;
	}
	for (i = 0; i < started; i++)
		pthread_join(thr[i], NULL);
	return started == ATTACK_THREADS ? 0 : 3;
}

static int cmp_u32(const void *x, const void *y)
{
	uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;

	return (a > b) - (a < b);
}

/* Nearest-rank percentile @q of the sorted latencies, in ms. */
static double pct_ms(const struct victim_phase *p, double q)
{
	size_t k;

	if (!p->n)
		return 0;
	k = (size_t)(q * p->n + 0.999999);
	k = k ? k - 1 : 0;
	if (k >= p->n)
		k = p->n - 1;
	return p->lat_us[k] / 1000.0;
}

static void print_phase(const char *name, struct victim_phase *p,
			double secs)
{
	qsort(p->lat_us, p->n, sizeof(p->lat_us[0]), cmp_u32);
	ksft_print_msg("victim %s: %ld signatures in %.0f s (%.0f/s), %ld errors (last CKR 0x%lx, %ld recoveries), p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
		       name, p->ops, secs, secs > 0 ? p->ops / secs : 0,
		       p->errors, p->last_rv, p->recoveries, pct_ms(p, 0.50),
		       pct_ms(p, 0.99), pct_ms(p, 1.0));
}

static void print_attack(struct attack_shm *a)
{
	for (int k = 0; k < K_NR; k++) {
		char line[512];
		size_t len = 0;

		line[0] = 0;
		for (int e = 0; e < ERRNO_SLOTS; e++) {
			long c = a->counts[k][e];

			if (!c || len > sizeof(line) - 64)
				continue;
			if (e == ERRNO_SLOTS - 1)
				len += snprintf(line + len, sizeof(line) - len,
						" other=%ld", c);
			else if (e && !strcmp(errname(e), "other"))
				len += snprintf(line + len, sizeof(line) - len,
						" errno%d=%ld", e, c);
			else
				len += snprintf(line + len, sizeof(line) - len,
						" %s=%ld", errname(e), c);
		}
		ksft_print_msg("attacker %-10s:%s\n", kind_name[k],
			       len ? line : " none");
	}
}

static int sleep_until(double end, struct attack_shm *a, pid_t victim)
{
	double next_report = bt_now() + 30;

	while (bt_now() < end) {
		usleep(200 * 1000);
		if (waitpid(victim, NULL, WNOHANG) == victim) {
			forget_kid(victim);
			ksft_print_msg("victim exited during the attack\n");
			return -1;
		}
		if (bt_now() >= next_report && end - bt_now() > 5) {
			ksft_print_msg("... %.0f s left: victim %ld signatures, %ld errors\n",
				       end - bt_now(), a->v[1].ops,
				       a->v[1].errors);
			next_report += 30;
		}
	}
	return 0;
}

TEST_F_TIMEOUT(iso, victim_survives_attack, ATTACK_SECS_DEFAULT + 120)
{
	struct attack_shm *a = shared_alloc(sizeof(*a));
	int secs = attack_seconds(), i, ok;
	struct bcchip_ioc_info info;
	pid_t victim, procs[ATTACK_PROCS];
	double t_base, t_attack, t_end, end, bound;
	long gen, resets, sleeps, sleep_eperm;

	ASSERT_NE(NULL, a);
	ASSERT_EQ(0, chip_info(self->root_fd, &info));
	memcpy(a->serial, info.serial, sizeof(a->serial));
	a->max_frame = info.max_frame;
	ASSERT_GE(a->max_frame, BCFW_HDR_SIZE);
	ksft_print_msg("chip %d: %u queues x depth %u, max_frame %u, max_cmds_per_file %ld, max_cmds_per_uid %ld; attack %d s, %d processes x %d threads x %d files\n",
		       self->chip, info.nr_io_queues, info.queue_depth,
		       info.max_frame, self->per_file, self->per_uid, secs,
		       ATTACK_PROCS, ATTACK_THREADS, FILES_PER_THREAD);

	victim = spawn_as(VICTIM_UID, victim_main, a);
	ASSERT_GT(victim, 0);
	end = bt_now() + 120;
	while (!__atomic_load_n(&a->ready, __ATOMIC_ACQUIRE) && bt_now() < end)
		usleep(50 * 1000);
	ASSERT_EQ(1, a->ready) TH_LOG("victim set-up failed at step %d, CKR 0x%lx",
				      -a->ready, a->setup_rv);

	/* phase A: the victim alone */
	t_base = bt_now();
	__atomic_store_n(&a->phase, PH_BASE, __ATOMIC_RELEASE);
	sleep(BASELINE_SECS);

	/* phase B: the attack */
	t_attack = bt_now();
	__atomic_store_n(&a->phase, PH_ATTACK, __ATOMIC_RELEASE);
	for (i = 0; i < ATTACK_PROCS; i++) {
		attacker_index = i;
		procs[i] = spawn_as(ATTACKER_UID, attacker_main, a);
		EXPECT_GT(procs[i], 0);
	}
	ok = !sleep_until(t_attack + secs, a, victim);
	t_end = bt_now();
	__atomic_store_n(&a->phase, PH_STOP, __ATOMIC_RELEASE);
	__atomic_store_n(&a->stop, 1, __ATOMIC_RELEASE);

	/*
	 * An attacker may be in a command with the default budget, and its
	 * exit closes many files: one deadline for all of them.
	 */
	end = bt_now() + 60;
	for (i = 0; i < ATTACK_PROCS; i++) {
		if (procs[i] > 0) {
			double left = end - bt_now();
			int rc = reap(procs[i], left > 0 ? left : 0);

			if (rc)
				ksft_print_msg("attacker %d: exit %d\n", i, rc);
		}
	}
	if (ok)
		EXPECT_EQ(0, reap(victim, 30));
	gen = bt_attr_num(self->chip, "generation");
	resets = bt_attr_num(self->chip, "reset_count");

	print_phase("baseline", &a->v[0], t_attack - t_base);
	print_phase("attack", &a->v[1], t_end - t_attack);
	print_attack(a);
	ksft_print_msg("generation %ld -> %ld, reset_count %ld -> %ld, sessions_in_use %ld\n",
		       self->gen0, gen, self->resets0, resets,
		       bt_attr_num(self->chip, "sessions_in_use"));

	EXPECT_TRUE(ok);
	EXPECT_EQ(self->gen0, gen);
	EXPECT_EQ(self->resets0, resets);
	EXPECT_EQ(0, a->v[0].errors);
	EXPECT_EQ(0, a->v[1].errors);
	EXPECT_GT(a->v[0].ops, 0);
	EXPECT_GT(a->v[1].ops, 0);
	bound = 20 * pct_ms(&a->v[0], 0.99);
	if (bound < 2000)
		bound = 2000;
	ksft_print_msg("victim p99 under attack %.2f ms, bound %.2f ms\n",
		       pct_ms(&a->v[1], 0.99), bound);
	EXPECT_LE(pct_ms(&a->v[1], 0.99), bound);
	sleeps = 0;
	for (i = 0; i < ERRNO_SLOTS; i++)
		sleeps += a->counts[K_SLEEP][i];
	sleep_eperm = a->counts[K_SLEEP][EPERM];
	EXPECT_GT(sleeps, 0);
	EXPECT_EQ(sleeps, sleep_eperm)
		TH_LOG("unprivileged SLEEPs not refused");

	/* leave a working chip to the tests after us */
	EXPECT_EQ(0, bt_wait_echo(self->root_fd, 120));
	munmap(a, sizeof(*a));
}

/* The harness wants a constant; the attack's length is the caller's. */
static void __attribute__((constructor)) attack_timeout(void)
{
	_iso_victim_survives_attack_object.timeout =
		attack_seconds() + BASELINE_SECS + 300;
}

TEST_HARNESS_MAIN
