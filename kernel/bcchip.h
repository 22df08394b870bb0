/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Bastionchip driver: state shared by the PCI glue (bcchip.c), the rings
 * (queue.c) and the character device (cdev.c).
 */
#ifndef _BCCHIP_H
#define _BCCHIP_H

#include <linux/cdev.h>
#include <linux/completion.h>
#include <linux/idr.h>
#include <linux/kref.h>
#include <linux/pci.h>
#include <linux/rwsem.h>
#include <linux/sizes.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/wait.h>
#include "../uapi/linux/bcchip.h"

#include "bcchip_hw.h"

#define BCCHIP_DRV_NAME		"bcchip"
#define BCCHIP_ADMIN_DEPTH	8
#define BCCHIP_MAX_FRAME_LIMIT	SZ_1M

extern unsigned int bcchip_cmd_timeout_ms;

/* Life cycle of one tag (command slot) of a queue. */
enum bcchip_tag_state {
	BCCHIP_TAG_FREE,
	BCCHIP_TAG_RESERVED,	/* owned by a caller, not yet submitted */
	BCCHIP_TAG_INFLIGHT,	/* submitted, a caller waits for it */
	BCCHIP_TAG_ABANDONED,	/* submitted, the caller gave up waiting */
	BCCHIP_TAG_DONE,	/* completed, the caller still owns it */
};

struct bcchip_tag {
	u16 cid;
	enum bcchip_tag_state state;
	struct completion done;
	void *req;		/* bounce buffers of max_frame bytes each */
	dma_addr_t req_dma;
	void *resp;
	dma_addr_t resp_dma;
	u32 req_len;		/* bytes of @req that may hold data */
	u32 resp_cap;
	/* filled on completion */
	u16 dev_status;		/* enum bcchip_dev_status, or U16_MAX: host abort */
	u32 resp_len;
};

#define BCCHIP_TAG_HOST_ABORT	U16_MAX

struct bcchip_queue {
	struct bcchip_dev *bd;
	spinlock_t lock;	/* ring indices, tag states, @dead */
	u16 qid;
	u16 depth;		/* ring entries; depth - 1 tags */
	u16 sq_tail;
	u16 cq_head;
	u8 phase;
	bool dead;
	struct bcchip_sqe *sq;
	dma_addr_t sq_dma;
	struct bcchip_cqe *cq;
	dma_addr_t cq_dma;
	struct bcchip_tag *tags;
	u16 nr_tags;
	wait_queue_head_t tag_wait;
};

/* One MSI-X vector; it serves every queue q with q % nr_vecs == its index. */
struct bcchip_vec {
	struct bcchip_dev *bd;
	unsigned int index;
};

struct bcchip_dev {
	struct kref kref;
	struct pci_dev *pdev;		/* referenced until the last put */
	void __iomem *regs;

	/*
	 * Users (ioctl, release) hold it for reading while they touch the
	 * hardware or the queues; removal takes it for writing after it has
	 * marked the device removed, so no user outlives the PCI device.
	 */
	struct rw_semaphore hw_lock;
	spinlock_t state_lock;		/* @state, @generation */
	enum bcchip_state state;
	u32 generation;

	int minor;
	dev_t devt;
	struct cdev *cdev;
	struct device *chardev;
	struct ida client_ida;

	u32 hw_version;
	u32 cap0;
	u32 max_frame;
	unsigned int ready_timeout_ms;

	struct bcchip_queue queues[BCCHIP_MAX_QUEUES];
	unsigned int nr_io_queues;
	unsigned int io_depth;
	struct bcchip_vec vecs[BCCHIP_MAX_QUEUES];
	unsigned int nr_vecs;
	unsigned int nr_irqs;		/* vectors with a handler */

	/* cached from BCFW_OP_GET_INFO at probe */
	u8 serial[BCFW_SERIAL_LEN];
	u8 label[BCFW_LABEL_LEN];
	u8 model[BCFW_MODEL_LEN];
	u8 fw_major;
	u8 fw_minor;
	u32 max_sessions;
};

static inline u32 bcchip_rd(struct bcchip_dev *bd, u32 reg)
{
	return ioread32(bd->regs + reg);
}

static inline void bcchip_wr(struct bcchip_dev *bd, u32 reg, u32 val)
{
	iowrite32(val, bd->regs + reg);
}

static inline struct device *bcchip_pdev_dev(struct bcchip_dev *bd)
{
	return &bd->pdev->dev;
}

enum bcchip_state bcchip_get_state(struct bcchip_dev *bd);
void bcchip_set_state(struct bcchip_dev *bd, enum bcchip_state state);
void bcchip_dev_put(struct bcchip_dev *bd);

/* queue.c */
int bcchip_queue_alloc(struct bcchip_dev *bd, u16 qid, u16 depth);
void bcchip_queue_program(struct bcchip_queue *q);
void bcchip_queue_abort_all(struct bcchip_queue *q);
void bcchip_queue_wipe(struct bcchip_queue *q);
irqreturn_t bcchip_irq(int irq, void *data);
struct bcchip_tag *bcchip_tag_get(struct bcchip_queue *q, bool intr,
				  unsigned int timeout_ms);
void bcchip_tag_put(struct bcchip_queue *q, struct bcchip_tag *tag);
int bcchip_tag_exec(struct bcchip_queue *q, struct bcchip_tag **tagp,
		    u32 client, unsigned int timeout_ms, bool intr);
struct bcchip_queue *bcchip_io_queue(struct bcchip_dev *bd);
int bcchip_host_cmd(struct bcchip_dev *bd, u16 opcode, u32 client,
		    void *resp, u32 resp_size, u32 *resp_len);

/* cdev.c */
int bcchip_cdev_init(void);
void bcchip_cdev_exit(void);
int bcchip_cdev_add(struct bcchip_dev *bd);
void bcchip_cdev_del(struct bcchip_dev *bd);

#endif /* _BCCHIP_H */
