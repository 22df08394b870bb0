// SPDX-License-Identifier: GPL-2.0
/*
 * The generic netlink family "bcchip" (docs/netlink.md), spoken over raw
 * netlink sockets: the family and its "events" group resolve through the
 * controller, a status dump covers both chips and agrees with sysfs, a
 * sysfs reset shows up as a RESET event, an administrator's REFRESH bumps
 * the attestation generation and brings a REFRESH_DONE event from the
 * chip's event queue (also when the event queue shares a vector, module
 * reloaded with max_vectors=2), and REFRESH is refused without privilege.
 * Needs root, both chips, no other user of the module, and modprobe; the
 * reset and refresh act on $BCCHIP_TEST_CHIP (default 1).
 */
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "bcchip_chip_util.h"

BT_CLOSING_LINE()

#define NL_BUF		32768
#define STR_MAX		64

/* One message's attributes: numbers and strings by type. */
struct msg {
	uint8_t cmd;
	bool have[BCCHIP_NL_A_MAX + 1];
	uint64_t num[BCCHIP_NL_A_MAX + 1];
	char str[BCCHIP_NL_A_MAX + 1][STR_MAX];
};

struct nl {
	int fd;
	uint16_t family;
	uint32_t events_group;
	uint32_t seq;
};

static bool is_string_attr(int type)
{
	return type == BCCHIP_NL_A_NAME || type == BCCHIP_NL_A_PCI_ADDR ||
	       type == BCCHIP_NL_A_SERIAL || type == BCCHIP_NL_A_LABEL ||
	       type == BCCHIP_NL_A_MODEL;
}

static void put_attr(struct nlmsghdr *n, uint16_t type, const void *data,
		     uint16_t len)
{
	struct nlattr *a = (struct nlattr *)((char *)n +
					     NLMSG_ALIGN(n->nlmsg_len));

	a->nla_type = type;
	a->nla_len = NLA_HDRLEN + len;
	memcpy((char *)a + NLA_HDRLEN, data, len);
	n->nlmsg_len = NLMSG_ALIGN(n->nlmsg_len) + NLA_ALIGN(a->nla_len);
}

static int nl_send(struct nl *nl, uint16_t type, uint16_t flags, uint8_t cmd,
		   int attr, const void *data, uint16_t len)
{
	union {
		struct nlmsghdr n;
		char buf[512];
	} req;
	struct genlmsghdr *g;

	memset(&req, 0, sizeof(req));
	req.n.nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN);
	req.n.nlmsg_type = type;
	req.n.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	req.n.nlmsg_seq = ++nl->seq;
	g = NLMSG_DATA(&req.n);
	g->cmd = cmd;
	g->version = 1;
	if (attr)
		put_attr(&req.n, attr, data, len);
	if (send(nl->fd, &req, req.n.nlmsg_len, 0) != (ssize_t)req.n.nlmsg_len)
		return -errno;
	return 0;
}

static void parse_bcchip(const struct nlmsghdr *n, struct msg *m)
{
	const struct genlmsghdr *g = NLMSG_DATA(n);
	const struct nlattr *a = (const void *)((const char *)g + GENL_HDRLEN);
	int left = n->nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN);

	memset(m, 0, sizeof(*m));
	m->cmd = g->cmd;
	while (left >= NLA_HDRLEN && a->nla_len >= NLA_HDRLEN &&
	       a->nla_len <= left) {
		int type = a->nla_type & NLA_TYPE_MASK;
		int len = a->nla_len - NLA_HDRLEN;
		const char *p = (const char *)a + NLA_HDRLEN;

		if (type > 0 && type <= BCCHIP_NL_A_MAX) {
			m->have[type] = true;
			if (is_string_attr(type))
				snprintf(m->str[type], STR_MAX, "%.*s", len, p);
			else if (len == 4)
				m->num[type] = *(const uint32_t *)p;
			else if (len == 8)
				memcpy(&m->num[type], p, 8);
		}
		left -= NLA_ALIGN(a->nla_len);
		a = (const void *)((const char *)a + NLA_ALIGN(a->nla_len));
	}
}

/*
 * Receives the answer to the last request: up to @max messages into @out
 * (dumps), until the ACK or DONE.  Returns how many, or -errno from the
 * kernel's error message.
 */
static int nl_recv(struct nl *nl, struct msg *out, int max)
{
	static char buf[NL_BUF];
	int count = 0;

	for (;;) {
		ssize_t len = recv(nl->fd, buf, sizeof(buf), 0);
		struct nlmsghdr *n;

		if (len < 0)
			return -errno;
		for (n = (struct nlmsghdr *)buf; NLMSG_OK(n, len);
		     n = NLMSG_NEXT(n, len)) {
			if (n->nlmsg_seq != nl->seq)
				continue;	/* an event, or something old */
			if (n->nlmsg_type == NLMSG_DONE)
				return count;
			if (n->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr *e = NLMSG_DATA(n);

				return e->error ? e->error : count;
			}
			if (count < max)
				parse_bcchip(n, &out[count]);
			count++;
		}
	}
}

/* CTRL_CMD_GETFAMILY "bcchip": the family id and the events group. */
static int nl_resolve(struct nl *nl)
{
	static char buf[NL_BUF];
	struct nlmsghdr *n;
	ssize_t len;
	int ret;

	ret = nl_send(nl, GENL_ID_CTRL, 0, CTRL_CMD_GETFAMILY,
		      CTRL_ATTR_FAMILY_NAME, BCCHIP_GENL_NAME,
		      sizeof(BCCHIP_GENL_NAME));
	if (ret)
		return ret;
	len = recv(nl->fd, buf, sizeof(buf), 0);
	if (len < 0)
		return -errno;
	for (n = (struct nlmsghdr *)buf; NLMSG_OK(n, len);
	     n = NLMSG_NEXT(n, len)) {
		struct nlattr *a;
		int left;

		if (n->nlmsg_type == NLMSG_ERROR)
			return ((struct nlmsgerr *)NLMSG_DATA(n))->error;
		if (n->nlmsg_type != GENL_ID_CTRL)
			continue;
		a = (void *)((char *)NLMSG_DATA(n) + GENL_HDRLEN);
		left = n->nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN);
		while (left >= NLA_HDRLEN && a->nla_len >= NLA_HDRLEN &&
		       a->nla_len <= left) {
			if (a->nla_type == CTRL_ATTR_FAMILY_ID)
				nl->family = *(uint16_t *)((char *)a + NLA_HDRLEN);
			if (a->nla_type == CTRL_ATTR_MCAST_GROUPS) {
				struct nlattr *grp = (void *)((char *)a + NLA_HDRLEN);
				int gl = a->nla_len - NLA_HDRLEN;

				/* each group: nested NAME and ID */
				while (gl >= NLA_HDRLEN && grp->nla_len >= NLA_HDRLEN &&
				       grp->nla_len <= gl) {
					struct nlattr *f = (void *)((char *)grp + NLA_HDRLEN);
					int fl = grp->nla_len - NLA_HDRLEN;
					uint32_t id = 0;
					bool events = false;

					while (fl >= NLA_HDRLEN && f->nla_len >= NLA_HDRLEN &&
					       f->nla_len <= fl) {
						char *p = (char *)f + NLA_HDRLEN;

						if (f->nla_type == CTRL_ATTR_MCAST_GRP_ID)
							id = *(uint32_t *)p;
						if (f->nla_type == CTRL_ATTR_MCAST_GRP_NAME &&
						    !strcmp(p, BCCHIP_GENL_MCGRP_EVENTS))
							events = true;
						fl -= NLA_ALIGN(f->nla_len);
						f = (void *)((char *)f + NLA_ALIGN(f->nla_len));
					}
					if (events)
						nl->events_group = id;
					gl -= NLA_ALIGN(grp->nla_len);
					grp = (void *)((char *)grp + NLA_ALIGN(grp->nla_len));
				}
			}
			left -= NLA_ALIGN(a->nla_len);
			a = (void *)((char *)a + NLA_ALIGN(a->nla_len));
		}
	}
	return nl->family ? 0 : -ENOENT;
}

static int nl_open(struct nl *nl)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	struct timeval tv = { .tv_sec = 30 };

	memset(nl, 0, sizeof(*nl));
	nl->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	if (nl->fd < 0)
		return -errno;
	if (bind(nl->fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    setsockopt(nl->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv))) {
		int err = -errno;

		close(nl->fd);
		return err;
	}
	return nl_resolve(nl);
}

static int nl_join_events(struct nl *nl)
{
	if (!nl->events_group)
		return -ENOENT;
	if (setsockopt(nl->fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP,
		       &nl->events_group, sizeof(nl->events_group)))
		return -errno;
	return 0;
}

static int status_one(struct nl *nl, uint8_t cmd, uint32_t dev, struct msg *m)
{
	int ret = nl_send(nl, nl->family, 0, cmd, BCCHIP_NL_A_DEVICE, &dev,
			  sizeof(dev));

	if (ret)
		return ret;
	ret = nl_recv(nl, m, 1);
	if (ret < 0)
		return ret;
	return ret == 1 ? 0 : -EBADMSG;
}

/*
 * Waits up to @secs for an event of @type (0: any) from chip @dev (the
 * others are skipped); 0 and the event in @m, or -ETIMEDOUT.
 */
static int wait_event(struct nl *nl, uint32_t dev, uint32_t type, double secs,
		      struct msg *m)
{
	static char buf[NL_BUF];
	double end = bt_now() + secs;

	while (bt_now() < end) {
		struct pollfd p = { .fd = nl->fd, .events = POLLIN };
		struct nlmsghdr *n;
		ssize_t len;

		if (poll(&p, 1, (int)((end - bt_now()) * 1000) + 1) <= 0)
			continue;
		len = recv(nl->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (len < 0)
			continue;
		for (n = (struct nlmsghdr *)buf; NLMSG_OK(n, len);
		     n = NLMSG_NEXT(n, len)) {
			if (n->nlmsg_type != nl->family)
				continue;
			parse_bcchip(n, m);
			if (m->cmd == BCCHIP_NL_CMD_EVENT &&
			    m->num[BCCHIP_NL_A_DEVICE] == dev &&
			    (!type || m->num[BCCHIP_NL_A_EVENT_TYPE] == type))
				return 0;
		}
	}
	return -ETIMEDOUT;
}

static bool have_attestation(const struct msg *m)
{
	return m->have[BCCHIP_NL_A_ATTEST_GENERATION];
}

FIXTURE(nl) {
	struct nl nl;
	int chip;
};

FIXTURE_SETUP(nl)
{
	ASSERT_EQ(0, nl_open(&self->nl));
	self->chip = bt_chip();
}

FIXTURE_TEARDOWN(nl)
{
	close(self->nl.fd);
}

TEST_F(nl, family_and_group)
{
	EXPECT_NE(0, self->nl.family);
	EXPECT_NE(0, self->nl.events_group);
}

TEST_F_TIMEOUT(nl, dump_both_chips, 60)
{
	struct msg m[8];
	int i, n, seen = 0;

	ASSERT_EQ(0, nl_send(&self->nl, self->nl.family, NLM_F_DUMP,
			     BCCHIP_NL_CMD_GET_STATUS, 0, NULL, 0));
	n = nl_recv(&self->nl, m, 8);
	ASSERT_GE(n, 2) TH_LOG("dump: %d", n);
	for (i = 0; i < n && i < 8; i++) {
		unsigned int chip = m[i].num[BCCHIP_NL_A_DEVICE];
		char name[32], addr[64], serial[64], gen[32];
		size_t k;

		ASSERT_TRUE(m[i].have[BCCHIP_NL_A_DEVICE]);
		EXPECT_EQ(BCCHIP_NL_CMD_GET_STATUS, m[i].cmd);
		if (chip > 1)
			continue;
		seen |= 1 << chip;
		snprintf(name, sizeof(name), "bcchip%u", chip);
		EXPECT_STREQ(name, m[i].str[BCCHIP_NL_A_NAME]);
		ASSERT_EQ(0, bt_chip_pci(chip, addr, sizeof(addr)));
		EXPECT_STREQ(addr, m[i].str[BCCHIP_NL_A_PCI_ADDR]);
		ASSERT_EQ(0, bt_attr_str(chip, "serial", serial, sizeof(serial)));
		/* sysfs keeps the padding, netlink does not */
		for (k = strlen(serial); k > 0 && serial[k - 1] == ' '; k--)
			serial[k - 1] = 0;
		EXPECT_STREQ(serial, m[i].str[BCCHIP_NL_A_SERIAL]);
		EXPECT_NE(0, strlen(m[i].str[BCCHIP_NL_A_MODEL]));
		EXPECT_EQ(BCCHIP_STATE_LIVE, m[i].num[BCCHIP_NL_A_STATE]);
		EXPECT_EQ(bt_attr_num(chip, "generation"),
			  (long)m[i].num[BCCHIP_NL_A_GENERATION]);
		EXPECT_EQ(bt_attr_num(chip, "reset_count"),
			  (long)m[i].num[BCCHIP_NL_A_RESET_COUNT]);
		EXPECT_EQ(bt_attr_num(chip, "session_limit"),
			  (long)m[i].num[BCCHIP_NL_A_MAX_SESSIONS]);
		EXPECT_TRUE(m[i].have[BCCHIP_NL_A_SESSIONS_IN_USE]);
		EXPECT_LE(m[i].num[BCCHIP_NL_A_SESSIONS_IN_USE],
			  m[i].num[BCCHIP_NL_A_MAX_SESSIONS]);
		EXPECT_EQ(1, m[i].num[BCCHIP_NL_A_HW_VERSION] >> 16);
		EXPECT_TRUE(m[i].have[BCCHIP_NL_A_HEALTH]);
		if (!have_attestation(&m[i]))
			continue;
		EXPECT_LT(m[i].num[BCCHIP_NL_A_ATTEST_NOT_BEFORE],
			  m[i].num[BCCHIP_NL_A_ATTEST_NOT_AFTER]);
		EXPECT_GE(m[i].num[BCCHIP_NL_A_CHIP_TIME],
			  m[i].num[BCCHIP_NL_A_ATTEST_NOT_BEFORE]);
		EXPECT_GT(m[i].num[BCCHIP_NL_A_ATTEST_NEXT_REFRESH],
			  m[i].num[BCCHIP_NL_A_ATTEST_LAST_REFRESH]);
		EXPECT_GT(m[i].num[BCCHIP_NL_A_ATTEST_PERIOD], 0);
		EXPECT_GE(m[i].num[BCCHIP_NL_A_ATTEST_GENERATION], 1);
		ASSERT_EQ(0, bt_attr_str(chip, "attest_generation", gen,
					 sizeof(gen)));
		EXPECT_EQ(strtoul(gen, NULL, 10),
			  m[i].num[BCCHIP_NL_A_ATTEST_GENERATION]);
		EXPECT_EQ(bt_attr_num(chip, "attest_not_after"),
			  (long)m[i].num[BCCHIP_NL_A_ATTEST_NOT_AFTER]);
		/* a fresh chip: attestation valid, nothing failed */
		EXPECT_EQ(0, m[i].num[BCCHIP_NL_A_HEALTH_FLAGS] &
			     (BCFW_HEALTH_EXPIRED | BCFW_HEALTH_NO_IDENTITY));
		EXPECT_NE(BCCHIP_HEALTH_FAILED, m[i].num[BCCHIP_NL_A_HEALTH]);
	}
	EXPECT_EQ(3, seen);
}

TEST_F(nl, status_one_and_bad_requests)
{
	struct msg m;
	char health[32];

	ASSERT_EQ(0, status_one(&self->nl, BCCHIP_NL_CMD_GET_STATUS, 0, &m));
	EXPECT_EQ(0, m.num[BCCHIP_NL_A_DEVICE]);
	EXPECT_STREQ("bcchip0", m.str[BCCHIP_NL_A_NAME]);
	ASSERT_EQ(0, bt_attr_str(0, "health", health, sizeof(health)));
	EXPECT_STREQ(m.num[BCCHIP_NL_A_HEALTH] == BCCHIP_HEALTH_OK ? "ok" :
		     m.num[BCCHIP_NL_A_HEALTH] == BCCHIP_HEALTH_DEGRADED ?
		     "degraded" : "failed", health);
	if (have_attestation(&m)) {
		EXPECT_EQ((long)m.num[BCCHIP_NL_A_ATTEST_PERIOD],
			  bt_attr_num(0, "attest_period"));
		EXPECT_EQ((long)m.num[BCCHIP_NL_A_ATTEST_FAILURES],
			  bt_attr_num(0, "attest_failures"));
		EXPECT_LE((long)m.num[BCCHIP_NL_A_CHIP_TIME],
			  bt_attr_num(0, "chip_time"));
	}
	EXPECT_EQ(-ENODEV, status_one(&self->nl, BCCHIP_NL_CMD_GET_STATUS,
				      200, &m));
	/* beyond the last minor: the policy says so */
	EXPECT_EQ(-ERANGE, status_one(&self->nl, BCCHIP_NL_CMD_GET_STATUS,
				      256, &m));
	ASSERT_EQ(0, nl_send(&self->nl, self->nl.family, 0,
			     BCCHIP_NL_CMD_GET_STATUS, 0, NULL, 0));
	EXPECT_EQ(-EINVAL, nl_recv(&self->nl, &m, 1));
}

TEST_F_TIMEOUT(nl, reset_event, 60)
{
	struct msg ev;
	long gen;
	int fd;

	ASSERT_EQ(0, nl_join_events(&self->nl));
	ASSERT_EQ(0, bt_attr_write(self->chip, "reset", "1"));
	gen = bt_attr_num(self->chip, "generation");
	ASSERT_EQ(0, wait_event(&self->nl, self->chip, BCCHIP_EVENT_RESET, 10,
				&ev));
	EXPECT_EQ(gen, (long)ev.num[BCCHIP_NL_A_EVENT_ARG0]);
	EXPECT_GE(ev.num[BCCHIP_NL_A_EVENT_SEQ], 1);
	EXPECT_GT(ev.num[BCCHIP_NL_A_EVENT_TIME], 1600000000);
	fd = bt_wait_open(bt_chip_dev(self->chip), 10);
	ASSERT_GE(fd, 0);
	EXPECT_EQ(0, bt_wait_echo(fd, 10));
	close(fd);
}

TEST_F_TIMEOUT(nl, refresh, 60)
{
	struct msg before, after, ev;
	struct nl events;
	uint64_t gen;

	ASSERT_EQ(0, status_one(&self->nl, BCCHIP_NL_CMD_GET_STATUS,
				self->chip, &before));
	if (!have_attestation(&before))
		SKIP(return, "the firmware has no attestation");
	gen = before.num[BCCHIP_NL_A_ATTEST_GENERATION];
	/* apart from the request's socket, whose reader skips events */
	ASSERT_EQ(0, nl_open(&events));
	ASSERT_EQ(0, nl_join_events(&events));
	ASSERT_EQ(0, status_one(&self->nl, BCCHIP_NL_CMD_REFRESH, self->chip,
				&after));
	EXPECT_EQ(gen + 1, after.num[BCCHIP_NL_A_ATTEST_GENERATION]);
	EXPECT_GE(after.num[BCCHIP_NL_A_ATTEST_LAST_REFRESH],
		  before.num[BCCHIP_NL_A_ATTEST_LAST_REFRESH]);
	/* the chip's own word, through its event queue and vector */
	ASSERT_EQ(0, wait_event(&events, self->chip,
				BCCHIP_EVENT_REFRESH_DONE, 10, &ev));
	close(events.fd);
	EXPECT_EQ(gen + 1, ev.num[BCCHIP_NL_A_EVENT_ARG0]);
	EXPECT_EQ(after.num[BCCHIP_NL_A_ATTEST_NOT_AFTER],
		  ev.num[BCCHIP_NL_A_EVENT_ARG1]);
	EXPECT_EQ((long)(gen + 1), bt_attr_num(self->chip, "attest_generation"));
}

/* The VM harness forgives driver warnings between these lines. */
/*
 * TEST_CLOCK on chip @chip (admin class: root, file open for writing);
 * the firmware's status, or 1000 + errno.  DENIED unless the emulator
 * runs with --test-clock.
 */
static uint32_t test_clock(int chip, uint32_t flags, uint64_t time,
			   uint32_t fail, struct bcfw_attest_status *out)
{
	struct bcfw_test_clock_req body = {
		.flags = flags, .scale = 1, .time = time, .fail_refresh = fail,
	};
	uint8_t req[128], resp[256];
	struct bcchip_ioc_cmd cmd;
	uint32_t len = bt_frame(req, BCFW_OP_TEST_CLOCK, 0, &body, sizeof(body));
	int fd = open(bt_chip_dev(chip), O_RDWR | O_CLOEXEC);
	int ret;

	if (fd < 0)
		return 1000 + errno;
	ret = bt_cmd(fd, req, len, resp, sizeof(resp), &cmd);
	close(fd);
	if (ret)
		return 1000 - ret;
	if (out && cmd.fw_status == BCFW_S_OK &&
	    cmd.resp_len >= BCFW_HDR_SIZE + sizeof(*out))
		memcpy(out, resp + BCFW_HDR_SIZE, sizeof(*out));
	return cmd.fw_status;
}

/*
 * Refreshes made to fail and the clock moved to 13 days before the end
 * of the certificate: REFRESH fails (EIO), the chip says REFRESH_FAILED
 * and NEAR_EXPIRY, health is DEGRADED in netlink and sysfs; once
 * refreshes work again, a REFRESH makes it OK.  Needs the emulator's
 * --test-clock (skipped otherwise).
 */
TEST_F_TIMEOUT(nl, refresh_failure_and_near_expiry, 60)
{
	struct bcfw_attest_status st;
	struct msg m, ev;
	struct nl events;
	char health[32];
	uint64_t now;

	if (test_clock(self->chip, 0, 0, 0, &st) != BCFW_S_OK)
		SKIP(return, "no TEST_CLOCK (emulator without --test-clock)");
	now = st.now;
	ASSERT_EQ(0, nl_open(&events));
	ASSERT_EQ(0, nl_join_events(&events));
	/* the driver logs the chip's bad news as warnings */
	bt_kmsg("@@BCCHIP-EXPECT-BEGIN refresh failures, near expiry\n");
	ASSERT_EQ(BCFW_S_OK, test_clock(self->chip, BCFW_CLOCK_SET_FAIL, 0, 1,
					NULL));
	EXPECT_EQ(-EIO, status_one(&self->nl, BCCHIP_NL_CMD_REFRESH,
				   self->chip, &m));
	ASSERT_EQ(0, wait_event(&events, self->chip,
				BCCHIP_EVENT_REFRESH_FAILED, 10, &ev));
	EXPECT_GE(ev.num[BCCHIP_NL_A_EVENT_ARG0], 1);
	ASSERT_EQ(BCFW_S_OK, test_clock(self->chip, BCFW_CLOCK_SET_TIME,
					st.not_after - 13 * 86400, 0, NULL));
	ASSERT_EQ(0, wait_event(&events, self->chip, BCCHIP_EVENT_NEAR_EXPIRY,
				10, &ev));
	EXPECT_EQ(st.not_after, ev.num[BCCHIP_NL_A_EVENT_ARG0]);
	ASSERT_EQ(0, status_one(&self->nl, BCCHIP_NL_CMD_GET_STATUS,
				self->chip, &m));
	EXPECT_EQ(BCCHIP_HEALTH_DEGRADED, m.num[BCCHIP_NL_A_HEALTH]);
	EXPECT_TRUE(m.num[BCCHIP_NL_A_HEALTH_FLAGS] &
		    BCFW_HEALTH_REFRESH_FAILED);
	EXPECT_TRUE(m.num[BCCHIP_NL_A_HEALTH_FLAGS] & BCFW_HEALTH_NEAR_EXPIRY);
	EXPECT_GE(m.num[BCCHIP_NL_A_ATTEST_FAILURES], 1);
	ASSERT_EQ(0, bt_attr_str(self->chip, "health", health, sizeof(health)));
	EXPECT_STREQ("degraded", health);

	/* back to the time it was, refreshes working */
	ASSERT_EQ(BCFW_S_OK, test_clock(self->chip,
					BCFW_CLOCK_SET_TIME | BCFW_CLOCK_SET_FAIL,
					now, 0, NULL));
	ASSERT_EQ(0, status_one(&self->nl, BCCHIP_NL_CMD_REFRESH, self->chip,
				&m));
	EXPECT_EQ(BCCHIP_HEALTH_OK, m.num[BCCHIP_NL_A_HEALTH]);
	EXPECT_EQ(0, m.num[BCCHIP_NL_A_HEALTH_FLAGS]);
	EXPECT_EQ(0, m.num[BCCHIP_NL_A_ATTEST_FAILURES]);
	ASSERT_EQ(0, wait_event(&events, self->chip,
				BCCHIP_EVENT_REFRESH_DONE, 10, &ev));
	bt_kmsg("@@BCCHIP-EXPECT-END\n");
	close(events.fd);
}

/*
 * A refresh made to fail falls due while no driver is bound: the chip
 * keeps the event, and the driver delivers it once bound again, as the
 * first event of the new binding (SEQ 1), then the next ones in turn.
 * Needs the emulator's --test-clock.
 */
TEST_F_TIMEOUT(nl, events_while_unbound, 90)
{
	struct bcfw_attest_status st;
	struct msg m, ev;
	struct nl events;
	uint64_t seq = 0;
	char addr[64];
	int fd;

	if (test_clock(self->chip, 0, 0, 0, &st) != BCFW_S_OK)
		SKIP(return, "no TEST_CLOCK (emulator without --test-clock)");
	ASSERT_EQ(0, bt_chip_pci(self->chip, addr, sizeof(addr)));
	bt_kmsg("@@BCCHIP-EXPECT-BEGIN refresh failure while unbound\n");
	ASSERT_EQ(BCFW_S_OK, test_clock(self->chip,
					BCFW_CLOCK_SET_TIME | BCFW_CLOCK_SET_FAIL,
					st.next_refresh - 5, 1, NULL));
	ASSERT_EQ(0, bt_write_file("/sys/bus/pci/drivers/bcchip/unbind", addr));
	sleep(8);
	ASSERT_EQ(0, nl_open(&events));
	ASSERT_EQ(0, nl_join_events(&events));
	ASSERT_EQ(0, bt_write_file("/sys/bus/pci/drivers/bcchip/bind", addr));
	fd = bt_wait_open(bt_chip_dev(self->chip), 10);
	ASSERT_GE(fd, 0);
	close(fd);
	/* every event of this binding, in SEQ order, up to the failure */
	do {
		ASSERT_EQ(0, wait_event(&events, self->chip, 0, 10, &ev));
		EXPECT_EQ(seq + 1, ev.num[BCCHIP_NL_A_EVENT_SEQ]);
		seq = ev.num[BCCHIP_NL_A_EVENT_SEQ];
	} while (ev.num[BCCHIP_NL_A_EVENT_TYPE] != BCCHIP_EVENT_REFRESH_FAILED);
	EXPECT_GE(ev.num[BCCHIP_NL_A_EVENT_TIME], st.next_refresh);

	/* back to the time it was, refreshes working */
	ASSERT_EQ(BCFW_S_OK, test_clock(self->chip,
					BCFW_CLOCK_SET_TIME | BCFW_CLOCK_SET_FAIL,
					st.now, 0, NULL));
	ASSERT_EQ(0, status_one(&self->nl, BCCHIP_NL_CMD_REFRESH, self->chip,
				&m));
	EXPECT_EQ(BCCHIP_HEALTH_OK, m.num[BCCHIP_NL_A_HEALTH]);
	do {
		ASSERT_EQ(0, wait_event(&events, self->chip, 0, 10, &ev));
		EXPECT_EQ(seq + 1, ev.num[BCCHIP_NL_A_EVENT_SEQ]);
		seq = ev.num[BCCHIP_NL_A_EVENT_SEQ];
	} while (ev.num[BCCHIP_NL_A_EVENT_TYPE] != BCCHIP_EVENT_REFRESH_DONE);
	bt_kmsg("@@BCCHIP-EXPECT-END\n");
	close(events.fd);
}

static int reload(const char *params)
{
	char cmd[128];
	int chip, fd;

	if (system("rmmod bcchip"))
		return -1;
	snprintf(cmd, sizeof(cmd), "modprobe bcchip %s", params);
	if (system(cmd))
		return -1;
	for (chip = 0; chip < 2; chip++) {
		fd = bt_wait_open(bt_chip_dev(chip), 10);
		if (fd < 0)
			return -1;
		close(fd);
	}
	return 0;
}

/*
 * Two vectors granted: the event queue shares vector (6 - 1) mod 2 = 1
 * with I/O queue 1, and its events still arrive.  The family is
 * registered anew with the module: resolve it again.
 */
TEST_F_TIMEOUT(nl, refresh_event_on_shared_vector, 120)
{
	struct msg st, ev;
	struct nl events;
	int ret;

	close(self->nl.fd);
	ASSERT_EQ(0, reload("max_vectors=2"));
	ASSERT_EQ(0, nl_open(&self->nl));
	EXPECT_EQ(2, bt_attr_num(self->chip, "vector_count"));
	ASSERT_EQ(0, nl_open(&events));
	ASSERT_EQ(0, nl_join_events(&events));
	ret = status_one(&self->nl, BCCHIP_NL_CMD_REFRESH, self->chip, &st);
	if (ret == -EOPNOTSUPP || ret == -EIO) {
		close(events.fd);
		ASSERT_EQ(0, reload(""));
		SKIP(return, "the firmware cannot refresh: %d", ret);
	}
	EXPECT_EQ(0, ret);
	EXPECT_EQ(0, wait_event(&events, self->chip, BCCHIP_EVENT_REFRESH_DONE,
				10, &ev));
	EXPECT_EQ(st.num[BCCHIP_NL_A_ATTEST_GENERATION],
		  ev.num[BCCHIP_NL_A_EVENT_ARG0]);
	close(events.fd);
	close(self->nl.fd);
	ASSERT_EQ(0, reload(""));
	ASSERT_EQ(0, nl_open(&self->nl));
	EXPECT_EQ(6, bt_attr_num(self->chip, "vector_count"));
}

/* Privileges dropped in a child: status is anyone's, REFRESH is not. */
TEST_F_TIMEOUT(nl, refresh_needs_privilege, 60)
{
	int status;
	pid_t pid;

	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		struct nl nl;
		struct msg m;

		if (setgid(65534) || setuid(65534))
			_exit(10);
		if (nl_open(&nl))
			_exit(11);
		if (status_one(&nl, BCCHIP_NL_CMD_GET_STATUS, 0, &m))
			_exit(12);
		_exit(status_one(&nl, BCCHIP_NL_CMD_REFRESH, 0, &m) == -EPERM ?
		      0 : 13);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

TEST_HARNESS_MAIN
