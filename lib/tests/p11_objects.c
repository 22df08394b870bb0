// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Objects and attributes: creation, search, C_GetAttributeValue's rules,
 * sensitive values, read-only attributes and sessions, private objects
 * and session objects that end with their session.
 */
#include <string.h>

#include "p11test.h"

static CK_BBOOL yes = CK_TRUE, no = CK_FALSE;

static CK_ULONG count_label(CK_SESSION_HANDLE h, const char *label)
{
	CK_ATTRIBUTE t[] = {
		{ CKA_LABEL, (void *)label, strlen(label) },
	};
	CK_OBJECT_HANDLE o[16];
	CK_ULONG n = 0, total = 0;

	if (f->C_FindObjectsInit(h, t, 1) != CKR_OK)
		return (CK_ULONG)-1;
	do {
		if (f->C_FindObjects(h, o, 3, &n) != CKR_OK)
			return (CK_ULONG)-1;
		total += n;
	} while (n);
	f->C_FindObjectsFinal(h);
	return total;
}

static void test_data_objects(CK_SESSION_HANDLE h, CK_SESSION_HANDLE ro)
{
	CK_OBJECT_CLASS data = CKO_DATA, cls;
	char value[] = "some application data";
	char label[] = "p11test data";
	CK_ATTRIBUTE tmpl[] = {
		{ CKA_CLASS, &data, sizeof(data) },
		{ CKA_TOKEN, &yes, sizeof(yes) },
		{ CKA_LABEL, label, strlen(label) },
		{ CKA_VALUE, value, strlen(value) },
	};
	CK_OBJECT_HANDLE o, s, c;
	char buf[64], small[4];
	CK_ULONG size;

	CHECK_RV(f->C_CreateObject(h, NULL, 1, &o), CKR_ARGUMENTS_BAD);
	CHECK_RV(f->C_CreateObject(ro, tmpl, 4, &o), CKR_SESSION_READ_ONLY);
	CHECK_RV(f->C_CreateObject(h, tmpl, 4, &o), CKR_OK);
	tmpl[1].pValue = &no;
	CHECK_RV(f->C_CreateObject(ro, tmpl, 4, &s), CKR_OK);
	CHECK(o != s && o && s, "handles %lu %lu", o, s);
	CHECK(count_label(h, label) == 2, "both found");

	{
		CK_ATTRIBUTE a[] = {
			{ CKA_LABEL, NULL, 0 },
			{ CKA_VALUE, NULL, 0 },
			{ CKA_CLASS, NULL, 0 },
			{ CKA_MODULUS, NULL, 0 },
		};

		CHECK_RV(f->C_GetAttributeValue(h, o, a, 4),
			 CKR_ATTRIBUTE_TYPE_INVALID);
		CHECK(a[0].ulValueLen == strlen(label) &&
		      a[1].ulValueLen == strlen(value) &&
		      a[2].ulValueLen == sizeof(CK_ULONG) &&
		      a[3].ulValueLen == CK_UNAVAILABLE_INFORMATION,
		      "length query: %lu %lu %lu %lx", a[0].ulValueLen,
		      a[1].ulValueLen, a[2].ulValueLen, a[3].ulValueLen);
		a[0].pValue = buf;
		a[0].ulValueLen = sizeof(buf);
		a[1].pValue = small;
		a[1].ulValueLen = sizeof(small);
		a[2].pValue = &cls;
		a[2].ulValueLen = sizeof(cls);
		CHECK_RV(f->C_GetAttributeValue(h, o, a, 3),
			 CKR_BUFFER_TOO_SMALL);
		CHECK(a[0].ulValueLen == strlen(label) &&
		      !memcmp(buf, label, strlen(label)) &&
		      a[1].ulValueLen == CK_UNAVAILABLE_INFORMATION &&
		      cls == CKO_DATA,
		      "the others are still filled in");
	}
	CHECK_RV(f->C_GetObjectSize(h, o, &size), CKR_OK);
	CHECK_RV(f->C_GetObjectSize(h, 0x7ffffff0, &size),
		 CKR_OBJECT_HANDLE_INVALID);
	{
		char nl[] = "renamed";
		CK_ATTRIBUTE a = { CKA_LABEL, nl, strlen(nl) };
		CK_ATTRIBUTE ca = { CKA_CLASS, &data, sizeof(data) };

		CHECK_RV(f->C_SetAttributeValue(ro, o, &a, 1),
			 CKR_SESSION_READ_ONLY);
		CHECK_RV(f->C_SetAttributeValue(h, o, &a, 1), CKR_OK);
		CHECK(count_label(h, nl) == 1, "found by its new label");
		CHECK_RV(f->C_SetAttributeValue(h, o, &ca, 1),
			 CKR_ATTRIBUTE_READ_ONLY);
		/* A session object may be changed in a read-only session. */
		CHECK_RV(f->C_SetAttributeValue(ro, s, &a, 1), CKR_OK);
		CHECK_RV(f->C_CopyObject(h, o, NULL, 0, &c), CKR_OK);
		CHECK(count_label(h, nl) == 3, "copied");
		CHECK_RV(f->C_DestroyObject(ro, c), CKR_SESSION_READ_ONLY);
		CHECK_RV(f->C_DestroyObject(h, c), CKR_OK);
		CHECK_RV(f->C_DestroyObject(h, c), CKR_OBJECT_HANDLE_INVALID);
		CHECK_RV(f->C_DestroyObject(h, o), CKR_OK);
		CHECK(count_label(h, nl) == 1, "the session object is left");
	}
	/* A session object ends with the session that made it. */
	CHECK_RV(f->C_CloseSession(ro), CKR_OK);
	CHECK(count_label(h, "renamed") == 0, "gone with its session");
}

static void test_keys_and_sensitivity(CK_SESSION_HANDLE h)
{
	CK_MECHANISM gen = { CKM_AES_KEY_GEN, NULL, 0 };
	CK_ULONG len = 32;
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_KEY_TYPE kt = CKK_AES;
	char label[] = "p11test aes";
	CK_ATTRIBUTE t[] = {
		{ CKA_VALUE_LEN, &len, sizeof(len) },
		{ CKA_LABEL, label, strlen(label) },
		{ CKA_SENSITIVE, &yes, sizeof(yes) },
		{ CKA_EXTRACTABLE, &no, sizeof(no) },
		{ CKA_ENCRYPT, &yes, sizeof(yes) },
		{ CKA_TOKEN, &yes, sizeof(yes) },
		{ CKA_DECRYPT, &no, sizeof(no) },
	};
	CK_OBJECT_HANDLE k, imp;
	unsigned char val[32];
	CK_BBOOL as = 0, ne = 0, local = 0, priv = 0;
	CK_ATTRIBUTE a[] = {
		{ CKA_VALUE, val, sizeof(val) },
		{ CKA_ALWAYS_SENSITIVE, &as, 1 },
		{ CKA_NEVER_EXTRACTABLE, &ne, 1 },
		{ CKA_LOCAL, &local, 1 },
		{ CKA_PRIVATE, &priv, 1 },
	};
	CK_ATTRIBUTE unsens = { CKA_SENSITIVE, &no, 1 };
	CK_ATTRIBUTE ext = { CKA_EXTRACTABLE, &yes, 1 };

	CHECK_RV(f->C_GenerateKey(h, &gen, t, 7, &k), CKR_OK);
	CHECK_RV(f->C_GetAttributeValue(h, k, a, 5), CKR_ATTRIBUTE_SENSITIVE);
	CHECK(a[0].ulValueLen == CK_UNAVAILABLE_INFORMATION && as && ne &&
	      local && priv, "generated: sensitive value hidden, "
	      "always sensitive %d, never extractable %d, local %d, "
	      "private %d", as, ne, local, priv);
	CHECK_RV(f->C_SetAttributeValue(h, k, &unsens, 1),
		 CKR_ATTRIBUTE_READ_ONLY);
	CHECK_RV(f->C_SetAttributeValue(h, k, &ext, 1),
		 CKR_ATTRIBUTE_READ_ONLY);
	/* Usage flags are enforced. */
	{
		CK_MECHANISM m = { CKM_AES_CBC_PAD, val, 16 };

		CHECK_RV(f->C_DecryptInit(h, &m, k),
			 CKR_KEY_FUNCTION_NOT_PERMITTED);
		CHECK_RV(f->C_SignInit(h, &m, k), CKR_MECHANISM_INVALID);
	}
	/* An imported key is neither local nor always sensitive. */
	{
		CK_ATTRIBUTE it[] = {
			{ CKA_CLASS, &cls, sizeof(cls) },
			{ CKA_KEY_TYPE, &kt, sizeof(kt) },
			{ CKA_VALUE, val, 16 },
			{ CKA_SENSITIVE, &yes, 1 },
		};

		memset(val, 0x5a, sizeof(val));
		CHECK_RV(f->C_CreateObject(h, it, 4, &imp), CKR_OK);
		as = ne = local = 1;
		a[0].ulValueLen = sizeof(val);
		CHECK_RV(f->C_GetAttributeValue(h, imp, a, 4),
			 CKR_ATTRIBUTE_SENSITIVE);
		CHECK(!as && !ne && !local, "imported: %d %d %d", as, ne,
		      local);
		CHECK_RV(f->C_DestroyObject(h, imp), CKR_OK);
	}
	/* Private objects are invisible without login. */
	CHECK(count_label(h, label) == 1, "visible logged in");
	CHECK_RV(f->C_Logout(h), CKR_OK);
	CHECK(count_label(h, label) == 0, "invisible logged out");
	CHECK_RV(f->C_GetAttributeValue(h, k, a + 1, 1),
		 CKR_OBJECT_HANDLE_INVALID);
	CHECK_RV(f->C_GenerateKey(h, &gen, t, 7, &imp),
		 CKR_USER_NOT_LOGGED_IN);
	CHECK_RV(f->C_Login(h, CKU_USER, (CK_UTF8CHAR_PTR)USER_PIN,
			    strlen(USER_PIN)), CKR_OK);
	CHECK_RV(f->C_DestroyObject(h, k), CKR_OK);
	/* Template problems. */
	{
		CK_ATTRIBUTE bad[] = {
			{ CKA_CLASS, &cls, 2 },
		};
		CK_ATTRIBUTE inc[] = {
			{ CKA_CLASS, &cls, sizeof(cls) },
		};

		CHECK_RV(f->C_CreateObject(h, bad, 1, &imp),
			 CKR_ATTRIBUTE_VALUE_INVALID);
		CHECK_RV(f->C_CreateObject(h, inc, 1, &imp),
			 CKR_TEMPLATE_INCOMPLETE);
	}
}

void test_objects(void)
{
	CK_SESSION_HANDLE h = user_session(0), ro;

	CHECK(h != 0, "user session on slot 0");
	if (!h)
		return;
	CHECK_RV(f->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &ro),
		 CKR_OK);
	test_data_objects(h, ro);
	test_keys_and_sensitivity(h);
	CHECK_RV(f->C_CloseSession(h), CKR_OK);
}
