// SPDX-License-Identifier: GPL-2.0
/*
 * Fewer MSI-X vectors than queues: the module is reloaded with
 * max_vectors=1 and =2 (as if the platform granted fewer), the queues
 * share vectors as docs/hardware.md says, and many threads on both chips
 * still get every answer.  Finally the module is reloaded with its
 * defaults: all of the chip's vectors, the event queue's last.  Needs root, no other user of the
 * module, and modprobe.
 */
#include <pthread.h>

#include "kselftest_harness.h"
#include "bcchip_chip_util.h"

BT_CLOSING_LINE()

#define NTHREADS 8

static int reload(const char *params)
{
	char cmd[128];

	if (system("rmmod bcchip"))
		return -1;
	snprintf(cmd, sizeof(cmd), "modprobe bcchip %s", params);
	return system(cmd) ? -1 : 0;
}

struct worker {
	int chip;
	double end;
	long ok, errors;
	int last;
};

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	int fd = open(bt_chip_dev(w->chip), O_RDWR | O_CLOEXEC);

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

/* Interrupt lines named after @chip's PCI address in /proc/interrupts. */
static int count_irqs(int chip)
{
	char addr[64], line[512];
	int n = 0;
	FILE *f;

	if (bt_chip_pci(chip, addr, sizeof(addr)))
		return -1;
	f = fopen("/proc/interrupts", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, addr))
			n++;
	fclose(f);
	return n;
}

static void load_and_use(struct __test_metadata *_metadata, const char *params,
			 long want_vectors)
{
	struct worker w[NTHREADS];
	pthread_t thr[NTHREADS];
	int i, chip, fd;

	ASSERT_EQ(0, reload(params)) TH_LOG("reload %s", params);
	for (chip = 0; chip < 2; chip++) {
		long nq;

		fd = bt_wait_open(bt_chip_dev(chip), 10);
		ASSERT_GE(fd, 0);
		close(fd);
		nq = bt_attr_num(chip, "queue_count");
		ASSERT_GE(nq, 1);
		/* by default every vector the chip has: CAP2 = 2 + NIOQ (4) */
		if (!want_vectors)
			want_vectors = 6;
		EXPECT_EQ(want_vectors, bt_attr_num(chip, "vector_count"));
		EXPECT_EQ(bt_attr_num(chip, "vector_count"), count_irqs(chip));
	}
	for (i = 0; i < NTHREADS; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].chip = i % 2;
		w[i].end = bt_now() + 2;
		ASSERT_EQ(0, pthread_create(&thr[i], NULL, worker_run, &w[i]));
	}
	for (i = 0; i < NTHREADS; i++) {
		ASSERT_EQ(0, pthread_join(thr[i], NULL));
		EXPECT_EQ(0, w[i].errors) TH_LOG("thread %d: %d", i, w[i].last);
		EXPECT_GT(w[i].ok, 0);
	}
}

FIXTURE(mod) {
	int unused;
};

FIXTURE_SETUP(mod)
{
}

FIXTURE_TEARDOWN(mod)
{
}

TEST_F_TIMEOUT(mod, one_vector, 60)
{
	load_and_use(_metadata, "max_vectors=1", 1);
}

TEST_F_TIMEOUT(mod, two_vectors, 60)
{
	load_and_use(_metadata, "max_vectors=2", 2);
}

TEST_F_TIMEOUT(mod, one_vector_per_queue, 60)
{
	load_and_use(_metadata, "", 0);
}

/*
 * Legal parameters whose bounce buffers (two frames per tag) would pin
 * more than the driver's bound are refused with a message, not taken from
 * the machine: 2 queues x 1023 tags x 64 KiB is 128 MiB > 64 MiB.  The
 * limits then follow the queue depth (half a queue per uid).
 */
TEST_F_TIMEOUT(mod, bounce_memory_bound, 60)
{
	long per_uid;
	int fd;

	bt_kmsg("@@BCCHIP-EXPECT-BEGIN\n");
	ASSERT_EQ(0, reload("io_queue_depth=1024 max_io_queues=2"));
	sleep(1);
	bt_kmsg("@@BCCHIP-EXPECT-END\n");
	EXPECT_NE(0, access("/dev/bcchip0", F_OK));
	ASSERT_EQ(0, reload("io_queue_depth=256 max_io_queues=2"));
	fd = bt_wait_open("/dev/bcchip0", 10);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, bt_wait_echo(fd, 10));
	close(fd);
	per_uid = bt_attr_num(0, "max_cmds_per_uid");
	EXPECT_EQ(127, per_uid);
	EXPECT_EQ(16, bt_attr_num(0, "max_cmds_per_file"));
	ASSERT_EQ(0, reload("max_cmds_per_uid=4 max_cmds_per_file=9"));
	EXPECT_EQ(4, bt_attr_num(0, "max_cmds_per_uid"));
	/* a file never gets more than its uid */
	EXPECT_EQ(4, bt_attr_num(0, "max_cmds_per_file"));
	ASSERT_EQ(0, reload(""));
	EXPECT_EQ(15, bt_attr_num(0, "max_cmds_per_uid"));
}

TEST_HARNESS_MAIN
