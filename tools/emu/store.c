// SPDX-License-Identifier: GPL-2.0
/*
 * Crash-safe files in the state directory, the chip's secure storage.
 *
 * A file is replaced as a whole: written to NAME.tmp, fsync'd, renamed
 * over NAME, and the directory fsync'd, so after a power cut NAME holds
 * either the old or the new contents, never a mix.  Each file carries a
 * SHA-256 of its contents so that damage from outside (a bad disk, a hand
 * edit) is detected rather than believed.  Writers of one name serialize
 * among themselves (the callers hold a lock per name).
 */
#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "keystore.h"

#define STORE_MAGIC	0x534b4342u	/* "BCKS" */
#define STORE_VERSION	1
#define STORE_MAX	(1u << 20)

struct store_hdr {
	uint32_t magic;
	uint32_t version;
	uint32_t len;
	uint32_t reserved;
};

/* Set once before threads start. */
static int state_fd = -1;
static int objects_fd = -1;

static int sub_fd(const char *sub)
{
	return sub[0] ? objects_fd : state_fd;
}

static bool has_suffix(const char *s, const char *suf);

static void sweep_tmp(int dfd)
{
	int dup_fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *de;
	DIR *d;

	if (dup_fd < 0)
		return;
	d = fdopendir(dup_fd);
	if (!d) {
		close(dup_fd);
		return;
	}
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.' && has_suffix(de->d_name, ".tmp") &&
		    de->d_type != DT_DIR)
			unlinkat(dfd, de->d_name, 0);
	closedir(d);
}

int ks_store_init(const char *state_dir)
{
	state_fd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (state_fd < 0)
		return -errno;
	if (mkdirat(state_fd, "objects", 0700) && errno != EEXIST)
		return -errno;
	objects_fd = openat(state_fd, "objects",
			    O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (objects_fd < 0)
		return -errno;
	/* Writes cut short in the state root (identity, attestation
	 * record): the old files, if any, are whole; objects/ is swept when
	 * it is read. */
	sweep_tmp(state_fd);
	/* The new directory entry itself must survive a power cut. */
	if (fsync(state_fd))
		return -errno;
	return 0;
}

void ks_store_fini(void)
{
	if (objects_fd >= 0)
		close(objects_fd);
	if (state_fd >= 0)
		close(state_fd);
	objects_fd = state_fd = -1;
}

int ks_store_put(const char *sub, const char *name, const void *buf,
		 size_t len)
{
	int dfd = sub_fd(sub), ret;
	struct store_hdr h = {
		.magic = htole32(STORE_MAGIC),
		.version = htole32(STORE_VERSION),
		.len = htole32((uint32_t)len),
	};
	size_t total = sizeof(h) + len + SHA256_DIGEST_LENGTH;
	uint8_t *img;

	if (len > STORE_MAX)
		return -EFBIG;
	img = malloc(total);
	if (!img)
		return -ENOMEM;
	memcpy(img, &h, sizeof(h));
	if (len)
		memcpy(img + sizeof(h), buf, len);
	SHA256(img, sizeof(h) + len, img + sizeof(h) + len);
	ret = emu_replace_file(dfd, name, img, total, 0600);
	OPENSSL_cleanse(img, total);
	free(img);
	return ret;
}

int ks_store_del(const char *sub, const char *name)
{
	int dfd = sub_fd(sub);

	if (unlinkat(dfd, name, 0) && errno != ENOENT)
		return -errno;
	if (fsync(dfd))
		return -errno;
	return 0;
}

static int read_file(int dfd, const char *name, uint8_t **buf, size_t *len)
{
	struct stat st;
	uint8_t *p;
	size_t got = 0;
	int fd, ret = 0;

	fd = openat(dfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		ret = -errno;
		goto out;
	}
	if (st.st_size < (off_t)(sizeof(struct store_hdr) + SHA256_DIGEST_LENGTH) ||
	    st.st_size > (off_t)(STORE_MAX + 64)) {
		ret = -EBADMSG;
		goto out;
	}
	p = malloc((size_t)st.st_size);
	if (!p) {
		ret = -ENOMEM;
		goto out;
	}
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, p + got, (size_t)st.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			ret = r < 0 ? -errno : -EBADMSG;
			free(p);
			goto out;
		}
		got += (size_t)r;
	}
	*buf = p;
	*len = got;
out:
	close(fd);
	return ret;
}

static int verify(uint8_t *raw, size_t n, uint8_t **buf, size_t *len)
{
	struct store_hdr h;
	uint8_t md[SHA256_DIGEST_LENGTH];
	size_t body;

	memcpy(&h, raw, sizeof(h));
	body = le32toh(h.len);
	if (le32toh(h.magic) != STORE_MAGIC ||
	    le32toh(h.version) != STORE_VERSION || h.reserved ||
	    body != n - sizeof(h) - SHA256_DIGEST_LENGTH)
		return -EBADMSG;
	SHA256(raw, sizeof(h) + body, md);
	if (CRYPTO_memcmp(md, raw + sizeof(h) + body, sizeof(md)))
		return -EBADMSG;
	*buf = malloc(body ? body : 1);
	if (!*buf)
		return -ENOMEM;
	memcpy(*buf, raw + sizeof(h), body);
	*len = body;
	return 0;
}

int ks_store_get(const char *sub, const char *name, uint8_t **buf,
		 size_t *len)
{
	uint8_t *raw = NULL;
	size_t n = 0;
	int ret;

	ret = read_file(sub_fd(sub), name, &raw, &n);
	if (ret)
		return ret;
	ret = verify(raw, n, buf, len);
	OPENSSL_cleanse(raw, n);
	free(raw);
	return ret;
}

void ks_store_quarantine(const char *sub, const char *name)
{
	char bad[300];
	int dfd = sub_fd(sub);

	snprintf(bad, sizeof(bad), "%s.corrupt", name);
	if (renameat(dfd, name, dfd, bad))
		emu_log("cannot move %s aside: %s\n", name, strerror(errno));
	else if (fsync(dfd))
		emu_log("fsync: %s\n", strerror(errno));
}

static bool has_suffix(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);

	return n >= m && !strcmp(s + n - m, suf);
}

int ks_store_each(const char *sub,
		  int (*fn)(const char *name, const uint8_t *buf, size_t len,
			    void *arg),
		  void *arg)
{
	int dfd = sub_fd(sub), dup_fd, ret = 0;
	struct dirent *de;
	DIR *d;

	dup_fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dup_fd < 0)
		return -errno;
	d = fdopendir(dup_fd);
	if (!d) {
		ret = -errno;
		close(dup_fd);
		return ret;
	}
	while ((de = readdir(d)) != NULL) {
		uint8_t *buf;
		size_t len;

		if (de->d_name[0] == '.' || has_suffix(de->d_name, ".corrupt"))
			continue;
		/* A write cut short: the old file, if any, is still whole. */
		if (has_suffix(de->d_name, ".tmp")) {
			unlinkat(dfd, de->d_name, 0);
			continue;
		}
		ret = ks_store_get(sub, de->d_name, &buf, &len);
		if (ret == -EBADMSG) {
			emu_log("stored object %s is damaged; moved aside\n",
				de->d_name);
			ks_store_quarantine(sub, de->d_name);
			ret = 0;
			continue;
		}
		if (ret)
			break;
		ret = fn(de->d_name, buf, len, arg);
		OPENSSL_cleanse(buf, len);
		free(buf);
		if (ret)
			break;
	}
	closedir(d);
	if (!ret && fsync(dfd))
		ret = -errno;
	return ret;
}
