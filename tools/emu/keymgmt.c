// SPDX-License-Identifier: GPL-2.0
/*
 * Keys made on the chip or brought to it: generation, wrapping (RFC 3394
 * and RFC 5649 under an AES key), unwrapping, and ECDH derivation, with
 * the attributes that record where a key came from (LOCAL,
 * ALWAYS_SENSITIVE, NEVER_EXTRACTABLE, KEY_GEN_MECHANISM).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "keystore.h"

#define WRAP_MAX	8192	/* largest key image: RSA-4096 PKCS#8 ~2.4 KiB */

/* Provenance of a key: generated keys keep their record, others start clean. */
static int provenance(struct ks_tmpl *t, bool local, uint32_t genmech,
		      bool always_sens, bool never_extr)
{
	int r = 0;
	bool secret_class = ks_tmpl_find(t, CKA_SENSITIVE) != NULL;

	r |= ks_tmpl_set_bool(t, CKA_LOCAL, local);
	if (local)
		r |= ks_tmpl_set_ulong(t, CKA_KEY_GEN_MECHANISM, genmech);
	if (secret_class) {
		r |= ks_tmpl_set_bool(t, CKA_ALWAYS_SENSITIVE, always_sens &&
				      ks_tmpl_bool(t, CKA_SENSITIVE) == 1);
		r |= ks_tmpl_set_bool(t, CKA_NEVER_EXTRACTABLE, never_extr &&
				      ks_tmpl_bool(t, CKA_EXTRACTABLE) == 0);
	}
	return r;
}

static uint32_t class_of(const struct ks_tmpl *t, uint64_t dflt, uint64_t *cls)
{
	if (!ks_tmpl_ulong(t, CKA_CLASS, cls))
		*cls = dflt;
	return *cls == dflt ? BCFW_S_OK : KS_CKR(CKR_TEMPLATE_INCONSISTENT);
}

uint32_t ks_generate_key(const struct ks_caller *c, const struct ks_mech *m,
			 struct ks_tmpl *t, uint32_t *handle)
{
	uint8_t key[32];
	uint64_t cls, vl;
	uint32_t st;

	if (m->mech != CKM_AES_KEY_GEN) {
		st = KS_CKR(CKR_MECHANISM_INVALID);
		goto fail;
	}
	if (m->param_len) {
		st = KS_CKR(CKR_MECHANISM_PARAM_INVALID);
		goto fail;
	}
	st = class_of(t, CKO_SECRET_KEY, &cls);
	if (!st)
		st = ks_attrs_check(t, cls, CKK_AES, KS_GENERATE);
	if (!st && !ks_tmpl_ulong(t, CKA_VALUE_LEN, &vl))
		st = KS_CKR(CKR_TEMPLATE_INCOMPLETE);
	if (!st && vl != 16 && vl != 24 && vl != 32)
		st = KS_CKR(CKR_KEY_SIZE_RANGE);
	if (!st)
		st = ks_obj_may_create(c, t, CKO_SECRET_KEY);
	if (st)
		goto fail;
	if (RAND_bytes(key, (int)vl) != 1 ||
	    ks_tmpl_set(t, CKA_VALUE, key, vl) ||
	    ks_attrs_defaults(t, CKO_SECRET_KEY, CKK_AES) ||
	    provenance(t, true, CKM_AES_KEY_GEN, true, true)) {
		OPENSSL_cleanse(key, sizeof(key));
		st = BCFW_S_INTERNAL;
		goto fail;
	}
	OPENSSL_cleanse(key, sizeof(key));
	return ks_obj_publish(c, t, NULL, handle);
fail:
	ks_tmpl_free(t);
	return st;
}

static EVP_PKEY *gen_rsa(uint64_t bits, const struct ks_attr *e)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	BIGNUM *bn = e ? BN_bin2bn(e->val, (int)e->len, NULL) : NULL;
	EVP_PKEY *pkey = NULL;

	if (ctx && EVP_PKEY_keygen_init(ctx) == 1 &&
	    EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, (int)bits) == 1 &&
	    (!bn || EVP_PKEY_CTX_set1_rsa_keygen_pubexp(ctx, bn) == 1) &&
	    EVP_PKEY_keygen(ctx, &pkey) != 1)
		pkey = NULL;
	BN_free(bn);
	EVP_PKEY_CTX_free(ctx);
	return pkey;
}

uint32_t ks_generate_key_pair(const struct ks_caller *c,
			      const struct ks_mech *m, struct ks_tmpl *pub,
			      struct ks_tmpl *priv, uint32_t *hpub,
			      uint32_t *hpriv)
{
	const struct ks_attr *params = NULL, *pp, *e;
	EVP_PKEY *pkey = NULL;
	uint64_t ktype, cls, bits = 0;
	const char *curve = NULL;
	uint32_t st;

	switch (m->mech) {
	case CKM_EC_KEY_PAIR_GEN: ktype = CKK_EC; break;
	case CKM_EC_EDWARDS_KEY_PAIR_GEN: ktype = CKK_EC_EDWARDS; break;
	case CKM_RSA_PKCS_KEY_PAIR_GEN: ktype = CKK_RSA; break;
	default:
		st = KS_CKR(CKR_MECHANISM_INVALID);
		goto fail;
	}
	st = m->param_len ? KS_CKR(CKR_MECHANISM_PARAM_INVALID) : BCFW_S_OK;
	if (!st)
		st = class_of(pub, CKO_PUBLIC_KEY, &cls);
	if (!st)
		st = class_of(priv, CKO_PRIVATE_KEY, &cls);
	if (!st)
		st = ks_attrs_check(pub, CKO_PUBLIC_KEY, ktype, KS_GENERATE);
	if (!st)
		st = ks_attrs_check(priv, CKO_PRIVATE_KEY, ktype, KS_GENERATE);
	if (st)
		goto fail;
	if (ktype == CKK_RSA) {
		e = ks_tmpl_find(pub, CKA_PUBLIC_EXPONENT);
		if (ks_tmpl_find(pub, CKA_EC_PARAMS) ||
		    ks_tmpl_find(priv, CKA_EC_PARAMS))
			st = KS_CKR(CKR_TEMPLATE_INCONSISTENT);
		else if (!ks_tmpl_ulong(pub, CKA_MODULUS_BITS, &bits))
			st = KS_CKR(CKR_TEMPLATE_INCOMPLETE);
		else if (bits < 2048 || bits > 4096 || bits % 8)
			st = KS_CKR(CKR_KEY_SIZE_RANGE);
		else if (e && (!e->len || e->len > 8 ||
			       !(e->val[e->len - 1] & 1)))
			st = KS_CKR(CKR_ATTRIBUTE_VALUE_INVALID);
	} else {
		params = ks_tmpl_find(pub, CKA_EC_PARAMS);
		pp = ks_tmpl_find(priv, CKA_EC_PARAMS);
		if (!params)
			params = pp;
		if (!params)
			st = KS_CKR(CKR_TEMPLATE_INCOMPLETE);
		else if (pp && (pp->len != params->len ||
				memcmp(pp->val, params->val, pp->len)))
			st = KS_CKR(CKR_TEMPLATE_INCONSISTENT);
		else if (ks_tmpl_find(pub, CKA_MODULUS_BITS) ||
			 ks_tmpl_find(pub, CKA_PUBLIC_EXPONENT))
			st = KS_CKR(CKR_TEMPLATE_INCONSISTENT);
		else if (!(curve = ks_curve_of_params(params->val,
						      params->len)))
			st = KS_CKR(CKR_CURVE_NOT_SUPPORTED);
		else if ((ktype == CKK_EC_EDWARDS) !=
			 !strcmp(curve, "ED25519"))
			st = KS_CKR(CKR_TEMPLATE_INCONSISTENT);
	}
	if (!st)
		st = ks_obj_may_create(c, pub, CKO_PUBLIC_KEY);
	if (!st)
		st = ks_obj_may_create(c, priv, CKO_PRIVATE_KEY);
	if (st)
		goto fail;

	if (ktype == CKK_RSA)
		pkey = gen_rsa(bits, ks_tmpl_find(pub, CKA_PUBLIC_EXPONENT));
	else if (ktype == CKK_EC)
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve);
	else
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (!pkey) {
		st = KS_CKR(CKR_FUNCTION_FAILED);
		goto fail;
	}
	if (ks_key_to_attrs(pkey, CKO_PUBLIC_KEY, pub) ||
	    ks_key_to_attrs(pkey, CKO_PRIVATE_KEY, priv) ||
	    ks_attrs_defaults(pub, CKO_PUBLIC_KEY, ktype) ||
	    ks_attrs_defaults(priv, CKO_PRIVATE_KEY, ktype) ||
	    provenance(pub, true, m->mech, true, true) ||
	    provenance(priv, true, m->mech, true, true)) {
		st = BCFW_S_INTERNAL;
		goto fail;
	}
	EVP_PKEY_free(pkey);
	pkey = NULL;
	st = ks_obj_publish(c, pub, NULL, hpub);
	if (st) {
		ks_tmpl_free(priv);
		return st;
	}
	st = ks_obj_publish(c, priv, NULL, hpriv);
	if (st)
		ks_obj_destroy(c, *hpub);
	return st;
fail:
	EVP_PKEY_free(pkey);
	ks_tmpl_free(pub);
	ks_tmpl_free(priv);
	return st;
}

/* ---- wrapping ---- */

static const EVP_CIPHER *wrap_cipher(uint32_t mech, size_t key_len)
{
	if (mech == CKM_AES_KEY_WRAP)
		return key_len == 16 ? EVP_aes_128_wrap() :
			key_len == 24 ? EVP_aes_192_wrap() : EVP_aes_256_wrap();
	return key_len == 16 ? EVP_aes_128_wrap_pad() :
		key_len == 24 ? EVP_aes_192_wrap_pad() :
		EVP_aes_256_wrap_pad();
}

/* The wrapping key for @m, checked for @usage. */
static uint32_t wrapping_key(const struct ks_caller *c,
			     const struct ks_mech *m, uint32_t handle,
			     uint32_t usage, struct ks_obj **out)
{
	struct ks_obj *k;
	uint32_t st;
	size_t ivl = m->mech == CKM_AES_KEY_WRAP ? 8 : 4;

	*out = NULL;
	if (m->mech != CKM_AES_KEY_WRAP && m->mech != CKM_AES_KEY_WRAP_PAD)
		return KS_CKR(CKR_MECHANISM_INVALID);
	if (m->param_len && m->param_len != ivl)
		return KS_CKR(CKR_MECHANISM_PARAM_INVALID);
	st = ks_obj_get(c, handle, true, &k);
	if (st)
		return usage == CKA_WRAP ? KS_CKR(CKR_WRAPPING_KEY_HANDLE_INVALID) :
			KS_CKR(CKR_UNWRAPPING_KEY_HANDLE_INVALID);
	if (k->cls != CKO_SECRET_KEY || k->ktype != CKK_AES)
		st = KS_CKR(usage == CKA_WRAP ?
			    CKR_WRAPPING_KEY_TYPE_INCONSISTENT :
			    CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT);
	else if (!ks_obj_bool(k, usage))
		st = KS_CKR(CKR_KEY_FUNCTION_NOT_PERMITTED);
	if (st) {
		ks_obj_put(k);
		return st;
	}
	*out = k;
	return BCFW_S_OK;
}

/* AES key wrap or unwrap of @in into malloc'd *out. */
static uint32_t aes_wrap(const struct ks_mech *m, struct ks_obj *k, bool enc,
			 const uint8_t *in, size_t in_len, uint8_t **out,
			 size_t *out_len)
{
	EVP_CIPHER_CTX *cx = EVP_CIPHER_CTX_new();
	size_t cap = in_len + 16;
	uint8_t *buf = malloc(cap);
	int n = 0, f = 0;
	uint32_t st = BCFW_S_INTERNAL;

	if (!cx || !buf)
		goto out;
	EVP_CIPHER_CTX_set_flags(cx, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
	if (EVP_CipherInit_ex(cx, wrap_cipher(m->mech, k->secret_len), NULL,
			      k->secret, m->param_len ? m->param : NULL,
			      enc) != 1)
		goto out;
	if (EVP_CipherUpdate(cx, buf, &n, in, (int)in_len) != 1 ||
	    EVP_CipherFinal_ex(cx, buf + n, &f) != 1) {
		st = KS_CKR(enc ? CKR_KEY_SIZE_RANGE : CKR_WRAPPED_KEY_INVALID);
		goto out;
	}
	*out = buf;
	*out_len = (size_t)n + (size_t)f;
	buf = NULL;
	st = BCFW_S_OK;
out:
	if (buf) {
		OPENSSL_cleanse(buf, cap);
		free(buf);
	}
	EVP_CIPHER_CTX_free(cx);
	return st;
}

/* The key's image to wrap: secret value, or PKCS#8 DER. */
static uint32_t key_image(struct ks_obj *o, uint8_t **img, size_t *len)
{
	PKCS8_PRIV_KEY_INFO *p8;
	uint8_t *der = NULL;
	int n;

	if (o->cls == CKO_SECRET_KEY) {
		*img = malloc(o->secret_len);
		if (!*img)
			return BCFW_S_INTERNAL;
		memcpy(*img, o->secret, o->secret_len);
		*len = o->secret_len;
		return BCFW_S_OK;
	}
	p8 = EVP_PKEY2PKCS8(o->pkey);
	if (!p8)
		return BCFW_S_INTERNAL;
	n = i2d_PKCS8_PRIV_KEY_INFO(p8, &der);
	PKCS8_PRIV_KEY_INFO_free(p8);
	if (n <= 0)
		return BCFW_S_INTERNAL;
	*img = malloc((size_t)n + 8);
	if (!*img) {
		OPENSSL_clear_free(der, (size_t)n);
		return BCFW_S_INTERNAL;
	}
	memcpy(*img, der, (size_t)n);
	OPENSSL_clear_free(der, (size_t)n);
	*len = (size_t)n;
	return BCFW_S_OK;
}

uint32_t ks_wrap_key(const struct ks_caller *c, const struct ks_mech *m,
		     uint32_t wrapping, uint32_t key, uint8_t *out, size_t cap,
		     size_t *olen)
{
	struct ks_obj *k = NULL, *o = NULL;
	uint8_t *img = NULL, *w = NULL;
	size_t img_len = 0, wl = 0, want;
	uint32_t st;

	*olen = 0;
	st = wrapping_key(c, m, wrapping, CKA_WRAP, &k);
	if (st)
		return st;
	st = ks_obj_get(c, key, true, &o);
	if (st)
		goto out;
	if (o->cls != CKO_SECRET_KEY && o->cls != CKO_PRIVATE_KEY)
		st = KS_CKR(CKR_KEY_NOT_WRAPPABLE);
	else if (!ks_obj_bool(o, CKA_EXTRACTABLE))
		st = KS_CKR(CKR_KEY_UNEXTRACTABLE);
	else if (ks_obj_bool(o, CKA_WRAP_WITH_TRUSTED) &&
		 !ks_obj_bool(k, CKA_TRUSTED))
		st = KS_CKR(CKR_KEY_NOT_WRAPPABLE);
	else if (o->cls == CKO_PRIVATE_KEY && c->login != BCFW_LOGIN_USER)
		st = KS_CKR(CKR_USER_NOT_LOGGED_IN);
	if (!st)
		st = key_image(o, &img, &img_len);
	if (st)
		goto out;
	/* RFC 3394 takes whole 64-bit blocks: pad key images with zeros. */
	if (m->mech == CKM_AES_KEY_WRAP) {
		size_t padded = (img_len + 7) / 8 * 8;

		if (o->cls == CKO_SECRET_KEY && padded != img_len) {
			st = KS_CKR(CKR_KEY_SIZE_RANGE);
			goto out;
		}
		/* key_image() left room for this. */
		memset(img + img_len, 0, padded - img_len);
		img_len = padded;
	}
	want = m->mech == CKM_AES_KEY_WRAP ? img_len + 8 :
		(img_len + 7) / 8 * 8 + 8;
	*olen = want;
	if (want > cap)
		goto out;
	st = aes_wrap(m, k, true, img, img_len, &w, &wl);
	if (!st) {
		memcpy(out, w, wl);
		*olen = wl;
		free(w);
	}
out:
	if (img) {
		OPENSSL_cleanse(img, img_len);
		free(img);
	}
	ks_obj_put(o);
	ks_obj_put(k);
	return st;
}

uint32_t ks_unwrap_key(const struct ks_caller *c, const struct ks_mech *m,
		       uint32_t unwrapping, const uint8_t *in, size_t in_len,
		       struct ks_tmpl *t, uint32_t *handle)
{
	struct ks_obj *k = NULL;
	EVP_PKEY *pkey = NULL;
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	uint8_t *img = NULL;
	size_t img_len = 0;
	uint64_t cls, ktype, vl;
	uint32_t st;
	const uint8_t *p;

	st = wrapping_key(c, m, unwrapping, CKA_UNWRAP, &k);
	if (st)
		goto fail;
	if (!ks_tmpl_ulong(t, CKA_CLASS, &cls) ||
	    !ks_tmpl_ulong(t, CKA_KEY_TYPE, &ktype)) {
		st = KS_CKR(CKR_TEMPLATE_INCOMPLETE);
		goto fail;
	}
	if ((cls != CKO_SECRET_KEY && cls != CKO_PRIVATE_KEY) ||
	    (cls == CKO_SECRET_KEY && ktype != CKK_AES &&
	     ktype != CKK_GENERIC_SECRET) ||
	    (cls == CKO_PRIVATE_KEY && ktype != CKK_RSA && ktype != CKK_EC &&
	     ktype != CKK_EC_EDWARDS)) {
		st = KS_CKR(CKR_TEMPLATE_INCONSISTENT);
		goto fail;
	}
	st = ks_attrs_check(t, cls, ktype, KS_UNWRAP);
	if (!st)
		st = ks_obj_may_create(c, t, cls);
	if (!st && (in_len < 16 || in_len > WRAP_MAX))
		st = KS_CKR(CKR_WRAPPED_KEY_LEN_RANGE);
	if (!st)
		st = aes_wrap(m, k, false, in, in_len, &img, &img_len);
	if (st)
		goto fail;
	if (cls == CKO_SECRET_KEY) {
		if (ks_tmpl_ulong(t, CKA_VALUE_LEN, &vl)) {
			if (vl == 0 || vl > img_len) {
				st = KS_CKR(CKR_TEMPLATE_INCONSISTENT);
				goto fail;
			}
			img_len = vl;
		}
		if (ks_tmpl_set(t, CKA_VALUE, img, img_len)) {
			st = BCFW_S_INTERNAL;
			goto fail;
		}
	} else {
		p = img;
		p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, (long)img_len);
		pkey = p8 ? EVP_PKCS82PKEY(p8) : NULL;
		if (!pkey) {
			st = KS_CKR(CKR_WRAPPED_KEY_INVALID);
			goto fail;
		}
		if (ks_key_type_of(pkey) != ktype) {
			st = KS_CKR(CKR_TEMPLATE_INCONSISTENT);
			goto fail;
		}
		if (ks_key_to_attrs(pkey, CKO_PRIVATE_KEY, t)) {
			st = KS_CKR(CKR_WRAPPED_KEY_INVALID);
			goto fail;
		}
	}
	if (ks_attrs_defaults(t, cls, ktype) ||
	    provenance(t, false, 0, false, false)) {
		st = BCFW_S_INTERNAL;
		goto fail;
	}
	EVP_PKEY_free(pkey);
	PKCS8_PRIV_KEY_INFO_free(p8);
	OPENSSL_clear_free(img, img_len);
	ks_obj_put(k);
	return ks_obj_publish(c, t, NULL, handle);
fail:
	EVP_PKEY_free(pkey);
	PKCS8_PRIV_KEY_INFO_free(p8);
	if (img)
		OPENSSL_clear_free(img, img_len);
	ks_obj_put(k);
	ks_tmpl_free(t);
	return st;
}

/* ---- ECDH ---- */

uint32_t ks_derive_key(const struct ks_caller *c, const struct ks_mech *m,
		       uint32_t base, struct ks_tmpl *t, uint32_t *handle)
{
	struct bcfw_ecdh_params ep;
	struct ks_tmpl peer_t = { 0 };
	struct ks_obj *b = NULL;
	EVP_PKEY *peer = NULL;
	EVP_PKEY_CTX *dc = NULL;
	const struct ks_attr *params;
	uint8_t secret[80];
	size_t sl = sizeof(secret);
	unsigned int pbits;
	uint64_t cls, ktype, vl;
	uint32_t st;
	bool as, ne;

	if (m->mech != CKM_ECDH1_DERIVE) {
		st = KS_CKR(CKR_MECHANISM_INVALID);
		goto out;
	}
	if (m->param_len < sizeof(ep)) {
		st = KS_CKR(CKR_MECHANISM_PARAM_INVALID);
		goto out;
	}
	memcpy(&ep, m->param, sizeof(ep));
	if (le32toh(ep.kdf) != CKD_NULL || ep.shared_len || ep.reserved ||
	    le32toh(ep.public_len) != m->param_len - sizeof(ep)) {
		st = KS_CKR(CKR_MECHANISM_PARAM_INVALID);
		goto out;
	}
	st = class_of(t, CKO_SECRET_KEY, &cls);
	if (!st && !ks_tmpl_ulong(t, CKA_KEY_TYPE, &ktype))
		st = KS_CKR(CKR_TEMPLATE_INCOMPLETE);
	if (!st && ktype != CKK_AES && ktype != CKK_GENERIC_SECRET)
		st = KS_CKR(CKR_TEMPLATE_INCONSISTENT);
	if (!st)
		st = ks_attrs_check(t, cls, ktype, KS_DERIVE);
	if (!st)
		st = ks_obj_may_create(c, t, cls);
	if (!st)
		st = ks_obj_get(c, base, true, &b);
	if (st)
		goto out;
	if (b->cls != CKO_PRIVATE_KEY || b->ktype != CKK_EC)
		st = KS_CKR(CKR_KEY_TYPE_INCONSISTENT);
	else if (!ks_obj_bool(b, CKA_DERIVE))
		st = KS_CKR(CKR_KEY_FUNCTION_NOT_PERMITTED);
	else if (c->login != BCFW_LOGIN_USER)
		st = KS_CKR(CKR_USER_NOT_LOGGED_IN);
	if (st)
		goto out;
	pthread_mutex_lock(&b->lock);
	params = ks_tmpl_find(&b->attrs, CKA_EC_PARAMS);
	if (!params || ks_tmpl_set(&peer_t, CKA_EC_PARAMS, params->val,
				   params->len))
		st = BCFW_S_INTERNAL;
	as = ks_tmpl_bool(&b->attrs, CKA_ALWAYS_SENSITIVE) == 1;
	ne = ks_tmpl_bool(&b->attrs, CKA_NEVER_EXTRACTABLE) == 1;
	pthread_mutex_unlock(&b->lock);
	if (!st && ks_tmpl_set(&peer_t, CKA_EC_POINT, m->param + sizeof(ep),
			       le32toh(ep.public_len)))
		st = BCFW_S_INTERNAL;
	if (!st && ks_key_from_attrs(&peer_t, CKO_PUBLIC_KEY, CKK_EC, &peer,
				     &pbits))
		st = KS_CKR(CKR_MECHANISM_PARAM_INVALID);
	if (st)
		goto out;
	dc = EVP_PKEY_CTX_new(b->pkey, NULL);
	if (!dc || EVP_PKEY_derive_init(dc) != 1 ||
	    EVP_PKEY_derive_set_peer(dc, peer) != 1 ||
	    EVP_PKEY_derive(dc, secret, &sl) != 1) {
		st = KS_CKR(CKR_MECHANISM_PARAM_INVALID);
		goto out;
	}
	if (ks_tmpl_ulong(t, CKA_VALUE_LEN, &vl)) {
		if (vl == 0 || vl > sl) {
			st = KS_CKR(CKR_TEMPLATE_INCONSISTENT);
			goto out;
		}
	} else if (ktype == CKK_AES) {
		vl = sl >= 32 ? 32 : sl;
	} else {
		vl = sl;
	}
	if (ktype == CKK_AES && vl != 16 && vl != 24 && vl != 32) {
		st = KS_CKR(CKR_TEMPLATE_INCONSISTENT);
		goto out;
	}
	ks_tmpl_del(t, CKA_VALUE_LEN);
	if (ks_tmpl_set(t, CKA_VALUE, secret, vl) ||
	    ks_attrs_defaults(t, CKO_SECRET_KEY, ktype) ||
	    provenance(t, false, 0, as, ne)) {
		st = BCFW_S_INTERNAL;
		goto out;
	}
	st = ks_obj_publish(c, t, NULL, handle);
	t->n = 0;
	t->a = NULL;
out:
	OPENSSL_cleanse(secret, sizeof(secret));
	EVP_PKEY_CTX_free(dc);
	EVP_PKEY_free(peer);
	ks_tmpl_free(&peer_t);
	ks_obj_put(b);
	ks_tmpl_free(t);
	return st;
}
