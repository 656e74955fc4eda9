/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "mail.h"
#include "pool.h"
#include "request.h"
#include "store.h"

/*
 * The mail outbox. A message is rendered and sealed (outbox-key.h) before
 * anything is written, then written by the caller in the same transaction
 * as the token it carries (store_register, store_token_add_mail,
 * store_set_password take an outbox row): never a token without its mail,
 * never a mail for a token rolled back.
 *
 * The pump, on the loop, hands due messages to the mail pool one job per
 * message, at most OUTBOX_IN_FLIGHT_MAX at once: it runs at start, after
 * each enqueue (outbox_kick), after each send, and on a timer at the
 * earliest next attempt. A sent message's row is deleted. A failed one is
 * tried again after a back-off ([mail] retry_min seconds, doubling up to
 * an hour) until it expires (the token's lifetime; a notice's is a day);
 * then it is deleted with an error in the log: "not sent, expired".
 */

#define OUTBOX_IN_FLIGHT_MAX 16U
#define OUTBOX_RETRY_MAX_SEC 3600
#define OUTBOX_NOTICE_LIFETIME_SEC (24 * 3600)

typedef struct Outbox Outbox;

typedef struct OutboxSetup {
        sd_event *event;
        Store *store;
        Pool *mail_pool;
        RequestTracker *requests;
        const SauthConfig *config;
} OutboxSetup;

/* Loads or creates the key ([mail] outbox_key_file) and arms the pump,
 * which first runs once the loop does. msg says why on failure. */
int outbox_new(const OutboxSetup *setup, Outbox **ret, char *msg, size_t msg_size);
void outbox_free(Outbox *o);
static inline void outbox_freep(Outbox **o) {
        outbox_free(*o);
}

/* A message ready to be written: row points into the strings below. */
typedef struct OutboxMail {
        char id[19];
        char *template_name;
        char *recipient;
        char *body;             /* sealed */
        StoreMail row;
} OutboxMail;

void outbox_mail_done(OutboxMail *m);

/* Renders template_name with f and seals it, expiring at expires (> now).
 * Writes nothing. -EINVAL/-ENOENT as mail_render(). */
int outbox_prepare(Outbox *o, const char *template_name, const MailFields *f, int64_t now, int64_t expires,
                   OutboxMail *ret);

/* A message was written: run the pump soon. */
void outbox_kick(Outbox *o);

/* Shutting down: hand nothing more to the pool (messages in flight still
 * finish and are recorded; the rest waits in the store for the next start). */
void outbox_stop(Outbox *o);

/* The back-off after the n-th failed attempt (n >= 1), in seconds. */
int64_t outbox_backoff(unsigned retry_min, int64_t attempts);
