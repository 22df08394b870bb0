// SPDX-License-Identifier: GPL-2.0
/*
 * Bastionchip status as netlink (GET_STATUS) and sysfs report it: the
 * driver's own state, sessions in use (GET_INFO) and the attestation
 * state (ATTEST_STATUS), both asked of the firmware as the driver's
 * client 0 on the admin queue, and an overall health derived from them.
 * The refresh command lives here too: it is the same kind of query.
 *
 * One query runs at a time per chip (info_sem), so that readers cannot
 * fill the small admin queue, and each is bounded by one deadline that
 * counts the wait for the query before it too: a reader that cannot get
 * its turn in time gets EBUSY.
 */

#include <linux/capability.h>
#include <linux/jiffies.h>
#include <linux/slab.h>
#include <linux/user_namespace.h>

#include "bcchip.h"

/*
 * Status readers (sysfs, netlink) wait at most this long for the chip,
 * both queries and the wait for another reader included: monitoring
 * polls these files, and must not hang for seconds on a chip that does
 * not answer.  The firmware answers GET_INFO from the admin queue, where
 * no user's command waits, in well under a millisecond.
 */
#define BCCHIP_STATUS_TIMEOUT_MS	1000U
/* how old a status unprivileged readers may be given */
#define BCCHIP_STATUS_CACHE_MS		1000U

struct bcchip_attest_rsp {
	struct bcfw_hdr hdr;
	struct bcfw_attest_status st;
} __packed;

/* The firmware's verdict in a response header, as an errno. */
static int bcchip_fw_errno(const struct bcfw_hdr *hdr, u32 len)
{
	if (len < BCFW_HDR_SIZE || le32_to_cpu(hdr->magic) != BCFW_MAGIC)
		return -EIO;
	switch (le32_to_cpu(hdr->status)) {
	case BCFW_S_OK:
		return 0;
	case BCFW_S_BAD_OPCODE:
		return -EOPNOTSUPP;	/* firmware without attestation */
	case BCFW_S_DENIED:
		return -EPERM;
	default:
		return -EIO;
	}
}

static int bcchip_fetch_attest(struct bcchip_dev *bd, struct bcchip_status *st,
			       struct bcchip_attest_rsp *rsp,
			       unsigned int timeout_ms)
{
	u32 len = 0;
	int ret;

	ret = bcchip_host_cmd(bd, BCFW_OP_ATTEST_STATUS, 0, rsp, sizeof(*rsp),
			      &len, timeout_ms);
	if (ret)
		return ret;
	ret = bcchip_fw_errno(&rsp->hdr, len);
	if (ret)
		return ret;
	if (len < sizeof(*rsp)) {
		dev_err_ratelimited(bcchip_pdev_dev(bd),
				    "ATTEST_STATUS: short answer (%u bytes)\n",
				    len);
		return -EIO;
	}
	st->chip_time = le64_to_cpu(rsp->st.now);
	st->not_before = le64_to_cpu(rsp->st.not_before);
	st->not_after = le64_to_cpu(rsp->st.not_after);
	st->last_refresh = le64_to_cpu(rsp->st.last_refresh);
	st->next_refresh = le64_to_cpu(rsp->st.next_refresh);
	st->period = le32_to_cpu(rsp->st.period);
	st->attest_generation = le32_to_cpu(rsp->st.generation);
	st->health_flags = le32_to_cpu(rsp->st.health);
	st->failures = le32_to_cpu(rsp->st.failures);
	return 0;
}

/*
 * FAILED: the chip cannot serve (dead, removed, the firmware does not
 * answer) or cannot prove what it is (certificate expired, no identity).
 * DEGRADED: it serves, but a reset is under way, the last refresh failed,
 * the certificate is near its end, or the firmware has no attestation.
 */
static enum bcchip_health bcchip_health_of(const struct bcchip_status *st)
{
	switch (st->state) {
	case BCCHIP_STATE_LIVE:
		break;
	case BCCHIP_STATE_PROBING:
	case BCCHIP_STATE_RESETTING:
		return BCCHIP_HEALTH_DEGRADED;
	default:
		return BCCHIP_HEALTH_FAILED;
	}
	if (st->info_err == -EAGAIN || st->attest_err == -EAGAIN ||
	    st->info_err == -ECANCELED || st->attest_err == -ECANCELED)
		return BCCHIP_HEALTH_DEGRADED;	/* a reset started meanwhile */
	/* ENODATA: not asked */
	if (st->info_err && st->info_err != -ENODATA)
		return BCCHIP_HEALTH_FAILED;
	if (st->attest_err == -EOPNOTSUPP)
		return BCCHIP_HEALTH_DEGRADED;
	if (st->attest_err && st->attest_err != -ENODATA)
		return BCCHIP_HEALTH_FAILED;
	if (st->health_flags & (BCFW_HEALTH_EXPIRED | BCFW_HEALTH_NO_IDENTITY))
		return BCCHIP_HEALTH_FAILED;
	if (st->health_flags)
		return BCCHIP_HEALTH_DEGRADED;
	return BCCHIP_HEALTH_OK;
}

/* The token label may change after probe (token init): this query's. */
static void bcchip_status_label(struct bcchip_status *st,
				const struct bcfw_info *info)
{
	size_t i;

	for (i = 0; i < sizeof(st->label); i++)
		st->label[i] = (info->label[i] >= 0x20 && info->label[i] < 0x7f) ?
			       info->label[i] : ' ';
}

/*
 * Whether the reader may be given a cached status: not an administrator,
 * who must see what a change just did (no audit record: not a denial).
 */
unsigned int bcchip_status_reader_flags(void)
{
	return ns_capable_noaudit(&init_user_ns, CAP_SYS_ADMIN) ?
	       0 : BCCHIP_STATUS_CACHED;
}

/* The last full status, if young enough and the chip LIVE since. */
static bool bcchip_status_from_cache(struct bcchip_dev *bd,
				     struct bcchip_status *st)
{
	bool hit;

	spin_lock(&bd->status_lock);
	hit = bd->status_valid &&
	      time_before(jiffies, bd->status_at +
			  msecs_to_jiffies(BCCHIP_STATUS_CACHE_MS));
	if (hit)
		*st = bd->status_cache;
	spin_unlock(&bd->status_lock);
	if (!hit)
		return false;
	spin_lock(&bd->state_lock);
	hit = bd->state == BCCHIP_STATE_LIVE &&
	      bd->generation == st->generation;
	st->reset_count = bd->reset_count;
	spin_unlock(&bd->state_lock);
	return hit;
}

static void bcchip_status_to_cache(struct bcchip_dev *bd,
				   const struct bcchip_status *st)
{
	spin_lock(&bd->status_lock);
	bd->status_cache = *st;
	bd->status_at = jiffies;
	bd->status_valid = true;
	spin_unlock(&bd->status_lock);
}

static void bcchip_status_forget(struct bcchip_dev *bd)
{
	spin_lock(&bd->status_lock);
	bd->status_valid = false;
	spin_unlock(&bd->status_lock);
}

/*
 * Fill @st, asking the firmware what @what says.  Returns 0 (the
 * firmware's part may have failed: info_err, attest_err), -EBUSY when
 * another query held the chip for the whole bound, or -ENOMEM.  The one
 * deadline, taken before waiting for the other query, bounds it all.
 * With BCCHIP_STATUS_CACHED, a full status at most 1 s old will do, and
 * a fresh one is full: one reader cannot make the chip answer more than
 * about once a second for every unprivileged reader of the system.
 */
int bcchip_status_query(struct bcchip_dev *bd, struct bcchip_status *st,
			unsigned int what)
{
	unsigned long deadline = jiffies +
		msecs_to_jiffies(min(BCCHIP_STATUS_TIMEOUT_MS,
				     max(1U, READ_ONCE(bcchip_cmd_timeout_ms))));
	struct bcchip_attest_rsp *rsp;
	struct bcfw_info *info;
	bool locked;
	int ret = 0;

	if (what & BCCHIP_STATUS_CACHED) {
		if (bcchip_status_from_cache(bd, st))
			return 0;
		what |= BCCHIP_STATUS_INFO | BCCHIP_STATUS_ATTEST;
	}
	memset(st, 0, sizeof(*st));
	info = kzalloc(sizeof(*info), GFP_KERNEL);
	rsp = kzalloc(sizeof(*rsp), GFP_KERNEL);
	if (!info || !rsp) {
		ret = -ENOMEM;
		goto out;
	}
	if (down_timeout(&bd->info_sem,
			 max_t(long, 1, (long)(deadline - jiffies)))) {
		ret = -EBUSY;
		goto out;
	}
	/*
	 * Only a reset or removal holds it for writing, for as long as the
	 * chip takes to stop and start: not asked then, as when not LIVE.
	 */
	locked = down_read_trylock(&bd->hw_lock);
	st->state = bcchip_get_state(bd);
	st->info_err = bcchip_state_errno(st->state);
	if (!locked && !st->info_err)
		st->info_err = -EAGAIN;
	st->attest_err = st->info_err;
	if (!(what & BCCHIP_STATUS_INFO))
		st->info_err = -ENODATA;
	if (!(what & BCCHIP_STATUS_ATTEST))
		st->attest_err = -ENODATA;
	if (locked && st->state == BCCHIP_STATE_LIVE &&
	    (what & BCCHIP_STATUS_INFO)) {
		st->info_err = bcchip_fetch_info(bd, info,
						 bcchip_msecs_left(deadline));
		if (!st->info_err) {
			st->sessions_in_use = le32_to_cpu(info->sessions_in_use);
			bcchip_status_label(st, info);
		} else if (what & BCCHIP_STATUS_ATTEST) {
			st->attest_err = st->info_err;
		}
	}
	if (locked && st->state == BCCHIP_STATE_LIVE &&
	    (what & BCCHIP_STATUS_ATTEST) &&
	    (!(what & BCCHIP_STATUS_INFO) || !st->info_err))
		st->attest_err = bcchip_fetch_attest(bd, st, rsp,
						     bcchip_msecs_left(deadline));
	if (locked)
		up_read(&bd->hw_lock);
	up(&bd->info_sem);

	spin_lock(&bd->state_lock);
	st->generation = bd->generation;
	st->reset_count = bd->reset_count;
	spin_unlock(&bd->state_lock);
	st->health = bcchip_health_of(st);
	if (st->state == BCCHIP_STATE_LIVE &&
	    (what & BCCHIP_STATUS_INFO) && (what & BCCHIP_STATUS_ATTEST))
		bcchip_status_to_cache(bd, st);
out:
	kfree(rsp);
	kfree(info);
	return ret;
}

/*
 * ATTEST_REFRESH, as the driver's own client; the caller checked
 * privilege.  One at a time, but apart from the status queries: a
 * refresh may take the firmware up to cmd_timeout_ms, longer than a
 * status reader waits.
 */
int bcchip_attest_refresh(struct bcchip_dev *bd)
{
	struct bcchip_attest_rsp *rsp;
	u32 len = 0;
	int ret;

	rsp = kzalloc(sizeof(*rsp), GFP_KERNEL);
	if (!rsp)
		return -ENOMEM;
	if (mutex_lock_interruptible(&bd->refresh_lock)) {
		kfree(rsp);
		return -EINTR;
	}
	ret = bcchip_hw_try_get(bd);
	if (!ret) {
		ret = bcchip_host_cmd(bd, BCFW_OP_ATTEST_REFRESH, 0, rsp,
				      sizeof(*rsp), &len, 0);
		bcchip_hw_put(bd);
	}
	/* whatever came of it, nobody is to be told what was before */
	bcchip_status_forget(bd);
	mutex_unlock(&bd->refresh_lock);
	if (!ret)
		ret = bcchip_fw_errno(&rsp->hdr, len);
	kfree(rsp);
	return ret;
}
