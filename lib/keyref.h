/* SPDX-License-Identifier: Apache-2.0 */
/*
 * PEM key references: a file that names a key on the chip by its pkcs11:
 * URI instead of holding the key, for servers that read their private key
 * from a file.  Written by `bcctl key export-ref`, read by the provider's
 * decoder.  Format: docs/openssl.md "Key reference files".
 */
#ifndef BC_KEYREF_H
#define BC_KEYREF_H

#include <stddef.h>
#include <stdio.h>

#define BC_KEYREF_PEM_NAME "BCCHIP KEY REFERENCE"

/* Write the reference to @uri as PEM to @f.  0, or -errno. */
int bc_keyref_write_pem(FILE *f, const char *uri);

/*
 * DER body (the bytes inside the PEM armour) -> URI.  Returns a malloc'd
 * NUL-terminated URI, or NULL when @der is not a key reference.
 */
char *bc_keyref_der_to_uri(const unsigned char *der, size_t len);

#endif /* BC_KEYREF_H */
