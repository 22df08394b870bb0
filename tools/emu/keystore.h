/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The chip's key store: token and PINs (token.c), persistence (store.c),
 * attributes and their rules (attrs.c), objects (objects.c), key material
 * (keys.c), mechanisms (mechs.c), crypto operations (crypto.c) and the
 * opcodes that reach them (keyops.c).  docs/protocol.md.
 */
#ifndef BC_EMU_KEYSTORE_H
#define BC_EMU_KEYSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>

#include <openssl/evp.h>
#include <p11-kit/pkcs11.h>

#include "emu.h"

#define KS_CKR(rv)	BCFW_S_CKR(rv)

/* Who is asking: the (connection, client) pair and its chip session. */
struct ks_caller {
	uint64_t conn;
	uint32_t client;
	uint32_t session;	/* 0: none */
	bool rw;		/* session 0 counts as read-write */
	int login;		/* BCFW_LOGIN_* */
};

/* ---- store.c: crash-safe files in the state directory ---- */

int ks_store_init(const char *state_dir);
void ks_store_fini(void);
/*
 * Replaces @sub/@name (sub "" for the state directory itself) with @len
 * bytes, checksummed; on return 0 the data survives a power cut.
 */
int ks_store_put(const char *sub, const char *name, const void *buf,
		 size_t len);
int ks_store_del(const char *sub, const char *name);
/* Reads and verifies; *buf malloc'd.  -ENOENT, -EBADMSG (corrupt). */
int ks_store_get(const char *sub, const char *name, uint8_t **buf,
		 size_t *len);
/* Calls @fn for each stored file in @sub (temporaries removed first). */
int ks_store_each(const char *sub,
		  int (*fn)(const char *name, const uint8_t *buf, size_t len,
			    void *arg),
		  void *arg);
/* Moves a damaged file out of the way, keeping it for inspection. */
void ks_store_quarantine(const char *sub, const char *name);

/* ---- token.c ---- */

int ks_token_init(void);
void ks_token_fini(void);
int ks_token_login_state(uint64_t conn, uint32_t client);
void ks_token_drop(uint64_t conn, bool any_client, uint32_t client);
uint32_t ks_token_info(const struct ks_caller *c, struct bcfw_token_info *out);
uint32_t ks_token_init_token(const struct ks_caller *c, const uint8_t *label,
			     const uint8_t *pin, size_t pin_len);
uint32_t ks_token_init_pin(const struct ks_caller *c, const uint8_t *pin,
			   size_t pin_len);
uint32_t ks_token_set_pin(const struct ks_caller *c, const uint8_t *old,
			  size_t old_len, const uint8_t *new_pin,
			  size_t new_len);
uint32_t ks_token_login(const struct ks_caller *c, uint32_t user,
			const uint8_t *pin, size_t pin_len);
uint32_t ks_token_logout(const struct ks_caller *c);
/* Next token object handle: never reused, survives restarts. */
uint32_t ks_token_next_handle(uint32_t *handle);
/* Makes sure handles up to @h are never handed out again. */
uint32_t ks_token_handles_above(uint32_t h);

/* ---- attrs.c: templates and attribute rules ---- */

enum ks_vclass { KS_V_BYTES, KS_V_ULONG, KS_V_BOOL, KS_V_DATE };

struct ks_attr {
	uint32_t type;
	uint32_t len;
	uint8_t *val;		/* malloc'd, len bytes (NULL when 0) */
};

struct ks_tmpl {
	unsigned int n;
	struct ks_attr *a;
};

/* Parses @count TLVs from @p[@len]; *used = bytes taken.  BCFW status. */
uint32_t ks_tmpl_parse(const uint8_t *p, size_t len, uint32_t count,
		       struct ks_tmpl *t, size_t *used);
void ks_tmpl_free(struct ks_tmpl *t);
const struct ks_attr *ks_tmpl_find(const struct ks_tmpl *t, uint32_t type);
bool ks_tmpl_ulong(const struct ks_tmpl *t, uint32_t type, uint64_t *v);
/* -1 absent, else 0/1 */
int ks_tmpl_bool(const struct ks_tmpl *t, uint32_t type);
/* Sets (replacing) an attribute; 0 or -ENOMEM. */
int ks_tmpl_set(struct ks_tmpl *t, uint32_t type, const void *v, size_t len);
int ks_tmpl_set_ulong(struct ks_tmpl *t, uint32_t type, uint64_t v);
int ks_tmpl_set_bool(struct ks_tmpl *t, uint32_t type, bool v);
void ks_tmpl_del(struct ks_tmpl *t, uint32_t type);

enum ks_vclass ks_attr_vclass(uint32_t type);

/* Why an object comes to exist: decides which attributes a template may set. */
enum ks_origin {
	KS_CREATE,		/* CREATE_OBJECT: import */
	KS_GENERATE,		/* GENERATE_KEY(_PAIR) */
	KS_UNWRAP,
	KS_DERIVE,
	KS_COPY,
	KS_SET,			/* SET_ATTRIBUTES */
};

/*
 * Checks a caller's template for an object of @cls/@ktype made by
 * @origin, against the attribute rules (known, allowed for the class,
 * settable, value well formed).  BCFW status.
 */
uint32_t ks_attrs_check(const struct ks_tmpl *t, uint64_t cls, uint64_t ktype,
			enum ks_origin origin);
/* Fills in the defaults the chip gives missing attributes. */
int ks_attrs_defaults(struct ks_tmpl *t, uint64_t cls, uint64_t ktype);
/* Whether @type of an object of class @cls is a secret value. */
bool ks_attr_sensitive(uint64_t cls, uint32_t type);
/* Whether SET_ATTRIBUTES may change @type (SENSITIVE, EXTRACTABLE aside). */
bool ks_attr_modifiable(uint64_t cls, uint32_t type);

/* ---- objects.c ---- */

struct ks_obj {
	uint32_t handle;
	bool token;
	bool priv;		/* CKA_PRIVATE */
	uint64_t cls;		/* CKA_CLASS */
	uint64_t ktype;		/* CKA_KEY_TYPE, or ~0 */
	uint64_t owner_conn;	/* session objects */
	uint32_t owner_client;
	/* Key material: fixed at creation, so used without the lock. */
	EVP_PKEY *pkey;		/* asymmetric keys */
	uint8_t *secret;	/* secret keys: CKA_VALUE */
	size_t secret_len;
	unsigned int bits;	/* key size: bits, bytes for AES */
	int refs;		/* under the table lock */
	bool dead;		/* destroyed; freed at the last put */
	pthread_mutex_t lock;	/* attrs */
	/* Serializes changes that reach the disk (SET, DESTROY); outer to lock. */
	pthread_mutex_t wlock;
	struct ks_tmpl attrs;
};

int ks_objects_init(void);
void ks_objects_fini(void);
unsigned int ks_objects_count(void);
void ks_objects_drop(uint64_t conn, bool any_client, uint32_t client);
/* Every object, token and session, goes (INIT_TOKEN). */
void ks_objects_wipe_token(void);

/*
 * Looks up a handle the caller may see and takes a reference.  BCFW
 * status: CKR_OBJECT_HANDLE_INVALID (or CKR_KEY_HANDLE_INVALID when
 * @key) for anything the caller may not see.
 */
uint32_t ks_obj_get(const struct ks_caller *c, uint32_t handle, bool key,
		    struct ks_obj **out);
void ks_obj_put(struct ks_obj *o);
/*
 * The private key whose public value is @pub's (a public key object):
 * a token object or one of the caller's session objects, whether or not
 * it is private; one that qualifies for key attestation is preferred.
 * Takes a reference.  CKR_KEY_FUNCTION_NOT_PERMITTED when none.
 */
uint32_t ks_obj_find_pair(const struct ks_caller *c, const struct ks_obj *pub,
			  struct ks_obj **out);
bool ks_obj_bool(struct ks_obj *o, uint32_t type);
uint64_t ks_obj_ulong(struct ks_obj *o, uint32_t type, uint64_t dflt);

/*
 * Makes an object from a complete attribute set (taken over, also on
 * failure), stores it if it is a token object, and publishes it.
 */
uint32_t ks_obj_publish(const struct ks_caller *c, struct ks_tmpl *attrs,
			EVP_PKEY *pkey, uint32_t *handle);
/*
 * Login/RW rules for making an object of class @cls with these
 * attributes (CKA_PRIVATE absent: the class's default).
 */
uint32_t ks_obj_may_create(const struct ks_caller *c, const struct ks_tmpl *t,
			   uint64_t cls);

uint32_t ks_obj_create(const struct ks_caller *c, struct ks_tmpl *t,
		       uint32_t *handle);
uint32_t ks_obj_copy(const struct ks_caller *c, uint32_t src,
		     struct ks_tmpl *t, uint32_t *handle);
uint32_t ks_obj_destroy(const struct ks_caller *c, uint32_t handle);
/* Builds the GET_ATTRIBUTES answer body. */
uint32_t ks_obj_get_attrs(const struct ks_caller *c, uint32_t handle,
			  const uint8_t *types, uint32_t count,
			  uint8_t **body, uint32_t *body_len);
uint32_t ks_obj_set_attrs(const struct ks_caller *c, uint32_t handle,
			  struct ks_tmpl *t);
uint32_t ks_obj_find(const struct ks_caller *c, const struct ks_tmpl *t,
		     uint32_t flags, uint32_t after, uint32_t max,
		     uint32_t *out, uint32_t *n, bool *more);

/* ---- keys.c: key material and its attributes ---- */

/*
 * From the attributes of a key object being created or loaded: its
 * EVP_PKEY (asymmetric) or checks of the secret value, and the size.
 * Adds derived public attributes (e.g. MODULUS_BITS).  BCFW status.
 */
uint32_t ks_key_from_attrs(struct ks_tmpl *t, uint64_t cls, uint64_t ktype,
			   EVP_PKEY **pkey, unsigned int *bits);
/* Adds the key material of @pkey as attributes of @cls (pub or priv). */
int ks_key_to_attrs(EVP_PKEY *pkey, uint64_t cls, struct ks_tmpl *t);
/* CK_KEY_TYPE of an EVP_PKEY, or ~0. */
uint64_t ks_key_type_of(EVP_PKEY *pkey);
/* Named curve of EC_PARAMS DER: "P-256" ... or "ED25519"; NULL if unknown. */
const char *ks_curve_of_params(const uint8_t *der, size_t len);
/* Raw point from CKA_EC_POINT (DER OCTET STRING, or raw). */
bool ks_ec_point_raw(const uint8_t *p, size_t len, const uint8_t **raw,
		     size_t *raw_len);

/* ---- mechs.c ---- */

struct ks_mech_desc {
	uint32_t mech;
	uint32_t min_key, max_key;
	uint64_t flags;		/* CKF_* */
};

const struct ks_mech_desc *ks_mech_find(uint32_t mech);
unsigned int ks_mech_count(void);
const struct ks_mech_desc *ks_mech_at(unsigned int i);

/* A mechanism from a request: CKM_* and its parameter bytes. */
struct ks_mech {
	uint32_t mech;
	uint32_t param_len;
	const uint8_t *param;
};

/* ---- crypto.c: operations ---- */

struct ks_op;

uint32_t ks_op_init(const struct ks_caller *c, int family,
		    const struct ks_mech *m, uint32_t key, struct ks_op **out);
void ks_op_free(struct ks_op *op);
int ks_op_family(const struct ks_op *op);
/*
 * Feeds @in; output (ENCRYPT/DECRYPT) into @out[@cap] with *olen; when
 * *olen > cap on return, nothing was consumed (length query).
 */
uint32_t ks_op_update(struct ks_op *op, const uint8_t *in, size_t in_len,
		      uint8_t *out, size_t cap, size_t *olen);
uint32_t ks_op_final(struct ks_op *op, const uint8_t *sig, size_t sig_len,
		     uint8_t *out, size_t cap, size_t *olen);
/* Stateless one-shot; same output convention. */
uint32_t ks_op_oneshot(const struct ks_caller *c, int family,
		       const struct ks_mech *m, uint32_t key,
		       const uint8_t *in, size_t in_len,
		       const uint8_t *sig, size_t sig_len,
		       uint8_t *out, size_t cap, size_t *olen);

/* Key management: keygen, wrap, unwrap, derive. */
uint32_t ks_generate_key(const struct ks_caller *c, const struct ks_mech *m,
			 struct ks_tmpl *t, uint32_t *handle);
uint32_t ks_generate_key_pair(const struct ks_caller *c,
			      const struct ks_mech *m, struct ks_tmpl *pub,
			      struct ks_tmpl *priv, uint32_t *hpub,
			      uint32_t *hpriv);
uint32_t ks_wrap_key(const struct ks_caller *c, const struct ks_mech *m,
		     uint32_t wrapping, uint32_t key, uint8_t *out, size_t cap,
		     size_t *olen);
uint32_t ks_unwrap_key(const struct ks_caller *c, const struct ks_mech *m,
		       uint32_t unwrapping, const uint8_t *in, size_t in_len,
		       struct ks_tmpl *t, uint32_t *handle);
uint32_t ks_derive_key(const struct ks_caller *c, const struct ks_mech *m,
		       uint32_t base, struct ks_tmpl *t, uint32_t *handle);

/* ---- sessions.c additions ---- */

/*
 * Takes the session for one command: its flags and operation.  BCFW
 * status: SESSION_INVALID, or CKR_OPERATION_ACTIVE when another command
 * holds it.
 */
uint32_t emu_session_acquire(uint64_t conn, uint32_t client, uint32_t handle,
			     uint32_t *flags, struct ks_op **op);
/* Gives it back with its (new) operation. */
void emu_session_release(uint64_t conn, uint32_t client, uint32_t handle,
			 struct ks_op *op);
unsigned int emu_sessions_rw_in_use(void);

/* ---- keyattest.c ---- */

/*
 * KEY_ATTEST: a certificate, issued by the chip's identity key, saying
 * that @handle (or its pair's private key) was generated on the chip and
 * never left it.  *body: a bcfw_cert_list with one certificate.
 */
uint32_t ks_key_attest(const struct ks_caller *c, uint32_t handle,
		       const uint8_t *nonce, size_t nonce_len,
		       uint8_t **body, uint32_t *body_len);

/* ---- keyops.c: the opcodes ---- */

int ks_init(const char *state_dir);
void ks_fini(void);
/*
 * Runs a key-store opcode.  False when @op is not one; else *status and
 * the malloc'd response body (*body, *body_len; NULL/0 for none).
 */
bool ks_dispatch(uint64_t conn, uint32_t client, uint16_t op,
		 uint32_t session, const uint8_t *req, uint32_t req_len,
		 uint32_t *status, uint8_t **body, uint32_t *body_len);

#endif
