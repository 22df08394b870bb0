// SPDX-License-Identifier: GPL-2.0
/*
 * bcctl list, bcctl info: what GET_INFO and BCCHIP_IOC_INFO say about
 * each device.
 */
#include <errno.h>
#include <getopt.h>
#include <string.h>

#include "bcctl.h"

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

/* --help and --json, shared by list and info. */
static int parse_common(int argc, char **argv, const char *help, bool *json)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*json = false;
	while ((c = getopt_long(argc, argv, "hj", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			fputs(help, stdout);
			return -EXIT_OK - 1;
		case 'j':
			*json = true;
			break;
		default:
			fputs(help, stderr);
			return -EXIT_USAGE - 1;
		}
	}
	return 0;
}

static void info_json(struct json *j, const char *device,
		      const struct bc_info *bi, int ret, int have_driver)
{
	const struct bc_chip_info *c = &bi->chip;
	char s[BCFW_MANUF_LEN + 1];

	json_obj_begin(j, NULL);
	json_str(j, "device", device);
	json_str(j, "transport", bi->kind == BC_TRANSPORT_DEV ?
		 "kernel" : "unix");
	json_str(j, "state", ret && !have_driver ? "error" :
		 bcctl_state_name(bi->state));
	if (ret)
		json_str(j, "error", bcctl_errno_text(ret));
	if (!ret || have_driver) {
		bc_field_to_str(s, c->serial, BCFW_SERIAL_LEN);
		json_str(j, "serial", s);
		bc_field_to_str(s, c->label, BCFW_LABEL_LEN);
		json_str(j, "label", s);
		bc_field_to_str(s, c->model, BCFW_MODEL_LEN);
		json_str(j, "model", s);
		snprintf(s, sizeof(s), "%u.%u", c->fw_major, c->fw_minor);
		json_str(j, "firmware", s);
		json_u64(j, "max_sessions", c->max_sessions);
		json_u64(j, "max_frame", c->max_frame);
	}
	if (!ret) {
		bc_field_to_str(s, c->manufacturer, BCFW_MANUF_LEN);
		json_str(j, "manufacturer", s);
		snprintf(s, sizeof(s), "%u.%u", c->hw_major, c->hw_minor);
		json_str(j, "hardware", s);
		json_u64(j, "sessions_in_use", c->sessions_in_use);
		json_u64(j, "objects_in_use", c->objects_in_use);
		json_u64(j, "max_objects", c->max_objects);
		json_u64(j, "max_random", c->max_random);
	}
	if (have_driver) {
		json_u64(j, "abi_version", bi->abi_version);
		json_u64(j, "hw_register", bi->hw_version);
		json_u64(j, "generation", bi->generation);
		json_u64(j, "io_queues", bi->nr_io_queues);
		json_u64(j, "queue_depth", bi->queue_depth);
		json_u64(j, "client_id", bi->client_id);
	}
	json_obj_end(j);
}

static const char list_help[] =
	"Usage: bcctl list [--json]\n"
	"One line per device: device, serial, label, model, firmware,\n"
	"state, sessions in use/limit.  --json: an array of objects.\n"
	"Exit status: 0, 1 when a device could not be reached, 2 usage.\n";

int cmd_list(int argc, char **argv)
{
	struct json j;
	char **devs;
	int n, failed = 0, r;
	bool json;

	r = parse_common(argc, argv, list_help, &json);
	if (r)
		return -r - 1;
	if (optind < argc) {
		bcctl_err("list takes no arguments");
		return EXIT_USAGE;
	}
	n = bc_devices_discover(&devs);
	if (n < 0) {
		bcctl_err("finding devices: %s", bcctl_errno_text(n));
		return EXIT_ERR;
	}
	json_init(&j, stdout);
	if (json)
		json_arr_begin(&j, NULL);
	if (n == 0 && !json) {
		bcctl_err("no Bastionchip devices");
		return EXIT_OK;
	}
	if (!json)
		printf("%-20s %-16s %-32s %-16s %-5s %-9s %s\n", "DEVICE",
		       "SERIAL", "LABEL", "MODEL", "FW", "STATE", "SESSIONS");
	for (int i = 0; i < n; i++) {
		char serial[BCFW_SERIAL_LEN + 1], label[BCFW_LABEL_LEN + 1];
		char model[BCFW_MODEL_LEN + 1], fw[16], sess[32];
		struct bc_info bi;
		int have_driver, ret = fetch(devs[i], &bi, &have_driver);

		if (ret) {
			bcctl_err("%s: %s", devs[i], bcctl_errno_text(ret));
			failed = 1;
		}
		if (json) {
			info_json(&j, devs[i], &bi, ret, have_driver);
			continue;
		}
		if (ret && !have_driver) {
			printf("%-20s %-16s %-32s %-16s %-5s %-9s %s\n",
			       devs[i], "-", "-", "-", "-", "error", "-");
			continue;
		}
		bc_field_to_str(serial, bi.chip.serial, BCFW_SERIAL_LEN);
		bc_field_to_str(label, bi.chip.label, BCFW_LABEL_LEN);
		bc_field_to_str(model, bi.chip.model, BCFW_MODEL_LEN);
		bcctl_clean_str(serial);
		bcctl_clean_str(label);
		bcctl_clean_str(model);
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
		       serial, label, model, fw, bcctl_state_name(bi.state),
		       sess);
	}
	if (json)
		json_arr_end(&j);
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
	bcctl_clean_str(serial);
	bcctl_clean_str(label);
	bcctl_clean_str(model);
	bcctl_clean_str(manuf);
	printf("device:        %s\n", device);
	printf("transport:     %s\n", bi->kind == BC_TRANSPORT_DEV ?
	       "kernel driver" : "emulator socket");
	printf("state:         %s\n", bcctl_state_name(bi->state));
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

static const char info_help[] =
	"Usage: bcctl info [--json] [DEVICE]\n"
	"Everything GET_INFO (and the driver) say about one device\n"
	"(default: the first).\n"
	"Exit status: 0, 1 when the device could not be reached, 2 usage.\n";

int cmd_info(int argc, char **argv)
{
	char device[4096];
	struct bc_info bi;
	int have_driver, ret, r;
	bool json;

	r = parse_common(argc, argv, info_help, &json);
	if (r)
		return -r - 1;
	if (argc - optind > 1) {
		bcctl_err("info takes at most one DEVICE");
		return EXIT_USAGE;
	}
	r = bcctl_pick_device(optind < argc ? argv[optind] : NULL, device,
			      sizeof(device));
	if (r)
		return r;
	ret = fetch(device, &bi, &have_driver);
	if (json) {
		struct json j;

		json_init(&j, stdout);
		info_json(&j, device, &bi, ret, have_driver);
	} else if (!ret || have_driver) {
		print_info(device, &bi, !ret);
	}
	if (ret) {
		bcctl_err("%s: %s", device, bcctl_errno_text(ret));
		return EXIT_ERR;
	}
	return EXIT_OK;
}
