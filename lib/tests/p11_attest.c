// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * BC_AttestKey, the vendor extension for key attestation
 * (docs/attestation.md): found with dlsym() as an application would, its
 * length convention, and its certificate checked with OpenSSL against the
 * emulator's factory CA and the chip's identity certificate.
 */
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "p11test.h"
#include "bc_pkcs11_ext.h"

#define OID_KEYATT	"2.25.131368795026701721289478216230416831188.2"

static CK_BBOOL yes = CK_TRUE, no = CK_FALSE;

static BC_AttestKey_fn find_fn(void)
{
	Dl_info di;
	void *mod;
	BC_AttestKey_fn fn = NULL;

	/* The module was dlopen()ed RTLD_LOCAL: reach it through its path. */
	if (!dladdr((void *)f->C_Initialize, &di) || !di.dli_fname)
		return NULL;
	mod = dlopen(di.dli_fname, RTLD_NOW | RTLD_NOLOAD);
	if (!mod)
		return NULL;
	*(void **)&fn = dlsym(mod, "BC_AttestKey");
	dlclose(mod);
	return fn;
}

static X509 *pem_file(const char *path)
{
	FILE *fp = fopen(path, "r");
	X509 *x;

	if (!fp)
		return NULL;
	x = PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	return x;
}

/* The emulator's identity.crt: store header (16), DER, SHA-256 (32). */
static X509 *identity_of(const struct emu *e)
{
	char path[400];
	unsigned char buf[4096];
	const unsigned char *p = buf + 16;
	size_t n = 0;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/identity.crt", e->dir);
	fp = fopen(path, "rb");
	if (!fp)
		return NULL;
	n = fread(buf, 1, sizeof(buf), fp);
	fclose(fp);
	if (n <= 48)
		return NULL;
	return d2i_X509(NULL, &p, (long)(n - 48));
}

static int verify(X509 *ca, X509 *ident, X509 *leaf)
{
	X509_STORE *st = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	STACK_OF(X509) *chain = sk_X509_new_null();
	int ok = 0;

	if (st && ctx && chain && ca && ident && leaf &&
	    X509_STORE_add_cert(st, ca) == 1 &&
	    sk_X509_push(chain, ident) > 0 &&
	    X509_STORE_CTX_init(ctx, st, leaf, chain) == 1)
		ok = X509_verify_cert(ctx) == 1;
	sk_X509_free(chain);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(st);
	return ok;
}

/* Whether @x's public key is the one of public key object @pub. */
static int same_public(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE pub, X509 *x,
		       CK_KEY_TYPE type)
{
	EVP_PKEY *pk = X509_get0_pubkey(x);
	unsigned char cert[600], obj[600];
	CK_ATTRIBUTE a = { type == CKK_RSA ? CKA_MODULUS : CKA_EC_POINT, obj,
			   sizeof(obj) };
	size_t n = 0;
	BIGNUM *bn = NULL;

	if (!pk || f->C_GetAttributeValue(h, pub, &a, 1) != CKR_OK)
		return 0;
	if (type == CKK_RSA) {
		if (EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_N, &bn) != 1)
			return 0;
		n = (size_t)BN_bn2bin(bn, cert);
		BN_free(bn);
		return n == a.ulValueLen && !memcmp(cert, obj, n);
	}
	if (EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_PUB_KEY, cert,
					    sizeof(cert), &n) != 1)
		return 0;
	/* CKA_EC_POINT: DER OCTET STRING around the point. */
	return a.ulValueLen == n + 2 && !memcmp(obj + 2, cert, n);
}

/* The nonce inside the key attestation extension equals @nonce. */
static int has_nonce(X509 *x, const void *nonce, size_t len)
{
	ASN1_OBJECT *obj = OBJ_txt2obj(OID_KEYATT, 1);
	int i = obj ? X509_get_ext_by_OBJ(x, obj, -1) : -1;
	ASN1_OCTET_STRING *os = i >= 0 ?
		X509_EXTENSION_get_data(X509_get_ext(x, i)) : NULL;
	const unsigned char *p;
	STACK_OF(ASN1_TYPE) *seq = NULL;
	ASN1_TYPE *t;
	int ok = 0;

	ASN1_OBJECT_free(obj);
	if (!os)
		return 0;
	p = ASN1_STRING_get0_data(os);
	seq = d2i_ASN1_SEQUENCE_ANY(NULL, &p, ASN1_STRING_length(os));
	t = seq ? sk_ASN1_TYPE_value(seq, sk_ASN1_TYPE_num(seq) - 1) : NULL;
	if (t && t->type == V_ASN1_OCTET_STRING &&
	    (size_t)ASN1_STRING_length(t->value.octet_string) == len &&
	    !memcmp(ASN1_STRING_get0_data(t->value.octet_string), nonce, len))
		ok = 1;
	sk_ASN1_TYPE_pop_free(seq, ASN1_TYPE_free);
	return ok;
}

static X509 *attest(BC_AttestKey_fn fn, CK_SESSION_HANDLE h,
		    CK_OBJECT_HANDLE k, const char *nonce, CK_RV *rv)
{
	CK_ULONG len = 0, small = 10;
	unsigned char *buf, tiny[10];
	const unsigned char *p;
	X509 *x = NULL;

	*rv = fn(h, k, (CK_BYTE_PTR)nonce, strlen(nonce), NULL, &len);
	if (*rv != CKR_OK)
		return NULL;
	CHECK(len > 300 && len < 4096, "length query: %lu", len);
	CHECK_RV(fn(h, k, (CK_BYTE_PTR)nonce, strlen(nonce), tiny, &small),
		 CKR_BUFFER_TOO_SMALL);
	CHECK(small >= len - 16 && small <= len + 16,
	      "too small: the length needed (%lu, query %lu)", small, len);
	buf = malloc(len);
	if (!buf)
		return NULL;
	*rv = fn(h, k, (CK_BYTE_PTR)nonce, strlen(nonce), buf, &len);
	if (*rv == CKR_OK) {
		p = buf;
		x = d2i_X509(NULL, &p, (long)len);
		CHECK(x && p == buf + len, "BC_AttestKey: one DER certificate "
		      "of the length reported");
	}
	free(buf);
	return x;
}

void test_attest(struct emu *e)
{
	static const unsigned char p256[] = {
		0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };
	BC_AttestKey_fn fn = find_fn();
	CK_SESSION_HANDLE h = user_session(0);
	CK_MECHANISM mec = { CKM_EC_KEY_PAIR_GEN, NULL, 0 };
	CK_MECHANISM mrsa = { CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0 };
	CK_ULONG bits = 2048, len;
	CK_ATTRIBUTE pub_ec[] = { { CKA_EC_PARAMS, (void *)p256, sizeof(p256) } };
	CK_ATTRIBUTE pub_rsa[] = { { CKA_MODULUS_BITS, &bits, sizeof(bits) } };
	CK_ATTRIBUTE priv[] = {
		{ CKA_SIGN, &yes, 1 },
		{ CKA_EXTRACTABLE, &no, 1 },
	};
	CK_OBJECT_HANDLE ecpub = 0, ecpriv = 0, rpub = 0, rpriv = 0, imp = 0;
	X509 *ca = NULL, *ident = NULL, *x;
	unsigned char big[BC_ATTEST_NONCE_MAX + 1] = { 0 };
	CK_RV rv;

	printf("---- key attestation (BC_AttestKey)\n");
	CHECK(fn != NULL, "BC_AttestKey exported by the module");
	CHECK(h != 0, "user session");
	if (!fn || !h)
		return;
	if (!external) {
		char path[400];
		const char *fac = getenv("BCCHIP_FACTORY");

		snprintf(path, sizeof(path), "%s/ca.pem", fac ? fac : "");
		ca = pem_file(path);
		ident = identity_of(&e[0]);
		CHECK(ca && ident, "factory CA and chip identity certificate");
	}

	CHECK_RV(f->C_GenerateKeyPair(h, &mec, pub_ec, 1, priv, 2, &ecpub,
				      &ecpriv), CKR_OK);
	x = attest(fn, h, ecpriv, "nonce-ec", &rv);
	CHECK(rv == CKR_OK && x, "EC private key attested: 0x%lx", rv);
	if (x) {
		CHECK(same_public(h, ecpub, x, CKK_EC),
		      "certificate key = the EC key's public half");
		CHECK(has_nonce(x, "nonce-ec", 8), "nonce in the statement");
		if (!external)
			CHECK(verify(ca, ident, x), "EC key attestation "
			      "verifies: factory CA -> identity -> key");
		X509_free(x);
	}
	CHECK_RV(f->C_GenerateKeyPair(h, &mrsa, pub_rsa, 1, priv, 2, &rpub,
				      &rpriv), CKR_OK);
	x = attest(fn, h, rpub, "", &rv);
	CHECK(rv == CKR_OK && x, "RSA key attested by its public handle: "
	      "0x%lx", rv);
	if (x) {
		CHECK(same_public(h, rpub, x, CKK_RSA),
		      "certificate key = the RSA modulus");
		if (!external)
			CHECK(verify(ca, ident, x), "RSA key attestation "
			      "verifies");
		X509_free(x);
	}

	/* An imported key was not generated on the chip. */
	{
		EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
		CK_KEY_TYPE kt = CKK_EC;
		unsigned char d[32];
		BIGNUM *bn = NULL;
		CK_ATTRIBUTE t[] = {
			{ CKA_CLASS, &cls, sizeof(cls) },
			{ CKA_KEY_TYPE, &kt, sizeof(kt) },
			{ CKA_EC_PARAMS, (void *)p256, sizeof(p256) },
			{ CKA_VALUE, d, sizeof(d) },
			{ CKA_EXTRACTABLE, &no, 1 },
		};

		if (pk)
			EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_PRIV_KEY, &bn);
		if (bn)
			BN_bn2binpad(bn, d, sizeof(d));
		BN_clear_free(bn);
		EVP_PKEY_free(pk);
		CHECK_RV(f->C_CreateObject(h, t, 5, &imp), CKR_OK);
		len = 0;
		CHECK_RV(fn(h, imp, NULL, 0, NULL, &len),
			 CKR_KEY_FUNCTION_NOT_PERMITTED);
		explicit_bzero(d, sizeof(d));
	}
	len = 0;
	CHECK_RV(fn(h, ecpriv, big, sizeof(big), NULL, &len),
		 CKR_ARGUMENTS_BAD);
	CHECK_RV(fn(h, ecpriv, NULL, 4, NULL, &len), CKR_ARGUMENTS_BAD);
	CHECK_RV(fn(h, ecpriv, NULL, 0, NULL, NULL), CKR_ARGUMENTS_BAD);
	CHECK_RV(fn(h, CK_INVALID_HANDLE, NULL, 0, NULL, &len),
		 CKR_KEY_HANDLE_INVALID);
	CHECK_RV(fn(0xdead, ecpriv, NULL, 0, NULL, &len),
		 CKR_SESSION_HANDLE_INVALID);

	f->C_DestroyObject(h, imp);
	f->C_DestroyObject(h, ecpub);
	f->C_DestroyObject(h, ecpriv);
	f->C_DestroyObject(h, rpub);
	f->C_DestroyObject(h, rpriv);
	f->C_CloseSession(h);
	X509_free(ca);
	X509_free(ident);
}
