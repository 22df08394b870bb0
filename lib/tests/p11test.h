/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Shared by the parts of test_pkcs11: the module's function list, the
 * result counters and the emulators the tests run against.
 */
#ifndef BC_P11TEST_H
#define BC_P11TEST_H

#include <stdio.h>
#include <sys/types.h>

#include <p11-kit/pkcs11.h>

extern int passed, failed, skipped;
extern CK_FUNCTION_LIST_PTR f;
/* Devices already there (the VM): no emulator can be restarted. */
extern int external;

#define CHECK(cond, ...) do {						\
	if (cond) {							\
		passed++;						\
	} else {							\
		failed++;						\
		printf("FAIL %s:%d: ", __FILE__, __LINE__);		\
		printf(__VA_ARGS__);					\
		printf("\n");						\
	}								\
	fflush(stdout);							\
} while (0)

#define CHECK_RV(call, want) do {					\
	CK_RV rv_ = (call);						\
	CHECK(rv_ == (CK_RV)(want), "%s = 0x%lx, want 0x%lx", #call,	\
	      (unsigned long)rv_, (unsigned long)(want));		\
} while (0)

struct emu {
	pid_t pid;
	char dir[256];
	char sock[100];
	char label[40];
	int max_sessions;
};

/* The PINs the tests give the tokens they initialize. */
#define SO_PIN		"so-secret-42"
#define USER_PIN	"user-1234"

int emu_start(struct emu *e);
void emu_stop(struct emu *e, int sig);
int init_os(void);

/* p11_token.c: C_InitToken on both slots, PINs, login, lockout. */
void test_token(struct emu *e);
/* Opens a R/W session on @slot and logs the user in; 0 on failure. */
CK_SESSION_HANDLE user_session(CK_SLOT_ID slot);

/* p11_objects.c */
void test_objects(void);
/* p11_crypto.c: every mechanism, checked with OpenSSL. */
void test_crypto(void);
/* p11_wrap.c: key migration between the two chips. */
void test_wrap(void);
/* p11_attest.c: BC_AttestKey, checked against the emulator's CA. */
void test_attest(struct emu *e);
/* p11_pool.c: many sessions, threads, fork, chip reset. */
void test_pool(struct emu *e);
void test_fork_login(void);
void test_reset(struct emu *e);
void test_driver_reset(const char *reset_attr);

#endif
