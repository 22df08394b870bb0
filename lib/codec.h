/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Encoding Cryptoki values into firmware request bodies and decoding
 * answers (uapi/linux/bcchip.h, docs/protocol.md "Attributes" and
 * "Mechanisms").  Bodies are written field by field in little-endian
 * order rather than through the bcfw_* structs: p11-kit's pkcs11.h
 * #defines common words (count, reserved, value) that are field names
 * there.
 *
 * Request bodies often hold secrets (PINs, key values in templates), so
 * buffers are wiped when freed.
 */
#ifndef BC_CODEC_H
#define BC_CODEC_H

#include "p11.h"

struct bc_buf {
	uint8_t *p;
	size_t len, cap;
	int oom;
};

void bc_buf_init(struct bc_buf *b);
void bc_buf_free(struct bc_buf *b);		/* wipes */
void bc_buf_put(struct bc_buf *b, const void *d, size_t n);
void bc_buf_le32(struct bc_buf *b, uint32_t v);
void bc_buf_le64(struct bc_buf *b, uint64_t v);
void bc_buf_pad8(struct bc_buf *b);		/* zeros to a multiple of 8 */
/* Offset for a later bc_buf_set_le32() (counts known only at the end). */
size_t bc_buf_mark(const struct bc_buf *b);
void bc_buf_set_le32(struct bc_buf *b, size_t at, uint32_t v);

/* Reading an answer body; any overrun sets @bad and reads zeros. */
struct bc_rd {
	const uint8_t *p;
	size_t len, pos;
	int bad;
};

void bc_rd_init(struct bc_rd *r, const void *p, size_t len);
uint32_t bc_rd_le32(struct bc_rd *r);
uint64_t bc_rd_le64(struct bc_rd *r);
const uint8_t *bc_rd_bytes(struct bc_rd *r, size_t n);
void bc_rd_align8(struct bc_rd *r);

/* Wire size class of an attribute type. */
enum bc_attr_class { BC_ATTR_BYTES, BC_ATTR_ULONG, BC_ATTR_BOOL };
enum bc_attr_class bc_attr_class(CK_ATTRIBUTE_TYPE type);

/*
 * Appends @n attributes as TLVs.  CKR_ATTRIBUTE_VALUE_INVALID for a
 * CK_ULONG or CK_BBOOL of the wrong size, CKR_ARGUMENTS_BAD for a value
 * pointer that is NULL with a length.
 */
CK_RV bc_put_template(struct bc_buf *b, const CK_ATTRIBUTE *t, CK_ULONG n);

/* Looks up a CK_BBOOL / CK_ULONG in a template: 1 found, 0 not. */
int bc_template_bool(const CK_ATTRIBUTE *t, CK_ULONG n,
		     CK_ATTRIBUTE_TYPE type, CK_BBOOL *v);
int bc_template_ulong(const CK_ATTRIBUTE *t, CK_ULONG n,
		      CK_ATTRIBUTE_TYPE type, CK_ULONG *v);

/*
 * Appends struct bcfw_mech with the mechanism's parameters encoded as
 * docs/protocol.md says, padded.  CKR_MECHANISM_PARAM_INVALID when the
 * parameter does not fit the mechanism.
 */
CK_RV bc_put_mechanism(struct bc_buf *b, const CK_MECHANISM *m);

#endif
