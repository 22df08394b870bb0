// SPDX-License-Identifier: GPL-2.0
/*
 * bcctl: the operator's view of Bastionchip devices.  docs/bcctl.md.
 *
 * Talks to chips through libbcchip.a, the same transports the PKCS#11
 * module uses: BCCHIP_IOC_INFO and the GET_INFO frame on /dev/bcchipN,
 * GET_INFO alone on an emulator socket (unix:/path).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "transport.h"

#define BCCTL_VERSION "0.1"

enum { EXIT_OK = 0, EXIT_ERR = 1, EXIT_USAGE = 2 };

static const char *prog = "bcctl";

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s [--help] [--version] COMMAND [ARGS]\n"
		"\n"
		"Commands:\n"
		"  list            one line per device: device, serial, label,\n"
		"                  model, firmware, state, sessions in use/limit\n"
		"  info [DEVICE]   details of one device (default: the first)\n"
		"\n"
		"DEVICE is N, bcchipN, /dev/bcchipN or unix:/path/to/socket.\n"
		"Devices: $BCCHIP_DEVICE (comma separated), else every\n"
		"/dev/bcchipN.\n"
		"Exit status: 0 success, 1 error, 2 usage.\n",
		prog);
}

static const char *state_name(uint32_t state)
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

static const char *err_text(int err)
{
	switch (err) {
	case -ENOENT:
		return "no such device";
	case -ENODEV:
		return "device not available";
	case -EBADMSG:
		return "malformed answer from the device";
	default:
		return strerror(-err);
	}
}

/* Fetches what there is; *@have_driver says whether the driver fields are
 * good even if the chip did not answer. */
static int fetch(const char *device, struct bc_info *bi, int *have_driver)
{
	struct bc_transport *t;
	int ret;

	*have_driver = 0;
	memset(bi, 0, sizeof(*bi));
	ret = bc_transport_open(device, &t);
	if (ret)
		return ret;
	ret = bc_transport_info(t, bi);
	*have_driver = bc_transport_kind(t) == BC_TRANSPORT_DEV &&
		       bi->abi_version != 0;
	bc_transport_close(t);
	return ret;
}

static int cmd_list(int argc, char **argv)
{
	char **devs;
	int n, failed = 0;

	if (argc > 1) {
		fprintf(stderr, "%s: list takes no arguments\n", prog);
		return EXIT_USAGE;
	}
	(void)argv;
	n = bc_devices_discover(&devs);
	if (n < 0) {
		fprintf(stderr, "%s: finding devices: %s\n", prog,
			err_text(n));
		return EXIT_ERR;
	}
	if (n == 0) {
		fprintf(stderr, "%s: no Bastionchip devices\n", prog);
		return EXIT_OK;
	}
	printf("%-20s %-16s %-32s %-16s %-5s %-9s %s\n", "DEVICE", "SERIAL",
	       "LABEL", "MODEL", "FW", "STATE", "SESSIONS");
	for (int i = 0; i < n; i++) {
		char serial[BCFW_SERIAL_LEN + 1], label[BCFW_LABEL_LEN + 1];
		char model[BCFW_MODEL_LEN + 1], fw[16], sess[32];
		struct bc_info bi;
		int have_driver, ret = fetch(devs[i], &bi, &have_driver);

		if (ret && !have_driver) {
			printf("%-20s %-16s %-32s %-16s %-5s %-9s %s\n",
			       devs[i], "-", "-", "-", "-", "error", "-");
			fprintf(stderr, "%s: %s: %s\n", prog, devs[i],
				err_text(ret));
			failed = 1;
			continue;
		}
		bc_field_to_str(serial, bi.chip.serial, BCFW_SERIAL_LEN);
		bc_field_to_str(label, bi.chip.label, BCFW_LABEL_LEN);
		bc_field_to_str(model, bi.chip.model, BCFW_MODEL_LEN);
		snprintf(fw, sizeof(fw), "%u.%u", bi.chip.fw_major,
			 bi.chip.fw_minor);
		if (ret)
			snprintf(sess, sizeof(sess), "-/%u",
				 bi.chip.max_sessions);
		else
			snprintf(sess, sizeof(sess), "%u/%u",
				 bi.chip.sessions_in_use,
				 bi.chip.max_sessions);
		printf("%-20s %-16s %-32s %-16s %-5s %-9s %s\n", devs[i],
		       serial, label, model, fw, state_name(bi.state), sess);
		if (ret) {
			fprintf(stderr, "%s: %s: %s\n", prog, devs[i],
				err_text(ret));
			failed = 1;
		}
	}
	bc_devices_free(devs, n);
	return failed ? EXIT_ERR : EXIT_OK;
}

static void print_info(const char *device, const struct bc_info *bi,
		       int chip_ok)
{
	const struct bc_chip_info *c = &bi->chip;
	char serial[BCFW_SERIAL_LEN + 1], label[BCFW_LABEL_LEN + 1];
	char model[BCFW_MODEL_LEN + 1], manuf[BCFW_MANUF_LEN + 1];

	bc_field_to_str(serial, c->serial, BCFW_SERIAL_LEN);
	bc_field_to_str(label, c->label, BCFW_LABEL_LEN);
	bc_field_to_str(model, c->model, BCFW_MODEL_LEN);
	bc_field_to_str(manuf, c->manufacturer, BCFW_MANUF_LEN);
	printf("device:        %s\n", device);
	printf("transport:     %s\n", bi->kind == BC_TRANSPORT_DEV ?
	       "kernel driver" : "emulator socket");
	printf("state:         %s\n", state_name(bi->state));
	printf("serial:        %s\n", serial);
	printf("label:         %s\n", label);
	printf("model:         %s\n", model);
	printf("firmware:      %u.%u\n", c->fw_major, c->fw_minor);
	if (chip_ok) {
		printf("manufacturer:  %s\n", manuf);
		printf("hardware:      %u.%u\n", c->hw_major, c->hw_minor);
		printf("sessions:      %u in use, %u max\n",
		       c->sessions_in_use, c->max_sessions);
		printf("objects:       %u in use, %u max\n",
		       c->objects_in_use, c->max_objects);
		printf("max frame:     %u bytes\n", c->max_frame);
		printf("max random:    %u bytes\n", c->max_random);
	} else {
		printf("sessions:      %u max\n", c->max_sessions);
		printf("max frame:     %u bytes\n", c->max_frame);
	}
	if (bi->kind == BC_TRANSPORT_DEV) {
		printf("abi version:   %u\n", bi->abi_version);
		printf("hw register:   0x%08x\n", bi->hw_version);
		printf("generation:    %u\n", bi->generation);
		printf("io queues:     %u x %u entries\n", bi->nr_io_queues,
		       bi->queue_depth);
		printf("client id:     %u\n", bi->client_id);
	}
}

static int cmd_info(int argc, char **argv)
{
	char device[4096];
	struct bc_info bi;
	int have_driver, ret;

	if (argc > 2) {
		fprintf(stderr, "%s: info takes at most one DEVICE\n", prog);
		return EXIT_USAGE;
	}
	if (argc == 2) {
		ret = bc_device_normalize(argv[1], device, sizeof(device));
		if (ret) {
			fprintf(stderr, "%s: %s: not a device name\n", prog,
				argv[1]);
			return EXIT_USAGE;
		}
	} else {
		char **devs;
		int n = bc_devices_discover(&devs);

		if (n <= 0) {
			fprintf(stderr, "%s: no Bastionchip devices\n", prog);
			bc_devices_free(devs, n > 0 ? n : 0);
			return EXIT_ERR;
		}
		snprintf(device, sizeof(device), "%s", devs[0]);
		bc_devices_free(devs, n);
	}
	ret = fetch(device, &bi, &have_driver);
	if (!ret || have_driver)
		print_info(device, &bi, !ret);
	if (ret) {
		fprintf(stderr, "%s: %s: %s\n", prog, device, err_text(ret));
		return EXIT_ERR;
	}
	return EXIT_OK;
}

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
	if (!strcmp(argv[0], "list"))
		return cmd_list(argc, argv);
	if (!strcmp(argv[0], "info"))
		return cmd_info(argc, argv);
	if (!strcmp(argv[0], "help")) {
		usage(stdout);
		return EXIT_OK;
	}
	fprintf(stderr, "%s: unknown command '%s'\n", prog, argv[0]);
	usage(stderr);
	return EXIT_USAGE;
}
