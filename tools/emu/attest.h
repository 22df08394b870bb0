/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Attestation inside the emulator: the manufacturer CA (factory.c),
 * certificate building (certs.c), the chip's identity and attestation
 * state with its refresh scheduler (attest.c), and key attestation
 * (keyattest.c).  docs/attestation.md.
 */
#ifndef BC_EMU_ATTEST_H
#define BC_EMU_ATTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "emu.h"

/* 2.25.131368795026701721289478216230416831188 and its arcs .1, .2 */
#define EMU_OID_ARC "2.25.131368795026701721289478216230416831188"
#define EMU_OID_CHIP_STATE	EMU_OID_ARC ".1"
#define EMU_OID_KEY_ATTEST	EMU_OID_ARC ".2"

#define EMU_MODEL		"BC-1 emulated"
#define EMU_FW_MAJOR		1
#define EMU_FW_MINOR		0
#define EMU_HW_MAJOR		1
#define EMU_HW_MINOR		0

#define EMU_ATTEST_PERIOD_DEFAULT	(90u * 86400u)
#define EMU_ATTEST_PERIOD_MAX		(10u * 366u * 86400u)
#define EMU_ATTEST_GRACE		(30u * 86400u)
#define EMU_NEAR_EXPIRY			(14u * 86400u)

/* ---- factory.c ---- */

/* The default factory directory (docs/attestation.md); 0 or -errno. */
int emu_factory_default(char *buf, size_t n);
/*
 * Opens the manufacturer CA in @dir, creating it on first use; safe
 * against other emulators doing the same at once.
 */
int emu_factory_open(const char *dir, EVP_PKEY **key, X509 **cert);

/* ---- certs.c ---- */

/* A small DER writer for the extensions' contents. */
struct der {
	uint8_t *p;
	size_t n, cap;
	size_t stack[8];	/* open SEQUENCEs: offsets of their contents */
	unsigned int depth;
	bool bad;
};

void der_seq_begin(struct der *d);
void der_seq_end(struct der *d);
void der_uint(struct der *d, uint64_t v);
void der_bool(struct der *d, bool v);
/* A primitive of @tag (0x04 OCTET STRING, 0x0c UTF8String, 0x13 ...). */
void der_prim(struct der *d, uint8_t tag, const void *v, size_t len);
void der_time(struct der *d, uint64_t t);	/* GeneralizedTime */
void der_raw(struct der *d, const void *v, size_t len);
void der_free(struct der *d);

/*
 * A certificate for @pub with @subject, issued by @issuer (NULL: self
 * issued) and signed by @sign_key, valid from @not_before to @not_after
 * (0: 9999-12-31 23:59:59, "no expiry" per RFC 5280).  @exts: a list of
 * "name=value" pairs for X509V3_EXT_conf, NULL-terminated; @custom_oid
 * with @custom DER (NULL: none) added non-critical.
 */
X509 *emu_cert_issue(X509_NAME *subject, X509 *issuer, EVP_PKEY *sign_key,
		     EVP_PKEY *pub, uint64_t not_before, uint64_t not_after,
		     const char *const *exts, const char *custom_oid,
		     const struct der *custom);
/* DER of @x, malloc'd; NULL on failure. */
uint8_t *emu_cert_der(X509 *x, size_t *len);
/* The chip's subject: O=Bastionchip, OU=model, serialNumber, CN=@cn. */
X509_NAME *emu_chip_name(const char *serial, const char *cn);

/* ---- attest.c ---- */

/*
 * Loads or makes the chip's identity and attestation (after ks_init: the
 * files live in the key store).  0, or -errno when the state is damaged;
 * a chip that cannot get an identity runs on with NO_IDENTITY.
 */
int emu_attest_init(const struct emu_config *cfg,
		    const struct emu_identity *id);
/* Starts and stops the refresh scheduler (after daemonizing). */
int emu_attest_start(void);
void emu_attest_stop(void);
void emu_attest_fini(void);

/* The opcodes; a BCFW status, and a malloc'd body or NULL. */
uint32_t emu_attest_op_status(uint8_t **body, uint32_t *len);
uint32_t emu_attest_op_chain(uint8_t **body, uint32_t *len);
uint32_t emu_attest_op_refresh(void);
uint32_t emu_attest_op_test_clock(const uint8_t *req, uint32_t n,
				  uint8_t **body, uint32_t *len);

/*
 * Issues a key attestation certificate for @pub, with @ext (the arc .2
 * extension's DER) and a subject naming @handle; DER in *out.  BCFW
 * status.
 */
uint32_t emu_attest_issue_key(EVP_PKEY *pub, uint32_t handle,
			      const struct der *ext, uint8_t **out,
			      size_t *out_len);
/* The chip's serial number (16 hex digits). */
const char *emu_attest_serial(void);
/* Appends a bcfw_cert_list entry (length, zero, DER, padding). */
int emu_cert_list_put(struct der *d, const uint8_t *cert, size_t len);

#endif
