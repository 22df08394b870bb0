// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Key generation, wrapping, unwrapping and derivation: one stateless
 * request each.  New session objects are recorded with the session that
 * made them (objects.c), so they end with it.
 */
#include <endian.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "p11.h"

static CK_RV check_key(CK_OBJECT_HANDLE h)
{
	return (h == CK_INVALID_HANDLE || h > 0xffffffffUL) ?
	       CKR_KEY_HANDLE_INVALID : CKR_OK;
}

/* A template asking for a token object needs a read-write session. */
static CK_RV check_rw(const struct bc_ctx *c, const CK_ATTRIBUTE *t,
		      CK_ULONG n)
{
	CK_BBOOL token = CK_FALSE;

	bc_template_bool(t, n, CKA_TOKEN, &token);
	return token && !(c->sflags & CKF_RW_SESSION) ?
	       CKR_SESSION_READ_ONLY : CKR_OK;
}

BC_EXPORT CK_RV C_GenerateKey(CK_SESSION_HANDLE hSession,
			      CK_MECHANISM_PTR pMechanism,
			      CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount,
			      CK_OBJECT_HANDLE_PTR phKey)
{
	struct bc_buf b;
	struct bc_ctx c;
	CK_RV rv = bc_ctx_session(hSession, &c);

	if (rv != CKR_OK)
		return rv;
	if (!pMechanism || !phKey || (!pTemplate && ulCount))
		return CKR_ARGUMENTS_BAD;
	rv = check_rw(&c, pTemplate, ulCount);
	if (rv != CKR_OK)
		return rv;
	bc_buf_init(&b);
	bc_buf_le32(&b, (uint32_t)ulCount);
	bc_buf_le32(&b, 0);
	rv = bc_put_mechanism(&b, pMechanism);
	if (rv == CKR_OK)
		rv = bc_put_template(&b, pTemplate, ulCount);
	if (rv == CKR_OK)
		rv = bc_new_object(hSession, &c, BCFW_OP_GENERATE_KEY, b.p,
				   b.len, phKey);
	bc_buf_free(&b);
	return rv;
}

BC_EXPORT CK_RV C_GenerateKeyPair(CK_SESSION_HANDLE hSession,
				  CK_MECHANISM_PTR pMechanism,
				  CK_ATTRIBUTE_PTR pPublicKeyTemplate,
				  CK_ULONG ulPublicKeyAttributeCount,
				  CK_ATTRIBUTE_PTR pPrivateKeyTemplate,
				  CK_ULONG ulPrivateKeyAttributeCount,
				  CK_OBJECT_HANDLE_PTR phPublicKey,
				  CK_OBJECT_HANDLE_PTR phPrivateKey)
{
	CK_OBJECT_HANDLE pub, priv;
	struct bc_buf b;
	struct bc_ctx c;
	struct bc_rd r;
	uint8_t *out = NULL;
	size_t len = 0;
	CK_RV rv = bc_ctx_session(hSession, &c);

	if (rv != CKR_OK)
		return rv;
	if (!pMechanism || !phPublicKey || !phPrivateKey ||
	    (!pPublicKeyTemplate && ulPublicKeyAttributeCount) ||
	    (!pPrivateKeyTemplate && ulPrivateKeyAttributeCount))
		return CKR_ARGUMENTS_BAD;
	rv = check_rw(&c, pPublicKeyTemplate, ulPublicKeyAttributeCount);
	if (rv == CKR_OK)
		rv = check_rw(&c, pPrivateKeyTemplate,
			      ulPrivateKeyAttributeCount);
	if (rv != CKR_OK)
		return rv;
	bc_buf_init(&b);
	bc_buf_le32(&b, (uint32_t)ulPublicKeyAttributeCount);
	bc_buf_le32(&b, (uint32_t)ulPrivateKeyAttributeCount);
	rv = bc_put_mechanism(&b, pMechanism);
	if (rv == CKR_OK)
		rv = bc_put_template(&b, pPublicKeyTemplate,
				     ulPublicKeyAttributeCount);
	if (rv == CKR_OK)
		rv = bc_put_template(&b, pPrivateKeyTemplate,
				     ulPrivateKeyAttributeCount);
	if (rv == CKR_OK)
		rv = bc_chip(&c, BCFW_OP_GENERATE_KEY_PAIR, 0, b.p, b.len,
			     &out, &len);
	bc_buf_free(&b);
	if (rv != CKR_OK)
		return rv;
	bc_rd_init(&r, out, len);
	pub = bc_rd_le32(&r);
	priv = bc_rd_le32(&r);
	free(out);
	if (r.bad || len != 8 || !pub || !priv)
		return CKR_DEVICE_ERROR;
	rv = bc_session_add_object(hSession, pub);
	if (rv == CKR_OK)
		rv = bc_session_add_object(hSession, priv);
	if (rv != CKR_OK) {
		bc_session_forget_object(c.slot, pub);
		bc_destroy_object(&c, pub);
		bc_destroy_object(&c, priv);
		return rv;
	}
	*phPublicKey = pub;
	*phPrivateKey = priv;
	return CKR_OK;
}

BC_EXPORT CK_RV C_WrapKey(CK_SESSION_HANDLE hSession,
			  CK_MECHANISM_PTR pMechanism,
			  CK_OBJECT_HANDLE hWrappingKey, CK_OBJECT_HANDLE hKey,
			  CK_BYTE_PTR pWrappedKey,
			  CK_ULONG_PTR pulWrappedKeyLen)
{
	struct bc_buf b;
	struct bc_ctx c;
	struct bc_rd r;
	uint8_t *out = NULL;
	size_t len = 0;
	uint32_t n, flags, cap;
	CK_RV rv = bc_ctx_session(hSession, &c);

	if (rv != CKR_OK)
		return rv;
	if (!pMechanism || !pulWrappedKeyLen)
		return CKR_ARGUMENTS_BAD;
	if (check_key(hWrappingKey) != CKR_OK)
		return CKR_WRAPPING_KEY_HANDLE_INVALID;
	if (check_key(hKey) != CKR_OK)
		return CKR_KEY_HANDLE_INVALID;
	cap = !pWrappedKey ? 0 : *pulWrappedKeyLen > 0xffffffffUL ?
	      0xffffffffu : (uint32_t)*pulWrappedKeyLen;
	bc_buf_init(&b);
	bc_buf_le32(&b, (uint32_t)hWrappingKey);
	bc_buf_le32(&b, (uint32_t)hKey);
	bc_buf_le32(&b, cap);
	bc_buf_le32(&b, 0);
	rv = bc_put_mechanism(&b, pMechanism);
	if (rv == CKR_OK)
		rv = bc_chip(&c, BCFW_OP_WRAP_KEY, 0, b.p, b.len, &out, &len);
	bc_buf_free(&b);
	if (rv != CKR_OK)
		return rv;
	bc_rd_init(&r, out, len);
	n = bc_rd_le32(&r);
	flags = bc_rd_le32(&r);
	if (r.bad) {
		rv = CKR_DEVICE_ERROR;
	} else if (flags & BCFW_OUT_TOO_SMALL) {
		*pulWrappedKeyLen = n;
		rv = pWrappedKey ? CKR_BUFFER_TOO_SMALL : CKR_OK;
	} else if (len != 8 + (size_t)n || !pWrappedKey ||
		   n > *pulWrappedKeyLen) {
		rv = CKR_DEVICE_ERROR;
	} else {
		memcpy(pWrappedKey, out + 8, n);
		*pulWrappedKeyLen = n;
	}
	bc_free_wipe(out, len);
	return rv;
}

BC_EXPORT CK_RV C_UnwrapKey(CK_SESSION_HANDLE hSession,
			    CK_MECHANISM_PTR pMechanism,
			    CK_OBJECT_HANDLE hUnwrappingKey,
			    CK_BYTE_PTR pWrappedKey, CK_ULONG ulWrappedKeyLen,
			    CK_ATTRIBUTE_PTR pTemplate,
			    CK_ULONG ulAttributeCount,
			    CK_OBJECT_HANDLE_PTR phKey)
{
	struct bc_buf b;
	struct bc_ctx c;
	CK_RV rv = bc_ctx_session(hSession, &c);

	if (rv != CKR_OK)
		return rv;
	if (!pMechanism || !phKey || (!pWrappedKey && ulWrappedKeyLen) ||
	    (!pTemplate && ulAttributeCount))
		return CKR_ARGUMENTS_BAD;
	if (check_key(hUnwrappingKey) != CKR_OK)
		return CKR_UNWRAPPING_KEY_HANDLE_INVALID;
	if (ulWrappedKeyLen > 0x100000)
		return CKR_WRAPPED_KEY_LEN_RANGE;
	rv = check_rw(&c, pTemplate, ulAttributeCount);
	if (rv != CKR_OK)
		return rv;
	bc_buf_init(&b);
	bc_buf_le32(&b, (uint32_t)hUnwrappingKey);
	bc_buf_le32(&b, (uint32_t)ulWrappedKeyLen);
	bc_buf_le32(&b, (uint32_t)ulAttributeCount);
	bc_buf_le32(&b, 0);
	rv = bc_put_mechanism(&b, pMechanism);
	bc_buf_put(&b, pWrappedKey, ulWrappedKeyLen);
	bc_buf_pad8(&b);
	if (rv == CKR_OK)
		rv = bc_put_template(&b, pTemplate, ulAttributeCount);
	if (rv == CKR_OK)
		rv = bc_new_object(hSession, &c, BCFW_OP_UNWRAP_KEY, b.p,
				   b.len, phKey);
	bc_buf_free(&b);
	return rv;
}

BC_EXPORT CK_RV C_DeriveKey(CK_SESSION_HANDLE hSession,
			    CK_MECHANISM_PTR pMechanism,
			    CK_OBJECT_HANDLE hBaseKey,
			    CK_ATTRIBUTE_PTR pTemplate,
			    CK_ULONG ulAttributeCount,
			    CK_OBJECT_HANDLE_PTR phKey)
{
	struct bc_buf b;
	struct bc_ctx c;
	CK_RV rv = bc_ctx_session(hSession, &c);

	if (rv != CKR_OK)
		return rv;
	if (!pMechanism || !phKey || (!pTemplate && ulAttributeCount))
		return CKR_ARGUMENTS_BAD;
	rv = check_key(hBaseKey);
	if (rv == CKR_OK)
		rv = check_rw(&c, pTemplate, ulAttributeCount);
	if (rv != CKR_OK)
		return rv;
	bc_buf_init(&b);
	bc_buf_le32(&b, (uint32_t)hBaseKey);
	bc_buf_le32(&b, (uint32_t)ulAttributeCount);
	rv = bc_put_mechanism(&b, pMechanism);
	if (rv == CKR_OK)
		rv = bc_put_template(&b, pTemplate, ulAttributeCount);
	if (rv == CKR_OK)
		rv = bc_new_object(hSession, &c, BCFW_OP_DERIVE_KEY, b.p,
				   b.len, phKey);
	bc_buf_free(&b);
	return rv;
}
