// SPDX-License-Identifier: GPL-2.0
/*
 * The chip's non-volatile state: STATE_DIR/identity, two text lines
 * "serial=<16 upper hex>" and "label=<0..32 printable ASCII>" (empty: the
 * blank label C_InitToken may set; --label itself needs 1..32).  Replaced
 * only as a whole, so a crash leaves either the old or the new file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "emu.h"

#define ID_FILE		"identity"
#define ID_MAX_BYTES	256

static bool label_ok(const char *s, size_t min)
{
	size_t n = strlen(s);

	if (n < min || n > BCFW_LABEL_LEN)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return false;
	return true;
}

static bool serial_ok(const char *s)
{
	if (strlen(s) != BCFW_SERIAL_LEN)
		return false;
	for (size_t i = 0; i < BCFW_SERIAL_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'A' && s[i] <= 'F')))
			return false;
	return true;
}

static int parse(const char *path, char *buf, struct emu_identity *id)
{
	char *nl, *line2;

	if (strncmp(buf, "serial=", 7))
		goto bad;
	nl = strchr(buf, '\n');
	if (!nl)
		goto bad;
	*nl = '\0';
	line2 = nl + 1;
	if (!serial_ok(buf + 7) || strncmp(line2, "label=", 6))
		goto bad;
	nl = strchr(line2, '\n');
	if (!nl || nl[1] != '\0')
		goto bad;
	*nl = '\0';
	if (!label_ok(line2 + 6, 0))
		goto bad;
	memcpy(id->serial, buf + 7, BCFW_SERIAL_LEN + 1);
	snprintf(id->label, sizeof(id->label), "%s", line2 + 6);
	return 0;
bad:
	emu_log("%s is corrupt (expected serial=<16 hex> and label=<text> "
		"lines); refusing to start rather than change the chip's "
		"identity\n", path);
	return -EINVAL;
}

static int load(int dfd, const char *path, struct emu_identity *id)
{
	char buf[ID_MAX_BYTES + 1];
	ssize_t n;
	size_t got = 0;
	int fd, ret;

	fd = openat(dfd, ID_FILE, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) {
		n = read(fd, buf + got, sizeof(buf) - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
		if (got == sizeof(buf) - 1)
			break;
	}
	ret = n < 0 ? -errno : 0;
	close(fd);
	if (ret) {
		emu_log("cannot read %s: %s\n", path, strerror(-ret));
		return ret;
	}
	buf[got] = '\0';
	if (got == sizeof(buf) - 1 || strlen(buf) != got) {
		emu_log("%s is corrupt (too long or binary)\n", path);
		return -EINVAL;
	}
	return parse(path, buf, id);
}

static int store(int dfd, const char *dir, const struct emu_identity *id)
{
	char text[ID_MAX_BYTES];
	int ret, len;

	len = snprintf(text, sizeof(text), "serial=%s\nlabel=%s\n",
		       id->serial, id->label);
	if (len < 0 || (size_t)len >= sizeof(text))
		return -EINVAL;
	ret = emu_replace_file(dfd, ID_FILE, text, (size_t)len, 0600);
	if (ret)
		emu_log("cannot write %s/%s: %s\n", dir, ID_FILE,
			strerror(-ret));
	return ret;
}

int emu_state_load(const char *dir, const char *label,
		   struct emu_identity *id)
{
	char path[4096];
	unsigned char raw[BCFW_SERIAL_LEN / 2];
	int dfd, ret;

	if (label && !label_ok(label, 1)) {
		emu_log("--label must be 1 to %d printable ASCII characters\n",
			BCFW_LABEL_LEN);
		return -EINVAL;
	}
	if (mkdir(dir, 0700) && errno != EEXIST) {
		ret = -errno;
		emu_log("cannot create %s: %s\n", dir, strerror(errno));
		return ret;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		ret = -errno;
		emu_log("cannot open %s: %s\n", dir, strerror(errno));
		return ret;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, ID_FILE);
	ret = load(dfd, path, id);
	if (ret != -ENOENT)
		goto out;

	/* First start: this chip's identity is made now, once. */
	if (RAND_bytes(raw, sizeof(raw)) != 1) {
		emu_log("RAND_bytes failed\n");
		ret = -EIO;
		goto out;
	}
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(id->serial + 2 * i, 3, "%02X", raw[i]);
	if (label)
		snprintf(id->label, sizeof(id->label), "%s", label);
	else
		snprintf(id->label, sizeof(id->label), "Bastionchip %s",
			 id->serial + BCFW_SERIAL_LEN - 4);
	ret = store(dfd, dir, id);
out:
	close(dfd);
	return ret;
}

int emu_state_save(const char *dir, const struct emu_identity *id)
{
	int dfd, ret;

	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	ret = store(dfd, dir, id);
	close(dfd);
	return ret;
}
