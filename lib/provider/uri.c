/* SPDX-License-Identifier: Apache-2.0 */
/*
 * RFC 7512 pkcs11: URIs -> struct bcprov_keyref.  docs/openssl.md
 * "Key references and pkcs11: URIs".
 *
 * The parser is strict on purpose: a misspelt attribute silently ignored
 * would widen the match to "any key", so anything it does not know is an
 * error that names the attribute.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>

#include "bcprov.h"

/* Longest PIN read from a pin-source file; longer first lines are refused. */
#define PIN_MAX 256

enum attr {
	A_TOKEN, A_SERIAL, A_OBJECT, A_ID, A_TYPE,
	A_MANUFACTURER, A_MODEL, A_LIB_MANUFACTURER, A_LIB_DESCRIPTION,
	A_LIB_VERSION, A_SLOT_DESCRIPTION, A_SLOT_MANUFACTURER, A_SLOT_ID,
	A_PIN_VALUE, A_PIN_SOURCE, A_MODULE_NAME, A_MODULE_PATH,
	A_COUNT
};

static const struct {
	const char *name;
	bool query;	/* belongs after '?' */
} attrs[A_COUNT] = {
	[A_TOKEN] = { "token", false },
	[A_SERIAL] = { "serial", false },
	[A_OBJECT] = { "object", false },
	[A_ID] = { "id", false },
	[A_TYPE] = { "type", false },
	/*
	 * Which chip a key lives on is decided by token/serial; these only
	 * describe the module or slot and are accepted so that URIs copied
	 * from p11tool or pkcs11-tool work.
	 */
	[A_MANUFACTURER] = { "manufacturer", false },
	[A_MODEL] = { "model", false },
	[A_LIB_MANUFACTURER] = { "library-manufacturer", false },
	[A_LIB_DESCRIPTION] = { "library-description", false },
	[A_LIB_VERSION] = { "library-version", false },
	[A_SLOT_DESCRIPTION] = { "slot-description", false },
	[A_SLOT_MANUFACTURER] = { "slot-manufacturer", false },
	[A_SLOT_ID] = { "slot-id", false },
	[A_PIN_VALUE] = { "pin-value", true },
	[A_PIN_SOURCE] = { "pin-source", true },
	/* The provider always talks to libbc_pkcs11; which module is moot. */
	[A_MODULE_NAME] = { "module-name", true },
	[A_MODULE_PATH] = { "module-path", true },
};

static void uri_error(const char *fmt, const char *a, const char *b)
{
	ERR_raise_data(ERR_LIB_PROV, ERR_R_PASSED_INVALID_ARGUMENT, fmt, a, b);
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Percent-decodes [s, s+n) into a new buffer with a NUL after the data.
 * Returns NULL with an error raised on malformed escapes or raw control
 * characters.  @name is for the error message only.
 */
static unsigned char *pct_decode(const char *s, size_t n, const char *name,
				 size_t *outlen)
{
	unsigned char *out = OPENSSL_malloc(n + 1);
	size_t i, o = 0;

	if (out == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '%') {
			int hi, lo;

			if (i + 2 >= n)
				goto bad;
			hi = hexval((unsigned char)s[i + 1]);
			lo = hexval((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0)
				goto bad;
			out[o++] = (unsigned char)(hi << 4 | lo);
			i += 2;
		} else if (c < 0x20 || c == 0x7f) {
			OPENSSL_clear_free(out, n + 1);
			uri_error("pkcs11: URI: control character in \"%s\"%s",
				  name, "");
			return NULL;
		} else {
			out[o++] = c;
		}
	}
	out[o] = '\0';
	*outlen = o;
	return out;
bad:
	OPENSSL_clear_free(out, n + 1);
	uri_error("pkcs11: URI: bad percent-escape in \"%s\"%s", name, "");
	return NULL;
}

/*
 * pin-source: a file path or a file: URI (file:/p, file:///p,
 * file://localhost/p).  The PIN is the file's first line.  read(2) rather
 * than stdio so that no buffer we cannot wipe ever holds it.
 */
static char *read_pin_source(const char *src)
{
	const char *path = src;
	char buf[PIN_MAX + 2];
	size_t len = 0;
	char *pin = NULL, *nl;
	int fd;

	if (strncmp(path, "file:", 5) == 0) {
		path += 5;
		if (strncmp(path, "//", 2) == 0) {
			path += 2;
			if (strncmp(path, "localhost/", 10) == 0)
				path += 9;
			else if (path[0] != '/') {
				uri_error("pkcs11: URI: pin-source \"%s\": only local files%s",
					  src, "");
				return NULL;
			}
		}
	}
	if (path[0] == '\0') {
		uri_error("pkcs11: URI: empty pin-source%s%s", "", "");
		return NULL;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		uri_error("pkcs11: URI: pin-source \"%s\": %s", path,
			  strerror(errno));
		return NULL;
	}
	/* Only the first line counts; stop reading as soon as it is complete. */
	while (len < sizeof(buf) - 1) {
		ssize_t r = read(fd, buf + len, sizeof(buf) - 1 - len);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			uri_error("pkcs11: URI: pin-source \"%s\": %s", path,
				  strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (memchr(buf, '\n', len) != NULL)
			break;
	}
	buf[len] = '\0';
	nl = memchr(buf, '\n', len);
	if (nl != NULL) {
		*nl = '\0';
		len = (size_t)(nl - buf);
	} else if (len > PIN_MAX) {
		uri_error("pkcs11: URI: pin-source \"%s\": first line too long%s",
			  path, "");
		goto out;
	}
	if (len > 0 && buf[len - 1] == '\r')
		buf[--len] = '\0';
	if (len == 0 || memchr(buf, '\0', len) != NULL) {
		uri_error("pkcs11: URI: pin-source \"%s\": no PIN on the first line%s",
			  path, "");
		goto out;
	}
	pin = OPENSSL_strndup(buf, len);
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	close(fd);
	return pin;
}

static int set_type(struct bcprov_keyref *out, const char *v)
{
	if (strcmp(v, "private") == 0 || strcmp(v, "public") == 0) {
		/* Either way the store hands out the key: both halves work. */
		out->want_cert = 0;
		return 1;
	}
	if (strcmp(v, "cert") == 0) {
		out->want_cert = 1;
		return 1;
	}
	uri_error("pkcs11: URI: type=\"%s\" not supported (private, public or cert)%s",
		  v, "");
	return 0;
}

static int lookup_attr(const char *name, size_t n)
{
	int a;

	for (a = 0; a < A_COUNT; a++)
		if (strlen(attrs[a].name) == n &&
		    memcmp(attrs[a].name, name, n) == 0)
			return a;
	return -1;
}

/* One "name=value" of the path (@query false) or the query. */
static int parse_attr(struct bcprov_keyref *out, const char *s, size_t n,
		      bool query, unsigned int *seen, char **pin_source)
{
	const char *eq = memchr(s, '=', n);
	char name[32];
	size_t nlen, vlen;
	unsigned char *v;
	int a;

	nlen = eq != NULL ? (size_t)(eq - s) : n;
	if (nlen >= sizeof(name))
		nlen = sizeof(name) - 1;
	memcpy(name, s, nlen);
	name[nlen] = '\0';
	if (eq == NULL) {
		uri_error("pkcs11: URI: \"%s\" has no '='%s", name, "");
		return 0;
	}
	a = lookup_attr(s, (size_t)(eq - s));
	if (a < 0) {
		uri_error("pkcs11: URI: unknown attribute \"%s\"%s", name, "");
		return 0;
	}
	if (attrs[a].query != query) {
		uri_error("pkcs11: URI: \"%s\" belongs in the %s", name,
			  attrs[a].query ? "query (after '?')" : "path (before '?')");
		return 0;
	}
	if (*seen & (1u << a)) {
		uri_error("pkcs11: URI: \"%s\" given twice%s", name, "");
		return 0;
	}
	*seen |= 1u << a;
	if (eq + 1 == s + n) {
		uri_error("pkcs11: URI: \"%s\" has an empty value%s", name, "");
		return 0;
	}
	v = pct_decode(eq + 1, (size_t)(s + n - eq - 1), name, &vlen);
	if (v == NULL)
		return 0;
	if (a != A_ID && memchr(v, '\0', vlen) != NULL) {
		OPENSSL_clear_free(v, vlen + 1);
		uri_error("pkcs11: URI: NUL byte in \"%s\"%s", name, "");
		return 0;
	}
	switch (a) {
	case A_TOKEN:
		out->token = (char *)v;
		return 1;
	case A_SERIAL:
		out->serial = (char *)v;
		return 1;
	case A_OBJECT:
		out->object = (char *)v;
		return 1;
	case A_ID:
		out->id = v;
		out->id_len = vlen;
		return 1;
	case A_TYPE: {
		int ok = set_type(out, (char *)v);

		OPENSSL_free(v);
		return ok;
	}
	case A_PIN_VALUE:
		out->pin = (char *)v;
		return 1;
	case A_PIN_SOURCE:
		*pin_source = (char *)v;
		return 1;
	default:
		OPENSSL_free(v);
		return 1;
	}
}

/* Calls parse_attr for each @sep-separated attribute of [s, end). */
static int parse_list(struct bcprov_keyref *out, const char *s,
		      const char *end, char sep, bool query, unsigned int *seen,
		      char **pin_source)
{
	while (s < end) {
		const char *e = memchr(s, sep, (size_t)(end - s));

		if (e == NULL)
			e = end;
		/* Tolerate empty segments ("a=1;;b=2", a trailing ';'). */
		if (e > s && !parse_attr(out, s, (size_t)(e - s), query, seen,
					 pin_source))
			return 0;
		s = e + 1;
	}
	return 1;
}

int bcprov_uri_parse(const char *uri, struct bcprov_keyref *out)
{
	const char *p, *q, *end;
	unsigned int seen = 0;
	char *pin_source = NULL;

	memset(out, 0, sizeof(*out));
	if (uri == NULL || OPENSSL_strncasecmp(uri, "pkcs11:", 7) != 0) {
		uri_error("not a pkcs11: URI%s%s", "", "");
		return 0;
	}
	p = uri + 7;
	end = p + strlen(p);
	/* A fragment has no meaning for a key; refusing it beats ignoring it. */
	if (memchr(p, '#', (size_t)(end - p)) != NULL) {
		uri_error("pkcs11: URI: '#' must be percent-encoded (%%23)%s%s",
			  "", "");
		return 0;
	}
	q = memchr(p, '?', (size_t)(end - p));
	if (!parse_list(out, p, q != NULL ? q : end, ';', false, &seen,
			&pin_source))
		goto err;
	if (q != NULL &&
	    !parse_list(out, q + 1, end, '&', true, &seen, &pin_source))
		goto err;
	if (out->pin != NULL && pin_source != NULL) {
		uri_error("pkcs11: URI: pin-value and pin-source both given%s%s",
			  "", "");
		goto err;
	}
	if (pin_source != NULL) {
		out->pin = read_pin_source(pin_source);
		if (out->pin == NULL)
			goto err;
		OPENSSL_free(pin_source);
	}
	return 1;
err:
	OPENSSL_free(pin_source);
	bcprov_keyref_free(out);
	return 0;
}

void bcprov_keyref_free(struct bcprov_keyref *ref)
{
	if (ref == NULL)
		return;
	OPENSSL_free(ref->token);
	OPENSSL_free(ref->serial);
	OPENSSL_free(ref->object);
	OPENSSL_free(ref->id);
	if (ref->pin != NULL)
		OPENSSL_clear_free(ref->pin, strlen(ref->pin));
	memset(ref, 0, sizeof(*ref));
}
