// SPDX-License-Identifier: Apache-2.0
/*
 * ECDSA and RSA (PKCS#1 v1.5, PSS) signatures with chip keys.  Digests are
 * computed in software (what is signed is not secret); only the signature
 * of the digest is made on the chip.  Verification, which needs only the
 * public half, is the default provider's.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/params.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "bcprov_int.h"


struct sigctx {
	struct bcprov_ctx *prov;
	int rsa;			/* else ECDSA */
	int op;				/* EVP_PKEY_OP_SIGN or _VERIFY */
	struct bcprov_key *key;
	EVP_MD *md;			/* NULL: none chosen */
	EVP_MD_CTX *mdctx;		/* digest_sign/verify in progress */
	int pad;			/* RSA_PKCS1_PADDING, RSA_PKCS1_PSS_PADDING */
	int saltlen;			/* RSA_PSS_SALTLEN_* or bytes */
	EVP_MD *mgf1;			/* NULL: same as md */
};

static void *newctx(void *provctx, int rsa)
{
	struct sigctx *c = calloc(1, sizeof(*c));

	if (!c) {
		bcprov_err(provctx, BCPROV_R_MEMORY, "signature context");
		return NULL;
	}
	c->prov = provctx;
	c->rsa = rsa;
	c->pad = RSA_PKCS1_PADDING;
	c->saltlen = RSA_PSS_SALTLEN_AUTO;
	return c;
}

static void *ecdsa_newctx(void *provctx, const char *propq)
{
	(void)propq;
	return newctx(provctx, 0);
}

static void *rsa_newctx(void *provctx, const char *propq)
{
	(void)propq;
	return newctx(provctx, 1);
}

static void freectx(void *vctx)
{
	struct sigctx *c = vctx;

	if (!c)
		return;
	bcprov_key_free(c->key);
	EVP_MD_free(c->md);
	EVP_MD_free(c->mgf1);
	EVP_MD_CTX_free(c->mdctx);
	free(c);
}

/* OpenSSL 3.0 copies contexts, e.g. in every EVP_DigestSignFinal(). */
static void *dupctx(void *vctx)
{
	struct sigctx *c = vctx, *d = malloc(sizeof(*d));

	if (!d)
		return NULL;
	*d = *c;
	d->mdctx = NULL;
	bcprov_key_ref(d->key);
	if (d->md)
		EVP_MD_up_ref(d->md);
	if (d->mgf1)
		EVP_MD_up_ref(d->mgf1);
	if (c->mdctx) {
		d->mdctx = EVP_MD_CTX_new();
		if (!d->mdctx || !EVP_MD_CTX_copy_ex(d->mdctx, c->mdctx)) {
			freectx(d);
			return NULL;
		}
	}
	return d;
}

static int set_md(struct sigctx *c, const char *name)
{
	EVP_MD *md = EVP_MD_fetch(c->prov->libctx, name, BCPROV_DEFAULT_PROPQ);

	if (!md) {
		bcprov_err(c->prov, BCPROV_R_BAD_PARAM, "no digest %s", name);
		return 0;
	}
	EVP_MD_free(c->md);
	c->md = md;
	return 1;
}

static int set_params(void *vctx, const OSSL_PARAM params[]);

static int init(struct sigctx *c, void *keydata, const OSSL_PARAM params[],
		int op)
{
	struct bcprov_key *key = keydata;

	if (!key || (c->rsa != (key->type == EVP_PKEY_RSA)) || !key->pub) {
		bcprov_err(c->prov, BCPROV_R_BAD_PARAM, "wrong key type");
		return 0;
	}
	if (op == EVP_PKEY_OP_SIGN && !key->has_priv && !key->soft_priv) {
		bcprov_err(c->prov, BCPROV_R_NO_PRIVATE_KEY,
			   "not a key on the chip");
		return 0;
	}
	bcprov_key_free(c->key);
	c->key = bcprov_key_ref(key);
	c->op = op;
	EVP_MD_CTX_free(c->mdctx);
	c->mdctx = NULL;
	return set_params(c, params);
}

static int sign_init(void *vctx, void *key, const OSSL_PARAM params[])
{
	return init(vctx, key, params, EVP_PKEY_OP_SIGN);
}

static int verify_init(void *vctx, void *key, const OSSL_PARAM params[])
{
	return init(vctx, key, params, EVP_PKEY_OP_VERIFY);
}

static size_t sig_size(const struct sigctx *c)
{
	return (size_t)EVP_PKEY_get_size(c->key->pub);
}

/* The PSS salt length the signature will have, in bytes. */
static int pss_saltlen(const struct sigctx *c)
{
	int hlen = EVP_MD_get_size(c->md);
	int emlen = (c->key->bits - 1 + 7) / 8;

	if (c->saltlen == RSA_PSS_SALTLEN_DIGEST)
		return hlen;
	if (c->saltlen == RSA_PSS_SALTLEN_MAX ||
	    c->saltlen == RSA_PSS_SALTLEN_AUTO)
		return emlen - hlen - 2;
	return c->saltlen;
}

static int ecdsa_sign_digest(struct sigctx *c, unsigned char *sig,
			     size_t *siglen, size_t sigsize,
			     const unsigned char *dgst, size_t dlen)
{
	CK_MECHANISM mech = { CKM_ECDSA, NULL, 0 };
	unsigned char raw[2 * 66];
	size_t n = ((size_t)c->key->bits + 7) / 8, rawlen = sizeof(raw);
	ECDSA_SIG *es = NULL;
	BIGNUM *r, *s;
	unsigned char *p = sig;
	int len, ok = 0;

	/* ECDSA uses the leftmost bits of a longer digest. */
	if (dlen > n)
		dlen = n;
	if (2 * n > sizeof(raw) ||
	    !bcprov_key_private_op(c->key, 1, &mech, dgst, dlen, raw, &rawlen))
		return 0;
	if (rawlen != 2 * n) {
		bcprov_err(c->prov, BCPROV_R_CHIP, "ECDSA signature of %zu bytes",
			   rawlen);
		return 0;
	}
	r = BN_bin2bn(raw, (int)n, NULL);
	s = BN_bin2bn(raw + n, (int)n, NULL);
	es = ECDSA_SIG_new();
	if (!r || !s || !es || !ECDSA_SIG_set0(es, r, s)) {
		BN_free(r);
		BN_free(s);
		goto out;
	}
	len = i2d_ECDSA_SIG(es, NULL);
	if (len <= 0 || (size_t)len > sigsize) {
		bcprov_err(c->prov, BCPROV_R_BAD_PARAM, "signature buffer");
		goto out;
	}
	*siglen = (size_t)i2d_ECDSA_SIG(es, &p);
	ok = 1;
out:
	ECDSA_SIG_free(es);
	return ok;
}

/* PKCS#1 v1.5 signs DigestInfo(digest algorithm, digest). */
static int digest_info(const EVP_MD *md, const unsigned char *dgst,
		       size_t dlen, unsigned char **out)
{
	X509_SIG *xs = X509_SIG_new();
	X509_ALGOR *alg;
	ASN1_OCTET_STRING *os;
	int len = -1;

	if (!xs)
		return -1;
	X509_SIG_getm(xs, &alg, &os);
	if (X509_ALGOR_set0(alg, OBJ_nid2obj(EVP_MD_get_type(md)),
			    V_ASN1_NULL, NULL) &&
	    ASN1_OCTET_STRING_set(os, dgst, (int)dlen))
		len = i2d_X509_SIG(xs, out);
	X509_SIG_free(xs);
	return len;
}

static int rsa_sign_digest(struct sigctx *c, unsigned char *sig,
			   size_t *siglen, size_t sigsize,
			   const unsigned char *dgst, size_t dlen)
{
	CK_MECHANISM mech = { CKM_RSA_PKCS, NULL, 0 };
	CK_RSA_PKCS_PSS_PARAMS pss;
	unsigned char *di = NULL;
	size_t need = sig_size(c);
	int ok, len;

	if (sigsize < need) {
		bcprov_err(c->prov, BCPROV_R_BAD_PARAM, "signature buffer");
		return 0;
	}
	*siglen = sigsize;	/* the room, for the chip */
	if (c->md && dlen != (size_t)EVP_MD_get_size(c->md)) {
		bcprov_err(c->prov, BCPROV_R_BAD_PARAM,
			   "digest of %zu bytes for %s", dlen,
			   EVP_MD_get0_name(c->md));
		return 0;
	}
	if (c->pad == RSA_PKCS1_PSS_PADDING) {
		if (!c->md && !set_md(c, "SHA1"))
			return 0;
		pss.hash_alg = bcprov_ck_hash(c->md, &pss.mgf);
		if (pss.hash_alg == CK_UNAVAILABLE_INFORMATION ||
		    bcprov_ck_hash(c->mgf1 ? c->mgf1 : c->md, &pss.mgf) ==
			    CK_UNAVAILABLE_INFORMATION ||
		    pss_saltlen(c) < 0) {
			bcprov_err(c->prov, BCPROV_R_UNSUPPORTED,
				   "PSS with %s", EVP_MD_get0_name(c->md));
			return 0;
		}
		pss.s_len = (unsigned long)pss_saltlen(c);
		mech = (CK_MECHANISM){ CKM_RSA_PKCS_PSS, &pss, sizeof(pss) };
		return bcprov_key_private_op(c->key, 1, &mech, dgst, dlen, sig,
					     siglen);
	}
	if (c->pad != RSA_PKCS1_PADDING) {
		bcprov_err(c->prov, BCPROV_R_UNSUPPORTED,
			   "RSA padding mode %d", c->pad);
		return 0;
	}
	if (!c->md)	/* the caller made the DigestInfo, or wants raw */
		return bcprov_key_private_op(c->key, 1, &mech, dgst, dlen, sig,
					     siglen);
	len = digest_info(c->md, dgst, dlen, &di);
	if (len <= 0) {
		bcprov_err(c->prov, BCPROV_R_MEMORY, "DigestInfo");
		return 0;
	}
	ok = bcprov_key_private_op(c->key, 1, &mech, di, (size_t)len, sig,
				   siglen);
	OPENSSL_free(di);
	return ok;
}

static EVP_PKEY_CTX *shadow(struct sigctx *c, int sign);

static int sign(void *vctx, unsigned char *sig, size_t *siglen,
		size_t sigsize, const unsigned char *tbs, size_t tbslen)
{
	struct sigctx *c = vctx;

	if (!c->key || c->op != EVP_PKEY_OP_SIGN)
		return 0;
	if (!sig) {
		*siglen = sig_size(c);
		return 1;
	}
	if (bcprov_key_is_soft(c->key)) {
		EVP_PKEY_CTX *pc = shadow(c, 1);
		int ok;

		*siglen = sigsize;
		ok = pc && EVP_PKEY_sign(pc, sig, siglen, tbs, tbslen) > 0;
		EVP_PKEY_CTX_free(pc);
		return ok;
	}
	return c->rsa ? rsa_sign_digest(c, sig, siglen, sigsize, tbs, tbslen)
		      : ecdsa_sign_digest(c, sig, siglen, sigsize, tbs, tbslen);
}

/*
 * The default provider's context for our parameters and public half (to
 * verify, or describe the algorithm), or for a software key (to sign).
 */
static EVP_PKEY_CTX *shadow(struct sigctx *c, int sign)
{
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_pkey(c->prov->libctx,
						      c->key->pub,
						      BCPROV_DEFAULT_PROPQ);
	OSSL_PARAM p[5], *q = p;
	int saltlen = 0;

	if (!pc ||
	    (sign ? EVP_PKEY_sign_init(pc) : EVP_PKEY_verify_init(pc)) <= 0)
		goto fail;
	if (c->md)
		*q++ = OSSL_PARAM_construct_utf8_string(
			OSSL_SIGNATURE_PARAM_DIGEST,
			(char *)EVP_MD_get0_name(c->md), 0);
	if (c->rsa) {
		*q++ = OSSL_PARAM_construct_int(OSSL_SIGNATURE_PARAM_PAD_MODE,
						&c->pad);
		if (c->pad == RSA_PKCS1_PSS_PADDING && c->md) {
			/* Verification of "auto" would accept any salt. */
			saltlen = c->op == EVP_PKEY_OP_SIGN ?
				  pss_saltlen(c) : c->saltlen;
			*q++ = OSSL_PARAM_construct_int(
				OSSL_SIGNATURE_PARAM_PSS_SALTLEN, &saltlen);
			if (c->mgf1)
				*q++ = OSSL_PARAM_construct_utf8_string(
					OSSL_SIGNATURE_PARAM_MGF1_DIGEST,
					(char *)EVP_MD_get0_name(c->mgf1), 0);
		}
	}
	*q = OSSL_PARAM_construct_end();
	if (EVP_PKEY_CTX_set_params(pc, p) <= 0)
		goto fail;
	return pc;
fail:
	EVP_PKEY_CTX_free(pc);
	return NULL;
}

static int verify(void *vctx, const unsigned char *sig, size_t siglen,
		  const unsigned char *tbs, size_t tbslen)
{
	struct sigctx *c = vctx;
	EVP_PKEY_CTX *pc;
	int ret;

	if (!c->key)
		return 0;
	pc = shadow(c, 0);
	if (!pc)
		return 0;
	ret = EVP_PKEY_verify(pc, sig, siglen, tbs, tbslen);
	EVP_PKEY_CTX_free(pc);
	return ret == 1;
}

static int dinit(struct sigctx *c, const char *mdname, void *key,
		 const OSSL_PARAM params[], int op)
{
	if (!init(c, key, params, op))
		return 0;
	if (mdname && *mdname && !set_md(c, mdname))
		return 0;
	if (!c->md && !set_md(c, "SHA256"))
		return 0;
	c->mdctx = EVP_MD_CTX_new();
	if (!c->mdctx || !EVP_DigestInit_ex2(c->mdctx, c->md, NULL)) {
		bcprov_err(c->prov, BCPROV_R_MEMORY, "digest");
		return 0;
	}
	return 1;
}

static int dsign_init(void *vctx, const char *mdname, void *key,
		      const OSSL_PARAM params[])
{
	return dinit(vctx, mdname, key, params, EVP_PKEY_OP_SIGN);
}

static int dverify_init(void *vctx, const char *mdname, void *key,
			const OSSL_PARAM params[])
{
	return dinit(vctx, mdname, key, params, EVP_PKEY_OP_VERIFY);
}

static int dupdate(void *vctx, const unsigned char *data, size_t len)
{
	struct sigctx *c = vctx;

	return c->mdctx && EVP_DigestUpdate(c->mdctx, data, len);
}

static int dsign_final(void *vctx, unsigned char *sig, size_t *siglen,
		       size_t sigsize)
{
	struct sigctx *c = vctx;
	unsigned char dgst[EVP_MAX_MD_SIZE];
	unsigned int dlen;

	if (!c->mdctx)
		return 0;
	if (!sig) {
		*siglen = sig_size(c);
		return 1;
	}
	if (!EVP_DigestFinal_ex(c->mdctx, dgst, &dlen))
		return 0;
	return sign(c, sig, siglen, sigsize, dgst, dlen);
}

static int dverify_final(void *vctx, const unsigned char *sig,
			 size_t siglen)
{
	struct sigctx *c = vctx;
	unsigned char dgst[EVP_MAX_MD_SIZE];
	unsigned int dlen;

	if (!c->mdctx || !EVP_DigestFinal_ex(c->mdctx, dgst, &dlen))
		return 0;
	return verify(c, sig, siglen, dgst, dlen);
}

/* One-shot: what EVP_DigestSign() calls, with no context copy. */
static int dsign(void *vctx, unsigned char *sig, size_t *siglen,
		 size_t sigsize, const unsigned char *tbs, size_t tbslen)
{
	struct sigctx *c = vctx;

	if (!sig) {
		if (!c->key)
			return 0;
		*siglen = sig_size(c);
		return 1;
	}
	return dupdate(c, tbs, tbslen) && dsign_final(c, sig, siglen, sigsize);
}

static int dverify(void *vctx, const unsigned char *sig, size_t siglen,
		   const unsigned char *tbs, size_t tbslen)
{
	return dupdate(vctx, tbs, tbslen) && dverify_final(vctx, sig, siglen);
}

static int pad_from_param(const OSSL_PARAM *p, int *pad)
{
	static const struct { const char *name; int pad; } names[] = {
		{ OSSL_PKEY_RSA_PAD_MODE_PKCSV15, RSA_PKCS1_PADDING },
		{ OSSL_PKEY_RSA_PAD_MODE_PSS, RSA_PKCS1_PSS_PADDING },
		{ OSSL_PKEY_RSA_PAD_MODE_NONE, RSA_NO_PADDING },
	};

	if (p->data_type == OSSL_PARAM_UTF8_STRING) {
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (!strcmp(p->data, names[i].name)) {
				*pad = names[i].pad;
				return 1;
			}
		return 0;
	}
	return OSSL_PARAM_get_int(p, pad);
}

static int saltlen_from_param(const OSSL_PARAM *p, int *saltlen)
{
	if (p->data_type == OSSL_PARAM_UTF8_STRING) {
		const char *s = p->data;

		if (!strcmp(s, OSSL_PKEY_RSA_PSS_SALT_LEN_DIGEST))
			*saltlen = RSA_PSS_SALTLEN_DIGEST;
		else if (!strcmp(s, OSSL_PKEY_RSA_PSS_SALT_LEN_MAX))
			*saltlen = RSA_PSS_SALTLEN_MAX;
		else if (!strcmp(s, OSSL_PKEY_RSA_PSS_SALT_LEN_AUTO))
			*saltlen = RSA_PSS_SALTLEN_AUTO;
		else
			*saltlen = atoi(s);
		return 1;
	}
	return OSSL_PARAM_get_int(p, saltlen);
}

static int set_params(void *vctx, const OSSL_PARAM params[])
{
	struct sigctx *c = vctx;
	const OSSL_PARAM *p;
	const char *s;

	if (!params)
		return 1;
	p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_DIGEST);
	if (p) {
		if (!OSSL_PARAM_get_utf8_string_ptr(p, &s) || !set_md(c, s))
			return 0;
		/* A digest set after digest_sign_init restarts hashing. */
		if (c->mdctx && !EVP_DigestInit_ex2(c->mdctx, c->md, NULL))
			return 0;
	}
	if (!c->rsa)
		return 1;
	p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_PAD_MODE);
	if (p && !pad_from_param(p, &c->pad)) {
		bcprov_err(c->prov, BCPROV_R_BAD_PARAM, "pad-mode");
		return 0;
	}
	p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_PSS_SALTLEN);
	if (p && !saltlen_from_param(p, &c->saltlen)) {
		bcprov_err(c->prov, BCPROV_R_BAD_PARAM, "saltlen");
		return 0;
	}
	p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_MGF1_DIGEST);
	if (p) {
		EVP_MD *md;

		if (!OSSL_PARAM_get_utf8_string_ptr(p, &s))
			return 0;
		md = EVP_MD_fetch(c->prov->libctx, s, BCPROV_DEFAULT_PROPQ);
		if (!md) {
			bcprov_err(c->prov, BCPROV_R_BAD_PARAM,
				   "no digest %s", s);
			return 0;
		}
		EVP_MD_free(c->mgf1);
		c->mgf1 = md;
	}
	return 1;
}

static const OSSL_PARAM *ecdsa_settable(void *vctx, void *provctx)
{
	static const OSSL_PARAM p[] = {
		OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, NULL, 0),
		OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PROPERTIES, NULL,
				       0),
		OSSL_PARAM_END
	};

	(void)vctx;
	(void)provctx;
	return p;
}

static const OSSL_PARAM *rsa_settable(void *vctx, void *provctx)
{
	static const OSSL_PARAM p[] = {
		OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, NULL, 0),
		OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PROPERTIES, NULL,
				       0),
		OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PAD_MODE, NULL, 0),
		OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PSS_SALTLEN, NULL,
				       0),
		OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_MGF1_DIGEST, NULL,
				       0),
		OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_MGF1_PROPERTIES,
				       NULL, 0),
		OSSL_PARAM_END
	};

	(void)vctx;
	(void)provctx;
	return p;
}

static int get_params(void *vctx, OSSL_PARAM params[])
{
	struct sigctx *c = vctx;
	OSSL_PARAM *p;

	p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_ALGORITHM_ID);
	if (p) {
		/*
		 * The AlgorithmIdentifier of what we sign (certificates,
		 * CSRs, CMS) is what the default provider's verifier of the
		 * same key and parameters describes.
		 */
		OSSL_PARAM q[2];
		unsigned char aid[256];
		EVP_PKEY_CTX *pc;

		if (!c->key || !c->md)
			goto no_aid;	/* nothing to describe yet */
		pc = shadow(c, 0);
		q[0] = OSSL_PARAM_construct_octet_string(
			OSSL_SIGNATURE_PARAM_ALGORITHM_ID, aid, sizeof(aid));
		q[1] = OSSL_PARAM_construct_end();
		if (!pc || EVP_PKEY_CTX_get_params(pc, q) <= 0 ||
		    !OSSL_PARAM_modified(&q[0]) ||
		    !OSSL_PARAM_set_octet_string(p, aid, q[0].return_size)) {
			EVP_PKEY_CTX_free(pc);
			return 0;
		}
		EVP_PKEY_CTX_free(pc);
	}
no_aid:
	p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_DIGEST);
	if (p && c->md &&
	    !OSSL_PARAM_set_utf8_string(p, EVP_MD_get0_name(c->md)))
		return 0;
	if (!c->rsa)
		return 1;
	p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_PAD_MODE);
	if (p) {
		if (p->data_type == OSSL_PARAM_INTEGER) {
			if (!OSSL_PARAM_set_int(p, c->pad))
				return 0;
		} else if (!OSSL_PARAM_set_utf8_string(p,
				c->pad == RSA_PKCS1_PSS_PADDING ?
				OSSL_PKEY_RSA_PAD_MODE_PSS :
				OSSL_PKEY_RSA_PAD_MODE_PKCSV15)) {
			return 0;
		}
	}
	p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_PSS_SALTLEN);
	if (p && p->data_type == OSSL_PARAM_INTEGER &&
	    !OSSL_PARAM_set_int(p, c->saltlen))
		return 0;
	p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_MGF1_DIGEST);
	if (p && (c->mgf1 || c->md) &&
	    !OSSL_PARAM_set_utf8_string(p, EVP_MD_get0_name(c->mgf1 ? c->mgf1
								     : c->md)))
		return 0;
	return 1;
}

static const OSSL_PARAM *gettable(void *vctx, void *provctx)
{
	static const OSSL_PARAM p[] = {
		OSSL_PARAM_octet_string(OSSL_SIGNATURE_PARAM_ALGORITHM_ID,
					NULL, 0),
		OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, NULL, 0),
		OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PAD_MODE, NULL, 0),
		OSSL_PARAM_int(OSSL_SIGNATURE_PARAM_PSS_SALTLEN, NULL),
		OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_MGF1_DIGEST, NULL,
				       0),
		OSSL_PARAM_END
	};

	(void)vctx;
	(void)provctx;
	return p;
}

#define FN(id, f) { OSSL_FUNC_SIGNATURE_##id, (void (*)(void))(f) }
#define COMMON							\
	FN(FREECTX, freectx),					\
	FN(DUPCTX, dupctx),					\
	FN(SIGN_INIT, sign_init),				\
	FN(SIGN, sign),						\
	FN(VERIFY_INIT, verify_init),				\
	FN(VERIFY, verify),					\
	FN(DIGEST_SIGN_INIT, dsign_init),			\
	FN(DIGEST_SIGN_UPDATE, dupdate),			\
	FN(DIGEST_SIGN_FINAL, dsign_final),			\
	FN(DIGEST_SIGN, dsign),					\
	FN(DIGEST_VERIFY_INIT, dverify_init),			\
	FN(DIGEST_VERIFY_UPDATE, dupdate),			\
	FN(DIGEST_VERIFY_FINAL, dverify_final),			\
	FN(DIGEST_VERIFY, dverify),				\
	FN(GET_CTX_PARAMS, get_params),				\
	FN(GETTABLE_CTX_PARAMS, gettable),			\
	FN(SET_CTX_PARAMS, set_params)

const OSSL_DISPATCH bcprov_ecdsa_signature_functions[] = {
	FN(NEWCTX, ecdsa_newctx),
	COMMON,
	FN(SETTABLE_CTX_PARAMS, ecdsa_settable),
	{ 0, NULL }
};

const OSSL_DISPATCH bcprov_rsa_signature_functions[] = {
	FN(NEWCTX, rsa_newctx),
	COMMON,
	FN(SETTABLE_CTX_PARAMS, rsa_settable),
	{ 0, NULL }
};
