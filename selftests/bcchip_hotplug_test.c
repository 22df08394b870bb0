// SPDX-License-Identifier: GPL-2.0
/*
 * CPU hotplug: the I/O queues' vectors have managed affinity, so the IRQ
 * core shuts a queue's vector down when its last CPU goes offline.  SLEEP
 * commands submitted by threads pinned to CPU 1 are in flight while CPU 1
 * goes offline: they must still complete with success before their timeout
 * (the driver polls the queue), later commands must work, and once the
 * CPU is back its queue interrupts and is used again.  Skipped with one
 * CPU, or when CPU 1 cannot go offline.  Needs root and debugfs.
 */
#include <pthread.h>
#include <sched.h>

#include "kselftest_harness.h"
#include "bcchip_chip_util.h"

BT_CLOSING_LINE()

#define CPU1_ONLINE	"/sys/devices/system/cpu/cpu1/online"
#define NSLEEPERS	4
#define SLEEP_MS	2000
/* well beyond SLEEP_MS, well below recovery_timeout_ms (70 s) */
#define CMD_TIMEOUT_MS	10000
#define NLOADERS	8

struct qinfo {
	long submitted;
	int inflight;
	int polled;
};

/* Queue @qid of @chip from debugfs; -1 when it cannot be read. */
static int queue_info(int chip, int qid, struct qinfo *qi)
{
	int cur = -1, found = 0;
	char line[256];
	FILE *f;

	memset(qi, 0, sizeof(*qi));
	f = bt_debugfs_open(chip, "rings");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		long v;

		if (sscanf(line, "queue %d:", &cur) == 1) {
			if (cur == qid) {
				found = 1;
				qi->polled = strstr(line, " polled") != NULL;
			}
			continue;
		}
		if (cur != qid)
			continue;
		if (sscanf(line, " submitted %ld", &v) == 1)
			qi->submitted = v;
		if (strstr(line, ": inflight"))
			qi->inflight++;
	}
	fclose(f);
	return found ? 0 : -1;
}

static int pin_self(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

struct sleeper {
	int chip;
	int pin_err;
	int ret;
	double secs;
};

static void *sleeper_run(void *arg)
{
	struct sleeper *s = arg;
	double t0;
	int fd;

	s->pin_err = pin_self(1);
	fd = open(bt_chip_dev(s->chip), O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		s->ret = -errno;
		return NULL;
	}
	t0 = bt_now();
	s->ret = bt_sleep_cmd(fd, SLEEP_MS, CMD_TIMEOUT_MS);
	s->secs = bt_now() - t0;
	close(fd);
	return NULL;
}

struct loader {
	int chip;
	int cpu;		/* -1: anywhere */
	double end;
	long ok, errors;
	int last;
};

static void *loader_run(void *arg)
{
	struct loader *w = arg;
	int fd;

	if (w->cpu >= 0 && pin_self(w->cpu)) {
		w->errors++;
		w->last = -EINVAL;
		return NULL;
	}
	fd = open(bt_chip_dev(w->chip), O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		w->errors++;
		w->last = -errno;
		return NULL;
	}
	while (bt_now() < w->end) {
		int ret = bt_echo(fd);

		if (ret) {
			w->errors++;
			w->last = ret;
		} else {
			w->ok++;
		}
	}
	close(fd);
	return NULL;
}

/* ECHO from NLOADERS threads (on @cpu, or anywhere) for @secs. */
static void load(struct __test_metadata *_metadata, int chip, int cpu,
		 double secs)
{
	struct loader w[NLOADERS];
	pthread_t thr[NLOADERS];
	int i;

	for (i = 0; i < NLOADERS; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].chip = chip;
		w[i].cpu = cpu;
		w[i].end = bt_now() + secs;
		ASSERT_EQ(0, pthread_create(&thr[i], NULL, loader_run, &w[i]));
	}
	for (i = 0; i < NLOADERS; i++) {
		ASSERT_EQ(0, pthread_join(thr[i], NULL));
		EXPECT_EQ(0, w[i].errors) TH_LOG("loader %d (cpu %d): %d", i,
						 cpu, w[i].last);
		EXPECT_GT(w[i].ok, 0);
	}
}

FIXTURE(cpu) {
	int chip;
	int skip;	/* the harness runs the body after a SKIP in setup */
};

FIXTURE_SETUP(cpu)
{
	int fd;

	self->chip = bt_chip();
	self->skip = 1;
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		SKIP(return, "only one CPU online");
	if (access(CPU1_ONLINE, W_OK))
		SKIP(return, "CPU 1 cannot go offline (%s)", strerror(errno));
	self->skip = 0;
	fd = bt_wait_open(bt_chip_dev(self->chip), 10);
	ASSERT_GE(fd, 0);
	close(fd);
}

FIXTURE_TEARDOWN(cpu)
{
	/* whatever happened, leave CPU 1 online for the tests after us */
	if (!self->skip)
		bt_write_file(CPU1_ONLINE, "1");
}

TEST_F_TIMEOUT(cpu, offline_with_commands_in_flight, 120)
{
	struct sleeper s[NSLEEPERS];
	pthread_t thr[NSLEEPERS];
	struct qinfo qi, back;
	int i, qid = -1, nq, ret;
	long before;

	if (self->skip)
		return;
	nq = bt_attr_num(self->chip, "queue_count");
	ASSERT_GE(nq, 1);
	for (i = 0; i < NSLEEPERS; i++) {
		memset(&s[i], 0, sizeof(s[i]));
		s[i].chip = self->chip;
		ASSERT_EQ(0, pthread_create(&thr[i], NULL, sleeper_run, &s[i]));
	}
	/* the SLEEPs are submitted: find the queue CPU 1 uses */
	usleep(500 * 1000);
	for (i = 1; i <= nq; i++) {
		ASSERT_EQ(0, queue_info(self->chip, i, &qi));
		if (qi.inflight >= NSLEEPERS)
			qid = i;
	}
	EXPECT_GE(qid, 1) TH_LOG("no queue with %d commands in flight",
				  NSLEEPERS);
	/*
	 * Submitted from CPU 1, on its queue: let them run anywhere now, so
	 * that the scheduler need not break their affinity (a warning).
	 */
	for (i = 0; i < NSLEEPERS; i++) {
		cpu_set_t all;
		long c;

		CPU_ZERO(&all);
		for (c = 0; c < sysconf(_SC_NPROCESSORS_CONF) && c < CPU_SETSIZE; c++)
			CPU_SET(c, &all);
		EXPECT_EQ(0, pthread_setaffinity_np(thr[i], sizeof(all), &all));
	}

	ret = bt_write_file(CPU1_ONLINE, "0");
	if (ret) {
		for (i = 0; i < NSLEEPERS; i++)
			pthread_join(thr[i], NULL);
		SKIP(return, "CPU 1 did not go offline: %s", strerror(-ret));
	}
	/* its own vector on CPU 1 only: the driver polls it now */
	if (qid >= 1 && nq > 1 && bt_attr_num(self->chip, "vector_count") > nq) {
		ASSERT_EQ(0, queue_info(self->chip, qid, &qi));
		EXPECT_EQ(1, qi.polled) TH_LOG("queue %d not polled", qid);
	}
	for (i = 0; i < NSLEEPERS; i++) {
		ASSERT_EQ(0, pthread_join(thr[i], NULL));
		EXPECT_EQ(0, s[i].pin_err);
		/* ETIMEDOUT here: the completion raised nothing */
		EXPECT_EQ(0, s[i].ret) TH_LOG("sleeper %d: %s after %.1f s", i,
					      strerror(-s[i].ret), s[i].secs);
	}

	/* with CPU 1 offline, commands go elsewhere and get answers */
	load(_metadata, self->chip, -1, 1.0);

	ASSERT_EQ(0, bt_write_file(CPU1_ONLINE, "1"));
	if (qid < 1)
		return;
	ASSERT_EQ(0, queue_info(self->chip, qid, &qi));
	EXPECT_EQ(0, qi.polled);
	before = qi.submitted;
	/* back online: CPU 1 submits on its own queue again */
	load(_metadata, self->chip, 1, 1.0);
	ASSERT_EQ(0, queue_info(self->chip, qid, &back));
	EXPECT_GT(back.submitted, before);
	EXPECT_EQ(0, back.inflight);
}

/* Offline and online under load from both CPUs, twice: no error at all. */
TEST_F_TIMEOUT(cpu, flapping_under_load, 120)
{
	struct loader w[NLOADERS];
	pthread_t thr[NLOADERS];
	int i, round;

	if (self->skip)
		return;
	for (i = 0; i < NLOADERS; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].chip = self->chip;
		w[i].cpu = -1;
		w[i].end = bt_now() + 4;
		ASSERT_EQ(0, pthread_create(&thr[i], NULL, loader_run, &w[i]));
	}
	for (round = 0; round < 2; round++) {
		usleep(500 * 1000);
		EXPECT_EQ(0, bt_write_file(CPU1_ONLINE, "0"));
		usleep(500 * 1000);
		EXPECT_EQ(0, bt_write_file(CPU1_ONLINE, "1"));
	}
	for (i = 0; i < NLOADERS; i++) {
		ASSERT_EQ(0, pthread_join(thr[i], NULL));
		EXPECT_EQ(0, w[i].errors) TH_LOG("loader %d: %d", i, w[i].last);
		EXPECT_GT(w[i].ok, 0);
	}
}

TEST_HARNESS_MAIN
