// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Kernel device back-end: /dev/bcchipN.  The driver is the process
 * boundary; each open file is one client of the chip, so one file serves
 * every thread of the library instance and ioctls run concurrently.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "transport.h"

struct dev_priv {
	int fd;
};

static int dev_errno(int e)
{
	switch (e) {
	case ETIMEDOUT:
	case EIO:
	case ENODEV:
	case ESTALE:
	case EMSGSIZE:
	case EPERM:
	case EACCES:
	case EINTR:
	case ENOMEM:
	case EINVAL:
	case ENOENT:
		return -e;
	case ENXIO:
		return -ENODEV;
	case E2BIG:
	case EFAULT:
		return -EINVAL;
	case ENOTTY:	/* not a Bastionchip node */
		return -ENODEV;
	default:
		return -EIO;
	}
}

static int dev_ioc_info(int fd, struct bcchip_ioc_info *ii)
{
	memset(ii, 0, sizeof(*ii));
	if (ioctl(fd, BCCHIP_IOC_INFO, ii) < 0)
		return dev_errno(errno);
	return 0;
}

static int dev_info(struct bc_transport *t, struct bc_info *out)
{
	struct dev_priv *p = t->priv;
	struct bcchip_ioc_info ii;
	uint8_t body[sizeof(struct bcfw_info)];
	int ret;

	ret = dev_ioc_info(p->fd, &ii);
	if (ret)
		return ret;
	out->abi_version = ii.abi_version;
	out->hw_version = ii.hw_version;
	out->state = ii.state;
	out->generation = ii.generation;
	out->nr_io_queues = ii.nr_io_queues;
	out->queue_depth = ii.queue_depth;
	out->client_id = ii.client_id;
	/* Identity from the driver, so it shows even when the chip is down. */
	memcpy(out->chip.serial, ii.serial, sizeof(out->chip.serial));
	memcpy(out->chip.label, ii.label, sizeof(out->chip.label));
	memcpy(out->chip.model, ii.model, sizeof(out->chip.model));
	out->chip.max_sessions = ii.max_sessions;
	out->chip.max_frame = ii.max_frame;
	out->chip.fw_major = (uint8_t)(ii.fw_version >> 8);
	out->chip.fw_minor = (uint8_t)ii.fw_version;
	if (ii.state != BCCHIP_STATE_LIVE)
		return -ENODEV;
	ret = bc_transport_call(t, BCFW_OP_GET_INFO, 0, NULL, 0, body,
				sizeof(body), NULL, NULL, NULL);
	if (ret == -EREMOTEIO)
		return -EIO;
	if (ret)
		return ret;
	return bc_chip_info_parse(body, sizeof(body), &out->chip);
}

static int dev_cmd(struct bc_transport *t, const void *req, size_t req_len,
		   void *resp, size_t resp_cap, size_t *resp_len, uint32_t *gen)
{
	struct dev_priv *p = t->priv;
	struct bcchip_ioc_cmd c;
	struct bcfw_hdr h;

	if (req_len > UINT32_MAX)
		return -EMSGSIZE;
	memset(&c, 0, sizeof(c));
	c.req_len = (uint32_t)req_len;
	c.req_ptr = (uint64_t)(uintptr_t)req;
	c.resp_ptr = (uint64_t)(uintptr_t)resp;
	c.resp_len = resp_cap > UINT32_MAX ? UINT32_MAX : (uint32_t)resp_cap;
	c.generation = *gen;
	if (ioctl(p->fd, BCCHIP_IOC_CMD, &c) < 0) {
		int err = errno;

		/* The driver tells a stale caller the generation it is at. */
		if (err == ESTALE)
			*gen = c.generation;
		return dev_errno(err);
	}
	*gen = c.generation;
	if (c.resp_len > resp_cap || c.resp_len < BCFW_HDR_SIZE)
		return -EBADMSG;
	/* The driver copies the status out of the header: they must agree. */
	memcpy(&h, resp, sizeof(h));
	if (le32toh(h.status) != c.fw_status)
		return -EBADMSG;
	*resp_len = c.resp_len;
	return 0;
}

static void dev_close(struct bc_transport *t, int orderly)
{
	struct dev_priv *p = t->priv;

	/*
	 * close() is right in both cases: the driver ends the client when
	 * the last reference to the open file goes, which after fork() is
	 * the parent's, not ours.
	 */
	(void)orderly;
	close(p->fd);
	free(p);
}

static const struct bc_transport_ops dev_ops = {
	.info = dev_info,
	.cmd = dev_cmd,
	.close = dev_close,
};

int bc_transport_dev_open(const char *path, struct bc_transport *t)
{
	struct bcchip_ioc_info ii;
	struct dev_priv *p;
	int fd, ret;

	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0 && errno == EACCES)
		fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return dev_errno(errno);
	/* Refuse anything that does not speak our ioctls. */
	ret = dev_ioc_info(fd, &ii);
	if (ret) {
		close(fd);
		return ret;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		close(fd);
		return -ENOMEM;
	}
	p->fd = fd;
	t->ops = &dev_ops;
	t->kind = BC_TRANSPORT_DEV;
	t->priv = p;
	return 0;
}
