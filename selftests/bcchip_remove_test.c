// SPDX-License-Identifier: GPL-2.0
/*
 * Removing a chip's PCI device while a file is open and a command is in
 * flight: the waiter fails with ENODEV, later ioctls on the old file fail
 * with ENODEV, closing it is fine, and a rescan brings the chip back.
 * The same for unbinding the driver (then binding it again) and for a
 * hot-unplug from QEMU (device_del over QMP through the VM harness, then
 * device_add).  Chip $BCCHIP_TEST_CHIP (default 1).  Needs root and sysfs.
 */
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "bcchip_chip_util.h"

BT_CLOSING_LINE()

static int chip_index(void)
{
	return bt_chip();
}

static int write_file(const char *path, const char *val)
{
	return bt_write_file(path, val);
}

static int echo(int fd)
{
	return bt_echo(fd);
}

struct sleeper {
	int fd;
	int ret;
	double elapsed;
};

static void *sleeper_run(void *arg)
{
	struct sleeper *s = arg;
	struct bcfw_sleep_req body = { .msecs = 20000 };
	uint8_t req[64], resp[128];
	struct bcchip_ioc_cmd cmd;
	uint32_t len = bt_frame(req, BCFW_OP_SLEEP, 0, &body, sizeof(body));
	double t0 = bt_now();

	s->ret = bt_cmd(s->fd, req, len, resp, sizeof(resp), &cmd);
	s->elapsed = bt_now() - t0;
	return NULL;
}

FIXTURE(chip) {
	int unused;
};

FIXTURE_SETUP(chip)
{
}

FIXTURE_TEARDOWN(chip)
{
}

TEST_F_TIMEOUT(chip, remove_with_open_file, 60)
{
	char dev[64], link[128], target[PATH_MAX], path[PATH_MAX + 64];
	struct bcchip_ioc_info info = { 0 };
	struct sleeper s = { 0 };
	const char *addr;
	pthread_t thr;
	ssize_t n;
	int fd2 = -1;

	snprintf(dev, sizeof(dev), "/dev/bcchip%d", chip_index());
	snprintf(link, sizeof(link), "/sys/class/bcchip/bcchip%d/device",
		 chip_index());
	n = readlink(link, target, sizeof(target) - 1);
	ASSERT_GT(n, 0) TH_LOG("readlink %s: %s", link, strerror(errno));
	target[n] = 0;
	addr = strrchr(target, '/');
	addr = addr ? addr + 1 : target;

	s.fd = open(dev, O_RDWR | O_CLOEXEC);
	ASSERT_GE(s.fd, 0) TH_LOG("open %s: %s", dev, strerror(errno));
	ASSERT_EQ(0, echo(s.fd));
	ASSERT_EQ(0, pthread_create(&thr, NULL, sleeper_run, &s));
	sleep(1);

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/remove", addr);
	ASSERT_EQ(0, write_file(path, "1")) TH_LOG("%s", path);
	ASSERT_EQ(0, pthread_join(thr, NULL));
	EXPECT_EQ(-ENODEV, s.ret);
	EXPECT_LT(s.elapsed, 10.0);

	EXPECT_EQ(-ENODEV, echo(s.fd));
	EXPECT_EQ(-1, ioctl(s.fd, BCCHIP_IOC_INFO, &info));
	EXPECT_EQ(ENODEV, errno);
	EXPECT_EQ(0, close(s.fd));

	/* the chip comes back, with a working node */
	ASSERT_EQ(0, write_file("/sys/bus/pci/rescan", "1"));
	for (int i = 0; i < 50 && fd2 < 0; i++) {
		fd2 = open(dev, O_RDWR | O_CLOEXEC);
		if (fd2 < 0)
			usleep(100 * 1000);
	}
	ASSERT_GE(fd2, 0) TH_LOG("%s did not come back", dev);
	EXPECT_EQ(0, echo(fd2));
	close(fd2);
}

/*
 * Files open with a command in flight and a session each, then @detach
 * runs; the command and every later ioctl fail with ENODEV, then
 * @attach brings the chip back.
 */
static void detach_with_files_open(struct __test_metadata *_metadata,
				   void (*detach)(int chip, const char *addr),
				   void (*attach)(int chip, const char *addr),
				   double detach_secs)
{
	int chip = bt_chip(), fd2 = -1, fd3;
	struct bcchip_ioc_info info = { 0 };
	struct sleeper s = { 0 };
	char addr[64], cls[96];
	struct stat st;
	pthread_t thr;

	ASSERT_EQ(0, bt_chip_pci(chip, addr, sizeof(addr)));
	s.fd = open(bt_chip_dev(chip), O_RDWR | O_CLOEXEC);
	ASSERT_GE(s.fd, 0);
	fd3 = open(bt_chip_dev(chip), O_RDONLY | O_CLOEXEC);
	ASSERT_GE(fd3, 0);
	ASSERT_EQ(0, bt_wait_echo(s.fd, 10));
	ASSERT_NE(0, bt_session_open(fd3));
	ASSERT_EQ(0, pthread_create(&thr, NULL, sleeper_run, &s));
	sleep(1);

	detach(chip, addr);
	ASSERT_EQ(0, pthread_join(thr, NULL));
	EXPECT_EQ(-ENODEV, s.ret);
	EXPECT_LT(s.elapsed, detach_secs) TH_LOG("took %.1f s", s.elapsed);
	EXPECT_EQ(-ENODEV, bt_echo(s.fd));
	EXPECT_EQ(-ENODEV, bt_echo(fd3));
	EXPECT_EQ(-1, ioctl(fd3, BCCHIP_IOC_INFO, &info));
	EXPECT_EQ(ENODEV, errno);
	/* the class device is gone with the chip */
	snprintf(cls, sizeof(cls), "/sys/class/bcchip/bcchip%d", chip);
	for (int i = 0; i < 100 && !stat(cls, &st); i++)
		usleep(100 * 1000);
	EXPECT_NE(0, stat(cls, &st));
	EXPECT_EQ(0, close(s.fd));

	attach(chip, addr);
	fd2 = bt_wait_open(bt_chip_dev(chip), 30);
	ASSERT_GE(fd2, 0) TH_LOG("%s did not come back", bt_chip_dev(chip));
	EXPECT_EQ(0, bt_wait_echo(fd2, 10));
	/* a file from before is still only good for close() */
	EXPECT_EQ(-ENODEV, bt_echo(fd3));
	EXPECT_EQ(0, close(fd3));
	/* the firmware forgot the old clients' sessions */
	EXPECT_EQ(0, bt_wait_sessions(chip, 0, 10));
	close(fd2);
}

static void unbind(int chip __attribute__((unused)), const char *addr)
{
	if (bt_write_file("/sys/bus/pci/drivers/bcchip/unbind", addr))
		printf("# unbind %s failed\n", addr);
}

static void bind(int chip __attribute__((unused)), const char *addr)
{
	if (bt_write_file("/sys/bus/pci/drivers/bcchip/bind", addr))
		printf("# bind %s failed\n", addr);
}

TEST_F_TIMEOUT(chip, unbind_rebind_with_files_open, 60)
{
	detach_with_files_open(_metadata, unbind, bind, 10.0);
}

struct churner {
	int chip;
	int fd;
	volatile int *stop;
	long ok, gone, other;
	int last_other;
	bool resetter;
};

/*
 * Echo in a loop on its own file, or (resetter) reset the chip in a loop
 * through sysfs, until told to stop.  While the chip goes away, the only
 * acceptable failures are the documented ones.
 */
static void *churner_run(void *arg)
{
	struct churner *c = arg;

	while (!*c->stop) {
		int ret;

		if (c->resetter) {
			ret = bt_attr_write(c->chip, "reset", "1");
			/* the attribute goes with the chip */
			if (ret == -ENOENT || ret == -ENODEV)
				ret = -ENODEV;
			usleep(50 * 1000);
		} else {
			ret = bt_echo(c->fd);
		}
		if (!ret)
			c->ok++;
		else if (ret == -ENODEV)
			c->gone++;
		else if (ret == -ECANCELED || ret == -EAGAIN || ret == -EBUSY)
			continue;
		else {
			c->other++;
			c->last_other = ret;
		}
	}
	return NULL;
}

TEST_F_TIMEOUT(chip, unbind_during_load_and_resets, 60)
{
	enum { NCHURN = 6 };
	struct churner c[NCHURN];
	pthread_t thr[NCHURN];
	volatile int stop = 0;
	int chip = bt_chip(), i, fd;
	char addr[64];

	ASSERT_EQ(0, bt_chip_pci(chip, addr, sizeof(addr)));
	for (i = 0; i < NCHURN; i++) {
		memset(&c[i], 0, sizeof(c[i]));
		c[i].chip = chip;
		c[i].stop = &stop;
		c[i].resetter = i == 0;
		c[i].fd = open(bt_chip_dev(chip), O_RDWR | O_CLOEXEC);
		ASSERT_GE(c[i].fd, 0);
		ASSERT_EQ(0, pthread_create(&thr[i], NULL, churner_run, &c[i]));
	}
	sleep(1);
	unbind(chip, addr);
	usleep(500 * 1000);
	stop = 1;
	for (i = 0; i < NCHURN; i++) {
		ASSERT_EQ(0, pthread_join(thr[i], NULL));
		EXPECT_EQ(0, c[i].other) TH_LOG("thread %d: %d", i,
						 c[i].last_other);
		if (!c[i].resetter) {
			EXPECT_GT(c[i].ok, 0);
			EXPECT_GT(c[i].gone, 0);
			EXPECT_EQ(-ENODEV, bt_echo(c[i].fd));
		}
		EXPECT_EQ(0, close(c[i].fd));
	}
	bind(chip, addr);
	fd = bt_wait_open(bt_chip_dev(chip), 10);
	ASSERT_GE(fd, 0);
	EXPECT_EQ(0, bt_wait_echo(fd, 10));
	EXPECT_EQ(0, bt_wait_sessions(chip, 0, 10));
	close(fd);
}

static void qmp_del(int chip, const char *addr __attribute__((unused)))
{
	bt_ask_host("qmp-del", chip);
}

static void qmp_add(int chip, const char *addr)
{
	char path[128];
	struct stat st;

	/* QEMU lets the device go once the guest has powered the slot off */
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s", addr);
	for (int i = 0; i < 200 && !stat(path, &st); i++)
		usleep(100 * 1000);
	sleep(1);
	bt_ask_host("qmp-add", chip);
}

TEST_F_TIMEOUT(chip, qmp_hot_unplug_with_files_open, 120)
{
	if (access("/sys/bus/pci/slots", F_OK))
		SKIP(return, "no PCI hotplug slots");
	/* pciehp waits 5 s after the attention button before it acts */
	detach_with_files_open(_metadata, qmp_del, qmp_add, 15.0);
}

TEST_HARNESS_MAIN
