// SPDX-License-Identifier: GPL-2.0
/*
 * System sleep under load: with /sys/power/pm_test = devices the kernel
 * suspends every device (our dev_pm_ops included), waits, and resumes
 * them, without the platform sleeping.  Afterwards the chip works, the
 * generation moved (sessions are invalidated as by a reset), and no
 * caller hung.  Needs root and CONFIG_PM_DEBUG.
 */

#include <pthread.h>

#include "kselftest_harness.h"
#include "bcchip_chip_util.h"

BT_CLOSING_LINE()

#define NLOADERS	4

struct loader {
	int fd;
	volatile int *stop;
	long ok, errors;
	int last;
};

/* What a command may meet while the chip sleeps, besides an answer. */
static int expected_errno(int ret)
{
	return ret == -EINTR || ret == -ECANCELED || ret == -EAGAIN ||
	       ret == -ESTALE;
}

static void *loader_run(void *arg)
{
	struct loader *l = arg;

	while (!*l->stop) {
		int ret = bt_echo(l->fd);

		if (!ret) {
			l->ok++;
		} else if (!expected_errno(ret)) {
			l->errors++;
			l->last = ret;
		}
	}
	return NULL;
}

static bool sleep_state_offered(const char *state)
{
	char buf[128];

	if (bt_read_file("/sys/power/state", buf, sizeof(buf)))
		return false;
	return strstr(buf, state) != NULL;
}

static void sleep_under_load(struct __test_metadata *_metadata,
			     const char *state)
{
	int chip = bt_chip(), i, ret;
	struct loader l[NLOADERS];
	pthread_t thr[NLOADERS];
	volatile int stop = 0;
	long gen, resets;
	uint32_t sgen = 0;
	double t0;

	if (access("/sys/power/pm_test", W_OK))
		SKIP(return, "no /sys/power/pm_test (CONFIG_PM_DEBUG)");
	if (!sleep_state_offered(state))
		SKIP(return, "the platform offers no '%s' sleep", state);
	gen = bt_attr_num(chip, "generation");
	resets = bt_attr_num(chip, "reset_count");
	for (i = 0; i < NLOADERS; i++) {
		memset(&l[i], 0, sizeof(l[i]));
		l[i].fd = bt_wait_open(bt_chip_dev(chip), 10);
		ASSERT_LE(0, l[i].fd);
		l[i].stop = &stop;
	}
	/* a session's generation, to be refused after the sleep */
	ASSERT_EQ(0, bt_echo_gen(l[0].fd, 0, &sgen));
	for (i = 0; i < NLOADERS; i++)
		ASSERT_EQ(0, pthread_create(&thr[i], NULL, loader_run, &l[i]));
	usleep(500 * 1000);

	ASSERT_EQ(0, bt_write_file("/sys/power/pm_test", "devices"));
	t0 = bt_now();
	ret = bt_write_file("/sys/power/state", state);
	ksft_print_msg("'%s' with pm_test=devices: %d after %.1f s\n", state,
		       ret, bt_now() - t0);
	EXPECT_EQ(0, bt_write_file("/sys/power/pm_test", "none"));
	EXPECT_EQ(0, ret);

	usleep(500 * 1000);
	stop = 1;
	for (i = 0; i < NLOADERS; i++) {
		ASSERT_EQ(0, pthread_join(thr[i], NULL));
		EXPECT_EQ(0, l[i].errors) TH_LOG("loader %d: %d", i, l[i].last);
		EXPECT_GT(l[i].ok, 0);
	}
	/* resumed like a reset: a new generation, the old one refused */
	EXPECT_GT(bt_attr_num(chip, "generation"), gen);
	EXPECT_GT(bt_attr_num(chip, "reset_count"), resets);
	EXPECT_EQ(-ESTALE, bt_echo_gen(l[0].fd, sgen, NULL));
	for (i = 0; i < NLOADERS; i++) {
		EXPECT_EQ(0, bt_echo(l[i].fd));
		close(l[i].fd);
	}
}

FIXTURE(pm) {
	int unused;
};

FIXTURE_SETUP(pm)
{
}

FIXTURE_TEARDOWN(pm)
{
}

TEST_F_TIMEOUT(pm, suspend_to_ram_under_load, 90)
{
	sleep_under_load(_metadata, "mem");
}

TEST_F_TIMEOUT(pm, suspend_to_idle_under_load, 90)
{
	sleep_under_load(_metadata, "freeze");
}

TEST_HARNESS_MAIN
