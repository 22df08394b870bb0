// SPDX-License-Identifier: GPL-2.0
/*
 * Bastionchip rings in debugfs, for debugging:
 * /sys/kernel/debug/bcchip/<pci address>/rings.
 *
 * Shows indices, counters, every busy tag and the entries of both rings
 * of every queue, and the event queue's indices and counters.  Never the
 * frames: their buffers may hold key material.
 * inject_fatal (write 1) rings the admin queue's doorbell out of range, so
 * that the chip sets CSTS.CFS and the recovery path can be tested.
 * debugfs's file proxy makes removal wait for a reader, and readers never
 * start after it, so @bd outlives them.
 */

#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/jiffies.h>
#include <linux/kernel.h>
#include <linux/seq_file.h>
#include <linux/uaccess.h>

#include "bcchip.h"

static struct dentry *bcchip_debugfs_root;

static const char * const bcchip_tag_names[] = {
	[BCCHIP_TAG_FREE]	= "free",
	[BCCHIP_TAG_RESERVED]	= "reserved",
	[BCCHIP_TAG_INFLIGHT]	= "inflight",
	[BCCHIP_TAG_ABANDONED]	= "abandoned",
	[BCCHIP_TAG_DONE]	= "done",
	[BCCHIP_TAG_DIRTY]	= "dirty",
};

static void bcchip_show_queue(struct seq_file *m, struct bcchip_queue *q)
{
	unsigned long flags, now = jiffies;
	unsigned int i;

	spin_lock_irqsave(&q->lock, flags);
	seq_printf(m, "queue %u: depth %u sq_head %u sq_tail %u cq_head %u phase %u%s%s\n",
		   q->qid, q->depth, q->sq_head, q->sq_tail, q->cq_head, q->phase,
		   q->dead ? " dead" : "", q->polled ? " polled" : "");
	seq_printf(m, "  submitted %llu doorbells %llu completed %llu aborts %llu ignored %llu\n",
		   q->nr_submitted, q->nr_doorbells, q->nr_completed,
		   q->nr_aborts, q->nr_ignored);
	for (i = 0; i < q->nr_tags; i++) {
		struct bcchip_tag *tag = &q->tags[i];

		if (tag->state == BCCHIP_TAG_FREE ||
		    tag->state == BCCHIP_TAG_DIRTY)
			continue;
		seq_printf(m, "  tag %u: %s", tag->cid,
			   bcchip_tag_names[tag->state]);
		if (tag->state == BCCHIP_TAG_INFLIGHT ||
		    tag->state == BCCHIP_TAG_ABANDONED)
			seq_printf(m, " cid %#x for %u ms%s%s",
				   tag->cid, jiffies_to_msecs(now - tag->submitted),
				   tag->clock_start ? "" : " not fetched",
				   tag->abort_sent ? " abort sent" : "");
		seq_putc(m, '\n');
	}
	for (i = 0; i < q->depth; i++) {
		const struct bcchip_sqe *sqe = &q->sq[i];

		seq_printf(m, "  sq[%u] cid %u client %u req_len %u resp_cap %u\n",
			   i, le16_to_cpu(sqe->cid), le32_to_cpu(sqe->client),
			   le32_to_cpu(sqe->req_len),
			   le32_to_cpu(sqe->resp_cap));
	}
	for (i = 0; i < q->depth; i++) {
		const struct bcchip_cqe *cqe = &q->cq[i];
		u16 status = le16_to_cpu(cqe->status);

		seq_printf(m, "  cq[%u] cid %u status %u phase %u resp_len %u sq_head %u\n",
			   i, le16_to_cpu(cqe->cid), BCCHIP_CQE_STATUS(status),
			   (unsigned int)(status & BCCHIP_CQE_PHASE),
			   le32_to_cpu(cqe->resp_len),
			   le16_to_cpu(cqe->sq_head));
	}
	spin_unlock_irqrestore(&q->lock, flags);
}

/*
 * The event ring: its indices, what came through it and the entry at the
 * head (its phase says whether the device wrote more).
 */
static void bcchip_show_evq(struct seq_file *m, struct bcchip_dev *bd)
{
	struct bcchip_evq *evq = &bd->evq;
	u16 status;

	if (!evq->ring) {
		seq_puts(m, "event queue: none\n");
		return;
	}
	spin_lock_irq(&evq->lock);
	status = le16_to_cpu(READ_ONCE(evq->ring[evq->head].status));
	seq_printf(m, "event queue: depth %u head %u phase %u vector %u%s\n",
		   evq->depth, evq->head, evq->phase, evq->vec,
		   evq->enabled ? "" : " disabled");
	seq_printf(m, "  events %llu lost %llu last_seq %u pending %u netlink_seq %u\n",
		   evq->nr_events, evq->nr_lost, evq->last_seq,
		   (status & BCCHIP_EQE_PHASE) == evq->phase,
		   READ_ONCE(evq->seq));
	spin_unlock_irq(&evq->lock);
}

static int bcchip_rings_show(struct seq_file *m, void *unused)
{
	struct bcchip_dev *bd = m->private;
	unsigned int qid;
	u32 csts = bcchip_rd(bd, BCCHIP_REG_CSTS);

	seq_printf(m, "state %d generation %u csts %#x vectors %u\n",
		   bcchip_get_state(bd), bcchip_generation(bd), csts,
		   bd->nr_vecs);
	seq_printf(m, "bounce buffers %llu bytes (limit %u)\n",
		   bd->bounce_bytes, BCCHIP_BOUNCE_LIMIT);
	bcchip_show_evq(m, bd);
	for (qid = 0; qid <= bd->nr_io_queues; qid++)
		bcchip_show_queue(m, &bd->queues[qid]);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(bcchip_rings);

/*
 * Who holds what: each uid's outstanding commands against the limits,
 * and the ids of closed files the firmware has not confirmed forgetting
 * (reserved: no new file gets them).
 */
static int bcchip_clients_show(struct seq_file *m, void *unused)
{
	struct bcchip_dev *bd = m->private;
	struct bcchip_closing *c;
	struct bcchip_uid *u;
	unsigned int i;

	seq_printf(m, "limits: per file %u per uid %u\n",
		   bd->max_cmds_per_file, bd->max_cmds_per_uid);
	spin_lock_irq(&bd->uid_lock);
	for (i = 0; i < ARRAY_SIZE(bd->uids); i++)
		hlist_for_each_entry(u, &bd->uids[i], node)
			seq_printf(m, "uid %u: files+commands %u outstanding %d\n",
				   from_kuid(&init_user_ns, u->uid),
				   refcount_read(&u->ref),
				   atomic_read(&u->outstanding));
	spin_unlock_irq(&bd->uid_lock);
	spin_lock(&bd->closing_lock);
	list_for_each_entry(c, &bd->closing, node)
		seq_printf(m, "closing %u generation %u\n", c->id,
			   c->generation);
	spin_unlock(&bd->closing_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(bcchip_clients);

static ssize_t bcchip_inject_fatal_write(struct file *file,
					 const char __user *ubuf,
					 size_t count, loff_t *ppos)
{
	struct bcchip_dev *bd = file->private_data;
	bool yes;
	int ret;

	ret = kstrtobool_from_user(ubuf, count, &yes);
	if (ret)
		return ret;
	if (!yes)
		return -EINVAL;
	ret = bcchip_hw_try_get(bd);
	if (ret)
		return ret;
	dev_notice(bcchip_pdev_dev(bd), "injecting a fatal status\n");
	bcchip_wr(bd, BCCHIP_REG_SQTDBL(BCCHIP_ADMIN_QID), U16_MAX);
	bcchip_hw_put(bd);
	return count;
}

static const struct file_operations bcchip_inject_fatal_fops = {
	.owner	= THIS_MODULE,
	.open	= simple_open,
	.write	= bcchip_inject_fatal_write,
	.llseek	= noop_llseek,
};

void bcchip_debugfs_add(struct bcchip_dev *bd)
{
	if (IS_ERR_OR_NULL(bcchip_debugfs_root))
		return;
	bd->debugfs = debugfs_create_dir(pci_name(bd->pdev),
					 bcchip_debugfs_root);
	debugfs_create_file("rings", 0400, bd->debugfs, bd,
			    &bcchip_rings_fops);
	debugfs_create_file("inject_fatal", 0200, bd->debugfs, bd,
			    &bcchip_inject_fatal_fops);
	debugfs_create_file("clients", 0400, bd->debugfs, bd,
			    &bcchip_clients_fops);
}

void bcchip_debugfs_del(struct bcchip_dev *bd)
{
	debugfs_remove_recursive(bd->debugfs);
	bd->debugfs = NULL;
}

void bcchip_debugfs_init(void)
{
	bcchip_debugfs_root = debugfs_create_dir(BCCHIP_DRV_NAME, NULL);
}

void bcchip_debugfs_exit(void)
{
	debugfs_remove_recursive(bcchip_debugfs_root);
}
