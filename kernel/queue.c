// SPDX-License-Identifier: GPL-2.0
/*
 * Bastionchip queue pairs: rings, tags, doorbells and completions.
 *
 * Every queue owns depth - 1 tags (a full ring holds depth - 1 entries),
 * and every tag owns a request and a response bounce buffer of max_frame
 * bytes allocated at probe, so issuing a command never allocates.  The
 * command id is the tag index with a use count above it, so that a
 * completion the device posts late or twice never completes the tag's next
 * command.  A tag whose caller stopped waiting (time out, signal) stays
 * busy until the device completes it or the queue is torn down: the device
 * may still write its response buffer.
 */

#include <linux/dma-mapping.h>
#include <linux/interrupt.h>
#include <linux/jiffies.h>
#include <linux/smp.h>
#include <linux/string.h>

#include "bcchip.h"

int bcchip_queue_alloc(struct bcchip_dev *bd, u16 qid, u16 depth)
{
	struct device *dev = bcchip_pdev_dev(bd);
	struct bcchip_queue *q = &bd->queues[qid];
	unsigned int i;

	q->bd = bd;
	q->qid = qid;
	q->depth = depth;
	q->nr_tags = depth - 1;
	q->dead_errno = -ENODEV;
	/* a zeroed ring then holds nothing to reap before it is programmed */
	q->phase = 1;
	spin_lock_init(&q->lock);
	init_waitqueue_head(&q->tag_wait);

	q->sq = dmam_alloc_coherent(dev, depth * sizeof(*q->sq), &q->sq_dma,
				    GFP_KERNEL);
	q->cq = dmam_alloc_coherent(dev, depth * sizeof(*q->cq), &q->cq_dma,
				    GFP_KERNEL);
	q->tags = devm_kcalloc(dev, q->nr_tags, sizeof(*q->tags), GFP_KERNEL);
	q->sq_tag = devm_kcalloc(dev, depth, sizeof(*q->sq_tag), GFP_KERNEL);
	if (!q->sq || !q->cq || !q->tags || !q->sq_tag)
		return -ENOMEM;

	for (i = 0; i < q->nr_tags; i++) {
		struct bcchip_tag *tag = &q->tags[i];

		tag->cid = i;
		tag->state = BCCHIP_TAG_FREE;
		init_completion(&tag->done);
		tag->req = dmam_alloc_coherent(dev, bd->max_frame,
					       &tag->req_dma, GFP_KERNEL);
		tag->resp = dmam_alloc_coherent(dev, bd->max_frame,
						&tag->resp_dma, GFP_KERNEL);
		if (!tag->req || !tag->resp)
			return -ENOMEM;
	}
	return 0;
}

/* Called with the device disabled (CC.EN = 0) or the queue disabled. */
void bcchip_queue_program(struct bcchip_queue *q)
{
	struct bcchip_dev *bd = q->bd;
	u32 base = BCCHIP_REG_Q(q->qid);
	unsigned long flags;

	spin_lock_irqsave(&q->lock, flags);
	memset(q->sq, 0, q->depth * sizeof(*q->sq));
	memset(q->cq, 0, q->depth * sizeof(*q->cq));
	q->sq_tail = 0;
	q->sq_head = 0;
	q->cq_head = 0;
	q->phase = 1;
	q->dead = false;
	q->db_pending = false;
	q->db_tail = 0;
	spin_unlock_irqrestore(&q->lock, flags);

	bcchip_wr(bd, base + BCCHIP_Q_CTL, 0);
	bcchip_wr(bd, base + BCCHIP_Q_SQB_LO, lower_32_bits(q->sq_dma));
	bcchip_wr(bd, base + BCCHIP_Q_SQB_HI, upper_32_bits(q->sq_dma));
	bcchip_wr(bd, base + BCCHIP_Q_CQB_LO, lower_32_bits(q->cq_dma));
	bcchip_wr(bd, base + BCCHIP_Q_CQB_HI, upper_32_bits(q->cq_dma));
	bcchip_wr(bd, base + BCCHIP_Q_SIZE, q->depth);
	bcchip_wr(bd, base + BCCHIP_Q_CTL, BCCHIP_QCTL_ENABLE);
}

/* The buffers may hold key material: never leave it behind a free tag. */
static void bcchip_tag_wipe(struct bcchip_queue *q, struct bcchip_tag *tag)
{
	u32 max = q->bd->max_frame;

	memzero_explicit(tag->req, min(tag->req_len, max));
	memzero_explicit(tag->resp, min(tag->resp_cap, max));
	tag->req_len = 0;
	tag->resp_cap = 0;
	tag->resp_len = 0;
}

/*
 * The command of @tag is over: give its charge back.  @state is FREE
 * (wiped) or DIRTY (to be wiped by the next taker).  Caller holds q->lock.
 */
static void bcchip_tag_free_locked(struct bcchip_queue *q,
				   struct bcchip_tag *tag,
				   enum bcchip_tag_state state)
{
	struct bcchip_client *owner = tag->owner;

	tag->owner = NULL;
	tag->state = state;
	if (owner)
		bcchip_quota_release(owner);
	wake_up(&q->tag_wait);
}

/*
 * Fail every command of @q with @dev_status (BCCHIP_TAG_HOST_ABORT for
 * removal, ABORTED for a reset) and refuse new ones with @dead_errno
 * until the queue is programmed again.  The device must no longer be
 * running commands of this queue (CC.EN = 0 drops them).
 */
void bcchip_queue_abort_all(struct bcchip_queue *q, u16 dev_status,
			    int dead_errno)
{
	unsigned long flags;
	unsigned int i;

	if (!q->tags)
		return;
	spin_lock_irqsave(&q->lock, flags);
	q->dead = true;
	q->dead_errno = dead_errno;
	for (i = 0; i < q->nr_tags; i++) {
		struct bcchip_tag *tag = &q->tags[i];

		if (tag->state == BCCHIP_TAG_INFLIGHT) {
			tag->dev_status = dev_status;
			tag->resp_len = 0;
			tag->state = BCCHIP_TAG_DONE;
			complete(&tag->done);
		} else if (tag->state == BCCHIP_TAG_ABANDONED) {
			bcchip_tag_free_locked(q, tag, BCCHIP_TAG_DIRTY);
		}
	}
	spin_unlock_irqrestore(&q->lock, flags);
	wake_up_all(&q->tag_wait);
}

/* Wipe every bounce buffer, whatever state its tag is in (removal). */
void bcchip_queue_wipe(struct bcchip_queue *q)
{
	unsigned int i;

	if (!q->tags)
		return;
	for (i = 0; i < q->nr_tags; i++) {
		if (q->tags[i].req)
			memzero_explicit(q->tags[i].req, q->bd->max_frame);
		if (q->tags[i].resp)
			memzero_explicit(q->tags[i].resp, q->bd->max_frame);
	}
}

#define BCCHIP_CID_INDEX_BITS	10
#define BCCHIP_CID_INDEX(cid)	((cid) & (BIT(BCCHIP_CID_INDEX_BITS) - 1))
static_assert(BIT(BCCHIP_CID_INDEX_BITS) >= BCCHIP_MAX_DEPTH);

/*
 * The device has fetched every entry before @sq_head (a completion's
 * SQ_HEAD): the command now at the head of what is left starts its clock,
 * since nothing of anybody else's is ahead of it any more.  Caller holds
 * q->lock.
 */
static void bcchip_queue_fetched(struct bcchip_queue *q, u16 sq_head)
{
	u16 pending = (q->sq_tail + q->depth - q->sq_head) % q->depth;
	u16 fetched = (sq_head + q->depth - q->sq_head) % q->depth;
	unsigned long now = jiffies;

	if (sq_head >= q->depth || fetched > pending) {
		dev_warn_ratelimited(bcchip_pdev_dev(q->bd),
				     "queue %u: implausible SQ head %u (head %u tail %u)\n",
				     q->qid, sq_head, q->sq_head, q->sq_tail);
		return;
	}
	while (fetched--) {
		struct bcchip_tag *tag = &q->tags[q->sq_tag[q->sq_head]];

		if (tag->sq_slot == q->sq_head && !tag->clock_start)
			tag->clock_start = now ?: 1;
		q->sq_head = (q->sq_head + 1) % q->depth;
	}
	if (q->sq_head != q->sq_tail) {
		struct bcchip_tag *tag = &q->tags[q->sq_tag[q->sq_head]];

		if (tag->sq_slot == q->sq_head && !tag->clock_start)
			tag->clock_start = now ?: 1;
	}
}

static void bcchip_complete_one(struct bcchip_queue *q,
				const struct bcchip_cqe *cqe, u16 status)
{
	struct device *dev = bcchip_pdev_dev(q->bd);
	u16 cid = le16_to_cpu(cqe->cid);
	u16 sqid = le16_to_cpu(cqe->sq_id);
	u16 idx = BCCHIP_CID_INDEX(cid);
	struct bcchip_tag *tag;

	bcchip_queue_fetched(q, le16_to_cpu(cqe->sq_head));
	if (idx >= q->nr_tags || sqid != q->qid) {
		q->nr_ignored++;
		dev_warn_ratelimited(dev, "queue %u: completion for bad cid %#x (queue %u)\n",
				     q->qid, cid, sqid);
		return;
	}
	tag = &q->tags[idx];
	if (tag->cid != cid || (tag->state != BCCHIP_TAG_INFLIGHT &&
				tag->state != BCCHIP_TAG_ABANDONED)) {
		/* late or duplicate: its command is over, maybe reused */
		q->nr_ignored++;
		dev_warn_ratelimited(dev, "queue %u: stale completion for cid %#x\n",
				     q->qid, cid);
		return;
	}
	q->nr_completed++;
	if (tag->state == BCCHIP_TAG_INFLIGHT) {
		tag->dev_status = BCCHIP_CQE_STATUS(status);
		tag->resp_len = le32_to_cpu(cqe->resp_len);
		tag->state = BCCHIP_TAG_DONE;
		complete(&tag->done);
	} else {
		/* its caller gave up; wiped by the next taker, not here */
		bcchip_tag_free_locked(q, tag, BCCHIP_TAG_DIRTY);
	}
}

/*
 * Reap the completions the device has posted, at most a ring's worth:
 * a device that keeps posting cannot hold a CPU in the interrupt handler
 * (the poller, kicked, takes the rest).  Returns how many.
 */
unsigned int bcchip_queue_reap(struct bcchip_queue *q)
{
	unsigned int n = 0;
	unsigned long flags;
	bool more = false;

	spin_lock_irqsave(&q->lock, flags);
	/*
	 * A dead queue's commands were all failed by the host: entries the
	 * device posted before it was stopped answer nothing any more, and
	 * programming the queue again clears them.
	 */
	while (!q->dead) {
		struct bcchip_cqe *cqe = &q->cq[q->cq_head];
		u16 status = le16_to_cpu(READ_ONCE(cqe->status));

		if ((status & BCCHIP_CQE_PHASE) != q->phase)
			break;
		if (n == q->depth) {
			more = true;
			break;
		}
		/* read the rest of the entry only after its phase */
		dma_rmb();
		bcchip_complete_one(q, cqe, status);
		n++;
		if (++q->cq_head == q->depth) {
			q->cq_head = 0;
			q->phase ^= 1;
		}
	}
	if (n && !q->dead)
		bcchip_wr(q->bd, BCCHIP_REG_CQHDBL(q->qid), q->cq_head);
	spin_unlock_irqrestore(&q->lock, flags);
	if (more)
		bcchip_queue_reap_later(q);
	return n;
}

/*
 * A queue whose vector the IRQ core shut down (every CPU of its managed
 * affinity offline) raises nothing: reap it by hand while commands are in
 * flight.  Returns whether some still are, so that the poller comes back.
 */
bool bcchip_queue_poll(struct bcchip_queue *q)
{
	unsigned long flags;
	bool busy = false;
	unsigned int i;

	/* what an interrupt left over (its budget) comes first */
	if (xchg(&q->reap_more, false))
		bcchip_queue_reap(q);
	spin_lock_irqsave(&q->lock, flags);
	for (i = 0; q->polled && !q->dead && i < q->nr_tags && !busy; i++)
		busy = q->tags[i].state == BCCHIP_TAG_INFLIGHT ||
		       q->tags[i].state == BCCHIP_TAG_ABANDONED;
	spin_unlock_irqrestore(&q->lock, flags);
	if (busy)
		bcchip_queue_reap(q);
	return busy || READ_ONCE(q->reap_more);
}

void bcchip_queue_reap_later(struct bcchip_queue *q)
{
	WRITE_ONCE(q->reap_more, true);
	bcchip_poll_kick(q->bd);
}

irqreturn_t bcchip_irq(int irq, void *data)
{
	struct bcchip_vec *vec = data;
	struct bcchip_dev *bd = vec->bd;
	unsigned int qid, n = 0;

	for (qid = vec->index; qid <= bd->nr_io_queues; qid += bd->nr_vecs)
		n += bcchip_queue_reap(&bd->queues[qid]);
	return n ? IRQ_HANDLED : IRQ_NONE;
}

/* A clean tag if there is one, else one still to be wiped (@dirty). */
static bool bcchip_tag_try_get(struct bcchip_queue *q,
			       struct bcchip_tag **tagp, bool *dirty, int *err)
{
	struct bcchip_tag *found = NULL;
	unsigned long flags;
	unsigned int i;
	bool got = false;

	spin_lock_irqsave(&q->lock, flags);
	if (q->dead) {
		*err = q->dead_errno;
		got = true;
		goto out;
	}
	for (i = 0; i < q->nr_tags; i++) {
		if (q->tags[i].state == BCCHIP_TAG_FREE) {
			found = &q->tags[i];
			break;
		}
		if (q->tags[i].state == BCCHIP_TAG_DIRTY && !found)
			found = &q->tags[i];
	}
	if (found) {
		*dirty = found->state == BCCHIP_TAG_DIRTY;
		found->state = BCCHIP_TAG_RESERVED;
		*tagp = found;
		got = true;
	}
out:
	spin_unlock_irqrestore(&q->lock, flags);
	return got;
}

/*
 * Reserve a tag, waiting at most @timeout_ms for one (they may all be
 * held by commands the device has not completed).  @owner, if any, has
 * been charged for the command (bcchip_quota_charge()): the tag gives the
 * charge back when it is free again.  Returns an ERR_PTR: the queue's
 * dead_errno (-ENODEV: removed, -EAGAIN: being reset), -ETIMEDOUT, -EINTR.
 */
struct bcchip_tag *bcchip_tag_get(struct bcchip_queue *q, bool intr,
				  unsigned int timeout_ms,
				  struct bcchip_client *owner)
{
	unsigned long timeout = msecs_to_jiffies(timeout_ms);
	struct bcchip_tag *tag = NULL;
	bool dirty = false;
	int err = 0;
	long ret;

	if (intr)
		ret = wait_event_interruptible_timeout(q->tag_wait,
						       bcchip_tag_try_get(q, &tag, &dirty, &err),
						       timeout);
	else
		ret = wait_event_timeout(q->tag_wait,
					 bcchip_tag_try_get(q, &tag, &dirty, &err),
					 timeout);
	if (ret < 0)
		return ERR_PTR(-EINTR);
	if (err)
		return ERR_PTR(err);
	if (!tag)
		return ERR_PTR(-ETIMEDOUT);
	/* reserved: ours alone, wiped here rather than in an interrupt */
	if (dirty)
		bcchip_tag_wipe(q, tag);
	tag->owner = owner;
	return tag;
}

/* Give back a tag that is not in flight. */
void bcchip_tag_put(struct bcchip_queue *q, struct bcchip_tag *tag)
{
	unsigned long flags;

	if (!tag)
		return;
	/* ours alone until marked free: wipe it without interrupts off */
	bcchip_tag_wipe(q, tag);
	spin_lock_irqsave(&q->lock, flags);
	bcchip_tag_free_locked(q, tag, BCCHIP_TAG_FREE);
	spin_unlock_irqrestore(&q->lock, flags);
}

static int bcchip_status_errno(struct bcchip_queue *q, struct bcchip_tag *tag)
{
	struct device *dev = bcchip_pdev_dev(q->bd);

	switch (tag->dev_status) {
	case BCCHIP_DS_SUCCESS:
		if (tag->resp_len < BCFW_HDR_SIZE || tag->resp_len > tag->resp_cap) {
			dev_warn_ratelimited(dev, "bad response length %u\n",
					     tag->resp_len);
			return -EIO;
		}
		return 0;
	case BCCHIP_DS_OVERFLOW:
		/* the size needed goes back to user space: it must make sense */
		if (tag->resp_len <= tag->resp_cap ||
		    tag->resp_len > q->bd->max_frame) {
			dev_warn_ratelimited(dev, "bad overflow length %u\n",
					     tag->resp_len);
			return -EIO;
		}
		return -EMSGSIZE;
	case BCCHIP_DS_ABORTED:
		return -ECANCELED;
	case BCCHIP_DS_FW_UNAVAILABLE:
		return -EIO;
	case BCCHIP_TAG_HOST_ABORT:
		return -ENODEV;
	default:
		dev_warn_ratelimited(dev, "queue %u cid %u: device status %u\n",
				     q->qid, tag->cid, tag->dev_status);
		return -EIO;
	}
}

/*
 * Submit the frame in (*tagp)->req and wait for its completion.
 * tag->req_len and tag->resp_cap must be set.
 *
 * Returns 0 (response in tag->resp, tag->resp_len bytes) or an errno
 * (-EMSGSIZE: tag->resp_len is the size needed).  On -ETIMEDOUT and
 * -EINTR the command is still owned by the device: *tagp is set to NULL
 * and the tag is released when the device completes it.
 */
int bcchip_tag_exec(struct bcchip_queue *q, struct bcchip_tag **tagp,
		    u32 client, unsigned int timeout_ms, bool intr)
{
	struct bcchip_tag *tag = *tagp;
	unsigned long timeout = msecs_to_jiffies(timeout_ms);
	struct bcchip_sqe *sqe;
	unsigned long flags;
	long ret;
	bool ring, polled;
	int err;

	spin_lock_irqsave(&q->lock, flags);
	if (q->dead) {
		err = q->dead_errno;
		spin_unlock_irqrestore(&q->lock, flags);
		return err;
	}
	reinit_completion(&tag->done);
	tag->state = BCCHIP_TAG_INFLIGHT;
	tag->resp_len = 0;
	tag->submitted = jiffies;
	tag->abort_sent = false;
	/* a new use count: completions of the tag's last command are stale */
	tag->cid += BIT(BCCHIP_CID_INDEX_BITS);
	tag->sq_slot = q->sq_tail;
	q->sq_tag[q->sq_tail] = BCCHIP_CID_INDEX(tag->cid);
	/* nothing ahead of it: the device may take it now */
	tag->clock_start = q->sq_head == q->sq_tail ? (jiffies ?: 1) : 0;
	sqe = &q->sq[q->sq_tail];
	memset(sqe, 0, sizeof(*sqe));
	sqe->cid = cpu_to_le16(tag->cid);
	sqe->client = cpu_to_le32(client);
	sqe->req_addr = cpu_to_le64(tag->req_dma);
	sqe->resp_addr = cpu_to_le64(tag->resp_dma);
	sqe->req_len = cpu_to_le32(tag->req_len);
	sqe->resp_cap = cpu_to_le32(tag->resp_cap);
	if (++q->sq_tail == q->depth)
		q->sq_tail = 0;
	q->nr_submitted++;
	/* chosen before its CPU went offline: nothing will interrupt */
	polled = q->polled;
	/*
	 * Doorbell batching: while one submitter writes the doorbell, with
	 * the lock dropped (an MMIO write is slow, a trap under
	 * virtualisation), others only add their entries; the writer then
	 * publishes them all with one more write.  The tail it writes
	 * outside the lock cannot be stale: every caller holds hw_lock for
	 * reading (or owns the chip at probe), and a queue is programmed
	 * again only under hw_lock for writing; a queue failed meanwhile
	 * (CC.EN = 0 first) ignores the write, and is not written again.
	 */
	ring = !q->db_pending;
	q->db_pending = true;
	while (ring && !q->dead && q->db_tail != q->sq_tail) {
		u16 tail = q->sq_tail;

		spin_unlock_irqrestore(&q->lock, flags);
		/* entries and frames visible before the doorbell */
		dma_wmb();
		bcchip_wr(q->bd, BCCHIP_REG_SQTDBL(q->qid), tail);
		spin_lock_irqsave(&q->lock, flags);
		q->db_tail = tail;
		q->nr_doorbells++;
	}
	if (ring)
		q->db_pending = false;
	spin_unlock_irqrestore(&q->lock, flags);
	if (polled)
		bcchip_poll_kick(q->bd);

	if (intr)
		ret = wait_for_completion_interruptible_timeout(&tag->done,
								timeout);
	else
		ret = wait_for_completion_timeout(&tag->done, timeout);

	if (ret <= 0) {
		spin_lock_irqsave(&q->lock, flags);
		if (tag->state == BCCHIP_TAG_INFLIGHT) {
			tag->state = BCCHIP_TAG_ABANDONED;
			spin_unlock_irqrestore(&q->lock, flags);
			*tagp = NULL;
			if (ret == 0) {
				/*
				 * user space picks the timeout, and may pick
				 * it to flood the log: debug only
				 */
				dev_dbg(bcchip_pdev_dev(q->bd),
					"queue %u cid %#x: timed out after %u ms\n",
					q->qid, tag->cid, timeout_ms);
				return -ETIMEDOUT;
			}
			return -EINTR;
		}
		/* completed while we gave up: use the answer */
		spin_unlock_irqrestore(&q->lock, flags);
	}
	return bcchip_status_errno(q, tag);
}

/*
 * Whether the chip has had @tag for longer than @limit.  Its clock starts
 * when the device had fetched everything ahead of it: time spent queued
 * behind other clients' commands says nothing about the chip's health.
 */
static bool bcchip_tag_overdue(const struct bcchip_tag *tag, unsigned long now,
			       unsigned long limit)
{
	return (tag->state == BCCHIP_TAG_INFLIGHT ||
		tag->state == BCCHIP_TAG_ABANDONED) &&
	       tag->clock_start && time_after(now, tag->clock_start + limit);
}

/*
 * The watchdog's look at one queue: commands the chip has had for longer
 * than @timeout_ms are first looked for in the completion ring (a lost
 * interrupt), then aborted, and *@overdue is set, so that the watchdog
 * asks the firmware for a sign of life of its own (heartbeat): whether
 * the firmware is alive is never judged by how long users' commands take.
 * An abort the device does not honour means the device itself is broken:
 * returns true and sets @why.
 */
bool bcchip_queue_check_timeouts(struct bcchip_queue *q,
				 unsigned int timeout_ms, const char **why,
				 bool *overdue)
{
	struct bcchip_dev *bd = q->bd;
	struct device *dev = bcchip_pdev_dev(bd);
	unsigned long limit = msecs_to_jiffies(timeout_ms);
	unsigned long abort_limit = msecs_to_jiffies(BCCHIP_ABORT_TIMEOUT_MS);
	unsigned long flags, now = jiffies;
	bool late = false, reset = false;
	unsigned int i;

	if (!q->tags)
		return false;
	spin_lock_irqsave(&q->lock, flags);
	for (i = 0; i < q->nr_tags && !late; i++)
		late = bcchip_tag_overdue(&q->tags[i], now, limit);
	spin_unlock_irqrestore(&q->lock, flags);
	if (!late)
		return false;

	/* poll first: the completion may be there without its interrupt */
	if (bcchip_queue_reap(q))
		dev_warn_ratelimited(dev, "queue %u: completions found by polling\n",
				     q->qid);

	spin_lock_irqsave(&q->lock, flags);
	for (i = 0; i < q->nr_tags && !reset && !q->dead; i++) {
		struct bcchip_tag *tag = &q->tags[i];

		if (!bcchip_tag_overdue(tag, now, limit))
			continue;
		*overdue = true;
		if (tag->abort_sent) {
			if (time_after(now, tag->abort_at + abort_limit)) {
				*why = "abort not honoured";
				reset = true;
			}
			continue;
		}
		dev_notice_ratelimited(dev, "queue %u cid %#x: no completion after %u ms, aborting\n",
				       q->qid, tag->cid,
				       jiffies_to_msecs(now - tag->clock_start));
		tag->abort_sent = true;
		tag->abort_at = now;
		q->nr_aborts++;
		bcchip_wr(bd, BCCHIP_REG_ABORT,
			  BCCHIP_ABORT_CMD(q->qid, tag->cid));
	}
	spin_unlock_irqrestore(&q->lock, flags);
	return reset;
}

struct bcchip_queue *bcchip_io_queue(struct bcchip_dev *bd)
{
	unsigned int cpu = raw_smp_processor_id();

	if (bd->cpu_queue && cpu < nr_cpu_ids)
		return &bd->queues[READ_ONCE(bd->cpu_queue[cpu])];
	return &bd->queues[1 + cpu % bd->nr_io_queues];
}

/*
 * Send a header-only host command on the admin queue, not interruptible
 * (it also runs from release at process exit), bounded by @timeout_ms
 * (0: cmd_timeout_ms).
 */
int bcchip_host_cmd(struct bcchip_dev *bd, u16 opcode, u32 client,
		    void *resp, u32 resp_size, u32 *resp_len,
		    unsigned int timeout_ms)
{
	struct bcchip_queue *q = &bd->queues[BCCHIP_ADMIN_QID];
	unsigned long deadline;
	struct bcchip_tag *tag;
	struct bcfw_hdr *hdr;
	int ret;

	if (!timeout_ms)
		timeout_ms = max(1U, READ_ONCE(bcchip_cmd_timeout_ms));
	deadline = jiffies + msecs_to_jiffies(timeout_ms);
	tag = bcchip_tag_get(q, false, timeout_ms, NULL);
	if (IS_ERR(tag))
		return PTR_ERR(tag);
	hdr = tag->req;
	memset(hdr, 0, sizeof(*hdr));
	hdr->magic = cpu_to_le32(BCFW_MAGIC);
	hdr->version = BCFW_PROTO_VERSION;
	hdr->opcode = cpu_to_le16(opcode);
	hdr->length = cpu_to_le32(BCFW_HDR_SIZE);
	tag->req_len = BCFW_HDR_SIZE;
	tag->resp_cap = bd->max_frame;

	ret = bcchip_tag_exec(q, &tag, client, bcchip_msecs_left(deadline),
			      false);
	if (!ret) {
		u32 n = min(tag->resp_len, resp_size);

		if (resp)
			memcpy(resp, tag->resp, n);
		if (resp_len)
			*resp_len = tag->resp_len;
	}
	bcchip_tag_put(q, tag);
	return ret;
}
