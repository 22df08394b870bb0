// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Vendor extensions (lib/bc_pkcs11_ext.h): functions beyond Cryptoki
 * that reach chip features PKCS#11 has no call for.
 */
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "p11.h"
#include "bc_pkcs11_ext.h"

/*
 * Room for the difference between two certificates of the same key: an
 * ECDSA signature's DER varies by a few bytes.  PKCS#11 lets a length
 * query answer "somewhat" more than will be needed.
 */
#define CERT_SLACK	16

/* The one certificate of a bcfw_cert_list answer. */
static CK_RV one_cert(const uint8_t *out, size_t len, const uint8_t **der,
		      size_t *der_len)
{
	struct bc_rd r;
	uint32_t count, reserved, n, zero;
	const uint8_t *pad;
	size_t padlen;

	bc_rd_init(&r, out, len);
	count = bc_rd_le32(&r);
	reserved = bc_rd_le32(&r);
	n = bc_rd_le32(&r);
	zero = bc_rd_le32(&r);
	*der = bc_rd_bytes(&r, n);
	/* The layout exactly: zero fields, zero padding, nothing after. */
	padlen = (8 - n % 8) % 8;
	pad = bc_rd_bytes(&r, padlen);
	if (r.bad || count != 1 || reserved || zero || !n || !*der ||
	    (padlen && !pad) || r.pos != len)
		return CKR_DEVICE_ERROR;
	for (size_t i = 0; i < padlen; i++)
		if (pad[i])
			return CKR_DEVICE_ERROR;
	*der_len = n;
	return CKR_OK;
}

BC_EXPORT CK_RV BC_AttestKey(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hKey,
			     CK_BYTE_PTR pNonce, CK_ULONG ulNonceLen,
			     CK_BYTE_PTR pCertificate,
			     CK_ULONG_PTR pulCertificateLen)
{
	struct bc_ctx c;
	struct bc_buf b;
	const uint8_t *der;
	uint8_t *out = NULL;
	size_t olen = 0, dlen;
	CK_RV rv = bc_ctx_session(hSession, &c);

	if (rv != CKR_OK)
		return rv;
	if (!pulCertificateLen || (!pNonce && ulNonceLen) ||
	    ulNonceLen > BC_ATTEST_NONCE_MAX)
		return CKR_ARGUMENTS_BAD;
	if (hKey == CK_INVALID_HANDLE || hKey > 0xffffffffUL)
		return CKR_KEY_HANDLE_INVALID;

	bc_buf_init(&b);
	bc_buf_le32(&b, (uint32_t)hKey);
	bc_buf_le32(&b, (uint32_t)ulNonceLen);
	if (ulNonceLen)
		bc_buf_put(&b, pNonce, ulNonceLen);
	if (b.oom) {
		bc_buf_free(&b);
		return CKR_HOST_MEMORY;
	}
	rv = bc_chip(&c, BCFW_OP_KEY_ATTEST, 0, b.p, b.len, &out, &olen);
	bc_buf_free(&b);
	if (rv != CKR_OK)
		return rv;
	rv = one_cert(out, olen, &der, &dlen);
	if (rv != CKR_OK)
		goto out;
	if (!pCertificate) {
		*pulCertificateLen = dlen + CERT_SLACK;
	} else if (*pulCertificateLen < dlen) {
		*pulCertificateLen = dlen + CERT_SLACK;
		rv = CKR_BUFFER_TOO_SMALL;
	} else {
		memcpy(pCertificate, der, dlen);
		*pulCertificateLen = dlen;
	}
out:
	free(out);
	return rv;
}
