// SPDX-License-Identifier: GPL-2.0
/*
 * bcctl check: one line and an exit status for monitoring systems
 * (Nagios plugin conventions: 0 OK, 1 WARNING, 2 CRITICAL).
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "bcctl.h"

enum { CHECK_OK = 0, CHECK_WARN = 1, CHECK_CRIT = 2 };

static const char check_help[] =
	"Usage: bcctl check [--days N] [--ca FILE] [--max-skew SECONDS]\n"
	"                   [--chip-time] [DEVICE]\n"
	"Health check of DEVICE, or of every device, for monitoring\n"
	"systems.  Prints one line: OK, WARNING or CRITICAL and the reason\n"
	"(the worst device's).\n"
	"  --days N      warn when the attestation certificate expires\n"
	"                within N days (default 14)\n"
	"  --ca FILE     CA certificate (default $BCCHIP_CA, else\n"
	"                /etc/bcchip/ca.pem)\n"
	"  --max-skew S  critical when the chip clock is more than S\n"
	"                seconds off this host's (default 86400)\n"
	"  --chip-time   judge validity by the chip's clock, not this\n"
	"                host's, and ignore the skew (test clocks)\n"
	"Exit status: 0 healthy; 1 the certificate expires within N days,\n"
	"the last refresh failed or the chip reports itself degraded; 2 the\n"
	"chip is unhealthy, cannot be reached, its clock is off, or its\n"
	"chain does not verify (also: usage errors).\n";

struct check_opts {
	const char *ca;
	long days, max_skew;
	bool chip_time;
};

struct verdict {
	int level;
	char line[600];
};

static void worse(struct verdict *v, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void worse(struct verdict *v, int level, const char *fmt, ...)
{
	va_list ap;

	if (level <= v->level && v->line[0])
		return;
	v->level = level;
	va_start(ap, fmt);
	vsnprintf(v->line, sizeof(v->line), fmt, ap);
	va_end(ap);
}

static int check_one(const char *device, const struct check_opts *o,
		     struct verdict *v, long *left_days)
{
	struct bcctl_verified vf;
	struct bcctl_status st;
	struct bcctl_chain c;
	char why[512], flags[128], until[40];
	int64_t left, skew;
	time_t now = time(NULL), at;
	int ret;

	ret = bcctl_status_get(device, &st);
	if (ret) {
		worse(v, CHECK_CRIT, "%s: cannot get status: %s", device,
		      bcctl_errno_text(ret));
		return CHECK_CRIT;
	}
	bcctl_health_flags_str(st.health_flags, flags, sizeof(flags));
	if (st.state != BCCHIP_STATE_LIVE ||
	    st.health == BCCHIP_HEALTH_FAILED ||
	    (st.health_flags & (BCFW_HEALTH_EXPIRED |
				BCFW_HEALTH_NO_IDENTITY))) {
		worse(v, CHECK_CRIT, "%s: chip %s, health %s (%s)", st.name,
		      bcctl_state_name(st.state),
		      bcctl_health_name(st.health), flags);
		return CHECK_CRIT;
	}
	if (!(st.have & BCCTL_HAVE_ATTEST)) {
		worse(v, CHECK_CRIT, "%s: no attestation status", st.name);
		return CHECK_CRIT;
	}
	/* A chip whose clock is wrong dates its certificates wrongly and
	 * may look healthy by its own clock. */
	skew = (int64_t)st.chip_time - (int64_t)now;
	if (!o->chip_time && (skew > o->max_skew || -skew > o->max_skew)) {
		worse(v, CHECK_CRIT, "%s: chip clock is %lld s off this "
		      "host's (more than %ld)", st.name, (long long)skew,
		      o->max_skew);
		return CHECK_CRIT;
	}
	ret = bcctl_chain_fetch(device, &c, NULL);
	if (ret) {
		worse(v, CHECK_CRIT, "%s: cannot fetch the attestation "
		      "chain: %s", st.name, bcctl_errno_text(ret));
		return CHECK_CRIT;
	}
	at = o->chip_time ? (time_t)st.chip_time : now;
	ret = bcctl_chain_verify(&c, o->ca, at, &vf, why, sizeof(why));
	bcctl_chain_free(&c);
	if (!ret && strcmp(vf.serial, st.serial)) {
		snprintf(why, sizeof(why), "certificates of chip %s on a "
			 "device that says it is %s", vf.serial, st.serial);
		ret = 1;
	}
	if (ret) {
		worse(v, CHECK_CRIT, "%s: attestation chain does not verify: "
		      "%s", st.name, why);
		return CHECK_CRIT;
	}
	/* The verified certificate's date, not the chip's word for it. */
	left = (int64_t)vf.not_after - (int64_t)at;
	*left_days = (long)(left / 86400);
	bcctl_fmt_time((uint64_t)vf.not_after, until, sizeof(until));
	if (left < (int64_t)o->days * 86400) {
		worse(v, CHECK_WARN, "%s: attestation certificate expires in "
		      "%ld days (%s)%s", st.name, *left_days, until,
		      st.failures ? ", refresh failing" : "");
		return CHECK_WARN;
	}
	if (st.health_flags & BCFW_HEALTH_REFRESH_FAILED) {
		worse(v, CHECK_WARN, "%s: last attestation refresh failed "
		      "(%u in a row), certificate valid until %s", st.name,
		      st.failures, until);
		return CHECK_WARN;
	}
	if (st.health != BCCHIP_HEALTH_OK) {
		worse(v, CHECK_WARN, "%s: chip reports health %s (%s)",
		      st.name, bcctl_health_name(st.health), flags);
		return CHECK_WARN;
	}
	return CHECK_OK;
}

int cmd_check(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "days", required_argument, NULL, 'd' },
		{ "ca", required_argument, NULL, 'c' },
		{ "max-skew", required_argument, NULL, 'S' },
		{ "chip-time", no_argument, NULL, 'T' },
		{ NULL, 0, NULL, 0 },
	};
	struct verdict v = { CHECK_OK, "" };
	struct check_opts o = { NULL, 14, 86400, false };
	const char *ca = NULL;
	long days = 14, min_left = -1;
	char **devs = NULL;
	int c, n, worst = CHECK_OK;
	char *end;

	while ((c = getopt_long(argc, argv, "hd:c:S:T", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			fputs(check_help, stdout);
			return EXIT_OK;
		case 'd':
			days = strtol(optarg, &end, 10);
			if (end == optarg || *end || days < 0 || days > 36500) {
				bcctl_err("--days: not a number of days: %s",
					  optarg);
				return EXIT_USAGE;
			}
			break;
		case 'c':
			ca = optarg;
			break;
		case 'S':
			if (bcctl_parse_skew(optarg, &o.max_skew)) {
				bcctl_err("--max-skew: not a number of "
					  "seconds: %s", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'T':
			o.chip_time = true;
			break;
		default:
			fputs(check_help, stderr);
			return EXIT_USAGE;
		}
	}
	if (argc - optind > 1) {
		bcctl_err("check takes at most one DEVICE");
		return EXIT_USAGE;
	}
	o.ca = bcctl_ca_path(ca);
	o.days = days;
	if (optind < argc) {
		char device[256];

		if (bc_device_normalize(argv[optind], device, sizeof(device))) {
			bcctl_err("%s: not a device name", argv[optind]);
			return EXIT_USAGE;
		}
		devs = malloc(sizeof(*devs));
		if (!devs || !(devs[0] = strdup(device))) {
			free(devs);
			printf("CRITICAL: out of memory\n");
			return CHECK_CRIT;
		}
		n = 1;
	} else {
		n = bc_devices_discover(&devs);
		if (n <= 0) {
			printf("CRITICAL: no Bastionchip devices%s%s\n",
			       n < 0 ? ": " : "",
			       n < 0 ? bcctl_errno_text(n) : "");
			return CHECK_CRIT;
		}
	}
	for (int i = 0; i < n; i++) {
		long left = -1;
		int r = check_one(devs[i], &o, &v, &left);

		if (r > worst)
			worst = r;
		if (left >= 0 && (min_left < 0 || left < min_left))
			min_left = left;
	}
	bc_devices_free(devs, n);
	if (worst == CHECK_OK)
		printf("OK: %d chip%s healthy, attestation chain verified, "
		       "valid for at least %ld more days\n", n,
		       n == 1 ? "" : "s", min_left);
	else
		printf("%s: %s\n", worst == CHECK_WARN ? "WARNING" : "CRITICAL",
		       v.line);
	return worst;
}
