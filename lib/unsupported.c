// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Cryptoki functions the module does not offer: operation state (it lives
 * on the chip and does not leave it), sign/verify with recovery, the
 * dual-function calls and slot events.  They exist so that the function
 * list is complete; each says CKR_FUNCTION_NOT_SUPPORTED once the library
 * is initialized.
 */
#include "p11.h"

/* The parameters are unused by design. */
#pragma GCC diagnostic ignored "-Wunused-parameter"

static CK_RV not_supported(void)
{
	CK_RV rv = bc_check_init();

	return rv != CKR_OK ? rv : CKR_FUNCTION_NOT_SUPPORTED;
}

BC_EXPORT CK_RV C_WaitForSlotEvent(CK_FLAGS flags, CK_SLOT_ID *slot,
		void *reserved)
{
	return not_supported();
}

BC_EXPORT CK_RV C_GetOperationState(CK_SESSION_HANDLE session,
		unsigned char *operation_state,
		unsigned long *operation_state_len)
{
	return not_supported();
}

BC_EXPORT CK_RV C_SetOperationState(CK_SESSION_HANDLE session,
		unsigned char *operation_state,
		unsigned long operation_state_len,
		CK_OBJECT_HANDLE encryption_key,
		CK_OBJECT_HANDLE authentiation_key)
{
	return not_supported();
}

BC_EXPORT CK_RV C_SignRecoverInit(CK_SESSION_HANDLE session,
		CK_MECHANISM *mechanism, CK_OBJECT_HANDLE key)
{
	return not_supported();
}

BC_EXPORT CK_RV C_SignRecover(CK_SESSION_HANDLE session, unsigned char *data,
		unsigned long data_len, unsigned char *signature,
		unsigned long *signature_len)
{
	return not_supported();
}

BC_EXPORT CK_RV C_VerifyRecoverInit(CK_SESSION_HANDLE session,
		CK_MECHANISM *mechanism, CK_OBJECT_HANDLE key)
{
	return not_supported();
}

BC_EXPORT CK_RV C_VerifyRecover(CK_SESSION_HANDLE session,
		unsigned char *signature, unsigned long signature_len,
		unsigned char *data, unsigned long *data_len)
{
	return not_supported();
}

BC_EXPORT CK_RV C_DigestEncryptUpdate(CK_SESSION_HANDLE session,
		unsigned char *part, unsigned long part_len,
		unsigned char *encrypted_part,
		unsigned long *encrypted_part_len)
{
	return not_supported();
}

BC_EXPORT CK_RV C_DecryptDigestUpdate(CK_SESSION_HANDLE session,
		unsigned char *encrypted_part,
		unsigned long encrypted_part_len, unsigned char *part,
		unsigned long *part_len)
{
	return not_supported();
}

BC_EXPORT CK_RV C_SignEncryptUpdate(CK_SESSION_HANDLE session,
		unsigned char *part, unsigned long part_len,
		unsigned char *encrypted_part,
		unsigned long *encrypted_part_len)
{
	return not_supported();
}

BC_EXPORT CK_RV C_DecryptVerifyUpdate(CK_SESSION_HANDLE session,
		unsigned char *encrypted_part,
		unsigned long encrypted_part_len, unsigned char *part,
		unsigned long *part_len)
{
	return not_supported();
}

BC_EXPORT CK_RV C_GetFunctionStatus(CK_SESSION_HANDLE session)
{
	CK_RV rv = bc_check_init();

	/* Legacy parallel functions (PKCS#11 2.40, 11.16). */
	return rv != CKR_OK ? rv : CKR_FUNCTION_NOT_PARALLEL;
}

BC_EXPORT CK_RV C_CancelFunction(CK_SESSION_HANDLE session)
{
	CK_RV rv = bc_check_init();

	/* Legacy parallel functions (PKCS#11 2.40, 11.16). */
	return rv != CKR_OK ? rv : CKR_FUNCTION_NOT_PARALLEL;
}
