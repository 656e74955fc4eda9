/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "config.h"
#include "pool.h"
#include "request.h"

/*
 * Mail: templates NAME.tmpl (headers, blank line, body) from [mail]
 * templates, with {{token}} {{username}} {{name}} {{identity}} {{uid}}
 * {{expires}} placeholders; sent by the [mail] sender — a command that
 * reads the message on stdin (no shell), or smtp://host:port / smtps://
 * through libcurl. Sending runs on a pool worker, never on the loop; a
 * failure is logged (without the message) and reported to the outbox,
 * which tries again later.
 */

typedef struct MailFields {
        const char *to;         /* the recipient; also {{identity}} */
        const char *token;      /* secret; wiped from every buffer after use */
        const char *username;
        const char *name;
        const char *uid;
        const char *expires;    /* human-readable time */
} MailFields;

/* Once at daemon start, before any thread runs: libcurl's global set-up is
 * not thread-safe. 0 or -EIO. mail_global_done() undoes it at exit. */
int mail_global_init(void);
void mail_global_done(void);

/* [mail] ca_file, at start: unset, or a regular file that only root or
 * sauthd's user may write (like the config) holding at least one PEM
 * certificate. Problems are logged and stop sauthd; a ca_file with a
 * command sender is only warned about. */
int mail_check_ca_file(const SauthConfig *c);

/* Renders template NAME (a plain name: [a-z0-9_-]+) into a complete
 * message with From:, To: and Date: added if the template lacks them.
 * -EINVAL for a bad name, -ENOENT no such template. *ret is to be freed
 * with erase_and_free(). */
int mail_render(const SauthConfig *c, const char *template_name, const MailFields *f, char **ret);

/* Whether template NAME exists and parses: checked before anything that
 * would need its message is written. 0, -EINVAL, -ENOENT, or -errno. */
int mail_template_check(const SauthConfig *c, const char *template_name);

/* Sends a rendered message, blocking (pool workers only). 0 or -errno. */
int mail_send_blocking(const SauthConfig *c, const char *to, const char *message);

/* The result of one send, on the loop: r is 0 or -errno; reason (NULL on
 * success) says why it failed, never quoting the message. */
typedef void (*mail_sent_fn)(void *userdata, int r, const char *reason);

/* Sends the rendered *message to TO on the mail pool; done runs on the
 * loop afterwards. Takes *message in every case (set to NULL) and wipes it
 * when done. -EBUSY when the pool is full: done is then not called. The
 * outbox (outbox.c) is the only caller: whatever must not be lost is in
 * the store before it comes here. */
int mail_send_async(RequestTracker *t, Pool *mail_pool, const SauthConfig *c, const char *template_name,
                    const char *to, char **message, mail_sent_fn done, void *userdata);
