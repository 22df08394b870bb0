/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * Bastionchip user-space interfaces.
 *
 * Two contracts live here, and only here:
 *
 *  1. The firmware command protocol: the request and response frames that
 *     the PKCS#11 library builds and the chip's firmware parses.  The kernel
 *     driver reads only the frame header (length and opcode class).
 *     All multi-byte frame fields are little-endian.  docs/protocol.md.
 *
 *  2. The ioctl ABI of /dev/bcchipN.  docs/ioctl.md.
 *
 * Both are versioned; fields only ever get added at the end of a struct,
 * and reserved fields must be zero.
 */
#ifndef _UAPI_LINUX_BCCHIP_H
#define _UAPI_LINUX_BCCHIP_H

#include <linux/types.h>
#include <linux/ioctl.h>

/* ------------------------------------------------------------------ */
/* Firmware command protocol                                           */
/* ------------------------------------------------------------------ */

#define BCFW_MAGIC		0x57464342u	/* "BCFW" little-endian */
#define BCFW_PROTO_VERSION	1

/*
 * Every request and every response starts with this header; the body
 * follows immediately.  @length counts header and body.
 */
struct bcfw_hdr {
	__le32 magic;		/* BCFW_MAGIC */
	__u8   version;		/* BCFW_PROTO_VERSION */
	__u8   flags;		/* none defined: must be 0 */
	__le16 opcode;		/* BCFW_OP_* */
	__le32 length;		/* header + body, in bytes */
	__le32 session;		/* chip session handle, 0 for none */
	__le32 status;		/* response: BCFW_S_*; request: must be 0 */
	__le32 reserved;	/* must be 0 */
};

#define BCFW_HDR_SIZE		24

/*
 * Opcode classes.  The driver enforces privilege by class and never
 * looks further into a frame.
 *   0x0000-0x3fff  user: any client with the device open
 *   0x4000-0x7fff  host: issued only by the driver or the QEMU device
 *                  (client teardown); refused when they come from user
 *                  space
 *   0x8000-0xffff  admin: file opened for writing and CAP_SYS_ADMIN
 */
#define BCFW_OPC_CLASS_MASK	0xc000
#define BCFW_OPC_USER		0x0000
#define BCFW_OPC_HOST		0x4000
#define BCFW_OPC_ADMIN		0x8000
#define BCFW_OPC_CLASS(op)	((op) & BCFW_OPC_CLASS_MASK)

enum bcfw_opcode {
	/* body: none; response body: struct bcfw_info */
	BCFW_OP_GET_INFO	= 0x0001,
	/* body: any bytes; response body: the same bytes */
	BCFW_OP_ECHO		= 0x0002,
	/* body: struct bcfw_random_req; response body: the random bytes */
	BCFW_OP_RANDOM		= 0x0003,

	/* body: struct bcfw_session_open_req; resp: bcfw_session_open_resp */
	BCFW_OP_SESSION_OPEN	= 0x0101,
	/* hdr.session names the session; body: none */
	BCFW_OP_SESSION_CLOSE	= 0x0102,

	/*
	 * Token and PINs (docs/protocol.md "Token").  All user class: the
	 * SO PIN, not the opcode class, is the authority for INIT_TOKEN, so
	 * that C_InitToken works for an ordinary user holding the SO PIN.
	 */
	BCFW_OP_TOKEN_INFO	= 0x0201, /* none; resp bcfw_token_info */
	BCFW_OP_INIT_TOKEN	= 0x0202, /* bcfw_init_token_req + SO PIN */
	BCFW_OP_INIT_PIN	= 0x0203, /* bcfw_pin_req + PIN; SO only */
	BCFW_OP_SET_PIN		= 0x0204, /* bcfw_set_pin_req + old + new */
	BCFW_OP_LOGIN		= 0x0205, /* bcfw_login_req + PIN */
	BCFW_OP_LOGOUT		= 0x0206, /* none */

	/* Mechanisms */
	BCFW_OP_MECH_LIST	= 0x0301, /* none; resp bcfw_mech_list */
	BCFW_OP_MECH_INFO	= 0x0302, /* bcfw_mech_info_req; resp bcfw_mech_info */

	/* Objects (docs/protocol.md "Objects") */
	BCFW_OP_CREATE_OBJECT	= 0x0401, /* bcfw_obj_req + TLVs; resp bcfw_handle_resp */
	BCFW_OP_COPY_OBJECT	= 0x0402, /* bcfw_obj_req + TLVs; resp bcfw_handle_resp */
	BCFW_OP_DESTROY_OBJECT	= 0x0403, /* bcfw_obj_req, count 0 */
	/* bcfw_obj_req + __le32 types; response: bcfw_attrs_resp + TLVs */
	BCFW_OP_GET_ATTRIBUTES	= 0x0404,
	BCFW_OP_SET_ATTRIBUTES	= 0x0405, /* bcfw_obj_req + TLVs */
	BCFW_OP_FIND_OBJECTS	= 0x0406, /* bcfw_find_req + TLVs; resp bcfw_find_resp + handles */

	/* Keys */
	BCFW_OP_GENERATE_KEY	= 0x0501, /* bcfw_genkey_req; resp bcfw_handle_resp */
	BCFW_OP_GENERATE_KEY_PAIR = 0x0502, /* bcfw_genkp_req; resp bcfw_keypair_resp */
	BCFW_OP_WRAP_KEY	= 0x0503, /* bcfw_wrap_req; resp bcfw_out + data */
	BCFW_OP_UNWRAP_KEY	= 0x0504, /* bcfw_unwrap_req; resp bcfw_handle_resp */
	BCFW_OP_DERIVE_KEY	= 0x0505, /* bcfw_derive_req; resp bcfw_handle_resp */

	/*
	 * Crypto operations.  Each family F has F_INIT (bcfw_op_init),
	 * F_UPDATE (bcfw_op_update + data), F_FINAL (bcfw_op_final) and a
	 * stateless one-shot F (bcfw_op_oneshot).  Output: bcfw_out + data.
	 */
	BCFW_OP_CANCEL		= 0x0600, /* none: ends the session's operation */
	BCFW_OP_SIGN_INIT	= 0x0610,
	BCFW_OP_SIGN_UPDATE	= 0x0611,
	BCFW_OP_SIGN_FINAL	= 0x0612,
	BCFW_OP_SIGN		= 0x0613,
	BCFW_OP_VERIFY_INIT	= 0x0620,
	BCFW_OP_VERIFY_UPDATE	= 0x0621,
	BCFW_OP_VERIFY_FINAL	= 0x0622,
	BCFW_OP_VERIFY		= 0x0623,
	BCFW_OP_ENCRYPT_INIT	= 0x0630,
	BCFW_OP_ENCRYPT_UPDATE	= 0x0631,
	BCFW_OP_ENCRYPT_FINAL	= 0x0632,
	BCFW_OP_ENCRYPT		= 0x0633,
	BCFW_OP_DECRYPT_INIT	= 0x0640,
	BCFW_OP_DECRYPT_UPDATE	= 0x0641,
	BCFW_OP_DECRYPT_FINAL	= 0x0642,
	BCFW_OP_DECRYPT		= 0x0643,
	BCFW_OP_DIGEST_INIT	= 0x0650,
	BCFW_OP_DIGEST_UPDATE	= 0x0651,
	BCFW_OP_DIGEST_FINAL	= 0x0652,
	BCFW_OP_DIGEST		= 0x0653,

	/*
	 * Attestation (docs/attestation.md).  STATUS and CHAIN need no
	 * session or login.  KEY_ATTEST: the key's handle must be visible to
	 * the client (a private key: logged in as the user).
	 */
	BCFW_OP_ATTEST_STATUS	= 0x0701, /* none; resp bcfw_attest_status */
	BCFW_OP_ATTEST_CHAIN	= 0x0702, /* none; resp bcfw_cert_list (2 certs) */
	BCFW_OP_KEY_ATTEST	= 0x0703, /* bcfw_key_attest_req + nonce; resp bcfw_cert_list (1) */

	/*
	 * Host only: the client stamped on this command is gone (its file
	 * was closed or its process died); destroy its sessions and session
	 * objects.  body: none.
	 */
	BCFW_OP_CLIENT_CLOSE	= 0x4001,

	/* Admin: refresh the attestation certificate now.  resp: status. */
	BCFW_OP_ATTEST_REFRESH	= 0x8001,
	/*
	 * Admin, diagnostics: hold one firmware engine for a while, then
	 * answer like ECHO with an empty body.  body: struct bcfw_sleep_req.
	 * Admin class because an engine held for a minute is capacity taken
	 * from every other client.
	 */
	BCFW_OP_SLEEP		= 0x8002,
	/*
	 * Admin, tests only: set the chip clock.  Refused (BCFW_S_DENIED)
	 * unless the emulator runs with --test-clock; a real chip has no
	 * such command.  body: bcfw_test_clock_req; resp: bcfw_attest_status.
	 */
	BCFW_OP_TEST_CLOCK	= 0x80f0,
};

/* Operation family of a crypto opcode, and the step within it. */
#define BCFW_OP_FAMILY(op)	((op) & 0xfff0)
#define BCFW_OP_STEP(op)	((op) & 0x000f)
#define BCFW_STEP_INIT		0
#define BCFW_STEP_UPDATE	1
#define BCFW_STEP_FINAL		2
#define BCFW_STEP_ONESHOT	3

enum bcfw_status {
	BCFW_S_OK		= 0,
	BCFW_S_BAD_FRAME	= 1,	/* bad magic, length or reserved bits */
	BCFW_S_BAD_VERSION	= 2,	/* protocol version not spoken */
	BCFW_S_BAD_OPCODE	= 3,	/* opcode unknown to the firmware */
	BCFW_S_BAD_ARGS		= 4,	/* body malformed for the opcode */
	BCFW_S_DENIED		= 5,	/* opcode class not allowed here */
	BCFW_S_SESSION_INVALID	= 6,	/* no such session for this client */
	BCFW_S_SESSION_COUNT	= 7,	/* chip session limit reached */
	BCFW_S_TOO_BIG		= 8,	/* answer would exceed the frame limit */
	BCFW_S_INTERNAL		= 9,	/* firmware fault */
};

/*
 * Cryptoki-level refusals carry the PKCS#11 return value itself:
 * status BCFW_S_CKR(CKR_x), for any CKR_x below 0x10000.  The library
 * passes CKR_x through unchanged.  Such responses, like every error,
 * have no body.
 */
#define BCFW_S_CKR_BASE		0x00010000u
#define BCFW_S_CKR(rv)		(BCFW_S_CKR_BASE | ((rv) & 0xffffu))
#define BCFW_S_IS_CKR(st)	(((st) & 0xffff0000u) == BCFW_S_CKR_BASE)
#define BCFW_S_CKR_RV(st)	((st) & 0xffffu)

#define BCFW_SERIAL_LEN		16
#define BCFW_LABEL_LEN		32
#define BCFW_MODEL_LEN		16
#define BCFW_MANUF_LEN		32

/* Text fields are padded with spaces, not NUL-terminated (as PKCS#11). */
struct bcfw_info {
	__u8   serial[BCFW_SERIAL_LEN];
	__u8   label[BCFW_LABEL_LEN];
	__u8   model[BCFW_MODEL_LEN];
	__u8   manufacturer[BCFW_MANUF_LEN];
	__u8   fw_major;
	__u8   fw_minor;
	__u8   hw_major;
	__u8   hw_minor;
	__le32 max_sessions;
	__le32 sessions_in_use;
	__le32 max_objects;
	__le32 objects_in_use;
	__le32 max_frame;		/* largest frame, header included */
	__le32 max_random;		/* largest BCFW_OP_RANDOM request */
	__le32 reserved[9];
};

struct bcfw_random_req {
	__le32 length;			/* 1 .. bcfw_info.max_random */
	__le32 reserved;
};

struct bcfw_sleep_req {
	__le32 msecs;			/* at most BCFW_SLEEP_MAX_MS */
	__le32 reserved;
};

#define BCFW_SLEEP_MAX_MS	60000

#define BCFW_SESSION_RW		0x1

struct bcfw_session_open_req {
	__le32 flags;			/* BCFW_SESSION_* */
	__le32 reserved;
};

struct bcfw_session_open_resp {
	__le32 session;			/* never 0 */
	__le32 reserved;
};

/* ---- Token and PINs ---- */

#define BCFW_PIN_MIN		4	/* bytes; empty PINs are never taken */
#define BCFW_PIN_MAX		64
#define BCFW_PIN_TRIES		10	/* failures in a row that lock a PIN */

/* Users, numbered as PKCS#11's CKU_*. */
#define BCFW_USER_SO		0
#define BCFW_USER_USER		1

/* Login state of the asking client (bcfw_token_info.login). */
#define BCFW_LOGIN_NONE		0
#define BCFW_LOGIN_SO		1
#define BCFW_LOGIN_USER		2

/*
 * Token flags: the values of PKCS#11's CKF_* token flags, so the library
 * may pass them on.  The chip sets only these.
 */
#define BCFW_TOKF_RNG			0x00000001u
#define BCFW_TOKF_LOGIN_REQUIRED	0x00000004u
#define BCFW_TOKF_USER_PIN_INITIALIZED	0x00000008u
#define BCFW_TOKF_TOKEN_INITIALIZED	0x00000400u
#define BCFW_TOKF_USER_PIN_COUNT_LOW	0x00010000u
#define BCFW_TOKF_USER_PIN_FINAL_TRY	0x00020000u
#define BCFW_TOKF_USER_PIN_LOCKED	0x00040000u
#define BCFW_TOKF_SO_PIN_COUNT_LOW	0x00100000u
#define BCFW_TOKF_SO_PIN_FINAL_TRY	0x00200000u
#define BCFW_TOKF_SO_PIN_LOCKED		0x00400000u

struct bcfw_token_info {
	__u8   label[BCFW_LABEL_LEN];	/* space padded */
	__le32 flags;			/* BCFW_TOKF_* */
	__le32 login;			/* BCFW_LOGIN_*, of this client */
	__le32 pin_min;			/* BCFW_PIN_MIN */
	__le32 pin_max;			/* BCFW_PIN_MAX */
	__le32 max_tries;		/* BCFW_PIN_TRIES */
	__le32 user_tries_left;
	__le32 so_tries_left;
	__le32 max_sessions;
	__le32 sessions_in_use;		/* whole chip */
	__le32 rw_sessions_in_use;	/* whole chip */
	__le32 max_objects;
	__le32 objects_in_use;		/* token + session objects */
	__le32 reserved[8];
};

struct bcfw_init_token_req {
	__u8   label[BCFW_LABEL_LEN];	/* space padded, printable ASCII */
	__le32 pin_len;			/* SO PIN bytes that follow */
	__le32 reserved;
};

struct bcfw_pin_req {
	__le32 pin_len;			/* PIN bytes that follow */
	__le32 reserved;
};

struct bcfw_set_pin_req {
	__le32 old_len;			/* old PIN bytes, then new PIN bytes */
	__le32 new_len;
};

struct bcfw_login_req {
	__le32 user;			/* BCFW_USER_* */
	__le32 pin_len;			/* PIN bytes that follow */
};

/* ---- Attributes ---- */

/*
 * An attribute: this header, then @len value bytes, then zero padding to
 * the next multiple of 8 (BCFW_ATTR_SPACE).  @type is the CKA_* value.
 * Values by type class (docs/protocol.md "Attributes"):
 *   CK_ULONG (CKA_CLASS, CKA_KEY_TYPE, CKA_MODULUS_BITS, CKA_VALUE_LEN,
 *     CKA_CERTIFICATE_TYPE, ...)   8 bytes, __le64
 *   CK_BBOOL                        1 byte, 0 or 1
 *   CK_DATE                         8 ASCII digits YYYYMMDD, or empty
 *   everything else                 the bytes as PKCS#11 defines them
 * In a GET_ATTRIBUTES answer @len may instead be BCFW_ATTR_SENSITIVE or
 * BCFW_ATTR_INVALID, with no value.
 */
struct bcfw_attr {
	__le32 type;
	__le32 len;
};

#define BCFW_ATTR_SENSITIVE	0xffffffffu	/* CKR_ATTRIBUTE_SENSITIVE */
#define BCFW_ATTR_INVALID	0xfffffffeu	/* CKR_ATTRIBUTE_TYPE_INVALID */
#define BCFW_ALIGN8(n)		(((n) + 7u) & ~7u)
#define BCFW_ATTR_SPACE(len)	(8u + BCFW_ALIGN8(len))

/* ---- Objects ---- */

/*
 * Object handles: token objects 1..0x7fffffff, from a counter that
 * survives restarts and never hands out a handle twice, the same for
 * every client; session objects have BCFW_HANDLE_SESSION set and belong
 * to the client that made them.  0 names no object.
 */
#define BCFW_HANDLE_SESSION	0x80000000u

/* CREATE/COPY/DESTROY/GET/SET: @handle (0 for CREATE), @count items. */
struct bcfw_obj_req {
	__le32 handle;
	__le32 count;			/* TLVs, or __le32 types for GET */
};

struct bcfw_handle_resp {
	__le32 handle;
	__le32 reserved;
};

struct bcfw_attrs_resp {
	__le32 count;			/* TLVs that follow, as requested */
	__le32 reserved;
};

#define BCFW_FIND_SESSION_ONLY	0x1	/* only this client's session objects */

/*
 * Stateless search: matches of the template (@count TLVs) with handle
 * greater than @after, ascending, at most @max of them.
 */
struct bcfw_find_req {
	__le32 flags;			/* BCFW_FIND_* */
	__le32 after;			/* 0 to start */
	__le32 max;			/* 1..BCFW_FIND_MAX */
	__le32 count;
};

#define BCFW_FIND_MAX		4096

struct bcfw_find_resp {
	__le32 count;			/* __le32 handles that follow */
	__le32 more;			/* 1: more matches after the last */
};

/* ---- Mechanisms ---- */

/*
 * A mechanism: CKM_* and @param_len parameter bytes after this header,
 * padded with zeros to a multiple of 8.  Parameters, by mechanism:
 *   RSA_PKCS_PSS and SHAx_RSA_PKCS_PSS   struct bcfw_pss_params
 *   RSA_PKCS_OAEP          struct bcfw_oaep_params + source data
 *   AES_GCM                struct bcfw_gcm_params + IV (padded) + AAD
 *   AES_CBC_PAD            the 16-byte IV
 *   ECDH1_DERIVE           struct bcfw_ecdh_params + shared + public data
 *   AES_KEY_WRAP           none, or the 8-byte IV
 *   AES_KEY_WRAP_PAD       none, or the 4-byte IV
 *   others                 none (param_len 0)
 */
struct bcfw_mech {
	__le32 mech;
	__le32 param_len;
};

struct bcfw_pss_params {
	__le32 hash;			/* CKM_SHA_1, CKM_SHA256, ... */
	__le32 mgf;			/* CKG_MGF1_* */
	__le32 salt_len;
	__le32 reserved;
};

struct bcfw_oaep_params {
	__le32 hash;			/* CKM_SHA_1 or CKM_SHA256 */
	__le32 mgf;			/* CKG_MGF1_SHA1 or CKG_MGF1_SHA256 */
	__le32 source;			/* 0, or CKZ_DATA_SPECIFIED */
	__le32 source_len;		/* label bytes that follow */
};

/*
 * Field names here avoid those p11-kit's pkcs11.h #defines in its
 * compatibility mode (iv_len, aad_len, tag_bits, hash_alg, ...).
 */
struct bcfw_gcm_params {
	__le32 iv_bytes;		/* 1..128; 12 recommended */
	__le32 aad_bytes;		/* AAD bytes after the IV (padded) */
	__le32 tag_nbits;		/* 96..128, a multiple of 8 */
	__le32 reserved;
};

struct bcfw_ecdh_params {
	__le32 kdf;			/* CKD_NULL */
	__le32 shared_len;		/* must be 0 with CKD_NULL */
	__le32 public_len;		/* raw EC point, or DER OCTET STRING */
	__le32 reserved;
};

struct bcfw_mech_list {
	__le32 count;			/* __le32 CKM_* values that follow */
	__le32 reserved;
};

struct bcfw_mech_info_req {
	__le32 mech;
	__le32 reserved;
};

/* CK_MECHANISM_INFO: key sizes in bits (bytes for AES), CKF_* flags. */
struct bcfw_mech_info {
	__le32 min_key;
	__le32 max_key;
	__le64 flags;
};

/* ---- Keys ---- */

/* mech, its parameters (padded), then @count template TLVs. */
struct bcfw_genkey_req {
	__le32 count;
	__le32 reserved;
	struct bcfw_mech mech;
};

/* mech, parameters (padded), public template TLVs, private template TLVs. */
struct bcfw_genkp_req {
	__le32 pub_count;
	__le32 priv_count;
	struct bcfw_mech mech;
};

struct bcfw_keypair_resp {
	__le32 pub;
	__le32 priv;
};

/* mech and its parameters (padded) follow; answer: bcfw_out + data. */
struct bcfw_wrap_req {
	__le32 wrapping_key;
	__le32 key;
	__le32 out_cap;			/* caller's buffer; see bcfw_out */
	__le32 reserved;
	struct bcfw_mech mech;
};

/* mech, parameters (padded), wrapped bytes (padded), template TLVs. */
struct bcfw_unwrap_req {
	__le32 unwrapping_key;
	__le32 wrapped_len;
	__le32 count;
	__le32 reserved;
	struct bcfw_mech mech;
};

/* mech, parameters (padded), template TLVs. */
struct bcfw_derive_req {
	__le32 base_key;
	__le32 count;
	struct bcfw_mech mech;
};

/* ---- Crypto operations ---- */

/*
 * F_INIT: mech and parameters follow.  With header session 0 it only
 * checks (key, usage flags, mechanism, login) and keeps no state; with a
 * session it starts the session's one operation.  DIGEST: key 0.
 */
struct bcfw_op_init {
	__le32 key;
	__le32 reserved;
	struct bcfw_mech mech;
};

/* F_UPDATE: data follows (SIGN, VERIFY, DIGEST: out_cap 0). */
struct bcfw_op_update {
	__le32 out_cap;
	__le32 reserved;
};

/* F_FINAL: VERIFY_FINAL carries the signature (sig_len bytes). */
struct bcfw_op_final {
	__le32 out_cap;			/* VERIFY: 0 */
	__le32 sig_len;			/* others: 0 */
};

/*
 * One-shot F: stateless; mech, parameters (padded), then @data_len data
 * bytes, then (VERIFY) @sig_len signature bytes.  Header session 0 or
 * any session of the client; the session's operation is not touched.
 */
struct bcfw_op_oneshot {
	__le32 key;			/* 0 for DIGEST */
	__le32 out_cap;			/* VERIFY: 0 */
	__le32 data_len;
	__le32 sig_len;
	struct bcfw_mech mech;
};

/*
 * Output of SIGN, ENCRYPT, DECRYPT, DIGEST (UPDATE, FINAL, one-shot) and
 * WRAP_KEY.  When the output is larger than the request's out_cap, the
 * chip answers OK with BCFW_OUT_TOO_SMALL, @len the size needed (for
 * DECRYPT possibly an upper bound) and no data, and consumes nothing: the
 * operation stays as it was (PKCS#11's length query).
 */
struct bcfw_out {
	__le32 len;
	__le32 flags;			/* BCFW_OUT_* */
};

#define BCFW_OUT_TOO_SMALL	0x1

/* ---- Attestation ---- */

/* Health bits (bcfw_attest_status.health); 0 means healthy. */
#define BCFW_HEALTH_REFRESH_FAILED	0x1	/* the last refresh failed */
#define BCFW_HEALTH_NEAR_EXPIRY		0x2	/* certificate expires within 14 days */
#define BCFW_HEALTH_EXPIRED		0x4	/* certificate no longer valid */
#define BCFW_HEALTH_NO_IDENTITY		0x8	/* no certified identity key */

/* Times are the chip clock: seconds since 1970-01-01 UTC. */
struct bcfw_attest_status {
	__le64 now;			/* chip clock */
	__le64 not_before;		/* current attestation certificate */
	__le64 not_after;
	__le64 last_refresh;		/* last successful refresh */
	__le64 next_refresh;		/* when the next one is due */
	__le32 period;			/* refresh period, seconds (90 days) */
	__le32 generation;		/* bumped by every successful refresh */
	__le32 health;			/* BCFW_HEALTH_* */
	__le32 failures;		/* failed refreshes in a row */
	__le32 reserved[6];
};

/*
 * A list of DER certificates: this header, then for each one a __le32
 * length, a __le32 zero, and the DER bytes padded with zeros to a
 * multiple of 8.  ATTEST_CHAIN: [0] the chip's identity certificate
 * (issued by the manufacturer CA), [1] the attestation certificate
 * (issued by the identity key).  KEY_ATTEST: [0] the key attestation
 * certificate (issued by the identity key).
 */
struct bcfw_cert_list {
	__le32 count;
	__le32 reserved;
};

#define BCFW_NONCE_MAX		64

struct bcfw_key_attest_req {
	__le32 key;			/* a private or public key handle */
	__le32 nonce_len;		/* 0..BCFW_NONCE_MAX bytes that follow */
};

/* bcfw_test_clock_req.flags: which fields to apply */
#define BCFW_CLOCK_SET_TIME	0x1
#define BCFW_CLOCK_SET_SCALE	0x2
#define BCFW_CLOCK_SET_FAIL	0x4

struct bcfw_test_clock_req {
	__le32 flags;			/* BCFW_CLOCK_SET_* */
	__le32 scale;			/* chip seconds per real second (>= 1) */
	__le64 time;			/* new chip clock */
	__le32 fail_refresh;		/* 1: refreshes fail until set to 0 */
	__le32 reserved;
};

/*
 * Chip events (docs/hardware.md "Event queue", docs/attestation.md).
 * The firmware raises REFRESH_DONE, REFRESH_FAILED, NEAR_EXPIRY and
 * FATAL; the device raises LOST for the events it dropped for lack of
 * room, and the driver forwards all of them.  The driver raises RESET
 * and FATAL itself.
 */
enum bcchip_event_type {
	BCCHIP_EVENT_REFRESH_DONE	= 1,	/* arg0: generation, arg1: not_after */
	BCCHIP_EVENT_REFRESH_FAILED	= 2,	/* arg0: failures in a row, arg1: not_after */
	BCCHIP_EVENT_NEAR_EXPIRY	= 3,	/* arg0: not_after, arg1: seconds left */
	BCCHIP_EVENT_RESET		= 4,	/* arg0: new driver generation, arg1: 0 */
	BCCHIP_EVENT_FATAL		= 5,	/* arg0: reason (driver: CSTS value) */
	BCCHIP_EVENT_LOST		= 6,	/* arg0: events dropped */
};

/* ------------------------------------------------------------------ */
/* Generic netlink family "bcchip" (docs/netlink.md)                    */
/* ------------------------------------------------------------------ */

#define BCCHIP_GENL_NAME		"bcchip"
#define BCCHIP_GENL_VERSION		1
#define BCCHIP_GENL_MCGRP_EVENTS	"events"

enum bcchip_nl_cmd {
	BCCHIP_NL_CMD_UNSPEC,
	/*
	 * doit with BCCHIP_NL_A_DEVICE: that chip's status; dumpit: every
	 * chip.  Reply: BCCHIP_NL_CMD_GET_STATUS with the status attributes.
	 */
	BCCHIP_NL_CMD_GET_STATUS,
	/* doit, CAP_SYS_ADMIN: refresh the attestation now; reply: status */
	BCCHIP_NL_CMD_REFRESH,
	/* multicast on "events": DEVICE, NAME, and the EVENT_* attributes */
	BCCHIP_NL_CMD_EVENT,
	__BCCHIP_NL_CMD_MAX,
};

#define BCCHIP_NL_CMD_MAX	(__BCCHIP_NL_CMD_MAX - 1)

/* Overall health (BCCHIP_NL_A_HEALTH); docs/netlink.md has the full rules */
enum bcchip_health {
	BCCHIP_HEALTH_OK	= 0,
	/*
	 * Probing or resetting (also a reset during the query), refresh
	 * failed, near expiry, or a firmware without attestation.
	 */
	BCCHIP_HEALTH_DEGRADED	= 1,
	/*
	 * Dead or removed, the firmware not answering, certificate expired,
	 * or no identity.
	 */
	BCCHIP_HEALTH_FAILED	= 2,
};

enum bcchip_nl_attr {
	BCCHIP_NL_A_UNSPEC,
	BCCHIP_NL_A_PAD,
	BCCHIP_NL_A_DEVICE,		/* u32: N of /dev/bcchipN */
	BCCHIP_NL_A_NAME,		/* string: "bcchipN" */
	BCCHIP_NL_A_PCI_ADDR,		/* string: "0000:01:00.0" */
	BCCHIP_NL_A_SERIAL,		/* string, blanks trimmed */
	BCCHIP_NL_A_LABEL,		/* string, blanks trimmed */
	BCCHIP_NL_A_MODEL,		/* string, blanks trimmed */
	BCCHIP_NL_A_FW_VERSION,		/* u32: major << 8 | minor */
	BCCHIP_NL_A_HW_VERSION,		/* u32: BAR0 VERSION */
	BCCHIP_NL_A_STATE,		/* u32: enum bcchip_state */
	BCCHIP_NL_A_HEALTH,		/* u32: enum bcchip_health */
	BCCHIP_NL_A_HEALTH_FLAGS,	/* u32: BCFW_HEALTH_* */
	BCCHIP_NL_A_GENERATION,		/* u32: driver reset generation */
	BCCHIP_NL_A_RESET_COUNT,	/* u32 */
	BCCHIP_NL_A_SESSIONS_IN_USE,	/* u32 */
	BCCHIP_NL_A_MAX_SESSIONS,	/* u32 */
	BCCHIP_NL_A_CHIP_TIME,		/* u64: chip clock, Unix seconds */
	BCCHIP_NL_A_ATTEST_NOT_BEFORE,	/* u64 */
	BCCHIP_NL_A_ATTEST_NOT_AFTER,	/* u64 */
	BCCHIP_NL_A_ATTEST_LAST_REFRESH, /* u64 */
	BCCHIP_NL_A_ATTEST_NEXT_REFRESH, /* u64 */
	BCCHIP_NL_A_ATTEST_PERIOD,	/* u32: seconds */
	BCCHIP_NL_A_ATTEST_GENERATION,	/* u32: refresh generation */
	BCCHIP_NL_A_ATTEST_FAILURES,	/* u32: failed refreshes in a row */
	BCCHIP_NL_A_EVENT_TYPE,		/* u32: enum bcchip_event_type */
	BCCHIP_NL_A_EVENT_SEQ,		/* u32: per device, from 1 */
	BCCHIP_NL_A_EVENT_TIME,		/* u64: chip clock (driver events: host time) */
	BCCHIP_NL_A_EVENT_ARG0,		/* u64 */
	BCCHIP_NL_A_EVENT_ARG1,		/* u64 */
	__BCCHIP_NL_A_MAX,
};

#define BCCHIP_NL_A_MAX		(__BCCHIP_NL_A_MAX - 1)

/* ------------------------------------------------------------------ */
/* ioctl ABI of /dev/bcchipN                                           */
/* ------------------------------------------------------------------ */

#define BCCHIP_ABI_VERSION	1

/*
 * Extensibility: the size encoded in each ioctl number is the size of the
 * struct the caller was built with.  The driver accepts any size from the
 * first published one upward; bytes the driver does not know must be zero
 * (else -E2BIG), and it copies back only as much as the caller's size.
 */

enum bcchip_state {
	BCCHIP_STATE_PROBING	= 0,
	BCCHIP_STATE_LIVE	= 1,
	BCCHIP_STATE_RESETTING	= 2,
	BCCHIP_STATE_DEAD	= 3,	/* failed; needs a reset */
	BCCHIP_STATE_REMOVED	= 4,
};

/* BCCHIP_IOC_INFO: what the driver knows of the chip.  flags in: 0. */
struct bcchip_ioc_info {
	__u32 flags;			/* in: must be 0 */
	__u32 abi_version;		/* out: BCCHIP_ABI_VERSION */
	__u32 hw_version;		/* out: BAR0 VERSION register */
	__u32 fw_version;		/* out: major << 8 | minor */
	__u32 state;			/* out: enum bcchip_state */
	__u32 generation;		/* out: bumped by every chip reset */
	__u32 nr_io_queues;		/* out: I/O queue pairs in use */
	__u32 queue_depth;		/* out: entries per I/O queue */
	__u32 max_frame;		/* out: largest frame accepted */
	__u32 max_sessions;		/* out: chip session limit */
	__u32 client_id;		/* out: this file's client id */
	__u32 reserved0;		/* out: 0 */
	__u8  serial[BCFW_SERIAL_LEN];	/* out: space padded */
	__u8  label[BCFW_LABEL_LEN];	/* out: space padded */
	__u8  model[BCFW_MODEL_LEN];	/* out: space padded */
	__u64 reserved[4];		/* in: must be 0 */
};

/*
 * BCCHIP_IOC_CMD: one firmware request and its response.
 *
 * Returns 0 when the chip answered, whatever the answer: the firmware's
 * verdict is in @fw_status (a BCFW_S_* copied from the response header).
 * An errno means there is no answer (docs/ioctl.md lists them).
 */
struct bcchip_ioc_cmd {
	__u32 flags;			/* in: must be 0 */
	__u32 req_len;			/* in: request frame bytes */
	__u64 req_ptr;			/* in: request frame */
	__u64 resp_ptr;			/* in: response buffer */
	__u32 resp_len;			/* in: buffer size; out: frame size */
	__u32 fw_status;		/* out: BCFW_S_* */
	/*
	 * in: 0, or the generation the caller's sessions belong to (-ESTALE
	 * if the chip was reset since); out: the current generation
	 */
	__u32 generation;
	/*
	 * in: 0 for the driver default, else BCCHIP_CMD_TIMEOUT_MIN_MS to
	 * BCCHIP_CMD_TIMEOUT_MAX_MS (-EINVAL otherwise)
	 */
	__u32 timeout_ms;
	__u64 reserved[2];		/* in: must be 0 */
};

#define BCCHIP_CMD_TIMEOUT_MIN_MS	100
#define BCCHIP_CMD_TIMEOUT_MAX_MS	600000

#define BCCHIP_IOC_MAGIC	0xBC
#define BCCHIP_IOC_INFO		_IOWR(BCCHIP_IOC_MAGIC, 0x00, struct bcchip_ioc_info)
#define BCCHIP_IOC_CMD		_IOWR(BCCHIP_IOC_MAGIC, 0x01, struct bcchip_ioc_cmd)

#endif /* _UAPI_LINUX_BCCHIP_H */
