// SPDX-License-Identifier: LGPL-2.1-or-later
#include <endian.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"

void bc_buf_init(struct bc_buf *b)
{
	memset(b, 0, sizeof(*b));
}

void bc_buf_free(struct bc_buf *b)
{
	bc_free_wipe(b->p, b->cap);
	memset(b, 0, sizeof(*b));
}

static int reserve(struct bc_buf *b, size_t n)
{
	size_t nc;
	uint8_t *np;

	if (b->oom)
		return -1;
	if (b->cap - b->len >= n)
		return 0;
	nc = b->cap ? b->cap : 256;
	while (nc - b->len < n) {
		if (nc > SIZE_MAX / 2) {
			b->oom = 1;
			return -1;
		}
		nc *= 2;
	}
	/* Not realloc: the old copy may hold secrets and must be wiped. */
	np = malloc(nc);
	if (!np) {
		b->oom = 1;
		return -1;
	}
	if (b->len)
		memcpy(np, b->p, b->len);
	bc_free_wipe(b->p, b->cap);
	b->p = np;
	b->cap = nc;
	return 0;
}

void bc_buf_put(struct bc_buf *b, const void *d, size_t n)
{
	if (!n || reserve(b, n))
		return;
	memcpy(b->p + b->len, d, n);
	b->len += n;
}

void bc_buf_le32(struct bc_buf *b, uint32_t v)
{
	uint32_t le = htole32(v);

	bc_buf_put(b, &le, 4);
}

void bc_buf_le64(struct bc_buf *b, uint64_t v)
{
	uint64_t le = htole64(v);

	bc_buf_put(b, &le, 8);
}

void bc_buf_pad8(struct bc_buf *b)
{
	static const uint8_t z[8];

	if (b->len % 8)
		bc_buf_put(b, z, 8 - b->len % 8);
}

size_t bc_buf_mark(const struct bc_buf *b)
{
	return b->len;
}

void bc_buf_set_le32(struct bc_buf *b, size_t at, uint32_t v)
{
	uint32_t le = htole32(v);

	if (!b->oom && at + 4 <= b->len)
		memcpy(b->p + at, &le, 4);
}

void bc_rd_init(struct bc_rd *r, const void *p, size_t len)
{
	r->p = p;
	r->len = len;
	r->pos = 0;
	r->bad = 0;
}

const uint8_t *bc_rd_bytes(struct bc_rd *r, size_t n)
{
	const uint8_t *q;

	if (r->bad || r->len - r->pos < n) {
		r->bad = 1;
		return NULL;
	}
	q = r->p + r->pos;
	r->pos += n;
	return q;
}

uint32_t bc_rd_le32(struct bc_rd *r)
{
	const uint8_t *q = bc_rd_bytes(r, 4);
	uint32_t v;

	if (!q)
		return 0;
	memcpy(&v, q, 4);
	return le32toh(v);
}

uint64_t bc_rd_le64(struct bc_rd *r)
{
	const uint8_t *q = bc_rd_bytes(r, 8);
	uint64_t v;

	if (!q)
		return 0;
	memcpy(&v, q, 8);
	return le64toh(v);
}

void bc_rd_align8(struct bc_rd *r)
{
	if (r->pos % 8)
		(void)bc_rd_bytes(r, 8 - r->pos % 8);
}

enum bc_attr_class bc_attr_class(CK_ATTRIBUTE_TYPE type)
{
	switch (type) {
	case CKA_CLASS:
	case CKA_KEY_TYPE:
	case CKA_CERTIFICATE_TYPE:
	case CKA_CERTIFICATE_CATEGORY:
	case CKA_JAVA_MIDP_SECURITY_DOMAIN:
	case CKA_MODULUS_BITS:
	case CKA_VALUE_LEN:
	case CKA_VALUE_BITS:
	case CKA_PRIME_BITS:
	case CKA_SUB_PRIME_BITS:
	case CKA_KEY_GEN_MECHANISM:
	case CKA_MECHANISM_TYPE:
	case CKA_HW_FEATURE_TYPE:
	case CKA_NAME_HASH_ALGORITHM:
		return BC_ATTR_ULONG;
	case CKA_TOKEN:
	case CKA_PRIVATE:
	case CKA_TRUSTED:
	case CKA_SENSITIVE:
	case CKA_ENCRYPT:
	case CKA_DECRYPT:
	case CKA_WRAP:
	case CKA_UNWRAP:
	case CKA_SIGN:
	case CKA_SIGN_RECOVER:
	case CKA_VERIFY:
	case CKA_VERIFY_RECOVER:
	case CKA_DERIVE:
	case CKA_EXTRACTABLE:
	case CKA_LOCAL:
	case CKA_NEVER_EXTRACTABLE:
	case CKA_ALWAYS_SENSITIVE:
	case CKA_MODIFIABLE:
	case CKA_COPYABLE:
	case CKA_DESTROYABLE:
	case CKA_ALWAYS_AUTHENTICATE:
	case CKA_WRAP_WITH_TRUSTED:
	case CKA_RESET_ON_INIT:
	case CKA_HAS_RESET:
		return BC_ATTR_BOOL;
	default:
		return BC_ATTR_BYTES;
	}
}

CK_RV bc_put_template(struct bc_buf *b, const CK_ATTRIBUTE *t, CK_ULONG n)
{
	if (n && !t)
		return CKR_ARGUMENTS_BAD;
	for (CK_ULONG i = 0; i < n; i++) {
		const CK_ATTRIBUTE *a = &t[i];

		if (!a->pValue && a->ulValueLen)
			return CKR_ARGUMENTS_BAD;
		if (a->type > 0xffffffffUL || a->ulValueLen > 0x100000)
			return CKR_ATTRIBUTE_VALUE_INVALID;
		bc_buf_le32(b, (uint32_t)a->type);
		switch (bc_attr_class(a->type)) {
		case BC_ATTR_ULONG:
			if (a->ulValueLen != sizeof(CK_ULONG))
				return CKR_ATTRIBUTE_VALUE_INVALID;
			bc_buf_le32(b, 8);
			bc_buf_le64(b, *(const CK_ULONG *)a->pValue);
			break;
		case BC_ATTR_BOOL:
			if (a->ulValueLen != sizeof(CK_BBOOL))
				return CKR_ATTRIBUTE_VALUE_INVALID;
			bc_buf_le32(b, 1);
			bc_buf_put(b, (const CK_BBOOL[]){
				*(const CK_BBOOL *)a->pValue ? 1 : 0 }, 1);
			break;
		default:
			bc_buf_le32(b, (uint32_t)a->ulValueLen);
			bc_buf_put(b, a->pValue, a->ulValueLen);
			break;
		}
		bc_buf_pad8(b);
	}
	return b->oom ? CKR_HOST_MEMORY : CKR_OK;
}

int bc_template_bool(const CK_ATTRIBUTE *t, CK_ULONG n,
		     CK_ATTRIBUTE_TYPE type, CK_BBOOL *v)
{
	for (CK_ULONG i = 0; t && i < n; i++)
		if (t[i].type == type && t[i].pValue &&
		    t[i].ulValueLen == sizeof(CK_BBOOL)) {
			*v = *(CK_BBOOL *)t[i].pValue ? CK_TRUE : CK_FALSE;
			return 1;
		}
	return 0;
}

int bc_template_ulong(const CK_ATTRIBUTE *t, CK_ULONG n,
		      CK_ATTRIBUTE_TYPE type, CK_ULONG *v)
{
	for (CK_ULONG i = 0; t && i < n; i++)
		if (t[i].type == type && t[i].pValue &&
		    t[i].ulValueLen == sizeof(CK_ULONG)) {
			*v = *(CK_ULONG *)t[i].pValue;
			return 1;
		}
	return 0;
}

/* Parameter of the expected C type, or NULL. */
#define PARAM(m, type) \
	((m)->pParameter && (m)->ulParameterLen == sizeof(type) ? \
	 (const type *)(m)->pParameter : NULL)

static int fits32(CK_ULONG v)
{
	return v <= 0xffffffffUL;
}

static CK_RV put_params(struct bc_buf *b, const CK_MECHANISM *m)
{
	switch (m->mechanism) {
	case CKM_RSA_PKCS_PSS:
	case CKM_SHA1_RSA_PKCS_PSS:
	case CKM_SHA256_RSA_PKCS_PSS:
	case CKM_SHA384_RSA_PKCS_PSS:
	case CKM_SHA512_RSA_PKCS_PSS: {
		const CK_RSA_PKCS_PSS_PARAMS *p =
			PARAM(m, CK_RSA_PKCS_PSS_PARAMS);

		if (!p || !fits32(p->hashAlg) || !fits32(p->mgf) ||
		    !fits32(p->sLen))
			return CKR_MECHANISM_PARAM_INVALID;
		bc_buf_le32(b, (uint32_t)p->hashAlg);
		bc_buf_le32(b, (uint32_t)p->mgf);
		bc_buf_le32(b, (uint32_t)p->sLen);
		bc_buf_le32(b, 0);
		return CKR_OK;
	}
	case CKM_RSA_PKCS_OAEP: {
		const CK_RSA_PKCS_OAEP_PARAMS *p =
			PARAM(m, CK_RSA_PKCS_OAEP_PARAMS);

		if (!p || !fits32(p->hashAlg) || !fits32(p->mgf) ||
		    !fits32(p->source) || p->ulSourceDataLen > 0x10000 ||
		    (p->ulSourceDataLen && !p->pSourceData))
			return CKR_MECHANISM_PARAM_INVALID;
		bc_buf_le32(b, (uint32_t)p->hashAlg);
		bc_buf_le32(b, (uint32_t)p->mgf);
		bc_buf_le32(b, (uint32_t)p->source);
		bc_buf_le32(b, (uint32_t)p->ulSourceDataLen);
		bc_buf_put(b, p->pSourceData, p->ulSourceDataLen);
		return CKR_OK;
	}
	case CKM_AES_GCM: {
		const CK_GCM_PARAMS *p = PARAM(m, CK_GCM_PARAMS);

		if (!p || p->ulIvLen > 128 || (p->ulIvLen && !p->pIv) ||
		    p->ulAADLen > 0x10000 || (p->ulAADLen && !p->pAAD) ||
		    !fits32(p->ulTagBits))
			return CKR_MECHANISM_PARAM_INVALID;
		bc_buf_le32(b, (uint32_t)p->ulIvLen);
		bc_buf_le32(b, (uint32_t)p->ulAADLen);
		bc_buf_le32(b, (uint32_t)p->ulTagBits);
		bc_buf_le32(b, 0);
		bc_buf_put(b, p->pIv, p->ulIvLen);
		/* The IV is padded, AAD or not (protocol.md). */
		bc_buf_pad8(b);
		bc_buf_put(b, p->pAAD, p->ulAADLen);
		return CKR_OK;
	}
	case CKM_ECDH1_DERIVE: {
		const CK_ECDH1_DERIVE_PARAMS *p =
			PARAM(m, CK_ECDH1_DERIVE_PARAMS);

		if (!p || !fits32(p->kdf) || p->ulSharedDataLen > 0x10000 ||
		    p->ulPublicDataLen > 0x10000 ||
		    (p->ulSharedDataLen && !p->pSharedData) ||
		    (p->ulPublicDataLen && !p->pPublicData))
			return CKR_MECHANISM_PARAM_INVALID;
		bc_buf_le32(b, (uint32_t)p->kdf);
		bc_buf_le32(b, (uint32_t)p->ulSharedDataLen);
		bc_buf_le32(b, (uint32_t)p->ulPublicDataLen);
		bc_buf_le32(b, 0);
		bc_buf_put(b, p->pSharedData, p->ulSharedDataLen);
		if (p->ulPublicDataLen)
			bc_buf_pad8(b);
		bc_buf_put(b, p->pPublicData, p->ulPublicDataLen);
		return CKR_OK;
	}
	default:
		/* Raw bytes (IVs) or nothing; the chip judges the length. */
		if (m->ulParameterLen > 0x10000 ||
		    (m->ulParameterLen && !m->pParameter))
			return CKR_MECHANISM_PARAM_INVALID;
		bc_buf_put(b, m->pParameter, m->ulParameterLen);
		return CKR_OK;
	}
}

CK_RV bc_put_mechanism(struct bc_buf *b, const CK_MECHANISM *m)
{
	size_t at, start;
	CK_RV rv;

	if (!m)
		return CKR_ARGUMENTS_BAD;
	if (!fits32(m->mechanism))
		return CKR_MECHANISM_INVALID;
	bc_buf_le32(b, (uint32_t)m->mechanism);
	at = bc_buf_mark(b);
	bc_buf_le32(b, 0);
	start = bc_buf_mark(b);
	rv = put_params(b, m);
	if (rv != CKR_OK)
		return rv;
	bc_buf_set_le32(b, at, (uint32_t)(bc_buf_mark(b) - start));
	bc_buf_pad8(b);
	return b->oom ? CKR_HOST_MEMORY : CKR_OK;
}
