// SPDX-License-Identifier: GPL-2.0
/*
 * Closing files while the firmware does not answer: close() and process
 * exit never wait for the chip, and a closed file's client id is not given
 * to a new file before the firmware has confirmed forgetting it (debugfs
 * `clients` lists the reserved ids).  Chip $BCCHIP_TEST_CHIP (default 1);
 * needs root, debugfs and the VM harness (stop-emu, cont-emu).
 */

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "bcchip_chip_util.h"

BT_CLOSING_LINE()

#define NFILES		1000
/* exit with NFILES files is one work item's queueing each: far below */
#define EXIT_BOUND_S	10.0

/* Reserved ids from debugfs `clients` into @ids; their number, or -1. */
static int reserved_ids(int chip, unsigned int *ids, int max)
{
	FILE *f = bt_debugfs_open(chip, "clients");
	unsigned int id, gen;
	char line[128];
	int n = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "closing %u generation %u", &id, &gen) == 2 &&
		    n < max)
			ids[n++] = id;
	fclose(f);
	return n;
}

static int client_id(int fd, uint32_t *id)
{
	struct bcchip_ioc_info info;

	memset(&info, 0, sizeof(info));
	if (ioctl(fd, BCCHIP_IOC_INFO, &info) < 0)
		return -errno;
	*id = info.client_id;
	return 0;
}

/*
 * The child: NFILES files, each known to the firmware (one ECHO), then
 * it tells the parent and waits to be killed.
 */
static void opener(const char *dev, int ready)
{
	struct rlimit rl = { NFILES + 64, NFILES + 64 };
	int i, fd;

	if (setrlimit(RLIMIT_NOFILE, &rl))
		_exit(2);
	for (i = 0; i < NFILES; i++) {
		fd = open(dev, O_RDWR | O_CLOEXEC);
		if (fd < 0 || bt_echo(fd))
			_exit(3);
	}
	if (write(ready, "r", 1) != 1)
		_exit(4);
	for (;;)
		pause();
}

/*
 * A process with NFILES files open dies while the firmware is frozen: it
 * is gone at once, every id stays reserved while its CLIENT_CLOSE is
 * unanswered, new files get other ids, and the ids come back once the
 * firmware answers again.
 */
TEST(exit_with_many_files_while_firmware_frozen)
{
	static unsigned int ids[NFILES + 16];
	int chip = bt_chip(), p[2], status, n, i, j = 0, fd, nfresh = 0;
	uint32_t fresh[8];
	long gen = bt_attr_num(chip, "generation");
	double t0, took;
	pid_t pid;
	char c;

	fd = bt_wait_open(bt_chip_dev(chip), 10);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, pipe(p));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		close(p[0]);
		opener(bt_chip_dev(chip), p[1]);
	}
	close(p[1]);
	ASSERT_EQ(1, read(p[0], &c, 1)) TH_LOG("the opener failed");
	close(p[0]);

	bt_ask_host("stop-emu", chip);
	sleep(1);
	t0 = bt_now();
	kill(pid, SIGKILL);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	took = bt_now() - t0;
	ksft_print_msg("exit with %d files, firmware frozen: %.2f s\n", NFILES,
		       took);
	EXPECT_LT(took, EXIT_BOUND_S);

	n = reserved_ids(chip, ids, NFILES + 16);
	ksft_print_msg("reserved ids while frozen: %d\n", n);
	if (n < 0) {
		bt_ask_host("cont-emu", chip);
		EXPECT_EQ(0, bt_wait_echo(fd, 30));
		SKIP(return, "no debugfs clients file");
	}
	/* at most the one in progress may be out of the list, briefly */
	EXPECT_GE(n, NFILES - 8);
	for (i = 0; i < 8; i++) {
		int f = open(bt_chip_dev(chip), O_RDWR | O_CLOEXEC);

		if (f < 0)
			break;
		if (!client_id(f, &fresh[nfresh]))
			nfresh++;
		close(f);	/* never used: its id is free at once */
	}
	EXPECT_EQ(8, nfresh);
	for (i = 0; i < nfresh; i++)
		for (j = 0; j < n; j++)
			EXPECT_NE(fresh[i], ids[j]) TH_LOG("id %u reused", ids[j]);

	bt_ask_host("cont-emu", chip);
	EXPECT_EQ(0, bt_wait_echo(fd, 30));
	t0 = bt_now();
	do {
		n = reserved_ids(chip, ids, NFILES + 16);
		if (!n)
			break;
		usleep(200 * 1000);
	} while (bt_now() - t0 < 60);
	ksft_print_msg("reserved ids %.1f s after the firmware is back: %d\n",
		       bt_now() - t0, n);
	EXPECT_EQ(0, n);
	/* confirmed one by one, not forgotten by a reset */
	EXPECT_EQ(gen, bt_attr_num(chip, "generation"));
	close(fd);
}

/* Closing files that never sent a command does not queue anything. */
TEST(unused_files_free_their_ids_at_once)
{
	unsigned int ids[16];
	int chip = bt_chip(), i, fd;

	if (reserved_ids(chip, ids, 16) < 0)
		SKIP(return, "no debugfs clients file");
	for (i = 0; i < 100; i++) {
		fd = open(bt_chip_dev(chip), O_RDWR | O_CLOEXEC);
		ASSERT_LE(0, fd);
		close(fd);
	}
	EXPECT_EQ(0, reserved_ids(chip, ids, 16));
}

TEST_HARNESS_MAIN
