// SPDX-License-Identifier: GPL-2.0
/*
 * Host tests of bcchip-emu: runs the real binary in a temporary directory
 * and talks to it over its socket.  usage: test_emu PATH-TO-bcchip-emu
 */
#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "emutest.h"

#define MAX_FRAME	32768u
#define MAX_RANDOM	(MAX_FRAME - BCFW_HDR_SIZE)

static int sessions_in_use(const struct emu *e)
{
	struct bcfw_info info;
	int fd = conn_open(e), n = -1;

	if (fd >= 0 && get_info(fd, &info))
		n = (int)le32toh(info.sessions_in_use);
	if (fd >= 0)
		close(fd);
	return n;
}

static uint32_t status_of(int fd, uint32_t client, uint16_t op,
			  uint32_t session, const void *body, uint32_t blen)
{
	struct resp r;
	uint32_t st;

	xact(fd, client, op, session, body, blen, &r);
	st = r.err ? 0xdead0000u | (uint32_t)(-r.err) : r.status;
	resp_free(&r);
	return st;
}

static uint32_t session_open(int fd, uint32_t client, uint32_t flags,
			     uint32_t *handle)
{
	struct bcfw_session_open_req req = { .flags = htole32(flags) };
	struct bcfw_session_open_resp out;
	struct resp r;
	uint32_t st;

	*handle = 0;
	xact(fd, client, BCFW_OP_SESSION_OPEN, 0, &req, sizeof(req), &r);
	st = r.err ? 0xdead0000u : r.status;
	if (!st && r.blen == sizeof(out)) {
		memcpy(&out, r.body, sizeof(out));
		*handle = le32toh(out.session);
	} else if (!st) {
		st = 0xdead0001u;
	}
	resp_free(&r);
	return st;
}

/* True when the emulator closed this connection (EOF within 5 s). */
static bool closed_by_peer(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char buf[256];

	for (;;) {
		ssize_t n;

		if (poll(&p, 1, 5000) <= 0)
			return false;
		n = read(fd, buf, sizeof(buf));
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return true;
		if (n < 0)
			return false;
	}
}

static bool padded_eq(const uint8_t *f, size_t n, const char *s)
{
	size_t l = strlen(s);

	if (l > n || memcmp(f, s, l))
		return false;
	for (size_t i = l; i < n; i++)
		if (f[i] != ' ')
			return false;
	return true;
}

static void read_identity(const struct bcfw_info *in, char *serial,
			  char *label)
{
	size_t n = BCFW_LABEL_LEN;

	memcpy(serial, in->serial, BCFW_SERIAL_LEN);
	serial[BCFW_SERIAL_LEN] = '\0';
	memcpy(label, in->label, BCFW_LABEL_LEN);
	while (n && label[n - 1] == ' ')
		n--;
	label[n] = '\0';
}

/* ---- tests ---- */

static void test_info(struct emu *e)
{
	struct bcfw_info in;
	int fd = conn_open(e);
	char serial[17], label[33], want[33];
	bool hex = true;

	check(fd >= 0, "connect");
	check(get_info(fd, &in), "GET_INFO answers OK with bcfw_info");
	read_identity(&in, serial, label);
	for (int i = 0; i < 16; i++)
		hex &= (serial[i] >= '0' && serial[i] <= '9') ||
		       (serial[i] >= 'A' && serial[i] <= 'F');
	check(hex, "serial is 16 upper hex digits: %s", serial);
	snprintf(want, sizeof(want), "Bastionchip %s", serial + 12);
	check(!strcmp(label, want), "default label '%s' (want '%s')", label,
	      want);
	check(padded_eq(in.model, sizeof(in.model), "BC-1 emulated"), "model");
	check(padded_eq(in.manufacturer, sizeof(in.manufacturer),
			"Bastionchip"), "manufacturer");
	check(in.fw_major == 1 && in.fw_minor == 0 && in.hw_major == 1 &&
	      in.hw_minor == 0, "fw/hw versions 1.0");
	check(le32toh(in.max_sessions) == 64, "max_sessions 64");
	check(le32toh(in.sessions_in_use) == 0, "no sessions in use");
	check(le32toh(in.max_objects) == 4096, "max_objects");
	check(le32toh(in.objects_in_use) == 0, "objects_in_use");
	check(le32toh(in.max_frame) == MAX_FRAME, "max_frame");
	check(le32toh(in.max_random) == MAX_RANDOM, "max_random");
	bool zero = true;

	for (int i = 0; i < 9; i++)
		zero &= in.reserved[i] == 0;
	check(zero, "info reserved zero");
	check(status_of(fd, 1, BCFW_OP_GET_INFO, 0, "x", 1) == BCFW_S_BAD_ARGS,
	      "GET_INFO with a body -> BAD_ARGS");
	check(status_of(fd, 1, 0x7777, 0, NULL, 0) == BCFW_S_BAD_OPCODE,
	      "unknown opcode -> BAD_OPCODE");
	check(status_of(fd, 1, 0x8fff, 0, NULL, 0) == BCFW_S_BAD_OPCODE,
	      "unknown admin opcode -> BAD_OPCODE");
	check(status_of(fd, 1, 0x4002, 0, NULL, 0) == BCFW_S_BAD_OPCODE,
	      "unknown host opcode -> BAD_OPCODE");

	struct resp r;

	xact(fd, 1, BCFW_OP_ECHO, 0x1234, "ab", 2, &r);
	check(!r.err && r.opcode == BCFW_OP_ECHO && r.session == 0x1234,
	      "response echoes opcode and session");
	resp_free(&r);
	close(fd);
}

static void test_identity(void)
{
	const char *lab[] = { "--label", "My Token", NULL };
	const char *lab2[] = { "--label", "Other", NULL };
	struct emu a, b;
	struct bcfw_info in;
	char s1[17], l1[33], s2[17], l2[33], path[512];
	int fd;

	check(emu_start(&a, "ida", lab) == 0, "start with --label");
	fd = conn_open(&a);
	check(fd >= 0 && get_info(fd, &in), "info (labelled)");
	read_identity(&in, s1, l1);
	check(!strcmp(l1, "My Token"), "label from --label: '%s'", l1);
	close(fd);
	check(emu_stop(&a) == 0, "clean exit on SIGTERM");
	check(access(a.sock, F_OK) != 0, "socket unlinked at exit");

	check(emu_start(&a, "ida", lab2) == 0, "restart");
	fd = conn_open(&a);
	check(fd >= 0 && get_info(fd, &in), "info after restart");
	read_identity(&in, s2, l2);
	check(!strcmp(s1, s2), "serial persists (%s, %s)", s1, s2);
	check(!strcmp(l2, "My Token"), "label persists, --label ignored: '%s'",
	      l2);
	close(fd);
	check(emu_stop(&a) == 0, "clean exit");

	check(emu_start(&b, "idb", NULL) == 0, "second emulator");
	fd = conn_open(&b);
	check(fd >= 0 && get_info(fd, &in), "info of the second");
	read_identity(&in, s2, l2);
	check(strcmp(s1, s2) != 0, "two emulators, two serials");
	close(fd);
	check(emu_stop(&b) == 0, "clean exit");

	/* A damaged identity must stop the emulator, not be regenerated. */
	snprintf(path, sizeof(path), "%s/identity", b.state);
	FILE *f = fopen(path, "w");

	check(f != NULL, "open identity");
	if (f) {
		fputs("serial=XYZ\nlabel=x\n", f);
		fclose(f);
	}
	check(emu_start(&b, "idb", NULL) != 0, "corrupt identity refused");
	f = fopen(path, "r");
	if (f) {
		char buf[64] = "";

		check(fgets(buf, sizeof(buf), f) &&
		      !strcmp(buf, "serial=XYZ\n"),
		      "corrupt identity left alone");
		fclose(f);
	}
	f = fopen(b.log, "r");
	if (f) {
		char buf[512];
		bool said = false;

		while (fgets(buf, sizeof(buf), f))
			said |= strstr(buf, "corrupt") != NULL;
		fclose(f);
		check(said, "corrupt identity reported in the log");
	}
	check(emu_start(&b, "bad", (const char *[]){ "--label",
		"this label is far too long to fit 32", NULL }) != 0,
	      "too long --label refused");
	check(emu_start(&b, "bad", (const char *[]){ "--engines", "0",
		NULL }) != 0, "--engines 0 refused");
}

static void test_echo(struct emu *e)
{
	static const uint32_t sizes[] = { 0, 1, 7, 100, 4096, 20000,
					  MAX_FRAME - BCFW_HDR_SIZE };
	uint8_t *body = malloc(MAX_FRAME + 16);
	int fd = conn_open(e);
	struct resp r;

	for (uint32_t i = 0; i < MAX_FRAME + 16; i++)
		body[i] = (uint8_t)(i * 7 + 3);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		xact(fd, 1, BCFW_OP_ECHO, 0, body, sizes[i], &r);
		check(!r.err && r.status == 0 && r.blen == sizes[i] &&
		      (!sizes[i] || !memcmp(r.body, body, sizes[i])),
		      "echo %u bytes", sizes[i]);
		resp_free(&r);
	}
	xact(fd, 1, BCFW_OP_ECHO, 0, body, MAX_FRAME - BCFW_HDR_SIZE + 1, &r);
	check(!r.err && r.status == BCFW_S_BAD_FRAME && r.blen == 0,
	      "echo one byte over max_frame -> BAD_FRAME");
	resp_free(&r);
	free(body);
	close(fd);
}

static void test_random(struct emu *e)
{
	static const uint32_t lens[] = { 1, 2, 32, 1000, MAX_RANDOM };
	int fd = conn_open(e);
	struct bcfw_random_req req = { 0 };
	struct resp r, r2;

	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		req.length = htole32(lens[i]);
		xact(fd, 1, BCFW_OP_RANDOM, 0, &req, sizeof(req), &r);
		check(!r.err && r.status == 0 && r.blen == lens[i],
		      "random %u bytes", lens[i]);
		resp_free(&r);
	}
	req.length = htole32(64);
	xact(fd, 1, BCFW_OP_RANDOM, 0, &req, sizeof(req), &r);
	xact(fd, 1, BCFW_OP_RANDOM, 0, &req, sizeof(req), &r2);
	check(!r.err && !r2.err && r.blen == 64 && r2.blen == 64 &&
	      memcmp(r.body, r2.body, 64) != 0, "two randoms differ");
	resp_free(&r);
	resp_free(&r2);
	req.length = htole32(MAX_RANDOM);
	xact(fd, 1, BCFW_OP_RANDOM, 0, &req, sizeof(req), &r);
	if (!r.err && r.blen == MAX_RANDOM) {
		unsigned int ones = 0;

		for (uint32_t i = 0; i < MAX_RANDOM; i++)
			ones += (unsigned int)__builtin_popcount(r.body[i]);
		/* 262k bits: anything this far off half is not random. */
		check(ones > MAX_RANDOM * 4 - 3000 &&
		      ones < MAX_RANDOM * 4 + 3000, "random bits balanced");
	}
	resp_free(&r);

	req.length = 0;
	check(status_of(fd, 1, BCFW_OP_RANDOM, 0, &req, sizeof(req)) ==
	      BCFW_S_BAD_ARGS, "random 0 -> BAD_ARGS");
	req.length = htole32(MAX_RANDOM + 1);
	check(status_of(fd, 1, BCFW_OP_RANDOM, 0, &req, sizeof(req)) ==
	      BCFW_S_BAD_ARGS, "random max+1 -> BAD_ARGS");
	req.length = htole32(0xffffffffu);
	check(status_of(fd, 1, BCFW_OP_RANDOM, 0, &req, sizeof(req)) ==
	      BCFW_S_BAD_ARGS, "random 4G -> BAD_ARGS");
	req.length = htole32(8);
	req.reserved = htole32(1);
	check(status_of(fd, 1, BCFW_OP_RANDOM, 0, &req, sizeof(req)) ==
	      BCFW_S_BAD_ARGS, "random reserved -> BAD_ARGS");
	check(status_of(fd, 1, BCFW_OP_RANDOM, 0, &req, 4) == BCFW_S_BAD_ARGS,
	      "random short body -> BAD_ARGS");
	check(status_of(fd, 1, BCFW_OP_RANDOM, 0, NULL, 0) == BCFW_S_BAD_ARGS,
	      "random no body -> BAD_ARGS");
	close(fd);
}

/* Sends a header-mangled frame; expects an empty-bodied error answer. */
static void bad_frame(int fd, const char *what, size_t off, const void *val,
		      size_t vlen, uint32_t want)
{
	uint8_t *f = frame(BCFW_OP_ECHO, 5, "abcd", 4);
	struct resp r;

	memcpy(f + off, val, vlen);
	xact_raw(fd, 1, f, BCFW_HDR_SIZE + 4, &r);
	check(!r.err && r.status == want && r.blen == 0,
	      "%s -> status %u (got err %d status %u)", what, want, r.err,
	      r.status);
	resp_free(&r);
	free(f);
}

static void test_bad_frames(struct emu *e)
{
	int fd = conn_open(e);
	uint32_t v32;
	uint8_t v8;
	struct resp r;
	struct bcfw_info in;
	unsigned int answered = 0, n_fuzz = 600;

	v32 = htole32(0x12345678);
	bad_frame(fd, "bad magic", 0, &v32, 4, BCFW_S_BAD_FRAME);
	v8 = 2;
	bad_frame(fd, "version 2", 4, &v8, 1, BCFW_S_BAD_VERSION);
	v8 = 0;
	bad_frame(fd, "version 0", 4, &v8, 1, BCFW_S_BAD_VERSION);
	v8 = 1;
	bad_frame(fd, "flags 1", 5, &v8, 1, BCFW_S_BAD_FRAME);
	v32 = htole32(BCFW_HDR_SIZE + 5);
	bad_frame(fd, "length too big", 8, &v32, 4, BCFW_S_BAD_FRAME);
	v32 = htole32(BCFW_HDR_SIZE + 3);
	bad_frame(fd, "length too small", 8, &v32, 4, BCFW_S_BAD_FRAME);
	v32 = htole32(3);
	bad_frame(fd, "length below header", 8, &v32, 4, BCFW_S_BAD_FRAME);
	v32 = htole32(1);
	bad_frame(fd, "status set", 16, &v32, 4, BCFW_S_BAD_FRAME);
	bad_frame(fd, "reserved set", 20, &v32, 4, BCFW_S_BAD_FRAME);

	/* Shorter than a header: no frame to answer with. */
	for (uint32_t n = 0; n < BCFW_HDR_SIZE; n += 5) {
		uint8_t junk[BCFW_HDR_SIZE] = { 0x42 };

		xact_raw(fd, 1, junk, n, &r);
		check(r.err == -11 && r.env_status == 1,
		      "%u-byte payload -> envelope status 1 (err %d)", n,
		      r.err);
		resp_free(&r);
	}

	/* Bigger than max_frame, but within the envelope limit. */
	uint32_t big = 200000;
	uint8_t *f = calloc(1, big);
	struct bcfw_hdr h = {
		.magic = htole32(BCFW_MAGIC), .version = 1,
		.opcode = htole16(BCFW_OP_ECHO), .length = htole32(big),
	};

	memcpy(f, &h, sizeof(h));
	xact_raw(fd, 1, f, big, &r);
	check(!r.err && r.status == BCFW_S_BAD_FRAME && r.blen == 0,
	      "oversized frame -> BAD_FRAME");
	resp_free(&r);
	free(f);

	/* Fuzz: random headers, mutated good ones, random lengths. */
	srand(12345);
	for (unsigned int i = 0; i < n_fuzz; i++) {
		uint32_t len = (uint32_t)(rand() % 80);
		uint8_t buf[80];

		if (i % 2) {
			uint8_t *g = frame((uint16_t)(rand() & 0xffff),
					   (uint32_t)rand(), NULL, 0);

			memcpy(buf, g, BCFW_HDR_SIZE);
			free(g);
			for (uint32_t k = BCFW_HDR_SIZE; k < sizeof(buf); k++)
				buf[k] = (uint8_t)rand();
			buf[rand() % BCFW_HDR_SIZE] ^= (uint8_t)(1 + rand() % 255);
			if (i % 4 == 1) {	/* random opcode, valid header */
				memcpy(buf, g = frame((uint16_t)rand(), 0,
						      NULL, 0), BCFW_HDR_SIZE);
				free(g);
				len = BCFW_HDR_SIZE;
			}
		} else {
			for (uint32_t k = 0; k < sizeof(buf); k++)
				buf[k] = (uint8_t)rand();
		}
		xact_raw(fd, (uint32_t)rand(), buf, len, &r);
		if (!r.err || r.err == -11)
			answered++;
		resp_free(&r);
	}
	check(answered == n_fuzz, "fuzzed frames all answered (%u of %u)",
	      answered, n_fuzz);
	check(emu_alive(e), "emulator alive after bad frames");
	check(get_info(fd, &in), "connection still serves after bad frames");
	close(fd);
}

static void test_bad_envelope(struct emu *e)
{
	struct bcem_envelope env;
	struct bcfw_info in;
	int good = conn_open(e), bad;

	struct {
		const char *what;
		uint32_t magic, length, reserved;
		uint16_t type;
	} cases[] = {
		{ "bad magic", 0x11223344, 0, 0, BCEM_REQUEST },
		{ "length over 1 MiB", BCEM_MAGIC, BCEM_MAX_PAYLOAD + 1, 0,
		  BCEM_REQUEST },
		{ "unknown type", BCEM_MAGIC, 0, 0, 9 },
		{ "RESPONSE from a client", BCEM_MAGIC, 0, 0, BCEM_RESPONSE },
		{ "reserved set", BCEM_MAGIC, 0, 1, BCEM_REQUEST },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bad = conn_open(e);
		check(bad >= 0 && get_info(bad, &in), "fresh connection");
		memset(&env, 0, sizeof(env));
		env.magic = htole32(cases[i].magic);
		env.type = htole16(cases[i].type);
		env.length = htole32(cases[i].length);
		env.reserved = htole32(cases[i].reserved);
		write_all(bad, &env, sizeof(env));
		check(closed_by_peer(bad), "%s closes the connection",
		      cases[i].what);
		close(bad);
		check(get_info(good, &in), "other connection unaffected (%s)",
		      cases[i].what);
	}
	/* A peer vanishing mid-envelope or mid-payload. */
	bad = conn_open(e);
	write_all(bad, "BCEM", 4);
	close(bad);
	bad = conn_open(e);
	memset(&env, 0, sizeof(env));
	env.magic = htole32(BCEM_MAGIC);
	env.type = htole16(BCEM_REQUEST);
	env.length = htole32(1000);
	write_all(bad, &env, sizeof(env));
	write_all(bad, "xx", 2);
	close(bad);
	check(get_info(good, &in) && emu_alive(e), "survives truncated peers");
	close(good);
}

static void test_sessions(struct emu *e)
{
	int a = conn_open(e), b = conn_open(e), c;
	uint32_t h[65], h2, x;
	bool all_ok = true, unique = true;

	for (int i = 0; i < 64; i++) {
		if (session_open(a, 1 + (uint32_t)(i % 2), i % 3 ? 0 :
				 BCFW_SESSION_RW, &h[i]) || !h[i])
			all_ok = false;
		for (int j = 0; j < i; j++)
			unique &= h[j] != h[i];
	}
	check(all_ok, "64 sessions open");
	check(unique, "handles unique and non-zero");
	check(sessions_in_use(e) == 64, "sessions_in_use 64");
	check(session_open(b, 1, 0, &x) == BCFW_S_SESSION_COUNT,
	      "65th session (other connection) -> SESSION_COUNT");
	check(session_open(a, 3, 0, &x) == BCFW_S_SESSION_COUNT,
	      "65th session -> SESSION_COUNT");

	/* h[0] belongs to (a, client 1). */
	check(status_of(b, 1, BCFW_OP_SESSION_CLOSE, h[0], NULL, 0) ==
	      BCFW_S_SESSION_INVALID, "close from another connection");
	check(status_of(a, 2, BCFW_OP_SESSION_CLOSE, h[0], NULL, 0) ==
	      BCFW_S_SESSION_INVALID, "close from another client");
	check(status_of(a, 1, BCFW_OP_SESSION_CLOSE, 0, NULL, 0) ==
	      BCFW_S_SESSION_INVALID, "close of handle 0");
	check(status_of(a, 1, BCFW_OP_SESSION_CLOSE, h[0], "x", 1) ==
	      BCFW_S_BAD_ARGS, "close with a body -> BAD_ARGS");
	check(status_of(a, 1, BCFW_OP_SESSION_CLOSE, h[0], NULL, 0) ==
	      BCFW_S_OK, "owner closes");
	check(status_of(a, 1, BCFW_OP_SESSION_CLOSE, h[0], NULL, 0) ==
	      BCFW_S_SESSION_INVALID, "second close -> SESSION_INVALID");
	check(session_open(b, 1, 0, &h2) == 0 && h2 != h[0],
	      "slot reused, handle not");
	check(status_of(b, 1, BCFW_OP_SESSION_CLOSE, h2, NULL, 0) == 0,
	      "close it again");
	check(sessions_in_use(e) == 63, "63 in use");

	/* Client 2 of a owns the 32 odd-indexed sessions. */
	check(status_of(a, 2, BCFW_OP_CLIENT_CLOSE, 0, NULL, 0) == 0,
	      "CLIENT_CLOSE");
	check(sessions_in_use(e) == 31, "client close frees its sessions (%d)",
	      sessions_in_use(e));
	check(status_of(a, 2, BCFW_OP_SESSION_CLOSE, h[1], NULL, 0) ==
	      BCFW_S_SESSION_INVALID, "closed client's session is gone");
	check(status_of(a, 7, BCFW_OP_CLIENT_CLOSE, 0, NULL, 0) == 0,
	      "CLIENT_CLOSE with no sessions OK");
	check(status_of(b, 1, BCFW_OP_CLIENT_CLOSE, 0, NULL, 0) == 0 &&
	      sessions_in_use(e) == 31,
	      "same client id on another connection is another client");

	close(a);
	/* The emulator notices the close asynchronously. */
	int n = -1;

	for (int i = 0; i < 200 && n != 0; i++) {
		n = sessions_in_use(e);
		if (n)
			usleep(10000);
	}
	check(n == 0, "connection close frees its sessions (%d)", n);

	struct bcfw_session_open_req req = { .flags = htole32(2) };

	check(status_of(b, 1, BCFW_OP_SESSION_OPEN, 0, &req, sizeof(req)) ==
	      BCFW_S_BAD_ARGS, "unknown session flag -> BAD_ARGS");
	check(status_of(b, 1, BCFW_OP_SESSION_OPEN, 0, NULL, 0) ==
	      BCFW_S_BAD_ARGS, "session open without body -> BAD_ARGS");

	/* RESET destroys the connection's clients. */
	c = conn_open(e);
	for (int i = 0; i < 5; i++)
		session_open(c, (uint32_t)i, BCFW_SESSION_RW, &h[i]);
	session_open(b, 9, 0, &h2);
	check(sessions_in_use(e) == 6, "6 sessions before reset");
	struct reply rp;

	check(send_env(c, BCEM_RESET, 0, 0xabcd, NULL, 0) == 0 &&
	      recv_env(c, &rp) == 0 && rp.type == BCEM_RESET_DONE &&
	      rp.tag == 0xabcd && rp.len == 0, "RESET -> RESET_DONE, same tag");
	free(rp.data);
	check(sessions_in_use(e) == 1, "RESET freed that connection's only");
	check(status_of(c, 0, BCFW_OP_SESSION_CLOSE, h[0], NULL, 0) ==
	      BCFW_S_SESSION_INVALID, "session gone after RESET");
	check(status_of(b, 9, BCFW_OP_SESSION_CLOSE, h2, NULL, 0) == 0,
	      "other connection's session survived");
	close(c);
	close(b);
}

static void test_max_sessions(void)
{
	const char *args[] = { "--max-sessions", "3", NULL };
	struct emu e;
	struct bcfw_info in;
	uint32_t h;
	int fd;

	check(emu_start(&e, "max3", args) == 0, "start --max-sessions 3");
	fd = conn_open(&e);
	check(get_info(fd, &in) && le32toh(in.max_sessions) == 3,
	      "max_sessions reported 3");
	for (int i = 0; i < 3; i++)
		check(session_open(fd, 1, 0, &h) == 0, "session %d", i);
	check(session_open(fd, 1, 0, &h) == BCFW_S_SESSION_COUNT,
	      "4th -> SESSION_COUNT");
	close(fd);
	check(emu_stop(&e) == 0, "clean exit with sessions open");
}

struct worker {
	const struct emu *e;
	int id;
	unsigned int ok;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	int fd = conn_open(w->e);
	uint8_t buf[3000];
	struct resp r;

	if (fd < 0)
		return NULL;
	for (int i = 0; i < 150; i++) {
		uint32_t n = (uint32_t)((w->id * 131 + i * 17) % sizeof(buf));

		memset(buf, w->id + i, n);
		if (i % 3 == 2) {
			struct bcfw_random_req q = { .length = htole32(n + 1) };

			xact(fd, (uint32_t)w->id, BCFW_OP_RANDOM, 0, &q,
			     sizeof(q), &r);
			if (!r.err && !r.status && r.blen == n + 1)
				w->ok++;
		} else {
			xact(fd, (uint32_t)w->id, BCFW_OP_ECHO, 0, buf, n, &r);
			if (!r.err && !r.status && r.blen == n &&
			    !memcmp(r.body, buf, n))
				w->ok++;
		}
		resp_free(&r);
	}
	close(fd);
	return NULL;
}

static void test_concurrency(struct emu *e)
{
	struct worker w[6];
	pthread_t t[6];

	for (int i = 0; i < 6; i++) {
		w[i] = (struct worker){ .e = e, .id = i + 1 };
		pthread_create(&t[i], NULL, worker_main, &w[i]);
	}
	for (int i = 0; i < 6; i++) {
		pthread_join(t[i], NULL);
		check(w[i].ok == 150, "thread %d: %u of 150 right", i, w[i].ok);
	}

	/* Pipelined on one connection: answers matched by tag. */
	int fd = conn_open(e);
	enum { N = 40 };
	bool seen[N] = { 0 }, right = true;

	for (uint32_t i = 0; i < N; i++) {
		uint32_t val = i * 1000;
		uint8_t *f = frame(BCFW_OP_ECHO, i, &val, sizeof(val));

		send_env(fd, BCEM_REQUEST, i % 3, i, f, BCFW_HDR_SIZE + 4);
		free(f);
	}
	for (int i = 0; i < N; i++) {
		struct reply rp;
		struct resp r;
		uint32_t val;

		if (recv_env(fd, &rp)) {
			right = false;
			break;
		}
		parse_resp(&rp, &r);
		if (rp.tag >= N || seen[rp.tag] || r.err || r.blen != 4 ||
		    rp.client != rp.tag % 3 || r.session != rp.tag) {
			right = false;
		} else {
			memcpy(&val, r.body, 4);
			seen[rp.tag] = val == rp.tag * 1000;
			right &= seen[rp.tag];
		}
		resp_free(&r);
	}
	check(right, "40 pipelined requests all answered by tag");
	close(fd);
}

/* A peer that sends but never reads must not stall other connections. */
static void test_stuck_reader(struct emu *e)
{
	int f = conn_open(e), g = conn_open(e);
	uint8_t *body = calloc(1, 30000);
	uint8_t *req = frame(BCFW_OP_ECHO, 0, body, 30000);
	struct timeval tv = { .tv_usec = 200000 };
	struct bcfw_info in;
	unsigned int sent = 0;
	double t0;

	setsockopt(f, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	for (int i = 0; i < 60; i++) {
		if (send_env(f, BCEM_REQUEST, 1, (uint32_t)i, req,
			     BCFW_HDR_SIZE + 30000))
			break;
		sent++;
	}
	t0 = now_ms();
	check(get_info(g, &in) && now_ms() - t0 < 1000,
	      "other connection served beside a stuck reader (%u sent, "
	      "%.0f ms)", sent, now_ms() - t0);
	free(req);
	free(body);
	close(f);
	close(g);
}

static uint32_t sleep_req(int fd, uint32_t tag, uint32_t ms)
{
	struct bcfw_sleep_req q = { .msecs = htole32(ms) };
	uint8_t *f = frame(BCFW_OP_SLEEP, 0, &q, sizeof(q));
	int ret = send_env(fd, BCEM_REQUEST, 1, tag, f,
			   BCFW_HDR_SIZE + sizeof(q));

	free(f);
	return (uint32_t)ret;
}

static void test_sleep(struct emu *e)
{
	int a = conn_open(e), b = conn_open(e);
	struct bcfw_sleep_req q = { .msecs = htole32(BCFW_SLEEP_MAX_MS + 1) };
	struct reply rp;
	struct resp r;
	double t0, t;

	check(status_of(a, 1, BCFW_OP_SLEEP, 0, &q, sizeof(q)) ==
	      BCFW_S_BAD_ARGS, "sleep over 60 s -> BAD_ARGS");
	q.msecs = htole32(50);
	t0 = now_ms();
	check(status_of(a, 1, BCFW_OP_SLEEP, 0, &q, sizeof(q)) == 0 &&
	      now_ms() - t0 >= 49, "sleep 50 ms takes 50 ms");

	/* SLEEP holds one engine; ECHO on another answers meanwhile. */
	t0 = now_ms();
	sleep_req(a, 77, 1500);
	usleep(100000);
	xact(b, 1, BCFW_OP_ECHO, 0, "hi", 2, &r);
	t = now_ms() - t0;
	check(!r.err && r.status == 0 && t < 1000,
	      "echo beside a sleep answers in %.0f ms", t);
	resp_free(&r);
	/* Same connection too: responses overtake the sleeping one. */
	xact(a, 1, BCFW_OP_ECHO, 0, "hi", 2, &r);
	t = now_ms() - t0;
	check(!r.err && r.status == 0 && t < 1000,
	      "echo overtakes a sleep on its connection (%.0f ms)", t);
	resp_free(&r);
	check(recv_env(a, &rp) == 0 && rp.tag == 77 && now_ms() - t0 >= 1490,
	      "sleep answered after its time");
	free(rp.data);

	/* RESET cuts a sleep short and waits for it. */
	t0 = now_ms();
	sleep_req(a, 78, 30000);
	usleep(100000);
	send_env(a, BCEM_RESET, 0, 79, NULL, 0);
	check(recv_env(a, &rp) == 0 && rp.tag == 78 && rp.type ==
	      BCEM_RESPONSE, "sleep answered first");
	free(rp.data);
	check(recv_env(a, &rp) == 0 && rp.tag == 79 &&
	      rp.type == BCEM_RESET_DONE, "then RESET_DONE");
	free(rp.data);
	t = now_ms() - t0;
	check(t < 3000, "RESET ended the sleep early (%.0f ms)", t);
	close(a);
	close(b);
}

static void test_sleep_dead_client(void)
{
	const char *args[] = { "--engines", "1", NULL };
	struct emu e;
	struct resp r;
	double t0, t;
	int a, b;

	check(emu_start(&e, "eng1", args) == 0, "start --engines 1");
	a = conn_open(&e);
	b = conn_open(&e);
	sleep_req(a, 1, 30000);
	usleep(200000);
	t0 = now_ms();
	close(a);
	xact(b, 1, BCFW_OP_ECHO, 0, "x", 1, &r);
	t = now_ms() - t0;
	check(!r.err && r.status == 0 && t < 3000,
	      "closing the sleeper's connection frees the engine (%.0f ms)",
	      t);
	resp_free(&r);
	close(b);
	/* And SIGTERM ends a running sleep too. */
	a = conn_open(&e);
	sleep_req(a, 1, 30000);
	usleep(200000);
	t0 = now_ms();
	check(emu_stop(&e) == 0 && now_ms() - t0 < 5000,
	      "SIGTERM during a sleep exits cleanly");
	close(a);
}

static void test_daemon(void)
{
	char state[300], sock[sizeof(((struct emu *)0)->sock)], pidf[300], cmd[1400];
	struct emu e = { 0 };
	FILE *f;
	int pid = 0;

	snprintf(state, sizeof(state), "%s/d.state", emutest_dir());
	snprintf(sock, sizeof(sock), "%s/d.sock", emutest_dir());
	snprintf(pidf, sizeof(pidf), "%s/d.pid", emutest_dir());
	snprintf(cmd, sizeof(cmd),
		 "%s --state %s --socket %s --pidfile %s --log %s/d.log",
		 emutest_bin(), state, sock, pidf, emutest_dir());
	/* Daemon mode: returns once serving. */
	check(system(cmd) == 0, "daemon start returns 0");
	memcpy(e.sock, sock, sizeof(sock));
	int fd = conn_open(&e);
	struct bcfw_info in;

	check(fd >= 0 && get_info(fd, &in), "daemon serves at once");
	if (fd >= 0)
		close(fd);
	f = fopen(pidf, "r");
	check(f && fscanf(f, "%d", &pid) == 1 && pid > 1, "daemon pid file");
	if (f)
		fclose(f);
	check(system(cmd) != 0, "second emulator on a live socket refused");
	if (pid > 1) {
		kill(pid, SIGTERM);
		for (int i = 0; i < 500 && kill(pid, 0) == 0; i++)
			usleep(10000);
		check(kill(pid, 0) != 0, "daemon exits on SIGTERM");
		check(access(sock, F_OK) != 0, "daemon unlinked its socket");
	}
}

int main(int argc, char **argv)
{
	struct emu e;
	int rc = emutest_begin(argc, argv, "bcemu-test");

	if (rc)
		return rc;
	if (emu_start(&e, "main", NULL) == 0) {
		check(true, "emulator starts");
		test_info(&e);
		test_echo(&e);
		test_random(&e);
		test_bad_frames(&e);
		test_bad_envelope(&e);
		test_sessions(&e);
		test_concurrency(&e);
		test_stuck_reader(&e);
		test_sleep(&e);
		check(emu_alive(&e), "emulator alive at the end");
		check(emu_stop(&e) == 0, "clean exit (sanitizers quiet)");
	} else {
		check(false, "emulator starts");
	}
	test_identity();
	test_max_sessions();
	test_sleep_dead_client();
	test_daemon();
	return emutest_end();
}
