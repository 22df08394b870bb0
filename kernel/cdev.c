// SPDX-License-Identifier: GPL-2.0
/*
 * Bastionchip character devices and their ioctls (docs/ioctl.md).
 *
 * Every open file is a client of its own: its id is stamped into every
 * command it sends, so the firmware keeps its sessions apart from every
 * other file's, and closing the file tells the firmware to drop them.
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

struct bcchip_client {
	struct bcchip_dev *bd;
	u32 id;
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
		kref_get(&bd->kref);
	xa_unlock(&bcchip_devs);
	return bd;
}

static int bcchip_open(struct inode *inode, struct file *file)
{
	struct bcchip_client *client;
	struct bcchip_dev *bd;
	int id;

	xa_lock(&bcchip_devs);
	bd = xa_load(&bcchip_devs, iminor(inode));
	if (bd)
		kref_get(&bd->kref);
	xa_unlock(&bcchip_devs);
	if (!bd)
		return -ENODEV;

	client = kzalloc(sizeof(*client), GFP_KERNEL);
	if (!client) {
		bcchip_dev_put(bd);
		return -ENOMEM;
	}
	id = ida_alloc_min(&bd->client_ida, 1, GFP_KERNEL);
	if (id < 0) {
		kfree(client);
		bcchip_dev_put(bd);
		return id;
	}
	client->bd = bd;
	client->id = id;
	file->private_data = client;
	return stream_open(inode, file);
}

static int bcchip_release(struct inode *inode, struct file *file)
{
	struct bcchip_client *client = file->private_data;
	struct bcchip_dev *bd = client->bd;
	bool forgotten = true;
	int ret;

	down_read(&bd->hw_lock);
	if (bcchip_get_state(bd) == BCCHIP_STATE_LIVE) {
		ret = bcchip_host_cmd(bd, BCFW_OP_CLIENT_CLOSE, client->id,
				      NULL, 0, NULL, 0);
		/*
		 * ECANCELED, EAGAIN: a reset dropped the command, and the
		 * reset itself made the firmware forget every client.
		 */
		if (ret && ret != -ECANCELED && ret != -EAGAIN) {
			dev_warn_ratelimited(bcchip_pdev_dev(bd),
					     "client %u: CLIENT_CLOSE failed: %d\n",
					     client->id, ret);
			/*
			 * The firmware may still hold this client's sessions:
			 * never give its id to another file.  A chip reset
			 * makes the firmware forget every client anyway.
			 */
			forgotten = false;
		}
	}
	up_read(&bd->hw_lock);

	if (forgotten)
		ida_free(&bd->client_ida, client->id);
	kfree(client);
	bcchip_dev_put(bd);
	return 0;
}

/* Under hw_lock: can commands be sent? */
static int bcchip_state_errno(struct bcchip_dev *bd)
{
	switch (bcchip_get_state(bd)) {
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
		dev_info_ratelimited(bcchip_pdev_dev(bd),
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
 * Run one command from the driver's copies of the frames.  The caller
 * holds hw_lock for reading; nothing here touches user memory, so a
 * caller whose buffers fault slowly (FUSE, userfaultfd) never holds up a
 * reset or a removal.
 */
static long bcchip_do_cmd(struct bcchip_client *client,
			  struct bcchip_ioc_cmd *k, const void *req, void *resp)
{
	struct bcchip_dev *bd = client->bd;
	unsigned long deadline;
	struct bcchip_queue *q;
	struct bcchip_tag *tag;
	unsigned int timeout_ms;
	int ret;

	if (k->generation && k->generation != bcchip_generation(bd))
		return -ESTALE;

	/* one budget for waiting for a tag and for the answer */
	timeout_ms = k->timeout_ms ? k->timeout_ms :
		     max(1U, READ_ONCE(bcchip_cmd_timeout_ms));
	deadline = jiffies + msecs_to_jiffies(timeout_ms);
	q = bcchip_io_queue(bd);
	tag = bcchip_tag_get(q, true, timeout_ms);
	if (IS_ERR(tag))
		return PTR_ERR(tag);

	tag->req_len = k->req_len;
	tag->resp_cap = k->resp_len;
	memcpy(tag->req, req, k->req_len);
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

	down_read(&bd->hw_lock);
	ret = bcchip_state_errno(bd);
	if (!ret)
		ret = bcchip_do_cmd(client, &k, req, resp);
	k.generation = bcchip_generation(bd);
	up_read(&bd->hw_lock);

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

int bcchip_cdev_add(struct bcchip_dev *bd)
{
	struct device *parent = bcchip_pdev_dev(bd);
	struct device *chardev;
	int minor, ret;

	minor = ida_alloc_max(&bcchip_minor_ida, BCCHIP_MAX_MINORS - 1,
			      GFP_KERNEL);
	if (minor < 0)
		return minor;
	WRITE_ONCE(bd->minor, minor);
	bd->devt = MKDEV(MAJOR(bcchip_devt_base), minor);

	ret = xa_err(xa_store(&bcchip_devs, minor, bd, GFP_KERNEL));
	if (ret)
		goto err_ida;
	bcchip_devs_changed();

	/* not embedded: open files may hold the cdev after @bd is gone */
	bd->cdev = cdev_alloc();
	if (!bd->cdev) {
		ret = -ENOMEM;
		goto err_xa;
	}
	bd->cdev->owner = THIS_MODULE;
	bd->cdev->ops = &bcchip_fops;
	ret = cdev_add(bd->cdev, bd->devt, 1);
	if (ret)
		goto err_cdev;

	chardev = device_create_with_groups(&bcchip_class, parent, bd->devt,
					    bd, bcchip_dev_groups,
					    BCCHIP_DRV_NAME "%d", minor);
	if (IS_ERR(chardev)) {
		ret = PTR_ERR(chardev);
		goto err_cdev;
	}
	bd->chardev = chardev;
	return 0;

err_cdev:
	cdev_del(bd->cdev);
	bd->cdev = NULL;
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
	if (bd->minor < 0 || !bd->cdev)
		return;
	xa_erase(&bcchip_devs, bd->minor);
	bcchip_devs_changed();
	if (bd->chardev)
		device_destroy(&bcchip_class, bd->devt);
	bd->chardev = NULL;
	cdev_del(bd->cdev);
	bd->cdev = NULL;
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
