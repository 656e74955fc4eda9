/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * mail_render() of any template text: the input becomes NAME.tmpl in a
 * private temporary directory (the file mode 0600, as mail.c checks it)
 * and is rendered with fixed, valid fields, a non-ASCII name among them.
 * A rendered message must be a header section of header lines, a blank
 * line and a body, with no CR in it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "mail.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fuzz_dir[] = "/tmp/fuzz-mail.XXXXXX";
static char *fuzz_file;
static int fuzz_fd = -1;
static SauthConfig *fuzz_config;

static const MailFields fuzz_fields = {
        .to = "alice@example.org",
        .token = "fuzz-not-a-secret-0123456789abcdefghijklmno",
        .username = "alice",
        .name = "Zo\xc3\xab {{token}} \xe6\x97\xa5\xe6\x9c\xac Liddell",
        .uid = "1042",
        .expires = "2030-01-01 12:00 UTC",
};

static void fuzz_check(bool ok, const char *what) {
        if (!ok) {
                fprintf(stderr, "broken promise: %s\n", what);
                abort();
        }
}

static void fuzz_cleanup(void) {
        if (fuzz_file)
                (void) unlink(fuzz_file);
        (void) rmdir(fuzz_dir);
        config_free(fuzz_config);
        free(fuzz_file);
}

static void fuzz_setup(void) {
        if (!mkdtemp(fuzz_dir))
                abort();
        if (asprintf(&fuzz_file, "%s/fuzz.tmpl", fuzz_dir) < 0)
                abort();
        fuzz_fd = open(fuzz_file, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fuzz_fd < 0 || config_new_default(&fuzz_config) < 0)
                abort();
        free(fuzz_config->mail_from);
        free(fuzz_config->mail_templates);
        fuzz_config->mail_from = strdup("SessionAuth <sauthd@test.example>");
        fuzz_config->mail_templates = strdup(fuzz_dir);
        if (!fuzz_config->mail_from || !fuzz_config->mail_templates)
                abort();
        atexit(fuzz_cleanup);
}

/* A header line: a name of printable characters but ':', then ':'; or a
 * continuation starting with a blank. */
static bool fuzz_header_line_ok(const char *p, size_t n) {
        size_t i = 0;

        if (n > 0 && (p[0] == ' ' || p[0] == '\t'))
                return true;
        while (i < n && p[i] > ' ' && p[i] < 0x7f && p[i] != ':')
                i++;
        return i > 0 && i < n && p[i] == ':';
}

static void fuzz_check_message(const char *m) {
        const char *end = strstr(m, "\n\n"), *p;
        size_t len = strlen(m);

        fuzz_check(end != NULL, "blank line after the headers");
        fuzz_check(len > 0 && m[len - 1] == '\n', "ends in a newline");
        fuzz_check(!strchr(m, '\r'), "no CR");
        for (p = m; p <= end; ) {
                const char *nl = strchr(p, '\n');

                fuzz_check(fuzz_header_line_ok(p, nl - p), "header line");
                p = nl + 1;
        }
        fuzz_check(m[0] != ' ' && m[0] != '\t', "first line is a header");
}

static size_t fuzz_count(const char *s, size_t n, const char *needle) {
        size_t k = strlen(needle), c = 0;

        for (const char *p = s; (p = memmem(p, n - (p - s), needle, k)); p += k)
                c++;
        return c;
}

/* Values are inserted, never expanded again: the token shows up no more
 * often than the template asks for it (the name holds "{{token}}"). */
static void fuzz_check_token(const uint8_t *data, size_t size, const char *m) {
        const char *t = (const char *) data;
        size_t asked = fuzz_count(t, size, "{{token}}") + fuzz_count(t, size, fuzz_fields.token);

        fuzz_check(fuzz_count(m, strlen(m), fuzz_fields.token) <= asked, "token only where asked for");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *m = NULL;
        int r;

        if (size > 64 * 1024)
                return 0;
        if (fuzz_fd < 0)
                fuzz_setup();
        if (ftruncate(fuzz_fd, 0) < 0 || pwrite(fuzz_fd, data, size, 0) != (ssize_t) size)
                abort();

        r = mail_render(fuzz_config, "fuzz", &fuzz_fields, &m);
        if (r == 0) {
                fuzz_check_message(m);
                fuzz_check_token(data, size, m);
                erase_and_free(m);
        } else {
                fuzz_check(!m, "no output on failure");
                fuzz_check(r == -EBADMSG || r == -E2BIG || r == -ENOMEM, "error code");
        }
        return 0;
}
