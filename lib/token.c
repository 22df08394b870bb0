// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Token information, token initialization, PINs and login.  The chip
 * checks PINs, counts failures and holds the login state of our client
 * (PKCS#11's application); the library mirrors the login state per slot
 * to answer C_GetSessionInfo and to apply the rules about read-only
 * sessions without a round trip.  PIN bytes are wiped from every buffer
 * they pass through.
 */
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "p11.h"

/* Chip text fields arrive space padded; keep them printable for clients. */
static void copy_field(unsigned char *dst, const uint8_t *src, size_t len)
{
	for (size_t i = 0; i < len; i++)
		dst[i] = (src[i] >= 0x20 && src[i] < 0x7f) ? src[i] : ' ';
}

struct token_info {
	uint8_t label[BCFW_LABEL_LEN];
	uint32_t flags, login, pin_min, pin_max, max_tries;
	uint32_t user_left, so_left, max_sessions, sessions, rw_sessions;
	uint32_t max_objects, objects;
};

static CK_RV token_info(struct bc_ctx *c, struct token_info *ti)
{
	const uint8_t *label;
	struct bc_rd r;
	uint8_t *out;
	size_t len;
	CK_RV rv;

	rv = bc_chip(c, BCFW_OP_TOKEN_INFO, 0, NULL, 0, &out, &len);
	if (rv != CKR_OK)
		return rv;
	bc_rd_init(&r, out, len);
	label = bc_rd_bytes(&r, BCFW_LABEL_LEN);
	if (label)
		memcpy(ti->label, label, BCFW_LABEL_LEN);
	ti->flags = bc_rd_le32(&r);
	ti->login = bc_rd_le32(&r);
	ti->pin_min = bc_rd_le32(&r);
	ti->pin_max = bc_rd_le32(&r);
	ti->max_tries = bc_rd_le32(&r);
	ti->user_left = bc_rd_le32(&r);
	ti->so_left = bc_rd_le32(&r);
	ti->max_sessions = bc_rd_le32(&r);
	ti->sessions = bc_rd_le32(&r);
	ti->rw_sessions = bc_rd_le32(&r);
	ti->max_objects = bc_rd_le32(&r);
	ti->objects = bc_rd_le32(&r);
	free(out);
	return r.bad ? CKR_DEVICE_ERROR : CKR_OK;
}

BC_EXPORT CK_RV C_GetTokenInfo(CK_SLOT_ID slotID, CK_TOKEN_INFO_PTR pInfo)
{
	struct token_info ti;
	struct bc_chip_info ci;
	struct bc_ctx c;
	CK_RV rv = bc_check_init();

	if (rv != CKR_OK)
		return rv;
	if (!pInfo)
		return CKR_ARGUMENTS_BAD;
	rv = bc_ctx_slot(slotID, &c);
	if (rv != CKR_OK)
		return rv;
	memset(&ti, 0, sizeof(ti));
	rv = token_info(&c, &ti);
	if (rv != CKR_OK)
		return rv;
	bc_lock();
	ci = bc_g.slots[slotID].info;
	bc_unlock();

	memset(pInfo, 0, sizeof(*pInfo));
	copy_field(pInfo->label, ti.label, sizeof(pInfo->label));
	copy_field(pInfo->manufacturerID, ci.manufacturer,
		   sizeof(pInfo->manufacturerID));
	copy_field(pInfo->model, ci.model, sizeof(pInfo->model));
	copy_field(pInfo->serialNumber, ci.serial,
		   sizeof(pInfo->serialNumber));
	/* The chip's flags are CKF_* values; pass on only those we know. */
	pInfo->flags = ti.flags & (CKF_RNG | CKF_LOGIN_REQUIRED |
				   CKF_USER_PIN_INITIALIZED |
				   CKF_TOKEN_INITIALIZED |
				   CKF_USER_PIN_COUNT_LOW |
				   CKF_USER_PIN_FINAL_TRY |
				   CKF_USER_PIN_LOCKED |
				   CKF_SO_PIN_COUNT_LOW |
				   CKF_SO_PIN_FINAL_TRY | CKF_SO_PIN_LOCKED);
	/*
	 * Application sessions cost the chip nothing until an operation
	 * needs one (pool.c): there is no limit to report.
	 */
	pInfo->ulMaxSessionCount = CK_EFFECTIVELY_INFINITE;
	pInfo->ulMaxRwSessionCount = CK_EFFECTIVELY_INFINITE;
	bc_lock();
	pInfo->ulSessionCount = bc_g.slots[slotID].sessions;
	pInfo->ulRwSessionCount = bc_g.slots[slotID].rw_sessions;
	bc_unlock();
	pInfo->ulMaxPinLen = ti.pin_max;
	pInfo->ulMinPinLen = ti.pin_min;
	pInfo->ulTotalPublicMemory = CK_UNAVAILABLE_INFORMATION;
	pInfo->ulFreePublicMemory = CK_UNAVAILABLE_INFORMATION;
	pInfo->ulTotalPrivateMemory = CK_UNAVAILABLE_INFORMATION;
	pInfo->ulFreePrivateMemory = CK_UNAVAILABLE_INFORMATION;
	pInfo->hardwareVersion.major = ci.hw_major;
	pInfo->hardwareVersion.minor = ci.hw_minor;
	pInfo->firmwareVersion.major = ci.fw_major;
	pInfo->firmwareVersion.minor = ci.fw_minor;
	/* No CKF_CLOCK_ON_TOKEN: the field is blank. */
	memset(pInfo->utcTime, ' ', sizeof(pInfo->utcTime));
	return CKR_OK;
}

static CK_RV check_pin_arg(const CK_UTF8CHAR *pin, CK_ULONG len)
{
	if (!pin && len)
		return CKR_ARGUMENTS_BAD;
	/* The chip judges the length; this only keeps frames sane. */
	if (len > 4096)
		return CKR_PIN_LEN_RANGE;
	return CKR_OK;
}

BC_EXPORT CK_RV C_InitToken(CK_SLOT_ID slotID, CK_UTF8CHAR_PTR pPin,
			    CK_ULONG ulPinLen, CK_UTF8CHAR_PTR pLabel)
{
	struct bc_buf b;
	struct bc_ctx c;
	uint8_t label[BCFW_LABEL_LEN];
	CK_RV rv = bc_check_init();

	if (rv != CKR_OK)
		return rv;
	if (!pLabel)
		return CKR_ARGUMENTS_BAD;
	rv = check_pin_arg(pPin, ulPinLen);
	if (rv != CKR_OK)
		return rv;
	rv = bc_ctx_slot(slotID, &c);
	if (rv != CKR_OK)
		return rv;
	bc_lock();
	if (bc_g.slots[slotID].sessions)
		rv = CKR_SESSION_EXISTS;
	bc_unlock();
	if (rv != CKR_OK)
		return rv;
	/* The chip refuses while any chip session is open, idle ones too. */
	bc_pool_drain(&c);
	memcpy(label, pLabel, sizeof(label));
	bc_buf_init(&b);
	bc_buf_put(&b, label, sizeof(label));
	bc_buf_le32(&b, (uint32_t)ulPinLen);
	bc_buf_le32(&b, 0);
	bc_buf_put(&b, pPin, ulPinLen);
	rv = b.oom ? CKR_HOST_MEMORY :
		     bc_chip(&c, BCFW_OP_INIT_TOKEN, 0, b.p, b.len, NULL,
			     NULL);
	bc_buf_free(&b);
	if (rv == CKR_OK) {
		/* Every client is logged out; the mechanisms stay. */
		bc_lock();
		if (bc_g.slots[slotID].epoch == c.epoch)
			bc_g.slots[slotID].login = BC_NOBODY;
		bc_objects_changed_locked(slotID);
		bc_unlock();
	}
	return rv;
}

BC_EXPORT CK_RV C_InitPIN(CK_SESSION_HANDLE hSession, CK_UTF8CHAR_PTR pPin,
			  CK_ULONG ulPinLen)
{
	struct bc_buf b;
	struct bc_ctx c;
	CK_RV rv = bc_ctx_session(hSession, &c);

	if (rv != CKR_OK)
		return rv;
	rv = check_pin_arg(pPin, ulPinLen);
	if (rv != CKR_OK)
		return rv;
	if (c.login != CKU_SO)
		return CKR_USER_NOT_LOGGED_IN;
	if (!(c.sflags & CKF_RW_SESSION))
		return CKR_SESSION_READ_ONLY;
	bc_buf_init(&b);
	bc_buf_le32(&b, (uint32_t)ulPinLen);
	bc_buf_le32(&b, 0);
	bc_buf_put(&b, pPin, ulPinLen);
	rv = b.oom ? CKR_HOST_MEMORY :
		     bc_chip(&c, BCFW_OP_INIT_PIN, 0, b.p, b.len, NULL, NULL);
	bc_buf_free(&b);
	return rv;
}

BC_EXPORT CK_RV C_SetPIN(CK_SESSION_HANDLE hSession, CK_UTF8CHAR_PTR pOldPin,
			 CK_ULONG ulOldLen, CK_UTF8CHAR_PTR pNewPin,
			 CK_ULONG ulNewLen)
{
	struct bc_buf b;
	struct bc_ctx c;
	CK_RV rv = bc_ctx_session(hSession, &c);

	if (rv != CKR_OK)
		return rv;
	rv = check_pin_arg(pOldPin, ulOldLen);
	if (rv == CKR_OK)
		rv = check_pin_arg(pNewPin, ulNewLen);
	if (rv != CKR_OK)
		return rv;
	if (!(c.sflags & CKF_RW_SESSION))
		return CKR_SESSION_READ_ONLY;
	bc_buf_init(&b);
	bc_buf_le32(&b, (uint32_t)ulOldLen);
	bc_buf_le32(&b, (uint32_t)ulNewLen);
	bc_buf_put(&b, pOldPin, ulOldLen);
	bc_buf_put(&b, pNewPin, ulNewLen);
	rv = b.oom ? CKR_HOST_MEMORY :
		     bc_chip(&c, BCFW_OP_SET_PIN, 0, b.p, b.len, NULL, NULL);
	bc_buf_free(&b);
	return rv;
}

/* With bc_lock() held: any read-only session on @slot? */
static int ro_session_exists_locked(CK_SLOT_ID slot)
{
	const struct bc_slot *s = &bc_g.slots[slot];

	return s->sessions > s->rw_sessions;
}

BC_EXPORT CK_RV C_Login(CK_SESSION_HANDLE hSession, CK_USER_TYPE userType,
			CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen)
{
	struct bc_buf b;
	struct bc_ctx c;
	CK_RV rv = bc_ctx_session(hSession, &c);

	if (rv != CKR_OK)
		return rv;
	if (userType != CKU_SO && userType != CKU_USER)
		return userType == CKU_CONTEXT_SPECIFIC ?
		       CKR_OPERATION_NOT_INITIALIZED : CKR_USER_TYPE_INVALID;
	rv = check_pin_arg(pPin, ulPinLen);
	if (rv != CKR_OK)
		return rv;
	if (c.login == userType)
		return CKR_USER_ALREADY_LOGGED_IN;
	if (c.login != BC_NOBODY)
		return CKR_USER_ANOTHER_ALREADY_LOGGED_IN;
	if (userType == CKU_SO) {
		bc_lock();
		if (ro_session_exists_locked(c.slot))
			rv = CKR_SESSION_READ_ONLY_EXISTS;
		bc_unlock();
		if (rv != CKR_OK)
			return rv;
	}
	bc_buf_init(&b);
	bc_buf_le32(&b, userType == CKU_SO ? BCFW_USER_SO : BCFW_USER_USER);
	bc_buf_le32(&b, (uint32_t)ulPinLen);
	bc_buf_put(&b, pPin, ulPinLen);
	rv = b.oom ? CKR_HOST_MEMORY :
		     bc_chip(&c, BCFW_OP_LOGIN, 0, b.p, b.len, NULL, NULL);
	bc_buf_free(&b);
	/* The chip's verdict also fixes our mirror when it was stale. */
	if (rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN) {
		bc_lock();
		if (bc_g.slots[c.slot].epoch == c.epoch)
			bc_g.slots[c.slot].login = userType;
		bc_unlock();
	}
	return rv;
}

BC_EXPORT CK_RV C_Logout(CK_SESSION_HANDLE hSession)
{
	struct bc_ctx c;
	CK_RV rv = bc_ctx_session(hSession, &c);

	if (rv != CKR_OK)
		return rv;
	if (c.login == BC_NOBODY)
		return CKR_USER_NOT_LOGGED_IN;
	rv = bc_chip(&c, BCFW_OP_LOGOUT, 0, NULL, 0, NULL, NULL);
	if (rv == CKR_OK || rv == CKR_USER_NOT_LOGGED_IN) {
		bc_lock();
		if (bc_g.slots[c.slot].epoch == c.epoch)
			bc_g.slots[c.slot].login = BC_NOBODY;
		bc_unlock();
		rv = CKR_OK;
	}
	return rv;
}
