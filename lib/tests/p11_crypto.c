// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Every signing mechanism, decryption, AES, digests and ECDH, with the
 * results checked by OpenSSL outside the chip: signatures verified with
 * the public key read from the token, ciphertexts made or opened by
 * OpenSSL, digests recomputed.  Also the operation state machine: length
 * queries, CKR_OPERATION_ACTIVE / _NOT_INITIALIZED, usage flags and key
 * types.
 */
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "p11test.h"

static CK_BBOOL yes = CK_TRUE, no = CK_FALSE;

/* DER OIDs of the curves. */
static const unsigned char oid_p256[] = {
	0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };
static const unsigned char oid_p384[] = {
	0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22 };
static const unsigned char oid_p521[] = {
	0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23 };
static const unsigned char oid_ed25519[] = {
	0x06, 0x03, 0x2b, 0x65, 0x70 };

struct kp {
	CK_OBJECT_HANDLE pub, priv;
	CK_KEY_TYPE type;
	EVP_PKEY *pk;		/* the public key, as OpenSSL sees it */
};

/* Reads one attribute into a fresh buffer; NULL on failure. */
static unsigned char *get_attr(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o,
			       CK_ATTRIBUTE_TYPE type, CK_ULONG *len)
{
	CK_ATTRIBUTE a = { type, NULL, 0 };
	unsigned char *p;

	if (f->C_GetAttributeValue(h, o, &a, 1) != CKR_OK ||
	    a.ulValueLen == CK_UNAVAILABLE_INFORMATION)
		return NULL;
	p = OPENSSL_malloc(a.ulValueLen + 1);
	if (!p)
		return NULL;
	a.pValue = p;
	if (f->C_GetAttributeValue(h, o, &a, 1) != CKR_OK) {
		OPENSSL_free(p);
		return NULL;
	}
	*len = a.ulValueLen;
	return p;
}

/* The public key object @o as an OpenSSL key. */
static EVP_PKEY *public_key(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o,
			    CK_KEY_TYPE type)
{
	EVP_PKEY *pk = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	unsigned char *a = NULL, *b = NULL;
	CK_ULONG alen = 0, blen = 0;
	BIGNUM *n = NULL, *e = NULL;
	ASN1_OCTET_STRING *os = NULL;
	ASN1_OBJECT *obj = NULL;

	if (type == CKK_RSA) {
		a = get_attr(h, o, CKA_MODULUS, &alen);
		b = get_attr(h, o, CKA_PUBLIC_EXPONENT, &blen);
		if (!a || !b)
			goto out;
		n = BN_bin2bn(a, (int)alen, NULL);
		e = BN_bin2bn(b, (int)blen, NULL);
		bld = OSSL_PARAM_BLD_new();
		if (!n || !e || !bld ||
		    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
		    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
			goto out;
		ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	} else {
		const unsigned char *q;

		a = get_attr(h, o, CKA_EC_PARAMS, &alen);
		b = get_attr(h, o, CKA_EC_POINT, &blen);
		if (!a || !b)
			goto out;
		q = b;
		os = d2i_ASN1_OCTET_STRING(NULL, &q, (long)blen);
		if (!os)
			goto out;
		if (type == CKK_EC_EDWARDS) {
			pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519,
					NULL, os->data, (size_t)os->length);
			goto out;
		}
		q = a;
		obj = d2i_ASN1_OBJECT(NULL, &q, (long)alen);
		bld = OSSL_PARAM_BLD_new();
		if (!obj || !bld ||
		    !OSSL_PARAM_BLD_push_utf8_string(bld,
				OSSL_PKEY_PARAM_GROUP_NAME,
				OBJ_nid2sn(OBJ_obj2nid(obj)), 0) ||
		    !OSSL_PARAM_BLD_push_octet_string(bld,
				OSSL_PKEY_PARAM_PUB_KEY, os->data,
				(size_t)os->length))
			goto out;
		/* The builder keeps pointers to os->data until to_param. */
		ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	}
	params = OSSL_PARAM_BLD_to_param(bld);
	if (!ctx || !params || EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		pk = NULL;
out:
	ASN1_OBJECT_free(obj);
	ASN1_OCTET_STRING_free(os);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	EVP_PKEY_CTX_free(ctx);
	BN_free(n);
	BN_free(e);
	OPENSSL_free(a);
	OPENSSL_free(b);
	return pk;
}

static int gen_pair(CK_SESSION_HANDLE h, CK_KEY_TYPE type, CK_ULONG bits,
		    const unsigned char *oid, size_t oid_len, CK_BBOOL sign,
		    struct kp *k)
{
	CK_MECHANISM m = { type == CKK_RSA ? CKM_RSA_PKCS_KEY_PAIR_GEN :
			   type == CKK_EC ? CKM_EC_KEY_PAIR_GEN :
			   CKM_EC_EDWARDS_KEY_PAIR_GEN, NULL, 0 };
	CK_BYTE exp[] = { 1, 0, 1 };
	CK_ATTRIBUTE pub_rsa[] = {
		{ CKA_MODULUS_BITS, &bits, sizeof(bits) },
		{ CKA_PUBLIC_EXPONENT, exp, sizeof(exp) },
		{ CKA_VERIFY, &yes, 1 },
		{ CKA_ENCRYPT, &yes, 1 },
	};
	CK_ATTRIBUTE pub_ec[] = {
		{ CKA_EC_PARAMS, (void *)oid, oid_len },
		{ CKA_VERIFY, &yes, 1 },
	};
	CK_ATTRIBUTE priv[] = {
		{ CKA_SIGN, &sign, 1 },
		{ CKA_DECRYPT, &yes, 1 },
		{ CKA_SENSITIVE, &yes, 1 },
		{ CKA_DERIVE, &yes, 1 },
	};
	CK_RV rv;

	memset(k, 0, sizeof(*k));
	k->type = type;
	if (type == CKK_RSA)
		rv = f->C_GenerateKeyPair(h, &m, pub_rsa, 4, priv, 3, &k->pub,
					  &k->priv);
	else
		rv = f->C_GenerateKeyPair(h, &m, pub_ec, 2, priv,
					  type == CKK_EC ? 4 : 3, &k->pub,
					  &k->priv);
	CHECK(rv == CKR_OK, "key pair type %lu (%lu bits): 0x%lx", type, bits,
	      rv);
	if (rv != CKR_OK)
		return 0;
	k->pk = public_key(h, k->pub, type);
	CHECK(k->pk != NULL, "public key of type %lu read and understood",
	      type);
	return k->pk != NULL;
}

static void kp_free(CK_SESSION_HANDLE h, struct kp *k)
{
	if (k->pub)
		f->C_DestroyObject(h, k->pub);
	if (k->priv)
		f->C_DestroyObject(h, k->priv);
	EVP_PKEY_free(k->pk);
	memset(k, 0, sizeof(*k));
}

/* r || s to DER for OpenSSL. */
static int ecdsa_der(const unsigned char *sig, size_t len, unsigned char **der)
{
	ECDSA_SIG *s = ECDSA_SIG_new();
	BIGNUM *r, *sv;
	int n;

	if (!s)
		return -1;
	r = BN_bin2bn(sig, (int)len / 2, NULL);
	sv = BN_bin2bn(sig + len / 2, (int)len / 2, NULL);
	if (!r || !sv || !ECDSA_SIG_set0(s, r, sv)) {
		BN_free(r);
		BN_free(sv);
		ECDSA_SIG_free(s);
		return -1;
	}
	*der = NULL;
	n = i2d_ECDSA_SIG(s, der);
	ECDSA_SIG_free(s);
	return n;
}

struct mech_case {
	CK_MECHANISM_TYPE mech;
	const char *md;		/* hash applied by the mechanism, or NULL */
	const char *pre;	/* raw mechanisms: the caller hashes with it */
	int pss;		/* PSS padding, salt as long as the hash */
};

static const EVP_MD *md_of(const char *name)
{
	return name ? EVP_get_digestbyname(name) : NULL;
}

/* OpenSSL's verdict on a signature the chip made. */
static int ossl_verify(struct kp *k, const struct mech_case *mc,
		       const unsigned char *data, size_t dlen,
		       const unsigned char *sig, size_t slen)
{
	unsigned char *der = NULL;
	const unsigned char *s = sig;
	EVP_MD_CTX *mctx = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	int ok = 0;

	if (k->type == CKK_EC) {
		int n = ecdsa_der(sig, slen, &der);

		if (n <= 0)
			return 0;
		s = der;
		slen = (size_t)n;
	}
	if (mc->md || k->type == CKK_EC_EDWARDS) {
		mctx = EVP_MD_CTX_new();
		if (!mctx || EVP_DigestVerifyInit(mctx, &pctx, md_of(mc->md),
						  NULL, k->pk) <= 0)
			goto out;
		if (mc->pss &&
		    (EVP_PKEY_CTX_set_rsa_padding(pctx,
				RSA_PKCS1_PSS_PADDING) <= 0 ||
		     EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx,
				RSA_PSS_SALTLEN_DIGEST) <= 0))
			goto out;
		ok = EVP_DigestVerify(mctx, s, slen, data, dlen) == 1;
		pctx = NULL;	/* owned by mctx */
	} else {
		pctx = EVP_PKEY_CTX_new(k->pk, NULL);
		if (!pctx || EVP_PKEY_verify_init(pctx) <= 0)
			goto out;
		if (k->type == CKK_RSA && !mc->pss) {
			/* RSA_PKCS: data is the DigestInfo, compare it. */
			unsigned char rec[1024];
			size_t rlen = sizeof(rec);

			EVP_PKEY_CTX_free(pctx);
			pctx = EVP_PKEY_CTX_new(k->pk, NULL);
			if (!pctx || EVP_PKEY_verify_recover_init(pctx) <= 0 ||
			    EVP_PKEY_CTX_set_rsa_padding(pctx,
					RSA_PKCS1_PADDING) <= 0 ||
			    EVP_PKEY_verify_recover(pctx, rec, &rlen, s,
						    slen) <= 0)
				goto out;
			ok = rlen == dlen && !memcmp(rec, data, dlen);
			goto out;
		}
		if (mc->pss &&
		    (EVP_PKEY_CTX_set_rsa_padding(pctx,
				RSA_PKCS1_PSS_PADDING) <= 0 ||
		     EVP_PKEY_CTX_set_signature_md(pctx, md_of(mc->pre)) <= 0 ||
		     EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx,
				RSA_PSS_SALTLEN_DIGEST) <= 0))
			goto out;
		ok = EVP_PKEY_verify(pctx, s, slen, data, dlen) == 1;
	}
out:
	EVP_MD_CTX_free(mctx);
	EVP_PKEY_CTX_free(pctx);
	OPENSSL_free(der);
	return ok;
}

/* The data a raw mechanism signs: a digest, or a DigestInfo for RSA. */
static size_t prepare(const struct mech_case *mc, CK_KEY_TYPE type,
		      const unsigned char *msg, size_t len, unsigned char *out)
{
	unsigned char dg[64];
	unsigned int dl = 0;
	X509_SIG *xs;
	X509_ALGOR *alg;
	ASN1_OCTET_STRING *os;
	unsigned char *p = out;
	int n;

	if (!mc->pre) {
		memcpy(out, msg, len);
		return len;
	}
	EVP_Digest(msg, len, dg, &dl, md_of(mc->pre), NULL);
	if (type != CKK_RSA || mc->pss) {
		memcpy(out, dg, dl);
		return dl;
	}
	xs = X509_SIG_new();
	if (!xs)
		return 0;
	X509_SIG_getm(xs, &alg, &os);
	X509_ALGOR_set0(alg, OBJ_nid2obj(EVP_MD_type(md_of(mc->pre))),
			V_ASN1_NULL, NULL);
	ASN1_OCTET_STRING_set(os, dg, (int)dl);
	n = i2d_X509_SIG(xs, &p);
	X509_SIG_free(xs);
	return n > 0 ? (size_t)n : 0;
}

static void pss_params(const struct mech_case *mc, CK_RSA_PKCS_PSS_PARAMS *p)
{
	const char *h = mc->md ? mc->md : mc->pre;

	if (!strcmp(h, "SHA256")) {
		p->hashAlg = CKM_SHA256;
		p->mgf = CKG_MGF1_SHA256;
		p->sLen = 32;
	} else if (!strcmp(h, "SHA384")) {
		p->hashAlg = CKM_SHA384;
		p->mgf = CKG_MGF1_SHA384;
		p->sLen = 48;
	} else {
		p->hashAlg = CKM_SHA512;
		p->mgf = CKG_MGF1_SHA512;
		p->sLen = 64;
	}
}

static void sign_case(CK_SESSION_HANDLE h, struct kp *k,
		      const struct mech_case *mc)
{
	static const unsigned char msg[] =
		"The quick brown fox signs over the lazy chip";
	unsigned char data[512], sig[1024];
	CK_ULONG slen = 0, dlen;
	CK_RSA_PKCS_PSS_PARAMS pp;
	CK_MECHANISM m = { mc->mech, NULL, 0 };
	int multi = mc->md != NULL;

	if (mc->pss) {
		pss_params(mc, &pp);
		m.pParameter = &pp;
		m.ulParameterLen = sizeof(pp);
	}
	dlen = prepare(mc, k->type, msg, sizeof(msg) - 1, data);

	/* Single part, with the length query first. */
	CHECK_RV(f->C_SignInit(h, &m, k->priv), CKR_OK);
	CHECK_RV(f->C_Sign(h, data, dlen, NULL, &slen), CKR_OK);
	CHECK(slen > 0 && slen <= sizeof(sig), "mech 0x%lx length %lu",
	      mc->mech, slen);
	{
		CK_ULONG small = 3;

		CHECK_RV(f->C_Sign(h, data, dlen, sig, &small),
			 CKR_BUFFER_TOO_SMALL);
		CHECK(small == slen, "too small tells the length");
	}
	slen = sizeof(sig);
	CHECK_RV(f->C_Sign(h, data, dlen, sig, &slen), CKR_OK);
	CHECK(ossl_verify(k, mc, data, dlen, sig, slen),
	      "OpenSSL verifies mech 0x%lx (key type %lu)", mc->mech,
	      k->type);
	CHECK_RV(f->C_Sign(h, data, dlen, sig, &slen),
		 CKR_OPERATION_NOT_INITIALIZED);
	/* And the chip verifies it too, and rejects a damaged one. */
	CHECK_RV(f->C_VerifyInit(h, &m, k->pub), CKR_OK);
	CHECK_RV(f->C_Verify(h, data, dlen, sig, slen), CKR_OK);
	sig[slen / 2] ^= 0x40;
	CHECK_RV(f->C_VerifyInit(h, &m, k->pub), CKR_OK);
	CHECK_RV(f->C_Verify(h, data, dlen, sig, slen), CKR_SIGNATURE_INVALID);
	if (!multi)
		return;

	/* Multi-part, on a chip session from the pool. */
	CHECK_RV(f->C_SignInit(h, &m, k->priv), CKR_OK);
	CHECK_RV(f->C_SignUpdate(h, data, 10), CKR_OK);
	CHECK_RV(f->C_Sign(h, data, dlen, sig, &slen), CKR_OPERATION_ACTIVE);
	CHECK_RV(f->C_SignUpdate(h, data + 10, dlen - 10), CKR_OK);
	slen = 2;
	CHECK_RV(f->C_SignFinal(h, sig, &slen), CKR_BUFFER_TOO_SMALL);
	slen = sizeof(sig);
	CHECK_RV(f->C_SignFinal(h, sig, &slen), CKR_OK);
	CHECK(ossl_verify(k, mc, data, dlen, sig, slen),
	      "OpenSSL verifies multi-part mech 0x%lx", mc->mech);
	CHECK_RV(f->C_VerifyInit(h, &m, k->pub), CKR_OK);
	CHECK_RV(f->C_VerifyUpdate(h, data, 5), CKR_OK);
	CHECK_RV(f->C_VerifyUpdate(h, data + 5, dlen - 5), CKR_OK);
	CHECK_RV(f->C_VerifyFinal(h, sig, slen), CKR_OK);
}

static const struct mech_case ec_cases[] = {
	{ CKM_ECDSA, NULL, "SHA256", 0 },
	{ CKM_ECDSA_SHA256, "SHA256", NULL, 0 },
	{ CKM_ECDSA_SHA384, "SHA384", NULL, 0 },
	{ CKM_ECDSA_SHA512, "SHA512", NULL, 0 },
};

static const struct mech_case rsa_cases[] = {
	{ CKM_RSA_PKCS, NULL, "SHA256", 0 },
	{ CKM_SHA256_RSA_PKCS, "SHA256", NULL, 0 },
	{ CKM_SHA384_RSA_PKCS, "SHA384", NULL, 0 },
	{ CKM_SHA512_RSA_PKCS, "SHA512", NULL, 0 },
	{ CKM_RSA_PKCS_PSS, NULL, "SHA256", 1 },
	{ CKM_SHA256_RSA_PKCS_PSS, "SHA256", NULL, 1 },
	{ CKM_SHA384_RSA_PKCS_PSS, "SHA384", NULL, 1 },
	{ CKM_SHA512_RSA_PKCS_PSS, "SHA512", NULL, 1 },
};

static void test_signatures(CK_SESSION_HANDLE h)
{
	static const struct mech_case eddsa = { CKM_EDDSA, NULL, NULL, 0 };
	struct kp k;
	size_t i;

	if (gen_pair(h, CKK_EC, 0, oid_p256, sizeof(oid_p256), CK_TRUE, &k)) {
		for (i = 0; i < sizeof(ec_cases) / sizeof(ec_cases[0]); i++)
			sign_case(h, &k, &ec_cases[i]);
		kp_free(h, &k);
	}
	if (gen_pair(h, CKK_EC, 0, oid_p384, sizeof(oid_p384), CK_TRUE, &k)) {
		sign_case(h, &k, &ec_cases[0]);
		sign_case(h, &k, &ec_cases[2]);
		kp_free(h, &k);
	}
	if (gen_pair(h, CKK_EC, 0, oid_p521, sizeof(oid_p521), CK_TRUE, &k)) {
		sign_case(h, &k, &ec_cases[3]);
		kp_free(h, &k);
	}
	if (gen_pair(h, CKK_EC_EDWARDS, 0, oid_ed25519, sizeof(oid_ed25519),
		     CK_TRUE, &k)) {
		sign_case(h, &k, &eddsa);
		kp_free(h, &k);
	}
	if (gen_pair(h, CKK_RSA, 2048, NULL, 0, CK_TRUE, &k)) {
		for (i = 0; i < sizeof(rsa_cases) / sizeof(rsa_cases[0]); i++)
			sign_case(h, &k, &rsa_cases[i]);
		kp_free(h, &k);
	}
	if (gen_pair(h, CKK_RSA, 3072, NULL, 0, CK_TRUE, &k)) {
		sign_case(h, &k, &rsa_cases[5]);
		kp_free(h, &k);
	}
}

static void test_state_machine(CK_SESSION_HANDLE h)
{
	CK_MECHANISM ecdsa = { CKM_ECDSA_SHA256, NULL, 0 };
	CK_MECHANISM rsa = { CKM_SHA256_RSA_PKCS, NULL, 0 };
	unsigned char sig[256], d[32] = { 1 };
	CK_ULONG slen = sizeof(sig);
	struct kp ec, nosign;

	if (!gen_pair(h, CKK_EC, 0, oid_p256, sizeof(oid_p256), CK_TRUE, &ec))
		return;
	CHECK_RV(f->C_Sign(h, d, 32, sig, &slen),
		 CKR_OPERATION_NOT_INITIALIZED);
	CHECK_RV(f->C_SignUpdate(h, d, 32), CKR_OPERATION_NOT_INITIALIZED);
	CHECK_RV(f->C_SignFinal(h, sig, &slen),
		 CKR_OPERATION_NOT_INITIALIZED);
	CHECK_RV(f->C_SignInit(h, &rsa, ec.priv), CKR_KEY_TYPE_INCONSISTENT);
	CHECK_RV(f->C_SignInit(h, &ecdsa, ec.pub), CKR_KEY_TYPE_INCONSISTENT);
	CHECK_RV(f->C_SignInit(h, &ecdsa, 0x7ffffff0),
		 CKR_KEY_HANDLE_INVALID);
	CHECK_RV(f->C_SignInit(h, &ecdsa, ec.priv), CKR_OK);
	CHECK_RV(f->C_SignInit(h, &ecdsa, ec.priv), CKR_OPERATION_ACTIVE);
	/* A different kind of operation may run beside it. */
	{
		CK_MECHANISM sha = { CKM_SHA256, NULL, 0 };
		unsigned char dg[32];
		CK_ULONG dl = sizeof(dg);

		CHECK_RV(f->C_DigestInit(h, &sha), CKR_OK);
		CHECK_RV(f->C_Digest(h, d, 32, dg, &dl), CKR_OK);
	}
	CHECK_RV(f->C_Sign(h, NULL, 32, sig, &slen), CKR_ARGUMENTS_BAD);
	/* That ended it, as the standard says. */
	CHECK_RV(f->C_Sign(h, d, 32, sig, &slen),
		 CKR_OPERATION_NOT_INITIALIZED);
	/* Multi-part abandoned by closing nothing: a new Init after Final. */
	CHECK_RV(f->C_SignInit(h, &ecdsa, ec.priv), CKR_OK);
	CHECK_RV(f->C_SignUpdate(h, d, 32), CKR_OK);
	slen = sizeof(sig);
	CHECK_RV(f->C_SignFinal(h, sig, &slen), CKR_OK);
	CHECK_RV(f->C_SignFinal(h, sig, &slen),
		 CKR_OPERATION_NOT_INITIALIZED);
	/* Usage flags. */
	if (gen_pair(h, CKK_EC, 0, oid_p256, sizeof(oid_p256), CK_FALSE,
		     &nosign)) {
		CHECK_RV(f->C_SignInit(h, &ecdsa, nosign.priv),
			 CKR_KEY_FUNCTION_NOT_PERMITTED);
		kp_free(h, &nosign);
	}
	/* The library remembers accepted C_SignInit; a change is still seen. */
	{
		CK_ATTRIBUTE sign_off = { CKA_SIGN, &no, 1 };
		CK_ATTRIBUTE sign = { CKA_SIGN, &yes, 1 };

		CHECK_RV(f->C_SignInit(h, &ecdsa, ec.priv), CKR_OK);
		slen = sizeof(sig);
		CHECK_RV(f->C_Sign(h, d, 32, sig, &slen), CKR_OK);
		CHECK_RV(f->C_SetAttributeValue(h, ec.priv, &sign_off, 1),
			 CKR_OK);
		CHECK_RV(f->C_SignInit(h, &ecdsa, ec.priv),
			 CKR_KEY_FUNCTION_NOT_PERMITTED);
		CHECK_RV(f->C_SetAttributeValue(h, ec.priv, &sign, 1), CKR_OK);
	}
	/* Private-key use needs the user. */
	CHECK_RV(f->C_Logout(h), CKR_OK);
	{
		CK_RV rv = f->C_SignInit(h, &ecdsa, ec.priv);

		CHECK(rv == CKR_USER_NOT_LOGGED_IN ||
		      rv == CKR_KEY_HANDLE_INVALID,
		      "sign logged out: 0x%lx", rv);
	}
	CHECK_RV(f->C_Login(h, CKU_USER, (CK_UTF8CHAR_PTR)USER_PIN,
			    strlen(USER_PIN)), CKR_OK);
	kp_free(h, &ec);
}

/* RSA decryption of what OpenSSL encrypted with the token's key. */
static void test_rsa_decrypt(CK_SESSION_HANDLE h)
{
	static const unsigned char secret[] = "premaster secret, 48 bytes long"
					      "................";
	CK_RSA_PKCS_OAEP_PARAMS oaep1 = { CKM_SHA_1, CKG_MGF1_SHA1, 0, NULL,
					  0 };
	CK_RSA_PKCS_OAEP_PARAMS oaep256 = { CKM_SHA256, CKG_MGF1_SHA256, 0,
					    NULL, 0 };
	struct {
		CK_MECHANISM m;
		int pad;
		const char *md;
	} cases[] = {
		{ { CKM_RSA_PKCS, NULL, 0 }, RSA_PKCS1_PADDING, NULL },
		{ { CKM_RSA_PKCS_OAEP, &oaep1, sizeof(oaep1) },
		  RSA_PKCS1_OAEP_PADDING, "SHA1" },
		{ { CKM_RSA_PKCS_OAEP, &oaep256, sizeof(oaep256) },
		  RSA_PKCS1_OAEP_PADDING, "SHA256" },
	};
	struct kp k;

	if (!gen_pair(h, CKK_RSA, 2048, NULL, 0, CK_TRUE, &k))
		return;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned char ct[256], pt[256];
		size_t ctl = sizeof(ct);
		CK_ULONG ptl = 0;
		EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(k.pk, NULL);
		int ok = c && EVP_PKEY_encrypt_init(c) > 0 &&
			 EVP_PKEY_CTX_set_rsa_padding(c, cases[i].pad) > 0;

		if (ok && cases[i].md)
			ok = EVP_PKEY_CTX_set_rsa_oaep_md(c,
					md_of(cases[i].md)) > 0 &&
			     EVP_PKEY_CTX_set_rsa_mgf1_md(c,
					md_of(cases[i].md)) > 0;
		ok = ok && EVP_PKEY_encrypt(c, ct, &ctl, secret,
					    sizeof(secret) - 1) > 0;
		EVP_PKEY_CTX_free(c);
		CHECK(ok, "OpenSSL encrypts (case %zu)", i);
		if (!ok)
			continue;
		CHECK_RV(f->C_DecryptInit(h, &cases[i].m, k.priv), CKR_OK);
		CHECK_RV(f->C_Decrypt(h, ct, ctl, NULL, &ptl), CKR_OK);
		CHECK(ptl >= sizeof(secret) - 1, "length bound %lu", ptl);
		ptl = sizeof(pt);
		CHECK_RV(f->C_Decrypt(h, ct, ctl, pt, &ptl), CKR_OK);
		CHECK(ptl == sizeof(secret) - 1 &&
		      !memcmp(pt, secret, ptl), "decrypted (case %zu)", i);
		ct[5] ^= 1;
		CHECK_RV(f->C_DecryptInit(h, &cases[i].m, k.priv), CKR_OK);
		ptl = sizeof(pt);
		CHECK_RV(f->C_Decrypt(h, ct, ctl, pt, &ptl),
			 CKR_ENCRYPTED_DATA_INVALID);
	}
	kp_free(h, &k);
}

/* AES with a key of known value, checked against OpenSSL. */
static void test_aes(CK_SESSION_HANDLE h)
{
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_KEY_TYPE kt = CKK_AES;
	unsigned char key[32], iv[16], pt[100], ct[200], out[200], tag[16];
	CK_ATTRIBUTE t[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_KEY_TYPE, &kt, sizeof(kt) },
		{ CKA_VALUE, key, sizeof(key) },
		{ CKA_ENCRYPT, &yes, 1 },
		{ CKA_DECRYPT, &yes, 1 },
	};
	CK_OBJECT_HANDLE k;
	CK_MECHANISM cbc = { CKM_AES_CBC_PAD, iv, sizeof(iv) };
	CK_GCM_PARAMS gp = { 0 };
	CK_MECHANISM gcm = { CKM_AES_GCM, &gp, sizeof(gp) };
	unsigned char aad[] = "header";
	CK_ULONG ctl, ol, part;
	EVP_CIPHER_CTX *c;
	int n1 = 0, n2 = 0, ok;

	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (unsigned char)(i * 7 + 1);
	memset(iv, 0xa5, sizeof(iv));
	for (size_t i = 0; i < sizeof(pt); i++)
		pt[i] = (unsigned char)i;
	CHECK_RV(f->C_CreateObject(h, t, 5, &k), CKR_OK);

	/* CBC_PAD: chip encrypts, OpenSSL decrypts. */
	CHECK_RV(f->C_EncryptInit(h, &cbc, k), CKR_OK);
	ctl = sizeof(ct);
	CHECK_RV(f->C_Encrypt(h, pt, sizeof(pt), ct, &ctl), CKR_OK);
	CHECK(ctl == 112, "CBC_PAD length %lu", ctl);
	c = EVP_CIPHER_CTX_new();
	ok = c && EVP_DecryptInit_ex(c, EVP_aes_256_cbc(), NULL, key, iv) &&
	     EVP_DecryptUpdate(c, out, &n1, ct, (int)ctl) &&
	     EVP_DecryptFinal_ex(c, out + n1, &n2);
	EVP_CIPHER_CTX_free(c);
	CHECK(ok && n1 + n2 == (int)sizeof(pt) && !memcmp(out, pt, sizeof(pt)),
	      "OpenSSL decrypts the chip's CBC_PAD");
	/* Multi-part gives the same bytes. */
	CHECK_RV(f->C_EncryptInit(h, &cbc, k), CKR_OK);
	ol = sizeof(out);
	CHECK_RV(f->C_EncryptUpdate(h, pt, 40, out, &ol), CKR_OK);
	part = ol;
	ol = sizeof(out) - part;
	CHECK_RV(f->C_EncryptUpdate(h, pt + 40, 60, out + part, &ol), CKR_OK);
	part += ol;
	ol = sizeof(out) - part;
	CHECK_RV(f->C_EncryptFinal(h, out + part, &ol), CKR_OK);
	CHECK(part + ol == ctl && !memcmp(out, ct, ctl),
	      "multi-part CBC_PAD matches (%lu)", part + ol);
	CHECK_RV(f->C_DecryptInit(h, &cbc, k), CKR_OK);
	ol = sizeof(out);
	CHECK_RV(f->C_Decrypt(h, ct, ctl, out, &ol), CKR_OK);
	CHECK(ol == sizeof(pt) && !memcmp(out, pt, ol), "CBC_PAD round trip");

	/* GCM: OpenSSL encrypts, chip decrypts; then the other way. */
	gp.pIv = iv;
	gp.ulIvLen = 12;
	gp.ulIvBits = 96;
	gp.pAAD = aad;
	gp.ulAADLen = sizeof(aad) - 1;
	gp.ulTagBits = 128;
	c = EVP_CIPHER_CTX_new();
	ok = c && EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) &&
	     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) &&
	     EVP_EncryptInit_ex(c, NULL, NULL, key, iv) &&
	     EVP_EncryptUpdate(c, NULL, &n1, aad, (int)sizeof(aad) - 1) &&
	     EVP_EncryptUpdate(c, ct, &n1, pt, (int)sizeof(pt)) &&
	     EVP_EncryptFinal_ex(c, ct + n1, &n2) &&
	     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag);
	EVP_CIPHER_CTX_free(c);
	CHECK(ok, "OpenSSL GCM");
	memcpy(ct + sizeof(pt), tag, 16);
	CHECK_RV(f->C_DecryptInit(h, &gcm, k), CKR_OK);
	ol = sizeof(out);
	CHECK_RV(f->C_Decrypt(h, ct, sizeof(pt) + 16, out, &ol), CKR_OK);
	CHECK(ol == sizeof(pt) && !memcmp(out, pt, ol), "chip opens GCM");
	ct[3] ^= 1;
	CHECK_RV(f->C_DecryptInit(h, &gcm, k), CKR_OK);
	ol = sizeof(out);
	CHECK_RV(f->C_Decrypt(h, ct, sizeof(pt) + 16, out, &ol),
		 CKR_ENCRYPTED_DATA_INVALID);
	CHECK_RV(f->C_EncryptInit(h, &gcm, k), CKR_OK);
	ol = sizeof(out);
	CHECK_RV(f->C_Encrypt(h, pt, sizeof(pt), out, &ol), CKR_OK);
	ct[3] ^= 1;
	CHECK(ol == sizeof(pt) + 16 && !memcmp(out, ct, ol),
	      "chip's GCM equals OpenSSL's");
	CHECK_RV(f->C_DestroyObject(h, k), CKR_OK);
}

static void test_digests(CK_SESSION_HANDLE h)
{
	static const struct {
		CK_MECHANISM_TYPE m;
		const char *md;
	} d[] = {
		{ CKM_SHA256, "SHA256" }, { CKM_SHA384, "SHA384" },
		{ CKM_SHA512, "SHA512" },
	};
	size_t big = 100000;
	unsigned char *data = OPENSSL_malloc(big);

	if (!data)
		return;
	for (size_t i = 0; i < big; i++)
		data[i] = (unsigned char)(i % 251);
	for (size_t i = 0; i < 3; i++) {
		CK_MECHANISM m = { d[i].m, NULL, 0 };
		unsigned char want[64], got[64];
		unsigned int wl;
		CK_ULONG gl = 0;

		EVP_Digest(data, 1000, want, &wl, md_of(d[i].md), NULL);
		CHECK_RV(f->C_DigestInit(h, &m), CKR_OK);
		CHECK_RV(f->C_Digest(h, data, 1000, NULL, &gl), CKR_OK);
		CHECK(gl == wl, "digest length %lu", gl);
		CHECK_RV(f->C_Digest(h, data, 1000, got, &gl), CKR_OK);
		CHECK(gl == wl && !memcmp(got, want, wl), "%s", d[i].md);
		/* Longer than a frame: streamed through a chip session. */
		EVP_Digest(data, big, want, &wl, md_of(d[i].md), NULL);
		CHECK_RV(f->C_DigestInit(h, &m), CKR_OK);
		gl = sizeof(got);
		CHECK_RV(f->C_Digest(h, data, big, got, &gl), CKR_OK);
		CHECK(gl == wl && !memcmp(got, want, wl), "%s of %zu bytes",
		      d[i].md, big);
		CHECK_RV(f->C_DigestInit(h, &m), CKR_OK);
		CHECK_RV(f->C_DigestUpdate(h, data, 50000), CKR_OK);
		CHECK_RV(f->C_DigestUpdate(h, data + 50000, big - 50000),
			 CKR_OK);
		gl = sizeof(got);
		CHECK_RV(f->C_DigestFinal(h, got, &gl), CKR_OK);
		CHECK(gl == wl && !memcmp(got, want, wl), "multi-part %s",
		      d[i].md);
	}
	OPENSSL_free(data);
}

/* ECDH with a peer key made by OpenSSL: both sides get one secret. */
static void test_ecdh(CK_SESSION_HANDLE h)
{
	EVP_PKEY *peer = EVP_EC_gen("P-256");
	unsigned char pt[133], want[66], *got = NULL;
	size_t ptl, wl = sizeof(want);
	CK_ECDH1_DERIVE_PARAMS p = { CKD_NULL, 0, NULL, 0, NULL };
	CK_MECHANISM m = { CKM_ECDH1_DERIVE, &p, sizeof(p) };
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_KEY_TYPE kt = CKK_GENERIC_SECRET;
	CK_ATTRIBUTE t[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_KEY_TYPE, &kt, sizeof(kt) },
		{ CKA_SENSITIVE, &no, 1 },
		{ CKA_EXTRACTABLE, &yes, 1 },
	};
	CK_OBJECT_HANDLE dk;
	CK_ULONG gl = 0;
	EVP_PKEY_CTX *c;
	struct kp k;

	if (!peer || !gen_pair(h, CKK_EC, 0, oid_p256, sizeof(oid_p256),
			       CK_TRUE, &k)) {
		EVP_PKEY_free(peer);
		return;
	}
	ptl = EVP_PKEY_get1_encoded_public_key(peer, &got);
	memcpy(pt, got, ptl);
	OPENSSL_free(got);
	got = NULL;
	p.pPublicData = pt;
	p.ulPublicDataLen = ptl;
	c = EVP_PKEY_CTX_new(peer, NULL);
	CHECK(c && EVP_PKEY_derive_init(c) > 0 &&
	      EVP_PKEY_derive_set_peer(c, k.pk) > 0 &&
	      EVP_PKEY_derive(c, want, &wl) > 0, "OpenSSL derives");
	EVP_PKEY_CTX_free(c);
	CHECK_RV(f->C_DeriveKey(h, &m, k.priv, t, 4, &dk), CKR_OK);
	got = get_attr(h, dk, CKA_VALUE, &gl);
	CHECK(got && gl == wl && !memcmp(got, want, wl),
	      "ECDH secrets agree (%lu bytes)", gl);
	OPENSSL_free(got);
	f->C_DestroyObject(h, dk);
	kp_free(h, &k);
	EVP_PKEY_free(peer);
}

/* An EC key made by OpenSSL, imported, signs on the chip. */
static void test_import(CK_SESSION_HANDLE h)
{
	static const struct mech_case mc = { CKM_ECDSA_SHA256, "SHA256",
					     NULL, 0 };
	EVP_PKEY *pk = EVP_EC_gen("P-256");
	BIGNUM *d = NULL;
	unsigned char dv[32], msg[] = "imported", sig[64];
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_KEY_TYPE kt = CKK_EC;
	CK_ATTRIBUTE t[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_KEY_TYPE, &kt, sizeof(kt) },
		{ CKA_EC_PARAMS, (void *)oid_p256, sizeof(oid_p256) },
		{ CKA_VALUE, dv, sizeof(dv) },
		{ CKA_SIGN, &yes, 1 },
	};
	CK_MECHANISM m = { CKM_ECDSA_SHA256, NULL, 0 };
	CK_ULONG sl = sizeof(sig);
	struct kp k = { 0 };

	if (!pk || !EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_PRIV_KEY, &d) ||
	    BN_bn2binpad(d, dv, sizeof(dv)) != sizeof(dv)) {
		CHECK(0, "OpenSSL EC key");
		goto out;
	}
	k.type = CKK_EC;
	k.pk = pk;
	CHECK_RV(f->C_CreateObject(h, t, 5, &k.priv), CKR_OK);
	CHECK_RV(f->C_SignInit(h, &m, k.priv), CKR_OK);
	CHECK_RV(f->C_Sign(h, msg, sizeof(msg) - 1, sig, &sl), CKR_OK);
	CHECK(ossl_verify(&k, &mc, msg, sizeof(msg) - 1, sig, sl),
	      "imported key's signature verifies");
	f->C_DestroyObject(h, k.priv);
out:
	OPENSSL_cleanse(dv, sizeof(dv));
	BN_clear_free(d);
	EVP_PKEY_free(pk);
}

void test_crypto(void)
{
	CK_SESSION_HANDLE h = user_session(0);

	CHECK(h != 0, "user session");
	if (!h)
		return;
	test_signatures(h);
	test_state_machine(h);
	test_rsa_decrypt(h);
	test_aes(h);
	test_digests(h);
	test_ecdh(h);
	test_import(h);
	CHECK_RV(f->C_CloseSession(h), CKR_OK);
}
