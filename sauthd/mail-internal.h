/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/*
 * What the parts of mail share; not for use outside sauthd/mail*.c.
 * mail.c: the growing buffer, address checks, bounded reads, the queue.
 * mail-template.c: rendering. mail-send.c: the command and SMTP senders.
 */

#define MAIL_ADDRESS_MAX 254    /* RFC 5321 path limit */

/* A growing buffer for text that may hold the token. realloc() would leave
 * copies of the token in freed memory, so growing copies by hand and wipes
 * the old block; mail_buf_wipe() wipes and frees. Bounded by the size of
 * one message: -E2BIG beyond it. */
typedef struct MailBuf {
        char *data;
        size_t len;
        size_t size;
} MailBuf;

void mail_buf_wipe(MailBuf *b);
int mail_buf_append(MailBuf *b, const char *s, size_t n);
int mail_buf_puts(MailBuf *b, const char *s);

/* One plain addr-spec (local@domain), at most MAIL_ADDRESS_MAX bytes. */
bool mail_address_valid(const char *a);

/* The address inside "Name <addr>", or the whole string, checked with
 * mail_address_valid(); written into buf. 0 or -EINVAL. */
int mail_envelope_address(const char *from, char *buf, size_t size);

/* Reads all of FD into BUF, at most MAX bytes: -EFBIG if there is more.
 * BUF must hold MAX + 1 bytes. Not NUL-terminated. */
int mail_read_fd(int fd, char *buf, size_t max, size_t *ret_len);

/* What a send needs of the configuration. */
typedef struct MailSender {
        const char *sender;
        const char *from;
        const char *credentials_file;
        const char *ca_file;    /* PEM CA certificates for the relay; NULL: the system store */
        unsigned timeout;       /* seconds, > 0: see mail_send_timeout() */
} MailSender;

/* The configured timeout, or the default for 0. */
unsigned mail_send_timeout(unsigned configured);

/* Sends MESSAGE to TO through S, blocking. A failure is logged with LABEL
 * (the template name, or NULL) and a reason that never quotes the message.
 * 0 or -errno. */
int mail_send_logged(const MailSender *s, const char *to, const char *message, const char *label);

/* The same, and the reason of a failure (never quoting the message) in
 * REASON, at most SIZE bytes with the NUL: for the outbox's last_error. */
#define MAIL_REASON_MAX 512
int mail_send_reason(const MailSender *s, const char *to, const char *message, const char *label,
                     char *reason, size_t size);
