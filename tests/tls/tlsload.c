// SPDX-License-Identifier: Apache-2.0
/*
 * tlsload: a fixed number of full TLS handshakes (no session resumption)
 * against one server, from many threads at once, each holding one
 * connection at a time; every handshake verifies the server's chain and
 * name, then one HTTP/1.0 request is answered.  Prints the counts and the
 * handshakes per second; exits 0 only when none failed.
 *
 *   tlsload -p PORT -c CAFILE [-H HOST] [-N NAME] [-n TOTAL] [-t THREADS]
 *           [-V 1.2|1.3]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

/* Errors printed in full; the rest are only counted. */
#define MAX_REPORTED 5

struct load {
	SSL_CTX *ctx;
	struct sockaddr_in addr;
	const char *name;
	int total;
	atomic_int next;
	atomic_int ok;
	atomic_int failed;
	atomic_int reported;
	/* protocol of the first successful handshake; written once */
	atomic_int proto;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void report(struct load *l, int n, const char *what)
{
	unsigned long e;
	char buf[256];

	if (atomic_fetch_add(&l->reported, 1) >= MAX_REPORTED) {
		ERR_clear_error();
		return;
	}
	e = ERR_get_error();
	if (e) {
		ERR_error_string_n(e, buf, sizeof(buf));
		fprintf(stderr, "tlsload: handshake %d: %s: %s\n", n, what, buf);
	} else {
		fprintf(stderr, "tlsload: handshake %d: %s: %s\n", n, what,
			errno ? strerror(errno) : "failed");
	}
	ERR_clear_error();
}

/* One connection: handshake, request, whole answer.  0 when all worked. */
static int one(struct load *l, int n)
{
	static const char req[] = "GET / HTTP/1.0\r\nHost: localhost\r\n\r\n";
	char buf[4096];
	size_t got = 0;
	int fd, rc = -1, r, one_ = 1;
	SSL *ssl = NULL;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		report(l, n, "socket");
		return -1;
	}
	/* the request must not wait for Nagle behind the handshake */
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one_, sizeof(one_))) {
		report(l, n, "setsockopt");
		goto out;
	}
	if (connect(fd, (struct sockaddr *)&l->addr, sizeof(l->addr))) {
		report(l, n, "connect");
		goto out;
	}
	ssl = SSL_new(l->ctx);
	if (!ssl || !SSL_set_fd(ssl, fd) ||
	    !SSL_set_tlsext_host_name(ssl, l->name) ||
	    !SSL_set1_host(ssl, l->name)) {
		report(l, n, "SSL set-up");
		goto out;
	}
	errno = 0;
	if (SSL_connect(ssl) != 1) {
		report(l, n, "SSL_connect");
		goto out;
	}
	if (SSL_get_verify_result(ssl) != X509_V_OK) {
		report(l, n, "verification");
		goto out;
	}
	if (SSL_write(ssl, req, sizeof(req) - 1) != (int)sizeof(req) - 1) {
		report(l, n, "SSL_write");
		goto out;
	}
	for (;;) {
		r = SSL_read(ssl, buf + got, sizeof(buf) - 1 - got);
		if (r <= 0)
			break;
		got += r;
		if (got == sizeof(buf) - 1)
			break;
	}
	buf[got] = '\0';
	if (strncmp(buf, "HTTP/1.1 200", 12) && strncmp(buf, "HTTP/1.0 200", 12)) {
		errno = 0;
		report(l, n, "no 200 answer");
		goto out;
	}
	{
		int expect = 0;

		atomic_compare_exchange_strong(&l->proto, &expect,
					       SSL_version(ssl));
	}
	rc = 0;
out:
	if (ssl) {
		SSL_shutdown(ssl);
		SSL_free(ssl);
	}
	close(fd);
	return rc;
}

static void *worker(void *arg)
{
	struct load *l = arg;
	int n;

	while ((n = atomic_fetch_add(&l->next, 1)) < l->total) {
		if (one(l, n))
			atomic_fetch_add(&l->failed, 1);
		else
			atomic_fetch_add(&l->ok, 1);
	}
	ERR_clear_error();
	return NULL;
}

static void usage(void)
{
	fprintf(stderr, "usage: tlsload -p PORT -c CAFILE [-H HOST] [-N NAME] "
		"[-n TOTAL] [-t THREADS] [-V 1.2|1.3]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *host = "127.0.0.1", *ca = NULL, *ver = NULL;
	int port = 0, threads = 100, opt, i, started = 0, rc = 0;
	struct load l = { .name = "localhost", .total = 1000 };
	pthread_attr_t attr;
	pthread_t *tids;
	double t0, dt;

	while ((opt = getopt(argc, argv, "p:c:H:N:n:t:V:")) != -1) {
		switch (opt) {
		case 'p': port = atoi(optarg); break;
		case 'c': ca = optarg; break;
		case 'H': host = optarg; break;
		case 'N': l.name = optarg; break;
		case 'n': l.total = atoi(optarg); break;
		case 't': threads = atoi(optarg); break;
		case 'V': ver = optarg; break;
		default: usage();
		}
	}
	if (port <= 0 || port > 65535 || !ca || l.total <= 0 || threads <= 0)
		usage();
	l.addr.sin_family = AF_INET;
	l.addr.sin_port = htons(port);
	if (inet_pton(AF_INET, host, &l.addr.sin_addr) != 1) {
		fprintf(stderr, "tlsload: bad address %s\n", host);
		return 2;
	}

	l.ctx = SSL_CTX_new(TLS_client_method());
	if (!l.ctx || SSL_CTX_load_verify_locations(l.ctx, ca, NULL) != 1) {
		fprintf(stderr, "tlsload: cannot load %s\n", ca);
		ERR_print_errors_fp(stderr);
		return 2;
	}
	SSL_CTX_set_verify(l.ctx, SSL_VERIFY_PEER, NULL);
	/* every handshake a full one: the server signs each time */
	SSL_CTX_set_session_cache_mode(l.ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_options(l.ctx, SSL_OP_NO_TICKET);
	if (ver) {
		int v = !strcmp(ver, "1.2") ? TLS1_2_VERSION :
			!strcmp(ver, "1.3") ? TLS1_3_VERSION : 0;

		if (!v)
			usage();
		if (!SSL_CTX_set_min_proto_version(l.ctx, v) ||
		    !SSL_CTX_set_max_proto_version(l.ctx, v)) {
			fprintf(stderr, "tlsload: cannot set TLS %s\n", ver);
			return 2;
		}
	}

	tids = calloc(threads, sizeof(*tids));
	if (!tids || pthread_attr_init(&attr)) {
		fprintf(stderr, "tlsload: out of memory\n");
		return 2;
	}
	/* hundreds of threads: keep their stacks small */
	if (pthread_attr_setstacksize(&attr, 256 * 1024)) {
		fprintf(stderr, "tlsload: pthread_attr_setstacksize failed\n");
		return 2;
	}
	t0 = now();
	for (i = 0; i < threads; i++) {
		int err = pthread_create(&tids[i], &attr, worker, &l);

		if (err) {
			fprintf(stderr, "tlsload: thread %d: %s\n", i, strerror(err));
			rc = 2;
			break;
		}
		started++;
	}
	for (i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	dt = now() - t0;
	pthread_attr_destroy(&attr);
	free(tids);

	{
		int proto = atomic_load(&l.proto);
		const char *pname = proto == TLS1_3_VERSION ? "TLSv1.3" :
				    proto == TLS1_2_VERSION ? "TLSv1.2" : "-";

		printf("tlsload: %d handshakes, %d ok, %d failed, %d threads, "
		       "%.2f s, %.1f handshakes/s, %s\n",
		       l.total, atomic_load(&l.ok), atomic_load(&l.failed),
		       started, dt, atomic_load(&l.ok) / dt, pname);
	}
	SSL_CTX_free(l.ctx);
	if (rc)
		return rc;
	return atomic_load(&l.failed) || atomic_load(&l.ok) != l.total;
}
