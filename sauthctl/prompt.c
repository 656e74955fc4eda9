/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The no-echo prompt. Secrets (passwords, tokens) are never taken from
 * argv, where any user may read them in /proc: they come from a prompt with
 * echo off on a terminal, or one line each from stdin, into buffers wiped
 * before they are freed.
 */
#include <errno.h>
#include <signal.h>
#include <sys/prctl.h>
#include <termios.h>

#include "call.h"
#include "prompt.h"
#include "sauth-names.h"
#include "sauthctl.h"
#include "util.h"

static struct termios secret_saved_termios;
static volatile sig_atomic_t secret_echo_off;

/* A signal while echo is off must not leave the terminal mute. */
static void secret_on_signal(int sig) {
        if (secret_echo_off)
                (void) tcsetattr(STDIN_FILENO, TCSAFLUSH, &secret_saved_termios);
        signal(sig, SIG_DFL);
        raise(sig);
}

static void secret_echo(bool on) {
        static const int signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
        struct termios t;

        if (on) {
                if (!secret_echo_off)
                        return;
                (void) tcsetattr(STDIN_FILENO, TCSAFLUSH, &secret_saved_termios);
                secret_echo_off = 0;
                for (size_t i = 0; i < ELEMENTSOF(signals); i++)
                        signal(signals[i], SIG_DFL);
                return;
        }

        if (tcgetattr(STDIN_FILENO, &secret_saved_termios) < 0)
                return;
        t = secret_saved_termios;
        t.c_lflag &= ~(tcflag_t) ECHO;
        t.c_lflag |= ECHONL;    /* still end the line when Enter is pressed */
        for (size_t i = 0; i < ELEMENTSOF(signals); i++)
                signal(signals[i], secret_on_signal);
        if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &t) == 0)
                secret_echo_off = 1;
}

/* Reads one line from fd 0 a byte at a time: no stdio buffer keeps a copy
 * of the secret, and the next secret's line stays in the pipe for the next
 * call. Returns the length, -ENODATA at EOF before any byte, -E2BIG for a
 * line longer than the daemon would take. */
static ssize_t secret_read_line(char *buf, size_t size) {
        size_t n = 0;

        for (;;) {
                char ch;
                ssize_t k = read(STDIN_FILENO, &ch, 1);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                if (k == 0) {
                        if (n == 0)
                                return -ENODATA;
                        break;
                }
                if (ch == '\n')
                        break;
                if (n + 1 >= size) {
                        explicit_bzero(&ch, sizeof(ch));
                        return -E2BIG;
                }
                buf[n++] = ch;
        }
        buf[n] = '\0';
        return (ssize_t) n;
}

/* Asks for a secret: with the prompt and echo off on a terminal, else one
 * line from stdin. On failure prints why and returns an exit code. */
int prompt_secret_max(const char *prompt, size_t max, char **ret) {
        _cleanup_erase_ char *buf = NULL;
        bool tty = isatty(STDIN_FILENO);
        ssize_t r;

        /* No core dump or ptrace by the same user may read the secret. */
        (void) prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);

        buf = calloc(1, max + 1);
        if (!buf)
                return ctl_oom();

        if (tty) {
                fputs(prompt, stderr);
                fflush(stderr);
                secret_echo(false);
        }
        r = secret_read_line(buf, max + 1);
        if (tty)
                secret_echo(true);

        if (r == -E2BIG) {
                /* Wipe what was read: erase_and_free stops at the first NUL. */
                explicit_bzero(buf, max + 1);
                fprintf(stderr, "sauthctl: input too long (at most %zu bytes)\n", max);
                return EXIT_USAGE;
        }
        if (r == -ENODATA) {
                fprintf(stderr, "sauthctl: no input for '%s'\n", prompt);
                return EXIT_USAGE;
        }
        if (r < 0) {
                fprintf(stderr, "sauthctl: cannot read from stdin: %s\n", strerror((int) -r));
                return EXIT_DENIED;
        }

        *ret = TAKE_PTR(buf);
        return EXIT_OK;
}

int prompt_secret(const char *prompt, char **ret) {
        return prompt_secret_max(prompt, SAUTH_PASSWORD_BYTES, ret);
}
