/* SPDX-License-Identifier: GPL-2.0 */
/* bcctl internals shared between its files.  docs/bcctl.md. */
#ifndef BCCTL_H
#define BCCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "transport.h"

#define BCCTL_VERSION "0.2"

/* Exit statuses shared by every command (docs/bcctl.md "Exit status"). */
enum { EXIT_OK = 0, EXIT_ERR = 1, EXIT_USAGE = 2 };

extern const char *const bcctl_prog;

void bcctl_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *bcctl_errno_text(int err);

/*
 * DEVICE argument, or NULL for the first device found.  Fills @out with a
 * device string (transport.h).  EXIT_OK, EXIT_ERR (no device) or
 * EXIT_USAGE (not a device name); the reason is printed.
 */
int bcctl_pick_device(const char *arg, char *out, size_t cap);
bool bcctl_is_unix(const char *device);
/* N of /dev/bcchipN, or -1. */
int bcctl_dev_index(const char *device);

/* Unix seconds as ISO 8601 UTC ("2027-02-27T07:10:23Z"); 0 as "-". */
void bcctl_fmt_time(uint64_t t, char *out, size_t cap);

/* ---- JSON writer (json.c): one document per top-level value ---- */

#define JSON_MAX_DEPTH 16

struct json {
	FILE *f;
	int depth;
	bool first[JSON_MAX_DEPTH];
};

/* Chip-supplied text made safe to print, in place: each byte of a control
 * character (C0, DEL, C1) or of ill-formed UTF-8 becomes '?'. */
void bcctl_clean_str(char *s);
void json_init(struct json *j, FILE *f);
void json_obj_begin(struct json *j, const char *key);
void json_obj_end(struct json *j);
void json_arr_begin(struct json *j, const char *key);
void json_arr_end(struct json *j);
void json_str(struct json *j, const char *key, const char *val);
void json_u64(struct json *j, const char *key, uint64_t val);
void json_i64(struct json *j, const char *key, int64_t val);
void json_dbl(struct json *j, const char *key, double val);
void json_bool(struct json *j, const char *key, bool val);
void json_null(struct json *j, const char *key);
/* Time as seconds plus an ISO 8601 string in KEY_utc. */
void json_time(struct json *j, const char *key, uint64_t t);

/* ---- Device status (status.c, netlink.c) ---- */

#define BCCTL_HAVE_DRIVER	0x1	/* driver fields (state, generation) */
#define BCCTL_HAVE_ATTEST	0x2	/* attestation fields */
#define BCCTL_HAVE_CHIP		0x4	/* GET_INFO answered */
#define BCCTL_HAVE_PCI		0x8

struct bcctl_status {
	char device[256];		/* device string */
	char name[256];			/* bcchipN, or the device string */
	char pci[32];
	char serial[BCFW_SERIAL_LEN + 1];
	char label[BCFW_LABEL_LEN + 1];
	char model[BCFW_MODEL_LEN + 1];
	const char *source;		/* "netlink" or "frames" */
	unsigned int have;		/* BCCTL_HAVE_* */
	int index;			/* N of bcchipN, -1 for unix: */
	uint32_t fw_version, hw_version, state, health, health_flags;
	uint32_t generation, reset_count, sessions_in_use, max_sessions;
	uint32_t period, attest_generation, failures;
	uint64_t chip_time, not_before, not_after, last_refresh, next_refresh;
};

/* Fills @st for @device: netlink for a kernel device when the driver
 * has the family, else frames.  0 or -errno (st->have says what is
 * good even then). */
int bcctl_status_get(const char *device, struct bcctl_status *st);
const char *bcctl_state_name(uint32_t state);
const char *bcctl_health_name(uint32_t health);
void bcctl_health_flags_str(uint32_t flags, char *out, size_t cap);
void bcctl_status_json(struct json *j, const struct bcctl_status *st);
/* The attestation status frame straight from the chip. */
int bcctl_attest_status_frames(struct bc_transport *t,
			       struct bcctl_status *st);

/* netlink.c.  All return 0 or -errno; -EPROTONOSUPPORT: no family. */
struct bcctl_nl;
int bcctl_nl_open(struct bcctl_nl **out);
void bcctl_nl_close(struct bcctl_nl *nl);
/* One device (@index >= 0) or all (-1: dump); calls @cb per device. */
int bcctl_nl_status(struct bcctl_nl *nl, int index,
		    void (*cb)(const struct bcctl_status *st, void *arg),
		    void *arg);
int bcctl_nl_refresh(struct bcctl_nl *nl, int index,
		     struct bcctl_status *st);

struct bcctl_event {
	char name[256];			/* bcchipN or a unix: device */
	int index;			/* -1 for unix: */
	uint32_t type, seq;
	uint64_t time, arg0, arg1;
};

int bcctl_nl_subscribe(struct bcctl_nl *nl);
int bcctl_nl_fd(struct bcctl_nl *nl);
/* Reads what is waiting; calls @cb per event.  0 or -errno. */
int bcctl_nl_read_events(struct bcctl_nl *nl,
			 void (*cb)(const struct bcctl_event *ev, void *arg),
			 void *arg);
const char *bcctl_event_name(uint32_t type);

/* ---- Attestation (attest.c) ---- */

struct bcctl_chain {
	void *identity;			/* X509 *, issued by the CA */
	void *attest;			/* X509 *, issued by the identity */
};

/* Certificate chain of @device via ATTEST_CHAIN; status too if @st. */
int bcctl_chain_fetch(const char *device, struct bcctl_chain *c,
		      struct bcctl_status *st);
void bcctl_chain_free(struct bcctl_chain *c);
/* --ca, else $BCCHIP_CA, else /etc/bcchip/ca.pem. */
const char *bcctl_ca_path(const char *opt);
/* What a successful check vouches for. */
struct bcctl_verified {
	/* serialNumber of the identity certificate's subject: the chip. */
	char serial[BCFW_SERIAL_LEN + 1];
	time_t not_before, not_after;	/* of the checked certificate */
};

enum bcctl_leaf { BCCTL_LEAF_ATTEST, BCCTL_LEAF_KEY };

/*
 * One X.509 path check: @leaf issued by @identity (a CA certificate with
 * pathlen 0 the CA file vouches for), all valid at @at; then what the
 * leaf must be for its kind (docs/attestation.md): an attestation
 * certificate carries the chip state extension and the identity key, a
 * key attestation certificate the key attestation extension; neither is
 * a CA.  0: holds (@v filled); 1: does not (@why); -errno: unchecked.
 */
int bcctl_leaf_verify(void *leaf, void *identity, const char *ca_file,
		      time_t at, enum bcctl_leaf kind,
		      struct bcctl_verified *v, char *why, size_t whylen);
/* The chain: the attestation certificate's path, and its chip state's
 * serial equal to the identity's. */
int bcctl_chain_verify(const struct bcctl_chain *c, const char *ca_file,
		       time_t at, struct bcctl_verified *v, char *why,
		       size_t whylen);
/* --max-skew's argument, seconds; 0 or -1. */
int bcctl_parse_skew(const char *arg, long *out);
/* The CA file's certificates in a store; NULL and @why on failure. */
void *bcctl_ca_store(const char *ca_file, char *why, size_t whylen);
void bcctl_print_cert(FILE *f, const char *title, void *cert);
void bcctl_json_cert(struct json *j, const char *key, void *cert);

/*
 * DER readers (der.c): take the next element of universal @tag from *p
 * (*avail bytes left), advancing both; 0 or -1.
 */
int bcctl_der_take(const unsigned char **p, long *avail, int tag,
		   const unsigned char **c, long *clen);
int bcctl_der_long(const unsigned char **p, long *avail, long *out);
int bcctl_der_bool(const unsigned char **p, long *avail, bool *out);
/* Contents into @out (less than @cap bytes), length in *@olen. */
int bcctl_der_octets(const unsigned char **p, long *avail,
		     unsigned char *out, size_t cap, long *olen, int tag);

/* ---- PKCS#11 (p11.c) ---- */

#include <p11-kit/pkcs11.h>

struct bcctl_p11 {
	void *dl;
	CK_FUNCTION_LIST_PTR f;
	CK_SLOT_ID slot;
	char device[256];		/* device of the slot, "" if unknown */
	char token[BCFW_LABEL_LEN + 1];	/* its token label */
	bool initialized;
};

struct bcctl_p11_opts {
	const char *module;		/* --module */
	const char *device;		/* DEVICE or --device */
	const char *token;		/* --token LABEL */
};

/* Module path: @opt, $BCCHIP_PKCS11_MODULE, the installed one. */
const char *bcctl_module_path(const char *opt);
/*
 * Loads and initializes the module and picks the slot: the device's
 * (BCCHIP_DEVICE is set to it first, so it is the only slot), the token
 * labelled @token, or the first slot with a token.  EXIT_OK or a status.
 */
int bcctl_p11_open(struct bcctl_p11 *p, const struct bcctl_p11_opts *o,
		   bool need_initialized);
/* Again in a child after fork(): C_Initialize, same slot. */
int bcctl_p11_reinit(struct bcctl_p11 *p);
void bcctl_p11_close(struct bcctl_p11 *p);
const char *bcctl_ckr_name(CK_RV rv);
/* Slot/token lookups without the module: via libbcchip. */
int bcctl_device_by_label(const char *label, char *out, size_t cap);

/* PINs (pin.c): never from argv. */
struct bcctl_pin_src {
	const char *file;		/* --*pin-file */
	const char *env;		/* --*pin-env */
};

#define BCCTL_PIN_MAX 64
/*
 * Reads a PIN from the file's first line, the environment variable, or
 * a prompt on /dev/tty without echo (@confirm: asked twice).  Returns
 * its length, or -1 with the reason printed.
 */
int bcctl_read_pin(const struct bcctl_pin_src *src, const char *prompt,
		   bool confirm, char *out, size_t cap);
void bcctl_wipe(void *p, size_t n);

/* ---- Commands ---- */

int cmd_list(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_attestation(int argc, char **argv);
int cmd_key(int argc, char **argv);
int cmd_monitor(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_token(int argc, char **argv);

#endif
