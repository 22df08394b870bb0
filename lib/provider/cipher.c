// SPDX-License-Identifier: Apache-2.0
/*
 * RSA decryption (OAEP, PKCS#1 v1.5, and the TLS RSA key exchange's
 * variant) with chip keys.  Encryption needs only the public half and is
 * the default provider's.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "bcprov_int.h"

#define TLS_PREMASTER 48

struct cctx {
	struct bcprov_ctx *prov;
	struct bcprov_key *key;
	int pad;
	EVP_MD *oaep_md;		/* NULL: SHA-1 */
	EVP_MD *mgf1;			/* NULL: same as oaep_md */
	unsigned char *label;
	size_t label_len;
	unsigned int client_version, negotiated_version;
};

static void *newctx(void *provctx)
{
	struct cctx *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->prov = provctx;
	c->pad = RSA_PKCS1_PADDING;
	return c;
}

static void freectx(void *vctx)
{
	struct cctx *c = vctx;

	if (!c)
		return;
	bcprov_key_free(c->key);
	EVP_MD_free(c->oaep_md);
	EVP_MD_free(c->mgf1);
	OPENSSL_free(c->label);
	free(c);
}

static void *dupctx(void *vctx)
{
	struct cctx *c = vctx, *d = malloc(sizeof(*d));

	if (!d)
		return NULL;
	*d = *c;
	d->label = NULL;
	if (c->label && !(d->label = OPENSSL_memdup(c->label, c->label_len))) {
		free(d);
		return NULL;
	}
	bcprov_key_ref(d->key);
	if (d->oaep_md)
		EVP_MD_up_ref(d->oaep_md);
	if (d->mgf1)
		EVP_MD_up_ref(d->mgf1);
	return d;
}

static int set_params(void *vctx, const OSSL_PARAM params[]);
static int delegate(struct cctx *c, int enc, unsigned char *out,
		    size_t *outlen, size_t outsize, const unsigned char *in,
		    size_t inlen);

static int init(struct cctx *c, struct bcprov_key *key,
		const OSSL_PARAM params[], int priv)
{
	if (!key || key->type != EVP_PKEY_RSA || !key->pub ||
	    (priv && !key->has_priv && !key->soft_priv)) {
		bcprov_err(c->prov, BCPROV_R_NO_PRIVATE_KEY,
			   "not an RSA key on the chip");
		return 0;
	}
	bcprov_key_free(c->key);
	c->key = bcprov_key_ref(key);
	return set_params(c, params);
}

static int decrypt_init(void *vctx, void *key, const OSSL_PARAM params[])
{
	return init(vctx, key, params, 1);
}

static int encrypt_init(void *vctx, void *key, const OSSL_PARAM params[])
{
	return init(vctx, key, params, 0);
}

static int chip_decrypt(struct cctx *c, CK_MECHANISM *mech,
			const unsigned char *in, size_t inlen,
			unsigned char *buf, size_t *len)
{
	return bcprov_key_private_op(c->key, 0, mech, in, inlen, buf, len);
}

static int decrypt(void *vctx, unsigned char *out, size_t *outlen,
		   size_t outsize, const unsigned char *in, size_t inlen)
{
	struct cctx *c = vctx;
	size_t modlen, len;
	unsigned char *buf;
	CK_MECHANISM mech = { CKM_RSA_PKCS, NULL, 0 };
	CK_RSA_PKCS_OAEP_PARAMS oaep;
	int ok;

	if (!c->key)
		return 0;
	if (out && bcprov_key_is_soft(c->key))
		return delegate(c, 0, out, outlen, outsize, in, inlen);
	modlen = (size_t)EVP_PKEY_get_size(c->key->pub);
	if (!out) {
		*outlen = c->pad == RSA_PKCS1_WITH_TLS_PADDING ? TLS_PREMASTER
							       : modlen;
		return 1;
	}
	if (c->pad == RSA_PKCS1_OAEP_PADDING) {
		CK_RSA_PKCS_MGF_TYPE mgf_of_md;
		const EVP_MD *md = c->oaep_md;

		if (!md && !(c->oaep_md = EVP_MD_fetch(c->prov->libctx, "SHA1",
						       BCPROV_DEFAULT_PROPQ)))
			return 0;
		md = c->oaep_md;
		oaep.hash_alg = bcprov_ck_hash(md, &mgf_of_md);
		if (oaep.hash_alg == CK_UNAVAILABLE_INFORMATION ||
		    bcprov_ck_hash(c->mgf1 ? c->mgf1 : md, &oaep.mgf) ==
			    CK_UNAVAILABLE_INFORMATION) {
			bcprov_err(c->prov, BCPROV_R_UNSUPPORTED, "OAEP with %s",
				   EVP_MD_get0_name(md));
			return 0;
		}
		oaep.source = CKZ_DATA_SPECIFIED;
		oaep.source_data = c->label;
		oaep.source_data_len = c->label_len;
		mech = (CK_MECHANISM){ CKM_RSA_PKCS_OAEP, &oaep, sizeof(oaep) };
	} else if (c->pad != RSA_PKCS1_PADDING &&
		   c->pad != RSA_PKCS1_WITH_TLS_PADDING) {
		bcprov_err(c->prov, BCPROV_R_UNSUPPORTED, "RSA padding mode %d",
			   c->pad);
		return 0;
	}
	/* The chip wants room for the largest plaintext. */
	buf = OPENSSL_secure_malloc(modlen);
	if (!buf)
		return 0;
	len = modlen;
	if (c->pad == RSA_PKCS1_WITH_TLS_PADDING)
		ERR_set_mark();
	ok = chip_decrypt(c, &mech, in, inlen, buf, &len);
	if (c->pad == RSA_PKCS1_WITH_TLS_PADDING) {
		/*
		 * A bad premaster secret must not be told apart from a good
		 * one (RFC 5246 7.4.7.1): use a random one and let the
		 * handshake fail at Finished.
		 */
		int good = ok && len == TLS_PREMASTER &&
			   ((unsigned int)buf[0] << 8 | buf[1]) ==
				   c->client_version;

		ERR_pop_to_mark();
		if (outsize < TLS_PREMASTER) {
			OPENSSL_secure_clear_free(buf, modlen);
			return 0;
		}
		if (good)
			memcpy(out, buf, TLS_PREMASTER);
		else if (RAND_bytes_ex(c->prov->libctx, out, TLS_PREMASTER,
				       0) != 1)
			ok = 0;
		else
			ok = 1;
		*outlen = TLS_PREMASTER;
	} else if (ok) {
		if (len > outsize) {
			bcprov_err(c->prov, BCPROV_R_BAD_PARAM,
				   "output buffer");
			ok = 0;
		} else {
			memcpy(out, buf, len);
			*outlen = len;
		}
	}
	OPENSSL_secure_clear_free(buf, modlen);
	return ok;
}

/* Encryption, and decryption with software keys: the default provider. */
static int delegate(struct cctx *c, int enc, unsigned char *out,
		    size_t *outlen, size_t outsize, const unsigned char *in,
		    size_t inlen)
{
	EVP_PKEY_CTX *pc;
	OSSL_PARAM p[7], *q = p;
	int ret = 0;

	pc = EVP_PKEY_CTX_new_from_pkey(c->prov->libctx, c->key->pub,
					BCPROV_DEFAULT_PROPQ);
	*q++ = OSSL_PARAM_construct_int(OSSL_ASYM_CIPHER_PARAM_PAD_MODE,
					&c->pad);
	if (c->oaep_md)
		*q++ = OSSL_PARAM_construct_utf8_string(
			OSSL_ASYM_CIPHER_PARAM_OAEP_DIGEST,
			(char *)EVP_MD_get0_name(c->oaep_md), 0);
	if (c->mgf1)
		*q++ = OSSL_PARAM_construct_utf8_string(
			OSSL_ASYM_CIPHER_PARAM_MGF1_DIGEST,
			(char *)EVP_MD_get0_name(c->mgf1), 0);
	if (c->label)
		*q++ = OSSL_PARAM_construct_octet_string(
			OSSL_ASYM_CIPHER_PARAM_OAEP_LABEL, c->label,
			c->label_len);
	if (c->pad == RSA_PKCS1_WITH_TLS_PADDING) {
		*q++ = OSSL_PARAM_construct_uint(
			OSSL_ASYM_CIPHER_PARAM_TLS_CLIENT_VERSION,
			&c->client_version);
		*q++ = OSSL_PARAM_construct_uint(
			OSSL_ASYM_CIPHER_PARAM_TLS_NEGOTIATED_VERSION,
			&c->negotiated_version);
	}
	*q = OSSL_PARAM_construct_end();
	*outlen = outsize;
	if (pc && (enc ? EVP_PKEY_encrypt_init(pc)
		       : EVP_PKEY_decrypt_init(pc)) > 0 &&
	    EVP_PKEY_CTX_set_params(pc, p) > 0 &&
	    (enc ? EVP_PKEY_encrypt(pc, out, outlen, in, inlen)
		 : EVP_PKEY_decrypt(pc, out, outlen, in, inlen)) > 0)
		ret = 1;
	EVP_PKEY_CTX_free(pc);
	return ret;
}

static int encrypt(void *vctx, unsigned char *out, size_t *outlen,
		   size_t outsize, const unsigned char *in, size_t inlen)
{
	struct cctx *c = vctx;

	if (!c->key)
		return 0;
	if (!out) {
		*outlen = (size_t)EVP_PKEY_get_size(c->key->pub);
		return 1;
	}
	return delegate(c, 1, out, outlen, outsize, in, inlen);
}

static int fetch_md(struct cctx *c, const OSSL_PARAM *p, EVP_MD **slot)
{
	const char *s;
	EVP_MD *md;

	if (!OSSL_PARAM_get_utf8_string_ptr(p, &s))
		return 0;
	md = EVP_MD_fetch(c->prov->libctx, s, BCPROV_DEFAULT_PROPQ);
	if (!md) {
		bcprov_err(c->prov, BCPROV_R_BAD_PARAM, "no digest %s", s);
		return 0;
	}
	EVP_MD_free(*slot);
	*slot = md;
	return 1;
}

static int set_params(void *vctx, const OSSL_PARAM params[])
{
	static const struct { const char *name; int pad; } pads[] = {
		{ OSSL_PKEY_RSA_PAD_MODE_PKCSV15, RSA_PKCS1_PADDING },
		{ OSSL_PKEY_RSA_PAD_MODE_OAEP, RSA_PKCS1_OAEP_PADDING },
		{ OSSL_PKEY_RSA_PAD_MODE_NONE, RSA_NO_PADDING },
	};
	struct cctx *c = vctx;
	const OSSL_PARAM *p;

	if (!params)
		return 1;
	p = OSSL_PARAM_locate_const(params, OSSL_ASYM_CIPHER_PARAM_PAD_MODE);
	if (p) {
		int ok = 0;

		if (p->data_type == OSSL_PARAM_UTF8_STRING) {
			for (size_t i = 0; i < sizeof(pads) / sizeof(pads[0]);
			     i++)
				if (!strcmp(p->data, pads[i].name)) {
					c->pad = pads[i].pad;
					ok = 1;
				}
		} else {
			ok = OSSL_PARAM_get_int(p, &c->pad);
		}
		if (!ok) {
			bcprov_err(c->prov, BCPROV_R_BAD_PARAM, "pad-mode");
			return 0;
		}
	}
	p = OSSL_PARAM_locate_const(params, OSSL_ASYM_CIPHER_PARAM_OAEP_DIGEST);
	if (p && !fetch_md(c, p, &c->oaep_md))
		return 0;
	p = OSSL_PARAM_locate_const(params, OSSL_ASYM_CIPHER_PARAM_MGF1_DIGEST);
	if (p && !fetch_md(c, p, &c->mgf1))
		return 0;
	p = OSSL_PARAM_locate_const(params, OSSL_ASYM_CIPHER_PARAM_OAEP_LABEL);
	if (p) {
		void *label = NULL;
		size_t len = 0;

		if (!OSSL_PARAM_get_octet_string(p, &label, 0, &len))
			return 0;
		OPENSSL_free(c->label);
		c->label = label;
		c->label_len = len;
	}
	p = OSSL_PARAM_locate_const(params,
				    OSSL_ASYM_CIPHER_PARAM_TLS_CLIENT_VERSION);
	if (p && !OSSL_PARAM_get_uint(p, &c->client_version))
		return 0;
	p = OSSL_PARAM_locate_const(params,
				    OSSL_ASYM_CIPHER_PARAM_TLS_NEGOTIATED_VERSION);
	if (p && !OSSL_PARAM_get_uint(p, &c->negotiated_version))
		return 0;
	return 1;
}

static const OSSL_PARAM *settable(void *vctx, void *provctx)
{
	static const OSSL_PARAM p[] = {
		OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_PAD_MODE, NULL,
				       0),
		OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_OAEP_DIGEST,
				       NULL, 0),
		OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_MGF1_DIGEST,
				       NULL, 0),
		OSSL_PARAM_octet_string(OSSL_ASYM_CIPHER_PARAM_OAEP_LABEL,
					NULL, 0),
		OSSL_PARAM_uint(OSSL_ASYM_CIPHER_PARAM_TLS_CLIENT_VERSION,
				NULL),
		OSSL_PARAM_uint(OSSL_ASYM_CIPHER_PARAM_TLS_NEGOTIATED_VERSION,
				NULL),
		OSSL_PARAM_END
	};

	(void)vctx;
	(void)provctx;
	return p;
}

static int get_params(void *vctx, OSSL_PARAM params[])
{
	struct cctx *c = vctx;
	OSSL_PARAM *p;

	p = OSSL_PARAM_locate(params, OSSL_ASYM_CIPHER_PARAM_PAD_MODE);
	if (p && p->data_type == OSSL_PARAM_INTEGER &&
	    !OSSL_PARAM_set_int(p, c->pad))
		return 0;
	p = OSSL_PARAM_locate(params, OSSL_ASYM_CIPHER_PARAM_OAEP_DIGEST);
	if (p && !OSSL_PARAM_set_utf8_string(p, c->oaep_md ?
					     EVP_MD_get0_name(c->oaep_md) :
					     "SHA1"))
		return 0;
	p = OSSL_PARAM_locate(params, OSSL_ASYM_CIPHER_PARAM_OAEP_LABEL);
	if (p && !OSSL_PARAM_set_octet_ptr(p, c->label, c->label_len))
		return 0;
	return 1;
}

static const OSSL_PARAM *gettable(void *vctx, void *provctx)
{
	static const OSSL_PARAM p[] = {
		OSSL_PARAM_int(OSSL_ASYM_CIPHER_PARAM_PAD_MODE, NULL),
		OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_OAEP_DIGEST,
				       NULL, 0),
		OSSL_PARAM_octet_ptr(OSSL_ASYM_CIPHER_PARAM_OAEP_LABEL, NULL,
				     0),
		OSSL_PARAM_END
	};

	(void)vctx;
	(void)provctx;
	return p;
}

#define FN(id, f) { OSSL_FUNC_ASYM_CIPHER_##id, (void (*)(void))(f) }

const OSSL_DISPATCH bcprov_rsa_asym_cipher_functions[] = {
	FN(NEWCTX, newctx),
	FN(FREECTX, freectx),
	FN(DUPCTX, dupctx),
	FN(DECRYPT_INIT, decrypt_init),
	FN(DECRYPT, decrypt),
	FN(ENCRYPT_INIT, encrypt_init),
	FN(ENCRYPT, encrypt),
	FN(GET_CTX_PARAMS, get_params),
	FN(GETTABLE_CTX_PARAMS, gettable),
	FN(SET_CTX_PARAMS, set_params),
	FN(SETTABLE_CTX_PARAMS, settable),
	{ 0, NULL }
};
