// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Key migration between the two chips: both hold the same transport key;
 * chip 0 wraps a key, chip 1 unwraps it and signs, chip 0 (and OpenSSL)
 * verify with chip 0's public key.  Also what may not be wrapped.
 */
#include <string.h>

#include "p11test.h"

static CK_BBOOL yes = CK_TRUE, no = CK_FALSE;

static const unsigned char oid_p384[] = {
	0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22 };

static CK_OBJECT_HANDLE transport_key(CK_SESSION_HANDLE h)
{
	static const unsigned char kv[32] = "shared transport key, 32 bytes";
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_KEY_TYPE kt = CKK_AES;
	CK_ATTRIBUTE t[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_KEY_TYPE, &kt, sizeof(kt) },
		{ CKA_VALUE, (void *)kv, sizeof(kv) },
		{ CKA_WRAP, &yes, 1 },
		{ CKA_UNWRAP, &yes, 1 },
		{ CKA_SENSITIVE, &yes, 1 },
	};
	CK_OBJECT_HANDLE k = 0;

	CHECK_RV(f->C_CreateObject(h, t, 6, &k), CKR_OK);
	return k;
}

static void migrate_ec(CK_SESSION_HANDLE a, CK_SESSION_HANDLE b,
		       CK_OBJECT_HANDLE ta, CK_OBJECT_HANDLE tb,
		       CK_MECHANISM_TYPE wrap_mech)
{
	CK_MECHANISM gen = { CKM_EC_KEY_PAIR_GEN, NULL, 0 };
	CK_MECHANISM wm = { wrap_mech, NULL, 0 };
	CK_MECHANISM sm = { CKM_ECDSA_SHA384, NULL, 0 };
	CK_ATTRIBUTE pub[] = {
		{ CKA_EC_PARAMS, (void *)oid_p384, sizeof(oid_p384) },
		{ CKA_VERIFY, &yes, 1 },
	};
	CK_ATTRIBUTE priv[] = {
		{ CKA_SIGN, &yes, 1 },
		{ CKA_EXTRACTABLE, &yes, 1 },
		{ CKA_SENSITIVE, &yes, 1 },
	};
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_KEY_TYPE kt = CKK_EC;
	CK_ATTRIBUTE ut[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_KEY_TYPE, &kt, sizeof(kt) },
		{ CKA_SIGN, &yes, 1 },
		{ CKA_SENSITIVE, &yes, 1 },
	};
	CK_OBJECT_HANDLE kpub, kpriv, moved;
	unsigned char wrapped[512], sig[128], msg[] = "migrated key signs";
	CK_ULONG wl = 0, sl = sizeof(sig);
	CK_BBOOL local = 1, ne = 1;
	CK_ATTRIBUTE la[] = {
		{ CKA_LOCAL, &local, 1 },
		{ CKA_NEVER_EXTRACTABLE, &ne, 1 },
	};

	CHECK_RV(f->C_GenerateKeyPair(a, &gen, pub, 2, priv, 3, &kpub, &kpriv),
		 CKR_OK);
	CHECK_RV(f->C_WrapKey(a, &wm, ta, kpriv, NULL, &wl), CKR_OK);
	CHECK(wl > 0 && wl <= sizeof(wrapped), "wrapped length %lu", wl);
	{
		CK_ULONG small = 8;

		CHECK_RV(f->C_WrapKey(a, &wm, ta, kpriv, wrapped, &small),
			 CKR_BUFFER_TOO_SMALL);
	}
	wl = sizeof(wrapped);
	CHECK_RV(f->C_WrapKey(a, &wm, ta, kpriv, wrapped, &wl), CKR_OK);
	CHECK_RV(f->C_UnwrapKey(b, &wm, tb, wrapped, wl, ut, 4, &moved),
		 CKR_OK);
	CHECK_RV(f->C_GetAttributeValue(b, moved, la, 2), CKR_OK);
	CHECK(!local && !ne, "unwrapped: not local, not never-extractable");
	CHECK_RV(f->C_SignInit(b, &sm, moved), CKR_OK);
	CHECK_RV(f->C_Sign(b, msg, sizeof(msg) - 1, sig, &sl), CKR_OK);
	CHECK_RV(f->C_VerifyInit(a, &sm, kpub), CKR_OK);
	CHECK_RV(f->C_Verify(a, msg, sizeof(msg) - 1, sig, sl), CKR_OK);
	/* A damaged blob does not unwrap. */
	wrapped[wl / 2] ^= 1;
	CHECK_RV(f->C_UnwrapKey(b, &wm, tb, wrapped, wl, ut, 4, &moved),
		 CKR_WRAPPED_KEY_INVALID);
	f->C_DestroyObject(a, kpub);
	f->C_DestroyObject(a, kpriv);
}

static void test_refusals(CK_SESSION_HANDLE a, CK_OBJECT_HANDLE ta)
{
	CK_MECHANISM gen = { CKM_AES_KEY_GEN, NULL, 0 };
	CK_MECHANISM wm = { CKM_AES_KEY_WRAP, NULL, 0 };
	CK_ULONG len = 16, wl = 64;
	CK_ATTRIBUTE t[] = {
		{ CKA_VALUE_LEN, &len, sizeof(len) },
		{ CKA_EXTRACTABLE, &no, 1 },
	};
	CK_ATTRIBUTE te[] = {
		{ CKA_VALUE_LEN, &len, sizeof(len) },
		{ CKA_EXTRACTABLE, &yes, 1 },
		{ CKA_WRAP, &no, 1 },
	};
	CK_OBJECT_HANDLE k, ke, ke2;
	unsigned char w[64];

	CHECK_RV(f->C_GenerateKey(a, &gen, t, 2, &k), CKR_OK);
	CHECK_RV(f->C_WrapKey(a, &wm, ta, k, w, &wl), CKR_KEY_UNEXTRACTABLE);
	CHECK_RV(f->C_GenerateKey(a, &gen, te, 3, &ke), CKR_OK);
	CHECK_RV(f->C_GenerateKey(a, &gen, te, 3, &ke2), CKR_OK);
	/* ke has no CKA_WRAP: it cannot wrap. */
	wl = sizeof(w);
	CHECK_RV(f->C_WrapKey(a, &wm, ke, ke2, w, &wl),
		 CKR_KEY_FUNCTION_NOT_PERMITTED);
	f->C_DestroyObject(a, ke2);
	wl = sizeof(w);
	CHECK_RV(f->C_WrapKey(a, &wm, ta, ke, w, &wl), CKR_OK);
	CHECK(wl == 24, "RFC 3394 of 16 bytes is 24 (%lu)", wl);
	f->C_DestroyObject(a, k);
	f->C_DestroyObject(a, ke);
}

void test_wrap(void)
{
	CK_SESSION_HANDLE a = user_session(0), b = user_session(1);
	CK_OBJECT_HANDLE ta, tb;

	CHECK(a && b, "user sessions on both chips");
	if (!a || !b)
		return;
	ta = transport_key(a);
	tb = transport_key(b);
	migrate_ec(a, b, ta, tb, CKM_AES_KEY_WRAP_PAD);
	test_refusals(a, ta);
	CHECK_RV(f->C_CloseSession(a), CKR_OK);
	CHECK_RV(f->C_CloseSession(b), CKR_OK);
}
