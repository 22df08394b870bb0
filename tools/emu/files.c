// SPDX-License-Identifier: GPL-2.0
/*
 * Replacing a state file so that a power cut leaves either the old
 * contents or the new, never a mix: write a temporary file, fsync it,
 * rename it over the old one, fsync the directory.  Every file the
 * emulator keeps (identity, key store, factory CA, attestation) goes
 * through here.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "emu.h"

int emu_write_all(int fd, const void *buf, size_t n)
{
	const uint8_t *p = buf;

	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int emu_replace_file(int dfd, const char *name, const void *buf, size_t len,
		     mode_t mode)
{
	char tmp[256];
	int fd, ret;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", name) >= sizeof(tmp))
		return -ENAMETOOLONG;
	fd = openat(dfd, tmp,
		    O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return -errno;
	/* The umask must not widen or narrow what we mean. */
	ret = fchmod(fd, mode) ? -errno : 0;
	if (!ret)
		ret = emu_write_all(fd, buf, len);
	if (!ret && fsync(fd))
		ret = -errno;
	if (close(fd) && !ret)
		ret = -errno;
	if (!ret && renameat(dfd, tmp, dfd, name))
		ret = -errno;
	if (ret) {
		unlinkat(dfd, tmp, 0);
		return ret;
	}
	return fsync(dfd) ? -errno : 0;
}
