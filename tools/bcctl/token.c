// SPDX-License-Identifier: GPL-2.0
/*
 * bcctl token init|pin: first set-up of a token through the PKCS#11
 * module (C_InitToken, C_InitPIN, C_SetPIN).  PINs come from a prompt,
 * a file or an environment variable, never from argv.
 */
#include <getopt.h>
#include <string.h>

#include "bcctl.h"

static const char token_help[] =
	"Usage: bcctl token init --label LABEL [--force] [--no-user-pin]\n"
	"                        [PIN OPTIONS] [COMMON] [DEVICE]\n"
	"       bcctl token pin [--so | --reset] [PIN OPTIONS] [COMMON]\n"
	"                       [DEVICE]\n"
	"init:  C_InitToken with the SO PIN and LABEL (wipes every token\n"
	"       object; an initialized token needs --force), then the user\n"
	"       PIN is set (C_InitPIN) unless --no-user-pin.\n"
	"pin:   changes the user's PIN (C_SetPIN; --so: the SO's), or with\n"
	"       --reset sets a new user PIN as the SO (C_InitPIN, which also\n"
	"       unlocks a locked user PIN).\n"
	"PIN OPTIONS (each PIN is prompted for on /dev/tty without them):\n"
	"  --so-pin-file F, --so-pin-env VAR    the SO PIN\n"
	"  --pin-file F, --pin-env VAR          the (current) user PIN; for\n"
	"                                       init: the new user PIN\n"
	"  --new-pin-file F, --new-pin-env VAR  the new PIN (pin)\n"
	"  A file's first line is the PIN.\n"
	"COMMON: --module PATH (default $BCCHIP_PKCS11_MODULE, else the\n"
	"  installed module), --token LABEL (pick the token by label).\n"
	"Exit status: 0 success, 1 error (the CKR_* code is printed),\n"
	"2 usage.\n";

enum {
	O_SO_FILE = 256, O_SO_ENV, O_PIN_FILE, O_PIN_ENV, O_NEW_FILE,
	O_NEW_ENV, O_MODULE, O_TOKEN, O_LABEL, O_FORCE, O_NO_USER, O_SO,
	O_RESET,
};

struct token_opts {
	struct bcctl_p11_opts p11;
	struct bcctl_pin_src so, user, new_;
	const char *label;
	bool force, no_user, so_pin, reset;
};

static int fail(const char *what, CK_RV rv)
{
	bcctl_err("%s: %s", what, bcctl_ckr_name(rv));
	return EXIT_ERR;
}

static int do_init(struct bcctl_p11 *p, const struct token_opts *o)
{
	char so[BCCTL_PIN_MAX + 2], user[BCCTL_PIN_MAX + 2];
	CK_UTF8CHAR label[32];
	CK_SESSION_HANDLE h;
	CK_TOKEN_INFO ti;
	int sl, ul = 0, ret = EXIT_ERR;
	CK_RV rv;

	rv = p->f->C_GetTokenInfo(p->slot, &ti);
	if (rv != CKR_OK)
		return fail("C_GetTokenInfo", rv);
	if ((ti.flags & CKF_TOKEN_INITIALIZED) && !o->force) {
		bcctl_err("token '%s' is initialized already; --force wipes "
			  "it", p->token);
		return EXIT_ERR;
	}
	sl = bcctl_read_pin(&o->so, "SO PIN", true, so, sizeof(so));
	if (sl < 0)
		return EXIT_ERR;
	if (!o->no_user) {
		ul = bcctl_read_pin(&o->user, "new user PIN", true, user,
				    sizeof(user));
		if (ul < 0)
			goto out;
	}
	memset(label, ' ', sizeof(label));
	memcpy(label, o->label, strlen(o->label));
	rv = p->f->C_InitToken(p->slot, (CK_UTF8CHAR_PTR)so, (CK_ULONG)sl,
			       label);
	if (rv != CKR_OK) {
		fail("C_InitToken", rv);
		goto out;
	}
	if (!o->no_user) {
		rv = p->f->C_OpenSession(p->slot, CKF_SERIAL_SESSION |
					 CKF_RW_SESSION, NULL, NULL, &h);
		if (rv != CKR_OK) {
			fail("C_OpenSession", rv);
			goto out;
		}
		rv = p->f->C_Login(h, CKU_SO, (CK_UTF8CHAR_PTR)so,
				   (CK_ULONG)sl);
		if (rv == CKR_OK)
			rv = p->f->C_InitPIN(h, (CK_UTF8CHAR_PTR)user,
					     (CK_ULONG)ul);
		p->f->C_CloseSession(h);
		if (rv != CKR_OK) {
			fail("setting the user PIN", rv);
			goto out;
		}
	}
	printf("token '%s' initialized%s\n", o->label,
	       o->no_user ? "" : ", user PIN set");
	ret = EXIT_OK;
out:
	bcctl_wipe(so, sizeof(so));
	bcctl_wipe(user, sizeof(user));
	return ret;
}

static int do_pin(struct bcctl_p11 *p, const struct token_opts *o)
{
	char old[BCCTL_PIN_MAX + 2], new_[BCCTL_PIN_MAX + 2];
	CK_SESSION_HANDLE h;
	int ol, nl, ret = EXIT_ERR;
	CK_RV rv;

	if (o->reset || o->so_pin)
		ol = bcctl_read_pin(&o->so, "SO PIN", false, old, sizeof(old));
	else
		ol = bcctl_read_pin(&o->user, "user PIN", false, old,
				    sizeof(old));
	if (ol < 0)
		return EXIT_ERR;
	nl = bcctl_read_pin(&o->new_, o->so_pin ? "new SO PIN" :
			    "new user PIN", true, new_, sizeof(new_));
	if (nl < 0)
		goto out;
	rv = p->f->C_OpenSession(p->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION,
				 NULL, NULL, &h);
	if (rv != CKR_OK) {
		fail("C_OpenSession", rv);
		goto out;
	}
	if (o->reset || o->so_pin) {
		rv = p->f->C_Login(h, CKU_SO, (CK_UTF8CHAR_PTR)old,
				   (CK_ULONG)ol);
		if (rv != CKR_OK) {
			p->f->C_CloseSession(h);
			fail("SO login", rv);
			goto out;
		}
	}
	if (o->reset)
		rv = p->f->C_InitPIN(h, (CK_UTF8CHAR_PTR)new_, (CK_ULONG)nl);
	else
		rv = p->f->C_SetPIN(h, (CK_UTF8CHAR_PTR)old, (CK_ULONG)ol,
				    (CK_UTF8CHAR_PTR)new_, (CK_ULONG)nl);
	p->f->C_CloseSession(h);
	if (rv != CKR_OK) {
		fail(o->reset ? "C_InitPIN" : "C_SetPIN", rv);
		goto out;
	}
	printf("%s PIN of token '%s' %s\n", o->so_pin ? "SO" : "user",
	       p->token, o->reset ? "reset" : "changed");
	ret = EXIT_OK;
out:
	bcctl_wipe(old, sizeof(old));
	bcctl_wipe(new_, sizeof(new_));
	return ret;
}

int cmd_token(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "so-pin-file", required_argument, NULL, O_SO_FILE },
		{ "so-pin-env", required_argument, NULL, O_SO_ENV },
		{ "pin-file", required_argument, NULL, O_PIN_FILE },
		{ "pin-env", required_argument, NULL, O_PIN_ENV },
		{ "new-pin-file", required_argument, NULL, O_NEW_FILE },
		{ "new-pin-env", required_argument, NULL, O_NEW_ENV },
		{ "module", required_argument, NULL, O_MODULE },
		{ "token", required_argument, NULL, O_TOKEN },
		{ "label", required_argument, NULL, O_LABEL },
		{ "force", no_argument, NULL, O_FORCE },
		{ "no-user-pin", no_argument, NULL, O_NO_USER },
		{ "so", no_argument, NULL, O_SO },
		{ "reset", no_argument, NULL, O_RESET },
		{ NULL, 0, NULL, 0 },
	};
	struct token_opts o;
	struct bcctl_p11 p;
	const char *sub;
	int c, ret;
	bool init;

	memset(&o, 0, sizeof(o));
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			fputs(token_help, stdout);
			return EXIT_OK;
		case O_SO_FILE: o.so.file = optarg; break;
		case O_SO_ENV: o.so.env = optarg; break;
		case O_PIN_FILE: o.user.file = optarg; break;
		case O_PIN_ENV: o.user.env = optarg; break;
		case O_NEW_FILE: o.new_.file = optarg; break;
		case O_NEW_ENV: o.new_.env = optarg; break;
		case O_MODULE: o.p11.module = optarg; break;
		case O_TOKEN: o.p11.token = optarg; break;
		case O_LABEL: o.label = optarg; break;
		case O_FORCE: o.force = true; break;
		case O_NO_USER: o.no_user = true; break;
		case O_SO: o.so_pin = true; break;
		case O_RESET: o.reset = true; break;
		default:
			fputs(token_help, stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		bcctl_err("token: init or pin?");
		return EXIT_USAGE;
	}
	sub = argv[optind++];
	init = !strcmp(sub, "init");
	if (!init && strcmp(sub, "pin")) {
		bcctl_err("token: unknown subcommand '%s'", sub);
		return EXIT_USAGE;
	}
	if (argc - optind > 1) {
		bcctl_err("token %s takes at most one DEVICE", sub);
		return EXIT_USAGE;
	}
	if (optind < argc)
		o.p11.device = argv[optind];
	if (init) {
		size_t l = o.label ? strlen(o.label) : 0;

		if (!o.label || l < 1 || l > 32) {
			bcctl_err("token init needs --label of 1 to 32 "
				  "characters");
			return EXIT_USAGE;
		}
		for (size_t i = 0; i < l; i++)
			if (o.label[i] < 0x20 || o.label[i] > 0x7e) {
				bcctl_err("--label: printable ASCII only");
				return EXIT_USAGE;
			}
	} else if (o.so_pin && o.reset) {
		bcctl_err("token pin: --so and --reset do not go together");
		return EXIT_USAGE;
	}
	if ((o.so.file && o.so.env) || (o.user.file && o.user.env) ||
	    (o.new_.file && o.new_.env)) {
		bcctl_err("a PIN comes from a file or a variable, not both");
		return EXIT_USAGE;
	}
	ret = bcctl_p11_open(&p, &o.p11, !init);
	if (ret)
		return ret;
	ret = init ? do_init(&p, &o) : do_pin(&p, &o);
	bcctl_p11_close(&p);
	return ret;
}
