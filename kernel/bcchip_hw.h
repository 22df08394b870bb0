/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Bastionchip hardware interface, mirrored from docs/hardware.md.
 * Change both together.
 */
#ifndef _BCCHIP_HW_H
#define _BCCHIP_HW_H

#include <linux/types.h>
#include <linux/bits.h>

/* Placeholder IDs: the chip's production IDs are not public. */
#define BCCHIP_PCI_VENDOR	0x1bcc
#define BCCHIP_PCI_DEVICE	0xbc01

#define BCCHIP_BAR_REGS		0
#define BCCHIP_BAR_MSIX		4
#define BCCHIP_BAR0_SIZE	0x4000

#define BCCHIP_REG_MAGIC	0x000
#define BCCHIP_MAGIC		0x50484342	/* "BCHP" */
#define BCCHIP_REG_VERSION	0x004
#define BCCHIP_HW_VERSION_MAJOR(v)	((v) >> 16)
#define BCCHIP_REG_CAP0		0x008
#define BCCHIP_CAP0_MQES(c)	((c) & 0xffff)
#define BCCHIP_CAP0_NIOQ(c)	(((c) >> 16) & 0xff)
#define BCCHIP_CAP0_TO(c)	(((c) >> 24) & 0xff)	/* 500 ms units */
#define BCCHIP_REG_CAP1		0x00c			/* max frame */
#define BCCHIP_REG_CAP2		0x010			/* vectors */
#define BCCHIP_REG_CC		0x020
#define BCCHIP_CC_EN		BIT(0)
#define BCCHIP_REG_CSTS		0x024
#define BCCHIP_CSTS_RDY		BIT(0)
#define BCCHIP_CSTS_CFS		BIT(1)
#define BCCHIP_CSTS_FWLINK	BIT(2)
#define BCCHIP_REG_ABORT	0x028			/* WO: qid << 16 | cid */
#define BCCHIP_ABORT_CMD(qid, cid)	((u32)(qid) << 16 | (cid))
#define BCCHIP_REG_EQB_LO	0x030
#define BCCHIP_REG_EQB_HI	0x034
#define BCCHIP_REG_EQSIZE	0x038
#define BCCHIP_REG_EQCTL	0x03c
#define BCCHIP_EQCTL_ENABLE	BIT(0)
#define BCCHIP_REG_EQHDBL	0x040			/* WO */

#define BCCHIP_REG_Q(q)		(0x100 + 0x20 * (q))
#define BCCHIP_Q_SQB_LO		0x00
#define BCCHIP_Q_SQB_HI		0x04
#define BCCHIP_Q_CQB_LO		0x08
#define BCCHIP_Q_CQB_HI		0x0c
#define BCCHIP_Q_SIZE		0x10
#define BCCHIP_Q_CTL		0x14
#define BCCHIP_QCTL_ENABLE	BIT(0)

#define BCCHIP_REG_SQTDBL(q)	(0x1000 + 8 * (q))
#define BCCHIP_REG_CQHDBL(q)	(0x1004 + 8 * (q))

#define BCCHIP_ADMIN_QID	0
#define BCCHIP_MAX_QUEUES	8	/* admin + up to 7 I/O queue pairs */

struct bcchip_sqe {
	__le16 cid;
	__le16 flags;
	__le32 client;
	__le64 req_addr;
	__le64 resp_addr;
	__le32 req_len;
	__le32 resp_cap;
	__le32 rsvd[8];
};

struct bcchip_cqe {
	__le32 resp_len;
	__le16 sq_head;
	__le16 sq_id;
	__le16 cid;
	__le16 status;		/* bit 0 phase, bits 15:1 device status */
	__le32 rsvd;
};

#define BCCHIP_CQE_PHASE	BIT(0)
#define BCCHIP_CQE_STATUS(s)	((s) >> 1)

/* Event queue entry: written by the device only. */
struct bcchip_eqe {
	__le16 status;		/* bit 0 phase */
	__le16 type;		/* enum bcchip_event_type */
	__le32 seq;
	__le64 time;
	__le64 arg0;
	__le64 arg1;
};

#define BCCHIP_EQE_PHASE	BIT(0)

enum bcchip_dev_status {
	BCCHIP_DS_SUCCESS		= 0,
	BCCHIP_DS_INVALID		= 1,
	BCCHIP_DS_DMA_ERROR		= 2,
	BCCHIP_DS_FW_UNAVAILABLE	= 3,
	BCCHIP_DS_ABORTED		= 4,
	BCCHIP_DS_OVERFLOW		= 5,
};

#endif /* _BCCHIP_HW_H */
