// SPDX-License-Identifier: GPL-2.0
/*
 * A chip that answers twice, late, for commands it never had, or with
 * lengths it cannot mean: QEMU's test-only x-fault modes (docs/qemu.md),
 * set through the VM harness (@@BCCHIP-HOST fault-MODE).  The driver must
 * ignore what matches no command in flight (debugfs `ignored` counts it),
 * give every caller its own answer (each ECHO's payload is its own), turn a length it cannot trust into
 * EIO for that caller only, and never reset the chip over any of it.
 * Chip $BCCHIP_TEST_CHIP (default 1).
 */
#include <pthread.h>

#include "kselftest_harness.h"
#include "bcchip_chip_util.h"

BT_CLOSING_LINE()

#define THREADS		4
#define PER_THREAD	100

/* The sum of every queue's `ignored` counter in debugfs rings; -1 if none. */
static long ignored(int chip)
{
	FILE *f = bt_debugfs_open(chip, "rings");
	long sum = -1, n;
	char line[256];
	const char *p;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		p = strstr(line, " ignored ");
		if (p && sscanf(p, " ignored %ld", &n) == 1)
			sum = (sum < 0 ? 0 : sum) + n;
	}
	fclose(f);
	return sum;
}

/* An ECHO whose response buffer has room for the header only. */
static int echo_tight(int fd, uint32_t *resp_len)
{
	uint8_t req[64], resp[BCFW_HDR_SIZE];
	struct bcchip_ioc_cmd cmd;

	memset(&cmd, 0, sizeof(cmd));
	cmd.req_len = bt_frame(req, BCFW_OP_ECHO, 0, "ping", 4);
	cmd.req_ptr = (uintptr_t)req;
	cmd.resp_ptr = (uintptr_t)resp;
	cmd.resp_len = sizeof(resp);
	if (ioctl(fd, BCCHIP_IOC_CMD, &cmd) < 0) {
		*resp_len = cmd.resp_len;
		return -errno;
	}
	*resp_len = cmd.resp_len;
	return 0;
}

/*
 * An ECHO of a payload no other caller sends: an answer that is not its
 * own (another tag's completion taken for it) is EBADMSG.
 */
static int echo_mine(int fd, int thread, int i)
{
	char payload[32];
	int n = snprintf(payload, sizeof(payload), "thread %d echo %d", thread, i);

	return bt_echo_data(fd, payload, n, 0, NULL);
}

struct load {
	const char *path;
	int thread, errors, last;
};

static void *echo_loop(void *arg)
{
	struct load *l = arg;
	int fd = open(l->path, O_RDWR | O_CLOEXEC);
	int i, ret;

	if (fd < 0) {
		l->errors = PER_THREAD;
		l->last = -errno;
		return NULL;
	}
	for (i = 0; i < PER_THREAD; i++) {
		ret = echo_mine(fd, l->thread, i);
		if (ret) {
			l->errors++;
			l->last = ret;
		}
	}
	close(fd);
	return NULL;
}

/* ECHOs from THREADS threads at once: how many failed (last in *last) */
static int echo_load(int chip, int *last)
{
	struct load l[THREADS];
	pthread_t th[THREADS];
	int i, errors = 0;

	for (i = 0; i < THREADS; i++) {
		memset(&l[i], 0, sizeof(l[i]));
		l[i].path = bt_chip_dev(chip);
		l[i].thread = i;
		if (pthread_create(&th[i], NULL, echo_loop, &l[i])) {
			l[i].errors = PER_THREAD;
			l[i].last = -EAGAIN;
			th[i] = 0;
		}
	}
	for (i = 0; i < THREADS; i++) {
		if (th[i])
			pthread_join(th[i], NULL);
		errors += l[i].errors;
		if (l[i].errors)
			*last = l[i].last;
	}
	return errors;
}

FIXTURE(fault) {
	int chip, fd;
	long gen, resets;
};

FIXTURE_SETUP(fault)
{
	char state[32];

	self->chip = bt_chip();
	self->fd = bt_wait_open(bt_chip_dev(self->chip), 10);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, bt_wait_echo(self->fd, 10));
	if (ignored(self->chip) < 0)
		SKIP(return, "no debugfs rings for chip %d", self->chip);
	ASSERT_EQ(0, bt_attr_str(self->chip, "state", state, sizeof(state)));
	ASSERT_STREQ("live", state);
	self->gen = bt_attr_num(self->chip, "generation");
	self->resets = bt_attr_num(self->chip, "reset_count");
	bt_kmsg("@@BCCHIP-EXPECT-BEGIN x-fault\n");
}

FIXTURE_TEARDOWN(fault)
{
	bt_ask_host("fault-off", self->chip);
	/* back to normal before the next test: an ECHO that checks out */
	bt_wait_echo(self->fd, 5);
	usleep(300 * 1000);
	bt_kmsg("@@BCCHIP-EXPECT-END x-fault\n");
	close(self->fd);
}

/*
 * Asks for @mode and waits until the driver has ignored a completion,
 * sending ECHOs meanwhile; the ECHOs must all succeed.  Returns the
 * counter's value then, or -1.
 */
static long start_fault(struct __test_metadata *_metadata, int chip, int fd,
			const char *mode)
{
	long before = ignored(chip), now = before;
	double end = bt_now() + 10;
	char verb[32];
	int ret;

	snprintf(verb, sizeof(verb), "fault-%s", mode);
	bt_ask_host(verb, chip);
	while (now == before && bt_now() < end) {
		ret = bt_echo(fd);
		EXPECT_EQ(0, ret) TH_LOG("%s: ECHO while waiting: %d", mode, ret);
		now = ignored(chip);
	}
	EXPECT_GT(now, before) TH_LOG("%s: no completion ignored in 10 s", mode);
	return now > before ? now : -1;
}

static void run_mode(struct __test_metadata *_metadata,
		     FIXTURE_DATA(fault) *self, const char *mode)
{
	long first, after;
	int errors, last = 0;

	first = start_fault(_metadata, self->chip, self->fd, mode);
	ASSERT_LT(0, first);
	errors = echo_load(self->chip, &last);
	after = ignored(self->chip);
	ksft_print_msg("%s: %d ECHOs from %d threads, %d failed (last %d), %ld completions ignored\n",
		       mode, THREADS * PER_THREAD, THREADS, errors, last,
		       after - first);
	EXPECT_EQ(0, errors) TH_LOG("last error %d", last);
	/* every ECHO's completion brought one bogus entry with it */
	EXPECT_GE(after - first, THREADS * PER_THREAD / 2);
	EXPECT_EQ(self->gen, bt_attr_num(self->chip, "generation"));
	EXPECT_EQ(self->resets, bt_attr_num(self->chip, "reset_count"));
}

/* each completion twice: the second finds its command over */
TEST_F_TIMEOUT(fault, duplicate_completions, 120)
{
	run_mode(_metadata, self, "dup");
}

/* the queue's previous completion again: its tag has moved on */
TEST_F_TIMEOUT(fault, late_completions, 120)
{
	run_mode(_metadata, self, "late");
}

/* a CID beyond the queue and a wrong SQ_ID before each real one */
TEST_F_TIMEOUT(fault, completions_for_no_command, 120)
{
	run_mode(_metadata, self, "badcid");
}

/*
 * RESP_LEN beyond the response buffer on SUCCESS, beyond the largest
 * frame on OVERFLOW: EIO for the caller, nothing copied past the buffer,
 * and the chip stays up.
 */
TEST_F_TIMEOUT(fault, lengths_beyond_the_buffer, 60)
{
	uint32_t len = 0;
	double end;
	int ret;

	/* the honest answer first: EMSGSIZE with the size needed */
	ret = echo_tight(self->fd, &len);
	EXPECT_EQ(-EMSGSIZE, ret);
	EXPECT_EQ(BCFW_HDR_SIZE + 4, len);

	bt_ask_host("fault-badlen", self->chip);
	end = bt_now() + 10;
	while ((ret = bt_echo(self->fd)) == 0 && bt_now() < end)
		usleep(20 * 1000);
	EXPECT_EQ(-EIO, ret) TH_LOG("SUCCESS with RESP_LEN > RESP_CAP: %d", ret);
	EXPECT_EQ(-EIO, bt_echo(self->fd));
	ret = echo_tight(self->fd, &len);
	EXPECT_EQ(-EIO, ret) TH_LOG("OVERFLOW beyond MAXFRAME: %d, len %u",
				    ret, len);

	bt_ask_host("fault-off", self->chip);
	EXPECT_EQ(0, bt_wait_echo(self->fd, 10));
	ret = echo_tight(self->fd, &len);
	EXPECT_EQ(-EMSGSIZE, ret);
	EXPECT_EQ(BCFW_HDR_SIZE + 4, len);
	EXPECT_EQ(self->gen, bt_attr_num(self->chip, "generation"));
	EXPECT_EQ(self->resets, bt_attr_num(self->chip, "reset_count"));
}

TEST_HARNESS_MAIN
