// SPDX-License-Identifier: GPL-2.0
/*
 * Bastionchip status in sysfs: /sys/class/bcchip/bcchipN/ (docs/driver.md).
 *
 * The attributes belong to the class device, which removal destroys
 * before it lets the chip go, so a show or store never outlives the
 * per-chip structure.  sessions_in_use, health and the attestation files
 * ask the firmware through status.c: one query at a time per chip, on
 * the admin queue, with a short bound.
 */

#include <linux/capability.h>
#include <linux/device.h>
#include <linux/slab.h>
#include <linux/sysfs.h>

#include "bcchip.h"

static const char * const bcchip_state_names[] = {
	[BCCHIP_STATE_PROBING]		= "probing",
	[BCCHIP_STATE_LIVE]		= "live",
	[BCCHIP_STATE_RESETTING]	= "resetting",
	[BCCHIP_STATE_DEAD]		= "dead",
	[BCCHIP_STATE_REMOVED]		= "removed",
};

static struct bcchip_dev *to_bcchip(struct device *dev)
{
	return container_of(dev, struct bcchip_dev, dev);
}

static ssize_t serial_show(struct device *dev, struct device_attribute *attr,
			   char *buf)
{
	struct bcchip_dev *bd = to_bcchip(dev);

	return sysfs_emit(buf, "%.*s\n", BCFW_SERIAL_LEN, bd->serial);
}
static DEVICE_ATTR_RO(serial);

static ssize_t firmware_version_show(struct device *dev,
				     struct device_attribute *attr, char *buf)
{
	struct bcchip_dev *bd = to_bcchip(dev);

	return sysfs_emit(buf, "%u.%u\n", bd->fw_major, bd->fw_minor);
}
static DEVICE_ATTR_RO(firmware_version);

static ssize_t hw_version_show(struct device *dev,
			       struct device_attribute *attr, char *buf)
{
	struct bcchip_dev *bd = to_bcchip(dev);

	return sysfs_emit(buf, "%u.%u\n", bd->hw_version >> 16,
			  bd->hw_version & 0xffff);
}
static DEVICE_ATTR_RO(hw_version);

static ssize_t state_show(struct device *dev, struct device_attribute *attr,
			  char *buf)
{
	enum bcchip_state state = bcchip_get_state(to_bcchip(dev));

	if (state >= ARRAY_SIZE(bcchip_state_names))
		return sysfs_emit(buf, "%d\n", state);
	return sysfs_emit(buf, "%s\n", bcchip_state_names[state]);
}
static DEVICE_ATTR_RO(state);

static ssize_t generation_show(struct device *dev,
			       struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", bcchip_generation(to_bcchip(dev)));
}
static DEVICE_ATTR_RO(generation);

static ssize_t reset_count_show(struct device *dev,
				struct device_attribute *attr, char *buf)
{
	struct bcchip_dev *bd = to_bcchip(dev);
	u32 n;

	spin_lock(&bd->state_lock);
	n = bd->reset_count;
	spin_unlock(&bd->state_lock);
	return sysfs_emit(buf, "%u\n", n);
}
static DEVICE_ATTR_RO(reset_count);

static ssize_t queue_count_show(struct device *dev,
				struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", to_bcchip(dev)->nr_io_queues);
}
static DEVICE_ATTR_RO(queue_count);

static ssize_t queue_depth_show(struct device *dev,
				struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", to_bcchip(dev)->io_depth);
}
static DEVICE_ATTR_RO(queue_depth);

static ssize_t vector_count_show(struct device *dev,
				 struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", to_bcchip(dev)->nr_vecs);
}
static DEVICE_ATTR_RO(vector_count);

static ssize_t max_cmds_per_file_show(struct device *dev,
				      struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", to_bcchip(dev)->max_cmds_per_file);
}
static DEVICE_ATTR_RO(max_cmds_per_file);

static ssize_t max_cmds_per_uid_show(struct device *dev,
				     struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", to_bcchip(dev)->max_cmds_per_uid);
}
static DEVICE_ATTR_RO(max_cmds_per_uid);

static ssize_t session_limit_show(struct device *dev,
				  struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", to_bcchip(dev)->max_sessions);
}
static DEVICE_ATTR_RO(session_limit);

/* Asks the firmware: the count is the whole chip's, every client's. */
static ssize_t sessions_in_use_show(struct device *dev,
				    struct device_attribute *attr, char *buf)
{
	struct bcchip_status st;
	int ret;

	ret = bcchip_status_query(to_bcchip(dev), &st, BCCHIP_STATUS_INFO |
				  bcchip_status_reader_flags());
	if (!ret)
		ret = st.info_err;
	if (ret)
		return ret;
	return sysfs_emit(buf, "%u\n", st.sessions_in_use);
}
static DEVICE_ATTR_RO(sessions_in_use);

static const char * const bcchip_health_names[] = {
	[BCCHIP_HEALTH_OK]	= "ok",
	[BCCHIP_HEALTH_DEGRADED] = "degraded",
	[BCCHIP_HEALTH_FAILED]	= "failed",
};

/* Asks the firmware (status.c): the same verdict as netlink's GET_STATUS. */
static ssize_t health_show(struct device *dev, struct device_attribute *attr,
			   char *buf)
{
	struct bcchip_status st;
	int ret;

	ret = bcchip_status_query(to_bcchip(dev), &st, BCCHIP_STATUS_INFO |
				  BCCHIP_STATUS_ATTEST |
				  bcchip_status_reader_flags());
	if (ret)
		return ret;
	return sysfs_emit(buf, "%s\n", bcchip_health_names[st.health]);
}
static DEVICE_ATTR_RO(health);

/*
 * The attestation state, one value per file, asked of the firmware on
 * every read (ATTEST_STATUS alone); the error when it could not say
 * (EOPNOTSUPP: a firmware without attestation).
 */
#define BCCHIP_ATTEST_ATTR(_name, _field)				\
static ssize_t _name##_show(struct device *dev,				\
			    struct device_attribute *attr, char *buf)	\
{									\
	struct bcchip_status st;					\
	int ret;							\
									\
	ret = bcchip_status_query(to_bcchip(dev), &st,			\
				  BCCHIP_STATUS_ATTEST |			\
				  bcchip_status_reader_flags());		\
	if (!ret)							\
		ret = st.attest_err;					\
	if (ret)							\
		return ret;						\
	return sysfs_emit(buf, "%llu\n", (unsigned long long)st._field);	\
}									\
static DEVICE_ATTR_RO(_name)

BCCHIP_ATTEST_ATTR(health_flags, health_flags);
BCCHIP_ATTEST_ATTR(attest_not_before, not_before);
BCCHIP_ATTEST_ATTR(attest_not_after, not_after);
BCCHIP_ATTEST_ATTR(attest_last_refresh, last_refresh);
BCCHIP_ATTEST_ATTR(attest_next_refresh, next_refresh);
BCCHIP_ATTEST_ATTR(attest_generation, attest_generation);
BCCHIP_ATTEST_ATTR(attest_period, period);
BCCHIP_ATTEST_ATTR(attest_failures, failures);
BCCHIP_ATTEST_ATTR(chip_time, chip_time);

/* Write 1: reset the chip now; returns when it is LIVE again (or DEAD). */
static ssize_t reset_store(struct device *dev, struct device_attribute *attr,
			   const char *buf, size_t count)
{
	bool yes;
	int ret;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	ret = kstrtobool(buf, &yes);
	if (ret)
		return ret;
	if (!yes)
		return -EINVAL;
	ret = bcchip_reset(to_bcchip(dev), "administrator");
	return ret ? ret : count;
}
static DEVICE_ATTR_WO(reset);

static struct attribute *bcchip_dev_attrs[] = {
	&dev_attr_serial.attr,
	&dev_attr_firmware_version.attr,
	&dev_attr_hw_version.attr,
	&dev_attr_state.attr,
	&dev_attr_generation.attr,
	&dev_attr_reset_count.attr,
	&dev_attr_queue_count.attr,
	&dev_attr_queue_depth.attr,
	&dev_attr_vector_count.attr,
	&dev_attr_max_cmds_per_file.attr,
	&dev_attr_max_cmds_per_uid.attr,
	&dev_attr_session_limit.attr,
	&dev_attr_sessions_in_use.attr,
	&dev_attr_health.attr,
	&dev_attr_health_flags.attr,
	&dev_attr_attest_not_before.attr,
	&dev_attr_attest_not_after.attr,
	&dev_attr_attest_last_refresh.attr,
	&dev_attr_attest_next_refresh.attr,
	&dev_attr_attest_generation.attr,
	&dev_attr_attest_period.attr,
	&dev_attr_attest_failures.attr,
	&dev_attr_chip_time.attr,
	&dev_attr_reset.attr,
	NULL,
};

static const struct attribute_group bcchip_dev_group = {
	.attrs = bcchip_dev_attrs,
};

const struct attribute_group *bcchip_dev_groups[] = {
	&bcchip_dev_group,
	NULL,
};
