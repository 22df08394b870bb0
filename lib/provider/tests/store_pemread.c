/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reads a key the way servers do, for lib/provider/tests/store_run:
 *
 *   store_pemread read FILE [PIN]        PEM_read_bio_PrivateKey (nginx)
 *   store_pemread bundle FILE            key then certificate from one
 *                                        file (HAProxy's crt bundle)
 *   store_pemread ssl KEYFILE CERTFILE   SSL_CTX_use_PrivateKey_file
 *   store_pemread der FILE               d2i_PrivateKey_bio (-inform DER)
 *   store_pemread store URI [PIN]        OSSL_STORE_open, expecting a key
 *   store_pemread cert URI               OSSL_STORE_open, expecting a
 *                                        certificate: prints its subject
 *   store_pemread ref URI                writes a key reference file for
 *                                        URI to stdout (bc_keyref_write_pem)
 *
 * The providers come from OPENSSL_CONF.  [PIN] is what the password
 * callback answers (none: the callback refuses).  Each mode checks that
 * the key is the bcchip provider's, signs with it and verifies the
 * signature with its public half in the default provider; it prints the
 * key type and the number of password callback calls, "calls=N", and
 * exits 0, or prints why and exits 1.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/provider.h>
#include <openssl/ssl.h>
#include <openssl/store.h>
#include <openssl/ui.h>
#include <openssl/x509.h>

#include "keyref.h"

static int calls;

static int pw_cb(char *buf, int size, int rwflag, void *u)
{
	const char *pin = u;
	size_t n;

	(void)rwflag;
	calls++;
	if (pin == NULL)
		return -1;
	n = strlen(pin);
	if (n > (size_t)size)
		return -1;
	memcpy(buf, pin, n);
	return (int)n;
}

static int fail(const char *what)
{
	printf("FAIL: %s\n", what);
	ERR_print_errors_fp(stdout);
	return 1;
}

/* The key is ours, and what it signs verifies under its public half. */
static int check_key(EVP_PKEY *pkey)
{
	static const unsigned char msg[] = "signed on the chip";
	const OSSL_PROVIDER *prov = EVP_PKEY_get0_provider(pkey);
	unsigned char sig[1024], *der = NULL;
	const unsigned char *p;
	size_t siglen = sizeof(sig);
	EVP_MD_CTX *md = NULL;
	EVP_PKEY *pub = NULL;
	int derlen, ok = 0;

	if (prov == NULL || strcmp(OSSL_PROVIDER_get0_name(prov), "bcchip"))
		return fail("the key is not the bcchip provider's");
	md = EVP_MD_CTX_new();
	if (md == NULL ||
	    EVP_DigestSignInit_ex(md, NULL, "SHA256", NULL, NULL, pkey,
				  NULL) != 1 ||
	    EVP_DigestSign(md, sig, &siglen, msg, sizeof(msg)) != 1) {
		EVP_MD_CTX_free(md);
		return fail("signing");
	}
	EVP_MD_CTX_free(md);
	derlen = i2d_PUBKEY(pkey, &der);
	p = der;
	if (derlen > 0)
		pub = d2i_PUBKEY_ex(NULL, &p, derlen, NULL, "provider=default");
	md = EVP_MD_CTX_new();
	if (pub != NULL && md != NULL &&
	    EVP_DigestVerifyInit_ex(md, NULL, "SHA256", NULL,
				    "provider=default", pub, NULL) == 1 &&
	    EVP_DigestVerify(md, sig, siglen, msg, sizeof(msg)) == 1)
		ok = 1;
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pub);
	OPENSSL_free(der);
	if (!ok)
		return fail("the signature does not verify");
	printf("%s calls=%d\n", EVP_PKEY_get0_type_name(pkey), calls);
	return 0;
}

static int mode_read(const char *file, const char *pin)
{
	BIO *b = BIO_new_file(file, "r");
	EVP_PKEY *pkey;
	int rc;

	if (b == NULL)
		return fail(file);
	pkey = PEM_read_bio_PrivateKey(b, NULL, pw_cb, (void *)pin);
	BIO_free(b);
	if (pkey == NULL)
		return fail("PEM_read_bio_PrivateKey");
	rc = check_key(pkey);
	EVP_PKEY_free(pkey);
	return rc;
}

/* What HAProxy does with a crt file: the key, rewind, the certificate. */
static int mode_bundle(const char *file)
{
	BIO *b = BIO_new_file(file, "r");
	EVP_PKEY *pkey = NULL;
	X509 *x = NULL;
	int rc = 1;

	if (b == NULL)
		return fail(file);
	pkey = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	if (pkey == NULL)
		rc = fail("PEM_read_bio_PrivateKey on the bundle");
	else if (BIO_reset(b) != 0 ||
		 (x = PEM_read_bio_X509_AUX(b, NULL, NULL, NULL)) == NULL)
		rc = fail("the certificate from the bundle");
	else if (X509_check_private_key(x, pkey) != 1)
		rc = fail("X509_check_private_key");
	else
		rc = check_key(pkey);
	X509_free(x);
	EVP_PKEY_free(pkey);
	BIO_free(b);
	return rc;
}

static int mode_ssl(const char *keyfile, const char *certfile)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	int rc;

	if (ctx == NULL)
		return fail("SSL_CTX_new");
	if (SSL_CTX_use_certificate_file(ctx, certfile, SSL_FILETYPE_PEM) != 1)
		rc = fail("SSL_CTX_use_certificate_file");
	else if (SSL_CTX_use_PrivateKey_file(ctx, keyfile,
					     SSL_FILETYPE_PEM) != 1)
		rc = fail("SSL_CTX_use_PrivateKey_file");
	else if (SSL_CTX_check_private_key(ctx) != 1)
		rc = fail("SSL_CTX_check_private_key");
	else
		rc = check_key(SSL_CTX_get0_privatekey(ctx));
	SSL_CTX_free(ctx);
	return rc;
}

static int mode_der(const char *file)
{
	BIO *b = BIO_new_file(file, "rb");
	EVP_PKEY *pkey;
	int rc;

	if (b == NULL)
		return fail(file);
	pkey = d2i_PrivateKey_bio(b, NULL);
	BIO_free(b);
	if (pkey == NULL)
		return fail("d2i_PrivateKey_bio");
	rc = check_key(pkey);
	EVP_PKEY_free(pkey);
	return rc;
}

/* One object of @type from @uri through OSSL_STORE; NULL on failure. */
static OSSL_STORE_INFO *store_load(const char *uri, int type, const char *pin)
{
	UI_METHOD *ui = UI_UTIL_wrap_read_pem_callback(pw_cb, 0);
	OSSL_STORE_CTX *st;
	OSSL_STORE_INFO *info = NULL;

	if (ui == NULL)
		return NULL;
	st = OSSL_STORE_open_ex(uri, NULL, NULL, ui, (void *)pin, NULL, NULL,
				NULL);
	if (st != NULL && OSSL_STORE_expect(st, type)) {
		while (info == NULL && !OSSL_STORE_eof(st))
			info = OSSL_STORE_load(st);
		/* One URI, one object. */
		if (info != NULL && !OSSL_STORE_eof(st)) {
			OSSL_STORE_INFO *more = OSSL_STORE_load(st);

			if (more != NULL || !OSSL_STORE_eof(st)) {
				printf("FAIL: more than one object\n");
				OSSL_STORE_INFO_free(more);
				OSSL_STORE_INFO_free(info);
				info = NULL;
			}
		}
	}
	OSSL_STORE_close(st);
	UI_destroy_method(ui);
	return info;
}

static int mode_store(const char *uri, const char *pin)
{
	OSSL_STORE_INFO *info = store_load(uri, OSSL_STORE_INFO_PKEY, pin);
	int rc;

	if (info == NULL ||
	    OSSL_STORE_INFO_get_type(info) != OSSL_STORE_INFO_PKEY) {
		OSSL_STORE_INFO_free(info);
		return fail("OSSL_STORE_load of a key");
	}
	rc = check_key(OSSL_STORE_INFO_get0_PKEY(info));
	OSSL_STORE_INFO_free(info);
	return rc;
}

static int mode_cert(const char *uri)
{
	OSSL_STORE_INFO *info = store_load(uri, OSSL_STORE_INFO_CERT, NULL);
	X509 *x;

	if (info == NULL || (x = OSSL_STORE_INFO_get0_CERT(info)) == NULL) {
		OSSL_STORE_INFO_free(info);
		return fail("OSSL_STORE_load of a certificate");
	}
	X509_NAME_print_ex_fp(stdout, X509_get_subject_name(x), 0,
			      XN_FLAG_ONELINE);
	printf("\n");
	OSSL_STORE_INFO_free(info);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[1], "read") == 0)
		return mode_read(argv[2], argc > 3 ? argv[3] : NULL);
	if (argc == 3 && strcmp(argv[1], "bundle") == 0)
		return mode_bundle(argv[2]);
	if (argc == 4 && strcmp(argv[1], "ssl") == 0)
		return mode_ssl(argv[2], argv[3]);
	if (argc == 3 && strcmp(argv[1], "der") == 0)
		return mode_der(argv[2]);
	if (argc >= 3 && strcmp(argv[1], "store") == 0)
		return mode_store(argv[2], argc > 3 ? argv[3] : NULL);
	if (argc == 3 && strcmp(argv[1], "cert") == 0)
		return mode_cert(argv[2]);
	if (argc == 3 && strcmp(argv[1], "ref") == 0) {
		int rc = bc_keyref_write_pem(stdout, argv[2]);

		if (rc != 0)
			fprintf(stderr, "bc_keyref_write_pem: %s\n",
				strerror(-rc));
		return rc != 0;
	}
	fprintf(stderr, "usage: %s read FILE [PIN] | bundle FILE | "
		"ssl KEY CERT | der FILE | store URI [PIN] | cert URI | "
		"ref URI\n", argv[0]);
	return 2;
}
