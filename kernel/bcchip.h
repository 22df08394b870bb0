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
#include <linux/interrupt.h>
#include <linux/jiffies.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/ratelimit.h>
#include <linux/refcount.h>
#include <linux/rwsem.h>
#include <linux/semaphore.h>
#include <linux/sizes.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/uidgid.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include "../uapi/linux/bcchip.h"

#include "bcchip_hw.h"

#define BCCHIP_DRV_NAME		"bcchip"
#define BCCHIP_ADMIN_DEPTH	8
/* the most tags an I/O queue gets, whatever the chip allows */
#define BCCHIP_MAX_DEPTH	1024U
#define BCCHIP_MAX_FRAME_LIMIT	SZ_1M
#define BCCHIP_MAX_MINORS	256
/* the most coherent bounce memory one chip may pin (bcchip.c) */
#define BCCHIP_BOUNCE_LIMIT	SZ_64M

extern unsigned int bcchip_cmd_timeout_ms;
extern unsigned int bcchip_recovery_timeout_ms;
extern unsigned int bcchip_max_cmds_per_file;
extern unsigned int bcchip_max_cmds_per_uid;

/* How long the device has to honour an ABORT before the chip is reset. */
#define BCCHIP_ABORT_TIMEOUT_MS	2000
/* How long AER recovery may take before the driver restarts the chip. */
#define BCCHIP_AER_TIMEOUT_MS	30000
/* How often the watchdog looks at the chip and its commands. */
#define BCCHIP_WATCHDOG_MS	1000

/* Life cycle of one tag (command slot) of a queue. */
enum bcchip_tag_state {
	BCCHIP_TAG_FREE,
	BCCHIP_TAG_RESERVED,	/* owned by a caller, not yet submitted */
	BCCHIP_TAG_INFLIGHT,	/* submitted, a caller waits for it */
	BCCHIP_TAG_ABANDONED,	/* submitted, the caller gave up waiting */
	BCCHIP_TAG_DONE,	/* completed, the caller still owns it */
	/*
	 * Free, but its buffers not wiped yet: an abandoned command that
	 * completed in IRQ context.  The next taker wipes it, in process
	 * context, before use.
	 */
	BCCHIP_TAG_DIRTY,
};

struct bcchip_client;

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
	/* the file the command is charged to (quota.c); NULL: the driver's */
	struct bcchip_client *owner;
	/* recovery (watchdog), under the queue lock */
	unsigned long submitted;	/* jiffies */
	/*
	 * When the device had fetched every entry ahead of this one, so
	 * that time queued behind other clients' work is not counted
	 * against the chip; 0 until then.
	 */
	unsigned long clock_start;
	u16 sq_slot;			/* its submission ring entry */
	unsigned long abort_at;		/* jiffies the ABORT was written */
	bool abort_sent;
};

#define BCCHIP_TAG_HOST_ABORT	U16_MAX

struct bcchip_queue {
	struct bcchip_dev *bd;
	spinlock_t lock;	/* ring indices, tag states, @dead, counters */
	u16 qid;
	u16 depth;		/* ring entries; depth - 1 tags */
	u16 sq_tail;
	/*
	 * The next entry the device fetches, as the SQ_HEAD of its
	 * completions tells; entries from here to @sq_tail are not fetched.
	 */
	u16 sq_head;
	u16 cq_head;
	u8 phase;
	bool dead;
	bool db_pending;	/* a submitter is ringing the doorbell */
	u16 db_tail;		/* the tail last written to the doorbell */
	bool polled;		/* vector shut down (CPUs offline): poll_work reaps */
	bool reap_more;		/* an interrupt's budget ran out: poll_work reaps */
	int dead_errno;		/* what callers get while @dead */
	u64 nr_submitted;
	u64 nr_doorbells;
	u64 nr_completed;
	u64 nr_aborts;
	u64 nr_ignored;		/* completions matching no command */
	struct bcchip_sqe *sq;
	dma_addr_t sq_dma;
	struct bcchip_cqe *cq;
	dma_addr_t cq_dma;
	struct bcchip_tag *tags;
	u16 *sq_tag;		/* ring entry -> the tag submitted there */
	u16 nr_tags;
	wait_queue_head_t tag_wait;
};

/* What one uid has outstanding on one chip (quota.c). */
struct bcchip_uid {
	struct hlist_node node;		/* in bcchip_dev.uids, uid_lock */
	kuid_t uid;
	refcount_t ref;			/* its clients */
	atomic_t outstanding;
};

/*
 * A client id the firmware may still know: its file is closed and its
 * CLIENT_CLOSE not yet confirmed (cdev.c).
 */
struct bcchip_closing {
	struct list_head node;		/* bcchip_dev.closing, closing_lock */
	u32 id;
	u32 generation;			/* the firmware knew it in this one */
};

/* One open file. */
struct bcchip_client {
	struct bcchip_dev *bd;
	u32 id;
	/* the file, and every command still charged to it */
	refcount_t ref;
	atomic_t outstanding;		/* commands in flight or abandoned */
	bool used;			/* it sent a command: the firmware knows it */
	struct bcchip_uid *uid;
	struct bcchip_closing *closing;	/* handed over at release */
};

/*
 * A chip or driver event on its way to the netlink "events" group
 * (events.c, netlink.c).
 */
struct bcchip_event {
	u16 type;		/* enum bcchip_event_type */
	u64 time;		/* chip clock; driver events: host time */
	u64 arg0;
	u64 arg1;
};

/* The event queue (events.c): written by the device, read by a work item. */
struct bcchip_evq {
	spinlock_t lock;	/* @head, @phase, @enabled and the ring */
	struct bcchip_eqe *ring;	/* NULL: the chip has no event queue */
	dma_addr_t ring_dma;
	u16 depth;
	u16 head;
	u8 phase;
	bool enabled;		/* the device may write: bcchip_events_enable() */
	bool broken;		/* the chip refused it: going on without */
	unsigned int dev_vecs;	/* CAP2 NVEC, 0 without an event queue */
	unsigned int vec;	/* the vector that carries it */
	struct work_struct work;
	/* held from taking an event to sending it: SEQ and order agree */
	struct mutex send_lock;
	u32 seq;		/* BCCHIP_NL_A_EVENT_SEQ of the last, send_lock */
	/* under @lock, for debugfs */
	u64 nr_events;		/* entries taken from the ring since probe */
	u64 nr_lost;		/* events the device dropped (LOST's ARG0) */
	u32 last_seq;		/* SEQ of the last entry taken */
};

/* One MSI-X vector; it serves every queue q with q % nr_vecs == its index. */
struct bcchip_vec {
	struct bcchip_dev *bd;
	unsigned int index;
};

/* What GET_STATUS and sysfs report (status.c). */
struct bcchip_status {
	enum bcchip_state state;
	u32 generation;
	u32 reset_count;
	int info_err;			/* GET_INFO: 0 or an errno */
	u32 sessions_in_use;
	u8 label[BCFW_LABEL_LEN];	/* GET_INFO's, printable, space padded */
	int attest_err;			/* ATTEST_STATUS: 0 or an errno */
	u64 chip_time;
	u64 not_before;
	u64 not_after;
	u64 last_refresh;
	u64 next_refresh;
	u32 period;
	u32 attest_generation;
	u32 health_flags;		/* BCFW_HEALTH_* */
	u32 failures;
	enum bcchip_health health;
};

struct bcchip_dev {
	/*
	 * /dev/bcchipN and /sys/class/bcchip/bcchipN, and the lifetime of
	 * this structure: its last reference (open files, through the
	 * cdev; netlink and debugfs users) frees it.
	 */
	struct device dev;
	struct cdev cdev;
	bool cdev_added;
	struct pci_dev *pdev;		/* referenced until the last put */
	void __iomem *regs;

	/*
	 * Users (ioctl, release) hold it for reading while they touch the
	 * hardware or the queues; removal takes it for writing after it has
	 * marked the device removed, so no user outlives the PCI device.
	 */
	struct rw_semaphore hw_lock;
	spinlock_t state_lock;		/* @state, @generation, @reset_* */
	enum bcchip_state state;
	u32 generation;
	u32 reset_count;		/* resets since probe */
	const char *reset_reason;	/* of the reset asked for or last done */
	u32 reset_asked_gen;		/* generation when the work was queued */

	/* recovery: reset.c */
	struct mutex reset_mutex;	/* one reset at a time */
	struct work_struct reset_work;
	struct delayed_work watchdog;
	/* the watchdog's own GET_INFO: the firmware's sign of life */
	struct work_struct heartbeat_work;
	bool pm_quiesced;		/* suspended: resume restarts it */
	/* AER quiesced it: slot_reset, or else aer_work, restarts it */
	bool aer_pending;
	struct delayed_work aer_work;
	/*
	 * One status query at a time (status.c), taken with a deadline so
	 * that no reader waits longer than its bound.
	 */
	struct semaphore info_sem;
	struct mutex refresh_lock;	/* one ATTEST_REFRESH at a time */
	spinlock_t status_lock;		/* @status_* */
	struct bcchip_status status_cache;	/* for unprivileged readers */
	unsigned long status_at;	/* jiffies it was asked */
	bool status_valid;
	struct dentry *debugfs;
	u16 *cpu_queue;			/* CPU -> I/O queue, READ_ONCE */
	/* CPU hotplug (bcchip.c): queues whose vector is shut down */
	struct hlist_node cpuhp_node;
	bool cpuhp_added;
	struct delayed_work poll_work;

	int minor;
	struct ida client_ida;

	/* per-uid charges of outstanding commands (quota.c) */
	spinlock_t uid_lock;		/* @uids; taken from IRQ context */
	struct hlist_head uids[16];
	wait_queue_head_t quota_wait;	/* a charge was given back */
	unsigned int max_cmds_per_file;	/* effective limits, set at probe */
	unsigned int max_cmds_per_uid;

	/* closed files whose CLIENT_CLOSE is not confirmed (cdev.c) */
	spinlock_t closing_lock;
	struct list_head closing;
	bool closing_stopped;		/* removal: no more close work */
	struct delayed_work close_work;

	u32 hw_version;
	u32 cap0;
	u32 max_frame;
	u64 bounce_bytes;		/* its tags' frame buffers, in all */
	unsigned int ready_timeout_ms;

	struct bcchip_queue queues[BCCHIP_MAX_QUEUES];
	unsigned int nr_io_queues;
	unsigned int io_depth;
	struct bcchip_vec vecs[BCCHIP_MAX_QUEUES + 1];	/* + the event queue's */
	unsigned int nr_vecs;
	unsigned int nr_irqs;		/* vectors with a handler */
	struct bcchip_evq evq;

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

/*
 * What is left of a wait budget that ends at @deadline (jiffies), at
 * least 1 ms so that a command still gets its one chance to be seen.
 */
static inline unsigned int bcchip_msecs_left(unsigned long deadline)
{
	long left = (long)(deadline - jiffies);

	return left > 0 ? max(1U, jiffies_to_msecs(left)) : 1U;
}

static inline struct device *bcchip_pdev_dev(struct bcchip_dev *bd)
{
	return &bd->pdev->dev;
}

/*
 * dev_info_ratelimited() for what user space or an administrator can
 * raise at will (refused host opcodes, attestation refreshes): the
 * limiter's "callbacks suppressed" line is a warning, so it is not
 * printed (RATELIMIT_MSG_ON_RELEASE, and the states are never released).
 */
#define bcchip_info_quiet(dev, fmt, ...)				\
do {									\
	static struct ratelimit_state _rs =				\
		RATELIMIT_STATE_INIT_FLAGS(_rs, DEFAULT_RATELIMIT_INTERVAL, \
					   DEFAULT_RATELIMIT_BURST,	\
					   RATELIMIT_MSG_ON_RELEASE);	\
	if (__ratelimit(&_rs))						\
		dev_info(dev, fmt, ##__VA_ARGS__);			\
} while (0)

static inline void bcchip_dev_get(struct bcchip_dev *bd)
{
	get_device(&bd->dev);
}

static inline void bcchip_dev_put(struct bcchip_dev *bd)
{
	put_device(&bd->dev);
}

enum bcchip_state bcchip_get_state(struct bcchip_dev *bd);
void bcchip_set_state(struct bcchip_dev *bd, enum bcchip_state state);
int bcchip_state_errno(enum bcchip_state state);
int bcchip_hw_try_get(struct bcchip_dev *bd);
void bcchip_hw_put(struct bcchip_dev *bd);
u32 bcchip_generation(struct bcchip_dev *bd);
void bcchip_dev_free(struct bcchip_dev *bd);
void bcchip_poll_kick(struct bcchip_dev *bd);
int bcchip_hw_disable(struct bcchip_dev *bd);
int bcchip_hw_enable(struct bcchip_dev *bd);
/* what bcchip_dev_disable() stops the chip for */
enum bcchip_stop {
	BCCHIP_STOP_RESET,	/* a reset's first half: ECANCELED, then EAGAIN */
	BCCHIP_STOP_DEAD,	/* the link failed for good: ENODEV, removal follows */
	BCCHIP_STOP_REMOVE,	/* removal, power-off, a failed probe */
};

void bcchip_dev_disable(struct bcchip_dev *bd, enum bcchip_stop how,
			bool touch_hw);
int bcchip_fetch_info(struct bcchip_dev *bd, struct bcfw_info *info,
		      unsigned int timeout_ms);

/* quota.c */
void bcchip_quota_init(struct bcchip_dev *bd);
int bcchip_quota_attach(struct bcchip_client *client);
int bcchip_quota_charge(struct bcchip_client *client, bool nonblock,
			unsigned int timeout_ms);
void bcchip_quota_release(struct bcchip_client *client);
void bcchip_client_put(struct bcchip_client *client);

/* reset.c */
void bcchip_recovery_init(struct bcchip_dev *bd);
void bcchip_recovery_start(struct bcchip_dev *bd);
void bcchip_recovery_stop(struct bcchip_dev *bd);
void bcchip_recovery_flush(struct bcchip_dev *bd);
void bcchip_schedule_reset(struct bcchip_dev *bd, const char *reason);
int bcchip_reset(struct bcchip_dev *bd, const char *reason);
extern const struct pci_error_handlers bcchip_err_handlers;
extern const struct dev_pm_ops bcchip_pm_ops;

/* events.c */
void bcchip_events_init(struct bcchip_dev *bd);
int bcchip_events_alloc(struct bcchip_dev *bd);
int bcchip_events_irq_vectors(struct bcchip_dev *bd, unsigned int max_vectors);
irq_handler_t bcchip_vec_handler(struct bcchip_dev *bd, unsigned int v);
void bcchip_events_program(struct bcchip_dev *bd);
void bcchip_events_enable(struct bcchip_dev *bd);
void bcchip_events_stop(struct bcchip_dev *bd);
void bcchip_event_raise(struct bcchip_dev *bd, u16 type, u64 arg0, u64 arg1);
void bcchip_events_after_reset(struct bcchip_dev *bd);

/* what bcchip_status_query() asks the firmware */
#define BCCHIP_STATUS_INFO	BIT(0)	/* GET_INFO: sessions in use */
#define BCCHIP_STATUS_ATTEST	BIT(1)	/* ATTEST_STATUS */
#define BCCHIP_STATUS_CACHED	BIT(2)	/* a full status <= 1 s old will do */

int bcchip_status_query(struct bcchip_dev *bd, struct bcchip_status *st,
			unsigned int what);
unsigned int bcchip_status_reader_flags(void);
int bcchip_attest_refresh(struct bcchip_dev *bd);

/* netlink.c */
int bcchip_netlink_init(void);
void bcchip_netlink_exit(void);
void bcchip_netlink_event(struct bcchip_dev *bd, const struct bcchip_event *ev);

/* sysfs.c */
extern const struct attribute_group *bcchip_dev_groups[];

/* debugfs.c */
void bcchip_debugfs_init(void);
void bcchip_debugfs_exit(void);
void bcchip_debugfs_add(struct bcchip_dev *bd);
void bcchip_debugfs_del(struct bcchip_dev *bd);

/* queue.c */
int bcchip_queue_alloc(struct bcchip_dev *bd, u16 qid, u16 depth);
void bcchip_queue_program(struct bcchip_queue *q);
void bcchip_queue_abort_all(struct bcchip_queue *q, u16 dev_status,
			    int dead_errno);
void bcchip_queue_wipe(struct bcchip_queue *q);
unsigned int bcchip_queue_reap(struct bcchip_queue *q);
bool bcchip_queue_poll(struct bcchip_queue *q);
void bcchip_queue_reap_later(struct bcchip_queue *q);
bool bcchip_queue_check_timeouts(struct bcchip_queue *q,
				 unsigned int timeout_ms, const char **why,
				 bool *overdue);
irqreturn_t bcchip_irq(int irq, void *data);
struct bcchip_tag *bcchip_tag_get(struct bcchip_queue *q, bool intr,
				  unsigned int timeout_ms,
				  struct bcchip_client *owner);
void bcchip_tag_put(struct bcchip_queue *q, struct bcchip_tag *tag);
int bcchip_tag_exec(struct bcchip_queue *q, struct bcchip_tag **tagp,
		    u32 client, unsigned int timeout_ms, bool intr);
struct bcchip_queue *bcchip_io_queue(struct bcchip_dev *bd);
int bcchip_host_cmd(struct bcchip_dev *bd, u16 opcode, u32 client,
		    void *resp, u32 resp_size, u32 *resp_len,
		    unsigned int timeout_ms);

/* cdev.c */
int bcchip_cdev_init(void);
void bcchip_cdev_exit(void);
void bcchip_cdev_init_dev(struct bcchip_dev *bd);
int bcchip_cdev_add(struct bcchip_dev *bd);
void bcchip_cdev_del(struct bcchip_dev *bd);
void bcchip_cdev_release_minor(struct bcchip_dev *bd);
void bcchip_closing_init(struct bcchip_dev *bd);
void bcchip_closing_kick(struct bcchip_dev *bd);
void bcchip_closing_stop(struct bcchip_dev *bd);
struct bcchip_dev *bcchip_dev_find(unsigned long *minor, bool next);
unsigned int bcchip_devs_generation(void);

#endif /* _BCCHIP_H */
