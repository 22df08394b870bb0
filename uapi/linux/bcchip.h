/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * Bastionchip user-space interfaces.
 *
 * Two contracts live here, and only here:
 *
 *  1. The firmware command protocol: the request and response frames that
 *     the PKCS#11 library builds and the chip's firmware parses.  The kernel
 *     driver reads only the frame header (length and opcode class).
 *     All multi-byte frame fields are little-endian.  docs/protocol.md.
 *
 *  2. The ioctl ABI of /dev/bcchipN.  docs/ioctl.md.
 *
 * Both are versioned; fields only ever get added at the end of a struct,
 * and reserved fields must be zero.
 */
#ifndef _UAPI_LINUX_BCCHIP_H
#define _UAPI_LINUX_BCCHIP_H

#include <linux/types.h>
#include <linux/ioctl.h>

/* ------------------------------------------------------------------ */
/* Firmware command protocol                                           */
/* ------------------------------------------------------------------ */

#define BCFW_MAGIC		0x57464342u	/* "BCFW" little-endian */
#define BCFW_PROTO_VERSION	1

/*
 * Every request and every response starts with this header; the body
 * follows immediately.  @length counts header and body.
 */
struct bcfw_hdr {
	__le32 magic;		/* BCFW_MAGIC */
	__u8   version;		/* BCFW_PROTO_VERSION */
	__u8   flags;		/* none defined: must be 0 */
	__le16 opcode;		/* BCFW_OP_* */
	__le32 length;		/* header + body, in bytes */
	__le32 session;		/* chip session handle, 0 for none */
	__le32 status;		/* response: BCFW_S_*; request: must be 0 */
	__le32 reserved;	/* must be 0 */
};

#define BCFW_HDR_SIZE		24

/*
 * Opcode classes.  The driver enforces privilege by class and never
 * looks further into a frame.
 *   0x0000-0x3fff  user: any client with the device open
 *   0x4000-0x7fff  host: issued only by the driver or the QEMU device
 *                  (client teardown); refused when they come from user
 *                  space
 *   0x8000-0xffff  admin: file opened for writing and CAP_SYS_ADMIN
 */
#define BCFW_OPC_CLASS_MASK	0xc000
#define BCFW_OPC_USER		0x0000
#define BCFW_OPC_HOST		0x4000
#define BCFW_OPC_ADMIN		0x8000
#define BCFW_OPC_CLASS(op)	((op) & BCFW_OPC_CLASS_MASK)

enum bcfw_opcode {
	/* body: none; response body: struct bcfw_info */
	BCFW_OP_GET_INFO	= 0x0001,
	/* body: any bytes; response body: the same bytes */
	BCFW_OP_ECHO		= 0x0002,
	/* body: struct bcfw_random_req; response body: the random bytes */
	BCFW_OP_RANDOM		= 0x0003,
	/*
	 * Diagnostics: hold one firmware engine for a while, then answer
	 * like ECHO with an empty body.  body: struct bcfw_sleep_req.
	 */
	BCFW_OP_SLEEP		= 0x0004,

	/* body: struct bcfw_session_open_req; resp: bcfw_session_open_resp */
	BCFW_OP_SESSION_OPEN	= 0x0101,
	/* hdr.session names the session; body: none */
	BCFW_OP_SESSION_CLOSE	= 0x0102,

	/*
	 * Host only: the client stamped on this command is gone (its file
	 * was closed or its process died); destroy its sessions and session
	 * objects.  body: none.
	 */
	BCFW_OP_CLIENT_CLOSE	= 0x4001,
};

enum bcfw_status {
	BCFW_S_OK		= 0,
	BCFW_S_BAD_FRAME	= 1,	/* bad magic, length or reserved bits */
	BCFW_S_BAD_VERSION	= 2,	/* protocol version not spoken */
	BCFW_S_BAD_OPCODE	= 3,	/* opcode unknown to the firmware */
	BCFW_S_BAD_ARGS		= 4,	/* body malformed for the opcode */
	BCFW_S_DENIED		= 5,	/* opcode class not allowed here */
	BCFW_S_SESSION_INVALID	= 6,	/* no such session for this client */
	BCFW_S_SESSION_COUNT	= 7,	/* chip session limit reached */
	BCFW_S_TOO_BIG		= 8,	/* answer would exceed the frame limit */
	BCFW_S_INTERNAL		= 9,	/* firmware fault */
};

#define BCFW_SERIAL_LEN		16
#define BCFW_LABEL_LEN		32
#define BCFW_MODEL_LEN		16
#define BCFW_MANUF_LEN		32

/* Text fields are padded with spaces, not NUL-terminated (as PKCS#11). */
struct bcfw_info {
	__u8   serial[BCFW_SERIAL_LEN];
	__u8   label[BCFW_LABEL_LEN];
	__u8   model[BCFW_MODEL_LEN];
	__u8   manufacturer[BCFW_MANUF_LEN];
	__u8   fw_major;
	__u8   fw_minor;
	__u8   hw_major;
	__u8   hw_minor;
	__le32 max_sessions;
	__le32 sessions_in_use;
	__le32 max_objects;
	__le32 objects_in_use;
	__le32 max_frame;		/* largest frame, header included */
	__le32 max_random;		/* largest BCFW_OP_RANDOM request */
	__le32 reserved[9];
};

struct bcfw_random_req {
	__le32 length;			/* 1 .. bcfw_info.max_random */
	__le32 reserved;
};

struct bcfw_sleep_req {
	__le32 msecs;			/* at most BCFW_SLEEP_MAX_MS */
	__le32 reserved;
};

#define BCFW_SLEEP_MAX_MS	60000

#define BCFW_SESSION_RW		0x1

struct bcfw_session_open_req {
	__le32 flags;			/* BCFW_SESSION_* */
	__le32 reserved;
};

struct bcfw_session_open_resp {
	__le32 session;			/* never 0 */
	__le32 reserved;
};

/* ------------------------------------------------------------------ */
/* ioctl ABI of /dev/bcchipN                                           */
/* ------------------------------------------------------------------ */

#define BCCHIP_ABI_VERSION	1

/*
 * Extensibility: the size encoded in each ioctl number is the size of the
 * struct the caller was built with.  The driver accepts any size from the
 * first published one upward; bytes the driver does not know must be zero
 * (else -E2BIG), and it copies back only as much as the caller's size.
 */

enum bcchip_state {
	BCCHIP_STATE_PROBING	= 0,
	BCCHIP_STATE_LIVE	= 1,
	BCCHIP_STATE_RESETTING	= 2,
	BCCHIP_STATE_DEAD	= 3,	/* failed; needs a reset */
	BCCHIP_STATE_REMOVED	= 4,
};

/* BCCHIP_IOC_INFO: what the driver knows of the chip.  flags in: 0. */
struct bcchip_ioc_info {
	__u32 flags;			/* in: must be 0 */
	__u32 abi_version;		/* out: BCCHIP_ABI_VERSION */
	__u32 hw_version;		/* out: BAR0 VERSION register */
	__u32 fw_version;		/* out: major << 8 | minor */
	__u32 state;			/* out: enum bcchip_state */
	__u32 generation;		/* out: bumped by every chip reset */
	__u32 nr_io_queues;		/* out: I/O queue pairs in use */
	__u32 queue_depth;		/* out: entries per I/O queue */
	__u32 max_frame;		/* out: largest frame accepted */
	__u32 max_sessions;		/* out: chip session limit */
	__u32 client_id;		/* out: this file's client id */
	__u32 reserved0;		/* out: 0 */
	__u8  serial[BCFW_SERIAL_LEN];	/* out: space padded */
	__u8  label[BCFW_LABEL_LEN];	/* out: space padded */
	__u8  model[BCFW_MODEL_LEN];	/* out: space padded */
	__u64 reserved[4];		/* in: must be 0 */
};

/*
 * BCCHIP_IOC_CMD: one firmware request and its response.
 *
 * Returns 0 when the chip answered, whatever the answer: the firmware's
 * verdict is in @fw_status (a BCFW_S_* copied from the response header).
 * An errno means there is no answer (docs/ioctl.md lists them).
 */
struct bcchip_ioc_cmd {
	__u32 flags;			/* in: must be 0 */
	__u32 req_len;			/* in: request frame bytes */
	__u64 req_ptr;			/* in: request frame */
	__u64 resp_ptr;			/* in: response buffer */
	__u32 resp_len;			/* in: buffer size; out: frame size */
	__u32 fw_status;		/* out: BCFW_S_* */
	/*
	 * in: 0, or the generation the caller's sessions belong to (-ESTALE
	 * if the chip was reset since); out: the current generation
	 */
	__u32 generation;
	__u32 timeout_ms;		/* in: 0 for the driver default */
	__u64 reserved[2];		/* in: must be 0 */
};

#define BCCHIP_IOC_MAGIC	0xBC
#define BCCHIP_IOC_INFO		_IOWR(BCCHIP_IOC_MAGIC, 0x00, struct bcchip_ioc_info)
#define BCCHIP_IOC_CMD		_IOWR(BCCHIP_IOC_MAGIC, 0x01, struct bcchip_ioc_cmd)

#endif /* _UAPI_LINUX_BCCHIP_H */
