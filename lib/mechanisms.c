// SPDX-License-Identifier: LGPL-2.1-or-later
/* Mechanisms: what the chip says it does (MECH_LIST, MECH_INFO). */
#include <endian.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "p11.h"

BC_EXPORT CK_RV C_GetMechanismList(CK_SLOT_ID slotID,
				   CK_MECHANISM_TYPE_PTR pMechanismList,
				   CK_ULONG_PTR pulCount)
{
	struct bc_ctx c;
	struct bc_rd r;
	uint8_t *out;
	size_t len;
	uint32_t n;
	CK_RV rv = bc_check_init();

	if (rv != CKR_OK)
		return rv;
	if (!pulCount)
		return CKR_ARGUMENTS_BAD;
	rv = bc_ctx_slot(slotID, &c);
	if (rv != CKR_OK)
		return rv;
	rv = bc_chip(&c, BCFW_OP_MECH_LIST, 0, NULL, 0, &out, &len);
	if (rv != CKR_OK)
		return rv;
	bc_rd_init(&r, out, len);
	n = bc_rd_le32(&r);
	(void)bc_rd_le32(&r);
	if (r.bad || n > (len - 8) / 4) {
		free(out);
		return CKR_DEVICE_ERROR;
	}
	if (!pMechanismList) {
		*pulCount = n;
	} else if (*pulCount < n) {
		*pulCount = n;
		rv = CKR_BUFFER_TOO_SMALL;
	} else {
		for (uint32_t i = 0; i < n; i++)
			pMechanismList[i] = bc_rd_le32(&r);
		*pulCount = n;
	}
	free(out);
	return rv;
}

BC_EXPORT CK_RV C_GetMechanismInfo(CK_SLOT_ID slotID, CK_MECHANISM_TYPE type,
				   CK_MECHANISM_INFO_PTR pInfo)
{
	uint8_t req[8] = { 0 }, *out;
	struct bc_ctx c;
	struct bc_rd r;
	uint32_t le;
	size_t len;
	CK_RV rv = bc_check_init();

	if (rv != CKR_OK)
		return rv;
	if (!pInfo)
		return CKR_ARGUMENTS_BAD;
	rv = bc_ctx_slot(slotID, &c);
	if (rv != CKR_OK)
		return rv;
	if (type > 0xffffffffUL)
		return CKR_MECHANISM_INVALID;
	le = htole32((uint32_t)type);
	memcpy(req, &le, 4);
	rv = bc_chip(&c, BCFW_OP_MECH_INFO, 0, req, sizeof(req), &out, &len);
	if (rv != CKR_OK)
		return rv;
	bc_rd_init(&r, out, len);
	pInfo->ulMinKeySize = bc_rd_le32(&r);
	pInfo->ulMaxKeySize = bc_rd_le32(&r);
	pInfo->flags = (CK_FLAGS)bc_rd_le64(&r);
	free(out);
	return r.bad || len != 16 ? CKR_DEVICE_ERROR : CKR_OK;
}
