// SPDX-License-Identifier: GPL-2.0
/*
 * Bastionchip generic netlink family "bcchip" (docs/netlink.md): chip
 * status per device or for all of them, an attestation refresh for
 * administrators, and the "events" multicast group.
 *
 * Devices are named by their minor and looked up with a reference
 * (bcchip_dev_find), so a chip removed meanwhile only reports REMOVED.
 * The operations run in parallel (parallel_ops): a status query waits for
 * the firmware, bounded, and must not hold up other families behind the
 * global genetlink mutex.
 */

#include <linux/capability.h>
#include <linux/kernel.h>
#include <linux/pci.h>
#include <net/genetlink.h>
#include <net/netlink.h>

#include "bcchip.h"

enum bcchip_nl_mcgrp {
	BCCHIP_NL_MCGRP_EVENTS_IDX,
};

static const struct genl_multicast_group bcchip_nl_mcgrps[] = {
	[BCCHIP_NL_MCGRP_EVENTS_IDX] = { .name = BCCHIP_GENL_MCGRP_EVENTS },
};

static const struct nla_policy bcchip_nl_policy[BCCHIP_NL_A_MAX + 1] = {
	[BCCHIP_NL_A_DEVICE] = NLA_POLICY_MAX(NLA_U32, BCCHIP_MAX_MINORS - 1),
};

static struct genl_family bcchip_nl_family;

/* A space-padded firmware text field, without the padding. */
static int bcchip_nl_put_text(struct sk_buff *skb, int attr, const u8 *text,
			      size_t len)
{
	char buf[BCFW_LABEL_LEN + 1];

	len = min(len, sizeof(buf) - 1);
	while (len && text[len - 1] == ' ')
		len--;
	memcpy(buf, text, len);
	buf[len] = '\0';
	return nla_put_string(skb, attr, buf);
}

static int bcchip_nl_put_ident(struct sk_buff *skb, u32 minor)
{
	char name[16];

	snprintf(name, sizeof(name), BCCHIP_DRV_NAME "%u", minor);
	if (nla_put_u32(skb, BCCHIP_NL_A_DEVICE, minor) ||
	    nla_put_string(skb, BCCHIP_NL_A_NAME, name))
		return -EMSGSIZE;
	return 0;
}

static int bcchip_nl_put_status(struct sk_buff *skb, struct bcchip_dev *bd,
				u32 minor, const struct bcchip_status *st)
{
	if (bcchip_nl_put_ident(skb, minor) ||
	    nla_put_string(skb, BCCHIP_NL_A_PCI_ADDR, pci_name(bd->pdev)) ||
	    bcchip_nl_put_text(skb, BCCHIP_NL_A_SERIAL, bd->serial,
			       sizeof(bd->serial)) ||
	    bcchip_nl_put_text(skb, BCCHIP_NL_A_LABEL,
			       st->info_err ? bd->label : st->label,
			       sizeof(bd->label)) ||
	    bcchip_nl_put_text(skb, BCCHIP_NL_A_MODEL, bd->model,
			       sizeof(bd->model)) ||
	    nla_put_u32(skb, BCCHIP_NL_A_FW_VERSION,
			(u32)bd->fw_major << 8 | bd->fw_minor) ||
	    nla_put_u32(skb, BCCHIP_NL_A_HW_VERSION, bd->hw_version) ||
	    nla_put_u32(skb, BCCHIP_NL_A_STATE, st->state) ||
	    nla_put_u32(skb, BCCHIP_NL_A_HEALTH, st->health) ||
	    nla_put_u32(skb, BCCHIP_NL_A_GENERATION, st->generation) ||
	    nla_put_u32(skb, BCCHIP_NL_A_RESET_COUNT, st->reset_count) ||
	    nla_put_u32(skb, BCCHIP_NL_A_MAX_SESSIONS, bd->max_sessions))
		return -EMSGSIZE;
	if (!st->info_err &&
	    nla_put_u32(skb, BCCHIP_NL_A_SESSIONS_IN_USE, st->sessions_in_use))
		return -EMSGSIZE;
	if (st->attest_err)
		return 0;
	if (nla_put_u32(skb, BCCHIP_NL_A_HEALTH_FLAGS, st->health_flags) ||
	    nla_put_u64_64bit(skb, BCCHIP_NL_A_CHIP_TIME, st->chip_time,
			      BCCHIP_NL_A_PAD) ||
	    nla_put_u64_64bit(skb, BCCHIP_NL_A_ATTEST_NOT_BEFORE,
			      st->not_before, BCCHIP_NL_A_PAD) ||
	    nla_put_u64_64bit(skb, BCCHIP_NL_A_ATTEST_NOT_AFTER, st->not_after,
			      BCCHIP_NL_A_PAD) ||
	    nla_put_u64_64bit(skb, BCCHIP_NL_A_ATTEST_LAST_REFRESH,
			      st->last_refresh, BCCHIP_NL_A_PAD) ||
	    nla_put_u64_64bit(skb, BCCHIP_NL_A_ATTEST_NEXT_REFRESH,
			      st->next_refresh, BCCHIP_NL_A_PAD) ||
	    nla_put_u32(skb, BCCHIP_NL_A_ATTEST_PERIOD, st->period) ||
	    nla_put_u32(skb, BCCHIP_NL_A_ATTEST_GENERATION,
			st->attest_generation) ||
	    nla_put_u32(skb, BCCHIP_NL_A_ATTEST_FAILURES, st->failures))
		return -EMSGSIZE;
	return 0;
}

/*
 * One GET_STATUS message for @bd; asks the firmware first (sleeps).  @cb:
 * a dump's, which is told when the set of chips changed between parts.
 * Who may have a fresh answer is the requesting socket's business, not the
 * task's that happens to run the request (@req).
 */
static int bcchip_nl_status_msg(struct sk_buff *skb, struct bcchip_dev *bd,
				u32 minor, u32 portid, u32 seq, int flags,
				struct netlink_callback *cb,
				const struct sk_buff *req)
{
	struct bcchip_status st;
	void *hdr;
	int ret;

	ret = bcchip_status_query(bd, &st, BCCHIP_STATUS_INFO |
				  BCCHIP_STATUS_ATTEST |
				  (netlink_capable(req, CAP_SYS_ADMIN) ? 0 :
				   BCCHIP_STATUS_CACHED));
	if (ret)
		return ret;
	hdr = genlmsg_put(skb, portid, seq, &bcchip_nl_family, flags,
			  BCCHIP_NL_CMD_GET_STATUS);
	if (!hdr)
		return -EMSGSIZE;
	if (cb)
		genl_dump_check_consistent(cb, hdr);
	ret = bcchip_nl_put_status(skb, bd, minor, &st);
	if (ret) {
		genlmsg_cancel(skb, hdr);
		return ret;
	}
	genlmsg_end(skb, hdr);
	return 0;
}

/* The device the request names, with a reference. */
static struct bcchip_dev *bcchip_nl_device(struct genl_info *info, u32 *minor)
{
	struct nlattr *attr = info->attrs[BCCHIP_NL_A_DEVICE];
	unsigned long m;
	struct bcchip_dev *bd;

	if (!attr) {
		NL_SET_ERR_MSG(info->extack, "BCCHIP_NL_A_DEVICE is required");
		return ERR_PTR(-EINVAL);
	}
	m = nla_get_u32(attr);
	bd = bcchip_dev_find(&m, false);
	if (!bd) {
		NL_SET_ERR_MSG_ATTR(info->extack, attr, "no such device");
		return ERR_PTR(-ENODEV);
	}
	*minor = m;
	return bd;
}

static int bcchip_nl_reply_status(const struct sk_buff *req,
				  struct genl_info *info,
				  struct bcchip_dev *bd, u32 minor)
{
	struct sk_buff *msg;
	int ret;

	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	ret = bcchip_nl_status_msg(msg, bd, minor, info->snd_portid,
				   info->snd_seq, 0, NULL, req);
	if (ret) {
		nlmsg_free(msg);
		return ret;
	}
	return genlmsg_reply(msg, info);
}

static int bcchip_nl_get_status(struct sk_buff *skb, struct genl_info *info)
{
	struct bcchip_dev *bd;
	u32 minor;
	int ret;

	bd = bcchip_nl_device(info, &minor);
	if (IS_ERR(bd))
		return PTR_ERR(bd);
	ret = bcchip_nl_reply_status(skb, info, bd, minor);
	bcchip_dev_put(bd);
	return ret;
}

/* cb->args[0]: the minor to look at next. */
static int bcchip_nl_dump_status(struct sk_buff *skb,
				 struct netlink_callback *cb)
{
	unsigned long minor = cb->args[0];
	struct bcchip_dev *bd;
	int ret = 0;

	cb->seq = bcchip_devs_generation();
	while ((bd = bcchip_dev_find(&minor, true))) {
		ret = bcchip_nl_status_msg(skb, bd, minor,
					   NETLINK_CB(cb->skb).portid,
					   cb->nlh->nlmsg_seq, NLM_F_MULTI, cb,
					   cb->skb);
		bcchip_dev_put(bd);
		if (ret)
			break;
		minor++;
	}
	cb->args[0] = minor;
	/* what is in goes out; a device that failed comes first next time */
	if (skb->len)
		return skb->len;
	return ret;
}

/*
 * GENL_ADMIN_PERM makes genetlink check CAP_NET_ADMIN; the chip's admin
 * class (docs/ioctl.md) asks for CAP_SYS_ADMIN, so that is checked too.
 */
static int bcchip_nl_refresh(struct sk_buff *skb, struct genl_info *info)
{
	struct bcchip_dev *bd;
	u32 minor;
	int ret;

	if (!netlink_capable(skb, CAP_SYS_ADMIN))
		return -EPERM;
	bd = bcchip_nl_device(info, &minor);
	if (IS_ERR(bd))
		return PTR_ERR(bd);
	ret = bcchip_attest_refresh(bd);
	if (ret) {
		NL_SET_ERR_MSG(info->extack, "the chip did not refresh");
	} else if (bcchip_nl_reply_status(skb, info, bd, minor)) {
		/* the refresh is done all the same: say so, not an error */
		NL_SET_ERR_MSG(info->extack,
			       "refreshed, but the status could not be read");
	}
	bcchip_dev_put(bd);
	return ret;
}

static const struct genl_small_ops bcchip_nl_ops[] = {
	{
		.cmd = BCCHIP_NL_CMD_GET_STATUS,
		.doit = bcchip_nl_get_status,
		.dumpit = bcchip_nl_dump_status,
	},
	{
		.cmd = BCCHIP_NL_CMD_REFRESH,
		.flags = GENL_ADMIN_PERM,
		.doit = bcchip_nl_refresh,
	},
};

static struct genl_family bcchip_nl_family __ro_after_init = {
	.name = BCCHIP_GENL_NAME,
	.version = BCCHIP_GENL_VERSION,
	.maxattr = BCCHIP_NL_A_MAX,
	.policy = bcchip_nl_policy,
	.parallel_ops = true,
	.module = THIS_MODULE,
	.small_ops = bcchip_nl_ops,
	.n_small_ops = ARRAY_SIZE(bcchip_nl_ops),
	.mcgrps = bcchip_nl_mcgrps,
	.n_mcgrps = ARRAY_SIZE(bcchip_nl_mcgrps),
};

/*
 * To the "events" group; process context, under the event queue's
 * send_lock, so that SEQ follows the order of the messages.
 */
void bcchip_netlink_event(struct bcchip_dev *bd, const struct bcchip_event *ev)
{
	int minor = READ_ONCE(bd->minor);
	struct sk_buff *skb;
	u32 seq;
	void *hdr;

	lockdep_assert_held(&bd->evq.send_lock);
	/* numbered whether anyone listens or not: gaps mean lost messages */
	seq = bd->evq.seq + 1;
	WRITE_ONCE(bd->evq.seq, seq);
	if (minor < 0 || !genl_has_listeners(&bcchip_nl_family, &init_net,
					     BCCHIP_NL_MCGRP_EVENTS_IDX))
		return;
	skb = genlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!skb)
		return;
	hdr = genlmsg_put(skb, 0, 0, &bcchip_nl_family, 0, BCCHIP_NL_CMD_EVENT);
	if (!hdr)
		goto fail;
	if (bcchip_nl_put_ident(skb, minor) ||
	    nla_put_u32(skb, BCCHIP_NL_A_EVENT_TYPE, ev->type) ||
	    nla_put_u32(skb, BCCHIP_NL_A_EVENT_SEQ, seq) ||
	    nla_put_u64_64bit(skb, BCCHIP_NL_A_EVENT_TIME, ev->time,
			      BCCHIP_NL_A_PAD) ||
	    nla_put_u64_64bit(skb, BCCHIP_NL_A_EVENT_ARG0, ev->arg0,
			      BCCHIP_NL_A_PAD) ||
	    nla_put_u64_64bit(skb, BCCHIP_NL_A_EVENT_ARG1, ev->arg1,
			      BCCHIP_NL_A_PAD))
		goto fail;
	genlmsg_end(skb, hdr);
	genlmsg_multicast(&bcchip_nl_family, skb, 0,
			  BCCHIP_NL_MCGRP_EVENTS_IDX, GFP_KERNEL);
	return;
fail:
	nlmsg_free(skb);
}

int bcchip_netlink_init(void)
{
	return genl_register_family(&bcchip_nl_family);
}

void bcchip_netlink_exit(void)
{
	genl_unregister_family(&bcchip_nl_family);
}
