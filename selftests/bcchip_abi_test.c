// SPDX-License-Identifier: GPL-2.0
/*
 * ABI tests of /dev/bcchipN (or $BCCHIP_TEST_DEV): the ioctl contract of
 * docs/ioctl.md as user space sees it, against a live chip.
 */
#include <fcntl.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "bcchip_test_util.h"

BT_CLOSING_LINE()

static uint8_t req[BT_MAX_FRAME + 64];
static uint8_t resp[BT_MAX_FRAME + 64];

/* sessions_in_use from a GET_INFO frame, or -1 */
static long sessions_in_use(int fd)
{
	struct bcchip_ioc_cmd cmd;
	uint32_t len = bt_frame(req, BCFW_OP_GET_INFO, 0, NULL, 0);

	if (bt_cmd(fd, req, len, resp, sizeof(resp), &cmd) ||
	    cmd.fw_status != BCFW_S_OK ||
	    cmd.resp_len < BCFW_HDR_SIZE + sizeof(struct bcfw_info))
		return -1;
	return bt_get_le32(resp + BCFW_HDR_SIZE +
			   offsetof(struct bcfw_info, sessions_in_use));
}

/* opens a session; returns its handle or 0 */
static uint32_t session_open(int fd)
{
	struct bcfw_session_open_req body = { 0 };
	struct bcchip_ioc_cmd cmd;
	uint32_t len = bt_frame(req, BCFW_OP_SESSION_OPEN, 0, &body,
				sizeof(body));

	if (bt_cmd(fd, req, len, resp, sizeof(resp), &cmd) ||
	    cmd.fw_status != BCFW_S_OK ||
	    cmd.resp_len < BCFW_HDR_SIZE + sizeof(struct bcfw_session_open_resp))
		return 0;
	return bt_get_le32(resp + BCFW_HDR_SIZE);
}

/* closes a session; returns fw_status, or 1000 + errno on ioctl failure */
static uint32_t session_close(int fd, uint32_t session)
{
	struct bcchip_ioc_cmd cmd;
	uint32_t len = bt_frame(req, BCFW_OP_SESSION_CLOSE, session, NULL, 0);
	int ret = bt_cmd(fd, req, len, resp, sizeof(resp), &cmd);

	return ret ? 1000u - ret : cmd.fw_status;
}

FIXTURE(dev) {
	int fd;
	struct bcchip_ioc_info info;
};

FIXTURE_SETUP(dev)
{
	self->fd = open(bt_dev_path(), O_RDWR | O_CLOEXEC);
	ASSERT_GE(self->fd, 0) TH_LOG("open %s: %s", bt_dev_path(),
				      strerror(errno));
	memset(&self->info, 0, sizeof(self->info));
	ASSERT_EQ(0, ioctl(self->fd, BCCHIP_IOC_INFO, &self->info));
}

FIXTURE_TEARDOWN(dev)
{
	if (self->fd >= 0)
		close(self->fd);
}

TEST_F(dev, info_fields)
{
	struct bcchip_ioc_info *in = &self->info;
	int blank = 1;

	EXPECT_EQ(BCCHIP_ABI_VERSION, in->abi_version);
	EXPECT_EQ(0x00010000u, in->hw_version);
	EXPECT_EQ(BCCHIP_STATE_LIVE, in->state);
	EXPECT_NE(0u, in->generation);
	EXPECT_GE(in->nr_io_queues, 1u);
	EXPECT_GE(in->queue_depth, 2u);
	EXPECT_EQ(BT_MAX_FRAME, in->max_frame);
	EXPECT_EQ(64u, in->max_sessions);
	EXPECT_NE(0u, in->client_id);
	EXPECT_EQ(0u, in->reserved0);
	for (size_t i = 0; i < sizeof(in->serial); i++) {
		EXPECT_TRUE(in->serial[i] >= 0x20 && in->serial[i] < 0x7f);
		if (in->serial[i] != ' ')
			blank = 0;
	}
	EXPECT_FALSE(blank);
}

TEST_F(dev, client_ids_differ)
{
	struct bcchip_ioc_info other = { 0 };
	int fd2 = open(bt_dev_path(), O_RDWR | O_CLOEXEC);

	ASSERT_GE(fd2, 0);
	ASSERT_EQ(0, ioctl(fd2, BCCHIP_IOC_INFO, &other));
	EXPECT_NE(0u, other.client_id);
	EXPECT_NE(self->info.client_id, other.client_id);
	close(fd2);
}

TEST_F(dev, echo_sizes)
{
	uint32_t max_body = self->info.max_frame - BCFW_HDR_SIZE;
	uint32_t sizes[] = { 0, 1, 7, 100, 4096, 12345, max_body };

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint32_t n = sizes[i], len;
		struct bcchip_ioc_cmd cmd;
		static uint8_t body[BT_MAX_FRAME];

		for (uint32_t j = 0; j < n; j++)
			body[j] = (uint8_t)(j * 7 + i);
		len = bt_frame(req, BCFW_OP_ECHO, 0, body, n);
		memset(resp, 0xee, sizeof(resp));
		ASSERT_EQ(0, bt_cmd(self->fd, req, len, resp,
				    self->info.max_frame, &cmd))
			TH_LOG("echo of %u bytes", n);
		EXPECT_EQ(BCFW_S_OK, cmd.fw_status);
		EXPECT_EQ(len, cmd.resp_len);
		EXPECT_EQ(BCFW_MAGIC, bt_get_le32(resp));
		EXPECT_EQ(len, bt_get_le32(resp + 8));
		EXPECT_EQ(0, memcmp(resp + BCFW_HDR_SIZE, body, n));
		EXPECT_EQ(self->info.generation, cmd.generation);
	}
}

TEST_F(dev, random_differs)
{
	struct bcfw_random_req body = { .length = 32 };
	struct bcchip_ioc_cmd cmd;
	uint8_t first[32];
	uint32_t len = bt_frame(req, BCFW_OP_RANDOM, 0, &body, sizeof(body));

	ASSERT_EQ(0, bt_cmd(self->fd, req, len, resp, sizeof(resp), &cmd));
	ASSERT_EQ(BCFW_S_OK, cmd.fw_status);
	ASSERT_EQ(BCFW_HDR_SIZE + 32u, cmd.resp_len);
	memcpy(first, resp + BCFW_HDR_SIZE, 32);
	ASSERT_EQ(0, bt_cmd(self->fd, req, len, resp, sizeof(resp), &cmd));
	ASSERT_EQ(BCFW_HDR_SIZE + 32u, cmd.resp_len);
	EXPECT_NE(0, memcmp(first, resp + BCFW_HDR_SIZE, 32));
}

TEST_F(dev, wrong_size)
{
	struct {
		struct bcchip_ioc_cmd cmd;
		uint64_t tail;
	} big;
	struct bcchip_ioc_info info_big[2];
	uint32_t len = bt_frame(req, BCFW_OP_ECHO, 0, "abc", 3);
	unsigned long small_nr = _IOC(_IOC_READ | _IOC_WRITE, BCCHIP_IOC_MAGIC,
				      1, sizeof(struct bcchip_ioc_cmd) - 8);
	unsigned long big_nr = _IOC(_IOC_READ | _IOC_WRITE, BCCHIP_IOC_MAGIC,
				    1, sizeof(big));

	memset(&big, 0, sizeof(big));
	big.cmd.req_len = len;
	big.cmd.req_ptr = (uintptr_t)req;
	big.cmd.resp_ptr = (uintptr_t)resp;
	big.cmd.resp_len = sizeof(resp);
	EXPECT_EQ(-1, ioctl(self->fd, small_nr, &big));
	EXPECT_EQ(EINVAL, errno);

	/* a newer caller's struct with a zero tail is fine */
	EXPECT_EQ(0, ioctl(self->fd, big_nr, &big));
	EXPECT_EQ(len, big.cmd.resp_len);

	big.cmd.resp_len = sizeof(resp);
	big.tail = 1;
	EXPECT_EQ(-1, ioctl(self->fd, big_nr, &big));
	EXPECT_EQ(E2BIG, errno);

	memset(info_big, 0, sizeof(info_big));
	EXPECT_EQ(-1, ioctl(self->fd, _IOC(_IOC_READ | _IOC_WRITE,
					    BCCHIP_IOC_MAGIC, 0, 16),
			    info_big));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0, ioctl(self->fd, _IOC(_IOC_READ | _IOC_WRITE,
					   BCCHIP_IOC_MAGIC, 0,
					   sizeof(info_big)), info_big));
	EXPECT_EQ(BCCHIP_ABI_VERSION, info_big[0].abi_version);
	((uint8_t *)&info_big[1])[5] = 1;
	EXPECT_EQ(-1, ioctl(self->fd, _IOC(_IOC_READ | _IOC_WRITE,
					    BCCHIP_IOC_MAGIC, 0,
					    sizeof(info_big)), info_big));
	EXPECT_EQ(E2BIG, errno);
}

TEST_F(dev, reserved_and_flags)
{
	struct bcchip_ioc_info info;
	struct bcchip_ioc_cmd cmd;
	uint32_t len = bt_frame(req, BCFW_OP_ECHO, 0, NULL, 0);

	memset(&info, 0, sizeof(info));
	info.flags = 1;
	EXPECT_EQ(-1, ioctl(self->fd, BCCHIP_IOC_INFO, &info));
	EXPECT_EQ(EINVAL, errno);
	memset(&info, 0, sizeof(info));
	info.reserved[3] = 1;
	EXPECT_EQ(-1, ioctl(self->fd, BCCHIP_IOC_INFO, &info));
	EXPECT_EQ(EINVAL, errno);

	memset(&cmd, 0, sizeof(cmd));
	cmd.req_len = len;
	cmd.req_ptr = (uintptr_t)req;
	cmd.resp_ptr = (uintptr_t)resp;
	cmd.resp_len = sizeof(resp);
	cmd.flags = 1;
	EXPECT_EQ(-1, ioctl(self->fd, BCCHIP_IOC_CMD, &cmd));
	EXPECT_EQ(EINVAL, errno);
	cmd.flags = 0;
	cmd.reserved[1] = 1;
	EXPECT_EQ(-1, ioctl(self->fd, BCCHIP_IOC_CMD, &cmd));
	EXPECT_EQ(EINVAL, errno);
	cmd.reserved[1] = 0;
	EXPECT_EQ(0, ioctl(self->fd, BCCHIP_IOC_CMD, &cmd));
}

TEST_F(dev, bad_pointers)
{
	struct bcchip_ioc_cmd cmd;
	uint32_t len = bt_frame(req, BCFW_OP_ECHO, 0, "x", 1);

	EXPECT_EQ(-1, ioctl(self->fd, BCCHIP_IOC_INFO, NULL));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(self->fd, BCCHIP_IOC_CMD, (void *)8));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-EFAULT, bt_cmd(self->fd, (void *)8, len, resp,
				  sizeof(resp), &cmd));
	EXPECT_EQ(-EFAULT, bt_cmd(self->fd, req, len, (void *)8,
				  sizeof(resp), &cmd));
}

TEST_F(dev, unknown_ioctl)
{
	struct bcchip_ioc_cmd cmd = { 0 };

	EXPECT_EQ(-1, ioctl(self->fd, _IOWR(BCCHIP_IOC_MAGIC, 0x7f,
					    struct bcchip_ioc_cmd), &cmd));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(self->fd, _IOWR('x', 1, struct bcchip_ioc_cmd),
			    &cmd));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(self->fd, _IOW(BCCHIP_IOC_MAGIC, 1,
					   struct bcchip_ioc_cmd), &cmd));
	EXPECT_EQ(ENOTTY, errno);
}

TEST_F(dev, bad_frames)
{
	struct bcchip_ioc_cmd cmd;
	uint32_t len = bt_frame(req, BCFW_OP_ECHO, 0, "hello", 5);

	req[0] ^= 0xff;
	EXPECT_EQ(-EINVAL, bt_cmd(self->fd, req, len, resp, sizeof(resp),
				  &cmd));
	req[0] ^= 0xff;
	EXPECT_EQ(-EINVAL, bt_cmd(self->fd, req, len - 1, resp, sizeof(resp),
				  &cmd));
	EXPECT_EQ(-EINVAL, bt_cmd(self->fd, req, BCFW_HDR_SIZE - 1, resp,
				  sizeof(resp), &cmd));
	EXPECT_EQ(-EINVAL, bt_cmd(self->fd, req, self->info.max_frame + 1,
				  resp, sizeof(resp), &cmd));
	EXPECT_EQ(-EINVAL, bt_cmd(self->fd, req, len, resp,
				  BCFW_HDR_SIZE - 1, &cmd));
	EXPECT_EQ(0, bt_cmd(self->fd, req, len, resp, sizeof(resp), &cmd));
}

TEST_F(dev, host_opcode_refused)
{
	struct bcchip_ioc_cmd cmd;
	uint32_t len = bt_frame(req, BCFW_OP_CLIENT_CLOSE, 0, NULL, 0);

	EXPECT_EQ(-EPERM, bt_cmd(self->fd, req, len, resp, sizeof(resp),
				 &cmd));
	len = bt_frame(req, BCFW_OPC_HOST | 0x123, 0, NULL, 0);
	EXPECT_EQ(-EPERM, bt_cmd(self->fd, req, len, resp, sizeof(resp),
				 &cmd));
}

TEST_F(dev, admin_opcode_needs_write)
{
	struct bcchip_ioc_cmd cmd;
	uint32_t len = bt_frame(req, BCFW_OPC_ADMIN | 0x7f, 0, NULL, 0);
	int rdonly = open(bt_dev_path(), O_RDONLY | O_CLOEXEC);

	ASSERT_GE(rdonly, 0);
	/* even root needs a file opened for writing */
	EXPECT_EQ(-EPERM, bt_cmd(rdonly, req, len, resp, sizeof(resp), &cmd));
	/* user-class commands work on a read-only file */
	len = bt_frame(req, BCFW_OP_ECHO, 0, NULL, 0);
	EXPECT_EQ(0, bt_cmd(rdonly, req, len, resp, sizeof(resp), &cmd));
	close(rdonly);
	if (geteuid() == 0) {
		/* passed on to the firmware, which has its own verdict */
		len = bt_frame(req, BCFW_OPC_ADMIN | 0x7f, 0, NULL, 0);
		EXPECT_EQ(0, bt_cmd(self->fd, req, len, resp, sizeof(resp),
				    &cmd));
		EXPECT_NE((uint32_t)BCFW_S_OK, cmd.fw_status);
	}
}

TEST_F(dev, response_too_small)
{
	struct bcchip_ioc_cmd cmd;
	uint8_t body[100];
	uint32_t len;

	memset(body, 0x5a, sizeof(body));
	len = bt_frame(req, BCFW_OP_ECHO, 0, body, sizeof(body));
	EXPECT_EQ(-EMSGSIZE, bt_cmd(self->fd, req, len, resp, 64, &cmd));
	EXPECT_EQ(len, cmd.resp_len);
	/* the size it asked for is enough */
	EXPECT_EQ(0, bt_cmd(self->fd, req, len, resp, cmd.resp_len, &cmd));
	EXPECT_EQ(len, cmd.resp_len);
}

TEST_F(dev, stale_generation)
{
	struct bcchip_ioc_cmd cmd;
	uint32_t len = bt_frame(req, BCFW_OP_ECHO, 0, NULL, 0);

	memset(&cmd, 0, sizeof(cmd));
	cmd.req_len = len;
	cmd.req_ptr = (uintptr_t)req;
	cmd.resp_ptr = (uintptr_t)resp;
	cmd.resp_len = sizeof(resp);
	cmd.generation = self->info.generation + 1000;
	EXPECT_EQ(-1, ioctl(self->fd, BCCHIP_IOC_CMD, &cmd));
	EXPECT_EQ(ESTALE, errno);
	EXPECT_EQ(self->info.generation, cmd.generation);
	cmd.generation = self->info.generation;
	EXPECT_EQ(0, ioctl(self->fd, BCCHIP_IOC_CMD, &cmd));
}

TEST_F(dev, sessions_private_to_fd)
{
	int fd2 = open(bt_dev_path(), O_RDWR | O_CLOEXEC);
	uint32_t s;

	ASSERT_GE(fd2, 0);
	s = session_open(self->fd);
	ASSERT_NE(0u, s);
	EXPECT_EQ(BCFW_S_SESSION_INVALID, session_close(fd2, s));
	EXPECT_EQ(BCFW_S_OK, session_close(self->fd, s));
	EXPECT_EQ(BCFW_S_SESSION_INVALID, session_close(self->fd, s));
	close(fd2);
}

TEST_F(dev, sessions_released_on_close)
{
	long before, during, after;
	int fd2 = open(bt_dev_path(), O_RDWR | O_CLOEXEC);

	ASSERT_GE(fd2, 0);
	before = sessions_in_use(self->fd);
	ASSERT_GE(before, 0);
	for (int i = 0; i < 5; i++)
		ASSERT_NE(0u, session_open(fd2));
	during = sessions_in_use(self->fd);
	EXPECT_EQ(before + 5, during);
	ASSERT_EQ(0, close(fd2));
	/* CLIENT_CLOSE goes from the driver's close work: soon, not at once */
	for (int i = 0; i < 50; i++) {
		after = sessions_in_use(self->fd);
		if (after == before)
			break;
		usleep(100 * 1000);
	}
	EXPECT_EQ(before, after);
}

TEST_HARNESS_MAIN
