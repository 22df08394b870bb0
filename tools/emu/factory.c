// SPDX-License-Identifier: GPL-2.0
/*
 * The manufacturer CA of emulated chips: a P-384 key (ca.key, 0600) and a
 * self-signed certificate (ca.pem) in a directory apart from any chip's
 * state, standing for the vendor's factory.  Made on first use; emulators
 * starting at once serialize on an flock()ed lock file, and each file is
 * written to a temporary name, fsync'd and renamed, so that a reader
 * never sees half a key and a crash never leaves one.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>

#include "attest.h"

/* Stands before any chip could be made, so every chain fits in it. */
#define CA_NOT_BEFORE	946684800ULL	/* 2000-01-01 */

int emu_factory_default(char *buf, size_t n)
{
	const char *env = getenv("BCCHIP_FACTORY");
	const char *xdg = getenv("XDG_DATA_HOME");
	const char *home = getenv("HOME");
	int len;

	if (env && *env)
		len = snprintf(buf, n, "%s", env);
	else if (geteuid() == 0)
		len = snprintf(buf, n, "/var/lib/bcchip/factory");
	else if (xdg && *xdg)
		len = snprintf(buf, n, "%s/bcchip/factory", xdg);
	else if (home && *home)
		len = snprintf(buf, n, "%s/.local/share/bcchip/factory", home);
	else
		return -ENOENT;
	if (len < 0 || (size_t)len >= n)
		return -ENAMETOOLONG;
	return 0;
}

/* mkdir -p; the directories stay readable, ca.key alone is private. */
static int mkdirs(const char *dir)
{
	char p[PATH_MAX];
	size_t n = strlen(dir);

	if (!n || n >= sizeof(p))
		return -ENAMETOOLONG;
	memcpy(p, dir, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (p[i] != '/' && p[i] != '\0')
			continue;
		p[i] = '\0';
		if (mkdir(p, 0755) && errno != EEXIST)
			return -errno;
		p[i] = i == n ? '\0' : '/';
	}
	return 0;
}

/* Writes what @bio holds as @name. */
static int put_bio(int dfd, const char *name, BIO *bio, mode_t mode)
{
	char *data;
	long n = BIO_get_mem_data(bio, &data);

	if (n <= 0)
		return -EIO;
	return emu_replace_file(dfd, name, data, (size_t)n, mode);
}

/* The CA key is never encrypted: no passphrase, and never a prompt. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

static EVP_PKEY *read_key(int dfd, const char *dir)
{
	EVP_PKEY *k = NULL;
	struct stat st;
	BIO *b;
	int fd = openat(dfd, "ca.key", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return NULL;
	/* A key others could read or replace is not the factory's. */
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) ||
	    st.st_uid != geteuid() || (st.st_mode & 077)) {
		emu_log("%s/ca.key: not a regular file of this user with "
			"mode 0600\n", dir);
		close(fd);
		return NULL;
	}
	b = BIO_new_fd(fd, BIO_CLOSE);
	if (!b) {
		close(fd);
		return NULL;
	}
	k = PEM_read_bio_PrivateKey(b, NULL, no_passphrase, NULL);
	BIO_free(b);
	if (!k)
		emu_log("%s/ca.key is damaged\n", dir);
	return k;
}

static X509 *read_cert(int dfd)
{
	X509 *x = NULL;
	BIO *b;
	int fd = openat(dfd, "ca.pem", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return NULL;
	b = BIO_new_fd(fd, BIO_CLOSE);
	if (!b) {
		close(fd);
		return NULL;
	}
	x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	return x;
}

static int make_key(int dfd, EVP_PKEY **key)
{
	BIO *b = BIO_new(BIO_s_secmem());
	int ret = -EIO;

	*key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	if (*key && b && PEM_write_bio_PrivateKey(b, *key, NULL, NULL, 0,
						  NULL, NULL))
		ret = put_bio(dfd, "ca.key", b, 0600);
	BIO_free(b);
	return ret;
}

static int make_cert(int dfd, EVP_PKEY *key, X509 **cert)
{
	static const char *const exts[] = {
		"basicConstraints=critical,CA:TRUE,pathlen:1",
		"keyUsage=critical,keyCertSign,cRLSign",
		"subjectKeyIdentifier=hash",
		NULL
	};
	X509_NAME *n = emu_chip_name(NULL, "Bastionchip Emulated "
				     "Manufacturer CA");
	BIO *b = BIO_new(BIO_s_mem());
	int ret = -EIO;

	if (n)
		*cert = emu_cert_issue(n, NULL, key, key, CA_NOT_BEFORE, 0,
				       exts, NULL, NULL);
	if (*cert && b && PEM_write_bio_X509(b, *cert))
		ret = put_bio(dfd, "ca.pem", b, 0644);
	BIO_free(b);
	X509_NAME_free(n);
	return ret;
}

int emu_factory_open(const char *dir, EVP_PKEY **key, X509 **cert)
{
	int dfd = -1, lfd = -1, ret;

	*key = NULL;
	*cert = NULL;
	ret = mkdirs(dir);
	if (ret)
		goto out;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		ret = -errno;
		goto out;
	}
	lfd = openat(dfd, ".lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
		     0600);
	if (lfd < 0) {
		ret = -errno;
		goto out;
	}
	while ((ret = flock(lfd, LOCK_EX)) && errno == EINTR)
		;
	if (ret) {
		ret = -errno;
		goto out;
	}
	*key = read_key(dfd, dir);
	if (!*key) {
		/* Never replace a CA: every chip it made trusts it.  A
		 * ca.pem alone is a CA whose key is elsewhere. */
		struct stat st;

		if (fstatat(dfd, "ca.key", &st, AT_SYMLINK_NOFOLLOW) == 0 ||
		    fstatat(dfd, "ca.pem", &st, AT_SYMLINK_NOFOLLOW) == 0) {
			ret = -EBADMSG;
			goto out;
		}
		emu_log("creating the manufacturer CA in %s\n", dir);
		ret = make_key(dfd, key);
		if (ret)
			goto out;
	}
	*cert = read_cert(dfd);
	if (*cert && X509_check_private_key(*cert, *key) != 1) {
		emu_log("%s/ca.pem does not belong to ca.key\n", dir);
		ret = -EBADMSG;
		goto out;
	}
	/* A crash between the two files leaves the key: finish the job. */
	if (!*cert)
		ret = make_cert(dfd, *key, cert);
out:
	if (lfd >= 0)
		close(lfd);	/* drops the lock */
	if (dfd >= 0)
		close(dfd);
	if (ret) {
		emu_log("manufacturer CA in %s: %s\n", dir, strerror(-ret));
		EVP_PKEY_free(*key);
		X509_free(*cert);
		*key = NULL;
		*cert = NULL;
	}
	return ret;
}
