// SPDX-License-Identifier: GPL-2.0
/*
 * bcctl status: health and attestation of each chip.  Kernel devices are
 * asked through the driver's netlink family (what it reports is what
 * monitoring sees); emulator sockets, and a driver without the family,
 * through the GET_INFO and ATTEST_STATUS frames.
 */
#include <endian.h>
#include <errno.h>
#include <getopt.h>
#include <string.h>

#include "bcctl.h"

const char *bcctl_state_name(uint32_t state)
{
	switch (state) {
	case BCCHIP_STATE_PROBING:	return "probing";
	case BCCHIP_STATE_LIVE:		return "live";
	case BCCHIP_STATE_RESETTING:	return "resetting";
	case BCCHIP_STATE_DEAD:		return "dead";
	case BCCHIP_STATE_REMOVED:	return "removed";
	default:			return "unknown";
	}
}

const char *bcctl_health_name(uint32_t health)
{
	switch (health) {
	case BCCHIP_HEALTH_OK:		return "ok";
	case BCCHIP_HEALTH_DEGRADED:	return "degraded";
	case BCCHIP_HEALTH_FAILED:	return "failed";
	default:			return "unknown";
	}
}

void bcctl_health_flags_str(uint32_t flags, char *out, size_t cap)
{
	static const struct {
		uint32_t bit;
		const char *name;
	} names[] = {
		{ BCFW_HEALTH_REFRESH_FAILED, "refresh-failed" },
		{ BCFW_HEALTH_NEAR_EXPIRY, "near-expiry" },
		{ BCFW_HEALTH_EXPIRED, "expired" },
		{ BCFW_HEALTH_NO_IDENTITY, "no-identity" },
	};
	size_t n = 0;

	out[0] = 0;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if ((flags & names[i].bit) && n < cap)
			n += (size_t)snprintf(out + n, cap - n, "%s%s",
					      n ? "," : "", names[i].name);
	if (!out[0])
		snprintf(out, cap, "none");
}

/* The driver's verdict rules, for status learnt without the driver. */
static uint32_t health_of(const struct bcctl_status *st)
{
	if (((st->have & BCCTL_HAVE_DRIVER) &&
	     st->state != BCCHIP_STATE_LIVE) ||
	    (st->health_flags & (BCFW_HEALTH_EXPIRED |
				 BCFW_HEALTH_NO_IDENTITY)))
		return BCCHIP_HEALTH_FAILED;
	if (st->health_flags & (BCFW_HEALTH_REFRESH_FAILED |
				BCFW_HEALTH_NEAR_EXPIRY))
		return BCCHIP_HEALTH_DEGRADED;
	return BCCHIP_HEALTH_OK;
}

int bcctl_attest_status_frames(struct bc_transport *t,
			       struct bcctl_status *st)
{
	struct bcfw_attest_status a;
	int ret;

	ret = bc_transport_call(t, BCFW_OP_ATTEST_STATUS, 0, NULL, 0, &a,
				sizeof(a), NULL, NULL, NULL);
	if (ret)
		return ret;
	st->chip_time = le64toh(a.now);
	st->not_before = le64toh(a.not_before);
	st->not_after = le64toh(a.not_after);
	st->last_refresh = le64toh(a.last_refresh);
	st->next_refresh = le64toh(a.next_refresh);
	st->period = le32toh(a.period);
	st->attest_generation = le32toh(a.generation);
	st->health_flags = le32toh(a.health);
	st->failures = le32toh(a.failures);
	st->have |= BCCTL_HAVE_ATTEST;
	return 0;
}

static int status_frames(const char *device, struct bcctl_status *st)
{
	struct bc_transport *t;
	struct bc_info bi;
	int ret;

	st->source = "frames";
	ret = bc_transport_open(device, &t);
	if (ret)
		return ret;
	memset(&bi, 0, sizeof(bi));
	ret = bc_transport_info(t, &bi);
	if (bi.kind == BC_TRANSPORT_DEV && bi.abi_version) {
		st->have |= BCCTL_HAVE_DRIVER;
		st->state = bi.state;
		st->generation = bi.generation;
		st->hw_version = bi.hw_version;
	} else if (!ret) {
		/* An emulator socket that answers is as live as it gets. */
		st->state = BCCHIP_STATE_LIVE;
	}
	if (!ret || (st->have & BCCTL_HAVE_DRIVER)) {
		bc_field_to_str(st->serial, bi.chip.serial, BCFW_SERIAL_LEN);
		bc_field_to_str(st->label, bi.chip.label, BCFW_LABEL_LEN);
		bc_field_to_str(st->model, bi.chip.model, BCFW_MODEL_LEN);
		bcctl_clean_str(st->serial);
		bcctl_clean_str(st->label);
		bcctl_clean_str(st->model);
		st->fw_version = (uint32_t)bi.chip.fw_major << 8 |
				 bi.chip.fw_minor;
		st->max_sessions = bi.chip.max_sessions;
	}
	if (!ret) {
		st->have |= BCCTL_HAVE_CHIP;
		st->sessions_in_use = bi.chip.sessions_in_use;
		ret = bcctl_attest_status_frames(t, st);
	}
	bc_transport_close(t);
	st->health = health_of(st);
	return ret;
}

struct one_status {
	struct bcctl_status *st;
	int found;
};

static void take_one(const struct bcctl_status *st, void *arg)
{
	struct one_status *o = arg;
	char device[256];

	snprintf(device, sizeof(device), "%s", o->st->device);
	*o->st = *st;
	snprintf(o->st->device, sizeof(o->st->device), "%s", device);
	o->found = 1;
}

int bcctl_status_get(const char *device, struct bcctl_status *st)
{
	int index = bcctl_dev_index(device);

	memset(st, 0, sizeof(*st));
	snprintf(st->device, sizeof(st->device), "%s", device);
	st->index = index;
	if (index >= 0) {
		struct one_status o = { st, 0 };
		struct bcctl_nl *nl;
		int ret = bcctl_nl_open(&nl);

		snprintf(st->name, sizeof(st->name), "bcchip%d", index);
		if (!ret) {
			ret = bcctl_nl_status(nl, index, take_one, &o);
			bcctl_nl_close(nl);
			if (!ret && o.found)
				return 0;
			if (ret && ret != -EPROTONOSUPPORT &&
			    ret != -EOPNOTSUPP)
				return ret;
		}
		memset(st, 0, sizeof(*st));
		snprintf(st->device, sizeof(st->device), "%s", device);
		snprintf(st->name, sizeof(st->name), "bcchip%d", index);
		st->index = index;
	} else {
		snprintf(st->name, sizeof(st->name), "%s", device);
	}
	return status_frames(device, st);
}

void bcctl_status_json(struct json *j, const struct bcctl_status *st)
{
	char s[128];

	json_obj_begin(j, NULL);
	json_str(j, "device", st->device);
	json_str(j, "name", st->name);
	json_str(j, "source", st->source);
	if (st->have & BCCTL_HAVE_PCI)
		json_str(j, "pci", st->pci);
	json_str(j, "serial", st->serial);
	json_str(j, "label", st->label);
	json_str(j, "model", st->model);
	snprintf(s, sizeof(s), "%u.%u", st->fw_version >> 8,
		 st->fw_version & 0xff);
	json_str(j, "firmware", s);
	json_str(j, "state", bcctl_state_name(st->state));
	json_str(j, "health", bcctl_health_name(st->health));
	json_arr_begin(j, "health_flags");
	bcctl_health_flags_str(st->health_flags, s, sizeof(s));
	if (st->health_flags)
		for (char *save, *p = strtok_r(s, ",", &save); p;
		     p = strtok_r(NULL, ",", &save))
			json_str(j, NULL, p);
	json_arr_end(j);
	if (st->have & BCCTL_HAVE_DRIVER) {
		json_u64(j, "generation", st->generation);
		json_u64(j, "reset_count", st->reset_count);
	}
	json_u64(j, "sessions_in_use", st->sessions_in_use);
	json_u64(j, "max_sessions", st->max_sessions);
	if (st->have & BCCTL_HAVE_ATTEST) {
		json_obj_begin(j, "attestation");
		json_time(j, "chip_time", st->chip_time);
		json_time(j, "not_before", st->not_before);
		json_time(j, "not_after", st->not_after);
		json_time(j, "last_refresh", st->last_refresh);
		json_time(j, "next_refresh", st->next_refresh);
		json_u64(j, "period", st->period);
		json_u64(j, "generation", st->attest_generation);
		json_u64(j, "failures", st->failures);
		json_obj_end(j);
	} else {
		json_null(j, "attestation");
	}
	json_obj_end(j);
}

static void status_text(const struct bcctl_status *st)
{
	char a[40], b[40], flags[128];

	bcctl_health_flags_str(st->health_flags, flags, sizeof(flags));
	printf("%s:\n", st->name);
	if (strcmp(st->name, st->device))
		printf("  device:        %s\n", st->device);
	if (st->have & BCCTL_HAVE_PCI)
		printf("  pci:           %s\n", st->pci);
	printf("  serial:        %s\n", st->serial);
	printf("  label:         %s\n", st->label);
	printf("  model:         %s\n", st->model);
	printf("  firmware:      %u.%u\n", st->fw_version >> 8,
	       st->fw_version & 0xff);
	printf("  state:         %s\n", bcctl_state_name(st->state));
	printf("  health:        %s (%s)\n", bcctl_health_name(st->health),
	       flags);
	printf("  sessions:      %u in use, %u max\n", st->sessions_in_use,
	       st->max_sessions);
	if (st->have & BCCTL_HAVE_DRIVER)
		printf("  resets:        %u (generation %u)\n",
		       st->reset_count, st->generation);
	if (!(st->have & BCCTL_HAVE_ATTEST)) {
		printf("  attestation:   unknown\n");
		return;
	}
	bcctl_fmt_time(st->not_before, a, sizeof(a));
	bcctl_fmt_time(st->not_after, b, sizeof(b));
	printf("  attestation:   valid %s .. %s\n", a, b);
	bcctl_fmt_time(st->last_refresh, a, sizeof(a));
	bcctl_fmt_time(st->next_refresh, b, sizeof(b));
	printf("  refresh:       last %s, next %s, every %u days\n", a, b,
	       st->period / 86400);
	printf("  generation:    %u (%u failed in a row)\n",
	       st->attest_generation, st->failures);
	bcctl_fmt_time(st->chip_time, a, sizeof(a));
	printf("  chip clock:    %s\n", a);
}

static const char status_help[] =
	"Usage: bcctl status [--json] [DEVICE]\n"
	"Health and attestation status of DEVICE, or of every device:\n"
	"identity, firmware, state, health, sessions in use, attestation\n"
	"validity, last and next refresh, refresh generation.  Kernel\n"
	"devices are asked over netlink, emulator sockets with frames.\n"
	"--json: one object per device (an array without DEVICE).\n"
	"Exit status: 0, 1 when a device could not be asked, 2 usage.\n";

int cmd_status(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	bool json = false;
	int c, n, failed = 0;
	char **devs = NULL;
	struct json j;

	while ((c = getopt_long(argc, argv, "hj", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			fputs(status_help, stdout);
			return EXIT_OK;
		case 'j':
			json = true;
			break;
		default:
			fputs(status_help, stderr);
			return EXIT_USAGE;
		}
	}
	if (argc - optind > 1) {
		bcctl_err("status takes at most one DEVICE");
		return EXIT_USAGE;
	}
	json_init(&j, stdout);
	if (optind < argc) {
		struct bcctl_status st;
		char device[256];
		int ret = bcctl_pick_device(argv[optind], device,
					    sizeof(device));

		if (ret)
			return ret;
		ret = bcctl_status_get(device, &st);
		if (ret)
			bcctl_err("%s: %s", device, bcctl_errno_text(ret));
		if (!ret || st.have) {
			if (json)
				bcctl_status_json(&j, &st);
			else
				status_text(&st);
		}
		return ret ? EXIT_ERR : EXIT_OK;
	}
	n = bc_devices_discover(&devs);
	if (n < 0) {
		bcctl_err("finding devices: %s", bcctl_errno_text(n));
		return EXIT_ERR;
	}
	if (json)
		json_arr_begin(&j, NULL);
	else if (!n)
		bcctl_err("no Bastionchip devices");
	for (int i = 0; i < n; i++) {
		struct bcctl_status st;
		int ret = bcctl_status_get(devs[i], &st);

		if (ret) {
			bcctl_err("%s: %s", devs[i], bcctl_errno_text(ret));
			failed = 1;
		}
		if (!ret || st.have) {
			if (json)
				bcctl_status_json(&j, &st);
			else
				status_text(&st);
		}
	}
	if (json)
		json_arr_end(&j);
	bc_devices_free(devs, n);
	return failed ? EXIT_ERR : EXIT_OK;
}
