// SPDX-License-Identifier: GPL-2.0
/*
 * Bastionchip recovery: the watchdog, chip resets, PCI function-level
 * reset and AER.
 *
 * A reset is two halves.  Quiesce: state RESETTING (new commands get
 * EAGAIN), CC.EN = 0 (the device drops every command and the firmware
 * forgets every client), fail every waiter with ABORTED (ECANCELED), then
 * wait for every user of the hardware to leave.  Restart: enable the chip
 * again with every queue, which bumps the generation, and go back to
 * LIVE, or to DEAD if the chip does not come back.  Open files survive a
 * reset; their sessions do not.
 */

#include <linux/jiffies.h>
#include <linux/pci.h>
#include <linux/pm.h>
#include <linux/slab.h>
#include <linux/workqueue.h>

#include "bcchip.h"

/* Move to RESETTING from LIVE or DEAD; false if a reset or removal won. */
static bool bcchip_begin_reset(struct bcchip_dev *bd, const char *reason)
{
	bool ok = false;

	spin_lock(&bd->state_lock);
	if (bd->state == BCCHIP_STATE_LIVE || bd->state == BCCHIP_STATE_DEAD) {
		bd->state = BCCHIP_STATE_RESETTING;
		bd->reset_reason = reason;
		ok = true;
	}
	spin_unlock(&bd->state_lock);
	return ok;
}

static int bcchip_restart(struct bcchip_dev *bd)
{
	struct device *dev = bcchip_pdev_dev(bd);
	int ret;

	down_write(&bd->hw_lock);
	/* removal, which waits for us, disables the chip for good */
	ret = bcchip_get_state(bd) == BCCHIP_STATE_RESETTING ?
	      bcchip_hw_enable(bd) : -ENODEV;
	spin_lock(&bd->state_lock);
	bd->reset_count++;
	if (bd->state == BCCHIP_STATE_RESETTING)
		bd->state = ret ? BCCHIP_STATE_DEAD : BCCHIP_STATE_LIVE;
	spin_unlock(&bd->state_lock);
	up_write(&bd->hw_lock);
	if (ret)
		dev_err(dev, "reset failed (%d): chip is dead until the next reset\n",
			ret);
	else
		dev_notice(dev, "reset done (%s), generation %u\n",
			   bd->reset_reason, bcchip_generation(bd));
	bcchip_events_after_reset(bd);
	/* the firmware forgot every client: closed files' ids are free */
	bcchip_closing_kick(bd);
	/*
	 * Only now may the chip's events come: whatever it raised during
	 * the reset reaches user space after RESET.  The reset mutex, held
	 * by every caller, keeps removal and other resets away.
	 */
	down_read(&bd->hw_lock);
	if (bcchip_get_state(bd) == BCCHIP_STATE_LIVE)
		bcchip_events_enable(bd);
	up_read(&bd->hw_lock);
	return ret;
}

/*
 * Reset the chip now (sysfs, reset work).  Returns 0, the restart's
 * error, -EBUSY when a reset is already under way (PCI or AER) or
 * -ENODEV once the chip is removed.
 */
int bcchip_reset(struct bcchip_dev *bd, const char *reason)
{
	int ret;

	mutex_lock(&bd->reset_mutex);
	if (!bcchip_begin_reset(bd, reason)) {
		ret = bcchip_get_state(bd) == BCCHIP_STATE_REMOVED ? -ENODEV :
								     -EBUSY;
		goto out;
	}
	/* a notice: an administrator or the watchdog asked for it */
	dev_notice(bcchip_pdev_dev(bd), "resetting the chip: %s\n", reason);
	bcchip_dev_disable(bd, BCCHIP_STOP_RESET, true);
	ret = bcchip_restart(bd);
out:
	mutex_unlock(&bd->reset_mutex);
	return ret;
}

static void bcchip_reset_work(struct work_struct *work)
{
	struct bcchip_dev *bd = container_of(work, struct bcchip_dev,
					     reset_work);
	const char *reason;
	bool stale;

	spin_lock(&bd->state_lock);
	reason = bd->reset_reason;
	stale = bd->generation != bd->reset_asked_gen;
	spin_unlock(&bd->state_lock);
	/* another reset (administrator, FLR) already dealt with it */
	if (stale)
		return;
	bcchip_reset(bd, reason ? reason : "requested");
}

/* From any context: ask for a reset of a LIVE chip. */
void bcchip_schedule_reset(struct bcchip_dev *bd, const char *reason)
{
	spin_lock(&bd->state_lock);
	if (bd->state == BCCHIP_STATE_LIVE &&
	    queue_work(system_unbound_wq, &bd->reset_work)) {
		bd->reset_reason = reason;
		bd->reset_asked_gen = bd->generation;
	}
	spin_unlock(&bd->state_lock);
}

/*
 * The firmware's sign of life, asked when some command is overdue: a
 * GET_INFO of the driver's own on the admin queue, where only the driver
 * submits.  No answer within recovery_timeout_ms is the only evidence on
 * which the firmware is called unresponsive: a user can make their own
 * commands slow, not this one.
 */
static void bcchip_heartbeat_work(struct work_struct *work)
{
	struct bcchip_dev *bd = container_of(work, struct bcchip_dev,
					     heartbeat_work);
	unsigned int timeout_ms = max(1U, READ_ONCE(bcchip_recovery_timeout_ms));
	struct bcfw_info *info;
	int ret;

	info = kzalloc(sizeof(*info), GFP_KERNEL);
	if (!info)
		return;
	/* not LIVE: a reset or removal is looking after the chip already */
	if (bcchip_hw_try_get(bd))
		goto out;
	ret = bcchip_fetch_info(bd, info, timeout_ms);
	/*
	 * Decided before the put: no restart (which alone moves the
	 * generation) can come in between.  ECANCELED with the chip still
	 * LIVE: the watchdog found the heartbeat itself overdue and aborted
	 * it, which the device honours without the firmware, so no answer
	 * either (a reset's abort leaves the chip RESETTING).
	 */
	if ((ret == -ETIMEDOUT || ret == -ECANCELED) &&
	    bcchip_get_state(bd) == BCCHIP_STATE_LIVE) {
		dev_notice(bcchip_pdev_dev(bd), "firmware gave no sign of life for %u ms\n",
			   timeout_ms);
		bcchip_schedule_reset(bd, "firmware unresponsive");
	}
	bcchip_hw_put(bd);
out:
	kfree(info);
}

static void bcchip_watchdog(struct work_struct *work)
{
	struct bcchip_dev *bd = container_of(to_delayed_work(work),
					     struct bcchip_dev, watchdog);
	unsigned int qid, timeout_ms;
	const char *why = NULL;
	bool overdue = false;
	u32 csts;

	/* a reset or removal holds it: they are looking after the chip */
	if (!down_read_trylock(&bd->hw_lock))
		goto rearm;
	if (bcchip_get_state(bd) != BCCHIP_STATE_LIVE)
		goto unlock;
	csts = bcchip_rd(bd, BCCHIP_REG_CSTS);
	if (csts == ~0U)
		goto unlock;	/* gone: removal or AER will follow */
	if (csts & BCCHIP_CSTS_CFS) {
		why = "fatal status";
		goto unlock;
	}
	timeout_ms = max(1U, READ_ONCE(bcchip_recovery_timeout_ms));
	for (qid = 0; qid <= bd->nr_io_queues && !why; qid++)
		bcchip_queue_check_timeouts(&bd->queues[qid], timeout_ms, &why,
					    &overdue);
unlock:
	/* under hw_lock: the reset asked for is of this generation */
	if (why)
		bcchip_schedule_reset(bd, why);
	up_read(&bd->hw_lock);
	if (!why && overdue)
		queue_work(system_unbound_wq, &bd->heartbeat_work);
rearm:
	spin_lock(&bd->state_lock);
	if (bd->state != BCCHIP_STATE_REMOVED)
		queue_delayed_work(system_wq, &bd->watchdog,
				   msecs_to_jiffies(BCCHIP_WATCHDOG_MS));
	spin_unlock(&bd->state_lock);
}

static void bcchip_aer_work(struct work_struct *work);

void bcchip_recovery_init(struct bcchip_dev *bd)
{
	mutex_init(&bd->reset_mutex);
	INIT_WORK(&bd->reset_work, bcchip_reset_work);
	INIT_DELAYED_WORK(&bd->watchdog, bcchip_watchdog);
	INIT_WORK(&bd->heartbeat_work, bcchip_heartbeat_work);
	INIT_DELAYED_WORK(&bd->aer_work, bcchip_aer_work);
}

void bcchip_recovery_start(struct bcchip_dev *bd)
{
	queue_delayed_work(system_wq, &bd->watchdog,
			   msecs_to_jiffies(BCCHIP_WATCHDOG_MS));
}

/* The state is REMOVED already: nothing queues the works again. */
void bcchip_recovery_stop(struct bcchip_dev *bd)
{
	cancel_delayed_work_sync(&bd->watchdog);
	cancel_work_sync(&bd->reset_work);
	cancel_delayed_work_sync(&bd->aer_work);
	/* a reset from sysfs or PCI may still be finishing */
	mutex_lock(&bd->reset_mutex);
	mutex_unlock(&bd->reset_mutex);
}

/*
 * After the queues were failed: a heartbeat still waiting for its answer
 * has had it (ENODEV), and a REMOVED chip is not reset for its sake.
 */
void bcchip_recovery_flush(struct bcchip_dev *bd)
{
	cancel_work_sync(&bd->heartbeat_work);
}

/*
 * Function-level reset (sysfs `reset` of the PCI device, VFIO, ...): the
 * PCI core calls both halves from one task, so the reset mutex is held
 * from prepare to done.
 */
static void bcchip_reset_prepare(struct pci_dev *pdev)
{
	struct bcchip_dev *bd = pci_get_drvdata(pdev);

	if (!bd)
		return;
	mutex_lock(&bd->reset_mutex);
	if (bcchip_begin_reset(bd, "function-level reset")) {
		dev_notice(&pdev->dev, "function-level reset\n");
		bcchip_dev_disable(bd, BCCHIP_STOP_RESET, true);
	}
}

static void bcchip_reset_done(struct pci_dev *pdev)
{
	struct bcchip_dev *bd = pci_get_drvdata(pdev);

	if (!bd)
		return;
	if (bcchip_get_state(bd) == BCCHIP_STATE_RESETTING)
		bcchip_restart(bd);
	/*
	 * The core restored config space from its own save, which may have
	 * used up ours on older kernels: keep one for AER's slot_reset.
	 */
	pci_save_state(pdev);
	mutex_unlock(&bd->reset_mutex);
}

static pci_ers_result_t bcchip_error_detected(struct pci_dev *pdev,
					      pci_channel_state_t state)
{
	struct bcchip_dev *bd = pci_get_drvdata(pdev);

	if (!bd)
		return PCI_ERS_RESULT_DISCONNECT;
	dev_warn(&pdev->dev, "PCI error (channel state %d)\n", state);
	mutex_lock(&bd->reset_mutex);
	if (state == pci_channel_io_perm_failure) {
		bcchip_set_state(bd, BCCHIP_STATE_DEAD);
		bcchip_dev_disable(bd, BCCHIP_STOP_DEAD, false);
		mutex_unlock(&bd->reset_mutex);
		/* the link is gone: what CSTS reads then */
		bcchip_event_raise(bd, BCCHIP_EVENT_FATAL, U32_MAX, 0);
		return PCI_ERS_RESULT_DISCONNECT;
	}
	/* the link may be down: do not touch the registers */
	if (bcchip_begin_reset(bd, "PCI error")) {
		bcchip_dev_disable(bd, BCCHIP_STOP_RESET,
				   state == pci_channel_io_normal);
		/* if the PCI core never comes back with slot_reset */
		bd->aer_pending = true;
		queue_delayed_work(system_unbound_wq, &bd->aer_work,
				   msecs_to_jiffies(BCCHIP_AER_TIMEOUT_MS));
	}
	mutex_unlock(&bd->reset_mutex);
	return PCI_ERS_RESULT_NEED_RESET;
}

/*
 * The PCI core's recovery gave up without a slot_reset (another driver
 * on the link refused, the link did not come back): the chip must not
 * stay RESETTING for ever.  Restart it as a reset would; if it does not
 * answer, it goes DEAD, which a sysfs reset or removal can deal with.
 */
static void bcchip_aer_work(struct work_struct *work)
{
	struct bcchip_dev *bd = container_of(to_delayed_work(work),
					     struct bcchip_dev, aer_work);

	mutex_lock(&bd->reset_mutex);
	if (bd->aer_pending &&
	    bcchip_get_state(bd) == BCCHIP_STATE_RESETTING) {
		dev_warn(bcchip_pdev_dev(bd), "PCI error recovery did not finish in %u ms: restarting the chip\n",
			 BCCHIP_AER_TIMEOUT_MS);
		pci_restore_state(bd->pdev);
		pci_save_state(bd->pdev);
		bcchip_restart(bd);
	}
	bd->aer_pending = false;
	mutex_unlock(&bd->reset_mutex);
}

static pci_ers_result_t bcchip_slot_reset(struct pci_dev *pdev)
{
	struct bcchip_dev *bd = pci_get_drvdata(pdev);
	int ret = -ENODEV;

	if (!bd)
		return PCI_ERS_RESULT_DISCONNECT;
	/* the link reset cleared config space: BARs, bus mastering, MSI-X */
	pci_restore_state(pdev);
	pci_save_state(pdev);
	mutex_lock(&bd->reset_mutex);
	bd->aer_pending = false;
	if (bcchip_get_state(bd) == BCCHIP_STATE_RESETTING)
		ret = bcchip_restart(bd);
	mutex_unlock(&bd->reset_mutex);
	return ret ? PCI_ERS_RESULT_DISCONNECT : PCI_ERS_RESULT_RECOVERED;
}

static void bcchip_resume(struct pci_dev *pdev)
{
	struct bcchip_dev *bd = pci_get_drvdata(pdev);

	if (bd)
		dev_info(&pdev->dev, "recovered from a PCI error, state %d\n",
			 bcchip_get_state(bd));
}

/*
 * System sleep and hibernation: the chip loses what it held in RAM, so
 * suspend quiesces it as a reset's first half does, and resume restarts
 * it as a reset does, with a new generation: sessions are invalidated the
 * same documented way (ESTALE, then a new login), open files survive.
 * The PCI core saves and restores config space around the two.
 */
static int bcchip_pm_suspend(struct device *dev)
{
	struct bcchip_dev *bd = dev_get_drvdata(dev);

	if (!bd)
		return 0;
	mutex_lock(&bd->reset_mutex);
	if (bcchip_begin_reset(bd, "system sleep")) {
		bcchip_dev_disable(bd, BCCHIP_STOP_RESET, true);
		bd->pm_quiesced = true;
	}
	mutex_unlock(&bd->reset_mutex);
	return 0;
}

static int bcchip_pm_resume(struct device *dev)
{
	struct bcchip_dev *bd = dev_get_drvdata(dev);

	if (!bd)
		return 0;
	mutex_lock(&bd->reset_mutex);
	if (bd->pm_quiesced &&
	    bcchip_get_state(bd) == BCCHIP_STATE_RESETTING)
		bcchip_restart(bd);
	bd->pm_quiesced = false;
	mutex_unlock(&bd->reset_mutex);
	/* a failed restart leaves it DEAD, for a sysfs reset to revive */
	return 0;
}

DEFINE_SIMPLE_DEV_PM_OPS(bcchip_pm_ops, bcchip_pm_suspend, bcchip_pm_resume);

const struct pci_error_handlers bcchip_err_handlers = {
	.error_detected	= bcchip_error_detected,
	.slot_reset	= bcchip_slot_reset,
	.resume		= bcchip_resume,
	.reset_prepare	= bcchip_reset_prepare,
	.reset_done	= bcchip_reset_done,
};
