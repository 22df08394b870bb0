// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Sign, verify, encrypt, decrypt and digest: PKCS#11's state machine over
 * the chip's operations (docs/protocol.md "Crypto operations").
 *
 * C_xInit asks the chip to check key, mechanism and login (an INIT with
 * no session keeps no state) and records the operation in the session.
 * A single-part call is one stateless round trip.  The first C_xUpdate
 * borrows a chip session from the slot's pool and starts the operation
 * there; C_xFinal, or any error that ends the operation, gives it back.
 *
 * Length queries: the chip answers BCFW_OUT_TOO_SMALL with the size
 * needed and consumes nothing, so a call with no buffer, or one too small,
 * leaves the operation as it was (CKR_OK or CKR_BUFFER_TOO_SMALL with the
 * length); every other error ends it, as the standard says.
 */
#include <endian.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "p11.h"

/*
 * Encryption and decryption answer with about as much as they are given:
 * pieces of this size keep request and answer within a 32 KiB frame.
 */
#define BC_CIPHER_PIECE 16384

static uint16_t opcode(enum bc_op_kind k, int step)
{
	return (uint16_t)(0x0600 | ((unsigned int)k << 4) | (unsigned int)step);
}

/* What a call needs of its operation, copied out of the session. */
struct snap {
	struct bc_ctx c;
	CK_OBJECT_HANDLE key;
	uint8_t *param;			/* bcfw_mech + parameters, padded */
	size_t param_len;
	uint32_t cs;
	int multipart;
	int streamed;
};

static void snap_free(struct snap *s)
{
	bc_free_wipe(s->param, s->param_len);
	s->param = NULL;
}

static CK_RV snap_take(CK_SESSION_HANDLE h, enum bc_op_kind k, struct snap *sn)
{
	struct bc_session *s;
	struct bc_op *op;
	CK_RV rv;

	memset(sn, 0, sizeof(*sn));
	rv = bc_ctx_session(h, &sn->c);
	if (rv != CKR_OK)
		return rv;
	bc_lock();
	s = bc_session_find_locked(h);
	if (!s) {
		bc_unlock();
		return CKR_SESSION_HANDLE_INVALID;
	}
	op = &s->op[k];
	if (!op->active) {
		bc_unlock();
		return CKR_OPERATION_NOT_INITIALIZED;
	}
	sn->key = op->key;
	sn->cs = op->chip_session;
	sn->multipart = op->multipart;
	sn->streamed = op->streamed;
	sn->param = malloc(op->param_len);
	if (!sn->param) {
		bc_unlock();
		return CKR_HOST_MEMORY;
	}
	memcpy(sn->param, op->param, op->param_len);
	sn->param_len = op->param_len;
	bc_unlock();
	return CKR_OK;
}

/*
 * Ends the operation @k of session @h.  Its chip session goes back to the
 * pool: @clean when the chip has already ended the operation on it.
 */
static void op_end(CK_SESSION_HANDLE h, enum bc_op_kind k, struct bc_ctx *c,
		   int clean)
{
	struct bc_session *s;
	uint32_t cs = 0;

	bc_lock();
	s = bc_session_find_locked(h);
	if (s && s->op[k].active) {
		cs = s->op[k].chip_session;
		s->op[k].chip_session = 0;
		bc_op_clear(&s->op[k]);
	}
	bc_unlock();
	bc_pool_put(c, cs, clean);
}

/* Records that the operation now lives on chip session @cs. */
static int op_attach(CK_SESSION_HANDLE h, enum bc_op_kind k, uint32_t cs,
		     int streamed)
{
	struct bc_session *s;
	int ok = 0;

	bc_lock();
	s = bc_session_find_locked(h);
	if (s && s->op[k].active && !s->op[k].chip_session) {
		s->op[k].chip_session = cs;
		s->op[k].multipart = 1;
		s->op[k].streamed = streamed;
		ok = 1;
	}
	bc_unlock();
	return ok;
}

void bc_objects_changed_locked(CK_SLOT_ID slot)
{
	bc_g.slots[slot].objgen++;
}

static struct bc_init_ok *init_ok_slot_locked(CK_SLOT_ID slot,
					      CK_OBJECT_HANDLE key,
					      CK_MECHANISM_TYPE mech, int k)
{
	struct bc_slot *s = &bc_g.slots[slot];
	size_t n = sizeof(s->init_ok) / sizeof(s->init_ok[0]);

	return &s->init_ok[(key * 31 + mech * 7 + (CK_ULONG)k) % n];
}

/*
 * Did the chip accept @key with @mech for this kind of operation, in
 * this epoch and login state, with no object changed by us since?  Only
 * mechanisms without parameters are remembered (parameters are checked
 * by the chip at every INIT).  Objects changed by other applications are
 * still checked by the chip when the operation runs; their errors then
 * come from C_x or C_xUpdate rather than C_xInit.
 */
static int init_known(const struct bc_ctx *c, enum bc_op_kind k,
		      const CK_MECHANISM *m, CK_OBJECT_HANDLE key, int learn)
{
	struct bc_slot *s;
	struct bc_init_ok *e;
	int hit = 0;

	if (m->ulParameterLen || k == BC_OP_DIGEST)
		return 0;
	bc_lock();
	s = &bc_g.slots[c->slot];
	e = init_ok_slot_locked(c->slot, key, m->mechanism, k);
	if (learn) {
		if (s->epoch == c->epoch && s->login == c->login)
			*e = (struct bc_init_ok){ key, m->mechanism, k,
						  c->epoch, c->objgen,
						  c->login };
	} else {
		hit = e->key == key && e->mech == m->mechanism &&
		      e->kind == (int)k && e->epoch == s->epoch &&
		      e->objgen == s->objgen && e->login == s->login &&
		      s->epoch == c->epoch;
	}
	bc_unlock();
	return hit;
}

static CK_RV op_init(CK_SESSION_HANDLE h, enum bc_op_kind k,
		     CK_MECHANISM_PTR m, CK_OBJECT_HANDLE key)
{
	struct bc_session *s;
	struct bc_buf mech, b;
	struct bc_ctx c;
	CK_RV rv = bc_ctx_session(h, &c);

	if (rv != CKR_OK)
		return rv;
	if (!m)
		return CKR_ARGUMENTS_BAD;
	if (k != BC_OP_DIGEST &&
	    (key == CK_INVALID_HANDLE || key > 0xffffffffUL))
		return CKR_KEY_HANDLE_INVALID;
	bc_lock();
	s = bc_session_find_locked(h);
	if (!s)
		rv = CKR_SESSION_HANDLE_INVALID;
	else if (s->op[k].active)
		rv = CKR_OPERATION_ACTIVE;
	else
		s->op[k].active = 1;	/* claimed while we ask the chip */
	bc_unlock();
	if (rv != CKR_OK)
		return rv;

	bc_buf_init(&mech);
	bc_buf_init(&b);
	rv = bc_put_mechanism(&mech, m);
	if (rv == CKR_OK && init_known(&c, k, m, key, 0)) {
		/* Checked before: no round trip. */
	} else if (rv == CKR_OK) {
		bc_buf_le32(&b, k == BC_OP_DIGEST ? 0 : (uint32_t)key);
		bc_buf_le32(&b, 0);
		bc_buf_put(&b, mech.p, mech.len);
		rv = b.oom ? CKR_HOST_MEMORY :
			     bc_chip(&c, opcode(k, BCFW_STEP_INIT), 0, b.p,
				     b.len, NULL, NULL);
		if (rv == CKR_OK)
			init_known(&c, k, m, key, 1);
	}
	bc_buf_free(&b);

	bc_lock();
	s = bc_session_find_locked(h);
	if (!s) {
		rv = CKR_SESSION_HANDLE_INVALID;
	} else if (rv != CKR_OK) {
		bc_op_clear(&s->op[k]);
	} else {
		struct bc_op *op = &s->op[k];

		op->mech = m->mechanism;
		op->key = key;
		op->param = mech.p;
		op->param_len = mech.len;
		/* The op owns the bytes now (mech.cap >= mech.len). */
		mech.p = NULL;
		mech.cap = 0;
	}
	bc_unlock();
	bc_buf_free(&mech);
	return rv;
}

/*
 * Decodes struct bcfw_out + data into the caller's buffer.  Returns
 * CKR_OK (done), or BC_TOO_SMALL when the chip only told the length.
 */
#define BC_TOO_SMALL ((CK_RV)-1)

static CK_RV take_out(const uint8_t *out, size_t len, CK_BYTE_PTR buf,
		      CK_ULONG_PTR buf_len)
{
	struct bc_rd r;
	uint32_t n, flags;
	const uint8_t *d;

	bc_rd_init(&r, out, len);
	n = bc_rd_le32(&r);
	flags = bc_rd_le32(&r);
	if (r.bad)
		return CKR_DEVICE_ERROR;
	if (flags & BCFW_OUT_TOO_SMALL) {
		if (len != 8)
			return CKR_DEVICE_ERROR;
		*buf_len = n;
		return BC_TOO_SMALL;
	}
	d = bc_rd_bytes(&r, n);
	if (!d || len != 8 + (size_t)n || (n && !buf) ||
	    (buf && n > *buf_len))
		return CKR_DEVICE_ERROR;
	if (n)
		memcpy(buf, d, n);
	*buf_len = n;
	return CKR_OK;
}

/* After a length answer: CKR_OK for a query, else BUFFER_TOO_SMALL. */
static CK_RV too_small(CK_BYTE_PTR buf)
{
	return buf ? CKR_BUFFER_TOO_SMALL : CKR_OK;
}

/* out_cap for the chip: what the caller's buffer holds. */
static uint32_t out_cap(CK_BYTE_PTR buf, CK_ULONG_PTR len)
{
	if (!buf)
		return 0;
	return *len > 0xffffffffUL ? 0xffffffffu : (uint32_t)*len;
}

/* Feeds @data on the operation's chip session, starting it first. */
static CK_RV chip_update(CK_SESSION_HANDLE h, enum bc_op_kind k,
			 struct snap *sn, const uint8_t *data, size_t len,
			 CK_BYTE_PTR out, CK_ULONG_PTR out_len, int streamed)
{
	size_t room = sn->c.max_frame - BCFW_HDR_SIZE - 8;
	CK_RV rv;

	if (!sn->cs) {
		struct bc_buf b;
		uint32_t cs;

		rv = bc_pool_get(&sn->c, &cs);
		if (rv != CKR_OK)
			return rv;
		bc_buf_init(&b);
		bc_buf_le32(&b, (uint32_t)sn->key);
		bc_buf_le32(&b, 0);
		bc_buf_put(&b, sn->param, sn->param_len);
		rv = b.oom ? CKR_HOST_MEMORY :
			     bc_chip(&sn->c, opcode(k, BCFW_STEP_INIT), cs,
				     b.p, b.len, NULL, NULL);
		bc_buf_free(&b);
		if (rv != CKR_OK) {
			bc_pool_put(&sn->c, cs, 0);
			return rv;
		}
		if (!op_attach(h, k, cs, streamed)) {
			bc_pool_put(&sn->c, cs, 0);
			return CKR_SESSION_HANDLE_INVALID;
		}
		sn->cs = cs;
	}
	/* Output-less operations take the data in frame-sized pieces. */
	if (out_len && len > BC_CIPHER_PIECE)
		return CKR_DATA_LEN_RANGE;
	do {
		size_t n = len < room ? len : room;
		struct bc_buf b;
		uint8_t *ans = NULL;
		size_t alen = 0;

		bc_buf_init(&b);
		bc_buf_le32(&b, out_cap(out, out_len));
		bc_buf_le32(&b, 0);
		bc_buf_put(&b, data, n);
		rv = b.oom ? CKR_HOST_MEMORY :
			     bc_chip(&sn->c, opcode(k, BCFW_STEP_UPDATE),
				     sn->cs, b.p, b.len, &ans, &alen);
		bc_buf_free(&b);
		if (rv == CKR_OK && out_len)
			rv = take_out(ans, alen, out, out_len);
		else if (rv == CKR_OK && alen)
			rv = CKR_DEVICE_ERROR;
		bc_free_wipe(ans, alen);
		data += n;
		len -= n;
	} while (rv == CKR_OK && len);
	return rv;
}

static CK_RV final(CK_SESSION_HANDLE h, enum bc_op_kind k, CK_BYTE_PTR out,
		   CK_ULONG_PTR out_len, const uint8_t *sig, CK_ULONG sig_len);

/*
 * A single-part call whose data does not fit a frame: fed through a chip
 * session, then finished as C_xFinal would.  A length query leaves the
 * data fed and the operation marked, so the repeated call only finishes.
 */
static CK_RV stream(CK_SESSION_HANDLE h, enum bc_op_kind k, struct snap *sn,
		    const uint8_t *data, CK_ULONG len, CK_BYTE_PTR out,
		    CK_ULONG_PTR out_len, const uint8_t *sig, CK_ULONG sig_len)
{
	CK_RV rv = chip_update(h, k, sn, data, len, NULL, NULL, 1);

	snap_free(sn);
	if (rv != CKR_OK) {
		op_end(h, k, &sn->c, 0);
		return rv;
	}
	return final(h, k, out, out_len, sig, sig_len);
}

/* C_Sign, C_Encrypt, C_Decrypt, C_Digest; C_Verify with @sig. */
static CK_RV single(CK_SESSION_HANDLE h, enum bc_op_kind k,
		    const uint8_t *data, CK_ULONG len, CK_BYTE_PTR out,
		    CK_ULONG_PTR out_len, const uint8_t *sig, CK_ULONG sig_len)
{
	struct bc_buf b;
	struct snap sn;
	uint8_t *ans = NULL;
	size_t alen = 0;
	CK_RV rv = snap_take(h, k, &sn);

	if (rv != CKR_OK)
		return rv;
	if (sn.multipart) {
		snap_free(&sn);
		if (sn.streamed)
			return final(h, k, out, out_len, sig, sig_len);
		/* Not ended: the multi-part operation carries on. */
		return CKR_OPERATION_ACTIVE;
	}
	if ((!data && len) || (k != BC_OP_VERIFY && !out_len) ||
	    (k == BC_OP_VERIFY && !sig && sig_len)) {
		rv = CKR_ARGUMENTS_BAD;
		goto end;
	}
	if (len > 0xffffffffUL || sig_len > 0xffffffffUL ||
	    ((k == BC_OP_ENCRYPT || k == BC_OP_DECRYPT) &&
	     len > BC_CIPHER_PIECE)) {
		rv = CKR_DATA_LEN_RANGE;
		goto end;
	}
	bc_buf_init(&b);
	bc_buf_le32(&b, k == BC_OP_DIGEST ? 0 : (uint32_t)sn.key);
	bc_buf_le32(&b, k == BC_OP_VERIFY ? 0 : out_cap(out, out_len));
	bc_buf_le32(&b, (uint32_t)len);
	bc_buf_le32(&b, (uint32_t)sig_len);
	bc_buf_put(&b, sn.param, sn.param_len);
	bc_buf_put(&b, data, len);
	/* Data and signature are packed (protocol.md "Layout of bodies"). */
	if (k == BC_OP_VERIFY)
		bc_buf_put(&b, sig, sig_len);
	if (b.oom) {
		rv = CKR_HOST_MEMORY;
	} else if (BCFW_HDR_SIZE + b.len > sn.c.max_frame) {
		bc_buf_free(&b);
		if (k == BC_OP_ENCRYPT || k == BC_OP_DECRYPT) {
			rv = CKR_DATA_LEN_RANGE;
			goto end;
		}
		return stream(h, k, &sn, data, len, out, out_len, sig,
			      sig_len);
	} else {
		rv = bc_chip(&sn.c, opcode(k, BCFW_STEP_ONESHOT), 0, b.p,
			     b.len, &ans, &alen);
	}
	bc_buf_free(&b);
	if (rv == CKR_OK && k != BC_OP_VERIFY) {
		rv = take_out(ans, alen, out, out_len);
		if (rv == BC_TOO_SMALL) {
			bc_free_wipe(ans, alen);
			snap_free(&sn);
			return too_small(out);
		}
	} else if (rv == CKR_OK && alen) {
		rv = CKR_DEVICE_ERROR;
	}
	bc_free_wipe(ans, alen);
end:
	snap_free(&sn);
	op_end(h, k, &sn.c, 1);
	return rv;
}

static CK_RV update(CK_SESSION_HANDLE h, enum bc_op_kind k,
		    const uint8_t *data, CK_ULONG len, CK_BYTE_PTR out,
		    CK_ULONG_PTR out_len)
{
	struct snap sn;
	CK_RV rv = snap_take(h, k, &sn);

	if (rv != CKR_OK)
		return rv;
	if ((!data && len) ||
	    ((k == BC_OP_ENCRYPT || k == BC_OP_DECRYPT) && !out_len)) {
		rv = CKR_ARGUMENTS_BAD;
	} else {
		rv = chip_update(h, k, &sn, data, len, out, out_len, 0);
		if (rv == BC_TOO_SMALL) {
			snap_free(&sn);
			return too_small(out);
		}
	}
	snap_free(&sn);
	if (rv != CKR_OK)
		op_end(h, k, &sn.c, 0);
	return rv;
}

static CK_RV final(CK_SESSION_HANDLE h, enum bc_op_kind k, CK_BYTE_PTR out,
		   CK_ULONG_PTR out_len, const uint8_t *sig, CK_ULONG sig_len)
{
	struct bc_buf b;
	struct snap sn;
	uint8_t *ans = NULL;
	size_t alen = 0;
	int clean = 1;
	CK_RV rv = snap_take(h, k, &sn);

	if (rv != CKR_OK)
		return rv;
	if ((k != BC_OP_VERIFY && !out_len) ||
	    (k == BC_OP_VERIFY && !sig && sig_len) ||
	    sig_len > 0xffffffffUL) {
		rv = CKR_ARGUMENTS_BAD;
		clean = 0;
		goto end;
	}
	if (!sn.cs) {
		/* Nothing was fed: the operation of no data, in one shot. */
		snap_free(&sn);
		if (k == BC_OP_VERIFY)
			return single(h, k, NULL, 0, NULL, NULL, sig, sig_len);
		return single(h, k, NULL, 0, out, out_len, NULL, 0);
	}
	bc_buf_init(&b);
	bc_buf_le32(&b, k == BC_OP_VERIFY ? 0 : out_cap(out, out_len));
	bc_buf_le32(&b, (uint32_t)sig_len);
	if (k == BC_OP_VERIFY)
		bc_buf_put(&b, sig, sig_len);
	rv = b.oom ? CKR_HOST_MEMORY :
		     bc_chip(&sn.c, opcode(k, BCFW_STEP_FINAL), sn.cs, b.p,
			     b.len, &ans, &alen);
	bc_buf_free(&b);
	/* Transport trouble: the chip may still hold the operation. */
	if (rv == CKR_DEVICE_ERROR || rv == CKR_HOST_MEMORY)
		clean = 0;
	if (rv == CKR_OK && k != BC_OP_VERIFY) {
		rv = take_out(ans, alen, out, out_len);
		if (rv == BC_TOO_SMALL) {
			bc_free_wipe(ans, alen);
			snap_free(&sn);
			return too_small(out);
		}
	}
	bc_free_wipe(ans, alen);
end:
	snap_free(&sn);
	op_end(h, k, &sn.c, clean);
	return rv;
}

/* ---- entry points ------------------------------------------------ */

BC_EXPORT CK_RV C_SignInit(CK_SESSION_HANDLE hSession,
			   CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hKey)
{
	return op_init(hSession, BC_OP_SIGN, pMechanism, hKey);
}

BC_EXPORT CK_RV C_Sign(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData,
		       CK_ULONG ulDataLen, CK_BYTE_PTR pSignature,
		       CK_ULONG_PTR pulSignatureLen)
{
	return single(hSession, BC_OP_SIGN, pData, ulDataLen, pSignature,
		      pulSignatureLen, NULL, 0);
}

BC_EXPORT CK_RV C_SignUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart,
			     CK_ULONG ulPartLen)
{
	return update(hSession, BC_OP_SIGN, pPart, ulPartLen, NULL, NULL);
}

BC_EXPORT CK_RV C_SignFinal(CK_SESSION_HANDLE hSession,
			    CK_BYTE_PTR pSignature,
			    CK_ULONG_PTR pulSignatureLen)
{
	return final(hSession, BC_OP_SIGN, pSignature, pulSignatureLen, NULL,
		     0);
}

BC_EXPORT CK_RV C_VerifyInit(CK_SESSION_HANDLE hSession,
			     CK_MECHANISM_PTR pMechanism,
			     CK_OBJECT_HANDLE hKey)
{
	return op_init(hSession, BC_OP_VERIFY, pMechanism, hKey);
}

BC_EXPORT CK_RV C_Verify(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData,
			 CK_ULONG ulDataLen, CK_BYTE_PTR pSignature,
			 CK_ULONG ulSignatureLen)
{
	return single(hSession, BC_OP_VERIFY, pData, ulDataLen, NULL, NULL,
		      pSignature, ulSignatureLen);
}

BC_EXPORT CK_RV C_VerifyUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart,
			       CK_ULONG ulPartLen)
{
	return update(hSession, BC_OP_VERIFY, pPart, ulPartLen, NULL, NULL);
}

BC_EXPORT CK_RV C_VerifyFinal(CK_SESSION_HANDLE hSession,
			      CK_BYTE_PTR pSignature, CK_ULONG ulSignatureLen)
{
	return final(hSession, BC_OP_VERIFY, NULL, NULL, pSignature,
		     ulSignatureLen);
}

BC_EXPORT CK_RV C_EncryptInit(CK_SESSION_HANDLE hSession,
			      CK_MECHANISM_PTR pMechanism,
			      CK_OBJECT_HANDLE hKey)
{
	return op_init(hSession, BC_OP_ENCRYPT, pMechanism, hKey);
}

BC_EXPORT CK_RV C_Encrypt(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData,
			  CK_ULONG ulDataLen, CK_BYTE_PTR pEncryptedData,
			  CK_ULONG_PTR pulEncryptedDataLen)
{
	return single(hSession, BC_OP_ENCRYPT, pData, ulDataLen,
		      pEncryptedData, pulEncryptedDataLen, NULL, 0);
}

BC_EXPORT CK_RV C_EncryptUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart,
				CK_ULONG ulPartLen,
				CK_BYTE_PTR pEncryptedPart,
				CK_ULONG_PTR pulEncryptedPartLen)
{
	return update(hSession, BC_OP_ENCRYPT, pPart, ulPartLen,
		      pEncryptedPart, pulEncryptedPartLen);
}

BC_EXPORT CK_RV C_EncryptFinal(CK_SESSION_HANDLE hSession,
			       CK_BYTE_PTR pLastEncryptedPart,
			       CK_ULONG_PTR pulLastEncryptedPartLen)
{
	return final(hSession, BC_OP_ENCRYPT, pLastEncryptedPart,
		     pulLastEncryptedPartLen, NULL, 0);
}

BC_EXPORT CK_RV C_DecryptInit(CK_SESSION_HANDLE hSession,
			      CK_MECHANISM_PTR pMechanism,
			      CK_OBJECT_HANDLE hKey)
{
	return op_init(hSession, BC_OP_DECRYPT, pMechanism, hKey);
}

BC_EXPORT CK_RV C_Decrypt(CK_SESSION_HANDLE hSession,
			  CK_BYTE_PTR pEncryptedData,
			  CK_ULONG ulEncryptedDataLen, CK_BYTE_PTR pData,
			  CK_ULONG_PTR pulDataLen)
{
	return single(hSession, BC_OP_DECRYPT, pEncryptedData,
		      ulEncryptedDataLen, pData, pulDataLen, NULL, 0);
}

BC_EXPORT CK_RV C_DecryptUpdate(CK_SESSION_HANDLE hSession,
				CK_BYTE_PTR pEncryptedPart,
				CK_ULONG ulEncryptedPartLen, CK_BYTE_PTR pPart,
				CK_ULONG_PTR pulPartLen)
{
	return update(hSession, BC_OP_DECRYPT, pEncryptedPart,
		      ulEncryptedPartLen, pPart, pulPartLen);
}

BC_EXPORT CK_RV C_DecryptFinal(CK_SESSION_HANDLE hSession,
			       CK_BYTE_PTR pLastPart,
			       CK_ULONG_PTR pulLastPartLen)
{
	return final(hSession, BC_OP_DECRYPT, pLastPart, pulLastPartLen, NULL,
		     0);
}

BC_EXPORT CK_RV C_DigestInit(CK_SESSION_HANDLE hSession,
			     CK_MECHANISM_PTR pMechanism)
{
	return op_init(hSession, BC_OP_DIGEST, pMechanism, 0);
}

BC_EXPORT CK_RV C_Digest(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData,
			 CK_ULONG ulDataLen, CK_BYTE_PTR pDigest,
			 CK_ULONG_PTR pulDigestLen)
{
	return single(hSession, BC_OP_DIGEST, pData, ulDataLen, pDigest,
		      pulDigestLen, NULL, 0);
}

BC_EXPORT CK_RV C_DigestUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart,
			       CK_ULONG ulPartLen)
{
	return update(hSession, BC_OP_DIGEST, pPart, ulPartLen, NULL, NULL);
}

BC_EXPORT CK_RV C_DigestFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pDigest,
			      CK_ULONG_PTR pulDigestLen)
{
	return final(hSession, BC_OP_DIGEST, pDigest, pulDigestLen, NULL, 0);
}

/* The chip has no way to digest a key's value without revealing it. */
BC_EXPORT CK_RV C_DigestKey(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hKey)
{
	struct snap sn;
	CK_RV rv = snap_take(hSession, BC_OP_DIGEST, &sn);

	(void)hKey;
	if (rv != CKR_OK)
		return rv;
	snap_free(&sn);
	return CKR_KEY_INDIGESTIBLE;
}
