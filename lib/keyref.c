/* SPDX-License-Identifier: Apache-2.0 */
/*
 * PEM key references (keyref.h).  The body is the DER of
 *
 *   BcchipKeyReference ::= SEQUENCE {
 *       version  INTEGER (0),
 *       uri      UTF8String    -- RFC 7512 pkcs11: URI, ASCII only
 *   }
 *
 * encoded and decoded by hand: the structure is tiny, and libbcchip users
 * (bcctl) do not link libcrypto.  docs/openssl.md.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "keyref.h"

/* Longer URIs are refused both ways; real ones are a few hundred bytes. */
#define URI_MAX 8192

/* Tag/length header: tag, then DER definite length (short or 1-2 bytes). */
static size_t put_header(unsigned char *p, unsigned char tag, size_t len)
{
	p[0] = tag;
	if (len < 0x80) {
		p[1] = (unsigned char)len;
		return 2;
	}
	if (len <= 0xff) {
		p[1] = 0x81;
		p[2] = (unsigned char)len;
		return 3;
	}
	p[1] = 0x82;
	p[2] = (unsigned char)(len >> 8);
	p[3] = (unsigned char)len;
	return 4;
}

/*
 * Reads a tag/length header at *p (at most @avail bytes), insisting on the
 * minimal DER length form.  Returns the content length, or -1.
 */
static long get_header(const unsigned char **p, size_t *avail,
		       unsigned char tag)
{
	const unsigned char *q = *p;
	size_t len, hdr;

	if (*avail < 2 || q[0] != tag)
		return -1;
	if (q[1] < 0x80) {
		len = q[1];
		hdr = 2;
	} else if (q[1] == 0x81) {
		if (*avail < 3 || q[2] < 0x80)
			return -1;
		len = q[2];
		hdr = 3;
	} else if (q[1] == 0x82) {
		if (*avail < 4 || q[2] == 0)
			return -1;
		len = (size_t)q[2] << 8 | q[3];
		hdr = 4;
	} else {
		return -1;
	}
	if (len > *avail - hdr)
		return -1;
	*p += hdr;
	*avail -= hdr;
	return (long)len;
}


/* The characters RFC 3986 lets a URI carry unencoded (and space, which
 * people type and the provider's parser accepts). */
static bool uri_chars_ok(const unsigned char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return false;
	return true;
}

static bool is_pkcs11_uri(const char *uri, size_t n)
{
	return n >= 7 && strncasecmp(uri, "pkcs11:", 7) == 0;
}

/*
 * A reference file must never hold a secret.  Any mention of pin-value is
 * refused, not just a well-formed query attribute, so that no spelling
 * slips through (pin-source only names a file, and is fine).
 */
static bool has_pin_value(const char *uri)
{
	return strstr(uri, "pin-value") != NULL;
}

static const char b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int bc_keyref_write_pem(FILE *f, const char *uri)
{
	unsigned char der[URI_MAX + 16];
	size_t n, len, inner, i, col = 0;
	int rc = 0;

	if (f == NULL || uri == NULL)
		return -EINVAL;
	n = strlen(uri);
	if (n > URI_MAX || !is_pkcs11_uri(uri, n) ||
	    !uri_chars_ok((const unsigned char *)uri, n) || has_pin_value(uri))
		return -EINVAL;

	/* version INTEGER 0 (3 bytes) + UTF8String header + URI. */
	inner = 3 + (n < 0x80 ? 2 : n <= 0xff ? 3 : 4) + n;
	len = put_header(der, 0x30, inner);
	der[len++] = 0x02;
	der[len++] = 0x01;
	der[len++] = 0x00;
	len += put_header(der + len, 0x0c, n);
	memcpy(der + len, uri, n);
	len += n;

	if (fprintf(f, "-----BEGIN %s-----\n", BC_KEYREF_PEM_NAME) < 0)
		return -EIO;
	for (i = 0; i < len; i += 3) {
		unsigned long v = (unsigned long)der[i] << 16;
		char out[4];

		if (i + 1 < len)
			v |= (unsigned long)der[i + 1] << 8;
		if (i + 2 < len)
			v |= der[i + 2];
		out[0] = b64[v >> 18 & 63];
		out[1] = b64[v >> 12 & 63];
		out[2] = i + 1 < len ? b64[v >> 6 & 63] : '=';
		out[3] = i + 2 < len ? b64[v & 63] : '=';
		if (fwrite(out, 1, 4, f) != 4)
			return -EIO;
		col += 4;
		if (col == 64 && i + 3 < len) {
			if (fputc('\n', f) == EOF)
				return -EIO;
			col = 0;
		}
	}
	if (fprintf(f, "\n-----END %s-----\n", BC_KEYREF_PEM_NAME) < 0)
		rc = -EIO;
	if (rc == 0 && fflush(f) != 0)
		rc = errno != 0 ? -errno : -EIO;
	return rc;
}

char *bc_keyref_der_to_uri(const unsigned char *der, size_t len)
{
	const unsigned char *p = der;
	size_t avail = len;
	long seq, ulen;
	char *uri;

	if (der == NULL)
		return NULL;
	seq = get_header(&p, &avail, 0x30);
	/* Nothing may follow the SEQUENCE, nor sit inside it after the URI. */
	if (seq < 0 || (size_t)seq != avail)
		return NULL;
	if (avail < 3 || p[0] != 0x02 || p[1] != 0x01 || p[2] != 0x00)
		return NULL;
	p += 3;
	avail -= 3;
	ulen = get_header(&p, &avail, 0x0c);
	if (ulen < 0 || (size_t)ulen != avail || ulen > URI_MAX ||
	    !is_pkcs11_uri((const char *)p, (size_t)ulen) ||
	    !uri_chars_ok(p, (size_t)ulen))
		return NULL;
	uri = malloc((size_t)ulen + 1);
	if (uri == NULL)
		return NULL;
	memcpy(uri, p, (size_t)ulen);
	uri[ulen] = '\0';
	return uri;
}
