// SPDX-License-Identifier: GPL-2.0
/*
 * Clients and concurrency: a process killed with every session of the
 * chip open and commands in flight leaves no session behind; two
 * processes cannot touch each other's sessions; 16 threads in each of 4
 * processes issue commands on both chips for a fixed time without a
 * single error, over several I/O queues.
 */
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "bcchip_chip_util.h"

BT_CLOSING_LINE()

#define STRESS_SECS	6
#define STRESS_PROCS	4
#define STRESS_THREADS	16

struct sleeper_arg {
	int fd;
};

static void *sleeper(void *arg)
{
	struct sleeper_arg *a = arg;

	for (;;)
		bt_sleep_cmd(a->fd, 3000, 20000);
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

TEST_F_TIMEOUT(chip, killed_process_releases_sessions, 60)
{
	int chip = bt_chip(), pipefd[2], status;
	long limit = bt_attr_num(chip, "session_limit");
	char ready;
	pid_t pid;

	ASSERT_GT(limit, 0);
	ASSERT_EQ(0, bt_wait_sessions(chip, 0, 5));
	ASSERT_EQ(0, pipe(pipefd));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		static struct sleeper_arg a;
		pthread_t thr;
		long i;

		close(pipefd[0]);
		a.fd = open(bt_chip_dev(chip), O_RDWR | O_CLOEXEC);
		if (a.fd < 0)
			_exit(1);
		for (i = 0; i < limit; i++)
			if (!bt_session_open(a.fd))
				_exit(2);
		/* 2 of the emulator's 4 engines: GET_INFO still gets one */
		for (i = 0; i < 2; i++)
			if (pthread_create(&thr, NULL, sleeper, &a))
				_exit(3);
		usleep(300 * 1000);
		if (write(pipefd[1], "r", 1) != 1)
			_exit(4);
		for (;;)
			pause();
	}
	close(pipefd[1]);
	ASSERT_EQ(1, read(pipefd[0], &ready, 1)) TH_LOG("child failed");
	close(pipefd[0]);
	EXPECT_EQ(limit, bt_attr_num(chip, "sessions_in_use"));

	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFSIGNALED(status));
	/* release sent CLIENT_CLOSE: the chip forgot all of them */
	EXPECT_EQ(0, bt_wait_sessions(chip, 0, 15));

	/* and the chip still works for a new client */
	int fd = open(bt_chip_dev(chip), O_RDWR | O_CLOEXEC);

	ASSERT_GE(fd, 0);
	EXPECT_EQ(0, bt_wait_echo(fd, 10));
	uint32_t s = bt_session_open(fd);

	EXPECT_NE(0, s);
	EXPECT_EQ(BCFW_S_OK, bt_session_close(fd, s));
	close(fd);
}

TEST_F(chip, processes_cannot_touch_each_others_sessions)
{
	int chip = bt_chip(), fd, status;
	uint32_t s;
	pid_t pid;

	fd = open(bt_chip_dev(chip), O_RDWR | O_CLOEXEC);
	ASSERT_GE(fd, 0);
	s = bt_session_open(fd);
	ASSERT_NE(0, s);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		int fd2 = open(bt_chip_dev(chip), O_RDWR | O_CLOEXEC);

		if (fd2 < 0)
			_exit(1);
		_exit(bt_session_close(fd2, s) == BCFW_S_SESSION_INVALID ? 0 : 2);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	/* the session is still the owner's */
	EXPECT_EQ(BCFW_S_OK, bt_session_close(fd, s));
	close(fd);
}

struct worker {
	int fd;
	int index;
	double end;
	long ops;
	long errors;
	int last_error;
};

static int random_cmd(int fd)
{
	struct bcfw_random_req body = { .length = 32 };
	uint8_t req[64], resp[128];
	struct bcchip_ioc_cmd cmd;
	uint32_t len = bt_frame(req, BCFW_OP_RANDOM, 0, &body, sizeof(body));
	int ret = bt_cmd(fd, req, len, resp, sizeof(resp), &cmd);

	if (ret)
		return ret;
	if (cmd.fw_status != BCFW_S_OK || cmd.resp_len != BCFW_HDR_SIZE + 32)
		return -EBADMSG;
	return 0;
}

static int echo_cmd(int fd, unsigned int seed)
{
	static __thread uint8_t req[4096], resp[4096];
	struct bcchip_ioc_cmd cmd;
	uint32_t n = seed % 2000, len, i;
	uint8_t body[2000];
	int ret;

	for (i = 0; i < n; i++)
		body[i] = (uint8_t)(seed + i);
	len = bt_frame(req, BCFW_OP_ECHO, 0, body, n);
	ret = bt_cmd(fd, req, len, resp, sizeof(resp), &cmd);
	if (ret)
		return ret;
	if (cmd.fw_status != BCFW_S_OK || cmd.resp_len != len ||
	    memcmp(resp + BCFW_HDR_SIZE, body, n))
		return -EBADMSG;
	return 0;
}

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	unsigned int seed = w->index * 7919;

	while (bt_now() < w->end) {
		int ret;

		seed = seed * 1103515245 + 12345;
		switch (seed >> 16 & 3) {
		case 0:
			ret = random_cmd(w->fd);
			break;
		case 1:
			if (w->index % 2) {
				uint32_t s = bt_session_open(w->fd);

				ret = s && bt_session_close(w->fd, s) ==
					   BCFW_S_OK ? 0 : -EPROTO;
				break;
			}
			/* fall through */
		default:
			ret = echo_cmd(w->fd, seed >> 8);
			break;
		}
		if (ret) {
			w->errors++;
			w->last_error = ret;
		} else {
			w->ops++;
		}
	}
	return NULL;
}

/* One stress process: 16 threads, half on a shared file, half on their own. */
static int stress_process(int chip, double end)
{
	struct worker w[STRESS_THREADS];
	pthread_t thr[STRESS_THREADS];
	long ops = 0, errors = 0;
	int shared, i;

	shared = open(bt_chip_dev(chip), O_RDWR | O_CLOEXEC);
	if (shared < 0)
		return 1;
	for (i = 0; i < STRESS_THREADS; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].index = i;
		w[i].end = end;
		w[i].fd = i < STRESS_THREADS / 2 ? shared :
			  open(bt_chip_dev(chip), O_RDWR | O_CLOEXEC);
		if (w[i].fd < 0 || pthread_create(&thr[i], NULL, worker_run, &w[i]))
			return 2;
	}
	for (i = 0; i < STRESS_THREADS; i++) {
		pthread_join(thr[i], NULL);
		ops += w[i].ops;
		errors += w[i].errors;
		if (w[i].errors)
			printf("# chip %d thread %d: %ld errors, last %d\n", chip,
			       i, w[i].errors, w[i].last_error);
	}
	printf("# chip %d process %d: %ld commands, %ld errors\n", chip,
	       getpid(), ops, errors);
	fflush(stdout);
	return errors || !ops ? 3 : 0;
}

/* Commands submitted on I/O queue @qid of @chip, from debugfs; -1 if unknown. */
static long queue_submitted(int chip, int qid)
{
	FILE *f = bt_debugfs_open(chip, "rings");
	char line[256];
	long n = -1;
	int cur = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		long v;

		if (sscanf(line, "queue %d:", &cur) == 1)
			continue;
		if (cur == qid && sscanf(line, " submitted %ld", &v) == 1) {
			n = v;
			break;
		}
	}
	fclose(f);
	return n;
}

TEST_F_TIMEOUT(chip, threads_and_processes_for_a_while, 120)
{
	long before[2][8], after;
	double end = bt_now() + STRESS_SECS;
	pid_t pids[STRESS_PROCS];
	int i, q, status, nq[2];

	for (i = 0; i < 2; i++) {
		nq[i] = bt_attr_num(i, "queue_count");
		ASSERT_GE(nq[i], 1);
		for (q = 1; q <= nq[i] && q < 8; q++)
			before[i][q] = queue_submitted(i, q);
	}
	for (i = 0; i < STRESS_PROCS; i++) {
		pids[i] = fork();
		ASSERT_GE(pids[i], 0);
		if (pids[i] == 0)
			_exit(stress_process(i % 2, end));
	}
	for (i = 0; i < STRESS_PROCS; i++) {
		ASSERT_EQ(pids[i], waitpid(pids[i], &status, 0));
		EXPECT_TRUE(WIFEXITED(status));
		EXPECT_EQ(0, WEXITSTATUS(status)) TH_LOG("process %d", i);
	}
	/* with more than one CPU, more than one I/O queue carried commands */
	for (i = 0; i < 2; i++) {
		int used = 0;

		for (q = 1; q <= nq[i] && q < 8; q++) {
			after = queue_submitted(i, q);
			if (before[i][q] >= 0 && after > before[i][q])
				used++;
		}
		if (nq[i] > 1 && before[i][1] >= 0)
			EXPECT_GT(used, 1) TH_LOG("chip %d: %d queues used", i, used);
	}
	for (i = 0; i < 2; i++)
		EXPECT_EQ(0, bt_wait_sessions(i, 0, 10));
}

TEST_HARNESS_MAIN
