/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the emulator's host test programs share: the pass/fail count, real
 * bcchip-emu processes in a per-run temporary directory, and requests sent
 * to them over the socket (docs/emulator.md, uapi/linux/bcchip.h).
 */
#ifndef BCCHIP_EMUTEST_H
#define BCCHIP_EMUTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <linux/bcchip.h>
#include "emu_envelope.h"

/*
 * Checks argv (one argument: the emulator binary), ignores SIGPIPE and
 * makes the run's directory /tmp/NAME.XXXXXX.  Returns 0, or the status
 * main() should exit with.
 */
int emutest_begin(int argc, char **argv, const char *name);
/*
 * Counts a check that the emulators' logs hold no sanitizer report, keeps
 * the directory when anything failed (removes it otherwise), prints the
 * closing `N passed, N failed` line and returns main()'s exit status.
 */
int emutest_end(void);
const char *emutest_dir(void);
const char *emutest_bin(void);

/* Counts one result; prints the failures.  Safe from any thread. */
void check(bool ok, const char *what, ...)
	__attribute__((format(printf, 2, 3)));
double now_ms(void);

/* ---- emulator processes ---- */

struct emu {
	pid_t pid;
	char state[256], sock[256], pidfile[256], log[256];
};

/* NAME names its files in the run's directory; EXTRA is NULL-terminated. */
int emu_start(struct emu *e, const char *name, const char *const *extra);
/* Returns the exit status, or -1 when it died otherwise. */
int emu_stop(struct emu *e);
bool emu_alive(struct emu *e);

/* ---- socket and envelopes ---- */

int conn_open(const struct emu *e);
int write_all(int fd, const void *buf, size_t n);
int read_all(int fd, void *buf, size_t n);
int send_env(int fd, uint16_t type, uint32_t client, uint32_t tag,
	     const void *payload, uint32_t len);

struct reply {
	uint16_t type, status;
	uint32_t client, tag, len;
	uint8_t *data;		/* malloc'd payload */
};

int recv_env(int fd, struct reply *r);

/* A request frame, malloc'd (aborts when out of memory). */
uint8_t *frame(uint16_t op, uint32_t session, const void *body, uint32_t blen);

/* A response frame, checked for a well-formed header. */
struct resp {
	int err;		/* 0, or why there is no usable response */
	uint16_t env_status;
	uint16_t opcode;
	uint32_t session, status, blen;
	uint8_t *body;		/* points into raw */
	uint8_t *raw;
};

void resp_free(struct resp *r);
/* Takes over rp->data. */
void parse_resp(struct reply *rp, struct resp *r);
/* Sends raw payload as a REQUEST and waits for its answer. */
void xact_raw(int fd, uint32_t client, const void *payload, uint32_t len,
	      struct resp *r);
void xact(int fd, uint32_t client, uint16_t op, uint32_t session,
	  const void *body, uint32_t blen, struct resp *r);
bool get_info(int fd, struct bcfw_info *info);

/*
 * Request bodies for the key store and attestation tests: a growing
 * buffer, and attribute TLVs padded as docs/protocol.md says.
 */
#define CKR(x)		BCFW_S_CKR(x)
#define NO_ANSWER	0xdeadbeefu	/* no frame came back */

struct b {
	uint8_t *p;
	size_t n, cap;
	uint32_t count;		/* attributes added */
};

void b_put(struct b *b, const void *v, size_t n);
void b_u32(struct b *b, uint32_t v);
void b_pad8(struct b *b);
void b_free(struct b *b);
void a_bytes(struct b *b, uint32_t type, const void *v, size_t len);
void a_ul(struct b *b, uint32_t type, uint64_t v);
void a_bool(struct b *b, uint32_t type, bool v);
uint32_t le32_at(const uint8_t *p);
/* One request as client 1; *out (malloc'd) gets a successful answer's body. */
uint32_t call(int fd, uint16_t op, uint32_t session, const void *body,
	      size_t blen, uint8_t **out, size_t *olen);
uint32_t call_b(int fd, uint16_t op, uint32_t session, struct b *body,
		uint8_t **out, size_t *olen);
/* LOGIN (a = user), INIT_PIN or SET_PIN-style PIN bodies */
uint32_t pin_op(int fd, uint16_t op, uint32_t a, const char *pin);
/* one attribute: its length (value in *v, malloc'd), or a status */
uint32_t get_attr(int fd, uint32_t h, uint32_t type, uint8_t **v);

#endif
