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

#include <linux/delay.h>
#include <linux/dma-mapping.h>
#include <linux/interrupt.h>
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

static void bcchip_dev_release(struct kref *kref)
{
	struct bcchip_dev *bd = container_of(kref, struct bcchip_dev, kref);

	ida_destroy(&bd->client_ida);
	kfree(bd->cpu_queue);
	pci_dev_put(bd->pdev);
	kfree(bd);
}

void bcchip_dev_put(struct bcchip_dev *bd)
{
	kref_put(&bd->kref, bcchip_dev_release);
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

/*
 * Each CPU submits on the I/O queue whose vector is affine to it, so that
 * its completions interrupt the CPU that waits for them; CPUs left over
 * (fewer vectors than queues) are spread round robin.
 */
static void bcchip_map_cpus(struct bcchip_dev *bd)
{
	unsigned int cpu, qid;

	bd->cpu_queue = kcalloc(nr_cpu_ids, sizeof(*bd->cpu_queue),
				GFP_KERNEL);
	if (!bd->cpu_queue)
		return;		/* bcchip_io_queue() falls back to cpu % n */
	for_each_possible_cpu(cpu)
		bd->cpu_queue[cpu] = 1 + cpu % bd->nr_io_queues;
	if (bd->nr_vecs < 1 + bd->nr_io_queues)
		return;
	for (qid = 1; qid <= bd->nr_io_queues; qid++) {
		const struct cpumask *mask = pci_irq_get_affinity(bd->pdev, qid);

		if (!mask)
			continue;
		for_each_cpu(cpu, mask)
			bd->cpu_queue[cpu] = qid;
	}
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
	bcchip_map_cpus(bd);
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
	return 0;
}

static int bcchip_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct device *dev = &pdev->dev;
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
	ret = pcim_iomap_regions(pdev, BIT(BCCHIP_BAR_REGS), BCCHIP_DRV_NAME);
	if (ret)
		return ret;

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
	kref_init(&bd->kref);
	init_rwsem(&bd->hw_lock);
	spin_lock_init(&bd->state_lock);
	mutex_init(&bd->info_lock);
	bcchip_recovery_init(bd);
	bcchip_events_init(bd);
	ida_init(&bd->client_ida);
	bd->state = BCCHIP_STATE_PROBING;
	bd->minor = -1;
	bd->pdev = pci_dev_get(pdev);
	bd->regs = pcim_iomap_table(pdev)[BCCHIP_BAR_REGS];
	pci_set_drvdata(pdev, bd);

	ret = bcchip_check_hw(bd);
	if (ret)
		goto err_put;
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
		goto err_put;

	ret = bcchip_setup_irqs(bd);
	if (ret)
		goto err_put;
	ret = bcchip_hw_enable(bd);
	if (ret)
		goto err_disable;
	bcchip_set_state(bd, BCCHIP_STATE_LIVE);

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
	return 0;

err_disable:
	bcchip_set_state(bd, BCCHIP_STATE_DEAD);
	bcchip_hw_disable(bd);
	pci_clear_master(pdev);
	for (qid = 0; qid <= bd->nr_io_queues; qid++)
		bcchip_queue_abort_all(&bd->queues[qid], BCCHIP_TAG_HOST_ABORT,
				       -ENODEV);
err_put:
	bcchip_free_irqs(bd);
	bcchip_events_stop(bd);
	for (qid = 0; qid <= bd->nr_io_queues; qid++)
		bcchip_queue_wipe(&bd->queues[qid]);
	pci_set_drvdata(pdev, NULL);
	bcchip_dev_put(bd);
	return ret;
}

static void bcchip_remove(struct pci_dev *pdev)
{
	struct bcchip_dev *bd = pci_get_drvdata(pdev);
	unsigned int qid;

	/* no new opens, no sysfs users; open files keep @bd but see REMOVED */
	bcchip_cdev_del(bd);
	bcchip_set_state(bd, BCCHIP_STATE_REMOVED);
	bcchip_recovery_stop(bd);
	bcchip_debugfs_del(bd);

	/* stop the chip before failing waiters: no DMA after this */
	bcchip_hw_disable(bd);
	pci_clear_master(pdev);
	for (qid = 0; qid <= bd->nr_io_queues; qid++)
		bcchip_queue_abort_all(&bd->queues[qid], BCCHIP_TAG_HOST_ABORT,
				       -ENODEV);

	/* wait for every ioctl and release still using the hardware */
	down_write(&bd->hw_lock);
	up_write(&bd->hw_lock);

	bcchip_free_irqs(bd);
	bcchip_events_stop(bd);
	for (qid = 0; qid <= bd->nr_io_queues; qid++)
		bcchip_queue_wipe(&bd->queues[qid]);
	pci_set_drvdata(pdev, NULL);
	bcchip_dev_put(bd);
}

/* Power-off or kexec: stop the chip for good, and its watchdog with it. */
static void bcchip_shutdown(struct pci_dev *pdev)
{
	struct bcchip_dev *bd = pci_get_drvdata(pdev);
	unsigned int qid;

	if (!bd)
		return;
	bcchip_set_state(bd, BCCHIP_STATE_REMOVED);
	bcchip_recovery_stop(bd);
	bcchip_hw_disable(bd);
	pci_clear_master(pdev);
	for (qid = 0; qid <= bd->nr_io_queues; qid++)
		bcchip_queue_abort_all(&bd->queues[qid], BCCHIP_TAG_HOST_ABORT,
				       -ENODEV);
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
};

static int __init bcchip_init(void)
{
	int ret;

	if (!bcchip_cmd_timeout_ms)
		bcchip_cmd_timeout_ms = 1;
	ret = bcchip_cdev_init();
	if (ret)
		return ret;
	bcchip_debugfs_init();
	ret = bcchip_netlink_init();
	if (ret) {
		bcchip_debugfs_exit();
		bcchip_cdev_exit();
		return ret;
	}
	ret = pci_register_driver(&bcchip_driver);
	if (ret) {
		bcchip_netlink_exit();
		bcchip_debugfs_exit();
		bcchip_cdev_exit();
	}
	return ret;
}

static void __exit bcchip_exit(void)
{
	pci_unregister_driver(&bcchip_driver);
	bcchip_netlink_exit();
	bcchip_debugfs_exit();
	bcchip_cdev_exit();
}

module_init(bcchip_init);
module_exit(bcchip_exit);

MODULE_DESCRIPTION("Bastionchip PCIe hardware security module driver");
MODULE_LICENSE("GPL");
