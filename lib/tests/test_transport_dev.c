// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The kernel-device back-end without a kernel driver: this program
 * defines ioctl() itself, which takes precedence over libc's for the
 * statically linked libbcchip.a, and plays the driver on a /dev/null
 * descriptor.  It checks what the back-end puts in the ioctl structs and
 * how it reads the answers and errnos (uapi/linux/bcchip.h).
 */
#include <endian.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "frame.h"
#include "transport.h"

static int passed, failed;

#define CHECK(cond, ...) do {						\
	if (cond) {							\
		passed++;						\
	} else {							\
		failed++;						\
		printf("FAIL %s:%d: ", __FILE__, __LINE__);		\
		printf(__VA_ARGS__);					\
		printf("\n");						\
	}								\
} while (0)

/* The fake driver's behaviour for the next BCCHIP_IOC_CMD. */
static struct {
	int err;			/* errno to fail with, or 0 */
	uint32_t state;
	uint32_t status_hdr;		/* status written in the frame */
	uint32_t status_ioc;		/* fw_status reported by the ioctl */
	uint32_t extra_len;		/* claim a longer frame than written */
	struct bcchip_ioc_cmd seen;	/* what the caller passed */
	int nonzero_in;			/* caller left input garbage */
	int info_calls;
} drv;

int ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	void *arg;

	(void)fd;
	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);

	if (req == BCCHIP_IOC_INFO) {
		struct bcchip_ioc_info *ii = arg;
		static const uint8_t zero[sizeof(ii->reserved)];

		drv.info_calls++;
		if (ii->flags || memcmp(ii->reserved, zero, sizeof(zero))) {
			errno = E2BIG;
			return -1;
		}
		ii->abi_version = BCCHIP_ABI_VERSION;
		ii->hw_version = 0x00010002;
		ii->fw_version = 0x0103;
		ii->state = drv.state;
		ii->generation = 5;
		ii->nr_io_queues = 2;
		ii->queue_depth = 64;
		ii->max_frame = 65536;
		ii->max_sessions = 64;
		ii->client_id = 9;
		memset(ii->serial, ' ', sizeof(ii->serial));
		memcpy(ii->serial, "SER1", 4);
		memset(ii->label, ' ', sizeof(ii->label));
		memcpy(ii->label, "drv label", 9);
		memset(ii->model, ' ', sizeof(ii->model));
		return 0;
	}
	if (req == BCCHIP_IOC_CMD) {
		struct bcchip_ioc_cmd *c = arg;
		const uint8_t *rq = (const uint8_t *)(uintptr_t)c->req_ptr;
		uint8_t *rs = (uint8_t *)(uintptr_t)c->resp_ptr;
		struct bcfw_hdr h;
		uint32_t body = 0;

		drv.seen = *c;
		drv.nonzero_in = c->flags || c->reserved[0] || c->reserved[1] ||
				 c->timeout_ms;
		if (drv.err) {
			errno = drv.err;
			return -1;
		}
		memcpy(&h, rq, sizeof(h));
		if (le16toh(h.opcode) == BCFW_OP_GET_INFO) {
			struct bcfw_info in;

			memset(&in, ' ', sizeof(in));
			memcpy(in.label, "chip label", 10);
			in.fw_major = 1;
			in.fw_minor = 3;
			in.hw_major = 1;
			in.hw_minor = 2;
			in.max_sessions = htole32(64);
			in.sessions_in_use = htole32(2);
			in.max_objects = htole32(100);
			in.objects_in_use = 0;
			in.max_frame = htole32(65536);
			in.max_random = htole32(1024);
			memset(in.reserved, 0, sizeof(in.reserved));
			memcpy(rs + BCFW_HDR_SIZE, &in, sizeof(in));
			body = sizeof(in);
		}
		h.length = htole32(BCFW_HDR_SIZE + body);
		h.status = htole32(drv.status_hdr);
		memcpy(rs, &h, sizeof(h));
		c->resp_len = BCFW_HDR_SIZE + body + drv.extra_len;
		c->fw_status = drv.status_ioc;
		c->generation = 5;
		return 0;
	}
	errno = ENOTTY;
	return -1;
}

static int cmd(struct bc_transport *t, uint32_t *st, uint32_t *gen)
{
	uint8_t req[64], resp[64];
	size_t n = bc_frame_build(req, sizeof(req), BCFW_OP_ECHO, 3, NULL, 0);
	size_t rl;

	return bc_transport_cmd(t, req, n, resp, sizeof(resp), &rl, st, gen);
}

int main(void)
{
	static const struct { int e; int want; } errs[] = {
		{ ETIMEDOUT, -ETIMEDOUT }, { EIO, -EIO }, { ENODEV, -ENODEV },
		{ ESTALE, -ESTALE }, { EMSGSIZE, -EMSGSIZE },
		{ EPERM, -EPERM }, { ENXIO, -ENODEV }, { E2BIG, -EINVAL },
		{ EBUSY, -EIO },
	};
	struct bc_transport *t;
	struct bc_info bi;
	uint32_t st, gen;
	char s[40];

	drv.state = BCCHIP_STATE_LIVE;
	CHECK(bc_transport_open("/dev/null", &t) == 0 && drv.info_calls == 1,
	      "open checks the node with BCCHIP_IOC_INFO");
	if (!t) {
		printf("%d passed, %d failed\n", passed, failed);
		return 1;
	}
	CHECK(bc_transport_kind(t) == BC_TRANSPORT_DEV, "kind");

	CHECK(bc_transport_info(t, &bi) == 0, "info");
	bc_field_to_str(s, bi.chip.label, BCFW_LABEL_LEN);
	CHECK(bi.abi_version == 1 && bi.hw_version == 0x00010002 &&
	      bi.generation == 5 && bi.client_id == 9 &&
	      bi.nr_io_queues == 2 && bi.queue_depth == 64 &&
	      bi.state == BCCHIP_STATE_LIVE, "driver fields");
	CHECK(!strcmp(s, "chip label") && bi.chip.max_random == 1024 &&
	      bi.chip.sessions_in_use == 2 && bi.chip.fw_minor == 3,
	      "chip fields from GET_INFO ('%s')", s);

	gen = 4;
	CHECK(cmd(t, &st, &gen) == 0 && st == 0, "command");
	CHECK(drv.seen.generation == 4 && gen == 5,
	      "generation passed in and read back");
	CHECK(!drv.nonzero_in && drv.seen.req_len == BCFW_HDR_SIZE &&
	      drv.seen.resp_len == 64, "ioctl struct filled");
	CHECK(cmd(t, &st, NULL) == 0 && drv.seen.generation == 0,
	      "no generation: 0");

	drv.status_hdr = drv.status_ioc = BCFW_S_SESSION_INVALID;
	CHECK(cmd(t, &st, NULL) == 0 && st == BCFW_S_SESSION_INVALID,
	      "firmware status passed on");
	drv.status_ioc = BCFW_S_OK;
	CHECK(cmd(t, &st, NULL) == -EBADMSG,
	      "ioctl and frame status disagree");
	drv.status_hdr = BCFW_S_OK;
	drv.extra_len = 1000;
	CHECK(cmd(t, &st, NULL) == -EBADMSG, "response longer than buffer");
	drv.extra_len = 0;

	for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
		drv.err = errs[i].e;
		CHECK(cmd(t, &st, NULL) == errs[i].want, "errno %d -> %d",
		      errs[i].e, errs[i].want);
	}
	drv.err = 0;

	drv.state = BCCHIP_STATE_DEAD;
	memset(&bi, 0, sizeof(bi));
	CHECK(bc_transport_info(t, &bi) == -ENODEV &&
	      bi.state == BCCHIP_STATE_DEAD && bi.chip.max_sessions == 64,
	      "dead chip: driver fields, then -ENODEV");
	bc_field_to_str(s, bi.chip.label, BCFW_LABEL_LEN);
	CHECK(!strcmp(s, "drv label") && bi.chip.fw_major == 1 &&
	      bi.chip.fw_minor == 3, "identity from the driver ('%s')", s);
	bc_transport_close(t);

	printf("devtransport: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
