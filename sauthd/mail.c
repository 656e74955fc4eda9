/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <string.h>

#include "curl-loader.h"
#include "fsutil.h"
#include "log.h"
#include "mail-internal.h"
#include "mail.h"
#include "util.h"

/*
 * The pieces the parts share (see mail-internal.h), libcurl's global
 * set-up, and sending on the mail pool. Rendering is in mail-template.c,
 * the senders in mail-send.c.
 */

#define MAIL_MESSAGE_MAX (256U * 1024U)   /* bytes of one rendered message */

int mail_global_init(void) {
        /* libcurl is loaded with the first SMTP message (curl-loader.h). */
        return 0;
}

void mail_global_done(void) {
        curl_loader_unload();
}

#define MAIL_CA_FILE_MAX (1024 * 1024)

int mail_check_ca_file(const SauthConfig *c) {
        _cleanup_fclose_ FILE *f = NULL;
        _cleanup_free_ char *text = NULL;
        char msg[512] = "";
        size_t n;
        int r;

        if (isempty(c->mail_ca_file))
                return 0;
        if (c->mail_ca_file[0] != '/') {
                log_error("[mail] ca_file %s: an absolute path is needed", c->mail_ca_file);
                return -EINVAL;
        }
        /* A writable CA file would let anyone vouch for a fake relay and
         * read every reset token: the rule of the config file. */
        r = fopen_secure(c->mail_ca_file, &f, msg, sizeof msg);
        if (r < 0) {
                log_error("[mail] ca_file %s", msg[0] ? msg : strerror(-r));
                return r;
        }
        text = malloc(MAIL_CA_FILE_MAX + 1);
        if (!text)
                return -ENOMEM;
        n = fread(text, 1, MAIL_CA_FILE_MAX + 1, f);
        text[MIN(n, (size_t) MAIL_CA_FILE_MAX)] = 0;
        if (ferror(f) || n > MAIL_CA_FILE_MAX || !strstr(text, "-----BEGIN CERTIFICATE-----")) {
                log_error("[mail] ca_file %s: not a PEM file of CA certificates (at most %d bytes)",
                          c->mail_ca_file, MAIL_CA_FILE_MAX);
                return -EINVAL;
        }
        if (strncmp(c->mail_sender, "smtp://", 7) != 0 && strncmp(c->mail_sender, "smtps://", 8) != 0)
                log_warning("[mail] ca_file is set, but the sender is a command: it is not used");
        return 0;
}

/* ---- growing buffer for text that may hold the token ---- */

void mail_buf_wipe(MailBuf *b) {
        if (b->data) {
                explicit_bzero(b->data, b->size);
                free(b->data);
        }
        *b = (MailBuf) {};
}

int mail_buf_append(MailBuf *b, const char *s, size_t n) {
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

int mail_buf_puts(MailBuf *b, const char *s) {
        return mail_buf_append(b, s, strlen(s));
}

/* ---- addresses and bounded reads ---- */

/* One plain addr-spec, nothing that could smuggle in a second recipient
 * (',' ';'), a display name or a comment. */
bool mail_address_valid(const char *a) {
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

int mail_envelope_address(const char *from, char *buf, size_t size) {
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

int mail_read_fd(int fd, char *buf, size_t max, size_t *ret_len) {
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

/* ---- sending on the mail pool ---- */

/* The job outlives mail_send_async(): a worker sends it later. It holds
 * copies of what it needs of the configuration rather than pointers into
 * it, so that its lifetime is tied to no order of teardown elsewhere. */
typedef struct MailJob {
        char *sender;
        char *from;
        char *credentials_file;
        char *ca_file;
        unsigned timeout;
        char *template_name;
        char *to;
        char *message;          /* holds the token */
        int result;
        char reason[MAIL_REASON_MAX];
        mail_sent_fn done;
        void *userdata;
} MailJob;

static void mail_job_free(MailJob *j) {
        if (!j)
                return;
        erase_and_free(j->message);
        free(j->sender);
        free(j->from);
        free(j->credentials_file);
        free(j->ca_file);
        free(j->template_name);
        free(j->to);
        free(j);
}

static void mail_job_freep(MailJob **j) {
        mail_job_free(*j);
}

static void mail_job_free_void(void *j) {
        mail_job_free(j);
}

/* On the worker. */
static void mail_job_work(void *job) {
        MailJob *j = job;
        MailSender s = {
                .sender = j->sender,
                .from = j->from,
                .credentials_file = j->credentials_file,
                .ca_file = j->ca_file,
                .timeout = j->timeout,
        };

        /* Failures are logged there, and the reason kept for the caller. */
        j->result = mail_send_reason(&s, j->to, j->message, j->template_name, j->reason, sizeof j->reason);
}

/* On the loop. */
static void mail_job_done(Request *req, void *job) {
        MailJob *j = job;

        /* The message is no longer needed: wipe it before anything else. */
        j->message = erase_and_free(j->message);
        j->done(j->userdata, j->result, j->result < 0 ? j->reason : NULL);
}

static int mail_job_new(const SauthConfig *c, const char *template_name, const char *to, char **message,
                        MailJob **ret) {
        _cleanup_(mail_job_freep) MailJob *j = NULL;

        j = calloc(1, sizeof *j);
        if (!j) {
                *message = erase_and_free(*message);
                return -ENOMEM;
        }
        j->message = TAKE_PTR(*message); /* the job wipes it */
        j->template_name = strdup(template_name);
        j->timeout = mail_send_timeout(c->mail_timeout);
        j->sender = strdup_or_null(c->mail_sender);
        j->from = strdup_or_null(c->mail_from);
        j->credentials_file = strdup_or_null(c->mail_credentials_file);
        j->ca_file = strdup_or_null(c->mail_ca_file);
        j->to = strdup(to);
        if ((c->mail_sender && !j->sender) || !j->from ||
            (c->mail_credentials_file && !j->credentials_file) || (c->mail_ca_file && !j->ca_file) ||
            !j->template_name || !j->to)
                return -ENOMEM;

        *ret = TAKE_PTR(j);
        return 0;
}

int mail_send_async(RequestTracker *t, Pool *mail_pool, const SauthConfig *c, const char *template_name,
                    const char *to, char **message, mail_sent_fn done, void *userdata) {
        _cleanup_(request_freep) Request *req = NULL;
        MailJob *j = NULL;
        int r;

        if (!mail_pool || !done || !message || !*message) {
                if (message)
                        *message = erase_and_free(*message);
                return -EINVAL;
        }
        /* Here, on the loop: libcurl's global set-up is not for threads.
         * Without it the worker reports the message as not sent. */
        if (strncmp(c->mail_sender, "smtp", 4) == 0)
                (void) curl_loader_load();
        r = mail_job_new(c, template_name, to, message, &j);
        if (r < 0)
                return r;
        j->done = done;
        j->userdata = userdata;
        r = request_new(t, NULL, j, mail_job_free_void, &req);
        if (r < 0)
                return r;
        r = request_run(req, mail_pool, mail_job_work, mail_job_done);
        if (r < 0)
                return r; /* the cleanup wipes the message */
        TAKE_PTR(req); /* the pool has it until the message is sent */
        return 0;
}
