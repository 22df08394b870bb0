// SPDX-License-Identifier: Apache-2.0
/*
 * The bcchip provider end to end: keys loaded by pkcs11: URI through
 * OSSL_STORE, every signature and decryption made on the chip and checked
 * by OpenSSL's default provider with the public half, certificates, CMS,
 * TLS handshakes, context copies, fork() and threads.
 *
 *   test_provider TOKEN_LABEL SCRATCH_DIR [first]
 *
 * "first": OPENSSL_CONF loads bcchip before the default provider and sets
 * no default_properties.
 *
 * OPENSSL_CONF must load the provider (lib/provider/tests/run writes it);
 * the token holds EC keys p256, p384, p521 and RSA key rsa2048.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/cms.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/provider.h>
#include <openssl/rsa.h>
#include <openssl/ssl.h>
#include <openssl/store.h>
#include <openssl/x509.h>

#include "keyref.h"

static int passed, failed, skipped;
static const char *label, *scratch;

#define CHECK(cond, ...) do {						\
	if (cond) {							\
		passed++;						\
	} else {							\
		failed++;						\
		printf("FAIL %s:%d: ", __FILE__, __LINE__);		\
		printf(__VA_ARGS__);					\
		printf("\n");						\
		ERR_print_errors_fp(stdout);				\
	}								\
	ERR_clear_error();						\
	fflush(stdout);							\
} while (0)

static const unsigned char msg[] = "a message the chip signs";

static char *uri_of(const char *object, const char *extra)
{
	static char buf[512];
	char lab[128];
	size_t j = 0;

	for (size_t i = 0; label[i] && j + 4 < sizeof(lab); i++) {
		if (label[i] == ' ') {
			memcpy(lab + j, "%20", 3);
			j += 3;
		} else {
			lab[j++] = label[i];
		}
	}
	lab[j] = 0;
	snprintf(buf, sizeof(buf), "pkcs11:token=%s;object=%s%s", lab, object,
		 extra ? extra : "");
	return buf;
}

static EVP_PKEY *load_uri(const char *uri)
{
	OSSL_STORE_CTX *st = OSSL_STORE_open(uri, NULL, NULL, NULL, NULL);
	EVP_PKEY *pkey = NULL;

	if (!st)
		return NULL;
	while (!pkey && !OSSL_STORE_eof(st)) {
		OSSL_STORE_INFO *info = OSSL_STORE_load(st);

		if (!info)
			break;
		if (OSSL_STORE_INFO_get_type(info) == OSSL_STORE_INFO_PKEY)
			pkey = OSSL_STORE_INFO_get1_PKEY(info);
		OSSL_STORE_INFO_free(info);
	}
	OSSL_STORE_close(st);
	return pkey;
}

/* The public half as a key of the default provider. */
static EVP_PKEY *public_copy(EVP_PKEY *key)
{
	unsigned char *der = NULL;
	const unsigned char *p;
	EVP_PKEY *pub = NULL;
	int len = i2d_PUBKEY(key, &der);

	if (len > 0) {
		p = der;
		pub = d2i_PUBKEY(NULL, &p, len);
	}
	OPENSSL_free(der);
	return pub;
}

static const char *prov_name(const EVP_PKEY *k)
{
	const OSSL_PROVIDER *p = EVP_PKEY_get0_provider(k);

	return p ? OSSL_PROVIDER_get0_name(p) : "(legacy)";
}

/* Pad modes: 0 = none set, else RSA_PKCS1_PADDING / RSA_PKCS1_PSS_PADDING. */
static int set_rsa(EVP_PKEY_CTX *pc, int pad, int saltlen)
{
	if (!pad)
		return 1;
	if (EVP_PKEY_CTX_set_rsa_padding(pc, pad) <= 0)
		return 0;
	if (pad == RSA_PKCS1_PSS_PADDING &&
	    (EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, saltlen) <= 0 ||
	     EVP_PKEY_CTX_set_rsa_mgf1_md_name(pc, "SHA256", NULL) <= 0))
		return 0;
	return 1;
}

static int digest_sign(EVP_PKEY *key, const char *md, int pad, int saltlen,
		       unsigned char *sig, size_t *siglen)
{
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pc = NULL;
	int ok = m && EVP_DigestSignInit_ex(m, &pc, md, NULL, NULL, key,
					    NULL) == 1 &&
		 set_rsa(pc, pad, saltlen) &&
		 EVP_DigestSign(m, sig, siglen, msg, sizeof(msg)) == 1;

	EVP_MD_CTX_free(m);
	return ok;
}

static int digest_verify(EVP_PKEY *pub, const char *md, int pad,
			 int saltlen, const unsigned char *sig, size_t siglen,
			 const unsigned char *data, size_t len)
{
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pc = NULL;
	int ok = m && EVP_DigestVerifyInit_ex(m, &pc, md, NULL, NULL, pub,
					      NULL) == 1 &&
		 set_rsa(pc, pad, saltlen) &&
		 EVP_DigestVerify(m, sig, siglen, data, len) == 1;

	EVP_MD_CTX_free(m);
	return ok;
}

static void test_sign(const char *name, EVP_PKEY *key, EVP_PKEY *pub,
		      const char *md, int pad, int saltlen)
{
	unsigned char sig[1024], dgst[64];
	size_t siglen = sizeof(sig), dlen;
	unsigned int dl;
	EVP_PKEY_CTX *pc;
	int ok;

	CHECK(digest_sign(key, md, pad, saltlen, sig, &siglen),
	      "%s: digest-sign %s", name, md);
	CHECK(digest_verify(pub, md, pad, pad == RSA_PKCS1_PSS_PADDING ?
			    RSA_PSS_SALTLEN_AUTO : 0, sig, siglen, msg,
			    sizeof(msg)),
	      "%s: %s signature verified by the default provider", name, md);
	CHECK(!digest_verify(pub, md, pad, RSA_PSS_SALTLEN_AUTO, sig, siglen,
			     msg, sizeof(msg) - 1),
	      "%s: %s signature of another message refused", name, md);
	if (pad == RSA_PKCS1_PSS_PADDING && saltlen == RSA_PSS_SALTLEN_DIGEST)
		CHECK(digest_verify(pub, md, pad, RSA_PSS_SALTLEN_DIGEST, sig,
				    siglen, msg, sizeof(msg)),
		      "%s: PSS salt is the digest's length", name);
	/* Our own verification (public half, default provider's maths). */
	CHECK(digest_verify(key, md, pad, pad == RSA_PKCS1_PSS_PADDING ?
			    RSA_PSS_SALTLEN_AUTO : 0, sig, siglen, msg,
			    sizeof(msg)),
	      "%s: verified with the chip key's public half", name);

	/* Sign of a given digest. */
	EVP_Digest(msg, sizeof(msg), dgst, &dl, EVP_get_digestbyname(md),
		   NULL);
	dlen = dl;
	siglen = sizeof(sig);
	pc = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
	ok = pc && EVP_PKEY_sign_init(pc) == 1 &&
	     EVP_PKEY_CTX_set_signature_md(pc, EVP_get_digestbyname(md)) == 1 &&
	     set_rsa(pc, pad, saltlen) &&
	     EVP_PKEY_sign(pc, sig, &siglen, dgst, dlen) == 1;
	EVP_PKEY_CTX_free(pc);
	CHECK(ok, "%s: EVP_PKEY_sign of a %s digest", name, md);
	pc = EVP_PKEY_CTX_new_from_pkey(NULL, pub, NULL);
	ok = pc && EVP_PKEY_verify_init(pc) == 1 &&
	     EVP_PKEY_CTX_set_signature_md(pc, EVP_get_digestbyname(md)) == 1 &&
	     set_rsa(pc, pad, RSA_PSS_SALTLEN_AUTO) &&
	     EVP_PKEY_verify(pc, sig, siglen, dgst, dlen) == 1;
	EVP_PKEY_CTX_free(pc);
	CHECK(ok, "%s: signature of the %s digest verified", name, md);
}

static void test_dup(const char *name, EVP_PKEY *key, EVP_PKEY *pub)
{
	EVP_MD_CTX *a = EVP_MD_CTX_new(), *b = EVP_MD_CTX_new();
	unsigned char s1[1024], s2[1024];
	size_t l1 = sizeof(s1), l2 = sizeof(s2);
	int ok;

	ok = a && b && EVP_DigestSignInit(a, NULL, EVP_sha256(), NULL, key) &&
	     EVP_DigestSignUpdate(a, msg, 10) &&
	     EVP_MD_CTX_copy_ex(b, a) &&
	     EVP_DigestSignUpdate(a, msg + 10, sizeof(msg) - 10) &&
	     EVP_DigestSignUpdate(b, msg + 10, sizeof(msg) - 10) &&
	     /* Final copies the context (dupctx) and may be repeated. */
	     EVP_DigestSignFinal(a, s1, &l1) && EVP_DigestSignFinal(b, s2, &l2);
	CHECK(ok, "%s: multi-part signing with a copied context", name);
	CHECK(ok && digest_verify(pub, "SHA256", 0, 0, s1, l1, msg,
				  sizeof(msg)) &&
	      digest_verify(pub, "SHA256", 0, 0, s2, l2, msg, sizeof(msg)),
	      "%s: both signatures verify", name);
	l1 = sizeof(s1);
	CHECK(ok && EVP_DigestSignFinal(a, s1, &l1) &&
	      digest_verify(pub, "SHA256", 0, 0, s1, l1, msg, sizeof(msg)),
	      "%s: a second Final on the same context", name);
	EVP_MD_CTX_free(a);
	EVP_MD_CTX_free(b);
}

static void test_decrypt(EVP_PKEY *key, EVP_PKEY *pub, int pad,
			 const char *md, const char *lab)
{
	unsigned char ct[512], pt[512];
	size_t ctlen = sizeof(ct), ptlen = sizeof(pt);
	EVP_PKEY_CTX *pc;
	int ok;

	pc = EVP_PKEY_CTX_new_from_pkey(NULL, pub, NULL);
	ok = pc && EVP_PKEY_encrypt_init(pc) == 1 &&
	     EVP_PKEY_CTX_set_rsa_padding(pc, pad) == 1 &&
	     (!md || (EVP_PKEY_CTX_set_rsa_oaep_md_name(pc, md, NULL) == 1 &&
		      EVP_PKEY_CTX_set_rsa_mgf1_md_name(pc, md, NULL) == 1)) &&
	     (!lab || EVP_PKEY_CTX_set0_rsa_oaep_label(
			      pc, OPENSSL_strdup(lab), strlen(lab)) == 1) &&
	     EVP_PKEY_encrypt(pc, ct, &ctlen, msg, sizeof(msg)) == 1;
	EVP_PKEY_CTX_free(pc);
	CHECK(ok, "encrypt for the chip key (pad %d %s)", pad, md ? md : "");
	pc = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
	ok = ok && pc && EVP_PKEY_decrypt_init(pc) == 1 &&
	     EVP_PKEY_CTX_set_rsa_padding(pc, pad) == 1 &&
	     (!md || (EVP_PKEY_CTX_set_rsa_oaep_md_name(pc, md, NULL) == 1 &&
		      EVP_PKEY_CTX_set_rsa_mgf1_md_name(pc, md, NULL) == 1)) &&
	     (!lab || EVP_PKEY_CTX_set0_rsa_oaep_label(
			      pc, OPENSSL_strdup(lab), strlen(lab)) == 1) &&
	     EVP_PKEY_decrypt(pc, pt, &ptlen, ct, ctlen) == 1;
	CHECK(ok && ptlen == sizeof(msg) && !memcmp(pt, msg, ptlen),
	      "decrypted on the chip (pad %d %s%s)", pad, md ? md : "",
	      lab ? " label" : "");
	if (ok) {
		ct[5] ^= 1;
		ptlen = sizeof(pt);
		CHECK(EVP_PKEY_decrypt(pc, pt, &ptlen, ct, ctlen) != 1,
		      "a damaged ciphertext is refused (pad %d)", pad);
	}
	EVP_PKEY_CTX_free(pc);
}

static X509 *self_signed(EVP_PKEY *key, const char *cn)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();

	if (!x || !n ||
	    !X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
					(const unsigned char *)cn, -1, -1, 0) ||
	    !X509_set_version(x, 2) ||
	    !ASN1_INTEGER_set(X509_get_serialNumber(x), 7) ||
	    !X509_set_subject_name(x, n) || !X509_set_issuer_name(x, n) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), 0) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), 3600) ||
	    !X509_set_pubkey(x, key) || !X509_sign(x, key, EVP_sha256())) {
		X509_free(x);
		x = NULL;
	}
	X509_NAME_free(n);
	return x;
}

static void test_cert(const char *name, EVP_PKEY *key, EVP_PKEY *pub,
		      EVP_PKEY *other, X509 **out)
{
	X509 *x = self_signed(key, name);
	X509_REQ *req = X509_REQ_new();

	CHECK(x != NULL, "%s: self-signed certificate made with X509_sign",
	      name);
	if (!x)
		return;
	CHECK(X509_verify(x, pub) == 1, "%s: certificate signature verifies",
	      name);
	CHECK(X509_check_private_key(x, key) == 1,
	      "%s: X509_check_private_key", name);
	CHECK(EVP_PKEY_eq(X509_get0_pubkey(x), key) == 1 &&
	      EVP_PKEY_eq(key, X509_get0_pubkey(x)) == 1,
	      "%s: EVP_PKEY_eq with the certificate's key", name);
	CHECK(EVP_PKEY_eq(key, other) != 1 &&
	      EVP_PKEY_eq(X509_get0_pubkey(x), other) != 1,
	      "%s: not equal to another chip key", name);
	CHECK(req && X509_REQ_set_pubkey(req, key) &&
	      X509_REQ_sign(req, key, EVP_sha384()) > 0 &&
	      X509_REQ_verify(req, pub) == 1,
	      "%s: CSR signed and verified", name);
	X509_REQ_free(req);
	*out = x;
}

static void test_cms(const char *name, EVP_PKEY *key, X509 *cert)
{
	BIO *in = BIO_new_mem_buf(msg, sizeof(msg));
	BIO *out = BIO_new(BIO_s_mem());
	X509_STORE *st = X509_STORE_new();
	CMS_ContentInfo *cms = in ? CMS_sign(cert, key, NULL, in,
					     CMS_BINARY) : NULL;

	CHECK(cms != NULL, "%s: CMS_sign", name);
	if (cms && st && X509_STORE_add_cert(st, cert))
		CHECK(CMS_verify(cms, NULL, st, NULL, out, CMS_BINARY) == 1,
		      "%s: CMS_verify", name);
	CMS_ContentInfo_free(cms);
	X509_STORE_free(st);
	BIO_free(in);
	BIO_free(out);
}

/* Moves TLS records between two in-memory endpoints. */
static int handshake(SSL *c, SSL *s)
{
	int rc, rs, done_c = 0, done_s = 0;

	for (int i = 0; i < 100 && !(done_c && done_s); i++) {
		if (!done_c) {
			rc = SSL_do_handshake(c);
			if (rc == 1)
				done_c = 1;
			else if (SSL_get_error(c, rc) != SSL_ERROR_WANT_READ)
				return 0;
		}
		if (!done_s) {
			rs = SSL_do_handshake(s);
			if (rs == 1)
				done_s = 1;
			else if (SSL_get_error(s, rs) != SSL_ERROR_WANT_READ)
				return 0;
		}
	}
	return done_c && done_s;
}

/* @ciphers: TLS 1.2 cipher list, NULL for the default. */
static void test_tls(const char *name, EVP_PKEY *key, X509 *cert,
		     int version, const char *ciphers)
{
	SSL_CTX *sc = SSL_CTX_new(TLS_server_method());
	SSL_CTX *cc = SSL_CTX_new(TLS_client_method());
	X509_STORE *st;
	SSL *s = NULL, *c = NULL;
	BIO *b1 = NULL, *b2 = NULL;
	int ok;

	ok = sc && cc && SSL_CTX_use_certificate(sc, cert) == 1 &&
	     SSL_CTX_use_PrivateKey(sc, key) == 1 &&
	     SSL_CTX_check_private_key(sc) == 1;
	CHECK(ok, "%s: SSL_CTX takes the chip key", name);
	if (!ok)
		goto out;
	SSL_CTX_set_min_proto_version(sc, version);
	SSL_CTX_set_max_proto_version(sc, version);
	if (ciphers && !SSL_CTX_set_cipher_list(sc, ciphers))
		goto out;
	st = SSL_CTX_get_cert_store(cc);
	X509_STORE_add_cert(st, cert);
	SSL_CTX_set_verify(cc, SSL_VERIFY_PEER, NULL);
	s = SSL_new(sc);
	c = SSL_new(cc);
	if (!s || !c || !BIO_new_bio_pair(&b1, 0, &b2, 0))
		goto out;
	SSL_set_bio(s, b1, b1);
	SSL_set_bio(c, b2, b2);
	SSL_set_accept_state(s);
	SSL_set_connect_state(c);
	ok = handshake(c, s);
	CHECK(ok && SSL_get_verify_result(c) == X509_V_OK,
	      "%s: TLS %s handshake with the chip key%s%s", name,
	      version == TLS1_3_VERSION ? "1.3" : "1.2",
	      ciphers ? ", cipher " : "", ciphers ? ciphers : "");
out:
	SSL_free(s);
	SSL_free(c);
	SSL_CTX_free(sc);
	SSL_CTX_free(cc);
}

struct thr {
	EVP_PKEY *key, *pub;
	int ok;
};

static void *signer(void *arg)
{
	struct thr *t = arg;

	t->ok = 0;
	for (int i = 0; i < 25; i++) {
		unsigned char sig[1024];
		size_t siglen = sizeof(sig);

		if (!digest_sign(t->key, "SHA256", 0, 0, sig, &siglen) ||
		    !digest_verify(t->pub, "SHA256", 0, 0, sig, siglen, msg,
				   sizeof(msg)))
			return NULL;
		t->ok++;
	}
	return NULL;
}

/* More threads than the provider's session pool (16) makes some wait. */
static void test_threads(EVP_PKEY **keys, EVP_PKEY **pubs, int nkeys,
			 int n)
{
	pthread_t th[32];
	struct thr t[32];
	int good = 0;

	for (int i = 0; i < n; i++) {
		t[i].key = keys[i % nkeys];
		t[i].pub = pubs[i % nkeys];
		if (pthread_create(&th[i], NULL, signer, &t[i]))
			t[i].ok = -1000;
	}
	for (int i = 0; i < n; i++) {
		if (t[i].ok != -1000)
			pthread_join(th[i], NULL);
		good += t[i].ok;
	}
	CHECK(good == n * 25, "%d threads x 25 signatures: %d good", n, good);
}

static void test_fork(EVP_PKEY *key, EVP_PKEY *pub)
{
	unsigned char sig[1024];
	size_t siglen = sizeof(sig);
	int status = -1;
	pid_t pid;

	/* The parent has used the chip (logged in, sessions) already. */
	pid = fork();
	if (pid == 0) {
		int ok = digest_sign(key, "SHA256", 0, 0, sig, &siglen) &&
			 digest_verify(pub, "SHA256", 0, 0, sig, siglen, msg,
				       sizeof(msg));

		if (!ok)
			ERR_print_errors_fp(stdout);
		siglen = sizeof(sig);
		ok = ok && digest_sign(key, "SHA384", 0, 0, sig, &siglen);
		fflush(stdout);
		_exit(ok ? 0 : 1);
	}
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid &&
	      WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "fork: the child signs (status %d)", status);
	CHECK(digest_sign(key, "SHA256", 0, 0, sig, &siglen) &&
	      digest_verify(pub, "SHA256", 0, 0, sig, siglen, msg,
			    sizeof(msg)),
	      "fork: the parent still signs");
}

/*
 * Software keys beside the chip's: generated, used for ECDH, signing and
 * RSA, written and read back.  With the documented configuration they
 * belong to the default provider; with bcchip loaded first (@first) they
 * may pass through bcchip's key management, and must work the same.
 */
/* fork() while other threads are signing: the children sign too. */
static void test_fork_busy(EVP_PKEY **keys, EVP_PKEY **pubs)
{
	pthread_t th[4];
	struct thr t[4];
	int good = 0, children = 0;

	for (int i = 0; i < 4; i++) {
		t[i].key = keys[i];
		t[i].pub = pubs[i];
		if (pthread_create(&th[i], NULL, signer, &t[i]))
			t[i].ok = -1000;
	}
	for (int i = 0; i < 3; i++) {
		unsigned char sig[1024];
		size_t siglen = sizeof(sig);
		int status = -1;
		pid_t pid = fork();

		if (pid == 0)
			_exit(digest_sign(keys[i], "SHA256", 0, 0, sig,
					  &siglen) &&
			      digest_verify(pubs[i], "SHA256", 0, 0, sig, siglen,
					    msg, sizeof(msg)) ? 0 : 1);
		if (pid > 0 && waitpid(pid, &status, 0) == pid &&
		    WIFEXITED(status) && WEXITSTATUS(status) == 0)
			children++;
	}
	for (int i = 0; i < 4; i++) {
		if (t[i].ok != -1000)
			pthread_join(th[i], NULL);
		good += t[i].ok;
	}
	CHECK(children == 3, "fork while 4 threads sign: %d of 3 children signed",
	      children);
	CHECK(good == 4 * 25, "the parent's threads: %d of 100 signatures",
	      good);
}

/*
 * A wrong PIN offered again and again (a misconfigured server under load)
 * reaches the chip once: the token does not lock (10 failures would).
 * In a child, whose login the parent's does not cover.
 */
static void test_wrong_pin(void)
{
	int status = -1;
	pid_t pid = fork();

	if (pid == 0) {
		int refused = 0;
		EVP_PKEY *k;

		for (int i = 0; i < 12; i++) {
			k = load_uri(uri_of("p256", "?pin-value=wrong-pin-0"));
			refused += k == NULL;
			EVP_PKEY_free(k);
		}
		ERR_clear_error();
		k = load_uri(uri_of("p256", NULL));
		if (!k)
			ERR_print_errors_fp(stdout);
		fflush(stdout);
		_exit(refused == 12 && k ? 0 : 1);
	}
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid &&
	      WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "a wrong PIN 12 times, then the right one: not locked (%d)",
	      status);
}

/*
 * The emulator restarted (a chip reset, as the library sees it): the
 * provider logs in again by itself.  $BCPROV_TEST_RESTART does it.
 */
static void test_restart(EVP_PKEY *key, EVP_PKEY *pub)
{
	const char *cmd = getenv("BCPROV_TEST_RESTART");
	unsigned char sig[1024];
	size_t siglen = sizeof(sig);

	if (!cmd || !*cmd) {
		skipped++;
		return;
	}
	CHECK(system(cmd) == 0, "emulator restarted");
	CHECK(digest_sign(key, "SHA256", 0, 0, sig, &siglen) &&
	      digest_verify(pub, "SHA256", 0, 0, sig, siglen, msg,
			    sizeof(msg)),
	      "signing again after the emulator restarted");
}

static void test_generic(int first)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_PKEY *k2 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_PKEY *r = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	EVP_PKEY *back = NULL;
	unsigned char sig[512], s1[64], s2[64];
	size_t siglen = sizeof(sig), l1 = sizeof(s1), l2 = sizeof(s2);
	EVP_PKEY_CTX *pc;
	BIO *b;

	CHECK(k && k2 && (first || !strcmp(prov_name(k), "default")),
	      "generic EC key generation (%s)", k ? prov_name(k) : "failed");
	CHECK(r && (first || !strcmp(prov_name(r), "default")),
	      "generic RSA key generation (%s)", r ? prov_name(r) : "failed");
	if (!k || !k2 || !r)
		goto out;
	CHECK(digest_sign(k, "SHA256", 0, 0, sig, &siglen) &&
	      digest_verify(k, "SHA256", 0, 0, sig, siglen, msg, sizeof(msg)),
	      "a software EC key signs");
	siglen = sizeof(sig);
	CHECK(digest_sign(r, "SHA256", RSA_PKCS1_PSS_PADDING,
			  RSA_PSS_SALTLEN_DIGEST, sig, &siglen) &&
	      digest_verify(r, "SHA256", RSA_PKCS1_PSS_PADDING,
			    RSA_PSS_SALTLEN_AUTO, sig, siglen, msg, sizeof(msg)),
	      "a software RSA key signs");
	test_decrypt(r, r, RSA_PKCS1_OAEP_PADDING, "SHA256", NULL);
	pc = EVP_PKEY_CTX_new_from_pkey(NULL, k, NULL);
	CHECK(pc && EVP_PKEY_derive_init(pc) == 1 &&
	      EVP_PKEY_derive_set_peer(pc, k2) == 1 &&
	      EVP_PKEY_derive(pc, s1, &l1) == 1, "ECDH k with k2");
	EVP_PKEY_CTX_free(pc);
	pc = EVP_PKEY_CTX_new_from_pkey(NULL, k2, NULL);
	CHECK(pc && EVP_PKEY_derive_init(pc) == 1 &&
	      EVP_PKEY_derive_set_peer(pc, k) == 1 &&
	      EVP_PKEY_derive(pc, s2, &l2) == 1 && l1 == l2 &&
	      !memcmp(s1, s2, l1), "ECDH k2 with k: the same secret");
	EVP_PKEY_CTX_free(pc);
	/* Parameters as text, the way "openssl genpkey -pkeyopt" sets them. */
	pc = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	back = NULL;
	CHECK(pc && EVP_PKEY_keygen_init(pc) == 1 &&
	      EVP_PKEY_CTX_ctrl_str(pc, "ec_paramgen_curve", "P-384") > 0 &&
	      EVP_PKEY_keygen(pc, &back) == 1 && EVP_PKEY_get_bits(back) == 384,
	      "EC key generation with a curve given as text");
	EVP_PKEY_CTX_free(pc);
	EVP_PKEY_free(back);
	back = NULL;
	b = BIO_new(BIO_s_mem());
	CHECK(b && PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL) &&
	      (back = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL)) &&
	      EVP_PKEY_eq(back, k) == 1,
	      "a software key written as PEM and read back");
	BIO_free(b);
	EVP_PKEY_free(back);
out:
	EVP_PKEY_free(k);
	EVP_PKEY_free(k2);
	EVP_PKEY_free(r);
}

/* A key reference file, alone or after a certificate (HAProxy's bundle). */
static void test_pem_ref(const char *name, const char *object, EVP_PKEY *pub,
			 X509 *cert)
{
	char path[512];
	FILE *f;
	BIO *b;
	EVP_PKEY *k = NULL;
	SSL_CTX *sc;
	int rc;

	snprintf(path, sizeof(path), "%s/%s.ref.pem", scratch, object);
	f = fopen(path, "w");
	rc = f ? bc_keyref_write_pem(f, uri_of(object, NULL)) : -1;
	if (f && cert)
		PEM_write_X509(f, cert);
	if (f)
		fclose(f);
	CHECK(rc == 0, "%s: key reference file written", name);
	b = BIO_new_file(path, "r");
	k = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	CHECK(k && !strcmp(prov_name(k), "bcchip") && EVP_PKEY_eq(k, pub) == 1,
	      "%s: PEM_read_bio_PrivateKey of the reference gives the chip key",
	      name);
	if (k) {
		unsigned char sig[1024];
		size_t siglen = sizeof(sig);

		CHECK(digest_sign(k, "SHA256", 0, 0, sig, &siglen) &&
		      digest_verify(pub, "SHA256", 0, 0, sig, siglen, msg,
				    sizeof(msg)),
		      "%s: the key from the reference file signs", name);
	}
	EVP_PKEY_free(k);
	if (!cert)
		return;
	sc = SSL_CTX_new(TLS_server_method());
	CHECK(sc && SSL_CTX_use_certificate(sc, cert) == 1 &&
	      SSL_CTX_use_PrivateKey_file(sc, path, SSL_FILETYPE_PEM) == 1 &&
	      SSL_CTX_check_private_key(sc) == 1,
	      "%s: SSL_CTX_use_PrivateKey_file of a certificate+reference bundle",
	      name);
	SSL_CTX_free(sc);
}

/* Certificates the run script stored on the token beside the keys. */
static void test_token_cert(const char *object, EVP_PKEY *key)
{
	char uri[600];
	OSSL_STORE_CTX *st;
	X509 *x = NULL;

	snprintf(uri, sizeof(uri), "%s", uri_of(object, ";type=cert"));
	st = OSSL_STORE_open(uri, NULL, NULL, NULL, NULL);
	while (st && !x && !OSSL_STORE_eof(st)) {
		OSSL_STORE_INFO *info = OSSL_STORE_load(st);

		if (!info)
			break;
		if (OSSL_STORE_INFO_get_type(info) == OSSL_STORE_INFO_CERT)
			x = OSSL_STORE_INFO_get1_CERT(info);
		OSSL_STORE_INFO_free(info);
	}
	OSSL_STORE_close(st);
	CHECK(x != NULL, "%s: certificate loaded from the token", object);
	CHECK(x && key && X509_check_private_key(x, key) == 1,
	      "%s: it matches the chip key", object);
	X509_free(x);
}

static void test_errors(void)
{
	unsigned long e;
	char buf[256];

	CHECK(load_uri(uri_of("nonexistent", NULL)) == NULL,
	      "no key for an unknown object");
	ERR_clear_error();
	load_uri(uri_of("nonexistent", NULL));
	e = ERR_peek_last_error();
	ERR_error_string_n(e, buf, sizeof(buf));
	CHECK(strstr(buf, "no such key") != NULL,
	      "the error says why: %s", buf);
	CHECK(load_uri("pkcs11:token=no%20such%20token;object=p256") == NULL,
	      "no key on an unknown token");
}

int main(int argc, char **argv)
{
	static const char *const ec[] = { "p256", "p384", "p521" };
	static const char *const ecmd[] = { "SHA256", "SHA384", "SHA512" };
	EVP_PKEY *keys[4] = { 0 }, *pubs[4] = { 0 };
	X509 *certs[4] = { 0 };
	int first;

	if (argc != 3 && argc != 4) {
		fprintf(stderr, "usage: %s TOKEN_LABEL SCRATCH_DIR [first]\n",
			argv[0]);
		return 2;
	}
	first = argc == 4 && !strcmp(argv[3], "first");
	label = argv[1];
	scratch = argv[2];
	setvbuf(stdout, NULL, _IOLBF, 0);

	CHECK(OSSL_PROVIDER_available(NULL, "bcchip"),
	      "openssl.cnf loaded the bcchip provider");
	CHECK(OSSL_PROVIDER_available(NULL, "default"),
	      "the default provider is there too");

	for (int i = 0; i < 4; i++) {
		const char *obj = i < 3 ? ec[i] : "rsa2048";

		keys[i] = load_uri(uri_of(obj, NULL));
		CHECK(keys[i] != NULL, "OSSL_STORE loads %s", obj);
		if (!keys[i])
			continue;
		CHECK(!strcmp(prov_name(keys[i]), "bcchip"),
		      "%s belongs to bcchip (%s)", obj, prov_name(keys[i]));
		CHECK(EVP_PKEY_is_a(keys[i], i < 3 ? "EC" : "RSA"),
		      "%s has the right type", obj);
		pubs[i] = public_copy(keys[i]);
		CHECK(pubs[i] && !strcmp(prov_name(pubs[i]), "default"),
		      "%s: public half exported to the default provider", obj);
		CHECK(EVP_PKEY_get_bits(keys[i]) ==
		      (i == 0 ? 256 : i == 1 ? 384 : i == 2 ? 521 : 2048),
		      "%s: %d bits", obj, EVP_PKEY_get_bits(keys[i]));
	}
	for (int i = 0; i < 3; i++) {
		if (!keys[i] || !pubs[i])
			continue;
		test_sign(ec[i], keys[i], pubs[i], ecmd[i], 0, 0);
		test_sign(ec[i], keys[i], pubs[i], "SHA256", 0, 0);
		test_dup(ec[i], keys[i], pubs[i]);
	}
	if (keys[3] && pubs[3]) {
		test_sign("rsa pkcs1", keys[3], pubs[3], "SHA256",
			  RSA_PKCS1_PADDING, 0);
		test_sign("rsa pkcs1", keys[3], pubs[3], "SHA512",
			  RSA_PKCS1_PADDING, 0);
		test_sign("rsa pss", keys[3], pubs[3], "SHA256",
			  RSA_PKCS1_PSS_PADDING, RSA_PSS_SALTLEN_DIGEST);
		test_sign("rsa pss max", keys[3], pubs[3], "SHA256",
			  RSA_PKCS1_PSS_PADDING, RSA_PSS_SALTLEN_MAX);
		test_dup("rsa", keys[3], pubs[3]);
		test_decrypt(keys[3], pubs[3], RSA_PKCS1_OAEP_PADDING, NULL,
			     NULL);
		test_decrypt(keys[3], pubs[3], RSA_PKCS1_OAEP_PADDING,
			     "SHA256", NULL);
		test_decrypt(keys[3], pubs[3], RSA_PKCS1_OAEP_PADDING,
			     "SHA256", "a label");
		test_decrypt(keys[3], pubs[3], RSA_PKCS1_PADDING, NULL, NULL);
	}
	for (int i = 0; i < 4; i++) {
		const char *name = i < 3 ? ec[i] : "rsa2048";

		if (!keys[i] || !pubs[i])
			continue;
		test_cert(name, keys[i], pubs[i], keys[(i + 1) % 4], &certs[i]);
		if (!certs[i])
			continue;
		test_cms(name, keys[i], certs[i]);
		test_pem_ref(name, name, pubs[i], i == 1 ? NULL : certs[i]);
		if (i == 0 || i == 1 || i == 3) {
			test_tls(name, keys[i], certs[i], TLS1_2_VERSION,
				 NULL);
			test_tls(name, keys[i], certs[i], TLS1_3_VERSION,
				 NULL);
		}
	}
	/* The TLS RSA key exchange: the premaster secret decrypted on the chip. */
	if (certs[3])
		test_tls("rsa2048", keys[3], certs[3], TLS1_2_VERSION,
			 "AES128-GCM-SHA256");
	if (keys[0] && keys[3]) {
		test_fork(keys[0], pubs[0]);
		test_fork(keys[3], pubs[3]);
		test_threads(keys, pubs, 4, 8);
		test_threads(keys, pubs, 4, 32);
		test_fork_busy(keys, pubs);
		test_wrong_pin();
		test_restart(keys[3], pubs[3]);
	}
	test_token_cert("p256", keys[0]);
	test_token_cert("p384", keys[1]);
	test_generic(first);
	test_errors();

	for (int i = 0; i < 4; i++) {
		X509_free(certs[i]);
		EVP_PKEY_free(keys[i]);
		EVP_PKEY_free(pubs[i]);
	}
	if (skipped)
		printf("%d passed, %d failed, %d skipped\n", passed, failed,
		       skipped);
	else
		printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
