/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * mail.c against real things: the shipped templates, templates written
 * here, mail-capture.sh as the sender command, an aiosmtpd sink on
 * loopback for SMTP, and a real Pool on sd-event for mail_send_async().
 * The token is random per run and never printed: checks on it count
 * occurrences instead of comparing strings.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include <cmocka.h>
#include <sodium.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "curl-loader.h"
#include "mail.h"
#include "pool.h"
#include "util.h"

#define PYTHON "/usr/bin/python3"
#define SINK_SCRIPT TESTS_DIR "/integration/smtp-sink.py"
#define CAPTURE_SCRIPT TESTS_DIR "/integration/mail-capture.sh"
#define FROM "sauthd@test.example"
#define TO "alice@example.org"

static char tmproot[] = "/tmp/test-mail.XXXXXX";
static char token[48];

/* ---- helpers ---- */

static MailFields test_fields(void) {
        return (MailFields) {
                .to = TO,
                .token = token,
                .username = "alice",
                .name = "Alice Liddell",
                .uid = "1042",
                .expires = "2030-01-01 12:00 UTC",
        };
}

static void set_str(char **field, const char *value) {
        free(*field);
        *field = value ? strdup(value) : NULL;
        assert_true(!value || *field);
}

static SauthConfig *test_config(const char *templates, const char *sender) {
        SauthConfig *c = NULL;

        assert_int_equal(config_new_default(&c), 0);
        set_str(&c->mail_from, FROM);
        set_str(&c->mail_templates, templates);
        set_str(&c->mail_sender, sender);
        c->mail_timeout = 10;
        return c;
}

static size_t count(const char *haystack, const char *needle) {
        size_t n = 0;

        for (const char *p = haystack; (p = strstr(p, needle)); p += strlen(needle))
                n++;
        return n;
}

/* Whether the header section holds a line starting with LINE. */
static bool has_header(const char *m, const char *line) {
        const char *end = strstr(m, "\n\n");
        size_t n = strlen(line);

        assert_non_null(end);
        for (const char *p = m; p && p < end; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
                if (strncmp(p, line, n) == 0)
                        return true;
        return false;
}

static char *make_dir(const char *name) {
        char *d = NULL;

        assert_true(asprintf(&d, "%s/%s", tmproot, name) > 0);
        assert_int_equal(mkdir(d, 0700), 0);
        return d;
}

static void write_file(const char *dir, const char *name, const char *text, mode_t mode) {
        _cleanup_free_ char *p = NULL;
        FILE *f;

        assert_true(asprintf(&p, "%s/%s", dir, name) > 0);
        f = fopen(p, "we");
        assert_non_null(f);
        assert_int_equal(fputs(text, f) >= 0, 1);
        assert_int_equal(fclose(f), 0);
        assert_int_equal(chmod(p, mode), 0);
}

static char *read_file(const char *path) {
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        char *s = calloc(1, 1024 * 1024);
        size_t n;

        assert_non_null(f);
        assert_non_null(s);
        n = fread(s, 1, 1024 * 1024 - 1, f);
        s[n] = '\0';
        return s;
}

/* The one message file in DIR (names starting with '.' are half written),
 * waiting a bounded while for it; NULL if there is none. */
static char *read_single_message(const char *dir) {
        for (int tries = 0; tries < 100; tries++) {
                _cleanup_free_ char *found = NULL;
                unsigned n = 0;
                DIR *d = opendir(dir);
                struct dirent *de;

                assert_non_null(d);
                while ((de = readdir(d)))
                        if (de->d_name[0] != '.') {
                                n++;
                                free(found);
                                assert_true(asprintf(&found, "%s/%s", dir, de->d_name) > 0);
                        }
                closedir(d);
                assert_true(n <= 1);
                if (n == 1)
                        return read_file(found);
                (void) nanosleep(&(struct timespec) { .tv_nsec = 50 * 1000 * 1000 }, NULL);
        }
        return NULL;
}

static unsigned count_files(const char *dir) {
        DIR *d = opendir(dir);
        struct dirent *de;
        unsigned n = 0;

        assert_non_null(d);
        while ((de = readdir(d)))
                if (de->d_name[0] != '.')
                        n++;
        closedir(d);
        return n;
}

static void erase_file(char **s) {
        erase_and_free(*s);
}

static char *to_crlf(const char *m) {
        char *out = calloc(2 * strlen(m) + 1, 1), *w = out;

        assert_non_null(out);
        for (const char *p = m; *p; p++) {
                if (*p == '\n')
                        *w++ = '\r';
                *w++ = *p;
        }
        return out;
}

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw) {
        return remove(path);
}

/* ---- rendering the shipped templates ---- */

static void check_rendered_headers(const char *m) {
        const char *date;

        assert_true(has_header(m, "From: " FROM "\n"));
        assert_true(has_header(m, "To: " TO "\n"));
        assert_true(has_header(m, "Message-ID: <"));
        assert_true(has_header(m, "MIME-Version: 1.0\n"));
        assert_true(has_header(m, "Content-Type: text/plain; charset=utf-8\n"));
        assert_true(has_header(m, "Content-Transfer-Encoding: 8bit\n"));
        assert_true(has_header(m, "Subject: "));
        assert_int_equal(count(m, "\nTo: "), 1);

        /* "Date: Thu, 01 Jan 2030 12:00:00 +0000" */
        assert_true(has_header(m, "Date: "));
        date = strstr(m, "Date: ") + 6;
        assert_int_equal(strcspn(date, "\n"), 31);
        assert_memory_equal(date + 3, ", ", 2);
        assert_memory_equal(date + 25, " +0000", 6);
}

static void test_render_shipped(void **state) {
        static const char *const names[] = { "confirm_new", "password_reset", "password_changed" };
        _cleanup_(config_freep) SauthConfig *c = test_config(TEMPLATES_DIR, "/bin/true");
        MailFields f = test_fields();

        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                _cleanup_(erase_file) char *m = NULL;
                _cleanup_free_ char *path = NULL, *tmpl = NULL;

                assert_true(asprintf(&path, "%s/%s.tmpl", TEMPLATES_DIR, names[i]) > 0);
                tmpl = read_file(path);
                assert_int_equal(mail_render(c, names[i], &f, &m), 0);

                check_rendered_headers(m);
                assert_null(strstr(m, "{{"));
                assert_null(strchr(m, '\r'));
                assert_int_equal(m[strlen(m) - 1], '\n');
                assert_int_equal(count(m, token), strstr(tmpl, "{{token}}") ? 1 : 0);
                assert_int_equal(count(m, "{{"), 0);
                assert_true(count(m, "alice") >= 1);
                assert_true(count(m, "Hello Alice Liddell,") == 1);
                if (strstr(tmpl, "{{uid}}"))
                        assert_true(count(m, "--uid 1042") == 1);
                if (strstr(tmpl, "{{expires}}"))
                        assert_true(count(m, "valid until 2030-01-01 12:00 UTC.") == 1);
        }
}

/* ---- rendering templates written here ---- */

static void test_render_custom(void **state) {
        _cleanup_free_ char *dir = make_dir("tmpl-custom");
        _cleanup_(config_freep) SauthConfig *c = test_config(dir, "/bin/true");
        _cleanup_(erase_file) char *m = NULL;
        MailFields f = test_fields();
        unsigned char decoded[64];
        const char *word;
        size_t len;

        /* CRLF line ends, a template To:, unknown placeholders, an unclosed
         * one, a non-ASCII subject, no newline at the end. */
        write_file(dir, "custom.tmpl",
                   "Subject: Grüße {{username}}\r\n"
                   "To: {{identity}}\r\n"
                   "X-Note: {{unknown}}\r\n"
                   "\r\n"
                   "Hi {{name}} {{nope}\r\n"
                   "{{token}}", 0644);
        /* A value is never expanded again. */
        f.name = "{{token}}";
        assert_int_equal(mail_render(c, "custom", &f, &m), 0);

        assert_int_equal(count(m, token), 1);
        assert_int_equal(count(m, "Hi {{token}} {{nope}\n"), 1);
        assert_true(has_header(m, "X-Note: {{unknown}}\n"));
        assert_true(has_header(m, "From: " FROM "\n"));
        assert_int_equal(count(m, "To: "), 1);
        assert_true(has_header(m, "To: " TO "\n"));
        assert_null(strchr(m, '\r'));
        assert_int_equal(m[strlen(m) - 1], '\n');

        /* The subject is one RFC 2047 word that decodes to the text. */
        assert_true(has_header(m, "Subject: =?utf-8?B?"));
        word = strstr(m, "Subject: =?utf-8?B?") + strlen("Subject: =?utf-8?B?");
        assert_int_equal(sodium_base642bin(decoded, sizeof decoded, word, strcspn(word, "?"), NULL,
                                           &len, NULL, sodium_base64_VARIANT_ORIGINAL), 0);
        assert_int_equal(len, strlen("Grüße alice"));
        assert_memory_equal(decoded, "Grüße alice", len);
}

static void test_render_long_subject(void **state) {
        _cleanup_free_ char *dir = make_dir("tmpl-long");
        _cleanup_(config_freep) SauthConfig *c = test_config(dir, "/bin/true");
        _cleanup_(erase_file) char *m = NULL;
        MailFields f = test_fields();
        char tmpl[256] = "Subject: ";

        /* 50 two-byte characters: more than one encoded word. */
        for (int i = 0; i < 50; i++)
                strcat(tmpl, "é");
        strcat(tmpl, "\n\nbody\n");
        write_file(dir, "long.tmpl", tmpl, 0644);
        assert_int_equal(mail_render(c, "long", &f, &m), 0);

        assert_true(has_header(m, "Subject: =?utf-8?B?"));
        assert_int_equal(count(m, "\n =?utf-8?B?"), 2);
        for (const char *p = m; *p; p += strcspn(p, "\n") + 1)
                assert_true(strcspn(p, "\n") <= 78);
}

static void test_render_bad_templates(void **state) {
        _cleanup_free_ char *dir = make_dir("tmpl-bad");
        _cleanup_(config_freep) SauthConfig *c = test_config(dir, "/bin/true");
        MailFields f = test_fields();
        char *big = malloc(70 * 1024 + 1);
        char *m = NULL;

        write_file(dir, "noblank.tmpl", "Subject: no blank line\n", 0644);
        write_file(dir, "notheader.tmpl", "Not a header\n\nbody\n", 0644);
        write_file(dir, "namedplaceholder.tmpl", "X-{{name}}: a\n\nbody\n", 0644);
        write_file(dir, "lonecr.tmpl", "Subject: a\rBcc: x@example.org\n\nbody\n", 0644);
        write_file(dir, "writable.tmpl", "Subject: a\n\nbody\n", 0666);
        assert_non_null(big);
        memcpy(big, "Subject: a\n\n", 12);
        memset(big + 12, 'x', 70 * 1024 - 12);
        big[70 * 1024] = '\0';
        write_file(dir, "big.tmpl", big, 0644);
        free(big);

        assert_int_equal(mail_render(c, "noblank", &f, &m), -EBADMSG);
        assert_int_equal(mail_render(c, "notheader", &f, &m), -EBADMSG);
        assert_int_equal(mail_render(c, "namedplaceholder", &f, &m), -EBADMSG);
        assert_int_equal(mail_render(c, "lonecr", &f, &m), -EBADMSG);
        assert_int_equal(mail_render(c, "writable", &f, &m), -EPERM);
        assert_int_equal(mail_render(c, "big", &f, &m), -EFBIG);
        assert_null(m);
}

static void test_render_bad_names(void **state) {
        _cleanup_(config_freep) SauthConfig *c = test_config(TEMPLATES_DIR, "/bin/true");
        static const char *const bad[] = {
                "../x", "a/b", "", "A", "confirm_new.tmpl", "../templates/confirm_new",
                "/etc/passwd", "a b", "a\nb",
                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", /* 65 */
        };
        MailFields f = test_fields();
        char *m = NULL;

        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                assert_int_equal(mail_render(c, bad[i], &f, &m), -EINVAL);
        assert_int_equal(mail_render(c, NULL, &f, &m), -EINVAL);
        assert_int_equal(mail_render(c, "no_such-template", &f, &m), -ENOENT);
        /* 64 characters is still a name. */
        assert_int_equal(mail_render(c, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", &f, &m),
                         -ENOENT);
        assert_null(m);
}

static void test_render_injection(void **state) {
        _cleanup_(config_freep) SauthConfig *c = test_config(TEMPLATES_DIR, "/bin/true");
        char long_name[300];
        MailFields f;
        char *m = NULL;

#define EXPECT_EINVAL(field, value)                                              \
        do {                                                                     \
                f = test_fields();                                               \
                f.field = (value);                                               \
                assert_int_equal(mail_render(c, "confirm_new", &f, &m), -EINVAL); \
        } while (0)

        EXPECT_EINVAL(name, "Alice\r\nBcc: evil@example.org");
        EXPECT_EINVAL(name, "Alice\nBcc: evil@example.org");
        EXPECT_EINVAL(name, "Alice\rX");
        EXPECT_EINVAL(username, "alice\n");
        EXPECT_EINVAL(token, "abc\r\ndef");
        EXPECT_EINVAL(uid, "1\n");
        EXPECT_EINVAL(expires, "\r");
        EXPECT_EINVAL(to, TO "\r\nBcc: evil@example.org");
        EXPECT_EINVAL(to, TO ", evil@example.org");
        EXPECT_EINVAL(to, "Alice <" TO ">");
        EXPECT_EINVAL(to, "no-at-sign");
        EXPECT_EINVAL(to, NULL);
        memset(long_name, 'a', sizeof long_name - 1);
        long_name[sizeof long_name - 1] = '\0';
        EXPECT_EINVAL(name, long_name);
#undef EXPECT_EINVAL

        f = test_fields();
        set_str(&c->mail_from, FROM "\nBcc: evil@example.org");
        assert_int_equal(mail_render(c, "confirm_new", &f, &m), -EINVAL);
        assert_null(m);
}

/* ---- sending through a command ---- */

static void test_send_command(void **state) {
        _cleanup_free_ char *dir = make_dir("capture"), *sender = NULL;
        _cleanup_(config_freep) SauthConfig *c = NULL;
        _cleanup_(erase_file) char *m = NULL, *got = NULL;
        MailFields f = test_fields();

        assert_true(asprintf(&sender, "%s  %s", CAPTURE_SCRIPT, dir) > 0);
        c = test_config(TEMPLATES_DIR, sender);
        assert_int_equal(mail_render(c, "confirm_new", &f, &m), 0);
        assert_int_equal(mail_send_blocking(c, TO, m), 0);

        got = read_single_message(dir);
        assert_non_null(got);
        assert_int_equal(strlen(got), strlen(m));
        assert_true(memcmp(got, m, strlen(m)) == 0);
        assert_int_equal(count(got, token), 1);
}

static void test_send_command_failures(void **state) {
        _cleanup_(config_freep) SauthConfig *c = test_config(TEMPLATES_DIR, "/bin/false");
        const char *msg = "Subject: x\n\nbody\n";

        assert_int_equal(mail_send_blocking(c, TO, msg), -EIO);

        /* The capture script fails on a folder that is not there, maybe
         * before it read anything. */
        set_str(&c->mail_sender, CAPTURE_SCRIPT "\t/nonexistent/dir");
        assert_int_equal(mail_send_blocking(c, TO, msg), -EIO);

        set_str(&c->mail_sender, "false");
        assert_int_equal(mail_send_blocking(c, TO, msg), -EINVAL);

        set_str(&c->mail_sender, "   ");
        assert_int_equal(mail_send_blocking(c, TO, msg), -EINVAL);

        set_str(&c->mail_sender, "/nonexistent/sendmail -t");
        assert_int_equal(mail_send_blocking(c, TO, msg), -ENOENT);

        set_str(&c->mail_sender, "/bin/cat");
        assert_int_equal(mail_send_blocking(c, "not an address", msg), -EINVAL);
        assert_int_equal(mail_send_blocking(c, TO, NULL), -EINVAL);
}

static void test_send_command_timeout(void **state) {
        _cleanup_(config_freep) SauthConfig *c = test_config(TEMPLATES_DIR, "/bin/sleep 60");

        c->mail_timeout = 1;
        assert_int_equal(mail_send_blocking(c, TO, "Subject: x\n\nbody\n"), -ETIMEDOUT);
}

/* ---- sending through SMTP ---- */

typedef struct Sink {
        pid_t pid;
        unsigned port;
        char *maildir;
        char *new_dir;
} Sink;

static void sink_child(const char *maildir, int out_fd) {
        char *argv[] = { (char *) "python3", (char *) "-I", (char *) SINK_SCRIPT, (char *) maildir, NULL };
        char *envp[] = { (char *) "PATH=/usr/bin:/bin", (char *) "LC_ALL=C.UTF-8", NULL };

        /* Dies with the test, whatever happens to it. */
        (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (dup2(out_fd, STDOUT_FILENO) < 0)
                _exit(127);
        execve(PYTHON, argv, envp);
        _exit(127);
}

/* Reads the port line the sink prints once it listens, waiting at most
 * 20 s; 0 if it does not come. */
static unsigned sink_read_port(int fd) {
        char buf[32] = "";
        size_t len = 0;

        for (int i = 0; i < 200 && !memchr(buf, '\n', len); i++) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                ssize_t k;

                if (poll(&p, 1, 100) <= 0)
                        continue;
                k = read(fd, buf + len, sizeof buf - 1 - len);
                if (k <= 0)
                        return 0;
                len += k;
        }
        return (unsigned) strtoul(buf, NULL, 10);
}

static bool port_accepts(unsigned port) {
        struct sockaddr_in a = {
                .sin_family = AF_INET,
                .sin_port = htons(port),
                .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
        };
        _cleanup_close_ int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

        return fd >= 0 && connect(fd, (struct sockaddr *) &a, sizeof a) == 0;
}

static void sink_start(Sink *s, const char *name) {
        int pipefd[2];

        if (access(PYTHON, X_OK) < 0)
                skip();
        s->maildir = make_dir(name);
        assert_true(asprintf(&s->new_dir, "%s/new", s->maildir) > 0);
        assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
        s->pid = fork();
        assert_true(s->pid >= 0);
        if (s->pid == 0)
                sink_child(s->maildir, pipefd[1]);
        close(pipefd[1]);
        s->port = sink_read_port(pipefd[0]);
        close(pipefd[0]);
        assert_true(s->port > 0 && s->port < 65536);

        for (int i = 0; i < 100 && !port_accepts(s->port); i++)
                (void) nanosleep(&(struct timespec) { .tv_nsec = 50 * 1000 * 1000 }, NULL);
        assert_true(port_accepts(s->port));
}

static void sink_stop(Sink *s) {
        if (s->pid > 0) {
                (void) kill(s->pid, SIGKILL);
                while (waitpid(s->pid, NULL, 0) < 0 && errno == EINTR)
                        ;
                s->pid = 0;
        }
        free(s->maildir);
        free(s->new_dir);
        *s = (Sink) {};
}

/* A port nothing listens on: bound by us, then closed. */
static unsigned closed_port(void) {
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t len = sizeof a;
        _cleanup_close_ int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

        assert_true(fd >= 0);
        assert_int_equal(bind(fd, (struct sockaddr *) &a, sizeof a), 0);
        assert_int_equal(getsockname(fd, (struct sockaddr *) &a, &len), 0);
        return ntohs(a.sin_port);
}

static void check_smtp_delivery(Sink *s, const char *m) {
        _cleanup_(erase_file) char *got = NULL, *crlf = to_crlf(m);
        const char *head = "X-Sink-Mail-From: " FROM "\r\nX-Sink-Rcpt-To: " TO "\r\nX-Sink-TLS: none\r\n";

        got = read_single_message(s->new_dir);
        assert_non_null(got);
        assert_true(strncmp(got, head, strlen(head)) == 0);
        assert_int_equal(strlen(got + strlen(head)), strlen(crlf));
        assert_true(memcmp(got + strlen(head), crlf, strlen(crlf)) == 0);
}

static void test_send_smtp(void **state) {
        _cleanup_(config_freep) SauthConfig *c = test_config(TEMPLATES_DIR, NULL);
        _cleanup_(erase_file) char *m = NULL;
        _cleanup_free_ char *url = NULL;
        MailFields f = test_fields();
        Sink s = {};

        sink_start(&s, "maildir-smtp");
        assert_true(asprintf(&url, "smtp://127.0.0.1:%u", s.port) > 0);
        set_str(&c->mail_sender, url);

        assert_int_equal(mail_render(c, "password_reset", &f, &m), 0);
        assert_int_equal(mail_send_blocking(c, TO, m), 0);
        check_smtp_delivery(&s, m);
        {
                _cleanup_(erase_file) char *got = read_single_message(s.new_dir);

                assert_int_equal(count(got, token), 1);
        }
        sink_stop(&s);
}

/* Lines that start with a dot, and a lone dot, arrive as they were. */
static void test_send_smtp_dots(void **state) {
        _cleanup_(config_freep) SauthConfig *c = test_config(TEMPLATES_DIR, NULL);
        _cleanup_free_ char *url = NULL;
        const char *m = "Subject: dots\n\n.leading dot\n..two\n.\nafter the dot\n";
        Sink s = {};

        sink_start(&s, "maildir-dots");
        assert_true(asprintf(&url, "smtp://127.0.0.1:%u", s.port) > 0);
        set_str(&c->mail_sender, url);
        assert_int_equal(mail_send_blocking(c, TO, m), 0);
        check_smtp_delivery(&s, m);
        sink_stop(&s);
}

/* Credentials: refused if others may read them; never sent without TLS,
 * and this sink offers none. smtps:// to it fails the handshake. */
static void test_send_smtp_refusals(void **state) {
        _cleanup_free_ char *dir = make_dir("creds"), *url = NULL, *creds = NULL, *tls = NULL;
        _cleanup_(config_freep) SauthConfig *c = test_config(TEMPLATES_DIR, NULL);
        const char *m = "Subject: x\n\nbody\n";
        Sink s = {};

        sink_start(&s, "maildir-refusals");
        assert_true(asprintf(&url, "smtp://127.0.0.1:%u", s.port) > 0);
        assert_true(asprintf(&creds, "%s/creds", dir) > 0);
        set_str(&c->mail_sender, url);
        set_str(&c->mail_credentials_file, creds);

        write_file(dir, "creds", "mailer:secret\n", 0666);
        assert_int_equal(mail_send_blocking(c, TO, m), -EPERM);
        /* Not writable by others, but readable: still refused, it is a secret. */
        assert_int_equal(chmod(creds, 0644), 0);
        assert_int_equal(mail_send_blocking(c, TO, m), -EPERM);
        assert_int_equal(chmod(creds, 0640), 0);
        assert_int_equal(mail_send_blocking(c, TO, m), -EPERM);
        assert_int_equal(chmod(creds, 0600), 0);
        assert_true(mail_send_blocking(c, TO, m) < 0);

        set_str(&c->mail_credentials_file, NULL);
        assert_true(asprintf(&tls, "smtps://127.0.0.1:%u", s.port) > 0);
        set_str(&c->mail_sender, tls);
        c->mail_timeout = 5;
        assert_true(mail_send_blocking(c, TO, m) < 0);

        assert_int_equal(count_files(s.new_dir), 0);
        sink_stop(&s);
}

static void test_send_smtp_down(void **state) {
        _cleanup_(config_freep) SauthConfig *c = test_config(TEMPLATES_DIR, NULL);
        _cleanup_free_ char *url = NULL;

        assert_true(asprintf(&url, "smtp://127.0.0.1:%u", closed_port()) > 0);
        set_str(&c->mail_sender, url);
        assert_int_equal(mail_send_blocking(c, TO, "Subject: x\n\nbody\n"), -ECONNREFUSED);

        /* Nothing but SMTP: another scheme is taken as a command, and
         * refused as one without an absolute path. */
        set_str(&c->mail_sender, "http://127.0.0.1:1/");
        assert_int_equal(mail_send_blocking(c, TO, "Subject: x\n\nbody\n"), -EINVAL);
}

/* ---- mail_send_async through a real pool ---- */

static int on_guard(sd_event_source *s, uint64_t usec, void *userdata) {
        return sd_event_exit(sd_event_source_get_event(s), -ETIMEDOUT);
}

static void on_idle(void *userdata) {
        (void) sd_event_exit(userdata, 0);
}

typedef struct SentLog {
        unsigned ok, failed;
        char reason[256];
} SentLog;

static void on_sent(void *userdata, int r, const char *reason) {
        SentLog *l = userdata;

        if (r >= 0) {
                assert_null(reason);
                l->ok++;
        } else {
                assert_non_null(reason);
                snprintf(l->reason, sizeof l->reason, "%s", reason);
                l->failed++;
        }
}

/* Renders TEMPLATE and hands N copies to a pool that takes at most
 * MAX_QUEUE, runs the loop until the pool is idle (a minute at most),
 * returns how many were taken; every taken one reports to LOG. */
static unsigned send_and_run(SauthConfig *c, const char *template, unsigned n, unsigned max_queue,
                             int expect_last, SentLog *log) {
        sd_event *e = NULL;
        Pool *p = NULL;
        MailFields f = test_fields();
        RequestTracker t = {};
        unsigned taken = 0;

        assert_true(sd_event_default(&e) >= 0);
        t.event = e;
        assert_int_equal(pool_new(e, "mail", 1, max_queue, &p), 0);
        pool_set_idle_callback(p, on_idle, e);
        assert_int_equal(sd_event_add_time_relative(e, NULL, CLOCK_MONOTONIC, 60 * 1000000ULL, 0,
                                                    on_guard, NULL), 0);
        for (unsigned i = 0; i < n; i++) {
                char *message = NULL;
                int r;

                assert_int_equal(mail_render(c, template, &f, &message), 0);
                r = mail_send_async(&t, p, c, template, TO, &message, on_sent, log);
                assert_null(message); /* taken in every case */
                if (i + 1 == n)
                        assert_int_equal(r, expect_last);
                if (r == 0)
                        taken++;
        }
        assert_int_equal(pool_pending(p), taken);
        if (taken > 0)
                assert_int_equal(sd_event_loop(e), 0);
        assert_int_equal(pool_pending(p), 0);
        assert_int_equal(t.alive, 0);
        assert_int_equal(log->ok + log->failed, taken);
        pool_free(p);
        sd_event_unref(e);
        return taken;
}

static void test_send_async(void **state) {
        _cleanup_free_ char *dir = make_dir("queue"), *sender = NULL;
        _cleanup_(config_freep) SauthConfig *c = NULL;
        _cleanup_(erase_file) char *got = NULL;
        SentLog log = {};

        assert_true(asprintf(&sender, "%s %s", CAPTURE_SCRIPT, dir) > 0);
        c = test_config(TEMPLATES_DIR, sender);

        /* A full pool refuses the second (the outbox keeps it); the first
         * is sent and reported. */
        assert_int_equal(send_and_run(c, "password_reset", 2, 1, -EBUSY, &log), 1);
        assert_int_equal(log.ok, 1);
        got = read_single_message(dir);
        assert_non_null(got);
        assert_int_equal(count(got, token), 1);
        assert_true(has_header(got, "To: " TO "\n"));

        /* A failing sender: reported with a reason that has no token. */
        log = (SentLog) {};
        set_str(&c->mail_sender, "/bin/false");
        assert_int_equal(send_and_run(c, "password_reset", 1, 4, 0, &log), 1);
        assert_int_equal(log.failed, 1);
        assert_non_null(strstr(log.reason, "exited with status 1"));
        assert_null(strstr(log.reason, token));
}

/* ---- main ---- */

static int setup(void **state) {
        unsigned char rnd[20];

        if (!mkdtemp(tmproot))
                return -1;
        if (getrandom(rnd, sizeof rnd, 0) != (ssize_t) sizeof rnd)
                return -1;
        token[0] = 'T';
        sodium_bin2hex(token + 1, sizeof token - 1, rnd, sizeof rnd);
        /* The SMTP cases call the sender directly: load libcurl as
         * mail_queue() does before it hands a message to the worker. */
        if (curl_loader_load() < 0)
                return -1;
        return mail_global_init();
}

static int teardown(void **state) {
        explicit_bzero(token, sizeof token);
        mail_global_done();
        return nftw(tmproot, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_render_shipped),
                cmocka_unit_test(test_render_custom),
                cmocka_unit_test(test_render_long_subject),
                cmocka_unit_test(test_render_bad_templates),
                cmocka_unit_test(test_render_bad_names),
                cmocka_unit_test(test_render_injection),
                cmocka_unit_test(test_send_command),
                cmocka_unit_test(test_send_command_failures),
                cmocka_unit_test(test_send_command_timeout),
                cmocka_unit_test(test_send_smtp),
                cmocka_unit_test(test_send_smtp_dots),
                cmocka_unit_test(test_send_smtp_refusals),
                cmocka_unit_test(test_send_smtp_down),
                cmocka_unit_test(test_send_async),
        };

        return cmocka_run_group_tests(tests, setup, teardown);
}
