// SPDX-License-Identifier: GPL-2.0
/*
 * Bastionchip fairness: how many commands one file and one uid may have
 * outstanding on a chip (docs/driver.md, "Limits and fairness").
 *
 * A command is charged to its file and its file's uid from the moment it
 * is admitted until its tag is free again: a command whose caller gave up
 * (timeout, signal) stays charged until the device completes it, so
 * abandoning commands gains nothing.  The uid's limit defaults to half of
 * one I/O queue's tags, so whatever one user does, every queue keeps at
 * least half of its tags for the others.
 */

#include <linux/cred.h>
#include <linux/hash.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/wait.h>

#include "bcchip.h"

void bcchip_quota_init(struct bcchip_dev *bd)
{
	unsigned int half = max(1U, (bd->io_depth - 1) / 2);
	unsigned int per_uid = READ_ONCE(bcchip_max_cmds_per_uid);

	spin_lock_init(&bd->uid_lock);
	init_waitqueue_head(&bd->quota_wait);
	bd->max_cmds_per_uid = per_uid ? min(per_uid, half) : half;
	bd->max_cmds_per_file = clamp(READ_ONCE(bcchip_max_cmds_per_file), 1U,
				      bd->max_cmds_per_uid);
}

static struct hlist_head *bcchip_uid_bucket(struct bcchip_dev *bd, kuid_t uid)
{
	return &bd->uids[hash_32(__kuid_val(uid), ilog2(ARRAY_SIZE(bd->uids)))];
}

/* Give @client the charge account of the opener's uid. */
int bcchip_quota_attach(struct bcchip_client *client)
{
	struct bcchip_dev *bd = client->bd;
	kuid_t uid = current_fsuid();
	struct bcchip_uid *u, *fresh;
	unsigned long flags;

	fresh = kzalloc(sizeof(*fresh), GFP_KERNEL);
	if (!fresh)
		return -ENOMEM;
	spin_lock_irqsave(&bd->uid_lock, flags);
	hlist_for_each_entry(u, bcchip_uid_bucket(bd, uid), node) {
		if (uid_eq(u->uid, uid)) {
			refcount_inc(&u->ref);
			client->uid = u;
			break;
		}
	}
	if (!client->uid) {
		fresh->uid = uid;
		refcount_set(&fresh->ref, 1);
		hlist_add_head(&fresh->node, bcchip_uid_bucket(bd, uid));
		client->uid = fresh;
		fresh = NULL;
	}
	spin_unlock_irqrestore(&bd->uid_lock, flags);
	kfree(fresh);
	return 0;
}

static void bcchip_uid_put(struct bcchip_dev *bd, struct bcchip_uid *u)
{
	unsigned long flags;

	spin_lock_irqsave(&bd->uid_lock, flags);
	if (refcount_dec_and_test(&u->ref))
		hlist_del(&u->node);
	else
		u = NULL;
	spin_unlock_irqrestore(&bd->uid_lock, flags);
	kfree(u);
}

/*
 * The file is closed and its last command done.  May run in IRQ context
 * (the completion of an abandoned command): the chip outlives it, since
 * removal fails every command before it lets go of the chip.
 */
void bcchip_client_put(struct bcchip_client *client)
{
	if (!refcount_dec_and_test(&client->ref))
		return;
	if (client->uid)
		bcchip_uid_put(client->bd, client->uid);
	kfree(client->closing);
	kfree(client);
}

static bool bcchip_quota_try(struct bcchip_client *client)
{
	struct bcchip_dev *bd = client->bd;

	if (!atomic_add_unless(&client->outstanding, 1, bd->max_cmds_per_file))
		return false;
	if (!atomic_add_unless(&client->uid->outstanding, 1,
			       bd->max_cmds_per_uid)) {
		atomic_dec(&client->outstanding);
		return false;
	}
	refcount_inc(&client->ref);
	return true;
}

/*
 * Charge one command to @client, waiting up to @timeout_ms for the file
 * and its uid to be under their limits.  Returns 0, -EAGAIN (@nonblock:
 * over a limit now), -ETIMEDOUT or -EINTR.
 */
int bcchip_quota_charge(struct bcchip_client *client, bool nonblock,
			unsigned int timeout_ms)
{
	long ret;

	if (bcchip_quota_try(client))
		return 0;
	if (nonblock)
		return -EAGAIN;
	ret = wait_event_interruptible_timeout(client->bd->quota_wait,
					       bcchip_quota_try(client),
					       msecs_to_jiffies(timeout_ms));
	if (ret < 0)
		return -EINTR;
	return ret ? 0 : -ETIMEDOUT;
}

/* The command's tag is free again: any context. */
void bcchip_quota_release(struct bcchip_client *client)
{
	struct bcchip_dev *bd = client->bd;

	atomic_dec(&client->uid->outstanding);
	atomic_dec(&client->outstanding);
	wake_up(&bd->quota_wait);
	bcchip_client_put(client);
}
