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
	"Usage: bcctl check [--days N] [--ca FILE] [DEVICE]\n"
	"Health check of DEVICE, or of every device, for monitoring\n"
	"systems.  Prints one line: OK, WARNING or CRITICAL and the reason\n"
	"(the worst device's).\n"
	"  --days N   warn when the attestation certificate expires within\n"
	"             N days (default 14), by the chip's clock\n"
	"  --ca FILE  CA certificate (default $BCCHIP_CA, else\n"
	"             /etc/bcchip/ca.pem)\n"
	"Exit status: 0 healthy; 1 the certificate expires within N days\n"
	"or the last refresh failed; 2 the chip is unhealthy, cannot be\n"
	"reached, or its chain does not verify (also: usage errors).\n";

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

static int check_one(const char *device, const char *ca, long days,
		     struct verdict *v, long *left_days)
{
	struct bcctl_status st;
	struct bcctl_chain c;
	char why[512], flags[128], until[40];
	int64_t left;
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
	ret = bcctl_chain_fetch(device, &c, NULL);
	if (ret) {
		worse(v, CHECK_CRIT, "%s: cannot fetch the attestation "
		      "chain: %s", st.name, bcctl_errno_text(ret));
		return CHECK_CRIT;
	}
	ret = bcctl_chain_verify(&c, ca, (time_t)st.chip_time, why,
				 sizeof(why));
	bcctl_chain_free(&c);
	if (ret) {
		worse(v, CHECK_CRIT, "%s: attestation chain does not verify: "
		      "%s", st.name, why);
		return CHECK_CRIT;
	}
	left = (int64_t)st.not_after - (int64_t)st.chip_time;
	*left_days = (long)(left / 86400);
	bcctl_fmt_time(st.not_after, until, sizeof(until));
	if (left < (int64_t)days * 86400) {
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
	return CHECK_OK;
}

int cmd_check(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "days", required_argument, NULL, 'd' },
		{ "ca", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	struct verdict v = { CHECK_OK, "" };
	const char *ca = NULL;
	long days = 14, min_left = -1;
	char **devs = NULL;
	int c, n, worst = CHECK_OK;
	char *end;

	while ((c = getopt_long(argc, argv, "hd:c:", opts, NULL)) != -1) {
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
		default:
			fputs(check_help, stderr);
			return EXIT_USAGE;
		}
	}
	if (argc - optind > 1) {
		bcctl_err("check takes at most one DEVICE");
		return EXIT_USAGE;
	}
	ca = bcctl_ca_path(ca);
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
		int r = check_one(devs[i], ca, days, &v, &left);

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
