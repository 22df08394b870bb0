// SPDX-License-Identifier: GPL-2.0
/*
 * Removing a chip's PCI device while a file is open and a command is in
 * flight: the waiter fails with ENODEV, later ioctls on the old file fail
 * with ENODEV, closing it is fine, and a rescan brings the chip back.
 * Chip $BCCHIP_TEST_CHIP (default 1).  Needs root and sysfs.
 */
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "bcchip_test_util.h"

BT_CLOSING_LINE()

static int chip_index(void)
{
	const char *p = getenv("BCCHIP_TEST_CHIP");

	return p && *p ? atoi(p) : 1;
}

static int write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	if (close(fd) || n < 0)
		return -EIO;
	return 0;
}

static int echo(int fd)
{
	uint8_t req[64], resp[128];
	struct bcchip_ioc_cmd cmd;
	uint32_t len = bt_frame(req, BCFW_OP_ECHO, 0, "ping", 4);

	return bt_cmd(fd, req, len, resp, sizeof(resp), &cmd);
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

TEST_HARNESS_MAIN
