/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for the selftests that act on a whole chip: its sysfs
 * attributes, its PCI device, the VM harness (@@BCCHIP-HOST requests),
 * and a few firmware commands.  The chip is $BCCHIP_TEST_CHIP (default
 * 1, the one the VM tests may disrupt).
 */
#ifndef BCCHIP_CHIP_UTIL_H
#define BCCHIP_CHIP_UTIL_H

#include <fcntl.h>
#include <limits.h>
#include <unistd.h>

#include "bcchip_test_util.h"

static inline int bt_chip(void)
{
	const char *p = getenv("BCCHIP_TEST_CHIP");

	return p && *p ? atoi(p) : 1;
}

static inline const char *bt_chip_dev(int chip)
{
	/* per thread: workers name their chips concurrently */
	static __thread char path[64];

	snprintf(path, sizeof(path), "/dev/bcchip%d", chip);
	return path;
}

static inline int bt_write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;
	int err;

	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	err = errno;
	if (close(fd) && n >= 0)
		return -EIO;
	return n < 0 ? -err : 0;
}

/* Reads a sysfs file into @buf without the newline; -errno on failure. */
static inline int bt_read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;
	int err;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	err = errno;
	close(fd);
	if (n < 0)
		return -err;
	buf[n] = 0;
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = 0;
	return 0;
}

/* /sys/class/bcchip/bcchip<chip>/<attr> as a number; -errno if unreadable */
static inline long bt_attr_num(int chip, const char *attr)
{
	char path[128], buf[64];
	int ret;

	snprintf(path, sizeof(path), "/sys/class/bcchip/bcchip%d/%s", chip,
		 attr);
	ret = bt_read_file(path, buf, sizeof(buf));
	if (ret)
		return ret;
	return strtol(buf, NULL, 10);
}

static inline int bt_attr_str(int chip, const char *attr, char *buf,
			      size_t size)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/class/bcchip/bcchip%d/%s", chip,
		 attr);
	return bt_read_file(path, buf, size);
}

static inline int bt_attr_write(int chip, const char *attr, const char *val)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/class/bcchip/bcchip%d/%s", chip,
		 attr);
	return bt_write_file(path, val);
}

/* The chip's PCI address (0000:01:00.0) into @addr; -errno on failure. */
static inline int bt_chip_pci(int chip, char *addr, size_t size)
{
	char link[128], target[PATH_MAX];
	const char *base;
	ssize_t n;

	snprintf(link, sizeof(link), "/sys/class/bcchip/bcchip%d/device", chip);
	n = readlink(link, target, sizeof(target) - 1);
	if (n <= 0)
		return -errno;
	target[n] = 0;
	base = strrchr(target, '/');
	base = base ? base + 1 : target;
	if (strlen(base) >= size)
		return -ENAMETOOLONG;
	memcpy(addr, base, strlen(base) + 1);
	return 0;
}

/* Chip @chip's debugfs file @name (rings, clients...) for reading, or NULL. */
static inline FILE *bt_debugfs_open(int chip, const char *name)
{
	char addr[64], path[160];

	if (bt_chip_pci(chip, addr, sizeof(addr)))
		return NULL;
	snprintf(path, sizeof(path), "/sys/kernel/debug/bcchip/%s/%s", addr,
		 name);
	return fopen(path, "re");
}

/*
 * Asks the VM harness to act on chip @chip's emulator or device.  The
 * harness reads the serial console: with our output redirected, the line
 * goes to /dev/console as well.
 */
static inline void bt_ask_host(const char *verb, int chip)
{
	char line[64];
	int n, fd;

	n = snprintf(line, sizeof(line), "@@BCCHIP-HOST %s %d\n", verb, chip);
	fflush(stdout);
	fputs(line, stdout);
	fflush(stdout);
	if (isatty(STDOUT_FILENO))
		return;
	fd = open("/dev/console", O_WRONLY | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (write(fd, line, n) != n)
		fprintf(stderr, "# writing to /dev/console: %s\n",
			strerror(errno));
	close(fd);
}

/*
 * A line into the kernel log: the VM harness lets warnings between
 * "@@BCCHIP-EXPECT-BEGIN" and "@@BCCHIP-EXPECT-END" lines through.
 */
static inline void bt_kmsg(const char *line)
{
	int fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	if (write(fd, line, strlen(line)) < 0)
		fprintf(stderr, "# /dev/kmsg: %s\n", strerror(errno));
	close(fd);
}

/* Waits up to @secs for @path to open; returns the fd or -1. */
static inline int bt_wait_open(const char *path, double secs)
{
	double end = bt_now() + secs;
	int fd;

	do {
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd >= 0)
			return fd;
		usleep(100 * 1000);
	} while (bt_now() < end);
	return -1;
}

/*
 * ECHO of @n bytes of @data (at most 64), checked: an answer that is not
 * this caller's own is -EBADMSG.  @gen is passed as the generation.
 */
static inline int bt_echo_data(int fd, const void *data, uint32_t n,
			       uint32_t gen, uint32_t *gen_out)
{
	uint8_t req[BCFW_HDR_SIZE + 64], resp[BCFW_HDR_SIZE + 128];
	struct bcchip_ioc_cmd cmd;
	uint32_t len;

	if (n > 64)
		return -EINVAL;
	len = bt_frame(req, BCFW_OP_ECHO, 0, data, n);
	memset(&cmd, 0, sizeof(cmd));
	cmd.req_len = len;
	cmd.req_ptr = (uintptr_t)req;
	cmd.resp_ptr = (uintptr_t)resp;
	cmd.resp_len = sizeof(resp);
	cmd.generation = gen;
	if (ioctl(fd, BCCHIP_IOC_CMD, &cmd) < 0)
		return -errno;
	if (gen_out)
		*gen_out = cmd.generation;
	if (cmd.fw_status != BCFW_S_OK || cmd.resp_len != len ||
	    memcmp(resp + BCFW_HDR_SIZE, data, n))
		return -EBADMSG;
	return 0;
}

/* ECHO of a short payload, checked; @gen is passed as the generation. */
static inline int bt_echo_gen(int fd, uint32_t gen, uint32_t *gen_out)
{
	return bt_echo_data(fd, "ping", 4, gen, gen_out);
}

static inline int bt_echo(int fd)
{
	return bt_echo_gen(fd, 0, NULL);
}

static inline int bt_wait_echo(int fd, double secs)
{
	double end = bt_now() + secs;
	int ret;

	do {
		ret = bt_echo(fd);
		if (!ret)
			return 0;
		usleep(200 * 1000);
	} while (bt_now() < end);
	return ret;
}

/* SLEEP for @msecs on the firmware; returns 0 or -errno. */
static inline int bt_sleep_cmd(int fd, uint32_t msecs, uint32_t timeout_ms)
{
	struct bcfw_sleep_req body = { .msecs = msecs };
	uint8_t req[64], resp[128];
	struct bcchip_ioc_cmd cmd;
	uint32_t len = bt_frame(req, BCFW_OP_SLEEP, 0, &body, sizeof(body));

	memset(&cmd, 0, sizeof(cmd));
	cmd.req_len = len;
	cmd.req_ptr = (uintptr_t)req;
	cmd.resp_ptr = (uintptr_t)resp;
	cmd.resp_len = sizeof(resp);
	cmd.timeout_ms = timeout_ms;
	if (ioctl(fd, BCCHIP_IOC_CMD, &cmd) < 0)
		return -errno;
	return 0;
}

/* Opens a session; returns its handle, or 0. */
static inline uint32_t bt_session_open(int fd)
{
	struct bcfw_session_open_req body = { 0 };
	uint8_t req[64], resp[128];
	struct bcchip_ioc_cmd cmd;
	uint32_t len = bt_frame(req, BCFW_OP_SESSION_OPEN, 0, &body,
				sizeof(body));

	if (bt_cmd(fd, req, len, resp, sizeof(resp), &cmd) ||
	    cmd.fw_status != BCFW_S_OK ||
	    cmd.resp_len < BCFW_HDR_SIZE + sizeof(struct bcfw_session_open_resp))
		return 0;
	return bt_get_le32(resp + BCFW_HDR_SIZE);
}

/* Closes a session: fw_status, or 1000 + errno when the ioctl failed. */
static inline uint32_t bt_session_close(int fd, uint32_t session)
{
	uint8_t req[64], resp[128];
	struct bcchip_ioc_cmd cmd;
	uint32_t len = bt_frame(req, BCFW_OP_SESSION_CLOSE, session, NULL, 0);
	int ret = bt_cmd(fd, req, len, resp, sizeof(resp), &cmd);

	return ret ? 1000u - ret : cmd.fw_status;
}

/* Waits up to @secs for sysfs sessions_in_use to equal @want. */
static inline long bt_wait_sessions(int chip, long want, double secs)
{
	double end = bt_now() + secs;
	long n;

	do {
		n = bt_attr_num(chip, "sessions_in_use");
		if (n == want)
			return n;
		usleep(100 * 1000);
	} while (bt_now() < end);
	return n;
}

#endif
