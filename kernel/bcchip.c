// SPDX-License-Identifier: GPL-2.0
/*
 * Bastionchip PCIe hardware security module: module and PCI glue.
 *
 * Probe brings the chip from PROBING to LIVE: check the interface, reset
 * it, set up the admin queue and the I/O queues, and ask the firmware who
 * it is.  Removal marks it REMOVED, stops the chip, fails whatever is
 * still waiting and lets open files keep the per-chip structure alive
 * until they are closed.  Resets live in reset.c.  docs/driver.md
 * describes the design.
 */

#include <linux/cpu.h>
#include <linux/cpuhotplug.h>
#include <linux/delay.h>
#include <linux/dma-mapping.h>
#include <linux/interrupt.h>
#include <linux/irq.h>
#include <linux/jiffies.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/pci.h>
#include <linux/slab.h>
#include <linux/workqueue.h>

#include "bcchip.h"

unsigned int bcchip_cmd_timeout_ms = 10000;
module_param_named(cmd_timeout_ms, bcchip_cmd_timeout_ms, uint, 0644);
MODULE_PARM_DESC(cmd_timeout_ms,
		 "Default time to wait for a command's completion, in ms (default 10000)");

unsigned int bcchip_recovery_timeout_ms = 70000;
module_param_named(recovery_timeout_ms, bcchip_recovery_timeout_ms, uint, 0644);
MODULE_PARM_DESC(recovery_timeout_ms,
		 "A command in flight for longer is aborted, then the chip reset, in ms (default 70000, longer than any firmware operation)");

unsigned int bcchip_max_cmds_per_file = 16;
module_param_named(max_cmds_per_file, bcchip_max_cmds_per_file, uint, 0444);
MODULE_PARM_DESC(max_cmds_per_file,
		 "Most commands one open file may have outstanding, in flight or abandoned (default 16, at most max_cmds_per_uid)");

unsigned int bcchip_max_cmds_per_uid;
module_param_named(max_cmds_per_uid, bcchip_max_cmds_per_uid, uint, 0444);
MODULE_PARM_DESC(max_cmds_per_uid,
		 "Most commands one uid may have outstanding on a chip (0, the default and the most: half of one I/O queue's tags)");

static unsigned int max_vectors;
module_param(max_vectors, uint, 0444);
MODULE_PARM_DESC(max_vectors, "Most MSI-X vectors per chip (0: one per queue)");

static unsigned int max_io_queues = 4;
module_param(max_io_queues, uint, 0444);
MODULE_PARM_DESC(max_io_queues, "Most I/O queue pairs per chip (1-7, default 4)");

static unsigned int io_queue_depth = 32;
module_param(io_queue_depth, uint, 0444);
MODULE_PARM_DESC(io_queue_depth, "Entries per I/O queue (2-1024, default 32)");

enum bcchip_state bcchip_get_state(struct bcchip_dev *bd)
{
	enum bcchip_state state;

	spin_lock(&bd->state_lock);
	state = bd->state;
	spin_unlock(&bd->state_lock);
	return state;
}

u32 bcchip_generation(struct bcchip_dev *bd)
{
	u32 gen;

	spin_lock(&bd->state_lock);
	gen = bd->generation;
	spin_unlock(&bd->state_lock);
	return gen;
}

void bcchip_set_state(struct bcchip_dev *bd, enum bcchip_state state)
{
	spin_lock(&bd->state_lock);
	/* nothing leaves REMOVED */
	if (bd->state != BCCHIP_STATE_REMOVED)
		bd->state = state;
	spin_unlock(&bd->state_lock);
}

/* What a caller who wants to send a command in @state is told. */
int bcchip_state_errno(enum bcchip_state state)
{
	switch (state) {
	case BCCHIP_STATE_LIVE:
		return 0;
	case BCCHIP_STATE_REMOVED:
		return -ENODEV;
	case BCCHIP_STATE_DEAD:
		return -EIO;
	default:
		return -EAGAIN;
	}
}

/*
 * The right to use the hardware, as tpm_try_get_ops() is the TPM's: 0
 * with hw_lock held for reading and the chip LIVE.  A reset or removal
 * may still stop the chip meanwhile (failing the holder's commands), but
 * it is neither restarted nor torn down until bcchip_hw_put().
 * Otherwise the state's errno, or -EINTR for a fatal signal, and
 * nothing held.
 */
int bcchip_hw_try_get(struct bcchip_dev *bd)
{
	int ret = down_read_killable(&bd->hw_lock);

	if (ret)
		return ret;
	ret = bcchip_state_errno(bcchip_get_state(bd));
	if (ret)
		up_read(&bd->hw_lock);
	return ret;
}

void bcchip_hw_put(struct bcchip_dev *bd)
{
	up_read(&bd->hw_lock);
}

/* The last reference is gone (the char device's release). */
void bcchip_dev_free(struct bcchip_dev *bd)
{
	ida_destroy(&bd->client_ida);
	kfree(bd->cpu_queue);
	pci_dev_put(bd->pdev);
	kfree(bd);
}

/* Poll CSTS.RDY for @ready, for at most CAP0.TO x 500 ms. */
static int bcchip_wait_ready(struct bcchip_dev *bd, bool ready)
{
	unsigned long deadline = jiffies +
				 msecs_to_jiffies(bd->ready_timeout_ms);

	for (;;) {
		u32 csts = bcchip_rd(bd, BCCHIP_REG_CSTS);

		if (csts == ~0U)
			return -ENODEV;		/* the device is gone */
		if (!!(csts & BCCHIP_CSTS_RDY) == ready)
			return 0;
		if (ready && (csts & BCCHIP_CSTS_CFS))
			return -EIO;
		if (time_after(jiffies, deadline))
			return -ETIMEDOUT;
		usleep_range(1000, 2000);
	}
}

int bcchip_hw_disable(struct bcchip_dev *bd)
{
	int ret;

	bcchip_wr(bd, BCCHIP_REG_CC, 0);
	ret = bcchip_wait_ready(bd, false);
	/*
	 * A chip that ignores CC.EN may still write to our rings and
	 * buffers, which are about to be recycled or freed: cut its bus
	 * mastering until it is enabled again.
	 */
	if (ret)
		pci_clear_master(bd->pdev);
	return ret;
}

/*
 * The one way to stop the chip, as nvme_dev_disable() is nvme's: no DMA
 * after it, every waiter failed, every user of the hardware gone.  For
 * a reset's first half (the state is RESETTING already) waiters get
 * ECANCELED and new callers EAGAIN until the restart.  Otherwise they
 * get ENODEV; for removal bus mastering stays off and the heartbeat and
 * the asynchronous CLIENT_CLOSEs are over too.  @touch_hw is false when
 * the link is down (AER): the registers are not touched then.
 */
void bcchip_dev_disable(struct bcchip_dev *bd, enum bcchip_stop how,
			bool touch_hw)
{
	bool reset = how == BCCHIP_STOP_RESET;
	unsigned int qid;

	if (touch_hw)
		bcchip_hw_disable(bd);
	if (how == BCCHIP_STOP_REMOVE)
		pci_clear_master(bd->pdev);
	for (qid = 0; qid <= bd->nr_io_queues; qid++)
		bcchip_queue_abort_all(&bd->queues[qid],
				       reset ? BCCHIP_DS_ABORTED :
					       BCCHIP_TAG_HOST_ABORT,
				       reset ? -EAGAIN : -ENODEV);
	if (how == BCCHIP_STOP_REMOVE) {
		bcchip_recovery_flush(bd);
		/* the chip is gone, and the client ids it knew with it */
		bcchip_closing_stop(bd);
	}
	/* wait for every ioctl, release and sysfs reader to leave */
	down_write(&bd->hw_lock);
	up_write(&bd->hw_lock);
}

/* Reset and enable the chip with every queue; bumps the generation. */
int bcchip_hw_enable(struct bcchip_dev *bd)
{
	struct device *dev = bcchip_pdev_dev(bd);
	unsigned int qid;
	int ret;

	ret = bcchip_hw_disable(bd);
	if (ret) {
		dev_err(dev, "chip did not stop: %d\n", ret);
		return ret;
	}
	pci_set_master(bd->pdev);
	bcchip_queue_program(&bd->queues[BCCHIP_ADMIN_QID]);
	bcchip_wr(bd, BCCHIP_REG_CC, BCCHIP_CC_EN);
	ret = bcchip_wait_ready(bd, true);
	if (ret) {
		dev_err(dev, "chip did not become ready: %d\n", ret);
		return ret;
	}
	for (qid = 1; qid <= bd->nr_io_queues; qid++)
		bcchip_queue_program(&bd->queues[qid]);
	bcchip_events_program(bd);
	if (bcchip_rd(bd, BCCHIP_REG_CSTS) & BCCHIP_CSTS_CFS) {
		dev_err(dev, "chip refused its queues\n");
		return -EIO;
	}
	spin_lock(&bd->state_lock);
	bd->generation++;
	spin_unlock(&bd->state_lock);
	return 0;
}

/* How often a queue whose vector is shut down is reaped by hand. */
#define BCCHIP_POLL_MS	5

/* The dynamic CPU hotplug state every chip is an instance of. */
static int bcchip_cpuhp_state = -1;

/*
 * Whether vector @v still raises interrupts once CPU @gone (nr_cpu_ids:
 * none) is offline.  The IRQ core moves an unmanaged vector to another
 * CPU, but shuts a managed one down when the last online CPU of its
 * affinity goes, until one of them comes back.
 */
static bool bcchip_vec_alive(struct bcchip_dev *bd, unsigned int v,
			     unsigned int gone)
{
	const struct cpumask *mask = pci_irq_get_affinity(bd->pdev, v);
	int irq = pci_irq_vector(bd->pdev, v);
	struct irq_data *d = irq < 0 ? NULL : irq_get_irq_data(irq);
	unsigned int cpu;

	if (!mask || !d || !irqd_affinity_is_managed(d))
		return true;
	for_each_cpu_and(cpu, mask, cpu_online_mask)
		if (cpu != gone)
			return true;
	return false;
}

/*
 * The queue a CPU submits on when every vector works: the one whose
 * vector is affine to it, so that its completions interrupt the CPU
 * that waits for them; with fewer vectors than queues, round robin.
 */
static unsigned int bcchip_cpu_home(struct bcchip_dev *bd, unsigned int cpu)
{
	unsigned int qid;

	if (bd->nr_vecs < 1 + bd->nr_io_queues)
		return 1 + cpu % bd->nr_io_queues;
	for (qid = 1; qid <= bd->nr_io_queues; qid++) {
		const struct cpumask *mask = pci_irq_get_affinity(bd->pdev, qid);

		if (mask && cpumask_test_cpu(cpu, mask))
			return qid;
	}
	return 1 + cpu % bd->nr_io_queues;
}

/*
 * Map every CPU to a queue whose vector works with CPU @gone offline:
 * the CPUs of a queue whose vector is shut down submit on the others,
 * round robin, and the queue is polled until what it has in flight is
 * done (a late submitter that read the old map kicks the poller too).
 * Runs at probe and from the hotplug callbacks, which the hotplug lock
 * serialises.
 */
static void bcchip_map_cpus(struct bcchip_dev *bd, unsigned int gone)
{
	bool alive[BCCHIP_MAX_QUEUES];
	unsigned int cpu, qid, next = 0, nr_alive = 0;
	bool poll = false;

	for (qid = 1; qid <= bd->nr_io_queues; qid++) {
		alive[qid] = bcchip_vec_alive(bd, qid % bd->nr_vecs, gone);
		nr_alive += alive[qid];
	}
	for_each_possible_cpu(cpu) {
		unsigned int q = bcchip_cpu_home(bd, cpu);

		while (!alive[q] && nr_alive) {
			next = next % bd->nr_io_queues + 1;
			if (alive[next])
				q = next;
		}
		WRITE_ONCE(bd->cpu_queue[cpu], q);
	}
	for (qid = 1; qid <= bd->nr_io_queues; qid++) {
		struct bcchip_queue *q = &bd->queues[qid];
		unsigned long flags;
		bool was;

		spin_lock_irqsave(&q->lock, flags);
		was = q->polled;
		q->polled = !alive[qid];
		spin_unlock_irqrestore(&q->lock, flags);
		if (was != !alive[qid])
			dev_info(bcchip_pdev_dev(bd), "queue %u %s\n", qid,
				 alive[qid] ? "interrupts again" :
				 "has no online CPU: polled");
		if (!alive[qid])
			poll = true;
		else if (was)
			/* whatever came in before its vector was back */
			bcchip_queue_reap(q);
	}
	if (poll)
		bcchip_poll_kick(bd);
}

void bcchip_poll_kick(struct bcchip_dev *bd)
{
	queue_delayed_work(system_unbound_wq, &bd->poll_work, 0);
}

static void bcchip_poll_work(struct work_struct *work)
{
	struct bcchip_dev *bd = container_of(to_delayed_work(work),
					     struct bcchip_dev, poll_work);
	unsigned int qid;
	bool again = false;

	for (qid = 0; qid <= bd->nr_io_queues; qid++)
		again |= bcchip_queue_poll(&bd->queues[qid]);
	if (again)
		queue_delayed_work(system_unbound_wq, &bd->poll_work,
				   msecs_to_jiffies(BCCHIP_POLL_MS));
}

/* On the dying CPU, before the IRQ core shuts its managed vectors down. */
static int bcchip_cpu_offline(unsigned int cpu, struct hlist_node *node)
{
	struct bcchip_dev *bd = hlist_entry(node, struct bcchip_dev,
					    cpuhp_node);

	bcchip_map_cpus(bd, cpu);
	return 0;
}

/* After the IRQ core started the CPU's managed vectors again. */
static int bcchip_cpu_online(unsigned int cpu, struct hlist_node *node)
{
	struct bcchip_dev *bd = hlist_entry(node, struct bcchip_dev,
					    cpuhp_node);

	bcchip_map_cpus(bd, nr_cpu_ids);
	return 0;
}

/* With the queues programmed: from now on CPU hotplug remaps them. */
static int bcchip_cpuhp_add(struct bcchip_dev *bd)
{
	int ret;

	ret = cpuhp_state_add_instance_nocalls(bcchip_cpuhp_state,
					       &bd->cpuhp_node);
	if (ret)
		return ret;
	bd->cpuhp_added = true;
	/* no CPU comes or goes meanwhile; the callbacks see the next ones */
	cpus_read_lock();
	bcchip_map_cpus(bd, nr_cpu_ids);
	cpus_read_unlock();
	return 0;
}

/* After the last submitter left: no callback or poll runs after this. */
static void bcchip_cpuhp_del(struct bcchip_dev *bd)
{
	if (bd->cpuhp_added)
		cpuhp_state_remove_instance_nocalls(bcchip_cpuhp_state,
						    &bd->cpuhp_node);
	bd->cpuhp_added = false;
	cancel_delayed_work_sync(&bd->poll_work);
}

static int bcchip_setup_irqs(struct bcchip_dev *bd)
{
	struct pci_dev *pdev = bd->pdev;
	/* the admin queue's vector 0 is not spread over the CPUs */
	struct irq_affinity affd = { .pre_vectors = 1 };
	unsigned int v, want = 1 + bd->nr_io_queues;
	int nvec, ret;

	if (max_vectors)
		want = clamp(max_vectors, 1U, want);
	/* all of the chip's, the event queue's last; else fewer, shared */
	nvec = bcchip_events_irq_vectors(bd, max_vectors);
	if (nvec < 0)
		nvec = pci_alloc_irq_vectors_affinity(pdev, 1, want,
						      PCI_IRQ_MSIX | PCI_IRQ_AFFINITY,
						      &affd);
	if (nvec < 0) {
		dev_err(&pdev->dev, "no MSI-X vectors: %d\n", nvec);
		return nvec;
	}
	/* with fewer vectors, vector v serves every queue q, q % nvec == v */
	bd->nr_vecs = nvec;
	for (v = 0; v < bd->nr_vecs; v++) {
		const char *name;

		bd->vecs[v].bd = bd;
		bd->vecs[v].index = v;
		name = devm_kasprintf(&pdev->dev, GFP_KERNEL, "%s-%s-%u",
				      BCCHIP_DRV_NAME, pci_name(pdev), v);
		if (!name)
			return -ENOMEM;
		ret = devm_request_irq(&pdev->dev, pci_irq_vector(pdev, v),
				       bcchip_vec_handler(bd, v), 0, name,
				       &bd->vecs[v]);
		if (ret)
			return ret;
		bd->nr_irqs++;
	}
	bd->cpu_queue = kcalloc(nr_cpu_ids, sizeof(*bd->cpu_queue),
				GFP_KERNEL);
	if (!bd->cpu_queue)
		return -ENOMEM;
	bcchip_map_cpus(bd, nr_cpu_ids);
	return 0;
}

/* Before @bd may go: a handler must not run on a freed structure. */
static void bcchip_free_irqs(struct bcchip_dev *bd)
{
	while (bd->nr_irqs) {
		bd->nr_irqs--;
		devm_free_irq(&bd->pdev->dev,
			      pci_irq_vector(bd->pdev, bd->nr_irqs),
			      &bd->vecs[bd->nr_irqs]);
	}
}

static void bcchip_copy_text(u8 *dst, const u8 *src, size_t len)
{
	size_t i;

	/* keep the field printable and space padded whatever came in */
	for (i = 0; i < len; i++)
		dst[i] = (src[i] >= 0x20 && src[i] < 0x7f) ? src[i] : ' ';
}

struct bcchip_info_rsp {
	struct bcfw_hdr hdr;
	struct bcfw_info info;
} __packed;

/*
 * Ask the firmware GET_INFO (client 0) on the admin queue.  The caller
 * holds hw_lock for reading or owns the chip (probe).
 */
int bcchip_fetch_info(struct bcchip_dev *bd, struct bcfw_info *info,
		      unsigned int timeout_ms)
{
	struct bcchip_info_rsp *rsp;
	u32 len = 0;
	int ret;

	rsp = kzalloc(sizeof(*rsp), GFP_KERNEL);
	if (!rsp)
		return -ENOMEM;
	ret = bcchip_host_cmd(bd, BCFW_OP_GET_INFO, 0, rsp, sizeof(*rsp), &len,
			      timeout_ms);
	if (ret)
		goto out;
	if (len < sizeof(*rsp) || le32_to_cpu(rsp->hdr.magic) != BCFW_MAGIC ||
	    le32_to_cpu(rsp->hdr.status) != BCFW_S_OK) {
		dev_err_ratelimited(bcchip_pdev_dev(bd),
				    "GET_INFO: bad answer (len %u, status %u)\n",
				    len, le32_to_cpu(rsp->hdr.status));
		ret = -EIO;
		goto out;
	}
	memcpy(info, &rsp->info, sizeof(*info));
out:
	kfree(rsp);
	return ret;
}

static int bcchip_identify(struct bcchip_dev *bd)
{
	struct device *dev = bcchip_pdev_dev(bd);
	struct bcfw_info *info;
	int ret;

	info = kzalloc(sizeof(*info), GFP_KERNEL);
	if (!info)
		return -ENOMEM;
	ret = bcchip_fetch_info(bd, info, 0);
	if (ret) {
		dev_err(dev, "GET_INFO failed: %d\n", ret);
		goto out;
	}
	bcchip_copy_text(bd->serial, info->serial, sizeof(bd->serial));
	bcchip_copy_text(bd->label, info->label, sizeof(bd->label));
	bcchip_copy_text(bd->model, info->model, sizeof(bd->model));
	bd->fw_major = info->fw_major;
	bd->fw_minor = info->fw_minor;
	bd->max_sessions = le32_to_cpu(info->max_sessions);
	dev_info(dev, "firmware %u.%u, serial %.*s, %u I/O queues of %u, %u vectors\n",
		 bd->fw_major, bd->fw_minor, BCFW_SERIAL_LEN, bd->serial,
		 bd->nr_io_queues, bd->io_depth, bd->nr_vecs);
out:
	kfree(info);
	return ret;
}

/*
 * Every tag owns a request and a response buffer of max_frame bytes, in
 * coherent memory that the chip holds from probe to removal: refuse
 * parameters that would pin more than BCCHIP_BOUNCE_LIMIT per chip
 * rather than take it from the rest of the machine.
 */
static int bcchip_check_bounce(struct bcchip_dev *bd)
{
	u32 admin_tags = min_t(u32, BCCHIP_ADMIN_DEPTH,
			       BCCHIP_CAP0_MQES(bd->cap0)) - 1;
	u64 tags = admin_tags + (u64)bd->nr_io_queues * (bd->io_depth - 1);

	bd->bounce_bytes = tags * 2 * bd->max_frame;
	if (bd->bounce_bytes <= BCCHIP_BOUNCE_LIMIT)
		return 0;
	dev_err(bcchip_pdev_dev(bd),
		"%u I/O queues of %u entries with %u-byte frames need %llu MiB of bounce buffers, more than %u MiB: lower io_queue_depth or max_io_queues\n",
		bd->nr_io_queues, bd->io_depth, bd->max_frame,
		bd->bounce_bytes >> 20, BCCHIP_BOUNCE_LIMIT >> 20);
	return -E2BIG;
}

static int bcchip_check_hw(struct bcchip_dev *bd)
{
	struct device *dev = bcchip_pdev_dev(bd);
	u32 magic, cap2, mqes;

	magic = bcchip_rd(bd, BCCHIP_REG_MAGIC);
	if (magic != BCCHIP_MAGIC) {
		dev_err(dev, "not a Bastionchip (magic %#x)\n", magic);
		return -ENODEV;
	}
	bd->hw_version = bcchip_rd(bd, BCCHIP_REG_VERSION);
	if (BCCHIP_HW_VERSION_MAJOR(bd->hw_version) != 1) {
		dev_err(dev, "unsupported interface version %#x\n",
			bd->hw_version);
		return -ENODEV;
	}
	bd->cap0 = bcchip_rd(bd, BCCHIP_REG_CAP0);
	bd->max_frame = bcchip_rd(bd, BCCHIP_REG_CAP1);
	cap2 = bcchip_rd(bd, BCCHIP_REG_CAP2);
	mqes = BCCHIP_CAP0_MQES(bd->cap0);
	if (bd->max_frame < BCFW_HDR_SIZE + sizeof(struct bcfw_info) ||
	    bd->max_frame > BCCHIP_MAX_FRAME_LIMIT || mqes < 2 ||
	    BCCHIP_CAP0_NIOQ(bd->cap0) < 1 || cap2 < 1) {
		dev_err(dev, "implausible capabilities %#x %#x %#x\n",
			bd->cap0, bd->max_frame, cap2);
		return -ENODEV;
	}
	bd->ready_timeout_ms = max(1U, BCCHIP_CAP0_TO(bd->cap0)) * 500;

	bd->nr_io_queues = min3(BCCHIP_CAP0_NIOQ(bd->cap0),
				num_online_cpus(), BCCHIP_MAX_QUEUES - 1);
	bd->nr_io_queues = clamp(bd->nr_io_queues, 1U,
				 clamp(max_io_queues, 1U, BCCHIP_MAX_QUEUES - 1));
	bd->io_depth = clamp(io_queue_depth, 2U, min(mqes, BCCHIP_MAX_DEPTH));
	return bcchip_check_bounce(bd);
}

/*
 * BAR0, requested and mapped for the device's lifetime.  The iomap table
 * (pcim_iomap_regions) is deprecated where the per-BAR call that replaces
 * it exists (6.12; the Kbuild file probes for it).
 */
static void __iomem *bcchip_map_regs(struct pci_dev *pdev)
{
#ifdef BCCHIP_HAVE_PCIM_IOMAP_REGION
	return pcim_iomap_region(pdev, BCCHIP_BAR_REGS, BCCHIP_DRV_NAME);
#else
	int ret = pcim_iomap_regions(pdev, BIT(BCCHIP_BAR_REGS),
				     BCCHIP_DRV_NAME);

	return ret ? IOMEM_ERR_PTR(ret) : pcim_iomap_table(pdev)[BCCHIP_BAR_REGS];
#endif
}

static int bcchip_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct device *dev = &pdev->dev;
	void __iomem *regs;
	struct bcchip_dev *bd;
	unsigned int qid;
	int ret;

	ret = pcim_enable_device(pdev);
	if (ret)
		return ret;
	if (pci_resource_len(pdev, BCCHIP_BAR_REGS) < BCCHIP_BAR0_SIZE) {
		dev_err(dev, "BAR0 too small\n");
		return -ENODEV;
	}
	regs = bcchip_map_regs(pdev);
	if (IS_ERR(regs))
		return PTR_ERR(regs);

	ret = dma_set_mask_and_coherent(dev, DMA_BIT_MASK(64));
	if (ret)
		ret = dma_set_mask_and_coherent(dev, DMA_BIT_MASK(32));
	if (ret) {
		dev_err(dev, "no usable DMA mask\n");
		return ret;
	}

	bd = kzalloc(sizeof(*bd), GFP_KERNEL);
	if (!bd)
		return -ENOMEM;
	bd->pdev = pci_dev_get(pdev);
	bcchip_cdev_init_dev(bd);
	init_rwsem(&bd->hw_lock);
	spin_lock_init(&bd->state_lock);
	sema_init(&bd->info_sem, 1);
	mutex_init(&bd->refresh_lock);
	spin_lock_init(&bd->status_lock);
	bcchip_recovery_init(bd);
	bcchip_events_init(bd);
	INIT_DELAYED_WORK(&bd->poll_work, bcchip_poll_work);
	ida_init(&bd->client_ida);
	bcchip_closing_init(bd);
	bd->state = BCCHIP_STATE_PROBING;
	bd->minor = -1;
	bd->regs = regs;
	pci_set_drvdata(pdev, bd);

	ret = bcchip_check_hw(bd);
	if (ret)
		goto err_put;
	bcchip_quota_init(bd);
	ret = bcchip_hw_disable(bd);
	if (ret) {
		dev_err(dev, "chip did not stop: %d\n", ret);
		goto err_put;
	}

	ret = bcchip_queue_alloc(bd, BCCHIP_ADMIN_QID,
				 min_t(u32, BCCHIP_ADMIN_DEPTH,
				       BCCHIP_CAP0_MQES(bd->cap0)));
	for (qid = 1; !ret && qid <= bd->nr_io_queues; qid++)
		ret = bcchip_queue_alloc(bd, qid, bd->io_depth);
	if (!ret)
		ret = bcchip_events_alloc(bd);
	if (ret)
		goto err_queues;

	ret = bcchip_setup_irqs(bd);
	if (ret)
		goto err_irqs;
	ret = bcchip_hw_enable(bd);
	if (ret)
		goto err_disable;
	bcchip_set_state(bd, BCCHIP_STATE_LIVE);
	ret = bcchip_cpuhp_add(bd);
	if (ret)
		goto err_disable;

	ret = bcchip_identify(bd);
	if (ret)
		goto err_disable;
	ret = bcchip_cdev_add(bd);
	if (ret)
		goto err_disable;
	bcchip_debugfs_add(bd);
	/* what AER's slot_reset restores after a secondary bus reset */
	pci_save_state(pdev);
	bcchip_recovery_start(bd);
	/*
	 * Events raised while no driver was bound, now that they have a
	 * name; a reset started meanwhile (sysfs) has done it after RESET.
	 */
	mutex_lock(&bd->reset_mutex);
	if (bcchip_get_state(bd) == BCCHIP_STATE_LIVE)
		bcchip_events_enable(bd);
	mutex_unlock(&bd->reset_mutex);
	return 0;

	/*
	 * Removal's order: the chip stopped and every user gone first, then
	 * the CPU hotplug callbacks and the poller (an interrupt may kick it
	 * until then; safe if never added), then the handlers (a partly set
	 * up set of vectors too).
	 */
err_disable:
	bcchip_set_state(bd, BCCHIP_STATE_DEAD);
	bcchip_dev_disable(bd, BCCHIP_STOP_REMOVE, true);
	bcchip_cpuhp_del(bd);
err_irqs:
	bcchip_free_irqs(bd);
err_queues:
	bcchip_events_stop(bd);
	for (qid = 0; qid <= bd->nr_io_queues; qid++)
		bcchip_queue_wipe(&bd->queues[qid]);
err_put:
	pci_set_drvdata(pdev, NULL);
	bcchip_dev_put(bd);
	return ret;
}

static void bcchip_remove(struct pci_dev *pdev)
{
	struct bcchip_dev *bd = pci_get_drvdata(pdev);
	unsigned int qid;

	/*
	 * No new opens, no sysfs users; open files keep @bd but see
	 * REMOVED.  The minor stays ours until the events stop.
	 */
	bcchip_cdev_del(bd);
	bcchip_set_state(bd, BCCHIP_STATE_REMOVED);
	bcchip_recovery_stop(bd);
	bcchip_debugfs_del(bd);

	bcchip_dev_disable(bd, BCCHIP_STOP_REMOVE, true);
	bcchip_cpuhp_del(bd);
	bcchip_free_irqs(bd);
	bcchip_events_stop(bd);
	/* nothing names an event with it any more: another chip may have it */
	bcchip_cdev_release_minor(bd);
	for (qid = 0; qid <= bd->nr_io_queues; qid++)
		bcchip_queue_wipe(&bd->queues[qid]);
	pci_set_drvdata(pdev, NULL);
	bcchip_dev_put(bd);
}

/* Power-off or kexec: stop the chip for good, and its watchdog with it. */
static void bcchip_shutdown(struct pci_dev *pdev)
{
	struct bcchip_dev *bd = pci_get_drvdata(pdev);

	if (!bd)
		return;
	bcchip_set_state(bd, BCCHIP_STATE_REMOVED);
	bcchip_recovery_stop(bd);
	bcchip_dev_disable(bd, BCCHIP_STOP_REMOVE, true);
}

static const struct pci_device_id bcchip_ids[] = {
	{ PCI_DEVICE(BCCHIP_PCI_VENDOR, BCCHIP_PCI_DEVICE) },
	{ }
};
MODULE_DEVICE_TABLE(pci, bcchip_ids);

static struct pci_driver bcchip_driver = {
	.name		= BCCHIP_DRV_NAME,
	.id_table	= bcchip_ids,
	.probe		= bcchip_probe,
	.remove		= bcchip_remove,
	.shutdown	= bcchip_shutdown,
	.err_handler	= &bcchip_err_handlers,
	.driver.pm	= pm_sleep_ptr(&bcchip_pm_ops),
};

static int __init bcchip_init(void)
{
	int ret;

	if (!bcchip_cmd_timeout_ms)
		bcchip_cmd_timeout_ms = 1;
	ret = bcchip_cdev_init();
	if (ret)
		return ret;
	ret = cpuhp_setup_state_multi(CPUHP_AP_ONLINE_DYN, "bcchip:online",
				      bcchip_cpu_online, bcchip_cpu_offline);
	if (ret < 0)
		goto err_cdev;
	bcchip_cpuhp_state = ret;
	bcchip_debugfs_init();
	ret = bcchip_netlink_init();
	if (ret)
		goto err_debugfs;
	ret = pci_register_driver(&bcchip_driver);
	if (ret)
		goto err_netlink;
	return 0;

err_netlink:
	bcchip_netlink_exit();
err_debugfs:
	bcchip_debugfs_exit();
	cpuhp_remove_multi_state(bcchip_cpuhp_state);
err_cdev:
	bcchip_cdev_exit();
	return ret;
}

static void __exit bcchip_exit(void)
{
	pci_unregister_driver(&bcchip_driver);
	bcchip_netlink_exit();
	bcchip_debugfs_exit();
	cpuhp_remove_multi_state(bcchip_cpuhp_state);
	bcchip_cdev_exit();
}

module_init(bcchip_init);
module_exit(bcchip_exit);

MODULE_DESCRIPTION("Bastionchip PCIe hardware security module driver");
MODULE_LICENSE("GPL");
