// SPDX-License-Identifier: GPL-2.0
/*
 * The driver's generic netlink family "bcchip" (docs/netlink.md), with
 * libnl-genl-3: status queries, refresh requests, and the "events"
 * multicast group.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>

#include "bcctl.h"

struct bcctl_nl {
	struct nl_sock *sk;
	int family;
};

static const struct nla_policy policy[BCCHIP_NL_A_MAX + 1] = {
	[BCCHIP_NL_A_DEVICE] = { .type = NLA_U32 },
	[BCCHIP_NL_A_NAME] = { .type = NLA_STRING },
	[BCCHIP_NL_A_PCI_ADDR] = { .type = NLA_STRING },
	[BCCHIP_NL_A_SERIAL] = { .type = NLA_STRING },
	[BCCHIP_NL_A_LABEL] = { .type = NLA_STRING },
	[BCCHIP_NL_A_MODEL] = { .type = NLA_STRING },
	[BCCHIP_NL_A_FW_VERSION] = { .type = NLA_U32 },
	[BCCHIP_NL_A_HW_VERSION] = { .type = NLA_U32 },
	[BCCHIP_NL_A_STATE] = { .type = NLA_U32 },
	[BCCHIP_NL_A_HEALTH] = { .type = NLA_U32 },
	[BCCHIP_NL_A_HEALTH_FLAGS] = { .type = NLA_U32 },
	[BCCHIP_NL_A_GENERATION] = { .type = NLA_U32 },
	[BCCHIP_NL_A_RESET_COUNT] = { .type = NLA_U32 },
	[BCCHIP_NL_A_SESSIONS_IN_USE] = { .type = NLA_U32 },
	[BCCHIP_NL_A_MAX_SESSIONS] = { .type = NLA_U32 },
	[BCCHIP_NL_A_CHIP_TIME] = { .type = NLA_U64 },
	[BCCHIP_NL_A_ATTEST_NOT_BEFORE] = { .type = NLA_U64 },
	[BCCHIP_NL_A_ATTEST_NOT_AFTER] = { .type = NLA_U64 },
	[BCCHIP_NL_A_ATTEST_LAST_REFRESH] = { .type = NLA_U64 },
	[BCCHIP_NL_A_ATTEST_NEXT_REFRESH] = { .type = NLA_U64 },
	[BCCHIP_NL_A_ATTEST_PERIOD] = { .type = NLA_U32 },
	[BCCHIP_NL_A_ATTEST_GENERATION] = { .type = NLA_U32 },
	[BCCHIP_NL_A_ATTEST_FAILURES] = { .type = NLA_U32 },
	[BCCHIP_NL_A_EVENT_TYPE] = { .type = NLA_U32 },
	[BCCHIP_NL_A_EVENT_SEQ] = { .type = NLA_U32 },
	[BCCHIP_NL_A_EVENT_TIME] = { .type = NLA_U64 },
	[BCCHIP_NL_A_EVENT_ARG0] = { .type = NLA_U64 },
	[BCCHIP_NL_A_EVENT_ARG1] = { .type = NLA_U64 },
};

/* libnl's negative NLE_* codes to errnos for our callers. */
static int nle_errno(int err)
{
	switch (-err) {
	case NLE_NOMEM:
		return -ENOMEM;
	case NLE_PERM:
		return -EPERM;
	case NLE_NODEV:
		return -ENODEV;
	case NLE_OBJ_NOTFOUND:
		return -ENOENT;
	case NLE_OPNOTSUPP:
		return -EOPNOTSUPP;
	case NLE_AGAIN:
		return -EAGAIN;
	case NLE_INVAL:
		return -EINVAL;
	case NLE_BUSY:
		return -EBUSY;
	default:
		return -EIO;
	}
}

int bcctl_nl_open(struct bcctl_nl **out)
{
	struct bcctl_nl *nl = calloc(1, sizeof(*nl));
	int ret;

	if (!nl)
		return -ENOMEM;
	nl->sk = nl_socket_alloc();
	if (!nl->sk) {
		free(nl);
		return -ENOMEM;
	}
	ret = genl_connect(nl->sk);
	if (ret < 0)
		goto fail;
	nl->family = genl_ctrl_resolve(nl->sk, BCCHIP_GENL_NAME);
	if (nl->family < 0) {
		ret = -NLE_OBJ_NOTFOUND;
		goto fail;
	}
	*out = nl;
	return 0;
fail:
	nl_socket_free(nl->sk);
	free(nl);
	return ret == -NLE_OBJ_NOTFOUND ? -EPROTONOSUPPORT : nle_errno(ret);
}

void bcctl_nl_close(struct bcctl_nl *nl)
{
	if (!nl)
		return;
	nl_socket_free(nl->sk);
	free(nl);
}

static uint32_t get_u32(struct nlattr **tb, int a)
{
	return tb[a] ? nla_get_u32(tb[a]) : 0;
}

static uint64_t get_u64(struct nlattr **tb, int a)
{
	return tb[a] ? nla_get_u64(tb[a]) : 0;
}

static void get_str(struct nlattr **tb, int a, char *out, size_t cap)
{
	out[0] = 0;
	if (tb[a])
		snprintf(out, cap, "%s", nla_get_string(tb[a]));
	bcctl_clean_str(out);
}

static void parse_status(struct nlattr **tb, struct bcctl_status *st)
{
	memset(st, 0, sizeof(*st));
	st->source = "netlink";
	st->index = tb[BCCHIP_NL_A_DEVICE] ?
		    (int)get_u32(tb, BCCHIP_NL_A_DEVICE) : -1;
	get_str(tb, BCCHIP_NL_A_NAME, st->name, sizeof(st->name));
	if (!st->name[0] && st->index >= 0)
		snprintf(st->name, sizeof(st->name), "bcchip%d", st->index);
	snprintf(st->device, sizeof(st->device), "/dev/%s", st->name);
	get_str(tb, BCCHIP_NL_A_PCI_ADDR, st->pci, sizeof(st->pci));
	if (st->pci[0])
		st->have |= BCCTL_HAVE_PCI;
	get_str(tb, BCCHIP_NL_A_SERIAL, st->serial, sizeof(st->serial));
	get_str(tb, BCCHIP_NL_A_LABEL, st->label, sizeof(st->label));
	get_str(tb, BCCHIP_NL_A_MODEL, st->model, sizeof(st->model));
	st->fw_version = get_u32(tb, BCCHIP_NL_A_FW_VERSION);
	st->hw_version = get_u32(tb, BCCHIP_NL_A_HW_VERSION);
	st->state = get_u32(tb, BCCHIP_NL_A_STATE);
	st->health = get_u32(tb, BCCHIP_NL_A_HEALTH);
	st->health_flags = get_u32(tb, BCCHIP_NL_A_HEALTH_FLAGS);
	st->generation = get_u32(tb, BCCHIP_NL_A_GENERATION);
	st->reset_count = get_u32(tb, BCCHIP_NL_A_RESET_COUNT);
	st->sessions_in_use = get_u32(tb, BCCHIP_NL_A_SESSIONS_IN_USE);
	st->max_sessions = get_u32(tb, BCCHIP_NL_A_MAX_SESSIONS);
	st->have |= BCCTL_HAVE_DRIVER;
	if (tb[BCCHIP_NL_A_ATTEST_NOT_AFTER]) {
		st->have |= BCCTL_HAVE_ATTEST;
		st->chip_time = get_u64(tb, BCCHIP_NL_A_CHIP_TIME);
		st->not_before = get_u64(tb, BCCHIP_NL_A_ATTEST_NOT_BEFORE);
		st->not_after = get_u64(tb, BCCHIP_NL_A_ATTEST_NOT_AFTER);
		st->last_refresh = get_u64(tb,
					   BCCHIP_NL_A_ATTEST_LAST_REFRESH);
		st->next_refresh = get_u64(tb,
					   BCCHIP_NL_A_ATTEST_NEXT_REFRESH);
		st->period = get_u32(tb, BCCHIP_NL_A_ATTEST_PERIOD);
		st->attest_generation = get_u32(tb,
						BCCHIP_NL_A_ATTEST_GENERATION);
		st->failures = get_u32(tb, BCCHIP_NL_A_ATTEST_FAILURES);
	}
}

struct status_cb {
	void (*cb)(const struct bcctl_status *st, void *arg);
	void *arg;
	int err;
};

static int on_status(struct nl_msg *msg, void *arg)
{
	struct status_cb *s = arg;
	struct nlattr *tb[BCCHIP_NL_A_MAX + 1];
	struct bcctl_status st;
	int ret;

	ret = genlmsg_parse(nlmsg_hdr(msg), 0, tb, BCCHIP_NL_A_MAX, policy);
	if (ret < 0) {
		s->err = -EBADMSG;
		return NL_SKIP;
	}
	parse_status(tb, &st);
	s->cb(&st, s->arg);
	return NL_OK;
}

struct req_state {
	int done;
	int err;
};

static int on_finish(struct nl_msg *msg, void *arg)
{
	(void)msg;
	((struct req_state *)arg)->done = 1;
	return NL_STOP;
}

static int on_error(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	struct req_state *r = arg;

	(void)nla;
	r->err = e->error;
	r->done = 1;
	return NL_STOP;
}

/*
 * One request and everything it brings back: replies to @s, then the
 * ack (doit) or DONE (dump).  The driver's errno is returned as is.
 */
static int run_request(struct bcctl_nl *nl, uint8_t cmd, int index,
		       int flags, struct status_cb *s)
{
	struct req_state r = { 0, 0 };
	struct nl_msg *msg = nlmsg_alloc();
	struct nl_cb *cb;
	int ret;

	if (!msg)
		return -ENOMEM;
	cb = nl_cb_alloc(NL_CB_DEFAULT);
	if (!cb) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, nl->family, 0,
			 flags, cmd, BCCHIP_GENL_VERSION) ||
	    (index >= 0 &&
	     nla_put_u32(msg, BCCHIP_NL_A_DEVICE, (uint32_t)index) < 0)) {
		ret = -ENOMEM;
		goto out;
	}
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, on_status, s);
	nl_cb_set(cb, NL_CB_FINISH, NL_CB_CUSTOM, on_finish, &r);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, on_finish, &r);
	nl_cb_err(cb, NL_CB_CUSTOM, on_error, &r);
	ret = nl_send_auto(nl->sk, msg);
	if (ret < 0) {
		ret = nle_errno(ret);
		goto out;
	}
	ret = 0;
	while (!r.done) {
		int n = nl_recvmsgs(nl->sk, cb);

		if (n < 0 && !r.done) {
			ret = nle_errno(n);
			break;
		}
	}
	if (!ret)
		ret = r.err ? r.err : s->err;
out:
	nl_cb_put(cb);
	nlmsg_free(msg);
	return ret;
}

int bcctl_nl_status(struct bcctl_nl *nl, int index,
		    void (*cb)(const struct bcctl_status *st, void *arg),
		    void *arg)
{
	struct status_cb s = { cb, arg, 0 };

	return run_request(nl, BCCHIP_NL_CMD_GET_STATUS, index,
			   index < 0 ? NLM_F_DUMP : 0, &s);
}

static void copy_status(const struct bcctl_status *st, void *arg)
{
	*(struct bcctl_status *)arg = *st;
}

int bcctl_nl_refresh(struct bcctl_nl *nl, int index,
		     struct bcctl_status *st)
{
	struct status_cb s = { copy_status, st, 0 };

	return run_request(nl, BCCHIP_NL_CMD_REFRESH, index, 0, &s);
}

const char *bcctl_event_name(uint32_t type)
{
	switch (type) {
	case BCCHIP_EVENT_REFRESH_DONE:		return "refresh-done";
	case BCCHIP_EVENT_REFRESH_FAILED:	return "refresh-failed";
	case BCCHIP_EVENT_NEAR_EXPIRY:		return "near-expiry";
	case BCCHIP_EVENT_RESET:		return "reset";
	case BCCHIP_EVENT_FATAL:		return "fatal";
	case BCCHIP_EVENT_LOST:			return "lost";
	default:				return "unknown";
	}
}

int bcctl_nl_subscribe(struct bcctl_nl *nl)
{
	int grp = genl_ctrl_resolve_grp(nl->sk, BCCHIP_GENL_NAME,
					BCCHIP_GENL_MCGRP_EVENTS);
	int ret;

	if (grp < 0)
		return -EPROTONOSUPPORT;
	/* Events are not answers: no sequence numbers to match. */
	nl_socket_disable_seq_check(nl->sk);
	ret = nl_socket_add_membership(nl->sk, grp);
	if (ret < 0)
		return nle_errno(ret);
	ret = nl_socket_set_nonblocking(nl->sk);
	return ret < 0 ? nle_errno(ret) : 0;
}

int bcctl_nl_fd(struct bcctl_nl *nl)
{
	return nl_socket_get_fd(nl->sk);
}

struct event_cb {
	void (*cb)(const struct bcctl_event *ev, void *arg);
	void *arg;
};

static int on_event(struct nl_msg *msg, void *arg)
{
	struct nlattr *tb[BCCHIP_NL_A_MAX + 1];
	struct event_cb *e = arg;
	struct genlmsghdr *g = nlmsg_data(nlmsg_hdr(msg));
	struct bcctl_event ev;

	if (g->cmd != BCCHIP_NL_CMD_EVENT ||
	    genlmsg_parse(nlmsg_hdr(msg), 0, tb, BCCHIP_NL_A_MAX,
			  policy) < 0)
		return NL_SKIP;
	memset(&ev, 0, sizeof(ev));
	ev.index = tb[BCCHIP_NL_A_DEVICE] ?
		   (int)get_u32(tb, BCCHIP_NL_A_DEVICE) : -1;
	get_str(tb, BCCHIP_NL_A_NAME, ev.name, sizeof(ev.name));
	if (!ev.name[0])
		snprintf(ev.name, sizeof(ev.name), "bcchip%d", ev.index);
	ev.type = get_u32(tb, BCCHIP_NL_A_EVENT_TYPE);
	ev.seq = get_u32(tb, BCCHIP_NL_A_EVENT_SEQ);
	ev.time = get_u64(tb, BCCHIP_NL_A_EVENT_TIME);
	ev.arg0 = get_u64(tb, BCCHIP_NL_A_EVENT_ARG0);
	ev.arg1 = get_u64(tb, BCCHIP_NL_A_EVENT_ARG1);
	e->cb(&ev, e->arg);
	return NL_OK;
}

int bcctl_nl_read_events(struct bcctl_nl *nl,
			 void (*cb)(const struct bcctl_event *ev, void *arg),
			 void *arg)
{
	struct event_cb e = { cb, arg };
	int ret;

	ret = nl_socket_modify_cb(nl->sk, NL_CB_VALID, NL_CB_CUSTOM,
				  on_event, &e);
	if (ret < 0)
		return nle_errno(ret);
	ret = nl_recvmsgs_default(nl->sk);
	/* libnl reports the socket's ENOBUFS (the kernel dropped messages
	 * this reader was too slow for) as NLE_NOMEM. */
	if (ret == -NLE_NOMEM)
		return -ENOBUFS;
	if (ret < 0 && ret != -NLE_AGAIN)
		return nle_errno(ret);
	return 0;
}
