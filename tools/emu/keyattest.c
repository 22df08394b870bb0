// SPDX-License-Identifier: GPL-2.0
/*
 * Key attestation: the chip's signed word that a key was generated on it
 * and can never leave it (docs/attestation.md "Key attestation").  Only
 * keys with CKA_LOCAL true, CKA_NEVER_EXTRACTABLE true and
 * CKA_EXTRACTABLE false qualify: an imported or unwrapped key, or one that
 * was ever extractable, could exist outside the chip.
 */
#include <endian.h>
#include <stdlib.h>
#include <string.h>

#include "attest.h"
#include "keystore.h"

/* The key attestation extension (arc .2); the ASN.1 is in the docs. */
static void statement(struct der *d, struct ks_obj *priv, uint32_t handle,
		      const struct ks_attr *id, const uint8_t *nonce,
		      size_t nonce_len)
{
	uint64_t mech;

	pthread_mutex_lock(&priv->lock);
	der_seq_begin(d);
	der_uint(d, 1);
	der_prim(d, 0x13, emu_attest_serial(), strlen(emu_attest_serial()));
	der_uint(d, handle);
	der_uint(d, priv->ktype);
	if (!ks_tmpl_ulong(&priv->attrs, CKA_KEY_GEN_MECHANISM, &mech))
		mech = CK_UNAVAILABLE_INFORMATION;
	der_uint(d, mech);
	der_bool(d, ks_tmpl_bool(&priv->attrs, CKA_LOCAL) == 1);
	der_bool(d, ks_tmpl_bool(&priv->attrs, CKA_NEVER_EXTRACTABLE) == 1);
	der_bool(d, ks_tmpl_bool(&priv->attrs, CKA_ALWAYS_SENSITIVE) == 1);
	der_bool(d, priv->token);
	der_prim(d, 0x04, id ? id->val : NULL, id ? id->len : 0);
	der_prim(d, 0x04, nonce, nonce_len);
	der_seq_end(d);
	pthread_mutex_unlock(&priv->lock);
}

uint32_t ks_key_attest(const struct ks_caller *c, uint32_t handle,
		       const uint8_t *nonce, size_t nonce_len,
		       uint8_t **body, uint32_t *body_len)
{
	struct bcfw_cert_list h = { .count = htole32(1) };
	struct ks_obj *o = NULL, *priv = NULL, *idsrc;
	struct ks_attr idcopy = { 0 };
	const struct ks_attr *id;
	struct der ext = { 0 }, out = { 0 };
	uint8_t *cert = NULL;
	size_t cert_len = 0;
	uint32_t st;

	st = ks_obj_get(c, handle, true, &o);
	if (st)
		return st;
	if (o->cls == CKO_PRIVATE_KEY) {
		priv = o;
		o = NULL;
	} else if (o->cls == CKO_PUBLIC_KEY && o->pkey) {
		st = ks_obj_find_pair(c, o, &priv);
	} else if (o->cls == CKO_SECRET_KEY) {
		/* No public half that a certificate could carry. */
		st = KS_CKR(CKR_KEY_TYPE_INCONSISTENT);
	} else {
		st = KS_CKR(CKR_KEY_HANDLE_INVALID);
	}
	if (st)
		goto out;
	/* A key without EXTRACTABLE at all is not one the chip made. */
	pthread_mutex_lock(&priv->lock);
	st = ks_tmpl_find(&priv->attrs, CKA_EXTRACTABLE) ? BCFW_S_OK :
		KS_CKR(CKR_KEY_FUNCTION_NOT_PERMITTED);
	pthread_mutex_unlock(&priv->lock);
	if (st || !priv->pkey || !ks_obj_bool(priv, CKA_LOCAL) ||
	    !ks_obj_bool(priv, CKA_NEVER_EXTRACTABLE) ||
	    ks_obj_bool(priv, CKA_EXTRACTABLE)) {
		st = KS_CKR(CKR_KEY_FUNCTION_NOT_PERMITTED);
		goto out;
	}
	/*
	 * CKA_ID of the object asked about: through a public handle, a
	 * client that is not logged in learns nothing of the private key's
	 * attributes beyond what the statement is for (docs/attestation.md).
	 */
	idsrc = o ? o : priv;
	pthread_mutex_lock(&idsrc->lock);
	id = ks_tmpl_find(&idsrc->attrs, CKA_ID);
	if (id) {
		idcopy.len = id->len;
		idcopy.val = id->len ? malloc(id->len) : NULL;
		if (id->len && !idcopy.val)
			st = BCFW_S_INTERNAL;
		else if (id->len)
			memcpy(idcopy.val, id->val, id->len);
	}
	pthread_mutex_unlock(&idsrc->lock);
	if (st)
		goto out;
	statement(&ext, priv, handle, id ? &idcopy : NULL, nonce, nonce_len);
	if (ext.bad) {
		st = BCFW_S_INTERNAL;
		goto out;
	}
	/* The certificate carries the public half only (X509_set_pubkey). */
	st = emu_attest_issue_key(priv->pkey, handle, &ext, &cert, &cert_len);
	if (st)
		goto out;
	der_raw(&out, &h, sizeof(h));
	emu_cert_list_put(&out, cert, cert_len);
	if (out.bad) {
		st = BCFW_S_INTERNAL;
		goto out;
	}
	*body = out.p;
	*body_len = (uint32_t)out.n;
	out.p = NULL;
out:
	free(idcopy.val);
	free(cert);
	der_free(&out);
	der_free(&ext);
	ks_obj_put(o);
	ks_obj_put(priv);
	return st;
}
