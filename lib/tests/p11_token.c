// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Token initialization, PINs, login state and lockout.  Slot 0 ends up
 * initialized with SO_PIN and USER_PIN for the tests after this one;
 * slot 1 goes through the lockout and is then given the same PINs.
 */
#include <string.h>

#include "p11test.h"

static CK_FLAGS token_flags(CK_SLOT_ID slot)
{
	CK_TOKEN_INFO ti;

	if (f->C_GetTokenInfo(slot, &ti) != CKR_OK)
		return (CK_FLAGS)-1;
	return ti.flags;
}

static CK_RV login(CK_SESSION_HANDLE h, CK_USER_TYPE u, const char *pin)
{
	return f->C_Login(h, u, (CK_UTF8CHAR_PTR)pin, strlen(pin));
}

static void pad_label(CK_UTF8CHAR *out, const char *s)
{
	memset(out, ' ', 32);
	memcpy(out, s, strlen(s) < 32 ? strlen(s) : 32);
}

CK_SESSION_HANDLE user_session(CK_SLOT_ID slot)
{
	CK_SESSION_HANDLE h;
	CK_RV rv;

	if (f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL,
			     NULL, &h) != CKR_OK)
		return 0;
	rv = login(h, CKU_USER, USER_PIN);
	if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
		f->C_CloseSession(h);
		return 0;
	}
	return h;
}

/* Initializes @slot's token with the test PINs. */
static int setup_token(CK_SLOT_ID slot, const char *label)
{
	CK_UTF8CHAR l[32];
	CK_SESSION_HANDLE h;
	int ok = 1;

	pad_label(l, label);
	CHECK_RV(f->C_InitToken(slot, (CK_UTF8CHAR_PTR)SO_PIN,
				strlen(SO_PIN), l), CKR_OK);
	CHECK_RV(f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION,
				  NULL, NULL, &h), CKR_OK);
	CHECK_RV(login(h, CKU_SO, SO_PIN), CKR_OK);
	CHECK_RV(f->C_InitPIN(h, (CK_UTF8CHAR_PTR)USER_PIN,
			      strlen(USER_PIN)), CKR_OK);
	CHECK_RV(f->C_Logout(h), CKR_OK);
	CHECK_RV(f->C_CloseSession(h), CKR_OK);
	ok = (token_flags(slot) & (CKF_TOKEN_INITIALIZED |
				   CKF_USER_PIN_INITIALIZED)) ==
	     (CKF_TOKEN_INITIALIZED | CKF_USER_PIN_INITIALIZED);
	CHECK(ok, "slot %lu initialized with a user PIN", slot);
	return ok;
}

static void test_login_states(void)
{
	CK_SESSION_HANDLE ro, rw, h2;
	CK_SESSION_INFO si;
	CK_TOKEN_INFO ti;

	CHECK_RV(f->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &ro),
		 CKR_OK);
	CHECK_RV(f->C_OpenSession(0, CKF_SERIAL_SESSION | CKF_RW_SESSION,
				  NULL, NULL, &rw), CKR_OK);
	CHECK_RV(f->C_Logout(ro), CKR_USER_NOT_LOGGED_IN);
	CHECK_RV(f->C_Login(ro, CKU_USER, NULL, 4), CKR_ARGUMENTS_BAD);
	CHECK_RV(f->C_Login(ro, 7, (CK_UTF8CHAR_PTR)USER_PIN, 4),
		 CKR_USER_TYPE_INVALID);
	CHECK_RV(login(ro, CKU_USER, ""), CKR_PIN_LEN_RANGE);
	CHECK_RV(login(ro, CKU_USER, "wrong-pin"), CKR_PIN_INCORRECT);
	CHECK(token_flags(0) & CKF_USER_PIN_COUNT_LOW,
	      "a failure shows in the token flags");
	/* SO login with a read-only session open. */
	CHECK_RV(login(rw, CKU_SO, SO_PIN), CKR_SESSION_READ_ONLY_EXISTS);
	CHECK_RV(login(ro, CKU_USER, USER_PIN), CKR_OK);
	CHECK(!(token_flags(0) & CKF_USER_PIN_COUNT_LOW),
	      "a good PIN resets the count");
	/* Login belongs to the application: every session sees it. */
	CHECK_RV(f->C_GetSessionInfo(ro, &si), CKR_OK);
	CHECK(si.state == CKS_RO_USER_FUNCTIONS, "RO user state %lu",
	      si.state);
	CHECK_RV(f->C_GetSessionInfo(rw, &si), CKR_OK);
	CHECK(si.state == CKS_RW_USER_FUNCTIONS, "RW user state %lu",
	      si.state);
	CHECK_RV(f->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &h2),
		 CKR_OK);
	CHECK_RV(f->C_GetSessionInfo(h2, &si), CKR_OK);
	CHECK(si.state == CKS_RO_USER_FUNCTIONS, "new session is logged in");
	CHECK_RV(login(rw, CKU_USER, USER_PIN), CKR_USER_ALREADY_LOGGED_IN);
	CHECK_RV(login(rw, CKU_SO, SO_PIN),
		 CKR_USER_ANOTHER_ALREADY_LOGGED_IN);
	CHECK_RV(f->C_Logout(h2), CKR_OK);
	CHECK_RV(f->C_GetSessionInfo(rw, &si), CKR_OK);
	CHECK(si.state == CKS_RW_PUBLIC_SESSION, "logged out everywhere");

	/* C_SetPIN: user PIN, old one checked. */
	CHECK_RV(f->C_SetPIN(ro, (CK_UTF8CHAR_PTR)USER_PIN, strlen(USER_PIN),
			     (CK_UTF8CHAR_PTR)"new-pin-99", 10),
		 CKR_SESSION_READ_ONLY);
	CHECK_RV(f->C_SetPIN(rw, (CK_UTF8CHAR_PTR)"bad-old", 7,
			     (CK_UTF8CHAR_PTR)"new-pin-99", 10),
		 CKR_PIN_INCORRECT);
	CHECK_RV(f->C_SetPIN(rw, (CK_UTF8CHAR_PTR)USER_PIN, strlen(USER_PIN),
			     (CK_UTF8CHAR_PTR)"ab", 2), CKR_PIN_LEN_RANGE);
	CHECK_RV(f->C_SetPIN(rw, (CK_UTF8CHAR_PTR)USER_PIN, strlen(USER_PIN),
			     (CK_UTF8CHAR_PTR)"new-pin-99", 10), CKR_OK);
	CHECK_RV(login(rw, CKU_USER, USER_PIN), CKR_PIN_INCORRECT);
	CHECK_RV(login(rw, CKU_USER, "new-pin-99"), CKR_OK);
	CHECK_RV(f->C_SetPIN(rw, (CK_UTF8CHAR_PTR)"new-pin-99", 10,
			     (CK_UTF8CHAR_PTR)USER_PIN, strlen(USER_PIN)),
		 CKR_OK);
	CHECK_RV(f->C_Logout(rw), CKR_OK);

	/* SO: only with read-write sessions. */
	CHECK_RV(f->C_CloseSession(ro), CKR_OK);
	CHECK_RV(f->C_CloseSession(h2), CKR_OK);
	CHECK_RV(login(rw, CKU_SO, SO_PIN), CKR_OK);
	CHECK_RV(f->C_GetSessionInfo(rw, &si), CKR_OK);
	CHECK(si.state == CKS_RW_SO_FUNCTIONS, "SO state %lu", si.state);
	CHECK_RV(f->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &ro),
		 CKR_SESSION_READ_WRITE_SO_EXISTS);
	CHECK_RV(login(rw, CKU_USER, USER_PIN),
		 CKR_USER_ANOTHER_ALREADY_LOGGED_IN);
	/* Closing the last session logs the application out. */
	CHECK_RV(f->C_CloseSession(rw), CKR_OK);
	CHECK_RV(f->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &ro),
		 CKR_OK);
	CHECK_RV(f->C_GetSessionInfo(ro, &si), CKR_OK);
	CHECK(si.state == CKS_RO_PUBLIC_SESSION, "logged out with the last "
	      "session (%lu)", si.state);
	CHECK_RV(f->C_GetTokenInfo(0, &ti), CKR_OK);
	CHECK(ti.ulMinPinLen == 4 && ti.ulMaxPinLen == 64,
	      "PIN lengths %lu..%lu", ti.ulMinPinLen, ti.ulMaxPinLen);
	CHECK((ti.flags & CKF_LOGIN_REQUIRED) &&
	      (ti.flags & CKF_USER_PIN_INITIALIZED),
	      "login required, PIN set (0x%lx)", ti.flags);
	CHECK_RV(f->C_CloseSession(ro), CKR_OK);
}

static void test_lockout(void)
{
	CK_SESSION_HANDLE h;
	CK_FLAGS fl;
	int i;

	CHECK_RV(f->C_OpenSession(1, CKF_SERIAL_SESSION | CKF_RW_SESSION,
				  NULL, NULL, &h), CKR_OK);
	for (i = 0; i < 8; i++)
		CHECK_RV(login(h, CKU_USER, "not-the-pin"), CKR_PIN_INCORRECT);
	fl = token_flags(1);
	CHECK((fl & CKF_USER_PIN_COUNT_LOW) && !(fl & CKF_USER_PIN_FINAL_TRY),
	      "8 failures: count low (0x%lx)", fl);
	CHECK_RV(login(h, CKU_USER, "not-the-pin"), CKR_PIN_INCORRECT);
	fl = token_flags(1);
	CHECK(fl & CKF_USER_PIN_FINAL_TRY, "9 failures: final try (0x%lx)",
	      fl);
	{
		CK_RV rv = login(h, CKU_USER, "not-the-pin");

		CHECK(rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LOCKED,
		      "10th failure: 0x%lx", rv);
	}
	fl = token_flags(1);
	CHECK(fl & CKF_USER_PIN_LOCKED, "locked (0x%lx)", fl);
	CHECK_RV(login(h, CKU_USER, USER_PIN), CKR_PIN_LOCKED);
	/* The SO unlocks it by setting a new PIN. */
	CHECK_RV(login(h, CKU_SO, SO_PIN), CKR_OK);
	CHECK_RV(f->C_InitPIN(h, (CK_UTF8CHAR_PTR)USER_PIN,
			      strlen(USER_PIN)), CKR_OK);
	CHECK_RV(f->C_Logout(h), CKR_OK);
	CHECK(!(token_flags(1) & CKF_USER_PIN_LOCKED), "unlocked");
	CHECK_RV(login(h, CKU_USER, USER_PIN), CKR_OK);
	CHECK_RV(f->C_Logout(h), CKR_OK);
	/* A wrong SO PIN counts too, and a good one clears it. */
	CHECK_RV(login(h, CKU_SO, "wrong-so-pin"), CKR_PIN_INCORRECT);
	CHECK(token_flags(1) & CKF_SO_PIN_COUNT_LOW, "SO count low");
	CHECK_RV(login(h, CKU_SO, SO_PIN), CKR_OK);
	CHECK(!(token_flags(1) & CKF_SO_PIN_COUNT_LOW), "SO count reset");
	CHECK_RV(f->C_InitPIN(h, NULL, 0), CKR_PIN_LEN_RANGE);
	CHECK_RV(f->C_CloseSession(h), CKR_OK);
}

/*
 * A blank label (what pkcs11-tool --label "" sends) initializes the token
 * like any other; then @slot gets @label and the test PINs back.
 */
static void test_blank_label(CK_SLOT_ID slot, const char *label)
{
	CK_UTF8CHAR l[32], blank[32];
	CK_TOKEN_INFO ti;

	memset(blank, ' ', sizeof(blank));
	CHECK_RV(f->C_InitToken(slot, (CK_UTF8CHAR_PTR)SO_PIN, strlen(SO_PIN),
				blank), CKR_OK);
	CHECK_RV(f->C_GetTokenInfo(slot, &ti), CKR_OK);
	CHECK(!memcmp(ti.label, blank, sizeof(blank)),
	      "blank label reported '%.32s'", ti.label);
	CHECK((ti.flags & CKF_TOKEN_INITIALIZED) &&
	      !(ti.flags & CKF_USER_PIN_INITIALIZED),
	      "initialized, user PIN wiped (0x%lx)", ti.flags);
	/* Only the blanks became legal: control bytes are still refused. */
	pad_label(l, "tab\there");
	CHECK_RV(f->C_InitToken(slot, (CK_UTF8CHAR_PTR)SO_PIN, strlen(SO_PIN),
				l), CKR_ARGUMENTS_BAD);
	CHECK(!(token_flags(slot) & CKF_SO_PIN_COUNT_LOW),
	      "a refused label costs no SO PIN try");
	setup_token(slot, label);
	CHECK_RV(f->C_GetTokenInfo(slot, &ti), CKR_OK);
	pad_label(l, label);
	CHECK(!memcmp(ti.label, l, sizeof(l)), "label back to '%.32s'",
	      ti.label);
}

void test_token(struct emu *e)
{
	CK_UTF8CHAR l[32];
	CK_SESSION_HANDLE h;

	pad_label(l, e[0].label);
	CHECK_RV(f->C_InitToken(0, NULL, 4, l), CKR_ARGUMENTS_BAD);
	CHECK_RV(f->C_InitToken(0, (CK_UTF8CHAR_PTR)"", 0, l),
		 CKR_PIN_LEN_RANGE);
	CHECK_RV(f->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &h),
		 CKR_OK);
	CHECK_RV(f->C_InitToken(0, (CK_UTF8CHAR_PTR)SO_PIN, strlen(SO_PIN),
				l), CKR_SESSION_EXISTS);
	CHECK_RV(f->C_CloseSession(h), CKR_OK);
	if (!setup_token(0, e[0].label) || !setup_token(1, e[1].label)) {
		printf("token set-up failed\n");
		return;
	}
	/* Re-initializing needs the SO PIN. */
	CHECK_RV(f->C_InitToken(1, (CK_UTF8CHAR_PTR)"wrong-so-pin", 12, l),
		 CKR_PIN_INCORRECT);
	test_login_states();
	test_lockout();
	test_blank_label(1, e[1].label);
}
