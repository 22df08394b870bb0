// SPDX-License-Identifier: GPL-2.0
/*
 * PINs for bcctl: from a file, an environment variable, or a prompt on
 * the terminal without echo.  Never from argv, which every user of the
 * machine can read in /proc.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <termios.h>
#include <unistd.h>

#include "bcctl.h"

void bcctl_wipe(void *p, size_t n)
{
	explicit_bzero(p, n);
}

/* Strips one trailing "\n" or "\r\n". */
static size_t chomp(char *s, size_t n)
{
	if (n && s[n - 1] == '\n')
		n--;
	if (n && s[n - 1] == '\r')
		n--;
	s[n] = 0;
	return n;
}

static int pin_from_file(const char *path, char *out, size_t cap)
{
	char buf[BCCTL_PIN_MAX + 4];
	size_t n = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		bcctl_err("%s: %s", path, strerror(errno));
		return -1;
	}
	for (;;) {
		ssize_t r;

		if (n == sizeof(buf)) {
			char extra;

			/* A PIN file holds a PIN: more than that is some
			 * other file, named by mistake. */
			do
				r = read(fd, &extra, 1);
			while (r < 0 && errno == EINTR);
			if (r != 0) {
				bcctl_err("%s: not a PIN file (more than "
					  "%zu bytes)", path, sizeof(buf));
				close(fd);
				bcctl_wipe(buf, sizeof(buf));
				return -1;
			}
			break;
		}
		r = read(fd, buf + n, sizeof(buf) - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			bcctl_err("%s: %s", path, strerror(errno));
			close(fd);
			bcctl_wipe(buf, sizeof(buf));
			return -1;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	/* Only the first line counts. */
	for (size_t i = 0; i < n; i++)
		if (buf[i] == '\n') {
			n = i + 1;
			break;
		}
	if (n == sizeof(buf) || n >= cap) {
		bcctl_err("%s: PIN longer than %d bytes", path, BCCTL_PIN_MAX);
		bcctl_wipe(buf, sizeof(buf));
		return -1;
	}
	memcpy(out, buf, n);
	bcctl_wipe(buf, sizeof(buf));
	return (int)chomp(out, n);
}

/*
 * The terminal's settings while echo is off, for a signal handler to put
 * back: the one state a handler can reach.  Written before the handlers
 * are installed and read only by them (bcctl prompts from one thread).
 */
static struct termios tty_saved;
static volatile sig_atomic_t tty_fd = -1;
static const int tty_signals[] = { SIGINT, SIGTERM, SIGQUIT, SIGHUP };
#define N_TTY_SIGNALS (sizeof(tty_signals) / sizeof(tty_signals[0]))

static void tty_restore_and_die(int sig)
{
	if (tty_fd >= 0)
		tcsetattr(tty_fd, TCSAFLUSH, &tty_saved);
	signal(sig, SIG_DFL);
	raise(sig);
}

static int prompt_once(int fd, const char *prompt, char *out, size_t cap)
{
	struct sigaction sa, old_sa[N_TTY_SIGNALS];
	struct termios quiet;
	size_t n = 0;
	int ret = 0;

	/* Without echo off the PIN would show: no prompt then. */
	if (tcgetattr(fd, &tty_saved)) {
		bcctl_err("cannot turn the terminal's echo off: %s",
			  strerror(errno));
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = tty_restore_and_die;
	sigemptyset(&sa.sa_mask);
	tty_fd = fd;
	for (size_t i = 0; i < N_TTY_SIGNALS; i++)
		sigaction(tty_signals[i], &sa, &old_sa[i]);
	quiet = tty_saved;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	quiet.c_lflag |= ICANON;
	if (tcsetattr(fd, TCSAFLUSH, &quiet)) {
		bcctl_err("cannot turn the terminal's echo off: %s",
			  strerror(errno));
		ret = -3;
	} else if (write(fd, prompt, strlen(prompt)) < 0) {
		ret = -1;
	}
	while (!ret) {
		char c;
		ssize_t r = read(fd, &c, 1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || c == '\n')
			break;
		if (n + 1 >= cap) {
			ret = -2;
			continue;
		}
		out[n++] = c;
	}
	out[n] = 0;
	if (ret != -3) {
		tcsetattr(fd, TCSAFLUSH, &tty_saved);
		if (write(fd, "\n", 1) < 0)
			ret = ret ? ret : -1;
	}
	for (size_t i = 0; i < N_TTY_SIGNALS; i++)
		sigaction(tty_signals[i], &old_sa[i], NULL);
	tty_fd = -1;
	if (ret == -2)
		bcctl_err("PIN longer than %d bytes", BCCTL_PIN_MAX);
	else if (ret == -1)
		bcctl_err("cannot prompt for the PIN");
	if (ret) {
		bcctl_wipe(out, cap);
		return -1;
	}
	return (int)chomp(out, n);
}

int bcctl_read_pin(const struct bcctl_pin_src *src, const char *prompt,
		   bool confirm, char *out, size_t cap)
{
	char again[BCCTL_PIN_MAX + 2];
	int fd, n, m;

	/* No core dump or ptrace by the user's other processes while a PIN
	 * is in memory; bcctl does not drop it back: PINs live until exit. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)) {
		bcctl_err("cannot protect the PIN in memory: %s",
			  strerror(errno));
		return -1;
	}
	if (src->file)
		return pin_from_file(src->file, out, cap);
	if (src->env) {
		const char *v = getenv(src->env);

		if (!v) {
			bcctl_err("environment variable %s is not set",
				  src->env);
			return -1;
		}
		if (strlen(v) >= cap || strlen(v) > BCCTL_PIN_MAX) {
			bcctl_err("%s: PIN longer than %d bytes", src->env,
				  BCCTL_PIN_MAX);
			return -1;
		}
		snprintf(out, cap, "%s", v);
		/* Not left for children or /proc/PID/environ. */
		bcctl_wipe((char *)v, strlen(v));
		if (unsetenv(src->env)) {
			bcctl_wipe(out, cap);
			bcctl_err("%s: %s", src->env, strerror(errno));
			return -1;
		}
		return (int)strlen(out);
	}
	fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		bcctl_err("no terminal to ask for the %s: use a PIN file or "
			  "an environment variable", prompt);
		return -1;
	}
	{
		char p[128];

		snprintf(p, sizeof(p), "%s: ", prompt);
		n = prompt_once(fd, p, out, cap);
		if (n >= 0 && confirm) {
			snprintf(p, sizeof(p), "%s again: ", prompt);
			m = prompt_once(fd, p, again, sizeof(again));
			if (m < 0 || m != n || memcmp(out, again, (size_t)n)) {
				if (m >= 0)
					bcctl_err("the PINs differ");
				bcctl_wipe(out, cap);
				n = -1;
			}
			bcctl_wipe(again, sizeof(again));
		}
	}
	close(fd);
	return n;
}
