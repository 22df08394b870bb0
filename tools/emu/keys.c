// SPDX-License-Identifier: GPL-2.0
/*
 * Key material and its PKCS#11 attributes, both ways: EVP_PKEY objects
 * from imported or stored attributes, and attributes from keys the chip
 * made.  Attributes are PKCS#11's encodings: big-endian integers, named
 * curve OIDs in CKA_EC_PARAMS, points as DER OCTET STRINGs.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>

#include "keystore.h"

struct curve {
	const char *name;	/* OpenSSL group name */
	int nid;
	unsigned int bits;
	const uint8_t *der;
	size_t der_len;
};

static const uint8_t oid_p256[] = {
	0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };
static const uint8_t oid_p384[] = { 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22 };
static const uint8_t oid_p521[] = { 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23 };
static const uint8_t oid_ed25519[] = { 0x06, 0x03, 0x2b, 0x65, 0x70 };
static const uint8_t str_ed25519[] = {
	0x13, 0x0c, 'e', 'd', 'w', 'a', 'r', 'd', 's', '2', '5', '5', '1', '9' };

static const struct curve curves[] = {
	{ "P-256", NID_X9_62_prime256v1, 256, oid_p256, sizeof(oid_p256) },
	{ "P-384", NID_secp384r1, 384, oid_p384, sizeof(oid_p384) },
	{ "P-521", NID_secp521r1, 521, oid_p521, sizeof(oid_p521) },
	{ "ED25519", NID_ED25519, 255, oid_ed25519, sizeof(oid_ed25519) },
	{ "ED25519", NID_ED25519, 255, str_ed25519, sizeof(str_ed25519) },
};

static const struct curve *curve_of(const uint8_t *der, size_t len)
{
	for (size_t i = 0; i < sizeof(curves) / sizeof(curves[0]); i++)
		if (len == curves[i].der_len && !memcmp(der, curves[i].der, len))
			return &curves[i];
	return NULL;
}

static const struct curve *curve_by_name(const char *name)
{
	for (size_t i = 0; i < sizeof(curves) / sizeof(curves[0]); i++)
		if (!strcmp(curves[i].name, name))
			return &curves[i];
	return NULL;
}

const char *ks_curve_of_params(const uint8_t *der, size_t len)
{
	const struct curve *c = curve_of(der, len);

	return c ? c->name : NULL;
}

static size_t point_len(const struct curve *c)
{
	return c->nid == NID_ED25519 ? 32 : 1 + 2 * (((size_t)c->bits + 7) / 8);
}

/* A DER OCTET STRING's contents, if @p[@len] is exactly one. */
static bool der_octets(const uint8_t *p, size_t len, const uint8_t **in,
		       size_t *in_len)
{
	size_t n, hl;

	if (len < 2 || p[0] != 0x04)
		return false;
	if (p[1] < 0x80) {
		n = p[1];
		hl = 2;
	} else if (p[1] == 0x81 && len >= 3) {
		n = p[2];
		hl = 3;
	} else if (p[1] == 0x82 && len >= 4) {
		n = (size_t)p[2] << 8 | p[3];
		hl = 4;
	} else {
		return false;
	}
	if (hl + n != len)
		return false;
	*in = p + hl;
	*in_len = n;
	return true;
}

static int der_wrap_octets(const uint8_t *in, size_t n, uint8_t *out,
			   size_t *out_len)
{
	size_t hl = 0;

	out[hl++] = 0x04;
	if (n < 0x80) {
		out[hl++] = (uint8_t)n;
	} else if (n < 0x100) {
		out[hl++] = 0x81;
		out[hl++] = (uint8_t)n;
	} else {
		return -EINVAL;
	}
	memcpy(out + hl, in, n);
	*out_len = hl + n;
	return 0;
}

bool ks_ec_point_raw(const uint8_t *p, size_t len, const uint8_t **raw,
		     size_t *raw_len)
{
	if (der_octets(p, len, raw, raw_len))
		return true;
	*raw = p;
	*raw_len = len;
	return true;
}

/* The raw point of @c in CKA_EC_POINT @p: DER preferred, raw tolerated. */
static bool point_of(const struct curve *c, const uint8_t *p, size_t len,
		     const uint8_t **raw, size_t *raw_len)
{
	size_t want = point_len(c);

	if (der_octets(p, len, raw, raw_len) && *raw_len == want)
		return true;
	if (len == want && (c->nid == NID_ED25519 || p[0] == 0x04)) {
		*raw = p;
		*raw_len = len;
		return true;
	}
	return false;
}

uint64_t ks_key_type_of(EVP_PKEY *pkey)
{
	switch (EVP_PKEY_get_base_id(pkey)) {
	case EVP_PKEY_RSA:
		return CKK_RSA;
	case EVP_PKEY_EC:
		return CKK_EC;
	case EVP_PKEY_ED25519:
		return CKK_EC_EDWARDS;
	default:
		return ~0ull;
	}
}

static const struct ks_attr *need(const struct ks_tmpl *t, uint32_t type,
				  uint32_t *st)
{
	const struct ks_attr *a = ks_tmpl_find(t, type);

	if ((!a || !a->len) && !*st)
		*st = KS_CKR(CKR_TEMPLATE_INCOMPLETE);
	return a && a->len ? a : NULL;
}

static BIGNUM *bn_of(const struct ks_attr *a)
{
	return a ? BN_bin2bn(a->val, (int)a->len, NULL) : NULL;
}

static EVP_PKEY *from_data(const char *alg, int sel, OSSL_PARAM_BLD *bld)
{
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, alg, NULL);
	EVP_PKEY *pkey = NULL;

	if (params && ctx && EVP_PKEY_fromdata_init(ctx) == 1 &&
	    EVP_PKEY_fromdata(ctx, &pkey, sel, params) != 1)
		pkey = NULL;
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return pkey;
}

/* pub = priv * G, uncompressed. */
static int ec_pub_of(const struct curve *c, const BIGNUM *priv, uint8_t *out,
		     size_t *out_len)
{
	EC_GROUP *g = EC_GROUP_new_by_curve_name(c->nid);
	EC_POINT *pt = g ? EC_POINT_new(g) : NULL;
	int ret = -EINVAL;

	if (pt && BN_cmp(priv, EC_GROUP_get0_order(g)) < 0 &&
	    !BN_is_zero(priv) && !BN_is_negative(priv) &&
	    EC_POINT_mul(g, pt, priv, NULL, NULL, NULL) == 1) {
		*out_len = EC_POINT_point2oct(g, pt,
					      POINT_CONVERSION_UNCOMPRESSED,
					      out, 200, NULL);
		if (*out_len)
			ret = 0;
	}
	EC_POINT_free(pt);
	EC_GROUP_free(g);
	return ret;
}

static uint32_t ec_key(const struct ks_tmpl *t, uint64_t cls, uint64_t ktype,
		       EVP_PKEY **pkey, unsigned int *bits)
{
	const struct ks_attr *params, *val = NULL, *pt = NULL;
	const struct curve *c;
	OSSL_PARAM_BLD *bld = NULL;
	BIGNUM *priv = NULL;
	uint8_t pub[200];
	const uint8_t *raw;
	size_t raw_len, pub_len;
	uint32_t st = BCFW_S_OK;

	params = need(t, CKA_EC_PARAMS, &st);
	if (cls == CKO_PRIVATE_KEY)
		val = need(t, CKA_VALUE, &st);
	else
		pt = need(t, CKA_EC_POINT, &st);
	if (st)
		return st;
	c = curve_of(params->val, params->len);
	if (!c || (ktype == CKK_EC) != (c->nid != NID_ED25519))
		return KS_CKR(ktype == CKK_EC ? CKR_CURVE_NOT_SUPPORTED :
			      CKR_ATTRIBUTE_VALUE_INVALID);
	*bits = c->bits;
	if (c->nid == NID_ED25519) {
		if (val && val->len == 32)
			*pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519,
							     NULL, val->val,
							     32);
		else if (pt && point_of(c, pt->val, pt->len, &raw, &raw_len))
			*pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519,
							    NULL, raw, 32);
		else
			return KS_CKR(CKR_ATTRIBUTE_VALUE_INVALID);
		return *pkey ? BCFW_S_OK : KS_CKR(CKR_ATTRIBUTE_VALUE_INVALID);
	}
	bld = OSSL_PARAM_BLD_new();
	if (!bld)
		return BCFW_S_INTERNAL;
	if (val) {
		priv = bn_of(val);
		if (!priv || ec_pub_of(c, priv, pub, &pub_len)) {
			st = KS_CKR(CKR_ATTRIBUTE_VALUE_INVALID);
			goto out;
		}
		raw = pub;
		raw_len = pub_len;
	} else if (!point_of(c, pt->val, pt->len, &raw, &raw_len)) {
		st = KS_CKR(CKR_ATTRIBUTE_VALUE_INVALID);
		goto out;
	}
	if (!OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
					     c->name, 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
					      raw, raw_len) ||
	    (priv && !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY,
					     priv))) {
		st = BCFW_S_INTERNAL;
		goto out;
	}
	*pkey = from_data("EC", priv ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY,
			  bld);
	if (!*pkey)
		st = KS_CKR(CKR_ATTRIBUTE_VALUE_INVALID);
out:
	BN_clear_free(priv);
	OSSL_PARAM_BLD_free(bld);
	OPENSSL_cleanse(pub, sizeof(pub));
	return st;
}

static uint32_t rsa_key(struct ks_tmpl *t, uint64_t cls, EVP_PKEY **pkey,
			unsigned int *bits)
{
	static const struct {
		uint32_t type;
		const char *name;
	} parts[] = {
		{ CKA_MODULUS, OSSL_PKEY_PARAM_RSA_N },
		{ CKA_PUBLIC_EXPONENT, OSSL_PKEY_PARAM_RSA_E },
		{ CKA_PRIVATE_EXPONENT, OSSL_PKEY_PARAM_RSA_D },
		{ CKA_PRIME_1, OSSL_PKEY_PARAM_RSA_FACTOR1 },
		{ CKA_PRIME_2, OSSL_PKEY_PARAM_RSA_FACTOR2 },
		{ CKA_EXPONENT_1, OSSL_PKEY_PARAM_RSA_EXPONENT1 },
		{ CKA_EXPONENT_2, OSSL_PKEY_PARAM_RSA_EXPONENT2 },
		{ CKA_COEFFICIENT, OSSL_PKEY_PARAM_RSA_COEFFICIENT1 },
	};
	BIGNUM *bn[8] = { 0 };
	unsigned int nparts = cls == CKO_PRIVATE_KEY ? 8 : 2, have_crt = 0;
	OSSL_PARAM_BLD *bld;
	uint32_t st = BCFW_S_OK;
	int nbits;

	need(t, CKA_MODULUS, &st);
	need(t, CKA_PUBLIC_EXPONENT, &st);
	if (cls == CKO_PRIVATE_KEY)
		need(t, CKA_PRIVATE_EXPONENT, &st);
	if (st)
		return st;
	bld = OSSL_PARAM_BLD_new();
	if (!bld)
		return BCFW_S_INTERNAL;
	for (unsigned int i = 0; i < nparts; i++) {
		const struct ks_attr *a = ks_tmpl_find(t, parts[i].type);

		if (!a || !a->len)
			continue;
		bn[i] = bn_of(a);
		if (!bn[i] || !OSSL_PARAM_BLD_push_BN(bld, parts[i].name,
						      bn[i])) {
			st = BCFW_S_INTERNAL;
			goto out;
		}
		if (i >= 3)
			have_crt++;
	}
	/* CRT parts: all or none. */
	if (have_crt && have_crt != 5) {
		st = KS_CKR(CKR_TEMPLATE_INCOMPLETE);
		goto out;
	}
	nbits = BN_num_bits(bn[0]);
	if (nbits < 1024 || nbits > 4096 || !BN_is_odd(bn[1])) {
		st = KS_CKR(CKR_KEY_SIZE_RANGE);
		goto out;
	}
	*bits = (unsigned int)nbits;
	*pkey = from_data("RSA", cls == CKO_PRIVATE_KEY ? EVP_PKEY_KEYPAIR :
			  EVP_PKEY_PUBLIC_KEY, bld);
	if (!*pkey)
		st = KS_CKR(CKR_ATTRIBUTE_VALUE_INVALID);
	else if (cls == CKO_PUBLIC_KEY && !ks_tmpl_find(t, CKA_MODULUS_BITS) &&
		 ks_tmpl_set_ulong(t, CKA_MODULUS_BITS, *bits))
		st = BCFW_S_INTERNAL;
out:
	for (unsigned int i = 0; i < 8; i++)
		BN_clear_free(bn[i]);
	OSSL_PARAM_BLD_free(bld);
	return st;
}

uint32_t ks_key_from_attrs(struct ks_tmpl *t, uint64_t cls, uint64_t ktype,
			   EVP_PKEY **pkey, unsigned int *bits)
{
	const struct ks_attr *v;
	uint64_t vl;

	*pkey = NULL;
	*bits = 0;
	if (cls == CKO_SECRET_KEY) {
		v = ks_tmpl_find(t, CKA_VALUE);
		if (!v || !v->len)
			return KS_CKR(CKR_TEMPLATE_INCOMPLETE);
		if (ktype == CKK_AES && v->len != 16 && v->len != 24 &&
		    v->len != 32)
			return KS_CKR(CKR_ATTRIBUTE_VALUE_INVALID);
		if (ktype != CKK_AES && ktype != CKK_GENERIC_SECRET)
			return KS_CKR(CKR_ATTRIBUTE_VALUE_INVALID);
		if (v->len > 512)
			return KS_CKR(CKR_ATTRIBUTE_VALUE_INVALID);
		if (ks_tmpl_ulong(t, CKA_VALUE_LEN, &vl) && vl != v->len)
			return KS_CKR(CKR_TEMPLATE_INCONSISTENT);
		*bits = v->len;
		return ks_tmpl_set_ulong(t, CKA_VALUE_LEN, v->len) ?
			BCFW_S_INTERNAL : BCFW_S_OK;
	}
	if (cls != CKO_PUBLIC_KEY && cls != CKO_PRIVATE_KEY)
		return BCFW_S_OK;
	switch (ktype) {
	case CKK_EC:
	case CKK_EC_EDWARDS:
		return ec_key(t, cls, ktype, pkey, bits);
	case CKK_RSA:
		return rsa_key(t, cls, pkey, bits);
	default:
		return KS_CKR(CKR_ATTRIBUTE_VALUE_INVALID);
	}
}

static int set_bn(EVP_PKEY *pkey, const char *name, struct ks_tmpl *t,
		  uint32_t type, int pad)
{
	BIGNUM *bn = NULL;
	uint8_t *buf;
	int n, ret;

	if (EVP_PKEY_get_bn_param(pkey, name, &bn) != 1)
		return -EINVAL;
	n = pad ? pad : BN_num_bytes(bn);
	buf = malloc((size_t)n + 1);
	if (!buf) {
		BN_clear_free(bn);
		return -ENOMEM;
	}
	ret = BN_bn2binpad(bn, buf, n) == n ?
		ks_tmpl_set(t, type, buf, (size_t)n) : -EINVAL;
	OPENSSL_cleanse(buf, (size_t)n);
	free(buf);
	BN_clear_free(bn);
	return ret;
}

static int ec_attrs(EVP_PKEY *pkey, uint64_t cls, struct ks_tmpl *t)
{
	char name[32];
	const struct curve *c;
	uint8_t pub[200], der[210];
	size_t pub_len, der_len;
	int ret;

	if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_ED25519) {
		c = curve_by_name("ED25519");
		pub_len = 32;
		if (cls == CKO_PRIVATE_KEY) {
			uint8_t seed[32];
			size_t sl = sizeof(seed);

			if (EVP_PKEY_get_raw_private_key(pkey, seed, &sl) != 1)
				return -EINVAL;
			ret = ks_tmpl_set(t, CKA_VALUE, seed, sl);
			OPENSSL_cleanse(seed, sizeof(seed));
		} else {
			ret = EVP_PKEY_get_raw_public_key(pkey, pub,
							  &pub_len) == 1 ?
				0 : -EINVAL;
		}
	} else {
		if (EVP_PKEY_get_utf8_string_param(pkey,
						   OSSL_PKEY_PARAM_GROUP_NAME,
						   name, sizeof(name),
						   NULL) != 1)
			return -EINVAL;
		c = NULL;
		if (!strcmp(name, "prime256v1") || !strcmp(name, "P-256"))
			c = curve_by_name("P-256");
		else if (!strcmp(name, "secp384r1") || !strcmp(name, "P-384"))
			c = curve_by_name("P-384");
		else if (!strcmp(name, "secp521r1") || !strcmp(name, "P-521"))
			c = curve_by_name("P-521");
		if (!c)
			return -EINVAL;
		if (cls == CKO_PRIVATE_KEY)
			ret = set_bn(pkey, OSSL_PKEY_PARAM_PRIV_KEY, t,
				     CKA_VALUE, (int)(c->bits + 7) / 8);
		else
			ret = EVP_PKEY_get_octet_string_param(
				pkey, OSSL_PKEY_PARAM_PUB_KEY, pub,
				sizeof(pub), &pub_len) == 1 ? 0 : -EINVAL;
	}
	if (ret)
		return ret;
	ret = ks_tmpl_set(t, CKA_EC_PARAMS, c->der, c->der_len);
	if (!ret && cls == CKO_PUBLIC_KEY) {
		ret = der_wrap_octets(pub, pub_len, der, &der_len);
		if (!ret)
			ret = ks_tmpl_set(t, CKA_EC_POINT, der, der_len);
	}
	return ret;
}

int ks_key_to_attrs(EVP_PKEY *pkey, uint64_t cls, struct ks_tmpl *t)
{
	int ret;

	if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA)
		return ec_attrs(pkey, cls, t);
	ret = set_bn(pkey, OSSL_PKEY_PARAM_RSA_N, t, CKA_MODULUS, 0);
	if (!ret)
		ret = set_bn(pkey, OSSL_PKEY_PARAM_RSA_E, t,
			     CKA_PUBLIC_EXPONENT, 0);
	if (!ret && cls == CKO_PUBLIC_KEY)
		ret = ks_tmpl_set_ulong(t, CKA_MODULUS_BITS,
					(uint64_t)EVP_PKEY_get_bits(pkey));
	if (ret || cls != CKO_PRIVATE_KEY)
		return ret;
	ret = set_bn(pkey, OSSL_PKEY_PARAM_RSA_D, t, CKA_PRIVATE_EXPONENT, 0);
	/* Keys unwrapped without CRT parts simply lack them. */
	if (!ret && set_bn(pkey, OSSL_PKEY_PARAM_RSA_FACTOR1, t,
			   CKA_PRIME_1, 0) == 0) {
		ret = set_bn(pkey, OSSL_PKEY_PARAM_RSA_FACTOR2, t,
			     CKA_PRIME_2, 0);
		if (!ret)
			ret = set_bn(pkey, OSSL_PKEY_PARAM_RSA_EXPONENT1, t,
				     CKA_EXPONENT_1, 0);
		if (!ret)
			ret = set_bn(pkey, OSSL_PKEY_PARAM_RSA_EXPONENT2, t,
				     CKA_EXPONENT_2, 0);
		if (!ret)
			ret = set_bn(pkey, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, t,
				     CKA_COEFFICIENT, 0);
	}
	return ret;
}
