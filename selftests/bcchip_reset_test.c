// SPDX-License-Identifier: GPL-2.0
/*
 * Chip resets: the sysfs status attributes, an administrator's reset
 * through sysfs (root only), a function-level reset, a fatal status from
 * the chip, a firmware that stops answering (timeout, abort, reset, then
 * recovery when it answers again), and resets under load.  What callers
 * see is docs/ioctl.md's contract: ECANCELED for a command dropped by the
 * reset, EAGAIN while it runs, ESTALE for the old generation, and the
 * old sessions gone.  Chip $BCCHIP_TEST_CHIP (default 1).
 */
#include <linux/capability.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "bcchip_chip_util.h"

BT_CLOSING_LINE()

#define PARAM_DIR "/sys/module/bcchip/parameters/"

static long read_param(const char *name)
{
	char path[128], buf[32];

	snprintf(path, sizeof(path), PARAM_DIR "%s", name);
	if (bt_read_file(path, buf, sizeof(buf)))
		return -1;
	return strtol(buf, NULL, 10);
}

static int write_param(const char *name, long val)
{
	char path[128], buf[32];

	snprintf(path, sizeof(path), PARAM_DIR "%s", name);
	snprintf(buf, sizeof(buf), "%ld\n", val);
	return bt_write_file(path, buf);
}

/* waits up to @secs for the generation to move past @gen, and LIVE */
static long wait_generation(int chip, long gen, double secs)
{
	double end = bt_now() + secs;
	char state[32] = "";
	long g;

	do {
		g = bt_attr_num(chip, "generation");
		if (g > gen && !bt_attr_str(chip, "state", state, sizeof(state)) &&
		    !strcmp(state, "live"))
			return g;
		usleep(100 * 1000);
	} while (bt_now() < end);
	return g;
}

FIXTURE(chip) {
	int chip;
	int fd;
	struct bcchip_ioc_info info;
};

FIXTURE_SETUP(chip)
{
	self->chip = bt_chip();
	self->fd = bt_wait_open(bt_chip_dev(self->chip), 5);
	ASSERT_GE(self->fd, 0) TH_LOG("open %s: %s", bt_chip_dev(self->chip),
				      strerror(errno));
	memset(&self->info, 0, sizeof(self->info));
	ASSERT_EQ(0, ioctl(self->fd, BCCHIP_IOC_INFO, &self->info));
	ASSERT_EQ(0, bt_wait_echo(self->fd, 10));
}

FIXTURE_TEARDOWN(chip)
{
	if (self->fd >= 0)
		close(self->fd);
}

TEST_F(chip, sysfs_attributes)
{
	char buf[128], want[64];
	long n;

	ASSERT_EQ(0, bt_attr_str(self->chip, "serial", buf, sizeof(buf)));
	EXPECT_EQ(0, memcmp(buf, self->info.serial, strlen(buf)));
	EXPECT_GT(strlen(buf), 0);
	ASSERT_EQ(0, bt_attr_str(self->chip, "firmware_version", buf,
				 sizeof(buf)));
	snprintf(want, sizeof(want), "%u.%u", self->info.fw_version >> 8,
		 self->info.fw_version & 0xff);
	EXPECT_STREQ(want, buf);
	ASSERT_EQ(0, bt_attr_str(self->chip, "state", buf, sizeof(buf)));
	EXPECT_STREQ("live", buf);
	EXPECT_EQ(self->info.generation,
		  bt_attr_num(self->chip, "generation"));
	EXPECT_EQ(self->info.nr_io_queues,
		  bt_attr_num(self->chip, "queue_count"));
	EXPECT_EQ(self->info.queue_depth,
		  bt_attr_num(self->chip, "queue_depth"));
	EXPECT_EQ(self->info.max_sessions,
		  bt_attr_num(self->chip, "session_limit"));
	EXPECT_GE(bt_attr_num(self->chip, "reset_count"), 0);
	EXPECT_GE(bt_attr_num(self->chip, "vector_count"), 1);

	/* sessions_in_use asks the chip: it sees our new session */
	n = bt_attr_num(self->chip, "sessions_in_use");
	ASSERT_GE(n, 0);
	uint32_t s = bt_session_open(self->fd);

	ASSERT_NE(0, s);
	EXPECT_EQ(n + 1, bt_attr_num(self->chip, "sessions_in_use"));
	EXPECT_EQ(BCFW_S_OK, bt_session_close(self->fd, s));
	EXPECT_EQ(n, bt_attr_num(self->chip, "sessions_in_use"));

	/* reading `reset` is not a thing */
	EXPECT_EQ(-EACCES, bt_attr_str(self->chip, "reset", buf, sizeof(buf)));
}

TEST_F(chip, admin_reset_ends_sessions)
{
	long gen = bt_attr_num(self->chip, "generation");
	long resets = bt_attr_num(self->chip, "reset_count");
	long base = bt_attr_num(self->chip, "sessions_in_use");
	struct bcchip_ioc_info info = { 0 };
	uint32_t s, gen_out = 0;

	ASSERT_GE(gen, 1);
	s = bt_session_open(self->fd);
	ASSERT_NE(0, s);
	EXPECT_EQ(base + 1, bt_attr_num(self->chip, "sessions_in_use"));

	ASSERT_EQ(0, bt_attr_write(self->chip, "reset", "1"));
	/* the write returns once the chip is back */
	EXPECT_EQ(gen + 1, bt_attr_num(self->chip, "generation"));
	EXPECT_EQ(resets + 1, bt_attr_num(self->chip, "reset_count"));
	ASSERT_EQ(0, ioctl(self->fd, BCCHIP_IOC_INFO, &info));
	EXPECT_EQ(BCCHIP_STATE_LIVE, info.state);
	EXPECT_EQ(gen + 1, info.generation);

	/* the open file survives; its old generation is stale */
	EXPECT_EQ(-ESTALE, bt_echo_gen(self->fd, gen, &gen_out));
	EXPECT_EQ(0, bt_echo_gen(self->fd, gen + 1, &gen_out));
	EXPECT_EQ(gen + 1, gen_out);
	/* the firmware forgot the session: every client's are gone */
	EXPECT_EQ(BCFW_S_SESSION_INVALID, bt_session_close(self->fd, s));
	EXPECT_EQ(0, bt_attr_num(self->chip, "sessions_in_use"));

	EXPECT_EQ(-EINVAL, bt_attr_write(self->chip, "reset", "0"));
	EXPECT_EQ(-EINVAL, bt_attr_write(self->chip, "reset", "x"));
}

static int drop_sys_admin(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data))
		return -1;
	data[CAP_SYS_ADMIN / 32].effective &= ~(1u << (CAP_SYS_ADMIN % 32));
	data[CAP_SYS_ADMIN / 32].permitted &= ~(1u << (CAP_SYS_ADMIN % 32));
	return syscall(SYS_capset, &hdr, data) ? -1 : 0;
}

TEST_F(chip, reset_needs_root_and_sys_admin)
{
	long gen = bt_attr_num(self->chip, "generation");
	int status, chip = self->chip;
	pid_t pid;

	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		/* root without CAP_SYS_ADMIN: EPERM from the driver */
		if (drop_sys_admin() ||
		    bt_attr_write(chip, "reset", "1") != -EPERM)
			_exit(1);
		/* anyone else: the mode (0200) stops them */
		if (setresuid(65534, 65534, 65534) ||
		    bt_attr_write(chip, "reset", "1") != -EACCES)
			_exit(2);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(gen, bt_attr_num(self->chip, "generation"));
}

struct sleeper {
	int fd;
	uint32_t msecs;
	int ret;
	double elapsed;
};

static void *sleeper_run(void *arg)
{
	struct sleeper *s = arg;
	double t0 = bt_now();

	s->ret = bt_sleep_cmd(s->fd, s->msecs, s->msecs + 10000);
	s->elapsed = bt_now() - t0;
	return NULL;
}

TEST_F_TIMEOUT(chip, reset_cancels_command_in_flight, 60)
{
	struct sleeper s = { .fd = self->fd, .msecs = 20000 };
	pthread_t thr;

	ASSERT_EQ(0, pthread_create(&thr, NULL, sleeper_run, &s));
	sleep(1);
	ASSERT_EQ(0, bt_attr_write(self->chip, "reset", "1"));
	ASSERT_EQ(0, pthread_join(thr, NULL));
	EXPECT_EQ(-ECANCELED, s.ret);
	EXPECT_LT(s.elapsed, 10.0) TH_LOG("took %.1f s", s.elapsed);
	EXPECT_EQ(0, bt_echo(self->fd));
}

TEST_F_TIMEOUT(chip, function_level_reset, 60)
{
	long gen = bt_attr_num(self->chip, "generation");
	char addr[64], path[128];

	ASSERT_EQ(0, bt_chip_pci(self->chip, addr, sizeof(addr)));
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/reset", addr);
	ASSERT_EQ(0, bt_write_file(path, "1")) TH_LOG("%s", path);
	EXPECT_EQ(gen + 1, wait_generation(self->chip, gen, 5));
	EXPECT_EQ(-ESTALE, bt_echo_gen(self->fd, gen, NULL));
	EXPECT_EQ(0, bt_echo(self->fd));
}

TEST_F_TIMEOUT(chip, fatal_status_resets, 60)
{
	long gen = bt_attr_num(self->chip, "generation");
	char addr[64], path[160];

	ASSERT_EQ(0, bt_chip_pci(self->chip, addr, sizeof(addr)));
	snprintf(path, sizeof(path),
		 "/sys/kernel/debug/bcchip/%s/inject_fatal", addr);
	if (access(path, W_OK))
		SKIP(return, "no %s", path);
	/* the driver rings a doorbell out of range: the chip sets CFS */
	ASSERT_EQ(0, bt_write_file(path, "1"));
	EXPECT_EQ(gen + 1, wait_generation(self->chip, gen, 10));
	EXPECT_EQ(0, bt_wait_echo(self->fd, 5));
}

/*
 * The firmware stops answering in the middle of commands: callers time
 * out, the watchdog aborts the commands and then resets the chip; when
 * the firmware comes back, so does the chip.
 */
TEST_F_TIMEOUT(chip, stopped_firmware_reset_and_recovery, 120)
{
	long gen = bt_attr_num(self->chip, "generation");
	long resets = bt_attr_num(self->chip, "reset_count");
	long saved_cmd = read_param("cmd_timeout_ms");
	long saved_rec = read_param("recovery_timeout_ms");
	double t0;
	int ret;

	ASSERT_GT(saved_cmd, 0);
	ASSERT_GT(saved_rec, 0);
	ASSERT_EQ(0, write_param("cmd_timeout_ms", 1500));
	ASSERT_EQ(0, write_param("recovery_timeout_ms", 3000));

	bt_ask_host("stop-emu", self->chip);
	sleep(1);
	/* monitoring reads sysfs: a frozen firmware costs it one second */
	t0 = bt_now();
	EXPECT_EQ(-ETIMEDOUT, bt_attr_num(self->chip, "sessions_in_use"));
	EXPECT_LT(bt_now() - t0, 1.5);
	t0 = bt_now();
	ret = bt_echo(self->fd);
	EXPECT_TRUE(ret == -ETIMEDOUT || ret == -ECANCELED) TH_LOG("%d", ret);
	EXPECT_LT(bt_now() - t0, 5.0);
	ret = bt_echo(self->fd);
	EXPECT_TRUE(ret == -ETIMEDOUT || ret == -ECANCELED ||
		    ret == -EAGAIN) TH_LOG("%d", ret);

	/* abort, then reset: the generation moves while the firmware sleeps */
	EXPECT_GT(wait_generation(self->chip, gen, 20), gen);
	EXPECT_GT(bt_attr_num(self->chip, "reset_count"), resets);

	bt_ask_host("cont-emu", self->chip);
	EXPECT_EQ(0, bt_wait_echo(self->fd, 15));
	EXPECT_EQ(-ESTALE, bt_echo_gen(self->fd, gen, NULL));
	EXPECT_EQ(0, write_param("cmd_timeout_ms", saved_cmd));
	EXPECT_EQ(0, write_param("recovery_timeout_ms", saved_rec));
	EXPECT_EQ(0, bt_echo(self->fd));
}

/*
 * One command the firmware takes too long over is aborted, not the chip
 * reset: the caller gets ECANCELED, the generation stays, and since the
 * firmware keeps answering, a second such command is aborted as well.
 */
TEST_F_TIMEOUT(chip, overdue_command_is_aborted, 90)
{
	long gen = bt_attr_num(self->chip, "generation");
	long saved_rec = read_param("recovery_timeout_ms");
	double t0, took;
	int i, ret;

	ASSERT_GT(saved_rec, 0);
	ASSERT_EQ(0, write_param("recovery_timeout_ms", 2000));
	for (i = 0; i < 2; i++) {
		t0 = bt_now();
		ret = bt_sleep_cmd(self->fd, 10000, 30000);
		took = bt_now() - t0;
		EXPECT_EQ(-ECANCELED, ret);
		EXPECT_LT(took, 6.0) TH_LOG("took %.1f s", took);
		EXPECT_GE(took, 1.9);
		EXPECT_EQ(0, bt_echo(self->fd));
	}
	EXPECT_EQ(0, write_param("recovery_timeout_ms", saved_rec));
	EXPECT_EQ(gen, bt_attr_num(self->chip, "generation"));
	/* the firmware finishes its sleeps; nothing comes of their answers */
	EXPECT_EQ(0, bt_echo(self->fd));
}

struct loader {
	int fd;
	volatile int *stop;
	long ok, canceled, again, other;
	int last_other;
};

static void *loader_run(void *arg)
{
	struct loader *l = arg;

	while (!*l->stop) {
		int ret = bt_echo(l->fd);

		if (!ret)
			l->ok++;
		else if (ret == -ECANCELED)
			l->canceled++;
		else if (ret == -EAGAIN)
			l->again++;
		else {
			l->other++;
			l->last_other = ret;
		}
	}
	return NULL;
}

TEST_F_TIMEOUT(chip, reset_under_load, 90)
{
	enum { NTHREADS = 8, NRESETS = 3 };
	struct loader l[NTHREADS];
	volatile int stop = 0;
	pthread_t thr[NTHREADS];
	long gen = bt_attr_num(self->chip, "generation");
	long ok_before = 0, ok_after = 0;
	int i;

	for (i = 0; i < NTHREADS; i++) {
		memset(&l[i], 0, sizeof(l[i]));
		l[i].fd = i % 2 ? self->fd : open(bt_chip_dev(self->chip),
						  O_RDWR | O_CLOEXEC);
		l[i].stop = &stop;
		ASSERT_GE(l[i].fd, 0);
		ASSERT_EQ(0, pthread_create(&thr[i], NULL, loader_run, &l[i]));
	}
	for (i = 0; i < NRESETS; i++) {
		usleep(700 * 1000);
		EXPECT_EQ(0, bt_attr_write(self->chip, "reset", "1"));
	}
	for (i = 0; i < NTHREADS; i++)
		ok_before += l[i].ok;
	usleep(700 * 1000);
	stop = 1;
	for (i = 0; i < NTHREADS; i++) {
		ASSERT_EQ(0, pthread_join(thr[i], NULL));
		ok_after += l[i].ok;
		EXPECT_EQ(0, l[i].other) TH_LOG("thread %d: errno %d", i,
						 -l[i].last_other);
		if (i % 2 == 0)
			close(l[i].fd);
	}
	EXPECT_EQ(gen + NRESETS, bt_attr_num(self->chip, "generation"));
	/* the chip kept answering between and after the resets */
	EXPECT_GT(ok_after, ok_before);
	EXPECT_EQ(0, bt_echo(self->fd));
}

/* A line in the kernel log, for the VM harness's dmesg check. */
/*
 * An uncorrectable PCIe error injected by QEMU (through the VM harness):
 * the AER handlers quiesce the chip (the command in flight gets
 * ECANCELED), the slot is reset (fatal) or not (non-fatal), and the chip
 * comes back with a new generation.
 */
/* ORs @bits into the 16-bit config register at @off of PCI device @dir. */
static int config_or16(const char *dir, off_t off, uint16_t bits)
{
	char path[PATH_MAX];
	uint8_t v[2];
	int fd, ok;

	snprintf(path, sizeof(path), "%s/config", dir);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ok = pread(fd, v, 2, off) == 2;
	if (ok) {
		uint16_t w = (v[0] | v[1] << 8) | bits;

		v[0] = w & 0xff;
		v[1] = w >> 8;
		ok = pwrite(fd, v, 2, off) == 2;
	}
	close(fd);
	return ok ? 0 : -EIO;
}

/* Offset of the PCI Express capability of PCI device @dir, or -1. */
static int exp_cap(const char *dir)
{
	char path[PATH_MAX];
	uint8_t cfg[256];
	int fd, pos, n = 0;

	snprintf(path, sizeof(path), "%s/config", dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (pread(fd, cfg, sizeof(cfg), 0) != sizeof(cfg)) {
		close(fd);
		return -1;
	}
	close(fd);
	for (pos = cfg[0x34] & ~3; pos >= 0x40 && n < 48; n++) {
		if (cfg[pos] == 0x10)
			return pos;
		pos = cfg[pos + 1] & ~3;
	}
	return -1;
}

/*
 * QEMU passes an error message up only through functions with SERR#
 * enabled (Command register bit 8; Bridge Control bit 1 on the root
 * port) and error reporting enabled in Device Control, which Linux
 * leaves off on some kernels: turn them on along the path.
 */
static int enable_serr(const char *addr)
{
	char dev[PATH_MAX], port[PATH_MAX];
	int ep_cap, rp_cap;
	char *slash;

	snprintf(dev, sizeof(dev), "/sys/bus/pci/devices/%s", addr);
	if (!realpath(dev, port))
		return -errno;
	slash = strrchr(port, '/');
	if (!slash)
		return -EINVAL;
	*slash = 0;
	ep_cap = exp_cap(dev);
	rp_cap = exp_cap(port);
	if (ep_cap < 0 || rp_cap < 0)
		return -ENOENT;
	/* Device Control: correctable, non-fatal, fatal reporting enable */
	if (config_or16(dev, 0x04, 0x100) || config_or16(port, 0x04, 0x100) ||
	    config_or16(port, 0x3e, 0x2) || config_or16(dev, ep_cap + 8, 0x7) ||
	    config_or16(port, rp_cap + 8, 0x7))
		return -EIO;
	return 0;
}

/*
 * Uncorrectable errors the AER driver saw, as counted by the root port
 * above PCI device @addr (a fatal error is not counted on the device: its
 * registers are not read with the link down); -1 without AER.
 */
static long aer_errors(const char *addr)
{
	static const char * const files[] = {
		"aer_rootport_total_err_fatal", "aer_rootport_total_err_nonfatal",
	};
	char dev[PATH_MAX], port[PATH_MAX + 64], buf[32];
	long total = 0;
	unsigned int i;
	char *slash;

	snprintf(dev, sizeof(dev), "/sys/bus/pci/devices/%s", addr);
	if (!realpath(dev, port))
		return -1;
	slash = strrchr(port, '/');
	if (!slash)
		return -1;
	for (i = 0; i < 2; i++) {
		snprintf(slash, sizeof(port) - (slash - port), "/%s", files[i]);
		if (bt_read_file(port, buf, sizeof(buf)))
			return -1;
		total += strtol(buf, NULL, 10);
	}
	return total;
}

static void aer_recovers(struct __test_metadata *_metadata,
			 FIXTURE_DATA(chip) *self, const char *verb)
{
	struct sleeper s = { .fd = self->fd, .msecs = 6000 };
	long gen = bt_attr_num(self->chip, "generation");
	char addr[64], state[32];
	long errs;
	double end;
	pthread_t thr;

	ASSERT_EQ(0, bt_chip_pci(self->chip, addr, sizeof(addr)));
	errs = aer_errors(addr);
	if (errs < 0)
		SKIP(return, "no AER on %s", addr);
	ASSERT_EQ(0, enable_serr(addr));
	bt_kmsg("@@BCCHIP-EXPECT-BEGIN AER injection\n");
	ASSERT_EQ(0, pthread_create(&thr, NULL, sleeper_run, &s));
	sleep(1);
	bt_ask_host(verb, self->chip);
	end = bt_now() + 4;
	while (aer_errors(addr) == errs && bt_now() < end)
		usleep(100 * 1000);
	ASSERT_EQ(0, pthread_join(thr, NULL));
	if (aer_errors(addr) == errs) {
		bt_kmsg("@@BCCHIP-EXPECT-END AER injection\n");
		SKIP(return, "the injected error did not reach the AER driver");
	}
	EXPECT_EQ(-ECANCELED, s.ret);
	EXPECT_GT(wait_generation(self->chip, gen, 20), gen);
	EXPECT_EQ(0, bt_wait_echo(self->fd, 10));
	EXPECT_EQ(-ESTALE, bt_echo_gen(self->fd, gen, NULL));
	ASSERT_EQ(0, bt_attr_str(self->chip, "state", state, sizeof(state)));
	EXPECT_STREQ("live", state);
	bt_kmsg("@@BCCHIP-EXPECT-END AER injection\n");
}

TEST_F_TIMEOUT(chip, aer_fatal_error_recovers, 60)
{
	aer_recovers(_metadata, self, "aer-fatal");
}

TEST_F_TIMEOUT(chip, aer_nonfatal_error_recovers, 60)
{
	aer_recovers(_metadata, self, "aer-nonfatal");
}

struct resetter {
	int chip;
	const char *path;	/* NULL: the chip's `reset` attribute */
	volatile int *stop;
	long done, busy, other;
	int last_other;
};

static void *resetter_run(void *arg)
{
	struct resetter *r = arg;

	while (!*r->stop) {
		int ret = r->path ? bt_write_file(r->path, "1") :
				    bt_attr_write(r->chip, "reset", "1");

		if (!ret)
			r->done++;
		else if (ret == -EBUSY)
			r->busy++;	/* the other kind of reset was running */
		else {
			r->other++;
			r->last_other = ret;
		}
		usleep(150 * 1000);
	}
	return NULL;
}

/* sysfs resets and function-level resets racing each other under load */
TEST_F_TIMEOUT(chip, racing_resets_under_load, 90)
{
	enum { NLOAD = 6 };
	struct loader l[NLOAD];
	struct resetter r[2];
	pthread_t lt[NLOAD], rt[2];
	volatile int stop = 0;
	char addr[64], flr[128], state[32];
	long gen = bt_attr_num(self->chip, "generation");
	int i;

	ASSERT_EQ(0, bt_chip_pci(self->chip, addr, sizeof(addr)));
	snprintf(flr, sizeof(flr), "/sys/bus/pci/devices/%s/reset", addr);
	for (i = 0; i < NLOAD; i++) {
		memset(&l[i], 0, sizeof(l[i]));
		l[i].fd = self->fd;
		l[i].stop = &stop;
		ASSERT_EQ(0, pthread_create(&lt[i], NULL, loader_run, &l[i]));
	}
	for (i = 0; i < 2; i++) {
		memset(&r[i], 0, sizeof(r[i]));
		r[i].chip = self->chip;
		r[i].path = i ? flr : NULL;
		r[i].stop = &stop;
		ASSERT_EQ(0, pthread_create(&rt[i], NULL, resetter_run, &r[i]));
	}
	sleep(4);
	stop = 1;
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, pthread_join(rt[i], NULL));
		EXPECT_GT(r[i].done, 0);
		EXPECT_EQ(0, r[i].other) TH_LOG("resetter %d: %d", i,
						 r[i].last_other);
	}
	for (i = 0; i < NLOAD; i++) {
		ASSERT_EQ(0, pthread_join(lt[i], NULL));
		EXPECT_EQ(0, l[i].other) TH_LOG("loader %d: %d", i,
						 l[i].last_other);
	}
	EXPECT_GE(bt_attr_num(self->chip, "generation"),
		  gen + r[0].done + r[1].done);
	ASSERT_EQ(0, bt_attr_str(self->chip, "state", state, sizeof(state)));
	EXPECT_STREQ("live", state);
	EXPECT_EQ(0, bt_echo(self->fd));
}

/*
 * A caller whose frame buffers fault and stay unresolved (a stalled FUSE
 * mapping, a userfaultfd nobody serves) must not hold up a reset: the
 * driver copies frames in and out outside the lock a reset waits for.
 * The faults are served by this test only after the reset is over (or
 * has failed to finish in time), so a regression fails instead of
 * hanging.
 */
struct stalled_cmd {
	int fd;
	void *req, *resp;
	int ret;
};

static void *stalled_cmd_run(void *arg)
{
	struct stalled_cmd *c = arg;
	struct bcchip_ioc_cmd cmd;

	c->ret = bt_cmd(c->fd, c->req, BCFW_HDR_SIZE, c->resp, 4096, &cmd);
	return NULL;
}

struct one_reset {
	int chip;
	int ret;
	volatile int done;
};

static void *one_reset_run(void *arg)
{
	struct one_reset *r = arg;

	r->ret = bt_attr_write(r->chip, "reset", "1");
	r->done = 1;
	return NULL;
}

/* a page whose first touch waits for us; returns the userfaultfd */
static int stalling_page(void **page, size_t size)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { 0 };
	int uffd;

	uffd = syscall(SYS_userfaultfd, O_CLOEXEC);
	if (uffd < 0)
		return -1;
	*page = mmap(NULL, size, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	reg.range.start = (uintptr_t)*page;
	reg.range.len = size;
	reg.mode = UFFDIO_REGISTER_MODE_MISSING;
	if (*page == MAP_FAILED || ioctl(uffd, UFFDIO_API, &api) ||
	    ioctl(uffd, UFFDIO_REGISTER, &reg)) {
		close(uffd);
		return -1;
	}
	return uffd;
}

static void stalled_buffer_reset(struct __test_metadata *_metadata,
				 int chip, int fd, bool stall_request)
{
	size_t psz = sysconf(_SC_PAGESIZE);
	struct stalled_cmd c = { .fd = fd };
	struct one_reset r = { .chip = chip };
	struct uffdio_copy copy = { 0 };
	static uint8_t frame[4096];
	struct uffd_msg msg;
	pthread_t ct, rt;
	struct pollfd pfd;
	void *page;
	double t0;
	int i, uffd;

	uffd = stalling_page(&page, psz);
	ASSERT_GE(uffd, 0) TH_LOG("userfaultfd: %s", strerror(errno));
	bt_frame(frame, BCFW_OP_ECHO, 0, NULL, 0);
	c.req = stall_request ? page : frame;
	c.resp = stall_request ? frame + BCFW_HDR_SIZE * 2 : page;
	ASSERT_EQ(0, pthread_create(&ct, NULL, stalled_cmd_run, &c));

	/* the command's copy is now stuck on the page */
	pfd.fd = uffd;
	pfd.events = POLLIN;
	ASSERT_EQ(1, poll(&pfd, 1, 10000));
	ASSERT_EQ((ssize_t)sizeof(msg), read(uffd, &msg, sizeof(msg)));
	ASSERT_EQ(UFFD_EVENT_PAGEFAULT, msg.event);

	t0 = bt_now();
	ASSERT_EQ(0, pthread_create(&rt, NULL, one_reset_run, &r));
	for (i = 0; i < 100 && !r.done; i++)
		usleep(100 * 1000);
	EXPECT_TRUE(r.done) TH_LOG("reset still waiting after %.1f s",
				   bt_now() - t0);

	/* serve the fault: the request page gets an ECHO frame */
	copy.dst = (uintptr_t)page;
	copy.src = (uintptr_t)frame;
	copy.len = psz;
	EXPECT_EQ(0, ioctl(uffd, UFFDIO_COPY, &copy));
	ASSERT_EQ(0, pthread_join(rt, NULL));
	ASSERT_EQ(0, pthread_join(ct, NULL));
	EXPECT_EQ(0, r.ret);
	/* the request reached the chip before or after the reset */
	EXPECT_TRUE(c.ret == 0 || c.ret == -ECANCELED || c.ret == -EAGAIN)
		TH_LOG("command: %d", c.ret);
	EXPECT_EQ(0, bt_echo(fd));
	munmap(page, psz);
	close(uffd);
}

TEST_F_TIMEOUT(chip, reset_not_held_up_by_stalled_request_buffer, 60)
{
	stalled_buffer_reset(_metadata, self->chip, self->fd, true);
}

TEST_F_TIMEOUT(chip, reset_not_held_up_by_stalled_response_buffer, 60)
{
	stalled_buffer_reset(_metadata, self->chip, self->fd, false);
}

TEST_HARNESS_MAIN
