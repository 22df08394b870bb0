// SPDX-License-Identifier: GPL-2.0
/*
 * What the driver does when a chip's firmware goes away, in the VM
 * harness (tools/vm/run), which acts on a chip's emulator when a guest
 * prints "@@BCCHIP-HOST <verb> <chip>" (docs/vm.md):
 *
 *  - stop-emu: the firmware never answers; commands must fail with
 *    ETIMEDOUT after the driver's cmd_timeout_ms, and work again once
 *    the emulator is continued.
 *  - kill-emu: the device fails commands in flight and new ones with
 *    FW_UNAVAILABLE, which the driver reports as EIO, at once; when a
 *    new emulator connects, the device reports a fatal status (the new
 *    firmware has none of the chip's clients) and the driver resets the
 *    chip, so the generation moves.
 *
 * The chip is $BCCHIP_TEST_CHIP (default 1, the chip the VM tests
 * sacrifice), its node /dev/bcchip<chip>
 * unless $BCCHIP_TEST_DEV says otherwise.
 */
#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "bcchip_chip_util.h"

BT_CLOSING_LINE()

#define PARAM_TIMEOUT "/sys/module/bcchip/parameters/cmd_timeout_ms"
#define SHORT_TIMEOUT_MS 2000

static const char *chip_path(void)
{
	static char path[64];

	if (getenv("BCCHIP_TEST_DEV"))
		return bt_dev_path();
	snprintf(path, sizeof(path), "/dev/bcchip%d", bt_chip());
	return path;
}

static int read_param(unsigned int *val)
{
	FILE *f = fopen(PARAM_TIMEOUT, "r");
	int ok;

	if (!f)
		return -1;
	ok = fscanf(f, "%u", val) == 1;
	fclose(f);
	return ok ? 0 : -1;
}

static int write_param(unsigned int val)
{
	FILE *f = fopen(PARAM_TIMEOUT, "w");
	int ok;

	if (!f)
		return -1;
	ok = fprintf(f, "%u\n", val) > 0;
	if (fclose(f))
		ok = 0;
	return ok ? 0 : -1;
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
	struct bcfw_sleep_req body = { .msecs = s->msecs };
	uint8_t req[64], resp[128];
	struct bcchip_ioc_cmd cmd;
	uint32_t len = bt_frame(req, BCFW_OP_SLEEP, 0, &body, sizeof(body));
	double t0 = bt_now();

	s->ret = bt_cmd(s->fd, req, len, resp, sizeof(resp), &cmd);
	s->elapsed = bt_now() - t0;
	return NULL;
}

FIXTURE(emu) {
	int unused;
};

FIXTURE_SETUP(emu)
{
}

FIXTURE_TEARDOWN(emu)
{
}

TEST_F_TIMEOUT(emu, stopped_emulator_times_out, 90)
{
	unsigned int saved = 0, timeout;
	double t0, elapsed;
	int fd, ret;

	ASSERT_EQ(0, read_param(&saved)) TH_LOG("no %s", PARAM_TIMEOUT);
	fd = open(chip_path(), O_RDWR | O_CLOEXEC);
	ASSERT_GE(fd, 0) TH_LOG("open %s: %s", chip_path(), strerror(errno));
	ASSERT_EQ(0, bt_echo(fd));
	timeout = saved > SHORT_TIMEOUT_MS ? SHORT_TIMEOUT_MS : saved;
	ASSERT_EQ(0, write_param(timeout));

	bt_ask_host("stop-emu", bt_chip());
	/* the harness acts when it reads the line; give it a moment */
	sleep(1);
	t0 = bt_now();
	ret = bt_echo(fd);
	elapsed = bt_now() - t0;
	EXPECT_EQ(-ETIMEDOUT, ret);
	EXPECT_GE(elapsed, timeout / 1000.0 - 0.1);
	EXPECT_LT(elapsed, timeout / 1000.0 + 3.0);

	/* a second one too: the abandoned tag did not wedge the queue */
	t0 = bt_now();
	EXPECT_EQ(-ETIMEDOUT, bt_echo(fd));
	EXPECT_LT(bt_now() - t0, timeout / 1000.0 + 3.0);

	bt_ask_host("cont-emu", bt_chip());
	/* late completions are reaped and the chip answers again */
	EXPECT_EQ(0, bt_wait_echo(fd, 10));
	EXPECT_EQ(0, write_param(saved));
	close(fd);
}

TEST_F_TIMEOUT(emu, killed_emulator_fails_fast, 90)
{
	struct sleeper s = { .msecs = 20000 };
	pthread_t thr;
	double t0;
	long gen;

	s.fd = open(chip_path(), O_RDWR | O_CLOEXEC);
	ASSERT_GE(s.fd, 0) TH_LOG("open %s: %s", chip_path(), strerror(errno));
	ASSERT_EQ(0, bt_wait_echo(s.fd, 10));
	gen = bt_attr_num(bt_chip(), "generation");
	ASSERT_GT(gen, 0);

	ASSERT_EQ(0, pthread_create(&thr, NULL, sleeper_run, &s));
	/* let the SLEEP reach the firmware */
	sleep(1);
	bt_ask_host("kill-emu", bt_chip());
	ASSERT_EQ(0, pthread_join(thr, NULL));
	EXPECT_EQ(-EIO, s.ret);
	EXPECT_LT(s.elapsed, 10.0) TH_LOG("took %.1f s", s.elapsed);

	t0 = bt_now();
	EXPECT_EQ(-EIO, bt_echo(s.fd));
	EXPECT_LT(bt_now() - t0, 2.0);

	/*
	 * A new firmware has none of this chip's clients: the device asks
	 * for a reset, so the generation moves and old sessions are stale.
	 */
	bt_ask_host("start-emu", bt_chip());
	EXPECT_EQ(0, bt_wait_echo(s.fd, 15));
	EXPECT_GT(bt_attr_num(bt_chip(), "generation"), gen);
	EXPECT_EQ(-ESTALE, bt_echo_gen(s.fd, (uint32_t)gen, NULL));
	close(s.fd);
}

TEST_HARNESS_MAIN
