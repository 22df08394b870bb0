/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Bastionchip vendor extensions to PKCS#11, exported by libbc_pkcs11.so
 * beside the C_* functions (docs/attestation.md "Key attestation").
 * Include a pkcs11.h (p11-kit's, OASIS's) before this header.
 */
#ifndef BC_PKCS11_EXT_H
#define BC_PKCS11_EXT_H

#ifdef __cplusplus
extern "C" {
#endif

/* Largest nonce BC_AttestKey accepts, bytes. */
#define BC_ATTEST_NONCE_MAX	64

/*
 * Key attestation: an X.509 certificate (DER), issued by the chip's
 * identity key, whose public key is @key's public half and whose
 * extension (OID 2.25.131368795026701721289478216230416831188.2) says the
 * key was generated on the chip and is not extractable, with @nonce
 * (0..BC_ATTEST_NONCE_MAX bytes) inside.  @key: a private key, or a public
 * key whose private half is on the chip.
 *
 * PKCS#11 length convention: @cert_der NULL sets *@cert_len to a length
 * that is enough (each call makes a new certificate, a few bytes longer
 * or shorter); a buffer too small gives CKR_BUFFER_TOO_SMALL and the
 * length needed; otherwise the certificate and its exact length.
 *
 * CKR_KEY_FUNCTION_NOT_PERMITTED: the key was not generated on the chip,
 * or is or was extractable.  CKR_KEY_TYPE_INCONSISTENT: a secret key.
 * CKR_KEY_HANDLE_INVALID: no such key visible to the session (a private
 * key needs the user logged in).
 */
CK_RV BC_AttestKey(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hKey,
		   CK_BYTE_PTR pNonce, CK_ULONG ulNonceLen,
		   CK_BYTE_PTR pCertificate, CK_ULONG_PTR pulCertificateLen);

/* For dlsym(): */
typedef CK_RV (*BC_AttestKey_fn)(CK_SESSION_HANDLE, CK_OBJECT_HANDLE,
				 CK_BYTE_PTR, CK_ULONG, CK_BYTE_PTR,
				 CK_ULONG_PTR);

#ifdef __cplusplus
}
#endif

#endif
