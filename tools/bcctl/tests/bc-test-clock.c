// SPDX-License-Identifier: GPL-2.0
/*
 * bc-test-clock: moves a test chip's clock (BCFW_OP_TEST_CLOCK, admin
 * class: root on a kernel device; the emulator must run with
 * --test-clock) so tests can force refreshes and expiry.  Prints the
 * chip's attestation status afterwards as KEY=VALUE lines.
 *
 *   bc-test-clock DEVICE [--time T | --advance S | --refresh-due |
 *                         --before-expiry S] [--scale N] [--fail 0|1]
 *
 * --refresh-due: the time of the next scheduled refresh;
 * --before-expiry S: S seconds before the certificate's not_after.
 * With no option it only prints the status.
 */
#include <endian.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "transport.h"

static void print_status(const struct bcfw_attest_status *a)
{
	printf("now=%" PRIu64 "\nnot_before=%" PRIu64 "\nnot_after=%" PRIu64
	       "\nlast_refresh=%" PRIu64 "\nnext_refresh=%" PRIu64
	       "\nperiod=%u\ngeneration=%u\nhealth=%u\nfailures=%u\n",
	       (uint64_t)le64toh(a->now), (uint64_t)le64toh(a->not_before),
	       (uint64_t)le64toh(a->not_after),
	       (uint64_t)le64toh(a->last_refresh),
	       (uint64_t)le64toh(a->next_refresh), le32toh(a->period),
	       le32toh(a->generation), le32toh(a->health),
	       le32toh(a->failures));
}

static int usage(void)
{
	fprintf(stderr, "usage: bc-test-clock DEVICE [--time T | --advance S |"
		" --refresh-due | --before-expiry S] [--scale N] "
		"[--fail 0|1]\n");
	return 2;
}

static int num(const char *s, uint64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 10);
	return errno || end == s || *end ? -1 : 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "time", required_argument, NULL, 't' },
		{ "advance", required_argument, NULL, 'a' },
		{ "refresh-due", no_argument, NULL, 'r' },
		{ "before-expiry", required_argument, NULL, 'b' },
		{ "scale", required_argument, NULL, 's' },
		{ "fail", required_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	struct bcfw_test_clock_req req;
	struct bcfw_attest_status a;
	struct bc_transport *t;
	uint64_t v, time_v = 0;
	uint32_t fw = 0;
	char dev[4096];
	int c, when = 0, ret;

	memset(&req, 0, sizeof(req));
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 't':
		case 'a':
		case 'b':
			if (num(optarg, &time_v))
				return usage();
			/* fallthrough */
		case 'r':
			if (when)
				return usage();
			when = c;
			break;
		case 's':
			if (num(optarg, &v) || v < 1 || v > UINT32_MAX)
				return usage();
			req.flags |= htole32(BCFW_CLOCK_SET_SCALE);
			req.scale = htole32((uint32_t)v);
			break;
		case 'f':
			if (num(optarg, &v) || v > 1)
				return usage();
			req.flags |= htole32(BCFW_CLOCK_SET_FAIL);
			req.fail_refresh = htole32((uint32_t)v);
			break;
		default:
			return usage();
		}
	}
	if (argc - optind != 1 ||
	    bc_device_normalize(argv[optind], dev, sizeof(dev)))
		return usage();
	ret = bc_transport_open(dev, &t);
	if (ret) {
		fprintf(stderr, "bc-test-clock: %s: %s\n", dev, strerror(-ret));
		return 1;
	}
	ret = bc_transport_call(t, BCFW_OP_ATTEST_STATUS, 0, NULL, 0, &a,
				sizeof(a), NULL, &fw, NULL);
	if (!ret && (when || req.flags)) {
		switch (when) {
		case 'a':
			time_v += le64toh(a.now);
			break;
		case 'r':
			time_v = le64toh(a.next_refresh);
			break;
		case 'b':
			time_v = le64toh(a.not_after) - time_v;
			break;
		}
		if (when) {
			req.flags |= htole32(BCFW_CLOCK_SET_TIME);
			req.time = htole64(time_v);
		}
		ret = bc_transport_call(t, BCFW_OP_TEST_CLOCK, 0, &req,
					sizeof(req), &a, sizeof(a), NULL, &fw,
					NULL);
	}
	bc_transport_close(t);
	if (ret == -EREMOTEIO) {
		fprintf(stderr, "bc-test-clock: the chip said %s\n",
			bc_fw_status_name(fw));
		return 1;
	}
	if (ret) {
		fprintf(stderr, "bc-test-clock: %s\n", strerror(-ret));
		return 1;
	}
	print_status(&a);
	return 0;
}
