// SPDX-License-Identifier: LGPL-2.1-or-later
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "transport.h"

#define UNIX_PREFIX "unix:"

int bc_transport_open(const char *device, struct bc_transport **out)
{
	struct bc_transport *t;
	int ret;

	*out = NULL;
	if (!device || !*device)
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->device = strdup(device);
	if (!t->device) {
		free(t);
		return -ENOMEM;
	}
	if (!strncmp(device, UNIX_PREFIX, strlen(UNIX_PREFIX)))
		ret = bc_transport_unix_open(device + strlen(UNIX_PREFIX), t);
	else
		ret = bc_transport_dev_open(device, t);
	if (ret) {
		free(t->device);
		free(t);
		return ret;
	}
	*out = t;
	return 0;
}

int bc_transport_cmd(struct bc_transport *t, const void *req, size_t req_len,
		     void *resp, size_t resp_cap, size_t *resp_len,
		     uint32_t *fw_status, uint32_t *gen)
{
	struct bc_frame_view v;
	uint16_t opcode;
	uint32_t session, g = gen ? *gen : 0;
	size_t len = 0;
	int ret;

	if (bc_frame_req_peek(req, req_len, &opcode, &session))
		return -EINVAL;
	ret = t->ops->cmd(t, req, req_len, resp, resp_cap, &len, &g);
	if (gen)
		*gen = g;
	if (ret)
		return ret;
	if (bc_frame_parse(resp, len, opcode, session, &v))
		return -EBADMSG;
	*resp_len = len;
	*fw_status = v.status;
	return 0;
}

int bc_transport_call(struct bc_transport *t, uint16_t opcode,
		      uint32_t session, const void *body, size_t body_len,
		      void *out, size_t out_len, size_t *got,
		      uint32_t *fw_status, uint32_t *gen)
{
	/* Small commands only: bodies of a few dozen bytes each way. */
	uint8_t req[BCFW_HDR_SIZE + 64], resp[BCFW_HDR_SIZE + 256];
	struct bc_frame_view v;
	size_t req_len, resp_len;
	uint32_t st;
	int ret;

	if (fw_status)
		*fw_status = BCFW_S_OK;
	if (out_len > sizeof(resp) - BCFW_HDR_SIZE)
		return -EINVAL;
	req_len = bc_frame_build(req, sizeof(req), opcode, session, body,
				 body_len);
	if (!req_len)
		return -EINVAL;
	ret = bc_transport_cmd(t, req, req_len, resp, sizeof(resp), &resp_len,
			       &st, gen);
	if (ret)
		return ret;
	if (st != BCFW_S_OK) {
		if (fw_status)
			*fw_status = st;
		return -EREMOTEIO;
	}
	if (bc_frame_parse(resp, resp_len, opcode, session, &v))
		return -EBADMSG;
	if (v.body_len > out_len || (!got && v.body_len != out_len))
		return -EBADMSG;
	if (v.body_len)
		memcpy(out, v.body, v.body_len);
	if (got)
		*got = v.body_len;
	return 0;
}

int bc_transport_info(struct bc_transport *t, struct bc_info *out)
{
	memset(out, 0, sizeof(*out));
	out->kind = t->kind;
	return t->ops->info(t, out);
}

void bc_transport_close(struct bc_transport *t)
{
	if (!t)
		return;
	t->ops->close(t, 1);
	free(t->device);
	free(t);
}

void bc_transport_abandon(struct bc_transport *t)
{
	if (!t)
		return;
	t->ops->close(t, 0);
	free(t->device);
	free(t);
}

enum bc_transport_kind bc_transport_kind(const struct bc_transport *t)
{
	return t->kind;
}

const char *bc_transport_device(const struct bc_transport *t)
{
	return t->device;
}

int bc_transport_timeout_ms(void)
{
	const char *s = secure_getenv("BCCHIP_TIMEOUT_MS");
	char *end;
	long v;

	if (!s || !*s)
		return 30000;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v <= 0 || v > 3600000)
		return 30000;
	return (int)v;
}

/* "bcchipN" with N all digits: N, else -1. */
static long bcchip_number(const char *name)
{
	const char *p;
	char *end;
	long n;

	if (strncmp(name, "bcchip", 6))
		return -1;
	p = name + 6;
	if (!isdigit((unsigned char)*p))
		return -1;
	errno = 0;
	n = strtol(p, &end, 10);
	if (errno || *end || n > 1000000)
		return -1;
	return n;
}

static int cmp_num(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;

	return (x > y) - (x < y);
}

void bc_devices_free(char **list, int n)
{
	if (!list)
		return;
	for (int i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

static int add_dev(char ***list, int *n, int *cap, const char *s, size_t len)
{
	char *d;

	if (*n == *cap) {
		int nc = *cap ? *cap * 2 : 8;
		char **nl = realloc(*list, (size_t)nc * sizeof(**list));

		if (!nl)
			return -ENOMEM;
		*list = nl;
		*cap = nc;
	}
	d = strndup(s, len);
	if (!d)
		return -ENOMEM;
	(*list)[(*n)++] = d;
	return 0;
}

static int discover_env(const char *env, char ***out)
{
	char **list = NULL;
	int n = 0, cap = 0, ret;
	const char *p = env;

	while (*p) {
		const char *c = strchr(p, ',');
		size_t len = c ? (size_t)(c - p) : strlen(p);
		/* Tolerate blanks around the commas. */
		const char *s = p;
		size_t l = len;

		while (l && isspace((unsigned char)*s)) {
			s++;
			l--;
		}
		while (l && isspace((unsigned char)s[l - 1]))
			l--;
		if (l) {
			ret = add_dev(&list, &n, &cap, s, l);
			if (ret) {
				bc_devices_free(list, n);
				return ret;
			}
		}
		if (!c)
			break;
		p = c + 1;
	}
	*out = list;
	return n;
}

int bc_devices_discover(char ***out)
{
	const char *env = secure_getenv("BCCHIP_DEVICE");
	long *nums = NULL;
	char **list = NULL;
	int n = 0, ncap = 0, cnt = 0, lcap = 0, ret = 0;
	struct dirent *de;
	DIR *dir;

	*out = NULL;
	if (env && *env)
		return discover_env(env, out);
	dir = opendir("/dev");
	if (!dir)
		return errno == ENOENT ? 0 : -errno;
	while ((errno = 0, de = readdir(dir))) {
		long num = bcchip_number(de->d_name);

		if (num < 0)
			continue;
		if (n == ncap) {
			int nc = ncap ? ncap * 2 : 8;
			long *nn = realloc(nums, (size_t)nc * sizeof(*nums));

			if (!nn) {
				ret = -ENOMEM;
				goto out;
			}
			nums = nn;
			ncap = nc;
		}
		nums[n++] = num;
	}
	if (errno) {
		ret = -errno;
		goto out;
	}
	qsort(nums, (size_t)n, sizeof(*nums), cmp_num);
	for (int i = 0; i < n; i++) {
		char path[64];
		int len = snprintf(path, sizeof(path), "/dev/bcchip%ld",
				   nums[i]);

		ret = add_dev(&list, &cnt, &lcap, path, (size_t)len);
		if (ret)
			goto out;
	}
	ret = cnt;
	*out = list;
	list = NULL;
out:
	bc_devices_free(list, cnt);
	free(nums);
	closedir(dir);
	return ret;
}

int bc_device_normalize(const char *arg, char *out, size_t cap)
{
	int len;

	if (!arg || !*arg)
		return -EINVAL;
	if (!strncmp(arg, UNIX_PREFIX, strlen(UNIX_PREFIX)) || arg[0] == '/')
		len = snprintf(out, cap, "%s", arg);
	else if (bcchip_number(arg) >= 0)
		len = snprintf(out, cap, "/dev/%s", arg);
	else {
		char *end;
		long n;

		errno = 0;
		n = strtol(arg, &end, 10);
		if (errno || *end || n < 0 || !isdigit((unsigned char)*arg))
			return -EINVAL;
		len = snprintf(out, cap, "/dev/bcchip%ld", n);
	}
	if (len < 0 || (size_t)len >= cap)
		return -ENAMETOOLONG;
	return 0;
}
