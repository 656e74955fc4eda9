/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Sending a rendered message: a command fed on stdin, or SMTP through libcurl. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>

#include "fsutil.h"
#include "curl-loader.h"
#include "mail-internal.h"
#include "mail.h"
#include "log.h"
#include "util.h"

#define MAIL_CREDENTIALS_MAX 1024
#define MAIL_ARGS_MAX        32
#define MAIL_TIMEOUT_DEFAULT 30U        /* seconds */

/* The sender never inherits the daemon's environment: a fixed PATH is all
 * sendmail and its friends need. */
#define MAIL_SPAWN_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* Milliseconds for poll() until DEADLINE (a now_usec() time), rounded up;
 * 0 once it has passed. */
static int mail_ms_left(uint64_t deadline) {
        uint64_t now = now_usec(), ms;

        if (now >= deadline)
                return 0;
        ms = (deadline - now + 999) / 1000;
        return ms > INT32_MAX ? INT32_MAX : (int) ms;
}

static const char *mail_strerror(int r) {
        const char *s = strerrordesc_np(r < 0 ? -r : r);

        return s ?: "unknown error";
}

static bool mail_sender_is_smtp(const char *sender) {
        return strncmp(sender, "smtp://", 7) == 0 || strncmp(sender, "smtps://", 8) == 0;
}

/* ---- sending through a command ---- */

/* Splits on blanks, without a shell: no quoting, no expansion. The program
 * must be named by an absolute path; the daemon has no useful PATH. */
static int mail_command_split(const char *cmd, char ***ret) {
        _cleanup_strv_free_ char **argv = NULL;
        size_t n = 0;

        argv = calloc(MAIL_ARGS_MAX + 1, sizeof *argv);
        if (!argv)
                return -ENOMEM;
        for (const char *p = cmd;;) {
                size_t k;

                p += strspn(p, " \t");
                if (!*p)
                        break;
                if (n >= MAIL_ARGS_MAX)
                        return -E2BIG;
                k = strcspn(p, " \t");
                argv[n] = strndup(p, k);
                if (!argv[n])
                        return -ENOMEM;
                n++;
                p += k;
        }
        if (n == 0 || argv[0][0] != '/')
                return -EINVAL;
        *ret = TAKE_PTR(argv);
        return 0;
}

/* stdin is our socket, stdout and stderr /dev/null, no other descriptor.
 * Workers block all signals and the daemon ignores SIGPIPE; the child gets
 * neither. Its own process group lets a timeout kill what it started. */
static int mail_spawn(char **argv, int stdin_fd, pid_t *ret) {
        char *envp[] = { (char *) MAIL_SPAWN_PATH, NULL };
        posix_spawn_file_actions_t fa;
        posix_spawnattr_t attr;
        sigset_t none, all;
        int r;

        sigemptyset(&none);
        sigfillset(&all);
        r = posix_spawn_file_actions_init(&fa);
        if (r != 0)
                return -r;
        r = posix_spawnattr_init(&attr);
        if (r != 0) {
                posix_spawn_file_actions_destroy(&fa);
                return -r;
        }

        r = posix_spawn_file_actions_adddup2(&fa, stdin_fd, STDIN_FILENO);
        if (r == 0)
                r = posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
        if (r == 0)
                r = posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
        if (r == 0)
                r = posix_spawn_file_actions_addclosefrom_np(&fa, STDERR_FILENO + 1);
        if (r == 0)
                r = posix_spawnattr_setsigmask(&attr, &none);
        if (r == 0)
                r = posix_spawnattr_setsigdefault(&attr, &all);
        if (r == 0)
                r = posix_spawnattr_setpgroup(&attr, 0);
        if (r == 0)
                r = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
                                                    POSIX_SPAWN_SETPGROUP);
        if (r == 0)
                r = posix_spawn(ret, argv[0], &fa, &attr, argv, envp);

        posix_spawnattr_destroy(&attr);
        posix_spawn_file_actions_destroy(&fa);
        return -r;
}

/* MSG_NOSIGNAL: a child that quits early gives EPIPE, never SIGPIPE, even
 * where SIGPIPE is not ignored (tests). */
static int mail_write_all(int fd, const char *data, size_t len, uint64_t deadline) {
        while (len > 0) {
                struct pollfd p = { .fd = fd, .events = POLLOUT };
                ssize_t k;
                int ms = mail_ms_left(deadline);

                if (ms == 0)
                        return -ETIMEDOUT;
                if (poll(&p, 1, ms) < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                k = send(fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (k < 0) {
                        if (errno == EINTR || errno == EAGAIN)
                                continue;
                        return -errno;
                }
                data += k;
                len -= k;
        }
        return 0;
}

/* Waits for PID until DEADLINE. A pidfd wakes us when it exits; where
 * there is none, short sleeps do. */
static int mail_wait_child(pid_t pid, uint64_t deadline, int *ret_status) {
        _cleanup_close_ int pfd = pidfd_open(pid, 0);

        for (;;) {
                int status, ms;
                pid_t w = waitpid(pid, &status, WNOHANG);

                if (w == pid) {
                        *ret_status = status;
                        return 0;
                }
                if (w < 0 && errno != EINTR)
                        return -errno;
                ms = mail_ms_left(deadline);
                if (ms == 0)
                        return -ETIMEDOUT;
                if (pfd >= 0)
                        (void) poll(&(struct pollfd) { .fd = pfd, .events = POLLIN }, 1, ms);
                else
                        (void) nanosleep(&(struct timespec) { .tv_nsec = 10 * 1000 * 1000 }, NULL);
        }
}

static void mail_kill_child(pid_t pid) {
        (void) kill(-pid, SIGKILL);
        (void) kill(pid, SIGKILL);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                ;
}

static int mail_command_result(const char *prog, int status, int write_r, char *reason, size_t size) {
        if (WIFSIGNALED(status)) {
                snprintf(reason, size, "%s killed by signal %d", prog, WTERMSIG(status));
                return -EIO;
        }
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                snprintf(reason, size, "%s exited with status %d", prog, WEXITSTATUS(status));
                return -EIO;
        }
        if (write_r < 0) {
                snprintf(reason, size, "%s did not read the whole message: %s", prog,
                         mail_strerror(write_r));
                return write_r;
        }
        return 0;
}

static int mail_send_command(const MailSender *s, const char *message, char *reason, size_t size) {
        _cleanup_strv_free_ char **argv = NULL;
        _cleanup_close_ int ours = -1, theirs = -1;
        int pair[2], status = 0, r, w;
        uint64_t deadline;
        pid_t pid;

        r = mail_command_split(s->sender, &argv);
        if (r == -EINVAL)
                snprintf(reason, size, "sender is not a command with an absolute path");
        else if (r == -E2BIG)
                snprintf(reason, size, "sender has more than %d words", MAIL_ARGS_MAX);
        if (r < 0)
                return r;
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0)
                return -errno;
        ours = pair[0];
        theirs = pair[1];

        r = mail_spawn(argv, theirs, &pid);
        if (r < 0) {
                snprintf(reason, size, "cannot run %s: %s", argv[0], mail_strerror(r));
                return r;
        }
        closep(&theirs);
        theirs = -1;

        deadline = now_usec() + (uint64_t) s->timeout * 1000000;
        w = mail_write_all(ours, message, strlen(message), deadline);
        closep(&ours); /* end of the message */
        ours = -1;

        r = mail_wait_child(pid, deadline, &status);
        if (r == -ETIMEDOUT) {
                mail_kill_child(pid);
                snprintf(reason, size, "%s took longer than %u s, killed", argv[0], s->timeout);
                return r;
        }
        if (r < 0)
                return r;
        return mail_command_result(argv[0], status, w, reason, size);
}

/* ---- sending through SMTP ---- */

static inline void curl_easy_cleanupp(CURL **h) {
        if (*h)
                sym_curl_easy_cleanup(*h);
}

static inline void curl_slist_free_allp(struct curl_slist **l) {
        if (*l)
                sym_curl_slist_free_all(*l);
}

typedef struct MailUpload {
        const char *data;
        size_t len;
        size_t pos;
} MailUpload;

static size_t mail_curl_read(char *buf, size_t size, size_t nitems, void *userdata) {
        MailUpload *u = userdata;
        size_t n = size * nitems;

        if (n > u->len - u->pos)
                n = u->len - u->pos;
        memcpy(buf, u->data + u->pos, n);
        u->pos += n;
        return n;
}

/* SMTP wants CRLF line ends; a CRLF already there stays one. */
static int mail_to_crlf(const char *message, MailBuf *out) {
        int r = 0;

        for (const char *p = message; *p && r == 0;) {
                size_t k = strcspn(p, "\n");

                if (k > 0 && p[k - 1] == '\r')
                        k--;
                r = mail_buf_append(out, p, k);
                p += k;
                if (*p == '\r')
                        p++;
                if (*p == '\n') {
                        p++;
                        if (r == 0)
                                r = mail_buf_append(out, "\r\n", 2);
                }
        }
        return r;
}

/* "user:password" from a file only its owner may read or write, read
 * without stdio so no buffer of the library keeps a copy. */
static int mail_read_credentials(const char *path, char *buf, size_t size, char **ret_password,
                                 char *reason, size_t reason_size) {
        _cleanup_fclose_ FILE *f = NULL;
        char *colon;
        size_t len;
        int r;

        r = fopen_secret(path, &f, reason, reason_size);
        if (r < 0)
                return r;
        r = mail_read_fd(fileno(f), buf, size - 1, &len);
        if (r < 0) {
                snprintf(reason, reason_size, "%s: %s", path, mail_strerror(r));
                return r;
        }
        buf[len] = '\0';
        buf[strcspn(buf, "\r\n")] = '\0';
        colon = strchr(buf, ':');
        if (!colon || colon == buf) {
                snprintf(reason, reason_size, "%s: not user:password", path);
                return -EINVAL;
        }
        *colon = '\0';
        *ret_password = colon + 1;
        return 0;
}

/* Credentials are never sent in clear: with them, smtp:// needs STARTTLS
 * (a stripped STARTTLS offer must not downgrade us); without, it is used
 * when offered. smtps:// is TLS from the start. */
static CURLcode mail_curl_setup_auth(CURL *h, const MailSender *s, char *reason, size_t size, int *ret) {
        char creds[MAIL_CREDENTIALS_MAX + 1], *password;
        CURLcode rc = CURLE_OK;
        bool tls = strncmp(s->sender, "smtps://", 8) == 0;

        if (!isempty(s->credentials_file)) {
                *ret = mail_read_credentials(s->credentials_file, creds, sizeof creds, &password,
                                             reason, size);
                if (*ret < 0) {
                        explicit_bzero(creds, sizeof creds);
                        return CURLE_LOGIN_DENIED;
                }
                /* libcurl keeps its own copies. */
                rc = sym_curl_easy_setopt(h, CURLOPT_USERNAME, creds);
                if (rc == CURLE_OK)
                        rc = sym_curl_easy_setopt(h, CURLOPT_PASSWORD, password);
                explicit_bzero(creds, sizeof creds);
                tls = true;
        }
        if (rc == CURLE_OK)
                rc = sym_curl_easy_setopt(h, CURLOPT_USE_SSL, (long) (tls ? CURLUSESSL_ALL : CURLUSESSL_TRY));
        /* A relay with a private CA: its certificates instead of the
         * system store. Verification itself stays on, always. */
        if (rc == CURLE_OK && !isempty(s->ca_file))
                rc = sym_curl_easy_setopt(h, CURLOPT_CAINFO, s->ca_file);
        return rc;
}

static CURLcode mail_curl_setup(CURL *h, const MailSender *s, const char *from,
                                struct curl_slist *rcpt, MailUpload *u) {
        long timeout = s->timeout;
        CURLcode rc;

        rc = sym_curl_easy_setopt(h, CURLOPT_URL, s->sender);
#if LIBCURL_VERSION_NUM >= 0x075500
        if (rc == CURLE_OK)
                rc = sym_curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
#else
        if (rc == CURLE_OK)
                rc = sym_curl_easy_setopt(h, CURLOPT_PROTOCOLS, (long) (CURLPROTO_SMTP | CURLPROTO_SMTPS));
#endif
        if (rc == CURLE_OK)
                rc = sym_curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
        /* Signals for timeouts would hit a random thread of the daemon. */
        if (rc == CURLE_OK)
                rc = sym_curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        if (rc == CURLE_OK)
                rc = sym_curl_easy_setopt(h, CURLOPT_TIMEOUT, timeout);
        if (rc == CURLE_OK)
                rc = sym_curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, timeout);
        if (rc == CURLE_OK)
                rc = sym_curl_easy_setopt(h, CURLOPT_MAIL_FROM, from);
        if (rc == CURLE_OK)
                rc = sym_curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt);
        if (rc == CURLE_OK)
                rc = sym_curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        if (rc == CURLE_OK)
                rc = sym_curl_easy_setopt(h, CURLOPT_READFUNCTION, mail_curl_read);
        if (rc == CURLE_OK)
                rc = sym_curl_easy_setopt(h, CURLOPT_READDATA, u);
        return rc;
}

static int mail_curl_errno(CURLcode rc) {
        switch (rc) {
        case CURLE_OK:
                return 0;
        case CURLE_OUT_OF_MEMORY:
                return -ENOMEM;
        case CURLE_OPERATION_TIMEDOUT:
                return -ETIMEDOUT;
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_CONNECT:
                return -ECONNREFUSED;
        case CURLE_LOGIN_DENIED:
                return -EACCES;
        case CURLE_URL_MALFORMAT:
        case CURLE_UNSUPPORTED_PROTOCOL:
        case CURLE_UNKNOWN_OPTION:
                return -EINVAL;
        default:
                return -EIO;
        }
}

/* The reason names libcurl's error and the server's reply code, never the
 * server's text: it may quote the recipient. */
static int mail_send_smtp(const MailSender *s, const char *to, const char *message,
                          char *reason, size_t size) {
        _cleanup_(curl_easy_cleanupp) CURL *h = NULL;
        _cleanup_(curl_slist_free_allp) struct curl_slist *rcpt = NULL;
        _cleanup_(mail_buf_wipe) MailBuf crlf = {};
        char addr[MAIL_ADDRESS_MAX + 1], from[MAIL_ADDRESS_MAX + 3], to_path[MAIL_ADDRESS_MAX + 3];
        MailUpload u;
        CURLcode rc;
        long code = 0;
        int r = 0;

        if (mail_envelope_address(s->from, addr, sizeof addr) < 0) {
                snprintf(reason, size, "[mail] from has no usable address");
                return -EINVAL;
        }
        snprintf(from, sizeof from, "<%s>", addr);
        snprintf(to_path, sizeof to_path, "<%s>", to);

        r = mail_to_crlf(message, &crlf);
        if (r < 0)
                return r;
        u = (MailUpload) { .data = crlf.data, .len = crlf.len };

        if (!curl_loader_loaded()) {
                snprintf(reason, size, "smtp: libcurl could not be loaded");
                return -EOPNOTSUPP;
        }
        h = sym_curl_easy_init();
        rcpt = sym_curl_slist_append(NULL, to_path);
        if (!h || !rcpt)
                return -ENOMEM;

        rc = mail_curl_setup(h, s, from, rcpt, &u);
        if (rc == CURLE_OK)
                rc = mail_curl_setup_auth(h, s, reason, size, &r);
        if (r < 0)
                return r;
        if (rc == CURLE_OK)
                rc = sym_curl_easy_perform(h);
        if (rc != CURLE_OK) {
                (void) sym_curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
                snprintf(reason, size, "smtp: %s (reply %ld)", sym_curl_easy_strerror(rc), code);
                return mail_curl_errno(rc);
        }
        return 0;
}

/* ---- entry points ---- */

int mail_send_logged(const MailSender *s, const char *to, const char *message, const char *label) {
        char reason[MAIL_REASON_MAX];

        return mail_send_reason(s, to, message, label, reason, sizeof reason);
}

int mail_send_reason(const MailSender *s, const char *to, const char *message, const char *label,
                     char *reason, size_t size) {
        int r;

        reason[0] = '\0';

        if (!message || !mail_address_valid(to)) {
                snprintf(reason, size, "no message or no valid recipient");
                r = -EINVAL;
        } else if (isempty(s->sender)) {
                snprintf(reason, size, "no [mail] sender");
                r = -EINVAL;
        } else if (mail_sender_is_smtp(s->sender))
                r = mail_send_smtp(s, to, message, reason, size);
        else
                r = mail_send_command(s, message, reason, size);

        if (r < 0) {
                if (!reason[0])
                        snprintf(reason, size, "%s", mail_strerror(r));
                log_error("mail: sending %s failed: %s", label ?: "message", reason);
        }
        return r;
}

unsigned mail_send_timeout(unsigned configured) {
        return configured > 0 ? configured : MAIL_TIMEOUT_DEFAULT;
}

int mail_send_blocking(const SauthConfig *c, const char *to, const char *message) {
        MailSender s;

        if (!c)
                return -EINVAL;
        s = (MailSender) {
                .sender = c->mail_sender,
                .from = c->mail_from,
                .credentials_file = c->mail_credentials_file,
                .ca_file = c->mail_ca_file,
                .timeout = mail_send_timeout(c->mail_timeout),
        };
        return mail_send_logged(&s, to, message, NULL);
}
