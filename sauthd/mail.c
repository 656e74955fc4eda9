/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <spawn.h>
#include <stdint.h>
#include <sys/pidfd.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "fsutil.h"
#include "mail.h"
#include "sauth-names.h"
#include "util.h"

#define MAIL_TEMPLATE_NAME_MAX 64
#define MAIL_TEMPLATE_MAX      (64U * 1024U)    /* bytes of one template file */
#define MAIL_MESSAGE_MAX       (256U * 1024U)   /* bytes of one rendered message */
#define MAIL_ADDRESS_MAX       254              /* RFC 5321 path limit */
#define MAIL_CREDENTIALS_MAX   1024
#define MAIL_ARGS_MAX          32
#define MAIL_TIMEOUT_DEFAULT   30U

/* The sender never inherits the daemon's environment: a fixed PATH is all
 * sendmail and its friends need. */
#define MAIL_SPAWN_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* Headers added when the template lacks them; the bit says it has one. */
enum {
        HAVE_FROM         = 1 << 0,
        HAVE_TO           = 1 << 1,
        HAVE_DATE         = 1 << 2,
        HAVE_MESSAGE_ID   = 1 << 3,
        HAVE_MIME_VERSION = 1 << 4,
        HAVE_CONTENT_TYPE = 1 << 5,
        HAVE_CTE          = 1 << 6,
};

static const struct {
        const char *name;
        unsigned bit;
} mail_known_headers[] = {
        { "From",                      HAVE_FROM },
        { "To",                        HAVE_TO },
        { "Date",                      HAVE_DATE },
        { "Message-ID",                HAVE_MESSAGE_ID },
        { "MIME-Version",              HAVE_MIME_VERSION },
        { "Content-Type",              HAVE_CONTENT_TYPE },
        { "Content-Transfer-Encoding", HAVE_CTE },
};

/* Headers holding addresses are never RFC 2047-encoded: an encoded word is
 * not allowed in an addr-spec. */
static const char *const mail_address_headers[] = {
        "From", "To", "Cc", "Bcc", "Reply-To", "Sender",
};

int mail_global_init(void) {
        return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -EIO;
}

void mail_global_done(void) {
        curl_global_cleanup();
}

/* ---- growing buffer for text that may hold the token ---- */

/* realloc() would leave copies of the token in freed memory, so growing
 * copies by hand and wipes the old block. */
typedef struct MailBuf {
        char *data;
        size_t len;
        size_t size;
} MailBuf;

static void mail_buf_wipe(MailBuf *b) {
        if (b->data) {
                explicit_bzero(b->data, b->size);
                free(b->data);
        }
        *b = (MailBuf) {};
}

static int mail_buf_append(MailBuf *b, const char *s, size_t n) {
        if (n >= MAIL_MESSAGE_MAX || b->len + n >= MAIL_MESSAGE_MAX)
                return -E2BIG;

        if (b->len + n + 1 > b->size) {
                size_t size = b->size ? b->size : 1024;
                char *d;

                while (size < b->len + n + 1)
                        size *= 2;
                d = malloc(size);
                if (!d)
                        return -ENOMEM;
                if (b->data) {
                        memcpy(d, b->data, b->len);
                        explicit_bzero(b->data, b->size);
                        free(b->data);
                }
                b->data = d;
                b->size = size;
        }
        memcpy(b->data + b->len, s, n);
        b->len += n;
        b->data[b->len] = '\0';
        return 0;
}

static int mail_buf_puts(MailBuf *b, const char *s) {
        return mail_buf_append(b, s, strlen(s));
}

/* ---- checks of names, fields and addresses ---- */

static bool ascii_caseeq(const char *a, size_t n, const char *b) {
        if (strlen(b) != n)
                return false;
        for (size_t i = 0; i < n; i++) {
                char x = a[i], y = b[i];

                if (x >= 'A' && x <= 'Z')
                        x += 'a' - 'A';
                if (y >= 'A' && y <= 'Z')
                        y += 'a' - 'A';
                if (x != y)
                        return false;
        }
        return true;
}

static bool mail_template_name_valid(const char *name) {
        size_t n;

        if (!name)
                return false;
        n = strnlen(name, MAIL_TEMPLATE_NAME_MAX + 1);
        if (n == 0 || n > MAIL_TEMPLATE_NAME_MAX)
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = name[i];

                if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
                        return false;
        }
        return true;
}

/* A field may end up in a header: CR or LF would start a new header (Bcc:
 * an attacker), other control characters have no business there either. */
static int mail_field_check(const char *v, size_t max) {
        size_t n;

        if (!v)
                return 0;
        n = strnlen(v, max + 1);
        if (n > max)
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                unsigned char c = v[i];

                if ((c < 0x20 && c != '\t') || c == 0x7f)
                        return -EINVAL;
        }
        return 0;
}

/* One plain addr-spec, nothing that could smuggle in a second recipient
 * (',' ';'), a display name or a comment. */
static bool mail_address_valid(const char *a) {
        const char *at;
        size_t n;

        if (!a)
                return false;
        n = strnlen(a, MAIL_ADDRESS_MAX + 1);
        if (n < 3 || n > MAIL_ADDRESS_MAX)
                return false;
        at = strchr(a, '@');
        if (!at || at == a || !at[1] || strchr(at + 1, '@'))
                return false;
        for (size_t i = 0; i < n; i++) {
                unsigned char c = a[i];

                if (c <= 0x20 || c == 0x7f || strchr("<>()[],;:\"\\", c))
                        return false;
        }
        return true;
}

static int mail_fields_check(const SauthConfig *c, const MailFields *f) {
        int r;

        if (!c || !f || !mail_address_valid(f->to))
                return -EINVAL;
        if (isempty(c->mail_from) || mail_field_check(c->mail_from, SAUTH_TEXT_MAX) < 0)
                return -EINVAL;
        r = mail_field_check(f->token, SAUTH_TOKEN_MAX);
        if (r == 0)
                r = mail_field_check(f->username, SAUTH_TEXT_MAX);
        if (r == 0)
                r = mail_field_check(f->name, SAUTH_TEXT_MAX);
        if (r == 0)
                r = mail_field_check(f->uid, SAUTH_TEXT_MAX);
        if (r == 0)
                r = mail_field_check(f->expires, SAUTH_TEXT_MAX);
        return r;
}

/* The address inside "Name <addr>", or the whole string. Writes into buf. */
static int mail_envelope_address(const char *from, char *buf, size_t size) {
        const char *lt = from ? strrchr(from, '<') : NULL, *start = from;
        size_t n;

        if (!from)
                return -EINVAL;
        if (lt) {
                const char *gt = strchr(lt, '>');

                if (!gt)
                        return -EINVAL;
                start = lt + 1;
                n = gt - start;
        } else
                n = strlen(from);
        if (n >= size)
                return -EINVAL;
        memcpy(buf, start, n);
        buf[n] = '\0';
        return mail_address_valid(buf) ? 0 : -EINVAL;
}

/* ---- template reading and parsing ---- */

static int mail_read_fd(int fd, char *buf, size_t max, size_t *ret_len) {
        size_t len = 0;

        /* One byte more than allowed tells a full file from a too long one. */
        while (len <= max) {
                ssize_t k = read(fd, buf + len, max + 1 - len);

                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        break;
                len += k;
        }
        if (len > max)
                return -EFBIG;
        *ret_len = len;
        return 0;
}

static int mail_template_read(const char *dir, const char *name, char **ret) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        _cleanup_close_ int fd = -1;
        char msg[512];
        size_t len;
        int r;

        if (isempty(dir))
                return -EINVAL;
        if (asprintf(&path, "%s/%s.tmpl", dir, name) < 0)
                return -ENOMEM;

        /* O_NONBLOCK: a FIFO in its place must not hang a worker. */
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return -errno;

        /* A template anyone else can write could add a Bcc: and collect
         * every reset token, so it gets the same check as the config. */
        r = fd_check_secure(fd, path, msg, sizeof msg);
        if (r < 0) {
                fprintf(stderr, "mail: %s\n", msg);
                return r;
        }

        text = malloc(MAIL_TEMPLATE_MAX + 1);
        if (!text)
                return -ENOMEM;
        r = mail_read_fd(fd, text, MAIL_TEMPLATE_MAX, &len);
        if (r < 0)
                return r;
        if (memchr(text, '\0', len))
                return -EBADMSG;
        text[len] = '\0';

        *ret = TAKE_PTR(text);
        return 0;
}

typedef struct MailTemplate {
        const char *headers;    /* header lines, each ending in \n */
        size_t headers_len;
        const char *body;
        size_t body_len;
        unsigned have;          /* HAVE_* */
} MailTemplate;

/* CRLF becomes LF, in place. A lone CR is refused: it would turn into a
 * line break somewhere down the line. */
static int mail_normalize_newlines(char *text) {
        char *w = text;

        for (const char *p = text; *p; p++) {
                if (*p == '\r') {
                        if (p[1] != '\n')
                                return -EBADMSG;
                        continue;
                }
                *w++ = *p;
        }
        *w = '\0';
        return 0;
}

/* Length of a header name ending in ':' at the start of LINE, or 0. No
 * braces: a placeholder in a name could make it any header at all. */
static size_t mail_header_name_len(const char *line, size_t n) {
        size_t i = 0;

        while (i < n && line[i] > ' ' && line[i] < 0x7f && !strchr(":{}", line[i]))
                i++;
        return (i > 0 && i < n && line[i] == ':') ? i : 0;
}

static int mail_template_scan_headers(MailTemplate *t) {
        const char *p = t->headers, *end = t->headers + t->headers_len;

        for (bool first = true; p < end; first = false) {
                const char *nl = memchr(p, '\n', end - p);
                size_t n = nl - p, k;

                if (*p == ' ' || *p == '\t') {
                        if (first)
                                return -EBADMSG;
                } else {
                        k = mail_header_name_len(p, n);
                        if (k == 0)
                                return -EBADMSG;
                        for (size_t i = 0; i < ELEMENTSOF(mail_known_headers); i++)
                                if (ascii_caseeq(p, k, mail_known_headers[i].name))
                                        t->have |= mail_known_headers[i].bit;
                }
                p = nl + 1;
        }
        return 0;
}

static int mail_template_parse(char *text, MailTemplate *ret) {
        MailTemplate t = {};
        const char *sep;
        int r;

        r = mail_normalize_newlines(text);
        if (r < 0)
                return r;

        /* Headers, one blank line, body. A template without the blank line
         * is ambiguous and refused. */
        if (text[0] == '\n')
                sep = text;
        else {
                sep = strstr(text, "\n\n");
                if (!sep)
                        return -EBADMSG;
                sep++;
        }
        t.headers = text;
        t.headers_len = sep - text;
        t.body = sep + 1;
        t.body_len = strlen(t.body);

        r = mail_template_scan_headers(&t);
        if (r < 0)
                return r;
        *ret = t;
        return 0;
}

/* ---- rendering ---- */

static bool mail_field_lookup(const MailFields *f, const char *key, size_t n, const char **ret) {
        const struct {
                const char *name;
                const char *value;
        } table[] = {
                { "token",    f->token },
                { "username", f->username },
                { "name",     f->name },
                { "identity", f->to },
                { "uid",      f->uid },
                { "expires",  f->expires },
        };

        for (size_t i = 0; i < ELEMENTSOF(table); i++)
                if (strlen(table[i].name) == n && memcmp(table[i].name, key, n) == 0) {
                        *ret = table[i].value ?: "";
                        return true;
                }
        return false;
}

/* Replaces known {{placeholders}} in S. Values are inserted, never scanned
 * again, so a name of "{{token}}" stays text. Unknown ones stay as they are. */
static int mail_expand(MailBuf *b, const char *s, size_t n, const MailFields *f) {
        size_t i = 0;
        int r;

        while (i < n) {
                const char *open = memmem(s + i, n - i, "{{", 2), *close, *value;
                size_t o;

                if (!open)
                        return mail_buf_append(b, s + i, n - i);
                o = open - s;
                r = mail_buf_append(b, s + i, o - i);
                if (r < 0)
                        return r;

                close = memmem(open + 2, n - o - 2, "}}", 2);
                if (close && mail_field_lookup(f, open + 2, close - open - 2, &value)) {
                        r = mail_buf_puts(b, value);
                        i = close + 2 - s;
                } else {
                        r = mail_buf_append(b, "{{", 2);
                        i = o + 2;
                }
                if (r < 0)
                        return r;
        }
        return 0;
}

static bool mail_has_8bit(const char *s, size_t n) {
        for (size_t i = 0; i < n; i++)
                if ((unsigned char) s[i] >= 0x80)
                        return true;
        return false;
}

/* Writes S as RFC 2047 base64 encoded words, folded. 39 bytes make a word
 * of 64 characters, so a line with a header name stays under 76; chunks
 * end on UTF-8 character boundaries. */
#define MAIL_WORD_BYTES 39
static int mail_encode_words(MailBuf *b, const char *s, size_t n) {
        char b64[sodium_base64_ENCODED_LEN(MAIL_WORD_BYTES, sodium_base64_VARIANT_ORIGINAL)];
        int r = 0;

        for (size_t i = 0; i < n && r == 0;) {
                size_t k = n - i < MAIL_WORD_BYTES ? n - i : MAIL_WORD_BYTES;

                while (k > 1 && i + k < n && ((unsigned char) s[i + k] & 0xc0) == 0x80)
                        k--;
                sodium_bin2base64(b64, sizeof b64, (const unsigned char *) s + i, k,
                                  sodium_base64_VARIANT_ORIGINAL);
                r = mail_buf_puts(b, i > 0 ? "\n =?utf-8?B?" : "=?utf-8?B?");
                if (r == 0)
                        r = mail_buf_puts(b, b64);
                if (r == 0)
                        r = mail_buf_puts(b, "?=");
                i += k;
        }
        explicit_bzero(b64, sizeof b64);
        return r;
}

static bool mail_is_address_header(const char *line, size_t k) {
        for (size_t i = 0; i < ELEMENTSOF(mail_address_headers); i++)
                if (ascii_caseeq(line, k, mail_address_headers[i]))
                        return true;
        return false;
}

/* One header line of the template: placeholders replaced, and the value
 * encoded if it is not plain ASCII and not an address. */
static int mail_render_header_line(MailBuf *b, const char *line, size_t n, bool *address,
                                   const MailFields *f) {
        _cleanup_(mail_buf_wipe) MailBuf x = {};
        size_t prefix;
        int r;

        r = mail_expand(&x, line, n, f);
        if (r < 0)
                return r;
        if (x.len == 0)
                return mail_buf_puts(b, "\n");

        if (x.data[0] == ' ' || x.data[0] == '\t')
                prefix = strspn(x.data, " \t");
        else {
                prefix = mail_header_name_len(x.data, x.len);
                *address = mail_is_address_header(x.data, prefix);
                prefix += 1 + strspn(x.data + prefix + 1, " \t");
        }

        if (*address || !mail_has_8bit(x.data + prefix, x.len - prefix))
                r = mail_buf_append(b, x.data, x.len);
        else {
                r = mail_buf_append(b, x.data, prefix);
                if (r == 0)
                        r = mail_encode_words(b, x.data + prefix, x.len - prefix);
        }
        if (r == 0)
                r = mail_buf_puts(b, "\n");
        return r;
}

static int mail_render_template_headers(MailBuf *b, const MailTemplate *t, const MailFields *f) {
        const char *p = t->headers, *end = t->headers + t->headers_len;
        bool address = false;
        int r;

        while (p < end) {
                const char *nl = memchr(p, '\n', end - p);

                r = mail_render_header_line(b, p, nl - p, &address, f);
                if (r < 0)
                        return r;
                p = nl + 1;
        }
        return 0;
}

/* RFC 5322 date in UTC. Names spelled out: strftime() would follow the
 * locale. */
static void mail_format_date(char *buf, size_t size) {
        static const char days[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
        static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
        time_t now = time(NULL);
        struct tm tm;

        if (!gmtime_r(&now, &tm))
                tm = (struct tm) { .tm_mday = 1, .tm_year = 70, .tm_wday = 4 };
        snprintf(buf, size, "%s, %02d %s %04d %02d:%02d:%02d +0000",
                 days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900,
                 tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static int mail_format_message_id(const char *from, char *buf, size_t size) {
        unsigned char rnd[16];
        char hex[sizeof rnd * 2 + 1], addr[MAIL_ADDRESS_MAX + 1];
        const char *domain = "localhost";

        if (getrandom(rnd, sizeof rnd, 0) != (ssize_t) sizeof rnd)
                return errno > 0 ? -errno : -EIO;
        sodium_bin2hex(hex, sizeof hex, rnd, sizeof rnd);
        if (mail_envelope_address(from, addr, sizeof addr) >= 0)
                domain = strchr(addr, '@') + 1;
        snprintf(buf, size, "<%lld.%s@%s>", (long long) time(NULL), hex, domain);
        return 0;
}

static int mail_add_header(MailBuf *b, const char *name, const char *value) {
        int r;

        r = mail_buf_puts(b, name);
        if (r == 0)
                r = mail_buf_puts(b, value);
        if (r == 0)
                r = mail_buf_puts(b, "\n");
        return r;
}

static int mail_add_headers(MailBuf *b, const SauthConfig *c, const MailFields *f, unsigned have) {
        char date[128], msgid[MAIL_ADDRESS_MAX + 80];
        int r = 0;

        if (!(have & HAVE_FROM) && r == 0)
                r = mail_add_header(b, "From: ", c->mail_from);
        if (!(have & HAVE_TO) && r == 0)
                r = mail_add_header(b, "To: ", f->to);
        if (!(have & HAVE_DATE) && r == 0) {
                mail_format_date(date, sizeof date);
                r = mail_add_header(b, "Date: ", date);
        }
        if (!(have & HAVE_MESSAGE_ID) && r == 0) {
                r = mail_format_message_id(c->mail_from, msgid, sizeof msgid);
                if (r == 0)
                        r = mail_add_header(b, "Message-ID: ", msgid);
        }
        return r;
}

static int mail_add_mime_headers(MailBuf *b, unsigned have) {
        int r = 0;

        if (!(have & HAVE_MIME_VERSION))
                r = mail_buf_puts(b, "MIME-Version: 1.0\n");
        if (!(have & HAVE_CONTENT_TYPE) && r == 0)
                r = mail_buf_puts(b, "Content-Type: text/plain; charset=utf-8\n");
        if (!(have & HAVE_CTE) && r == 0)
                r = mail_buf_puts(b, "Content-Transfer-Encoding: 8bit\n");
        return r;
}

int mail_render(const SauthConfig *c, const char *template_name, const MailFields *f, char **ret) {
        _cleanup_(mail_buf_wipe) MailBuf b = {};
        _cleanup_free_ char *text = NULL;
        MailTemplate t;
        int r;

        if (!ret || !mail_template_name_valid(template_name))
                return -EINVAL;
        r = mail_fields_check(c, f);
        if (r < 0)
                return r;

        r = mail_template_read(c->mail_templates, template_name, &text);
        if (r < 0)
                return r;
        r = mail_template_parse(text, &t);
        if (r < 0)
                return r;

        r = mail_add_headers(&b, c, f, t.have);
        if (r == 0)
                r = mail_render_template_headers(&b, &t, f);
        if (r == 0)
                r = mail_add_mime_headers(&b, t.have);
        if (r == 0)
                r = mail_buf_puts(&b, "\n");
        if (r == 0)
                r = mail_expand(&b, t.body, t.body_len, f);
        if (r == 0 && b.data[b.len - 1] != '\n')
                r = mail_buf_puts(&b, "\n");
        if (r < 0)
                return r;

        *ret = TAKE_PTR(b.data); /* the caller wipes it with erase_and_free() */
        return 0;
}

/* ---- sending ---- */

/* What a send needs of the configuration. A queued job holds copies, so a
 * reloaded configuration cannot pull strings from under a worker. */
typedef struct MailSender {
        const char *sender;
        const char *from;
        const char *credentials_file;
        unsigned timeout;
} MailSender;

static uint64_t mail_now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int mail_ms_left(uint64_t deadline) {
        uint64_t now = mail_now_ms();

        if (now >= deadline)
                return 0;
        return deadline - now > INT32_MAX ? INT32_MAX : (int) (deadline - now);
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

        deadline = mail_now_ms() + (uint64_t) s->timeout * 1000;
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
                curl_easy_cleanup(*h);
}

static inline void curl_slist_free_allp(struct curl_slist **l) {
        curl_slist_free_all(*l);
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

/* "user:password" from a file only we may write, read without stdio so no
 * buffer of the library keeps a copy. */
static int mail_read_credentials(const char *path, char *buf, size_t size, char **ret_password,
                                 char *reason, size_t reason_size) {
        _cleanup_fclose_ FILE *f = NULL;
        char *colon;
        size_t len;
        int r;

        r = fopen_secure(path, &f, reason, reason_size);
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
                rc = curl_easy_setopt(h, CURLOPT_USERNAME, creds);
                if (rc == CURLE_OK)
                        rc = curl_easy_setopt(h, CURLOPT_PASSWORD, password);
                explicit_bzero(creds, sizeof creds);
                tls = true;
        }
        if (rc == CURLE_OK)
                rc = curl_easy_setopt(h, CURLOPT_USE_SSL, (long) (tls ? CURLUSESSL_ALL : CURLUSESSL_TRY));
        return rc;
}

static CURLcode mail_curl_setup(CURL *h, const MailSender *s, const char *from,
                                struct curl_slist *rcpt, MailUpload *u) {
        long timeout = s->timeout;
        CURLcode rc;

        rc = curl_easy_setopt(h, CURLOPT_URL, s->sender);
#if LIBCURL_VERSION_NUM >= 0x075500
        if (rc == CURLE_OK)
                rc = curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
#else
        if (rc == CURLE_OK)
                rc = curl_easy_setopt(h, CURLOPT_PROTOCOLS, (long) (CURLPROTO_SMTP | CURLPROTO_SMTPS));
#endif
        if (rc == CURLE_OK)
                rc = curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
        /* Signals for timeouts would hit a random thread of the daemon. */
        if (rc == CURLE_OK)
                rc = curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        if (rc == CURLE_OK)
                rc = curl_easy_setopt(h, CURLOPT_TIMEOUT, timeout);
        if (rc == CURLE_OK)
                rc = curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, timeout);
        if (rc == CURLE_OK)
                rc = curl_easy_setopt(h, CURLOPT_MAIL_FROM, from);
        if (rc == CURLE_OK)
                rc = curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt);
        if (rc == CURLE_OK)
                rc = curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        if (rc == CURLE_OK)
                rc = curl_easy_setopt(h, CURLOPT_READFUNCTION, mail_curl_read);
        if (rc == CURLE_OK)
                rc = curl_easy_setopt(h, CURLOPT_READDATA, u);
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

        h = curl_easy_init();
        rcpt = curl_slist_append(NULL, to_path);
        if (!h || !rcpt)
                return -ENOMEM;

        rc = mail_curl_setup(h, s, from, rcpt, &u);
        if (rc == CURLE_OK)
                rc = mail_curl_setup_auth(h, s, reason, size, &r);
        if (r < 0)
                return r;
        if (rc == CURLE_OK)
                rc = curl_easy_perform(h);
        if (rc != CURLE_OK) {
                (void) curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
                snprintf(reason, size, "smtp: %s (reply %ld)", curl_easy_strerror(rc), code);
                return mail_curl_errno(rc);
        }
        return 0;
}

/* ---- entry points ---- */

static int mail_send_logged(const MailSender *s, const char *to, const char *message, const char *label) {
        char reason[512] = "";
        int r;

        if (!message || !mail_address_valid(to)) {
                snprintf(reason, sizeof reason, "no message or no valid recipient");
                r = -EINVAL;
        } else if (isempty(s->sender)) {
                snprintf(reason, sizeof reason, "no [mail] sender");
                r = -EINVAL;
        } else if (mail_sender_is_smtp(s->sender))
                r = mail_send_smtp(s, to, message, reason, sizeof reason);
        else
                r = mail_send_command(s, message, reason, sizeof reason);

        if (r < 0)
                fprintf(stderr, "mail: sending %s failed: %s\n", label ?: "message",
                        reason[0] ? reason : mail_strerror(r));
        return r;
}

static unsigned mail_timeout(unsigned t) {
        return t > 0 ? t : MAIL_TIMEOUT_DEFAULT;
}

int mail_send_blocking(const SauthConfig *c, const char *to, const char *message) {
        MailSender s;

        if (!c)
                return -EINVAL;
        s = (MailSender) {
                .sender = c->mail_sender,
                .from = c->mail_from,
                .credentials_file = c->mail_credentials_file,
                .timeout = mail_timeout(c->mail_timeout),
        };
        return mail_send_logged(&s, to, message, NULL);
}

typedef struct MailJob {
        char *sender;
        char *from;
        char *credentials_file;
        unsigned timeout;
        char template_name[MAIL_TEMPLATE_NAME_MAX + 1];
        char *to;
        char *message;          /* holds the token */
} MailJob;

static void mail_job_free(MailJob *j) {
        if (!j)
                return;
        erase_and_free(j->message);
        free(j->sender);
        free(j->from);
        free(j->credentials_file);
        free(j->to);
        free(j);
}

static void mail_job_freep(MailJob **j) {
        mail_job_free(*j);
}

static void mail_job_work(void *userdata) {
        MailJob *j = userdata;
        MailSender s = {
                .sender = j->sender,
                .from = j->from,
                .credentials_file = j->credentials_file,
                .timeout = j->timeout,
        };

        /* Failures are logged there; nobody waits for the result. */
        (void) mail_send_logged(&s, j->to, j->message, j->template_name);
}

static void mail_job_done(void *userdata) {
        mail_job_free(userdata);
}

static int mail_job_new(const SauthConfig *c, const char *template_name, const MailFields *f, MailJob **ret) {
        _cleanup_(mail_job_freep) MailJob *j = NULL;
        int r;

        j = calloc(1, sizeof *j);
        if (!j)
                return -ENOMEM;
        r = mail_render(c, template_name, f, &j->message);
        if (r < 0)
                return r;

        /* mail_render() checked the name: it fits. */
        memcpy(j->template_name, template_name, strlen(template_name) + 1);
        j->timeout = mail_timeout(c->mail_timeout);
        j->sender = strdup_or_null(c->mail_sender);
        j->from = strdup_or_null(c->mail_from);
        j->credentials_file = strdup_or_null(c->mail_credentials_file);
        j->to = strdup(f->to);
        if ((c->mail_sender && !j->sender) || !j->from ||
            (c->mail_credentials_file && !j->credentials_file) || !j->to)
                return -ENOMEM;

        *ret = TAKE_PTR(j);
        return 0;
}

int mail_queue(Pool *mail_pool, const SauthConfig *c, const char *template_name, const MailFields *f) {
        _cleanup_(mail_job_freep) MailJob *j = NULL;
        int r;

        if (!mail_pool)
                return -EINVAL;
        r = mail_job_new(c, template_name, f, &j);
        if (r < 0)
                return r;

        r = pool_submit(mail_pool, mail_job_work, mail_job_done, j);
        if (r < 0)
                return r; /* the cleanup wipes the message */
        TAKE_PTR(j); /* the pool owns it now; mail_job_done() frees it */
        return 0;
}
