// SPDX-License-Identifier: GPL-2.0
/*
 * bcctl monitor: chip events, one line each (or JSON lines), from the
 * driver's "events" multicast group; for emulator sockets (unix:) from
 * the emulator itself, subscribed with the SUBSCRIBE envelope
 * (docs/emulator.md), so that host tests see what the driver would.
 */
#include <endian.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "bcctl.h"
#include "emu_envelope.h"

#define MAX_SOCKS 16

struct mon {
	bool json;
	long count;		/* events still wanted; -1: no limit */
	int filter;		/* kernel device index, or -1 for all */
	bool only_unix;		/* a unix: DEVICE was named */
};

static void print_event(const struct bcctl_event *ev, void *arg)
{
	struct mon *m = arg;
	char t[40], a1[40];

	if (m->count == 0)
		return;
	if (ev->index >= 0 && m->filter >= 0 && ev->index != m->filter)
		return;
	if (ev->index >= 0 && m->only_unix)
		return;
	bcctl_fmt_time(ev->time, t, sizeof(t));
	if (m->json) {
		struct json j;

		json_init(&j, stdout);
		json_obj_begin(&j, NULL);
		json_str(&j, "device", ev->name);
		json_str(&j, "event", bcctl_event_name(ev->type));
		json_u64(&j, "type", ev->type);
		json_u64(&j, "seq", ev->seq);
		json_time(&j, "time", ev->time);
		json_u64(&j, "arg0", ev->arg0);
		json_u64(&j, "arg1", ev->arg1);
		json_obj_end(&j);
	} else {
		printf("%s %s %s", t, ev->name, bcctl_event_name(ev->type));
		switch (ev->type) {
		case BCCHIP_EVENT_REFRESH_DONE:
			bcctl_fmt_time(ev->arg1, a1, sizeof(a1));
			printf(" generation=%llu not_after=%s",
			       (unsigned long long)ev->arg0, a1);
			break;
		case BCCHIP_EVENT_REFRESH_FAILED:
			bcctl_fmt_time(ev->arg1, a1, sizeof(a1));
			printf(" failures=%llu not_after=%s",
			       (unsigned long long)ev->arg0, a1);
			break;
		case BCCHIP_EVENT_NEAR_EXPIRY:
			bcctl_fmt_time(ev->arg0, a1, sizeof(a1));
			printf(" not_after=%s seconds_left=%llu", a1,
			       (unsigned long long)ev->arg1);
			break;
		case BCCHIP_EVENT_RESET:
			printf(" generation=%llu",
			       (unsigned long long)ev->arg0);
			break;
		case BCCHIP_EVENT_FATAL:
			printf(" reason=0x%llx", (unsigned long long)ev->arg0);
			break;
		case BCCHIP_EVENT_LOST:
			printf(" dropped=%llu", (unsigned long long)ev->arg0);
			break;
		default:
			printf(" type=%u arg0=%llu arg1=%llu", ev->type,
			       (unsigned long long)ev->arg0,
			       (unsigned long long)ev->arg1);
		}
		printf(" seq=%u\n", ev->seq);
		fflush(stdout);
	}
	if (m->count > 0)
		m->count--;
}

/* The driver's group overran this reader: events are gone, how many is
 * not known.  Said, as the chip's own LOST event would be. */
static void print_overrun(const struct mon *m)
{
	struct timespec now;
	char t[40];

	clock_gettime(CLOCK_REALTIME, &now);
	bcctl_fmt_time((uint64_t)now.tv_sec, t, sizeof(t));
	if (m->json) {
		struct json j;

		json_init(&j, stdout);
		json_obj_begin(&j, NULL);
		json_str(&j, "device", "netlink");
		json_str(&j, "event", "lost");
		json_u64(&j, "type", BCCHIP_EVENT_LOST);
		json_time(&j, "time", (uint64_t)now.tv_sec);
		json_null(&j, "arg0");
		json_obj_end(&j);
	} else {
		printf("%s netlink lost dropped=unknown\n", t);
		fflush(stdout);
	}
}

static int unix_subscribe(const char *device)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct bcem_envelope e = {
		.magic = htole32(BCEM_MAGIC),
		.type = htole16(BCEM_SUBSCRIBE),
	};
	const char *path = device + 5;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    send(fd, &e, sizeof(e), MSG_NOSIGNAL) != (ssize_t)sizeof(e)) {
		int err = errno;

		close(fd);
		return err == ENOENT || err == ECONNREFUSED ? -ENOENT : -err;
	}
	return fd;
}

static int read_full(int fd, void *buf, size_t len)
{
	size_t n = 0;

	while (n < len) {
		ssize_t r = read(fd, (char *)buf + n, len - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -ENODEV;
		n += (size_t)r;
	}
	return 0;
}

/* One envelope from an emulator; events are printed, others skipped. */
static int unix_read(int fd, const char *device, struct mon *m)
{
	struct bcem_envelope e;
	struct bcem_event pe;
	struct bcctl_event ev;
	uint32_t len;
	int ret = read_full(fd, &e, sizeof(e));

	if (ret)
		return ret;
	len = le32toh(e.length);
	if (le32toh(e.magic) != BCEM_MAGIC || len > BCEM_MAX_PAYLOAD)
		return -EBADMSG;
	if (le16toh(e.type) != BCEM_EVENT || len != sizeof(pe)) {
		char sink[256];

		while (len) {
			uint32_t k = len < sizeof(sink) ? len : sizeof(sink);

			ret = read_full(fd, sink, k);
			if (ret)
				return ret;
			len -= k;
		}
		return 0;
	}
	ret = read_full(fd, &pe, sizeof(pe));
	if (ret)
		return ret;
	memset(&ev, 0, sizeof(ev));
	snprintf(ev.name, sizeof(ev.name), "%s", device);
	ev.index = -1;
	ev.type = le16toh(pe.type);
	ev.seq = le32toh(pe.seq);
	ev.time = le64toh(pe.time);
	ev.arg0 = le64toh(pe.arg0);
	ev.arg1 = le64toh(pe.arg1);
	print_event(&ev, m);
	return 0;
}

static const char monitor_help[] =
	"Usage: bcctl monitor [--json] [--count N] [--timeout S] [DEVICE]\n"
	"Prints chip events as they come, one line each: time (chip clock),\n"
	"device, event (refresh-done, refresh-failed, near-expiry, reset,\n"
	"fatal, lost) and its arguments.  --json: one JSON object per line.\n"
	"Kernel devices through the driver's netlink events group; emulator\n"
	"sockets (unix:) by subscribing to the emulator.\n"
	"  --count N    exit after N events\n"
	"  --timeout S  exit after S seconds\n"
	"Exit status: 0 (N events seen, or stopped by --timeout when no\n"
	"--count was given), 1 error or --count not reached in time,\n"
	"2 usage.\n";

int cmd_monitor(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "json", no_argument, NULL, 'j' },
		{ "count", required_argument, NULL, 'n' },
		{ "timeout", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	struct mon m = { false, -1, -1, false };
	struct pollfd pfd[MAX_SOCKS + 1];
	char *unix_dev[MAX_SOCKS];
	struct bcctl_nl *nl = NULL;
	int c, nfd = 0, ret = EXIT_OK, ndev;
	double timeout = -1;
	char **devs = NULL;
	struct timespec t0;
	char *end;

	while ((c = getopt_long(argc, argv, "hjn:t:", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			fputs(monitor_help, stdout);
			return EXIT_OK;
		case 'j':
			m.json = true;
			break;
		case 'n':
			m.count = strtol(optarg, &end, 10);
			if (end == optarg || *end || m.count < 1) {
				bcctl_err("--count: not a positive number");
				return EXIT_USAGE;
			}
			break;
		case 't':
			timeout = strtod(optarg, &end);
			if (end == optarg || *end || timeout <= 0) {
				bcctl_err("--timeout: not a positive number");
				return EXIT_USAGE;
			}
			break;
		default:
			fputs(monitor_help, stderr);
			return EXIT_USAGE;
		}
	}
	if (argc - optind > 1) {
		bcctl_err("monitor takes at most one DEVICE");
		return EXIT_USAGE;
	}
	if (optind < argc) {
		char device[256];

		if (bc_device_normalize(argv[optind], device, sizeof(device))) {
			bcctl_err("%s: not a device name", argv[optind]);
			return EXIT_USAGE;
		}
		devs = malloc(sizeof(*devs));
		if (!devs || !(devs[0] = strdup(device))) {
			free(devs);
			bcctl_err("out of memory");
			return EXIT_ERR;
		}
		ndev = 1;
		m.filter = bcctl_dev_index(device);
		m.only_unix = bcctl_is_unix(device);
	} else {
		ndev = bc_devices_discover(&devs);
		if (ndev < 0)
			ndev = 0;
	}
	/* Emulator sockets, one connection each. */
	for (int i = 0; i < ndev; i++) {
		int fd;

		if (!bcctl_is_unix(devs[i]))
			continue;
		if (nfd == MAX_SOCKS) {
			bcctl_err("%s: not watched: at most %d emulator "
				  "sockets", devs[i], MAX_SOCKS);
			continue;
		}
		fd = unix_subscribe(devs[i]);
		if (fd < 0) {
			bcctl_err("%s: %s", devs[i], bcctl_errno_text(fd));
			ret = EXIT_ERR;
			goto out;
		}
		unix_dev[nfd] = devs[i];
		pfd[nfd].fd = fd;
		pfd[nfd].events = POLLIN;
		nfd++;
	}
	/* The driver's group, unless only emulator sockets were named. */
	if (!m.only_unix && (nfd == 0 || nfd < ndev)) {
		int r = bcctl_nl_open(&nl);

		if (!r)
			r = bcctl_nl_subscribe(nl);
		if (r) {
			bcctl_err("netlink events: %s", bcctl_errno_text(r));
			ret = EXIT_ERR;
			goto out;
		}
		pfd[nfd].fd = bcctl_nl_fd(nl);
		pfd[nfd].events = POLLIN;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (m.count != 0) {
		int wait_ms = -1, n = nfd + (nl ? 1 : 0);

		if (timeout > 0) {
			struct timespec t;
			double el;

			clock_gettime(CLOCK_MONOTONIC, &t);
			el = (double)(t.tv_sec - t0.tv_sec) +
			     (double)(t.tv_nsec - t0.tv_nsec) / 1e9;
			if (el >= timeout) {
				ret = m.count > 0 ? EXIT_ERR : EXIT_OK;
				break;
			}
			wait_ms = (int)((timeout - el) * 1000) + 1;
		}
		if (poll(pfd, (nfds_t)n, wait_ms) < 0) {
			if (errno == EINTR)
				continue;
			bcctl_err("poll: %s", strerror(errno));
			ret = EXIT_ERR;
			break;
		}
		for (int i = 0; i < nfd && m.count != 0; i++) {
			int r;

			if (!pfd[i].revents)
				continue;
			r = unix_read(pfd[i].fd, unix_dev[i], &m);
			if (r) {
				bcctl_err("%s: %s", unix_dev[i],
					  r == -ENODEV ? "emulator went away" :
					  bcctl_errno_text(r));
				ret = EXIT_ERR;
				goto out;
			}
		}
		if (nl && pfd[nfd].revents && m.count != 0) {
			int r = bcctl_nl_read_events(nl, print_event, &m);

			if (r == -ENOBUFS) {
				print_overrun(&m);
				continue;
			}
			if (r) {
				bcctl_err("netlink: %s", bcctl_errno_text(r));
				ret = EXIT_ERR;
				break;
			}
		}
	}
out:
	for (int i = 0; i < nfd; i++)
		close(pfd[i].fd);
	bcctl_nl_close(nl);
	bc_devices_free(devs, ndev);
	return ret;
}
