/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Rendering: a template file, its {{placeholders}} filled in, headers added. */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <sys/random.h>
#include <time.h>

#include "fsutil.h"
#include "identity.h"
#include "mail-internal.h"
#include "mail.h"
#include "sauth-names.h"
#include "log.h"
#include "util.h"

#define MAIL_TEMPLATE_MAX (64U * 1024U)    /* bytes of one template file */

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

/* ---- checks of the fields ---- */

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

/* ---- template reading and parsing ---- */

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

        /* O_NONBLOCK: a FIFO in its place must not hang the event loop, where
         * templates are rendered. */
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return -errno;

        /* A template anyone else can write could add a Bcc: and collect
         * every reset token, so it gets the same check as the config. */
        r = fd_check_secure(fd, path, msg, sizeof msg);
        if (r < 0) {
                log_error("mail: %s", msg);
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

int mail_template_check(const SauthConfig *c, const char *template_name) {
        _cleanup_free_ char *text = NULL;
        MailTemplate t;
        int r;

        if (!template_name_valid(template_name))
                return -EINVAL;
        r = mail_template_read(c->mail_templates, template_name, &text);
        if (r < 0)
                return r;
        return mail_template_parse(text, &t);
}

int mail_render(const SauthConfig *c, const char *template_name, const MailFields *f, char **ret) {
        _cleanup_(mail_buf_wipe) MailBuf b = {};
        _cleanup_free_ char *text = NULL;
        MailTemplate t;
        int r;

        if (!ret || !template_name_valid(template_name))
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
