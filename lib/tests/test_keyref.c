/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the PEM key reference format (lib/keyref.c).  libcrypto
 * is the independent judge: its PEM reader and ASN.1 parser must see
 * exactly the structure docs/openssl.md describes.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/pem.h>

#include "keyref.h"

static int passed, failed;

static void check(bool ok, const char *what)
{
	if (ok) {
		passed++;
	} else {
		failed++;
		printf("FAIL: %s\n", what);
	}
}

/* Writes @uri; returns the PEM text (malloc'd) or NULL, and the rc. */
static char *write_ref(const char *uri, int *rc)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);

	if (f == NULL) {
		perror("open_memstream");
		exit(2);
	}
	*rc = bc_keyref_write_pem(f, uri);
	if (fclose(f) != 0) {
		perror("fclose");
		exit(2);
	}
	return buf;
}

/* libcrypto's view of the DER: version 0, then the URI as UTF8String. */
static bool asn1_matches(const unsigned char *der, long len, const char *uri)
{
	const unsigned char *p = der;
	ASN1_SEQUENCE_ANY *seq = d2i_ASN1_SEQUENCE_ANY(NULL, &p, len);
	const ASN1_TYPE *v, *u;
	bool ok = false;

	if (seq == NULL)
		return false;
	if (p != der + len || sk_ASN1_TYPE_num(seq) != 2)
		goto out;
	v = sk_ASN1_TYPE_value(seq, 0);
	u = sk_ASN1_TYPE_value(seq, 1);
	ok = v->type == V_ASN1_INTEGER &&
	     ASN1_INTEGER_get(v->value.integer) == 0 &&
	     u->type == V_ASN1_UTF8STRING &&
	     (size_t)ASN1_STRING_length(u->value.utf8string) == strlen(uri) &&
	     memcmp(ASN1_STRING_get0_data(u->value.utf8string), uri,
		    strlen(uri)) == 0;
	/* DER is canonical: re-encoding must give the same bytes. */
	if (ok) {
		unsigned char *re = NULL;
		int rlen = i2d_ASN1_SEQUENCE_ANY(seq, &re);

		ok = rlen == len && memcmp(re, der, (size_t)len) == 0;
		OPENSSL_free(re);
	}
out:
	sk_ASN1_TYPE_pop_free(seq, ASN1_TYPE_free);
	return ok;
}

static void roundtrip(const char *uri, const char *what)
{
	char *pem, *name = NULL, *header = NULL, *back = NULL, *line;
	unsigned char *der = NULL;
	long len = 0;
	int rc;
	bool lines_ok = true;
	BIO *bio;
	char msg[256];

	pem = write_ref(uri, &rc);
	snprintf(msg, sizeof(msg), "%s: written (rc %d)", what, rc);
	check(rc == 0 && pem != NULL, msg);
	if (rc != 0 || pem == NULL) {
		free(pem);
		return;
	}
	for (line = pem; *line != '\0';) {
		char *nl = strchr(line, '\n');

		if (nl == NULL || nl - line > 64)
			lines_ok = false;
		if (nl == NULL)
			break;
		line = nl + 1;
	}
	snprintf(msg, sizeof(msg), "%s: PEM lines of at most 64 characters",
		 what);
	check(lines_ok, msg);

	bio = BIO_new_mem_buf(pem, -1);
	if (bio == NULL || PEM_read_bio(bio, &name, &header, &der, &len) != 1) {
		snprintf(msg, sizeof(msg), "%s: libcrypto reads the PEM", what);
		check(false, msg);
		goto out;
	}
	snprintf(msg, sizeof(msg), "%s: PEM name and no headers", what);
	check(strcmp(name, BC_KEYREF_PEM_NAME) == 0 && header[0] == '\0', msg);
	snprintf(msg, sizeof(msg), "%s: libcrypto parses the DER", what);
	check(asn1_matches(der, len, uri), msg);
	back = bc_keyref_der_to_uri(der, (size_t)len);
	snprintf(msg, sizeof(msg), "%s: URI read back", what);
	check(back != NULL && strcmp(back, uri) == 0, msg);
out:
	BIO_free(bio);
	OPENSSL_free(name);
	OPENSSL_free(header);
	OPENSSL_free(der);
	free(back);
	free(pem);
}

/* A URI of exactly @n characters. */
static char *uri_of_len(size_t n)
{
	char *u = malloc(n + 1);

	if (u == NULL)
		exit(2);
	memcpy(u, "pkcs11:object=", 14);
	memset(u + 14, 'k', n - 14);
	u[n] = '\0';
	return u;
}

static void test_write(void)
{
	static const size_t lens[] = { 20, 120, 121, 127, 128, 250, 255, 256,
				       1000, 8192 };
	char what[64], *u, *pem;
	size_t i;
	int rc;

	roundtrip("pkcs11:token=web;object=tls%20key;type=private",
		  "typical URI");
	roundtrip("pkcs11:object=k?pin-source=/etc/bcchip/pin",
		  "pin-source kept");
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		u = uri_of_len(lens[i]);
		snprintf(what, sizeof(what), "%zu-byte URI", lens[i]);
		roundtrip(u, what);
		free(u);
	}

	u = uri_of_len(8193);
	pem = write_ref(u, &rc);
	check(rc == -EINVAL, "8193-byte URI refused");
	free(pem);
	free(u);

	pem = write_ref("pkcs11:object=k?pin-value=1234", &rc);
	check(rc == -EINVAL && (pem == NULL || pem[0] == '\0'),
	      "pin-value refused, nothing written");
	free(pem);
	pem = write_ref("pkcs11:object=k?pin-source=/p&pin-value=1", &rc);
	check(rc == -EINVAL, "pin-value after pin-source refused");
	free(pem);
	pem = write_ref("/etc/ssl/key.pem", &rc);
	check(rc == -EINVAL, "non-pkcs11 URI refused");
	free(pem);
	pem = write_ref("pkcs11:object=a\nb", &rc);
	check(rc == -EINVAL, "newline in URI refused");
	free(pem);
	pem = write_ref("pkcs11:object=\xc3\xa9", &rc);
	check(rc == -EINVAL, "raw non-ASCII refused (must be percent-encoded)");
	free(pem);
	check(bc_keyref_write_pem(NULL, "pkcs11:") == -EINVAL, "NULL file");
}

static void refuse_der(const unsigned char *der, size_t len, const char *what)
{
	char *u = bc_keyref_der_to_uri(der, len);

	check(u == NULL, what);
	free(u);
}

static void test_read(void)
{
	static const unsigned char good[] = {
		0x30, 0x0e, 0x02, 0x01, 0x00, 0x0c, 0x09,
		'p', 'k', 'c', 's', '1', '1', ':', 'x', '=' };
	unsigned char buf[sizeof(good) + 1];
	char *u;

	u = bc_keyref_der_to_uri(good, sizeof(good));
	check(u != NULL && strcmp(u, "pkcs11:x=") == 0, "hand-made DER read");
	free(u);

	refuse_der(good, sizeof(good) - 1, "truncated DER refused");
	refuse_der(good, 0, "empty DER refused");
	memcpy(buf, good, sizeof(good));
	buf[sizeof(good)] = 0;
	refuse_der(buf, sizeof(good) + 1, "trailing byte refused");
	memcpy(buf, good, sizeof(good));
	buf[4] = 1;
	refuse_der(buf, sizeof(good), "version 1 refused");
	memcpy(buf, good, sizeof(good));
	buf[5] = 0x16;
	refuse_der(buf, sizeof(good), "IA5String instead of UTF8String refused");
	memcpy(buf, good, sizeof(good));
	buf[0] = 0x31;
	refuse_der(buf, sizeof(good), "SET instead of SEQUENCE refused");
	memcpy(buf, good, sizeof(good));
	buf[7] = 'q';
	refuse_der(buf, sizeof(good), "URI that is not pkcs11: refused");
	memcpy(buf, good, sizeof(good));
	buf[14] = 0;
	refuse_der(buf, sizeof(good), "NUL inside the URI refused");
	{
		/* Same content, long-form length where DER demands short. */
		static const unsigned char nonmin[] = {
			0x30, 0x81, 0x0e, 0x02, 0x01, 0x00, 0x0c, 0x09,
			'p', 'k', 'c', 's', '1', '1', ':', 'x', '=' };
		static const unsigned char indef[] = {
			0x30, 0x80, 0x02, 0x01, 0x00, 0x0c, 0x09,
			'p', 'k', 'c', 's', '1', '1', ':', 'x', '=', 0, 0 };

		refuse_der(nonmin, sizeof(nonmin), "non-minimal length refused");
		refuse_der(indef, sizeof(indef), "indefinite length refused");
	}
	refuse_der(NULL, 0, "NULL refused");
}

int main(void)
{
	test_write();
	test_read();
	printf("%d passed, %d failed\n", passed, failed);
	return failed != 0;
}
