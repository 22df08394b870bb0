// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Objects and their attributes.  The chip stores objects and enforces
 * their rules (sensitive values, read-only attributes, private objects);
 * the library adds what PKCS#11 asks of the application side: read-only
 * sessions, session objects that end with their session, and the
 * combined error rules of C_GetAttributeValue.
 *
 * Token objects have handles without BCFW_HANDLE_SESSION, so whether an
 * object is a token object is known from its handle alone.
 */
#include <endian.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "p11.h"

static int is_token_handle(CK_OBJECT_HANDLE h)
{
	return !(h & BCFW_HANDLE_SESSION);
}

static CK_RV check_handle(CK_OBJECT_HANDLE h)
{
	return (h == CK_INVALID_HANDLE || h > 0xffffffffUL) ?
	       CKR_OBJECT_HANDLE_INVALID : CKR_OK;
}

/* Token objects may only be made or changed in read-write sessions. */
static CK_RV check_rw(const struct bc_ctx *c, int token)
{
	return token && !(c->sflags & CKF_RW_SESSION) ?
	       CKR_SESSION_READ_ONLY : CKR_OK;
}

static CK_RV handle_answer(const uint8_t *out, size_t len,
			   CK_OBJECT_HANDLE *h)
{
	struct bc_rd r;

	bc_rd_init(&r, out, len);
	*h = bc_rd_le32(&r);
	if (r.bad || len != 8 || !*h)
		return CKR_DEVICE_ERROR;
	return CKR_OK;
}

CK_RV bc_new_object(CK_SESSION_HANDLE hs, struct bc_ctx *c, uint16_t opcode,
		    const void *body, size_t len, CK_OBJECT_HANDLE *ph)
{
	CK_OBJECT_HANDLE h;
	uint8_t *out;
	size_t olen;
	CK_RV rv;

	rv = bc_chip(c, opcode, 0, body, len, &out, &olen);
	if (rv != CKR_OK)
		return rv;
	rv = handle_answer(out, olen, &h);
	free(out);
	if (rv != CKR_OK)
		return rv;
	rv = bc_session_add_object(hs, h);
	if (rv != CKR_OK) {
		bc_destroy_object(c, h);
		return rv;
	}
	*ph = h;
	return CKR_OK;
}

void bc_destroy_object(struct bc_ctx *c, CK_OBJECT_HANDLE h)
{
	uint8_t req[8] = { 0 };
	uint32_t le = htole32((uint32_t)h);

	memcpy(req, &le, 4);
	(void)bc_chip(c, BCFW_OP_DESTROY_OBJECT, 0, req, sizeof(req), NULL,
		      NULL);
}

BC_EXPORT CK_RV C_CreateObject(CK_SESSION_HANDLE hSession,
			       CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount,
			       CK_OBJECT_HANDLE_PTR phObject)
{
	CK_BBOOL token = CK_FALSE;
	struct bc_buf b;
	struct bc_ctx c;
	CK_RV rv = bc_ctx_session(hSession, &c);

	if (rv != CKR_OK)
		return rv;
	if (!phObject || (!pTemplate && ulCount))
		return CKR_ARGUMENTS_BAD;
	bc_template_bool(pTemplate, ulCount, CKA_TOKEN, &token);
	rv = check_rw(&c, token);
	if (rv != CKR_OK)
		return rv;
	bc_buf_init(&b);
	bc_buf_le32(&b, 0);
	bc_buf_le32(&b, (uint32_t)ulCount);
	rv = bc_put_template(&b, pTemplate, ulCount);
	if (rv == CKR_OK)
		rv = bc_new_object(hSession, &c, BCFW_OP_CREATE_OBJECT, b.p,
				   b.len, phObject);
	bc_buf_free(&b);
	return rv;
}

BC_EXPORT CK_RV C_CopyObject(CK_SESSION_HANDLE hSession,
			     CK_OBJECT_HANDLE hObject,
			     CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount,
			     CK_OBJECT_HANDLE_PTR phNewObject)
{
	CK_BBOOL token = CK_FALSE;
	struct bc_buf b;
	struct bc_ctx c;
	CK_RV rv = bc_ctx_session(hSession, &c);

	if (rv != CKR_OK)
		return rv;
	if (!phNewObject || (!pTemplate && ulCount))
		return CKR_ARGUMENTS_BAD;
	rv = check_handle(hObject);
	if (rv != CKR_OK)
		return rv;
	/* Without CKA_TOKEN in the template the copy keeps the original's. */
	if (!bc_template_bool(pTemplate, ulCount, CKA_TOKEN, &token))
		token = is_token_handle(hObject);
	rv = check_rw(&c, token);
	if (rv != CKR_OK)
		return rv;
	bc_buf_init(&b);
	bc_buf_le32(&b, (uint32_t)hObject);
	bc_buf_le32(&b, (uint32_t)ulCount);
	rv = bc_put_template(&b, pTemplate, ulCount);
	if (rv == CKR_OK)
		rv = bc_new_object(hSession, &c, BCFW_OP_COPY_OBJECT, b.p,
				   b.len, phNewObject);
	bc_buf_free(&b);
	return rv;
}

BC_EXPORT CK_RV C_DestroyObject(CK_SESSION_HANDLE hSession,
				CK_OBJECT_HANDLE hObject)
{
	uint8_t req[8] = { 0 };
	struct bc_ctx c;
	uint32_t le;
	CK_RV rv = bc_ctx_session(hSession, &c);

	if (rv != CKR_OK)
		return rv;
	rv = check_handle(hObject);
	if (rv == CKR_OK)
		rv = check_rw(&c, is_token_handle(hObject));
	if (rv != CKR_OK)
		return rv;
	le = htole32((uint32_t)hObject);
	memcpy(req, &le, 4);
	rv = bc_chip(&c, BCFW_OP_DESTROY_OBJECT, 0, req, sizeof(req), NULL,
		     NULL);
	if (rv == CKR_OK) {
		bc_session_forget_object(c.slot, hObject);
		bc_lock();
		bc_objects_changed_locked(c.slot);
		bc_unlock();
	}
	return rv;
}

/*
 * Asks the chip for the attributes of @t.  The answer is kept in *@out
 * (free with bc_free_wipe) and walked by the caller.
 */
static CK_RV get_attrs(struct bc_ctx *c, CK_OBJECT_HANDLE h,
		       const CK_ATTRIBUTE *t, CK_ULONG n, uint8_t **out,
		       size_t *len)
{
	struct bc_buf b;
	CK_RV rv;

	bc_buf_init(&b);
	bc_buf_le32(&b, (uint32_t)h);
	bc_buf_le32(&b, (uint32_t)n);
	for (CK_ULONG i = 0; i < n; i++)
		bc_buf_le32(&b, t[i].type > 0xffffffffUL ? 0xffffffffu :
				(uint32_t)t[i].type);
	rv = b.oom ? CKR_HOST_MEMORY :
		     bc_chip(c, BCFW_OP_GET_ATTRIBUTES, 0, b.p, b.len, out,
			     len);
	bc_buf_free(&b);
	return rv;
}

/*
 * PKCS#11's rules for one call: every attribute is processed; a
 * sensitive or unknown one gets CK_UNAVAILABLE_INFORMATION and its error,
 * a buffer too small gets CK_UNAVAILABLE_INFORMATION and
 * CKR_BUFFER_TOO_SMALL; when several apply, any of them may be returned.
 */
static CK_RV fill_attrs(const uint8_t *out, size_t len, CK_ATTRIBUTE *t,
			CK_ULONG n)
{
	CK_RV rv = CKR_OK;
	struct bc_rd r;
	uint32_t cnt;

	bc_rd_init(&r, out, len);
	cnt = bc_rd_le32(&r);
	(void)bc_rd_le32(&r);
	if (r.bad || cnt != n)
		return CKR_DEVICE_ERROR;
	for (CK_ULONG i = 0; i < n; i++) {
		CK_ATTRIBUTE *a = &t[i];
		uint32_t type = bc_rd_le32(&r), vlen = bc_rd_le32(&r);
		const uint8_t *v;
		CK_ULONG need;
		uint64_t ul = 0;

		if (r.bad)
			return CKR_DEVICE_ERROR;
		if (vlen == BCFW_ATTR_SENSITIVE || vlen == BCFW_ATTR_INVALID) {
			a->ulValueLen = CK_UNAVAILABLE_INFORMATION;
			rv = vlen == BCFW_ATTR_SENSITIVE ?
			     CKR_ATTRIBUTE_SENSITIVE :
			     CKR_ATTRIBUTE_TYPE_INVALID;
			continue;
		}
		v = bc_rd_bytes(&r, vlen);
		bc_rd_align8(&r);
		if (!v || type != (uint32_t)a->type)
			return CKR_DEVICE_ERROR;
		switch (bc_attr_class(a->type)) {
		case BC_ATTR_ULONG:
			if (vlen != 8)
				return CKR_DEVICE_ERROR;
			memcpy(&ul, v, 8);
			ul = le64toh(ul);
			need = sizeof(CK_ULONG);
			break;
		case BC_ATTR_BOOL:
			if (vlen != 1)
				return CKR_DEVICE_ERROR;
			need = sizeof(CK_BBOOL);
			break;
		default:
			need = vlen;
			break;
		}
		if (!a->pValue) {
			a->ulValueLen = need;
			continue;
		}
		if (a->ulValueLen < need) {
			a->ulValueLen = CK_UNAVAILABLE_INFORMATION;
			rv = CKR_BUFFER_TOO_SMALL;
			continue;
		}
		switch (bc_attr_class(a->type)) {
		case BC_ATTR_ULONG: {
			CK_ULONG u = (CK_ULONG)ul;

			memcpy(a->pValue, &u, sizeof(u));
			break;
		}
		case BC_ATTR_BOOL:
			*(CK_BBOOL *)a->pValue = v[0] ? CK_TRUE : CK_FALSE;
			break;
		default:
			if (vlen)
				memcpy(a->pValue, v, vlen);
			break;
		}
		a->ulValueLen = need;
	}
	return rv;
}

BC_EXPORT CK_RV C_GetAttributeValue(CK_SESSION_HANDLE hSession,
				    CK_OBJECT_HANDLE hObject,
				    CK_ATTRIBUTE_PTR pTemplate,
				    CK_ULONG ulCount)
{
	struct bc_ctx c;
	uint8_t *out = NULL;
	size_t len = 0;
	CK_RV rv = bc_ctx_session(hSession, &c);

	if (rv != CKR_OK)
		return rv;
	if (!pTemplate && ulCount)
		return CKR_ARGUMENTS_BAD;
	rv = check_handle(hObject);
	if (rv != CKR_OK)
		return rv;
	rv = get_attrs(&c, hObject, pTemplate, ulCount, &out, &len);
	if (rv == CKR_OK)
		rv = fill_attrs(out, len, pTemplate, ulCount);
	bc_free_wipe(out, len);
	return rv;
}

BC_EXPORT CK_RV C_SetAttributeValue(CK_SESSION_HANDLE hSession,
				    CK_OBJECT_HANDLE hObject,
				    CK_ATTRIBUTE_PTR pTemplate,
				    CK_ULONG ulCount)
{
	struct bc_buf b;
	struct bc_ctx c;
	CK_RV rv = bc_ctx_session(hSession, &c);

	if (rv != CKR_OK)
		return rv;
	if (!pTemplate && ulCount)
		return CKR_ARGUMENTS_BAD;
	rv = check_handle(hObject);
	if (rv == CKR_OK)
		rv = check_rw(&c, is_token_handle(hObject));
	if (rv != CKR_OK)
		return rv;
	bc_buf_init(&b);
	bc_buf_le32(&b, (uint32_t)hObject);
	bc_buf_le32(&b, (uint32_t)ulCount);
	rv = bc_put_template(&b, pTemplate, ulCount);
	if (rv == CKR_OK)
		rv = bc_chip(&c, BCFW_OP_SET_ATTRIBUTES, 0, b.p, b.len, NULL,
			     NULL);
	bc_buf_free(&b);
	/* Usage flags may have changed, even when the chip said no to part. */
	bc_lock();
	bc_objects_changed_locked(c.slot);
	bc_unlock();
	return rv;
}

BC_EXPORT CK_RV C_GetObjectSize(CK_SESSION_HANDLE hSession,
				CK_OBJECT_HANDLE hObject, CK_ULONG_PTR pulSize)
{
	CK_OBJECT_CLASS cls;
	CK_ATTRIBUTE a = { CKA_CLASS, &cls, sizeof(cls) };
	struct bc_ctx c;
	uint8_t *out = NULL;
	size_t len = 0;
	CK_RV rv = bc_ctx_session(hSession, &c);

	if (rv != CKR_OK)
		return rv;
	if (!pulSize)
		return CKR_ARGUMENTS_BAD;
	rv = check_handle(hObject);
	if (rv != CKR_OK)
		return rv;
	/* The object must exist; its size on the chip is not told. */
	rv = get_attrs(&c, hObject, &a, 1, &out, &len);
	if (rv == CKR_OK)
		rv = fill_attrs(out, len, &a, 1);
	bc_free_wipe(out, len);
	if (rv == CKR_OK)
		*pulSize = CK_UNAVAILABLE_INFORMATION;
	return rv;
}

/* ---- search ------------------------------------------------------ */

/* Every match of the encoded template @tlv (@n attributes). */
static CK_RV find_all(struct bc_ctx *c, const struct bc_buf *tlv, CK_ULONG n,
		      CK_OBJECT_HANDLE **found, size_t *nfound)
{
	CK_OBJECT_HANDLE *list = NULL;
	size_t cnt = 0, cap = 0;
	uint32_t after = 0, more = 1;
	CK_RV rv = CKR_OK;

	while (more && rv == CKR_OK) {
		struct bc_buf b;
		struct bc_rd r;
		uint8_t *out = NULL;
		size_t len = 0;
		uint32_t got;

		bc_buf_init(&b);
		bc_buf_le32(&b, 0);
		bc_buf_le32(&b, after);
		bc_buf_le32(&b, 1024);
		bc_buf_le32(&b, (uint32_t)n);
		bc_buf_put(&b, tlv->p, tlv->len);
		rv = b.oom ? CKR_HOST_MEMORY :
			     bc_chip(c, BCFW_OP_FIND_OBJECTS, 0, b.p, b.len,
				     &out, &len);
		bc_buf_free(&b);
		if (rv != CKR_OK)
			break;
		bc_rd_init(&r, out, len);
		got = bc_rd_le32(&r);
		more = bc_rd_le32(&r);
		if (r.bad || got > (len - 8) / 4 || (more && !got)) {
			free(out);
			rv = CKR_DEVICE_ERROR;
			break;
		}
		if (cnt + got > cap) {
			size_t nc = cnt + got + 64;
			CK_OBJECT_HANDLE *nl = realloc(list, nc * sizeof(*nl));

			if (!nl) {
				free(out);
				rv = CKR_HOST_MEMORY;
				break;
			}
			list = nl;
			cap = nc;
		}
		for (uint32_t i = 0; i < got; i++) {
			uint32_t h = bc_rd_le32(&r);

			if (h <= after && (i || after)) {
				rv = CKR_DEVICE_ERROR;
				break;
			}
			list[cnt++] = h;
			after = h;
		}
		free(out);
	}
	if (rv != CKR_OK) {
		free(list);
		return rv;
	}
	*found = list;
	*nfound = cnt;
	return CKR_OK;
}

BC_EXPORT CK_RV C_FindObjectsInit(CK_SESSION_HANDLE hSession,
				  CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount)
{
	CK_OBJECT_HANDLE *found = NULL;
	struct bc_session *s;
	struct bc_buf tlv;
	struct bc_ctx c;
	size_t nfound = 0;
	CK_RV rv = bc_ctx_session(hSession, &c);

	if (rv != CKR_OK)
		return rv;
	if (!pTemplate && ulCount)
		return CKR_ARGUMENTS_BAD;
	bc_lock();
	s = bc_session_find_locked(hSession);
	if (!s)
		rv = CKR_SESSION_HANDLE_INVALID;
	else if (s->op[BC_OP_FIND].active)
		rv = CKR_OPERATION_ACTIVE;
	else
		s->op[BC_OP_FIND].active = 1;
	bc_unlock();
	if (rv != CKR_OK)
		return rv;

	bc_buf_init(&tlv);
	rv = bc_put_template(&tlv, pTemplate, ulCount);
	if (rv == CKR_ATTRIBUTE_VALUE_INVALID)
		rv = CKR_OK;	/* nothing can match; found stays empty */
	else if (rv == CKR_OK)
		rv = find_all(&c, &tlv, ulCount, &found, &nfound);
	bc_buf_free(&tlv);

	bc_lock();
	s = bc_session_find_locked(hSession);
	if (s && rv == CKR_OK) {
		s->op[BC_OP_FIND].found = found;
		s->op[BC_OP_FIND].nfound = nfound;
		s->op[BC_OP_FIND].pos = 0;
		found = NULL;
	} else if (s) {
		bc_op_clear(&s->op[BC_OP_FIND]);
	} else {
		rv = CKR_SESSION_HANDLE_INVALID;
	}
	bc_unlock();
	free(found);
	return rv;
}

BC_EXPORT CK_RV C_FindObjects(CK_SESSION_HANDLE hSession,
			      CK_OBJECT_HANDLE_PTR phObject,
			      CK_ULONG ulMaxObjectCount,
			      CK_ULONG_PTR pulObjectCount)
{
	struct bc_session *s;
	CK_RV rv = bc_check_init();

	if (rv != CKR_OK)
		return rv;
	if (!pulObjectCount || (!phObject && ulMaxObjectCount))
		return CKR_ARGUMENTS_BAD;
	bc_lock();
	s = bc_session_find_locked(hSession);
	if (!s) {
		rv = CKR_SESSION_HANDLE_INVALID;
	} else if (!s->op[BC_OP_FIND].active) {
		rv = CKR_OPERATION_NOT_INITIALIZED;
	} else {
		struct bc_op *op = &s->op[BC_OP_FIND];
		CK_ULONG n = 0;

		while (n < ulMaxObjectCount && op->pos < op->nfound)
			phObject[n++] = op->found[op->pos++];
		*pulObjectCount = n;
	}
	bc_unlock();
	return rv;
}

BC_EXPORT CK_RV C_FindObjectsFinal(CK_SESSION_HANDLE hSession)
{
	struct bc_session *s;
	CK_RV rv = bc_check_init();

	if (rv != CKR_OK)
		return rv;
	bc_lock();
	s = bc_session_find_locked(hSession);
	if (!s)
		rv = CKR_SESSION_HANDLE_INVALID;
	else if (!s->op[BC_OP_FIND].active)
		rv = CKR_OPERATION_NOT_INITIALIZED;
	else
		bc_op_clear(&s->op[BC_OP_FIND]);
	bc_unlock();
	return rv;
}
