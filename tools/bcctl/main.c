// SPDX-License-Identifier: GPL-2.0
/*
 * bcctl: the operator's view of Bastionchip devices.  docs/bcctl.md.
 *
 * Device information and attestation travel as frames through
 * libbcchip.a (the same transports the PKCS#11 module uses); the
 * driver's status and events come over its generic netlink family; key
 * and token work goes through the PKCS#11 module, so that it sees what
 * applications see.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bcctl.h"

const char *const bcctl_prog = "bcctl";

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s [--help] [--version] COMMAND [ARGS]\n"
		"\n"
		"Commands:\n"
		"  list                      one line per device\n"
		"  info [DEVICE]             details of one device\n"
		"  status [DEVICE]           health and attestation status\n"
		"  attestation show|verify|refresh [DEVICE]\n"
		"                            the chip's certificate chain\n"
		"  key attest LABEL          print and verify a key's attestation\n"
		"  key export-ref LABEL      PEM key reference for OpenSSL\n"
		"  monitor [DEVICE]          print chip events as they come\n"
		"  check [DEVICE]            health check for monitoring systems\n"
		"  bench                     load harness through PKCS#11\n"
		"  token init|pin [DEVICE]   first set-up: token and PINs\n"
		"\n"
		"`%s COMMAND --help` describes a command.\n"
		"DEVICE is N, bcchipN, /dev/bcchipN or unix:/path/to/socket.\n"
		"Devices: $BCCHIP_DEVICE (comma separated), else every\n"
		"/dev/bcchipN.\n"
		"Exit status: 0 success, 1 error, 2 usage (check: 0 healthy,\n"
		"1 expiring soon, 2 unhealthy).\n",
		bcctl_prog, bcctl_prog);
}

void bcctl_err(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", bcctl_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

const char *bcctl_errno_text(int err)
{
	switch (err) {
	case -ENOENT:
		return "no such device";
	case -ENODEV:
		return "device not available";
	case -EBADMSG:
		return "malformed answer from the device";
	case -EREMOTEIO:
		return "the chip refused the command";
	case -EPROTONOSUPPORT:
		return "the driver has no bcchip netlink family";
	default:
		return strerror(-err);
	}
}

bool bcctl_is_unix(const char *device)
{
	return !strncmp(device, "unix:", 5);
}

int bcctl_dev_index(const char *device)
{
	const char *p = strrchr(device, '/');
	char *end;
	long n;

	if (bcctl_is_unix(device) || !p || strncmp(p, "/bcchip", 7))
		return -1;
	errno = 0;
	n = strtol(p + 7, &end, 10);
	if (errno || end == p + 7 || *end || n < 0 || n > 65535)
		return -1;
	return (int)n;
}

int bcctl_pick_device(const char *arg, char *out, size_t cap)
{
	char **devs;
	int n;

	if (arg) {
		if (bc_device_normalize(arg, out, cap)) {
			bcctl_err("%s: not a device name", arg);
			return EXIT_USAGE;
		}
		return EXIT_OK;
	}
	n = bc_devices_discover(&devs);
	if (n <= 0) {
		if (n < 0)
			bcctl_err("finding devices: %s", bcctl_errno_text(n));
		else
			bcctl_err("no Bastionchip devices");
		return EXIT_ERR;
	}
	snprintf(out, cap, "%s", devs[0]);
	bc_devices_free(devs, n);
	return EXIT_OK;
}

void bcctl_fmt_time(uint64_t t, char *out, size_t cap)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!t || !gmtime_r(&tt, &tm) ||
	    !strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, cap, "-");
}

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} commands[] = {
	{ "list", cmd_list },
	{ "info", cmd_info },
	{ "status", cmd_status },
	{ "attestation", cmd_attestation },
	{ "key", cmd_key },
	{ "monitor", cmd_monitor },
	{ "check", cmd_check },
	{ "bench", cmd_bench },
	{ "token", cmd_token },
};

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	/* Options only before the command. */
	while ((c = getopt_long(argc, argv, "+hV", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'V':
			printf("bcctl %s\n", BCCTL_VERSION);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	argc -= optind;
	argv += optind;
	/* Each command parses its own options from the start. */
	optind = 0;
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[0], commands[i].name))
			return commands[i].fn(argc, argv);
	if (!strcmp(argv[0], "help")) {
		usage(stdout);
		return EXIT_OK;
	}
	bcctl_err("unknown command '%s'", argv[0]);
	usage(stderr);
	return EXIT_USAGE;
}
