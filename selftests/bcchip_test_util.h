/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the bcchip selftests: open the device under test,
 * build firmware frames, issue BCCHIP_IOC_CMD.
 */
#ifndef BCCHIP_TEST_UTIL_H
#define BCCHIP_TEST_UTIL_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#include <linux/bcchip.h>

#define BT_MAX_FRAME 32768u

/* Print the harness-independent closing line after the kselftest totals. */
#define BT_CLOSING_LINE()						\
	static void bt_print_totals(void)				\
	{								\
		printf("%u passed, %u failed, %u skipped\n",		\
		       ksft_cnt.ksft_pass, ksft_cnt.ksft_fail,		\
		       ksft_cnt.ksft_xskip);				\
		fflush(stdout);						\
	}								\
	static void __attribute__((constructor)) bt_register_totals(void) \
	{								\
		/* the harness's test children end with _exit(): a	\
		 * pipe's buffered lines would be lost */		\
		setvbuf(stdout, NULL, _IOLBF, 0);			\
		atexit(bt_print_totals);				\
	}

static inline const char *bt_dev_path(void)
{
	const char *p = getenv("BCCHIP_TEST_DEV");

	return p && *p ? p : "/dev/bcchip0";
}

static inline void bt_put_le16(uint8_t *p, uint16_t v)
{
	p[0] = v & 0xff;
	p[1] = v >> 8;
}

static inline void bt_put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (v >> (8 * i)) & 0xff;
}

static inline uint32_t bt_get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/* Build a request frame in @buf; returns its length. */
static inline uint32_t bt_frame(uint8_t *buf, uint16_t opcode,
				uint32_t session, const void *body,
				uint32_t body_len)
{
	uint32_t len = BCFW_HDR_SIZE + body_len;

	memset(buf, 0, BCFW_HDR_SIZE);
	bt_put_le32(buf + 0, BCFW_MAGIC);
	buf[4] = BCFW_PROTO_VERSION;
	bt_put_le16(buf + 6, opcode);
	bt_put_le32(buf + 8, len);
	bt_put_le32(buf + 12, session);
	if (body_len)
		memcpy(buf + BCFW_HDR_SIZE, body, body_len);
	return len;
}

/* Issue one command; returns 0 or -errno, fills @cmd. */
static inline int bt_cmd(int fd, const void *req, uint32_t req_len,
			 void *resp, uint32_t resp_len,
			 struct bcchip_ioc_cmd *cmd)
{
	memset(cmd, 0, sizeof(*cmd));
	cmd->req_len = req_len;
	cmd->req_ptr = (uintptr_t)req;
	cmd->resp_ptr = (uintptr_t)resp;
	cmd->resp_len = resp_len;
	if (ioctl(fd, BCCHIP_IOC_CMD, cmd) < 0)
		return -errno;
	return 0;
}

static inline double bt_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

#endif
