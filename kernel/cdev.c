// SPDX-License-Identifier: GPL-2.0
/*
 * Bastionchip character devices and their ioctls (docs/ioctl.md).
 *
 * Every open file is a client of its own: its id is stamped into every
 * command it sends, so the firmware keeps its sessions apart from every
 * other file's, and closing the file tells the firmware to drop them.
 * Closing never waits for the chip: the CLIENT_CLOSE goes out from a work
 * item, and the id stays reserved until the firmware confirms it, or a
 * reset (the generation moved) made the firmware forget every client.
 */

#include <linux/capability.h>
#include <linux/cdev.h>
#include <linux/device.h>
#include <linux/fs.h>
#include <linux/idr.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/xarray.h>

#include "bcchip.h"

/* the first published sizes of the ioctl structs */
#define BCCHIP_IOC_INFO_SIZE_V1	144
#define BCCHIP_IOC_CMD_SIZE_V1	56
static_assert(sizeof(struct bcchip_ioc_info) == BCCHIP_IOC_INFO_SIZE_V1);
static_assert(sizeof(struct bcchip_ioc_cmd) == BCCHIP_IOC_CMD_SIZE_V1);

static dev_t bcchip_devt_base;
static DEFINE_IDA(bcchip_minor_ida);
/* minor -> struct bcchip_dev; its lock orders lookup at open vs. removal */
static DEFINE_XARRAY(bcchip_devs);
/* bumped whenever a chip joins or leaves @bcchip_devs: dumps check it */
static atomic_t bcchip_devs_seq = ATOMIC_INIT(1);

/* Never 0: netlink's dump consistency check takes 0 for "not set". */
unsigned int bcchip_devs_generation(void)
{
	return atomic_read(&bcchip_devs_seq);
}

static void bcchip_devs_changed(void)
{
	if (atomic_inc_return(&bcchip_devs_seq) == 0)
		atomic_inc(&bcchip_devs_seq);
}

static struct class bcchip_class = {
	.name = BCCHIP_DRV_NAME,
};

/*
 * The chip with minor *@minor, or with @next the first at or above it
 * (*@minor is updated), with a reference; NULL if there is none.  Removal
 * takes the chip out first, so a chip being removed is not found.
 */
struct bcchip_dev *bcchip_dev_find(unsigned long *minor, bool next)
{
	struct bcchip_dev *bd;

	xa_lock(&bcchip_devs);
	if (next)
		bd = xa_find(&bcchip_devs, minor, BCCHIP_MAX_MINORS - 1,
			     XA_PRESENT);
	else
		bd = xa_load(&bcchip_devs, *minor);
	if (bd)
		bcchip_dev_get(bd);
	xa_unlock(&bcchip_devs);
	return bd;
}

static int bcchip_open(struct inode *inode, struct file *file)
{
	unsigned long minor = iminor(inode);
	struct bcchip_client *client;
	struct bcchip_dev *bd;
	int id, ret;

	bd = bcchip_dev_find(&minor, false);
	if (!bd)
		return -ENODEV;

	client = kzalloc(sizeof(*client), GFP_KERNEL);
	if (!client) {
		bcchip_dev_put(bd);
		return -ENOMEM;
	}
	client->bd = bd;
	refcount_set(&client->ref, 1);
	/* taken now, so that closing cannot fail */
	client->closing = kzalloc(sizeof(*client->closing), GFP_KERNEL);
	ret = client->closing ? bcchip_quota_attach(client) : -ENOMEM;
	if (ret)
		goto err;
	id = ida_alloc_min(&bd->client_ida, 1, GFP_KERNEL);
	if (id < 0) {
		ret = id;
		goto err;
	}
	client->id = id;
	file->private_data = client;
	return stream_open(inode, file);

err:
	bcchip_client_put(client);
	bcchip_dev_put(bd);
	return ret;
}

/*
 * One closed file's CLIENT_CLOSE.  Returns 0 once the firmware has
 * forgotten the id (it said so, or a reset made it forget everyone),
 * -EAGAIN to try again later, -EBUSY when only a reset will do.
 */
static int bcchip_close_one(struct bcchip_dev *bd, struct bcchip_closing *c)
{
	struct bcfw_hdr hdr = { };
	u32 len = 0;
	int ret;

	down_read(&bd->hw_lock);
	if (bcchip_generation(bd) != c->generation ||
	    bcchip_get_state(bd) == BCCHIP_STATE_REMOVED) {
		ret = 0;
	} else if (bcchip_get_state(bd) != BCCHIP_STATE_LIVE) {
		ret = -EAGAIN;
	} else {
		ret = bcchip_host_cmd(bd, BCFW_OP_CLIENT_CLOSE, c->id, &hdr,
				      sizeof(hdr), &len, 0);
		if (!ret && (len < BCFW_HDR_SIZE ||
			     le32_to_cpu(hdr.status) != BCFW_S_OK)) {
			dev_warn_ratelimited(bcchip_pdev_dev(bd),
					     "client %u: CLIENT_CLOSE refused (%u): id reserved until a reset\n",
					     c->id, le32_to_cpu(hdr.status));
			ret = -EBUSY;
		} else if (ret) {
			/* an abort is not a reset: only a new generation is */
			ret = bcchip_generation(bd) != c->generation ? 0 : -EAGAIN;
		}
	}
	up_read(&bd->hw_lock);
	return ret;
}

#define BCCHIP_CLOSE_RETRY_MS	1000

/*
 * Sends the closed files' CLIENT_CLOSEs one by one, as long as the chip
 * answers; what it does not is tried again later, and a reset frees it.
 */
static void bcchip_close_work(struct work_struct *work)
{
	struct bcchip_dev *bd = container_of(to_delayed_work(work),
					     struct bcchip_dev, close_work);
	struct bcchip_closing *c;
	bool stalled = false;
	unsigned int n = 0;

	spin_lock(&bd->closing_lock);
	list_for_each_entry(c, &bd->closing, node)
		n++;
	spin_unlock(&bd->closing_lock);

	/*
	 * Each entry stays listed (debugfs shows it) until it is done: only
	 * this work and removal, after cancelling it, take entries off.
	 */
	while (n--) {
		int ret = -EAGAIN;

		spin_lock(&bd->closing_lock);
		c = list_first_entry(&bd->closing, struct bcchip_closing, node);
		list_move_tail(&c->node, &bd->closing);
		spin_unlock(&bd->closing_lock);

		/* a chip that did not answer one will not answer the next */
		if (!stalled || bcchip_generation(bd) != c->generation)
			ret = bcchip_close_one(bd, c);
		if (ret) {
			stalled |= ret == -EAGAIN;
			continue;
		}
		spin_lock(&bd->closing_lock);
		list_del(&c->node);
		spin_unlock(&bd->closing_lock);
		ida_free(&bd->client_ida, c->id);
		kfree(c);
	}

	spin_lock(&bd->closing_lock);
	if (stalled && !bd->closing_stopped)
		queue_delayed_work(system_unbound_wq, &bd->close_work,
				   msecs_to_jiffies(BCCHIP_CLOSE_RETRY_MS));
	spin_unlock(&bd->closing_lock);
}

void bcchip_closing_init(struct bcchip_dev *bd)
{
	spin_lock_init(&bd->closing_lock);
	INIT_LIST_HEAD(&bd->closing);
	INIT_DELAYED_WORK(&bd->close_work, bcchip_close_work);
}

/* Now: a reset happened, or a file was closed. */
void bcchip_closing_kick(struct bcchip_dev *bd)
{
	spin_lock(&bd->closing_lock);
	if (!bd->closing_stopped && !list_empty(&bd->closing))
		mod_delayed_work(system_unbound_wq, &bd->close_work, 0);
	spin_unlock(&bd->closing_lock);
}

/* Removal, with every queue failed: the ids die with the chip. */
void bcchip_closing_stop(struct bcchip_dev *bd)
{
	struct bcchip_closing *c, *tmp;

	spin_lock(&bd->closing_lock);
	bd->closing_stopped = true;
	spin_unlock(&bd->closing_lock);
	cancel_delayed_work_sync(&bd->close_work);
	list_for_each_entry_safe(c, tmp, &bd->closing, node) {
		list_del(&c->node);
		ida_free(&bd->client_ida, c->id);
		kfree(c);
	}
}

static int bcchip_release(struct inode *inode, struct file *file)
{
	struct bcchip_client *client = file->private_data;
	struct bcchip_dev *bd = client->bd;
	struct bcchip_closing *c = client->closing;

	client->closing = NULL;
	c->id = client->id;
	c->generation = bcchip_generation(bd);
	/* the firmware learns of a client from its first command only */
	if (READ_ONCE(client->used)) {
		spin_lock(&bd->closing_lock);
		if (!bd->closing_stopped) {
			list_add_tail(&c->node, &bd->closing);
			mod_delayed_work(system_unbound_wq, &bd->close_work, 0);
			c = NULL;
		}
		spin_unlock(&bd->closing_lock);
	}
	if (c) {
		ida_free(&bd->client_ida, c->id);
		kfree(c);
	}
	/* its commands still in flight keep the rest until they are done */
	bcchip_client_put(client);
	bcchip_dev_put(bd);
	return 0;
}

static long bcchip_ioc_info(struct bcchip_client *client,
			    void __user *uarg, size_t usize)
{
	struct bcchip_dev *bd = client->bd;
	struct bcchip_ioc_info k;
	unsigned int i;
	int ret;

	if (usize < BCCHIP_IOC_INFO_SIZE_V1)
		return -EINVAL;
	ret = copy_struct_from_user(&k, sizeof(k), uarg, usize);
	if (ret)
		return ret;
	if (k.flags)
		return -EINVAL;
	for (i = 0; i < ARRAY_SIZE(k.reserved); i++)
		if (k.reserved[i])
			return -EINVAL;

	/*
	 * No hw_lock: it answers during a reset too.  The identity fields
	 * are set once at probe, and the open file keeps @bd alive.
	 */
	if (bcchip_get_state(bd) == BCCHIP_STATE_REMOVED)
		return -ENODEV;
	memset(&k, 0, sizeof(k));
	k.abi_version = BCCHIP_ABI_VERSION;
	k.hw_version = bd->hw_version;
	k.fw_version = (u32)bd->fw_major << 8 | bd->fw_minor;
	k.state = bcchip_get_state(bd);
	k.generation = bcchip_generation(bd);
	k.nr_io_queues = bd->nr_io_queues;
	k.queue_depth = bd->io_depth;
	k.max_frame = bd->max_frame;
	k.max_sessions = bd->max_sessions;
	k.client_id = client->id;
	memcpy(k.serial, bd->serial, sizeof(k.serial));
	memcpy(k.label, bd->label, sizeof(k.label));
	memcpy(k.model, bd->model, sizeof(k.model));

	if (copy_to_user(uarg, &k, min(usize, sizeof(k))))
		return -EFAULT;
	return 0;
}

/*
 * Check the request frame, from the driver's own copy so user space
 * cannot change it under us; only header fields are looked at.
 */
static int bcchip_check_frame(struct bcchip_dev *bd, struct file *file,
			      const struct bcfw_hdr *hdr, u32 req_len)
{
	u16 opcode = le16_to_cpu(hdr->opcode);

	if (le32_to_cpu(hdr->magic) != BCFW_MAGIC ||
	    le32_to_cpu(hdr->length) != req_len)
		return -EINVAL;
	switch (BCFW_OPC_CLASS(opcode)) {
	case BCFW_OPC_HOST:
		bcchip_info_quiet(bcchip_pdev_dev(bd),
				  "%s[%d]: host opcode %#x refused\n",
				  current->comm, task_pid_nr(current), opcode);
		return -EPERM;
	case BCFW_OPC_ADMIN:
		if (!(file->f_mode & FMODE_WRITE) || !capable(CAP_SYS_ADMIN))
			return -EPERM;
		break;
	default:
		break;
	}
	return 0;
}

/*
 * Run one command from the driver's copies of the frames, charged to
 * @client already (the tag takes the charge over, or it is given back).
 * The caller holds hw_lock for reading; nothing here touches user memory,
 * so a caller whose buffers fault slowly (FUSE, userfaultfd) never holds
 * up a reset or a removal.
 */
static long bcchip_do_cmd(struct bcchip_client *client,
			  struct bcchip_ioc_cmd *k, const void *req, void *resp,
			  unsigned long deadline)
{
	struct bcchip_dev *bd = client->bd;
	struct bcchip_queue *q;
	struct bcchip_tag *tag;
	int ret;

	if (k->generation && k->generation != bcchip_generation(bd)) {
		bcchip_quota_release(client);
		return -ESTALE;
	}

	q = bcchip_io_queue(bd);
	tag = bcchip_tag_get(q, true, bcchip_msecs_left(deadline), client);
	if (IS_ERR(tag)) {
		bcchip_quota_release(client);
		return PTR_ERR(tag);
	}

	tag->req_len = k->req_len;
	tag->resp_cap = k->resp_len;
	memcpy(tag->req, req, k->req_len);
	WRITE_ONCE(client->used, true);
	ret = bcchip_tag_exec(q, &tag, client->id,
			      bcchip_msecs_left(deadline), true);
	/* whatever the chip said while being removed, it is gone now */
	if (ret && bcchip_get_state(bd) == BCCHIP_STATE_REMOVED)
		ret = -ENODEV;
	if (ret == -EMSGSIZE) {
		k->resp_len = tag->resp_len;
	} else if (!ret) {
		const struct bcfw_hdr *rhdr = tag->resp;

		k->resp_len = tag->resp_len;
		k->fw_status = le32_to_cpu(rhdr->status);
		memcpy(resp, tag->resp, tag->resp_len);
	}
	bcchip_tag_put(q, tag);
	return ret;
}

static long bcchip_ioc_cmd(struct bcchip_client *client, struct file *file,
			   void __user *uarg, size_t usize)
{
	struct bcchip_dev *bd = client->bd;
	struct bcchip_ioc_cmd k;
	void *req = NULL, *resp = NULL;
	unsigned int timeout_ms;
	unsigned long deadline;
	u32 resp_cap;
	long ret;

	if (usize < BCCHIP_IOC_CMD_SIZE_V1)
		return -EINVAL;
	ret = copy_struct_from_user(&k, sizeof(k), uarg, usize);
	if (ret)
		return ret;
	if (k.flags || k.reserved[0] || k.reserved[1])
		return -EINVAL;
	if (k.req_len < BCFW_HDR_SIZE || k.req_len > bd->max_frame ||
	    k.resp_len < BCFW_HDR_SIZE)
		return -EINVAL;
	/* too short to be met, or so long that it ties a tag up for ever */
	if (k.timeout_ms && (k.timeout_ms < BCCHIP_CMD_TIMEOUT_MIN_MS ||
			     k.timeout_ms > BCCHIP_CMD_TIMEOUT_MAX_MS))
		return -EINVAL;
	k.resp_len = min(k.resp_len, bd->max_frame);
	resp_cap = k.resp_len;

	/* frames may carry PINs and key material: wiped when freed */
	req = kvmalloc(k.req_len, GFP_KERNEL);
	resp = kvmalloc(resp_cap, GFP_KERNEL);
	if (!req || !resp) {
		ret = -ENOMEM;
		goto out;
	}
	if (copy_from_user(req, u64_to_user_ptr(k.req_ptr), k.req_len)) {
		ret = -EFAULT;
		goto out;
	}
	ret = bcchip_check_frame(bd, file, req, k.req_len);
	if (ret)
		goto out;

	/* one budget for the file's turn, a tag and the answer */
	timeout_ms = k.timeout_ms ? k.timeout_ms :
		     clamp(READ_ONCE(bcchip_cmd_timeout_ms),
			   BCCHIP_CMD_TIMEOUT_MIN_MS, BCCHIP_CMD_TIMEOUT_MAX_MS);
	deadline = jiffies + msecs_to_jiffies(timeout_ms);
	/* outside hw_lock: a reset does not wait for callers over a limit */
	ret = bcchip_quota_charge(client, file->f_flags & O_NONBLOCK,
				  timeout_ms);
	if (ret)
		goto out;
	ret = bcchip_hw_try_get(bd);
	if (!ret) {
		ret = bcchip_do_cmd(client, &k, req, resp, deadline);
		/* the generation the command ran in: no reset until put */
		k.generation = bcchip_generation(bd);
		bcchip_hw_put(bd);
	} else {
		bcchip_quota_release(client);
	}

	if (!ret && copy_to_user(u64_to_user_ptr(k.resp_ptr), resp,
				 k.resp_len))
		ret = -EFAULT;
	/* the caller learns the size needed and the current generation */
	if (!ret || ret == -EMSGSIZE || ret == -ESTALE) {
		if (copy_to_user(uarg, &k, min(usize, sizeof(k))))
			ret = -EFAULT;
	}
out:
	kvfree_sensitive(req, k.req_len);
	kvfree_sensitive(resp, resp_cap);
	return ret;
}

static long bcchip_ioctl(struct file *file, unsigned int cmd,
			 unsigned long arg)
{
	struct bcchip_client *client = file->private_data;
	void __user *uarg = (void __user *)arg;

	if (_IOC_TYPE(cmd) != BCCHIP_IOC_MAGIC ||
	    _IOC_DIR(cmd) != (_IOC_READ | _IOC_WRITE))
		return -ENOTTY;
	switch (_IOC_NR(cmd)) {
	case _IOC_NR(BCCHIP_IOC_INFO):
		return bcchip_ioc_info(client, uarg, _IOC_SIZE(cmd));
	case _IOC_NR(BCCHIP_IOC_CMD):
		return bcchip_ioc_cmd(client, file, uarg, _IOC_SIZE(cmd));
	default:
		return -ENOTTY;
	}
}

static const struct file_operations bcchip_fops = {
	.owner		= THIS_MODULE,
	.open		= bcchip_open,
	.release	= bcchip_release,
	.unlocked_ioctl	= bcchip_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
};

static void bcchip_chardev_release(struct device *dev)
{
	bcchip_dev_free(container_of(dev, struct bcchip_dev, dev));
}

/*
 * The chip's reference count from probe on, as tpm_chip_alloc() sets up
 * the TPM's: bcchip_dev_put() drops it, whether or not the char device
 * was ever added.
 */
void bcchip_cdev_init_dev(struct bcchip_dev *bd)
{
	device_initialize(&bd->dev);
	bd->dev.class = &bcchip_class;
	bd->dev.parent = bcchip_pdev_dev(bd);
	bd->dev.groups = bcchip_dev_groups;
	bd->dev.release = bcchip_chardev_release;
	dev_set_drvdata(&bd->dev, bd);
	cdev_init(&bd->cdev, &bcchip_fops);
	bd->cdev.owner = THIS_MODULE;
}

int bcchip_cdev_add(struct bcchip_dev *bd)
{
	int minor, ret;

	minor = ida_alloc_max(&bcchip_minor_ida, BCCHIP_MAX_MINORS - 1,
			      GFP_KERNEL);
	if (minor < 0)
		return minor;
	WRITE_ONCE(bd->minor, minor);
	bd->dev.devt = MKDEV(MAJOR(bcchip_devt_base), minor);
	ret = dev_set_name(&bd->dev, BCCHIP_DRV_NAME "%d", minor);
	if (ret)
		goto err_ida;

	ret = xa_err(xa_store(&bcchip_devs, minor, bd, GFP_KERNEL));
	if (ret)
		goto err_ida;
	bcchip_devs_changed();

	/* an open file's cdev reference holds bd->dev, and so @bd */
	ret = cdev_device_add(&bd->cdev, &bd->dev);
	if (ret)
		goto err_xa;
	bd->cdev_added = true;
	return 0;

err_xa:
	xa_erase(&bcchip_devs, minor);
	bcchip_devs_changed();
err_ida:
	ida_free(&bcchip_minor_ida, minor);
	WRITE_ONCE(bd->minor, -1);
	return ret;
}

/*
 * The chip is no longer found, opened or shown in sysfs.  Its minor stays
 * reserved, so that an event sent meanwhile does not name another chip:
 * bcchip_cdev_release_minor() gives it back once the events have stopped.
 */
void bcchip_cdev_del(struct bcchip_dev *bd)
{
	if (!bd->cdev_added)
		return;
	xa_erase(&bcchip_devs, bd->minor);
	bcchip_devs_changed();
	cdev_device_del(&bd->cdev, &bd->dev);
	bd->cdev_added = false;
}

void bcchip_cdev_release_minor(struct bcchip_dev *bd)
{
	int minor = bd->minor;

	if (minor < 0)
		return;
	WRITE_ONCE(bd->minor, -1);
	ida_free(&bcchip_minor_ida, minor);
}

int bcchip_cdev_init(void)
{
	int ret;

	ret = alloc_chrdev_region(&bcchip_devt_base, 0, BCCHIP_MAX_MINORS,
				  BCCHIP_DRV_NAME);
	if (ret)
		return ret;
	ret = class_register(&bcchip_class);
	if (ret)
		unregister_chrdev_region(bcchip_devt_base, BCCHIP_MAX_MINORS);
	return ret;
}

void bcchip_cdev_exit(void)
{
	class_unregister(&bcchip_class);
	unregister_chrdev_region(bcchip_devt_base, BCCHIP_MAX_MINORS);
	ida_destroy(&bcchip_minor_ida);
}
