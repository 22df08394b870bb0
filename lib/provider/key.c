// SPDX-License-Identifier: Apache-2.0
/*
 * Keys on the chip: finding them by reference, their public halves (built
 * in the default provider from the chip's public attributes), and the
 * private-key operations.  docs/openssl.md.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include "bcprov_int.h"

#define MAX_MATCH 2

EVP_PKEY_CTX *bcprov_default_pkey_ctx(struct bcprov_ctx *ctx,
				      const char *type)
{
	return EVP_PKEY_CTX_new_from_name(ctx->libctx, type,
					  BCPROV_DEFAULT_PROPQ);
}

/* A PKCS#11 blank-padded field equals @want. */
static int padded_eq(const unsigned char *field, size_t size,
		     const char *want)
{
	size_t n = strlen(want);

	if (n > size || memcmp(field, want, n))
		return 0;
	for (size_t i = n; i < size; i++)
		if (field[i] != ' ' && field[i] != 0)
			return 0;
	return 1;
}

static int find_slot(struct bcprov_ctx *ctx, CK_FUNCTION_LIST *f,
		     const struct bcprov_keyref *ref, CK_SLOT_ID *slot)
{
	CK_SLOT_ID *list = NULL;
	CK_ULONG n = 0;
	unsigned int found = 0;
	CK_RV rv;

	rv = f->C_GetSlotList(CK_TRUE, NULL, &n);
	if (rv == CKR_OK && n) {
		list = calloc(n, sizeof(*list));
		if (!list) {
			bcprov_err(ctx, BCPROV_R_MEMORY, "slot list");
			return 0;
		}
		rv = f->C_GetSlotList(CK_TRUE, list, &n);
	}
	if (rv != CKR_OK) {
		free(list);
		bcprov_err(ctx, BCPROV_R_CHIP, "C_GetSlotList: %s",
			   bcp11_rv_name(rv));
		return 0;
	}
	for (CK_ULONG i = 0; i < n; i++) {
		CK_TOKEN_INFO ti;

		if (f->C_GetTokenInfo(list[i], &ti) != CKR_OK)
			continue;
		if (ref->token && !padded_eq(ti.label, sizeof(ti.label),
					     ref->token))
			continue;
		if (ref->serial &&
		    !padded_eq(ti.serialNumber, sizeof(ti.serialNumber),
			       ref->serial))
			continue;
		if (!found)
			*slot = list[i];
		found++;
	}
	free(list);
	if (!found) {
		bcprov_err(ctx, BCPROV_R_NO_TOKEN, "no token%s%s%s%s",
			   ref->token ? " labelled " : "",
			   ref->token ? ref->token : "",
			   ref->serial ? " with serial " : "",
			   ref->serial ? ref->serial : "");
		return 0;
	}
	if (found > 1) {
		bcprov_err(ctx, BCPROV_R_SEVERAL_TOKENS,
			   "%u tokens match; name one with token= or serial=",
			   found);
		return 0;
	}
	return 1;
}

/* An attribute's value in a new buffer; CKR_*. */
static CK_RV get_attr(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE h,
		      CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_TYPE type,
		      unsigned char **val, size_t *len)
{
	CK_ATTRIBUTE a = { type, NULL, 0 };
	CK_RV rv;

	*val = NULL;
	rv = f->C_GetAttributeValue(h, obj, &a, 1);
	if (rv != CKR_OK)
		return rv;
	if (a.ulValueLen == CK_UNAVAILABLE_INFORMATION)
		return CKR_ATTRIBUTE_TYPE_INVALID;
	a.pValue = malloc(a.ulValueLen ? a.ulValueLen : 1);
	if (!a.pValue)
		return CKR_HOST_MEMORY;
	rv = f->C_GetAttributeValue(h, obj, &a, 1);
	if (rv != CKR_OK) {
		free(a.pValue);
		return rv;
	}
	*val = a.pValue;
	*len = a.ulValueLen;
	return CKR_OK;
}

/* Objects of @cls matching @label/@id: up to MAX_MATCH in @out. */
static CK_RV find(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE h,
		  CK_OBJECT_CLASS cls, const char *label,
		  const unsigned char *id, size_t id_len,
		  CK_OBJECT_HANDLE *out, CK_ULONG *n)
{
	CK_ATTRIBUTE t[3];
	CK_ULONG nt = 0;
	CK_RV rv;

	t[nt++] = (CK_ATTRIBUTE){ CKA_CLASS, &cls, sizeof(cls) };
	if (label)
		t[nt++] = (CK_ATTRIBUTE){ CKA_LABEL, (void *)label,
					  strlen(label) };
	if (id)
		t[nt++] = (CK_ATTRIBUTE){ CKA_ID, (void *)id, id_len };
	rv = f->C_FindObjectsInit(h, t, nt);
	if (rv != CKR_OK)
		return rv;
	rv = f->C_FindObjects(h, out, MAX_MATCH, n);
	f->C_FindObjectsFinal(h);
	return rv;
}

static EVP_PKEY *ec_public(struct bcprov_ctx *ctx, const unsigned char *par,
			   size_t parlen, const unsigned char *pt, size_t ptlen)
{
	const unsigned char *q = par;
	ASN1_OBJECT *oid = d2i_ASN1_OBJECT(NULL, &q, (long)parlen);
	ASN1_OCTET_STRING *os = NULL;
	const char *group;
	EVP_PKEY_CTX *pc = NULL;
	EVP_PKEY *pkey = NULL;
	OSSL_PARAM p[3];

	if (!oid)
		return NULL;
	group = OSSL_EC_curve_nid2name(OBJ_obj2nid(oid));
	ASN1_OBJECT_free(oid);
	if (!group)
		return NULL;
	/* CKA_EC_POINT is the DER of an OCTET STRING holding the point. */
	q = pt;
	os = d2i_ASN1_OCTET_STRING(NULL, &q, (long)ptlen);
	if (os && q == pt + ptlen) {
		pt = os->data;
		ptlen = (size_t)os->length;
	}
	p[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
						(char *)group, 0);
	p[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
						 (void *)pt, ptlen);
	p[2] = OSSL_PARAM_construct_end();
	pc = bcprov_default_pkey_ctx(ctx, "EC");
	if (!pc || EVP_PKEY_fromdata_init(pc) <= 0 ||
	    EVP_PKEY_fromdata(pc, &pkey, EVP_PKEY_PUBLIC_KEY, p) <= 0)
		pkey = NULL;
	EVP_PKEY_CTX_free(pc);
	ASN1_OCTET_STRING_free(os);
	return pkey;
}

static EVP_PKEY *rsa_public(struct bcprov_ctx *ctx, const unsigned char *n,
			    size_t nlen, const unsigned char *e, size_t elen)
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	BIGNUM *bn = BN_bin2bn(n, (int)nlen, NULL);
	BIGNUM *be = BN_bin2bn(e, (int)elen, NULL);
	OSSL_PARAM *p = NULL;
	EVP_PKEY_CTX *pc = NULL;
	EVP_PKEY *pkey = NULL;

	if (!bld || !bn || !be ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) ||
	    !(p = OSSL_PARAM_BLD_to_param(bld)))
		goto out;
	pc = bcprov_default_pkey_ctx(ctx, "RSA");
	if (!pc || EVP_PKEY_fromdata_init(pc) <= 0 ||
	    EVP_PKEY_fromdata(pc, &pkey, EVP_PKEY_PUBLIC_KEY, p) <= 0)
		pkey = NULL;
out:
	EVP_PKEY_CTX_free(pc);
	OSSL_PARAM_free(p);
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn);
	BN_free(be);
	return pkey;
}

/* The public key in @obj's attributes (a private or public key object). */
static EVP_PKEY *public_from(struct bcprov_ctx *ctx, CK_FUNCTION_LIST *f,
			     CK_SESSION_HANDLE h, CK_OBJECT_HANDLE obj,
			     CK_KEY_TYPE kt)
{
	unsigned char *a = NULL, *b = NULL;
	size_t alen, blen;
	EVP_PKEY *pkey = NULL;

	if (kt == CKK_EC) {
		if (get_attr(f, h, obj, CKA_EC_PARAMS, &a, &alen) == CKR_OK &&
		    get_attr(f, h, obj, CKA_EC_POINT, &b, &blen) == CKR_OK)
			pkey = ec_public(ctx, a, alen, b, blen);
	} else {
		if (get_attr(f, h, obj, CKA_MODULUS, &a, &alen) == CKR_OK &&
		    get_attr(f, h, obj, CKA_PUBLIC_EXPONENT, &b, &blen) ==
			    CKR_OK)
			pkey = rsa_public(ctx, a, alen, b, blen);
	}
	free(a);
	free(b);
	return pkey;
}

static EVP_PKEY *public_from_cert(struct bcprov_ctx *ctx,
				  const unsigned char *der, size_t len)
{
	X509 *x = X509_new_ex(ctx->libctx, BCPROV_DEFAULT_PROPQ);
	const unsigned char *q = der;
	EVP_PKEY *pkey = NULL;

	if (x && d2i_X509(&x, &q, (long)len))
		pkey = X509_get_pubkey(x);
	X509_free(x);
	return pkey;
}

struct open_arg {
	struct bcprov_ctx *ctx;
	const struct bcprov_keyref *ref;
	CK_ULONG n;
	CK_OBJECT_HANDLE priv;
	CK_KEY_TYPE kt;
	EVP_PKEY *pub;
};

static CK_RV open_op(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE h, void *arg)
{
	struct open_arg *o = arg;
	CK_OBJECT_HANDLE objs[MAX_MATCH];
	CK_ATTRIBUTE a;
	unsigned char *id = NULL, *label = NULL, *der = NULL;
	size_t id_len = 0, label_len = 0, der_len;
	CK_ULONG n;
	CK_RV rv;

	/* A retry after a stale session starts afresh. */
	EVP_PKEY_free(o->pub);
	o->pub = NULL;
	rv = find(f, h, CKO_PRIVATE_KEY, o->ref->object, o->ref->id,
		  o->ref->id_len, objs, &o->n);
	if (rv != CKR_OK || o->n != 1)
		return rv;
	o->priv = objs[0];
	a = (CK_ATTRIBUTE){ CKA_KEY_TYPE, &o->kt, sizeof(o->kt) };
	rv = f->C_GetAttributeValue(h, o->priv, &a, 1);
	if (rv != CKR_OK)
		return rv;
	if (o->kt != CKK_EC && o->kt != CKK_RSA)
		return CKR_OK;
	/* RSA private keys carry their public half; EC keys usually not. */
	o->pub = public_from(o->ctx, f, h, o->priv, o->kt);
	if (o->pub)
		return CKR_OK;
	/* The public key or certificate beside it: same CKA_ID, else label. */
	if (get_attr(f, h, o->priv, CKA_ID, &id, &id_len) != CKR_OK ||
	    !id_len) {
		free(id);
		id = NULL;
		if (get_attr(f, h, o->priv, CKA_LABEL, &label, &label_len) !=
		    CKR_OK) {
			free(label);
			return CKR_OK;
		}
		char *l = realloc(label, label_len + 1);

		if (!l) {
			free(label);
			return CKR_HOST_MEMORY;
		}
		label = (unsigned char *)l;
		label[label_len] = 0;
	}
	rv = find(f, h, CKO_PUBLIC_KEY, (char *)label, id, id_len, objs, &n);
	if (rv == CKR_OK && n >= 1)
		o->pub = public_from(o->ctx, f, h, objs[0], o->kt);
	if (!o->pub) {
		rv = find(f, h, CKO_CERTIFICATE, (char *)label, id, id_len,
			  objs, &n);
		if (rv == CKR_OK && n >= 1 &&
		    get_attr(f, h, objs[0], CKA_VALUE, &der, &der_len) ==
			    CKR_OK)
			o->pub = public_from_cert(o->ctx, der, der_len);
	}
	free(der);
	free(id);
	free(label);
	return CKR_OK;
}

static const char *describe(const struct bcprov_keyref *ref)
{
	return ref->object ? ref->object : ref->id ? "(by id)" : "(any)";
}

struct bcprov_key *bcprov_key_open(struct bcprov_ctx *ctx,
				   const struct bcprov_keyref *ref)
{
	struct open_arg o = { .ctx = ctx, .ref = ref };
	struct bcprov_key *key;
	char why[300];
	CK_FUNCTION_LIST *f;
	CK_SLOT_ID slot;
	CK_RV rv;

	f = bcp11_functions(ctx->p11, &rv, why, sizeof(why));
	if (!f) {
		bcprov_err(ctx, BCPROV_R_CHIP, "PKCS#11 module %s: %s",
			   ctx->module, why);
		return NULL;
	}
	if (!find_slot(ctx, f, ref, &slot))
		return NULL;
	rv = bcp11_run(ctx->p11, slot, 1, ref->pin, open_op, &o);
	if (rv != CKR_OK) {
		EVP_PKEY_free(o.pub);
		bcprov_err(ctx, rv == CKR_PIN_INCORRECT ||
				   rv == CKR_PIN_LOCKED ||
				   rv == CKR_PIN_LEN_RANGE ?
				   BCPROV_R_LOGIN_FAILED : BCPROV_R_CHIP,
			   "key %s: %s", describe(ref), bcp11_rv_name(rv));
		return NULL;
	}
	if (o.n == 0) {
		bcprov_err(ctx, BCPROV_R_NO_KEY, "no private key %s",
			   describe(ref));
		return NULL;
	}
	if (o.n > 1) {
		bcprov_err(ctx, BCPROV_R_SEVERAL_KEYS,
			   "several private keys match %s; add object= or id=",
			   describe(ref));
		return NULL;
	}
	if (o.kt != CKK_EC && o.kt != CKK_RSA) {
		bcprov_err(ctx, BCPROV_R_UNSUPPORTED,
			   "key %s is neither EC nor RSA", describe(ref));
		return NULL;
	}
	if (!o.pub) {
		bcprov_err(ctx, BCPROV_R_NO_PUBLIC_KEY,
			   "no public key or certificate beside key %s",
			   describe(ref));
		return NULL;
	}
	key = bcprov_key_new_public(ctx, o.pub);
	if (!key) {
		EVP_PKEY_free(o.pub);
		return NULL;
	}
	key->has_priv = 1;
	key->slot = slot;
	key->priv = o.priv;
	return key;
}

struct bcprov_key *bcprov_key_new_public(struct bcprov_ctx *ctx,
					 EVP_PKEY *pub)
{
	struct bcprov_key *key = calloc(1, sizeof(*key));

	if (!key) {
		bcprov_err(ctx, BCPROV_R_MEMORY, "key");
		return NULL;
	}
	atomic_init(&key->refs, 1);
	key->ctx = ctx;
	key->pub = pub;
	key->type = EVP_PKEY_is_a(pub, "EC") ? EVP_PKEY_EC : EVP_PKEY_RSA;
	key->bits = EVP_PKEY_get_bits(pub);
	return key;
}

struct bcprov_key *bcprov_key_ref(struct bcprov_key *key)
{
	if (key)
		atomic_fetch_add(&key->refs, 1);
	return key;
}

void bcprov_key_free(struct bcprov_key *key)
{
	if (!key || atomic_fetch_sub(&key->refs, 1) != 1)
		return;
	EVP_PKEY_free(key->pub);
	free(key);
}

const char *bcprov_key_type(const struct bcprov_key *key)
{
	return key->type == EVP_PKEY_EC ? "EC" : "RSA";
}

CK_MECHANISM_TYPE bcprov_ck_hash(const EVP_MD *md,
				 CK_RSA_PKCS_MGF_TYPE *mgf)
{
	switch (EVP_MD_get_type(md)) {
	case NID_sha1:
		*mgf = CKG_MGF1_SHA1;
		return CKM_SHA_1;
	case NID_sha224:
		*mgf = CKG_MGF1_SHA224;
		return CKM_SHA224;
	case NID_sha256:
		*mgf = CKG_MGF1_SHA256;
		return CKM_SHA256;
	case NID_sha384:
		*mgf = CKG_MGF1_SHA384;
		return CKM_SHA384;
	case NID_sha512:
		*mgf = CKG_MGF1_SHA512;
		return CKM_SHA512;
	}
	return CK_UNAVAILABLE_INFORMATION;
}

struct priv_arg {
	struct bcprov_key *key;
	int sign;
	CK_MECHANISM *mech;
	const unsigned char *in;
	size_t inlen;
	unsigned char *out;
	CK_ULONG outlen;
};

static CK_RV priv_op(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE h, void *arg)
{
	struct priv_arg *a = arg;
	CK_RV rv;

	if (a->sign) {
		rv = f->C_SignInit(h, a->mech, a->key->priv);
		if (rv == CKR_OK)
			rv = f->C_Sign(h, (CK_BYTE *)a->in, a->inlen, a->out,
				       &a->outlen);
	} else {
		rv = f->C_DecryptInit(h, a->mech, a->key->priv);
		if (rv == CKR_OK)
			rv = f->C_Decrypt(h, (CK_BYTE *)a->in, a->inlen,
					  a->out, &a->outlen);
	}
	return rv;
}

int bcprov_key_private_op(struct bcprov_key *key, int sign,
			  CK_MECHANISM *mech, const unsigned char *in,
			  size_t inlen, unsigned char *out, size_t *outlen)
{
	struct priv_arg a = { key, sign, mech, in, inlen, out, *outlen };
	CK_RV rv;

	if (!key->has_priv) {
		bcprov_err(key->ctx, BCPROV_R_NO_PRIVATE_KEY,
			   "not a key on the chip");
		return 0;
	}
	/*
	 * Callers give room for the largest result, so no call ends in
	 * CKR_BUFFER_TOO_SMALL, which would leave the operation active.
	 */
	rv = bcp11_run(key->ctx->p11, key->slot, 1, NULL, priv_op, &a);
	if (rv != CKR_OK) {
		bcprov_err(key->ctx, BCPROV_R_CHIP, "%s on the chip: %s",
			   sign ? "signing" : "decryption", bcp11_rv_name(rv));
		return 0;
	}
	*outlen = a.outlen;
	return 1;
}

struct cert_arg {
	const struct bcprov_keyref *ref;
	CK_ULONG n;
	unsigned char *der;
	size_t len;
};

static CK_RV cert_op(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE h, void *arg)
{
	struct cert_arg *c = arg;
	CK_OBJECT_HANDLE objs[MAX_MATCH];
	CK_RV rv;

	rv = find(f, h, CKO_CERTIFICATE, c->ref->object, c->ref->id,
		  c->ref->id_len, objs, &c->n);
	if (rv != CKR_OK || c->n != 1)
		return rv;
	return get_attr(f, h, objs[0], CKA_VALUE, &c->der, &c->len);
}

unsigned char *bcprov_cert_der(struct bcprov_ctx *ctx,
			       const struct bcprov_keyref *ref, size_t *len)
{
	struct cert_arg c = { .ref = ref };
	unsigned char *out;
	char why[300];
	CK_FUNCTION_LIST *f;
	CK_SLOT_ID slot;
	CK_RV rv;

	f = bcp11_functions(ctx->p11, &rv, why, sizeof(why));
	if (!f) {
		bcprov_err(ctx, BCPROV_R_CHIP, "PKCS#11 module %s: %s",
			   ctx->module, why);
		return NULL;
	}
	if (!find_slot(ctx, f, ref, &slot))
		return NULL;
	/* Certificates are public objects: a login only if a PIN is given. */
	rv = bcp11_run(ctx->p11, slot, ref->pin != NULL, ref->pin, cert_op,
		       &c);
	if (rv != CKR_OK) {
		free(c.der);
		bcprov_err(ctx, BCPROV_R_CHIP, "certificate %s: %s",
			   describe(ref), bcp11_rv_name(rv));
		return NULL;
	}
	if (c.n != 1) {
		bcprov_err(ctx, c.n ? BCPROV_R_SEVERAL_KEYS : BCPROV_R_NO_CERT,
			   "%s certificate %s", c.n ? "more than one" : "no",
			   describe(ref));
		return NULL;
	}
	out = OPENSSL_memdup(c.der, c.len);
	free(c.der);
	if (!out) {
		bcprov_err(ctx, BCPROV_R_MEMORY, "certificate");
		return NULL;
	}
	*len = c.len;
	return out;
}
