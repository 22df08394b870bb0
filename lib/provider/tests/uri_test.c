/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the provider's pkcs11: URI parser (lib/provider/uri.c).
 *
 *   uri_test SCRATCH_DIR
 *
 * SCRATCH_DIR holds the pin-source files the tests write.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "bcprov.h"

static int passed, failed;
static const char *dir;

static void check(bool ok, const char *what)
{
	if (ok) {
		passed++;
	} else {
		failed++;
		printf("FAIL: %s\n", what);
	}
}

static bool streq(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

static bool all_null(const struct bcprov_keyref *r)
{
	return r->token == NULL && r->serial == NULL && r->object == NULL &&
	       r->id == NULL && r->id_len == 0 && r->want_cert == 0 &&
	       r->pin == NULL;
}

/* @uri must be refused with an error whose text contains @msg. */
static void refused(const char *uri, const char *msg)
{
	struct bcprov_keyref r;
	const char *data = NULL;
	int flags = 0;
	char what[512];
	int ok;

	ERR_clear_error();
	ok = bcprov_uri_parse(uri, &r);
	ERR_peek_last_error_data(&data, &flags);
	snprintf(what, sizeof(what), "refuse \"%s\" with \"%s\" (got %s)",
		 uri, msg, ok ? "success" : data != NULL ? data : "no text");
	check(!ok && (flags & ERR_TXT_STRING) && data != NULL &&
	      strstr(data, msg) != NULL && all_null(&r), what);
	if (ok)
		bcprov_keyref_free(&r);
	ERR_clear_error();
}

static char *write_file(const char *name, const char *content, size_t len)
{
	static char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (f == NULL || fwrite(content, 1, len, f) != len || fclose(f) != 0) {
		perror(path);
		exit(2);
	}
	return path;
}

static void test_full(void)
{
	struct bcprov_keyref r;
	int ok;

	ok = bcprov_uri_parse("pkcs11:token=web%20tls;serial=0123abcd;"
			      "object=server%3Bkey;id=%01%02%ff;type=private", &r);
	check(ok, "full URI parses");
	if (!ok)
		return;
	check(streq(r.token, "web tls"), "token percent-decoded");
	check(streq(r.serial, "0123abcd"), "serial");
	check(streq(r.object, "server;key"), "object with an encoded ';'");
	check(r.id_len == 3 && r.id != NULL &&
	      memcmp(r.id, "\x01\x02\xff", 3) == 0, "id bytes");
	check(r.want_cert == 0 && r.pin == NULL, "private key, no PIN");
	bcprov_keyref_free(&r);
	check(all_null(&r), "free clears the reference");
}

static void test_simple(void)
{
	struct bcprov_keyref r;

	check(bcprov_uri_parse("pkcs11:", &r) && all_null(&r),
	      "bare pkcs11: matches anything");
	bcprov_keyref_free(&r);

	check(bcprov_uri_parse("PKCS11:object=a", &r) && streq(r.object, "a"),
	      "scheme is case-insensitive");
	bcprov_keyref_free(&r);

	check(bcprov_uri_parse("pkcs11:object=k;type=cert", &r) &&
	      r.want_cert == 1, "type=cert selects the certificate");
	bcprov_keyref_free(&r);

	check(bcprov_uri_parse("pkcs11:object=k;type=public", &r) &&
	      r.want_cert == 0, "type=public is the key");
	bcprov_keyref_free(&r);

	check(bcprov_uri_parse("pkcs11:id=%00%00", &r) && r.id_len == 2 &&
	      r.id[0] == 0 && r.id[1] == 0, "NUL bytes allowed in id");
	bcprov_keyref_free(&r);

	check(bcprov_uri_parse("pkcs11:manufacturer=Bastion;model=BC1;"
			       "library-description=x;slot-id=0;object=k"
			       "?module-path=/usr/lib/x.so&module-name=x", &r) &&
	      streq(r.object, "k") && r.token == NULL,
	      "descriptive and module attributes accepted, ignored");
	bcprov_keyref_free(&r);

	check(bcprov_uri_parse("pkcs11:object=k;", &r) && streq(r.object, "k"),
	      "trailing ';' tolerated");
	bcprov_keyref_free(&r);

	check(bcprov_uri_parse("pkcs11:object=a=b", &r) &&
	      streq(r.object, "a=b"), "'=' inside a value");
	bcprov_keyref_free(&r);
}

static void test_pin(void)
{
	struct bcprov_keyref r;
	char uri[4200];
	char *path;
	char big[400];

	check(bcprov_uri_parse("pkcs11:object=k?pin-value=12%334", &r) &&
	      streq(r.pin, "1234"), "pin-value percent-decoded");
	bcprov_keyref_free(&r);

	path = write_file("pin1", "4321\nsecond line\n", 17);
	snprintf(uri, sizeof(uri), "pkcs11:object=k?pin-source=%s", path);
	check(bcprov_uri_parse(uri, &r) && streq(r.pin, "4321"),
	      "pin-source path: first line only");
	bcprov_keyref_free(&r);

	path = write_file("pin2", "9999\r\n", 6);
	snprintf(uri, sizeof(uri), "pkcs11:?pin-source=file://%s", path);
	check(bcprov_uri_parse(uri, &r) && streq(r.pin, "9999"),
	      "pin-source file:// URI, CRLF stripped");
	bcprov_keyref_free(&r);

	snprintf(uri, sizeof(uri), "pkcs11:?pin-source=file://localhost%s",
		 path);
	check(bcprov_uri_parse(uri, &r) && streq(r.pin, "9999"),
	      "pin-source file://localhost/");
	bcprov_keyref_free(&r);

	path = write_file("pin3", "5555", 4);
	snprintf(uri, sizeof(uri), "pkcs11:?pin-source=file:%s", path);
	check(bcprov_uri_parse(uri, &r) && streq(r.pin, "5555"),
	      "pin-source file:/path, no newline at end");
	bcprov_keyref_free(&r);

	path = write_file("pin4", "\nx\n", 3);
	snprintf(uri, sizeof(uri), "pkcs11:?pin-source=%s", path);
	refused(uri, "no PIN on the first line");

	memset(big, 'a', sizeof(big));
	path = write_file("pin5", big, sizeof(big));
	snprintf(uri, sizeof(uri), "pkcs11:?pin-source=%s", path);
	refused(uri, "too long");

	snprintf(uri, sizeof(uri), "pkcs11:?pin-source=%s/missing", dir);
	refused(uri, "No such file");
	refused("pkcs11:?pin-source=file://otherhost/etc/pin", "only local");
	snprintf(uri, sizeof(uri), "pkcs11:?pin-value=1&pin-source=%s/pin1",
		 dir);
	refused(uri, "both given");
}

static void test_refused(void)
{
	refused(NULL, "not a pkcs11: URI");
	refused("file:/etc/key.pem", "not a pkcs11: URI");
	refused("pkcs11:objekt=a", "unknown attribute \"objekt\"");
	refused("pkcs11:object=a?pin=1", "unknown attribute \"pin\"");
	refused("pkcs11:object=a;object=b", "\"object\" given twice");
	refused("pkcs11:id=%01;id=%01", "\"id\" given twice");
	refused("pkcs11:pin-value=1234", "belongs in the query");
	refused("pkcs11:?object=k", "belongs in the path");
	refused("pkcs11:object=k;type=secret-key", "type=\"secret-key\"");
	refused("pkcs11:object", "has no '='");
	refused("pkcs11:object=", "empty value");
	refused("pkcs11:object=%4", "bad percent-escape in \"object\"");
	refused("pkcs11:object=%zz", "bad percent-escape");
	refused("pkcs11:id=%0", "bad percent-escape in \"id\"");
	refused("pkcs11:object=a%00b", "NUL byte in \"object\"");
	refused("pkcs11:object=a\tb", "control character");
	refused("pkcs11:object=a#frag", "'#' must be percent-encoded");
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s SCRATCH_DIR\n", argv[0]);
		return 2;
	}
	dir = argv[1];
	test_full();
	test_simple();
	test_pin();
	test_refused();
	printf("%d passed, %d failed\n", passed, failed);
	return failed != 0;
}
