// SPDX-License-Identifier: GPL-2.0
/*
 * Attributes: parsing templates off the wire, and the chip's rules for
 * which attribute an object of which class may have, who sets it, when
 * it may change and whether its value is secret.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "keystore.h"

/* Object classes an attribute belongs to. */
#define C_DATA	0x01
#define C_CERT	0x02
#define C_PUB	0x04
#define C_PRIV	0x08
#define C_SEC	0x10
#define C_KEY	(C_PUB | C_PRIV | C_SEC)
#define C_ALL	(C_DATA | C_CERT | C_KEY)

/* Rules. */
#define R_MOD	0x01	/* SET_ATTRIBUTES may change it */
#define R_COPY	0x02	/* COPY_OBJECT may change it */
#define R_CHIP	0x04	/* only the chip sets it */
#define R_MAT	0x08	/* key material: given on import only */
#define R_GEN	0x10	/* a generation/unwrap/derive input, not an import one */
#define R_SENS	0x20	/* a secret value */
#define R_FIXED	0x40	/* given at creation, never changed */

struct attr_rule {
	uint32_t type;
	uint8_t vclass;
	uint8_t classes;
	uint8_t rules;
};

static const struct attr_rule rules[] = {
	{ CKA_CLASS, KS_V_ULONG, C_ALL, R_FIXED },
	{ CKA_TOKEN, KS_V_BOOL, C_ALL, R_COPY },
	{ CKA_PRIVATE, KS_V_BOOL, C_ALL, R_COPY },
	{ CKA_MODIFIABLE, KS_V_BOOL, C_ALL, R_COPY },
	{ CKA_COPYABLE, KS_V_BOOL, C_ALL, R_COPY },
	{ CKA_DESTROYABLE, KS_V_BOOL, C_ALL, R_MOD | R_COPY },
	{ CKA_LABEL, KS_V_BYTES, C_ALL, R_MOD | R_COPY },
	{ CKA_APPLICATION, KS_V_BYTES, C_DATA, R_MOD | R_COPY },
	{ CKA_OBJECT_ID, KS_V_BYTES, C_DATA, R_MOD | R_COPY },
	{ CKA_VALUE, KS_V_BYTES, C_DATA, R_MOD | R_COPY },
	{ CKA_VALUE, KS_V_BYTES, C_CERT, R_FIXED },
	{ CKA_VALUE, KS_V_BYTES, C_PRIV | C_SEC, R_MAT | R_SENS },
	{ CKA_CERTIFICATE_TYPE, KS_V_ULONG, C_CERT, R_FIXED },
	{ CKA_TRUSTED, KS_V_BOOL, C_CERT | C_PUB | C_SEC, R_FIXED },
	{ CKA_CERTIFICATE_CATEGORY, KS_V_ULONG, C_CERT, R_FIXED },
	{ CKA_CHECK_VALUE, KS_V_BYTES, C_CERT | C_SEC, R_FIXED },
	{ CKA_START_DATE, KS_V_DATE, C_CERT | C_KEY, R_MOD | R_COPY },
	{ CKA_END_DATE, KS_V_DATE, C_CERT | C_KEY, R_MOD | R_COPY },
	{ CKA_PUBLIC_KEY_INFO, KS_V_BYTES, C_CERT | C_PUB | C_PRIV, R_FIXED },
	{ CKA_SUBJECT, KS_V_BYTES, C_CERT, R_FIXED },
	{ CKA_SUBJECT, KS_V_BYTES, C_PUB | C_PRIV, R_MOD | R_COPY },
	{ CKA_ID, KS_V_BYTES, C_CERT | C_KEY, R_MOD | R_COPY },
	{ CKA_ISSUER, KS_V_BYTES, C_CERT, R_MOD | R_COPY },
	{ CKA_SERIAL_NUMBER, KS_V_BYTES, C_CERT, R_MOD | R_COPY },
	{ CKA_URL, KS_V_BYTES, C_CERT, R_FIXED },
	{ CKA_HASH_OF_SUBJECT_PUBLIC_KEY, KS_V_BYTES, C_CERT, R_FIXED },
	{ CKA_HASH_OF_ISSUER_PUBLIC_KEY, KS_V_BYTES, C_CERT, R_FIXED },
	{ CKA_JAVA_MIDP_SECURITY_DOMAIN, KS_V_ULONG, C_CERT, R_FIXED },
	{ CKA_NAME_HASH_ALGORITHM, KS_V_ULONG, C_CERT, R_FIXED },
	{ CKA_KEY_TYPE, KS_V_ULONG, C_KEY, R_FIXED },
	{ CKA_DERIVE, KS_V_BOOL, C_KEY, R_MOD | R_COPY },
	{ CKA_LOCAL, KS_V_BOOL, C_KEY, R_CHIP },
	{ CKA_KEY_GEN_MECHANISM, KS_V_ULONG, C_KEY, R_CHIP },
	{ CKA_ENCRYPT, KS_V_BOOL, C_PUB | C_SEC, R_MOD | R_COPY },
	{ CKA_VERIFY, KS_V_BOOL, C_PUB | C_SEC, R_MOD | R_COPY },
	{ CKA_VERIFY_RECOVER, KS_V_BOOL, C_PUB, R_MOD | R_COPY },
	{ CKA_WRAP, KS_V_BOOL, C_PUB | C_SEC, R_MOD | R_COPY },
	{ CKA_DECRYPT, KS_V_BOOL, C_PRIV | C_SEC, R_MOD | R_COPY },
	{ CKA_SIGN, KS_V_BOOL, C_PRIV | C_SEC, R_MOD | R_COPY },
	{ CKA_SIGN_RECOVER, KS_V_BOOL, C_PRIV, R_MOD | R_COPY },
	{ CKA_UNWRAP, KS_V_BOOL, C_PRIV | C_SEC, R_MOD | R_COPY },
	/* SENSITIVE and EXTRACTABLE change one way only: objects.c. */
	{ CKA_SENSITIVE, KS_V_BOOL, C_PRIV | C_SEC, R_MOD | R_COPY },
	{ CKA_EXTRACTABLE, KS_V_BOOL, C_PRIV | C_SEC, R_MOD | R_COPY },
	{ CKA_ALWAYS_SENSITIVE, KS_V_BOOL, C_PRIV | C_SEC, R_CHIP },
	{ CKA_NEVER_EXTRACTABLE, KS_V_BOOL, C_PRIV | C_SEC, R_CHIP },
	{ CKA_WRAP_WITH_TRUSTED, KS_V_BOOL, C_PRIV | C_SEC, R_FIXED },
	{ CKA_ALWAYS_AUTHENTICATE, KS_V_BOOL, C_PRIV, R_FIXED },
	{ CKA_MODULUS, KS_V_BYTES, C_PUB | C_PRIV, R_MAT },
	{ CKA_MODULUS_BITS, KS_V_ULONG, C_PUB, R_GEN },
	{ CKA_PUBLIC_EXPONENT, KS_V_BYTES, C_PUB, R_MAT | R_GEN },
	{ CKA_PUBLIC_EXPONENT, KS_V_BYTES, C_PRIV, R_MAT },
	{ CKA_PRIVATE_EXPONENT, KS_V_BYTES, C_PRIV, R_MAT | R_SENS },
	{ CKA_PRIME_1, KS_V_BYTES, C_PRIV, R_MAT | R_SENS },
	{ CKA_PRIME_2, KS_V_BYTES, C_PRIV, R_MAT | R_SENS },
	{ CKA_EXPONENT_1, KS_V_BYTES, C_PRIV, R_MAT | R_SENS },
	{ CKA_EXPONENT_2, KS_V_BYTES, C_PRIV, R_MAT | R_SENS },
	{ CKA_COEFFICIENT, KS_V_BYTES, C_PRIV, R_MAT | R_SENS },
	{ CKA_EC_PARAMS, KS_V_BYTES, C_PUB | C_PRIV, R_MAT | R_GEN },
	{ CKA_EC_POINT, KS_V_BYTES, C_PUB, R_MAT },
	{ CKA_VALUE_LEN, KS_V_ULONG, C_SEC, R_GEN },
};

static uint8_t class_bit(uint64_t cls)
{
	switch (cls) {
	case CKO_DATA: return C_DATA;
	case CKO_CERTIFICATE: return C_CERT;
	case CKO_PUBLIC_KEY: return C_PUB;
	case CKO_PRIVATE_KEY: return C_PRIV;
	case CKO_SECRET_KEY: return C_SEC;
	default: return 0;
	}
}

static const struct attr_rule *rule_of(uint64_t cls, uint32_t type)
{
	uint8_t cb = class_bit(cls);

	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
		if (rules[i].type == type && (rules[i].classes & cb))
			return &rules[i];
	return NULL;
}

enum ks_vclass ks_attr_vclass(uint32_t type)
{
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
		if (rules[i].type == type)
			return (enum ks_vclass)rules[i].vclass;
	return KS_V_BYTES;
}

static bool type_known(uint32_t type)
{
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
		if (rules[i].type == type)
			return true;
	return false;
}

bool ks_attr_sensitive(uint64_t cls, uint32_t type)
{
	const struct attr_rule *r = rule_of(cls, type);

	return r && (r->rules & R_SENS);
}

bool ks_attr_modifiable(uint64_t cls, uint32_t type)
{
	const struct attr_rule *r = rule_of(cls, type);

	return r && (r->rules & R_MOD);
}

/* ---- templates ---- */

void ks_tmpl_free(struct ks_tmpl *t)
{
	for (unsigned int i = 0; i < t->n; i++) {
		if (t->a[i].val) {
			OPENSSL_cleanse(t->a[i].val, t->a[i].len);
			free(t->a[i].val);
		}
	}
	free(t->a);
	t->a = NULL;
	t->n = 0;
}

static struct ks_attr *tmpl_slot(struct ks_tmpl *t, uint32_t type)
{
	for (unsigned int i = 0; i < t->n; i++)
		if (t->a[i].type == type)
			return &t->a[i];
	return NULL;
}

const struct ks_attr *ks_tmpl_find(const struct ks_tmpl *t, uint32_t type)
{
	return tmpl_slot((struct ks_tmpl *)t, type);
}

bool ks_tmpl_ulong(const struct ks_tmpl *t, uint32_t type, uint64_t *v)
{
	const struct ks_attr *a = ks_tmpl_find(t, type);
	uint64_t le;

	if (!a || a->len != 8)
		return false;
	memcpy(&le, a->val, 8);
	*v = le64toh(le);
	return true;
}

int ks_tmpl_bool(const struct ks_tmpl *t, uint32_t type)
{
	const struct ks_attr *a = ks_tmpl_find(t, type);

	if (!a || a->len != 1)
		return -1;
	return a->val[0] ? 1 : 0;
}

int ks_tmpl_set(struct ks_tmpl *t, uint32_t type, const void *v, size_t len)
{
	struct ks_attr *a = tmpl_slot(t, type);
	uint8_t *copy = NULL;

	if (len) {
		copy = malloc(len);
		if (!copy)
			return -ENOMEM;
		memcpy(copy, v, len);
	}
	if (!a) {
		struct ks_attr *na = realloc(t->a, (t->n + 1) * sizeof(*na));

		if (!na) {
			free(copy);
			return -ENOMEM;
		}
		t->a = na;
		a = &t->a[t->n++];
	} else if (a->val) {
		OPENSSL_cleanse(a->val, a->len);
		free(a->val);
	}
	a->type = type;
	a->len = (uint32_t)len;
	a->val = copy;
	return 0;
}

int ks_tmpl_set_ulong(struct ks_tmpl *t, uint32_t type, uint64_t v)
{
	uint64_t le = htole64(v);

	return ks_tmpl_set(t, type, &le, 8);
}

int ks_tmpl_set_bool(struct ks_tmpl *t, uint32_t type, bool v)
{
	uint8_t b = v;

	return ks_tmpl_set(t, type, &b, 1);
}

void ks_tmpl_del(struct ks_tmpl *t, uint32_t type)
{
	struct ks_attr *a = tmpl_slot(t, type);

	if (!a)
		return;
	if (a->val) {
		OPENSSL_cleanse(a->val, a->len);
		free(a->val);
	}
	*a = t->a[--t->n];
}

static bool value_ok(uint32_t type, const uint8_t *v, uint32_t len)
{
	switch (ks_attr_vclass(type)) {
	case KS_V_ULONG:
		return len == 8;
	case KS_V_BOOL:
		return len == 1 && v[0] <= 1;
	case KS_V_DATE:
		if (len == 0)
			return true;
		if (len != 8)
			return false;
		for (int i = 0; i < 8; i++)
			if (v[i] < '0' || v[i] > '9')
				return false;
		return true;
	default:
		return true;
	}
}

uint32_t ks_tmpl_parse(const uint8_t *p, size_t len, uint32_t count,
		       struct ks_tmpl *t, size_t *used)
{
	size_t off = 0;
	uint32_t st = BCFW_S_OK;

	t->n = 0;
	t->a = NULL;
	/* Each attribute takes at least 8 bytes: bounds count first. */
	if (count > len / 8)
		return BCFW_S_BAD_ARGS;
	t->a = calloc(count ? count : 1, sizeof(*t->a));
	if (!t->a)
		return BCFW_S_INTERNAL;
	for (uint32_t i = 0; i < count; i++) {
		struct bcfw_attr h;
		uint32_t type, vlen;
		size_t space;

		if (len - off < sizeof(h)) {
			st = BCFW_S_BAD_ARGS;
			break;
		}
		memcpy(&h, p + off, sizeof(h));
		type = le32toh(h.type);
		vlen = le32toh(h.len);
		if (vlen > len - off - sizeof(h)) {
			st = BCFW_S_BAD_ARGS;
			break;
		}
		space = BCFW_ATTR_SPACE((size_t)vlen);
		/* The last attribute's padding may be left off. */
		if (space > len - off && i + 1 < count) {
			st = BCFW_S_BAD_ARGS;
			break;
		}
		if (space > len - off)
			space = len - off;
		for (size_t k = sizeof(h) + vlen; k < space; k++) {
			if (p[off + k]) {
				st = BCFW_S_BAD_ARGS;
				break;
			}
		}
		if (st)
			break;
		if (tmpl_slot(t, type)) {
			st = KS_CKR(CKR_TEMPLATE_INCONSISTENT);
			break;
		}
		if (!type_known(type)) {
			st = KS_CKR(CKR_ATTRIBUTE_TYPE_INVALID);
			break;
		}
		if (!value_ok(type, p + off + sizeof(h), vlen)) {
			st = KS_CKR(CKR_ATTRIBUTE_VALUE_INVALID);
			break;
		}
		t->a[t->n].type = type;
		t->a[t->n].len = vlen;
		if (vlen) {
			t->a[t->n].val = malloc(vlen);
			if (!t->a[t->n].val) {
				st = BCFW_S_INTERNAL;
				break;
			}
			memcpy(t->a[t->n].val, p + off + sizeof(h), vlen);
		}
		t->n++;
		off += space;
	}
	if (st)
		ks_tmpl_free(t);
	else
		*used = off;
	return st;
}

uint32_t ks_attrs_check(const struct ks_tmpl *t, uint64_t cls, uint64_t ktype,
			enum ks_origin origin)
{
	uint64_t v;

	if ((origin == KS_SET || origin == KS_COPY) &&
	    (ks_tmpl_find(t, CKA_CLASS) || ks_tmpl_find(t, CKA_KEY_TYPE)))
		return KS_CKR(CKR_ATTRIBUTE_READ_ONLY);
	if (ks_tmpl_ulong(t, CKA_CLASS, &v) && v != cls)
		return KS_CKR(CKR_TEMPLATE_INCONSISTENT);
	if (ktype != ~0ull && ks_tmpl_ulong(t, CKA_KEY_TYPE, &v) && v != ktype)
		return KS_CKR(CKR_TEMPLATE_INCONSISTENT);
	for (unsigned int i = 0; i < t->n; i++) {
		const struct attr_rule *r = rule_of(cls, t->a[i].type);
		uint32_t type = t->a[i].type;

		if (!r)
			return KS_CKR(CKR_ATTRIBUTE_TYPE_INVALID);
		if (type == CKA_CLASS || type == CKA_KEY_TYPE) {
			if (origin == KS_SET || origin == KS_COPY)
				return KS_CKR(CKR_ATTRIBUTE_READ_ONLY);
			continue;
		}
		if (r->rules & R_CHIP)
			return KS_CKR(CKR_ATTRIBUTE_READ_ONLY);
		switch (origin) {
		case KS_SET:
			if (!(r->rules & R_MOD))
				return KS_CKR(CKR_ATTRIBUTE_READ_ONLY);
			break;
		case KS_COPY:
			if (!(r->rules & (R_MOD | R_COPY)))
				return KS_CKR(CKR_ATTRIBUTE_READ_ONLY);
			break;
		case KS_CREATE:
			if ((r->rules & R_GEN) && !(r->rules & R_MAT))
				return KS_CKR(CKR_TEMPLATE_INCONSISTENT);
			break;
		case KS_GENERATE:
		case KS_UNWRAP:
		case KS_DERIVE:
			if ((r->rules & R_MAT) && !(r->rules & R_GEN))
				return KS_CKR(CKR_TEMPLATE_INCONSISTENT);
			/* Key sizes and curves of unwrapped keys come inside. */
			if (origin != KS_GENERATE && (r->rules & R_MAT))
				return KS_CKR(CKR_TEMPLATE_INCONSISTENT);
			break;
		}
	}
	if (ks_tmpl_bool(t, CKA_ALWAYS_AUTHENTICATE) == 1)
		return KS_CKR(CKR_ATTRIBUTE_VALUE_INVALID);
	return BCFW_S_OK;
}

static int dflt_bool(struct ks_tmpl *t, uint32_t type, bool v)
{
	if (ks_tmpl_find(t, type))
		return 0;
	return ks_tmpl_set_bool(t, type, v);
}

static int dflt_bytes(struct ks_tmpl *t, uint32_t type)
{
	if (ks_tmpl_find(t, type))
		return 0;
	return ks_tmpl_set(t, type, NULL, 0);
}

int ks_attrs_defaults(struct ks_tmpl *t, uint64_t cls, uint64_t ktype)
{
	bool secret = cls == CKO_PRIVATE_KEY || cls == CKO_SECRET_KEY;
	int r = 0;

	r |= ks_tmpl_set_ulong(t, CKA_CLASS, cls);
	r |= dflt_bool(t, CKA_TOKEN, false);
	r |= dflt_bool(t, CKA_PRIVATE, secret);
	r |= dflt_bool(t, CKA_MODIFIABLE, true);
	r |= dflt_bool(t, CKA_COPYABLE, true);
	r |= dflt_bool(t, CKA_DESTROYABLE, true);
	r |= dflt_bytes(t, CKA_LABEL);
	switch (cls) {
	case CKO_DATA:
		r |= dflt_bytes(t, CKA_APPLICATION);
		r |= dflt_bytes(t, CKA_OBJECT_ID);
		r |= dflt_bytes(t, CKA_VALUE);
		break;
	case CKO_CERTIFICATE:
		r |= dflt_bool(t, CKA_TRUSTED, false);
		if (!ks_tmpl_find(t, CKA_CERTIFICATE_CATEGORY))
			r |= ks_tmpl_set_ulong(t, CKA_CERTIFICATE_CATEGORY, 0);
		r |= dflt_bytes(t, CKA_START_DATE);
		r |= dflt_bytes(t, CKA_END_DATE);
		r |= dflt_bytes(t, CKA_ID);
		r |= dflt_bytes(t, CKA_ISSUER);
		r |= dflt_bytes(t, CKA_SERIAL_NUMBER);
		break;
	case CKO_PUBLIC_KEY:
	case CKO_PRIVATE_KEY:
	case CKO_SECRET_KEY:
		r |= ks_tmpl_set_ulong(t, CKA_KEY_TYPE, ktype);
		r |= dflt_bytes(t, CKA_ID);
		r |= dflt_bytes(t, CKA_START_DATE);
		r |= dflt_bytes(t, CKA_END_DATE);
		r |= dflt_bool(t, CKA_DERIVE, false);
		r |= dflt_bool(t, CKA_LOCAL, false);
		if (!ks_tmpl_find(t, CKA_KEY_GEN_MECHANISM))
			r |= ks_tmpl_set_ulong(t, CKA_KEY_GEN_MECHANISM,
					       CK_UNAVAILABLE_INFORMATION);
		break;
	default:
		break;
	}
	if (cls == CKO_PUBLIC_KEY) {
		r |= dflt_bytes(t, CKA_SUBJECT);
		r |= dflt_bool(t, CKA_ENCRYPT, true);
		r |= dflt_bool(t, CKA_VERIFY, true);
		r |= dflt_bool(t, CKA_VERIFY_RECOVER, false);
		r |= dflt_bool(t, CKA_WRAP, true);
		r |= dflt_bool(t, CKA_TRUSTED, false);
	}
	if (cls == CKO_PRIVATE_KEY) {
		r |= dflt_bytes(t, CKA_SUBJECT);
		r |= dflt_bool(t, CKA_DECRYPT, true);
		r |= dflt_bool(t, CKA_SIGN, true);
		r |= dflt_bool(t, CKA_SIGN_RECOVER, false);
		r |= dflt_bool(t, CKA_UNWRAP, true);
		r |= dflt_bool(t, CKA_ALWAYS_AUTHENTICATE, false);
	}
	if (cls == CKO_SECRET_KEY) {
		r |= dflt_bool(t, CKA_ENCRYPT, true);
		r |= dflt_bool(t, CKA_DECRYPT, true);
		r |= dflt_bool(t, CKA_SIGN, true);
		r |= dflt_bool(t, CKA_VERIFY, true);
		r |= dflt_bool(t, CKA_WRAP, true);
		r |= dflt_bool(t, CKA_UNWRAP, true);
		r |= dflt_bool(t, CKA_TRUSTED, false);
	}
	if (secret) {
		r |= dflt_bool(t, CKA_SENSITIVE, true);
		r |= dflt_bool(t, CKA_EXTRACTABLE, false);
		r |= dflt_bool(t, CKA_ALWAYS_SENSITIVE, false);
		r |= dflt_bool(t, CKA_NEVER_EXTRACTABLE, false);
		r |= dflt_bool(t, CKA_WRAP_WITH_TRUSTED, false);
	}
	return r ? -ENOMEM : 0;
}
