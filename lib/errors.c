// SPDX-License-Identifier: LGPL-2.1-or-later
/* The one place where chip and transport failures become CKR_* codes. */
#include <errno.h>

#include "p11.h"

CK_RV bc_ckr_from_errno(int err)
{
	switch (err) {
	case 0:
		return CKR_OK;
	case -ENOMEM:
		return CKR_HOST_MEMORY;
	case -ENODEV:		/* device unplugged, emulator gone */
	case -ENOENT:
		return CKR_DEVICE_REMOVED;
	case -ESTALE:		/* the chip was reset: its sessions are gone */
		return CKR_SESSION_CLOSED;
	case -EINTR:
		return CKR_FUNCTION_CANCELED;
	case -EINVAL:
		return CKR_GENERAL_ERROR;
	case -ETIMEDOUT:	/* no answer: the chip is not well */
	case -EIO:
	case -EMSGSIZE:
	case -EBADMSG:
	case -EPERM:
	case -EACCES:
	default:
		return CKR_DEVICE_ERROR;
	}
}

CK_RV bc_ckr_from_fw(uint32_t fw_status)
{
	/* Cryptoki-level refusals carry their CKR_* themselves. */
	if (BCFW_S_IS_CKR(fw_status))
		return (CK_RV)BCFW_S_CKR_RV(fw_status);
	switch (fw_status) {
	case BCFW_S_OK:
		return CKR_OK;
	case BCFW_S_SESSION_INVALID:
		return CKR_SESSION_HANDLE_INVALID;
	case BCFW_S_SESSION_COUNT:
		return CKR_SESSION_COUNT;
	case BCFW_S_DENIED:
		return CKR_ACTION_PROHIBITED;
	/*
	 * The rest mean the library sent something the firmware does not
	 * accept, or the firmware failed: nothing the caller can fix.
	 */
	case BCFW_S_BAD_FRAME:
	case BCFW_S_BAD_VERSION:
	case BCFW_S_BAD_OPCODE:
	case BCFW_S_BAD_ARGS:
	case BCFW_S_TOO_BIG:
	case BCFW_S_INTERNAL:
	default:
		return CKR_DEVICE_ERROR;
	}
}

CK_RV bc_ckr_from_call(int err, uint32_t fw_status)
{
	if (err == -EREMOTEIO)
		return bc_ckr_from_fw(fw_status);
	return bc_ckr_from_errno(err);
}
