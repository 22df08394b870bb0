// SPDX-License-Identifier: GPL-2.0
/*
 * Bastionchip event queue: what the chip says without being asked
 * (docs/hardware.md "Event queue"), and the events the driver raises
 * itself (a reset, a chip given up for dead).  Both go to the netlink
 * "events" group (netlink.c).
 *
 * The device writes entries with a phase tag, as in completion rings, and
 * raises vector NVEC - 1, or (NVEC - 1) mod granted.  The interrupt only
 * looks at the phase and queues a work item; the work item copies the
 * entries out under the ring's lock, writes the head doorbell and sends
 * them on after dropping the lock, in process context.
 *
 * Every sender holds send_lock from taking an event to multicasting it,
 * so that user space sees the events, and their SEQ, in the order they
 * happened.  The queue is enabled only once the chip has a minor to name
 * it by, and after a reset only once RESET is sent: until then the
 * device keeps its events.
 */

#include <linux/dma-mapping.h>
#include <linux/interrupt.h>
#include <linux/ktime.h>
#include <linux/pci.h>
#include <linux/timekeeping.h>

#include "bcchip.h"

/* One page of 32-byte entries: more than the device's backlog of 64. */
#define BCCHIP_EVQ_DEPTH	128U
/* Entries copied out per turn of the lock; they live on the stack. */
#define BCCHIP_EVQ_BATCH	8

/*
 * Take up to @max entries the device has written, and tell it how far the
 * host got.  Returns how many were taken.
 */
static unsigned int bcchip_events_take(struct bcchip_dev *bd,
				       struct bcchip_event *out,
				       unsigned int max)
{
	struct bcchip_evq *evq = &bd->evq;
	unsigned int n = 0;

	spin_lock_irq(&evq->lock);
	while (evq->enabled && n < max) {
		struct bcchip_eqe *e = &evq->ring[evq->head];
		u16 status = le16_to_cpu(READ_ONCE(e->status));

		if ((status & BCCHIP_EQE_PHASE) != evq->phase)
			break;
		/* read the rest of the entry only after its phase */
		dma_rmb();
		out[n].type = le16_to_cpu(e->type);
		out[n].time = le64_to_cpu(e->time);
		out[n].arg0 = le64_to_cpu(e->arg0);
		out[n].arg1 = le64_to_cpu(e->arg1);
		evq->nr_events++;
		evq->last_seq = le32_to_cpu(e->seq);
		if (out[n].type == BCCHIP_EVENT_LOST)
			evq->nr_lost += out[n].arg0;
		n++;
		if (++evq->head == evq->depth) {
			evq->head = 0;
			evq->phase ^= 1;
		}
	}
	if (n) {
		/* the entries are read before the device may reuse them */
		mb();
		bcchip_wr(bd, BCCHIP_REG_EQHDBL, evq->head);
	}
	spin_unlock_irq(&evq->lock);
	return n;
}

/* What operators should hear of in the kernel log too. */
static void bcchip_event_log(struct bcchip_dev *bd,
			     const struct bcchip_event *ev)
{
	struct device *dev = bcchip_pdev_dev(bd);

	switch (ev->type) {
	case BCCHIP_EVENT_REFRESH_DONE:
		/* as often as administrators ask: no warning for a flood */
		bcchip_info_quiet(dev, "attestation refreshed, generation %llu\n",
				  ev->arg0);
		break;
	case BCCHIP_EVENT_REFRESH_FAILED:
		dev_warn_ratelimited(dev, "attestation refresh failed (%llu in a row)\n",
				     ev->arg0);
		break;
	case BCCHIP_EVENT_NEAR_EXPIRY:
		dev_warn_ratelimited(dev, "attestation certificate expires in %llu s\n",
				     ev->arg1);
		break;
	case BCCHIP_EVENT_FATAL:
		dev_err_ratelimited(dev, "chip reports a fatal error (%llu)\n",
				    ev->arg0);
		break;
	case BCCHIP_EVENT_LOST:
		dev_err_ratelimited(dev, "%llu chip events lost\n", ev->arg0);
		break;
	default:
		dev_dbg(dev, "chip event %u (%llu, %llu)\n",
			ev->type, ev->arg0, ev->arg1);
		break;
	}
}

/*
 * Deliver what is in the ring, at most a ring's worth: a chip that keeps
 * posting events gets the rest delivered by the work queued again, behind
 * whatever else (a reset) waits for the workqueue.  Process context.
 */
static void bcchip_events_drain(struct bcchip_dev *bd)
{
	struct bcchip_event batch[BCCHIP_EVQ_BATCH];
	unsigned int i, n, total = 0;

	mutex_lock(&bd->evq.send_lock);
	do {
		n = bcchip_events_take(bd, batch, ARRAY_SIZE(batch));
		for (i = 0; i < n; i++) {
			bcchip_event_log(bd, &batch[i]);
			bcchip_netlink_event(bd, &batch[i]);
		}
		total += n;
	} while (n == ARRAY_SIZE(batch) && total < bd->evq.depth);
	mutex_unlock(&bd->evq.send_lock);
	if (n == ARRAY_SIZE(batch))
		queue_work(system_wq, &bd->evq.work);
}

static void bcchip_events_work(struct work_struct *work)
{
	struct bcchip_evq *evq = container_of(work, struct bcchip_evq, work);

	bcchip_events_drain(container_of(evq, struct bcchip_dev, evq));
}

void bcchip_events_init(struct bcchip_dev *bd)
{
	struct bcchip_evq *evq = &bd->evq;

	spin_lock_init(&evq->lock);
	mutex_init(&evq->send_lock);
	INIT_WORK(&evq->work, bcchip_events_work);
	evq->seq = 0;
}

/*
 * The ring, if the chip has an event queue: CAP2 counts a vector for it
 * beyond those of the queues.  A chip without one reads its registers as
 * zero and ignores writes; the driver then only raises its own events.
 */
int bcchip_events_alloc(struct bcchip_dev *bd)
{
	struct bcchip_evq *evq = &bd->evq;
	u32 cap2 = bcchip_rd(bd, BCCHIP_REG_CAP2);

	if (cap2 < 2 + BCCHIP_CAP0_NIOQ(bd->cap0)) {
		dev_info(bcchip_pdev_dev(bd), "chip has no event queue\n");
		return 0;
	}
	evq->dev_vecs = cap2;
	evq->depth = min(BCCHIP_EVQ_DEPTH, BCCHIP_CAP0_MQES(bd->cap0));
	evq->ring = dmam_alloc_coherent(bcchip_pdev_dev(bd),
					evq->depth * sizeof(*evq->ring),
					&evq->ring_dma, GFP_KERNEL);
	return evq->ring ? 0 : -ENOMEM;
}

/*
 * Every vector the chip has, so that the event queue gets the last one to
 * itself; the I/O queues' vectors are spread over the CPUs, those of the
 * queues not in use and the event queue's are not.  Negative when that is
 * not to be had: the caller then asks for fewer, and the event queue
 * shares vector (NVEC - 1) mod granted, as the device does.
 */
int bcchip_events_irq_vectors(struct bcchip_dev *bd, unsigned int max_vectors)
{
	unsigned int nvec = bd->evq.dev_vecs;
	struct irq_affinity affd = { .pre_vectors = 1 };

	if (!nvec || nvec > ARRAY_SIZE(bd->vecs) ||
	    nvec < 2 + bd->nr_io_queues || (max_vectors && max_vectors < nvec))
		return -ENOSPC;
	affd.post_vectors = nvec - 1 - bd->nr_io_queues;
	return pci_alloc_irq_vectors_affinity(bd->pdev, nvec, nvec,
					      PCI_IRQ_MSIX | PCI_IRQ_AFFINITY,
					      &affd);
}

static bool bcchip_events_pending(struct bcchip_dev *bd)
{
	struct bcchip_evq *evq = &bd->evq;
	bool pending = false;

	spin_lock(&evq->lock);
	if (evq->enabled) {
		u16 status = le16_to_cpu(READ_ONCE(evq->ring[evq->head].status));

		pending = (status & BCCHIP_EQE_PHASE) == evq->phase;
	}
	spin_unlock(&evq->lock);
	return pending;
}

/* The event queue's vector: maybe some queues' too. */
static irqreturn_t bcchip_events_irq(int irq, void *data)
{
	struct bcchip_vec *vec = data;
	struct bcchip_dev *bd = vec->bd;
	irqreturn_t ret = bcchip_irq(irq, data);

	if (bcchip_events_pending(bd)) {
		queue_work(system_wq, &bd->evq.work);
		ret = IRQ_HANDLED;
	}
	return ret;
}

/* After the vectors are granted: the handler for vector @v. */
irq_handler_t bcchip_vec_handler(struct bcchip_dev *bd, unsigned int v)
{
	struct bcchip_evq *evq = &bd->evq;

	if (!evq->ring)
		return bcchip_irq;
	evq->vec = (evq->dev_vecs - 1) % bd->nr_vecs;
	return v == evq->vec ? bcchip_events_irq : bcchip_irq;
}

/*
 * Step 3 of enabling (probe and every reset), with the chip ready: what
 * the device wrote before it was disabled is delivered first, then the
 * ring starts again from the top.  The queue stays disabled until
 * bcchip_events_enable(): events raised meanwhile wait in the device's
 * backlog.
 */
void bcchip_events_program(struct bcchip_dev *bd)
{
	struct bcchip_evq *evq = &bd->evq;

	if (!evq->ring)
		return;
	bcchip_events_drain(bd);
	spin_lock_irq(&evq->lock);
	memset(evq->ring, 0, evq->depth * sizeof(*evq->ring));
	evq->head = 0;
	evq->phase = 1;
	evq->enabled = false;
	spin_unlock_irq(&evq->lock);

	bcchip_wr(bd, BCCHIP_REG_EQCTL, 0);
	if (evq->broken)
		return;
	bcchip_wr(bd, BCCHIP_REG_EQB_LO, lower_32_bits(evq->ring_dma));
	bcchip_wr(bd, BCCHIP_REG_EQB_HI, upper_32_bits(evq->ring_dma));
	bcchip_wr(bd, BCCHIP_REG_EQSIZE, evq->depth);
}

/*
 * Let the device write its events: at probe once the chip has its minor,
 * after a reset once RESET is sent.  The caller holds the reset mutex,
 * and the chip is LIVE.  A chip that refuses the
 * queue (CSTS.CFS) is reset and does without it from then on: a broken
 * event queue must not take the chip's commands down with it.
 */
void bcchip_events_enable(struct bcchip_dev *bd)
{
	struct bcchip_evq *evq = &bd->evq;

	bool was;

	if (!evq->ring || evq->broken)
		return;
	spin_lock_irq(&evq->lock);
	was = evq->enabled;
	evq->enabled = true;
	spin_unlock_irq(&evq->lock);
	if (was)
		return;
	/*
	 * A CFS already up (the firmware reconnected behind the enabled
	 * chip) is not the event queue's doing: the watchdog resets for it.
	 */
	if (bcchip_rd(bd, BCCHIP_REG_CSTS) & BCCHIP_CSTS_CFS) {
		spin_lock_irq(&evq->lock);
		evq->enabled = false;
		spin_unlock_irq(&evq->lock);
		bcchip_schedule_reset(bd, "fatal status");
		return;
	}
	bcchip_wr(bd, BCCHIP_REG_EQCTL, BCCHIP_EQCTL_ENABLE);
	if (bcchip_rd(bd, BCCHIP_REG_CSTS) & BCCHIP_CSTS_CFS) {
		dev_err(bcchip_pdev_dev(bd),
			"chip refused its event queue: going on without it\n");
		spin_lock_irq(&evq->lock);
		evq->enabled = false;
		spin_unlock_irq(&evq->lock);
		evq->broken = true;
		bcchip_schedule_reset(bd, "event queue refused");
	}
}

/*
 * Removal, after the chip is disabled and the vectors freed: nothing
 * touches the registers or the ring after this.
 */
void bcchip_events_stop(struct bcchip_dev *bd)
{
	struct bcchip_evq *evq = &bd->evq;

	spin_lock_irq(&evq->lock);
	evq->enabled = false;
	spin_unlock_irq(&evq->lock);
	cancel_work_sync(&evq->work);
}

/* An event of the driver's own; process context. */
void bcchip_event_raise(struct bcchip_dev *bd, u16 type, u64 arg0, u64 arg1)
{
	struct bcchip_event ev = {
		.type = type,
		.time = ktime_get_real_seconds(),
		.arg0 = arg0,
		.arg1 = arg1,
	};

	mutex_lock(&bd->evq.send_lock);
	bcchip_netlink_event(bd, &ev);
	mutex_unlock(&bd->evq.send_lock);
}

/*
 * After a reset (reset.c): RESET with the new generation, or FATAL with
 * the status register when the chip did not come back.
 */
void bcchip_events_after_reset(struct bcchip_dev *bd)
{
	switch (bcchip_get_state(bd)) {
	case BCCHIP_STATE_LIVE:
		bcchip_event_raise(bd, BCCHIP_EVENT_RESET,
				   bcchip_generation(bd), 0);
		break;
	case BCCHIP_STATE_DEAD:
		bcchip_event_raise(bd, BCCHIP_EVENT_FATAL,
				   bcchip_rd(bd, BCCHIP_REG_CSTS), 0);
		break;
	default:
		break;
	}
}
