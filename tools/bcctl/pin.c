// SPDX-License-Identifier: GPL-2.0
/*
 * PINs for bcctl: from a file, an environment variable, or a prompt on
 * the terminal without echo.  Never from argv, which every user of the
 * machine can read in /proc.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
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
	while (n < sizeof(buf)) {
		ssize_t r = read(fd, buf + n, sizeof(buf) - n);

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

static int prompt_once(int fd, const char *prompt, char *out, size_t cap)
{
	struct termios old, quiet;
	bool restore = false;
	size_t n = 0;
	int ret = 0;

	if (tcgetattr(fd, &old) == 0) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
		quiet.c_lflag |= ICANON;
		if (tcsetattr(fd, TCSAFLUSH, &quiet) == 0)
			restore = true;
	}
	if (write(fd, prompt, strlen(prompt)) < 0)
		ret = -1;
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
	if (restore)
		tcsetattr(fd, TCSAFLUSH, &old);
	if (write(fd, "\n", 1) < 0)
		ret = ret ? ret : -1;
	if (ret == -2)
		bcctl_err("PIN longer than %d bytes", BCCTL_PIN_MAX);
	else if (ret)
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
