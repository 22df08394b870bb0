// SPDX-License-Identifier: GPL-2.0
/*
 * Certificates the chip and its factory issue, and the DER of the
 * project's own extensions (docs/attestation.md "Certificates").  All of
 * them are signed with ECDSA over SHA-384 by P-384 keys.
 */
#include <endian.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/objects.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "attest.h"

/* ---- DER writer ---- */

static void der_reserve(struct der *d, size_t more)
{
	uint8_t *p;
	size_t cap;

	if (d->bad || d->n + more <= d->cap)
		return;
	cap = (d->n + more) * 2 + 64;
	p = realloc(d->p, cap);
	if (!p) {
		d->bad = true;
		return;
	}
	d->p = p;
	d->cap = cap;
}

void der_raw(struct der *d, const void *v, size_t len)
{
	der_reserve(d, len);
	if (d->bad)
		return;
	if (len)
		memcpy(d->p + d->n, v, len);
	d->n += len;
}

/* Tag and length octets for @len content bytes; returns their count. */
static size_t der_head(uint8_t *h, uint8_t tag, size_t len)
{
	size_t n = 0, k = 0;

	h[n++] = tag;
	if (len < 0x80) {
		h[n++] = (uint8_t)len;
		return n;
	}
	for (size_t l = len; l; l >>= 8)
		k++;
	h[n++] = (uint8_t)(0x80 | k);
	while (k--)
		h[n++] = (uint8_t)(len >> (8 * k));
	return n;
}

void der_prim(struct der *d, uint8_t tag, const void *v, size_t len)
{
	uint8_t h[16];

	der_raw(d, h, der_head(h, tag, len));
	der_raw(d, v, len);
}

void der_seq_begin(struct der *d)
{
	if (d->depth >= sizeof(d->stack) / sizeof(d->stack[0])) {
		d->bad = true;
		return;
	}
	d->stack[d->depth++] = d->n;
}

void der_seq_end(struct der *d)
{
	uint8_t h[16];
	size_t start, len, hl;

	if (d->bad || !d->depth) {
		d->bad = true;
		return;
	}
	start = d->stack[--d->depth];
	len = d->n - start;
	hl = der_head(h, 0x30, len);
	der_reserve(d, hl);
	if (d->bad)
		return;
	memmove(d->p + start + hl, d->p + start, len);
	memcpy(d->p + start, h, hl);
	d->n += hl;
}

void der_uint(struct der *d, uint64_t v)
{
	uint8_t b[9];
	size_t n = 0;

	/* Minimal two's complement: a leading zero when the top bit is set. */
	b[0] = 0;
	for (int i = 7; i >= 0; i--) {
		uint8_t x = (uint8_t)(v >> (8 * i));

		if (!n && !x && i)
			continue;
		if (!n && (x & 0x80))
			b[n++] = 0;
		b[n++] = x;
	}
	der_prim(d, 0x02, b, n);
}

void der_bool(struct der *d, bool v)
{
	uint8_t x = v ? 0xff : 0x00;

	der_prim(d, 0x01, &x, 1);
}

void der_time(struct der *d, uint64_t t)
{
	char s[32];
	struct tm tm;
	time_t tt = (time_t)t;
	int n;

	if (!gmtime_r(&tt, &tm)) {
		d->bad = true;
		return;
	}
	n = snprintf(s, sizeof(s), "%04d%02d%02d%02d%02d%02dZ",
		     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		     tm.tm_hour, tm.tm_min, tm.tm_sec);
	if (n != 15) {
		d->bad = true;
		return;
	}
	der_prim(d, 0x18, s, (size_t)n);
}

void der_free(struct der *d)
{
	if (d->p) {
		OPENSSL_cleanse(d->p, d->cap);
		free(d->p);
	}
	memset(d, 0, sizeof(*d));
}

int emu_cert_list_put(struct der *d, const uint8_t *cert, size_t len)
{
	static const uint8_t zero[8];
	uint32_t h[2] = { htole32((uint32_t)len), 0 };

	der_raw(d, h, sizeof(h));
	der_raw(d, cert, len);
	der_raw(d, zero, BCFW_ALIGN8(len) - len);
	return d->bad ? -1 : 0;
}

/* ---- certificates ---- */

X509_NAME *emu_chip_name(const char *serial, const char *cn)
{
	X509_NAME *n = X509_NAME_new();

	if (!n)
		return NULL;
	if (!X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8,
					(const unsigned char *)"Bastionchip",
					-1, -1, 0) ||
	    !X509_NAME_add_entry_by_txt(n, "OU", MBSTRING_UTF8,
					(const unsigned char *)EMU_MODEL,
					-1, -1, 0) ||
	    (serial && !X509_NAME_add_entry_by_txt(n, "serialNumber",
					MBSTRING_ASC,
					(const unsigned char *)serial,
					-1, -1, 0)) ||
	    !X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
					(const unsigned char *)cn, -1, -1,
					0)) {
		X509_NAME_free(n);
		return NULL;
	}
	return n;
}

/* 128 random bits, top bit clear: positive, and unique in practice. */
static int rand_serial(X509 *x)
{
	unsigned char b[16];
	BIGNUM *bn;
	int ok;

	if (RAND_bytes(b, sizeof(b)) != 1)
		return 0;
	b[0] &= 0x7f;
	b[0] |= 0x40;	/* a fixed length keeps certificate sizes steady */
	bn = BN_bin2bn(b, sizeof(b), NULL);
	ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
	BN_free(bn);
	return ok;
}

static int set_time(ASN1_TIME *t, uint64_t when)
{
	if (!when)
		return ASN1_TIME_set_string(t, "99991231235959Z");
	return ASN1_TIME_set(t, (time_t)when) != NULL;
}

static int add_custom(X509 *x, const char *oid, const struct der *custom)
{
	ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
	ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
	X509_EXTENSION *ext = NULL;
	int ok = 0;

	if (obj && os && !custom->bad &&
	    ASN1_OCTET_STRING_set(os, custom->p, (int)custom->n))
		ext = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, os);
	if (ext)
		ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	ASN1_OCTET_STRING_free(os);
	ASN1_OBJECT_free(obj);
	return ok;
}

X509 *emu_cert_issue(X509_NAME *subject, X509 *issuer, EVP_PKEY *sign_key,
		     EVP_PKEY *pub, uint64_t not_before, uint64_t not_after,
		     const char *const *exts, const char *custom_oid,
		     const struct der *custom)
{
	X509 *x = X509_new();
	X509V3_CTX ctx;

	if (!x)
		return NULL;
	if (!X509_set_version(x, X509_VERSION_3) || !rand_serial(x) ||
	    !X509_set_subject_name(x, subject) ||
	    !X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) :
				  subject) ||
	    !set_time(X509_getm_notBefore(x), not_before) ||
	    !set_time(X509_getm_notAfter(x), not_after) ||
	    !X509_set_pubkey(x, pub))
		goto fail;
	X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
	if (!issuer && !X509V3_set_issuer_pkey(&ctx, sign_key))
		goto fail;
	for (; exts && *exts; exts++) {
		const char *eq = strchr(*exts, '=');
		char name[64];
		X509_EXTENSION *e;
		int ok;

		if (!eq || (size_t)(eq - *exts) >= sizeof(name))
			goto fail;
		memcpy(name, *exts, (size_t)(eq - *exts));
		name[eq - *exts] = '\0';
		e = X509V3_EXT_conf(NULL, &ctx, name, eq + 1);
		if (!e)
			goto fail;
		ok = X509_add_ext(x, e, -1);
		X509_EXTENSION_free(e);
		if (!ok)
			goto fail;
	}
	if (custom_oid && custom && !add_custom(x, custom_oid, custom))
		goto fail;
	if (X509_sign(x, sign_key, EVP_sha384()) <= 0)
		goto fail;
	return x;
fail:
	X509_free(x);
	return NULL;
}

uint8_t *emu_cert_der(X509 *x, size_t *len)
{
	unsigned char *p = NULL;
	int n = i2d_X509(x, &p);
	uint8_t *out;

	if (n <= 0)
		return NULL;
	/* Ours to free with free(), not OPENSSL_free(). */
	out = malloc((size_t)n);
	if (out)
		memcpy(out, p, (size_t)n);
	OPENSSL_free(p);
	*len = (size_t)n;
	return out;
}
