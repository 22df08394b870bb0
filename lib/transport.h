/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * How command frames reach a chip.  A device string picks the back-end:
 *
 *   /dev/bcchipN      the kernel driver (transport_dev.c)
 *   unix:/path        a bcchip-emu socket, no kernel involved
 *                     (transport_unix.c)
 *
 * All functions return 0 or a negative errno; errors.c maps them to CKR_*.
 * The errnos mean:
 *   -ENODEV    device or emulator gone (removed, connection closed)
 *   -ENOENT    no such device / socket
 *   -EACCES    permission denied opening the device
 *   -ETIMEDOUT no answer in time
 *   -EIO       the driver failed the command (chip fault)
 *   -ESTALE    the chip was reset since the caller's sessions were made
 *   -EMSGSIZE  request or response larger than the chip or buffer allows
 *   -EPERM     opcode class not allowed for this caller
 *   -EBADMSG   the response is malformed
 *   -EINVAL, -ENOMEM, -EINTR as usual
 *
 * A transport is safe to use from several threads at once: concurrent
 * commands are in flight together, each caller gets its own answer.
 */
#ifndef BC_TRANSPORT_H
#define BC_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include "frame.h"

struct bc_transport;

enum bc_transport_kind {
	BC_TRANSPORT_DEV = 1,
	BC_TRANSPORT_UNIX = 2,
};

struct bc_info {
	struct bc_chip_info chip;	/* the firmware's GET_INFO */
	enum bc_transport_kind kind;
	/* From BCCHIP_IOC_INFO; only for BC_TRANSPORT_DEV. */
	uint32_t abi_version;
	uint32_t hw_version;		/* BAR0 VERSION register */
	uint32_t state;			/* enum bcchip_state */
	uint32_t generation;
	uint32_t nr_io_queues;
	uint32_t queue_depth;
	uint32_t client_id;
};

int bc_transport_open(const char *device, struct bc_transport **out);

/*
 * Driver information plus the chip's GET_INFO.  On the kernel device,
 * a chip that is not live still gets its driver fields filled in before
 * the error from GET_INFO is returned (-ENODEV for a dead or removed chip).
 */
int bc_transport_info(struct bc_transport *t, struct bc_info *out);

/*
 * Sends the request frame @req[@req_len] and receives the response into
 * @resp[@resp_cap], validated against the request (frame.c).  On 0 the
 * chip answered: *@resp_len and *@fw_status (BCFW_S_*) describe the
 * answer.
 *
 * @gen (may be NULL) is the chip generation the request's session belongs
 * to, or 0 for "any"; the kernel device fails a request of an older
 * generation with -ESTALE (the chip was reset and the session is gone, and
 * its handle may since have been reused).  On return it holds the current
 * generation, which a SESSION_OPEN should remember for its session.
 * Emulator connections have no resets and report 0.
 */
int bc_transport_cmd(struct bc_transport *t, const void *req, size_t req_len,
		     void *resp, size_t resp_cap, size_t *resp_len,
		     uint32_t *fw_status, uint32_t *gen);

/* Orderly close: the chip learns that this client is gone. */
void bc_transport_close(struct bc_transport *t);

/*
 * For a child after fork(): frees the transport and closes its file
 * descriptor without sending anything and without touching its locks
 * (another thread of the parent may have held them when it forked).
 * Closing our copy of the descriptor does not end the parent's client.
 */
void bc_transport_abandon(struct bc_transport *t);

enum bc_transport_kind bc_transport_kind(const struct bc_transport *t);
const char *bc_transport_device(const struct bc_transport *t);

/*
 * One round trip of a simple command: builds the frame, checks the
 * status is BCFW_S_OK (else *@fw_status says which) and copies the body,
 * which must be exactly @out_len bytes (or up to it when @got is not
 * NULL; *@got says how many).  @fw_status and @gen may be NULL; @gen as
 * for bc_transport_cmd().
 */
int bc_transport_call(struct bc_transport *t, uint16_t opcode,
		      uint32_t session, const void *body, size_t body_len,
		      void *out, size_t out_len, size_t *got,
		      uint32_t *fw_status, uint32_t *gen);

/* -EREMOTEIO from bc_transport_call means: the chip said no (fw_status). */

/* Device list: $BCCHIP_DEVICE (comma separated) or every /dev/bcchipN
 * sorted by N.  Returns the count (possibly 0) or a negative errno;
 * free with bc_devices_free(). */
int bc_devices_discover(char ***out);
void bc_devices_free(char **list, int n);

/* "N", "bcchipN", "/dev/bcchipN" or "unix:/path" -> a device string. */
int bc_device_normalize(const char *arg, char *out, size_t cap);

/* Receive timeout of the unix transport: $BCCHIP_TIMEOUT_MS or 30 s. */
int bc_transport_timeout_ms(void);

/* Private to the back-ends. */
struct bc_transport_ops {
	int (*info)(struct bc_transport *t, struct bc_info *out);
	int (*cmd)(struct bc_transport *t, const void *req, size_t req_len,
		   void *resp, size_t resp_cap, size_t *resp_len,
		   uint32_t *gen);
	void (*close)(struct bc_transport *t, int orderly);
};

struct bc_transport {
	const struct bc_transport_ops *ops;
	enum bc_transport_kind kind;
	char *device;
	void *priv;
};

int bc_transport_dev_open(const char *path, struct bc_transport *t);
int bc_transport_unix_open(const char *path, struct bc_transport *t);

#endif
