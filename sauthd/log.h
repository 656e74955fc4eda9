/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <syslog.h>

#include "util.h"

/*
 * sauthd's one way to log. Under systemd (stderr is the journal stream
 * named by $JOURNAL_STREAM) lines go to the journal with structured fields;
 * otherwise to stderr as "<PRIORITY>text", which the journal and tests both
 * read. Levels are syslog's: LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO,
 * LOG_DEBUG. Debug lines appear only with --verbose.
 *
 * Never pass a secret (password, token, key, hash) to any of these.
 * Caller-supplied text goes through log_printable() first.
 */

/* Once at start, before any other thread runs. */
void log_setup(bool verbose);

bool log_verbose(void);

/* Whether lines go to the journal (true) or to stderr. */
bool log_to_journal(void);

void log_full(int level, const char *fmt, ...) _printf_(2, 3);

#define log_error(...)   log_full(LOG_ERR, __VA_ARGS__)
#define log_warning(...) log_full(LOG_WARNING, __VA_ARGS__)
#define log_notice(...)  log_full(LOG_NOTICE, __VA_ARGS__)
#define log_info(...)    log_full(LOG_INFO, __VA_ARGS__)
#define log_debug(...)                                  \
        do {                                            \
                if (log_verbose())                      \
                        log_full(LOG_DEBUG, __VA_ARGS__); \
        } while (0)

/* Copies caller-supplied text for a log line: anything but printable ASCII
 * becomes '?', so a value cannot forge lines or escape sequences. out has
 * size bytes and is always terminated. */
void log_printable(char *out, size_t size, const char *in);

/* One structured record: MESSAGE plus NAME=value fields (names in capitals,
 * as the journal wants them). To the journal as fields; to stderr as
 * "<PRIORITY>message NAME=value ..." with values made printable and spaces
 * and '\' written as \xNN, so one record is one parseable line. Fields
 * whose value is NULL are left out. */
typedef struct LogField {
        const char *name;
        const char *value;
} LogField;

void log_record(int level, const char *message, const LogField *fields, size_t n_fields);
