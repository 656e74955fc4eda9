/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
/* The location would always be this file: leave it out. */
#define SD_JOURNAL_SUPPRESS_LOCATION 1
#include <systemd/sd-journal.h>

#include "log.h"

#define LOG_LINE_MAX 2048
#define LOG_FIELDS_MAX 24
#define LOG_VALUE_MAX 400        /* bytes of one field's value in the journal */

static bool log_verbose_on;
static bool log_journal_on;

/* systemd sets $JOURNAL_STREAM to "DEV:INODE" of the stream it connected
 * to stderr; if stderr is still that stream, the journal is listening. */
static bool stderr_is_journal(void) {
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;

        if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
                return false;
        if (fstat(STDERR_FILENO, &st) < 0)
                return false;
        return (unsigned long long) st.st_dev == dev && (unsigned long long) st.st_ino == ino;
}

void log_setup(bool verbose) {
        log_verbose_on = verbose;
        log_journal_on = stderr_is_journal();
        setvbuf(stderr, NULL, _IOLBF, 0);
}

bool log_verbose(void) {
        return log_verbose_on;
}

bool log_to_journal(void) {
        return log_journal_on;
}

void log_printable(char *out, size_t size, const char *in) {
        size_t i;

        if (size == 0)
                return;
        for (i = 0; in && i + 1 < size && in[i]; i++)
                out[i] = in[i] >= ' ' && in[i] < 0x7f ? in[i] : '?';
        out[i] = 0;
}

static void log_write(int level, const char *text) {
        if (log_journal_on) {
                (void) sd_journal_send("MESSAGE=%s", text, "PRIORITY=%i", level,
                                       "SYSLOG_IDENTIFIER=sauthd", NULL);
                return;
        }
        /* "<N>" lets a journal reading stderr keep the priority. */
        fprintf(stderr, "<%d>%s\n", level, text);
}

void log_full(int level, const char *fmt, ...) {
        char buf[LOG_LINE_MAX];
        va_list ap;

        va_start(ap, fmt);
        (void) vsnprintf(buf, sizeof buf, fmt, ap);
        va_end(ap);
        log_write(level, buf);
}

/* Appends " NAME=value" to a stderr line, escaping what would break the
 * line's parsing. Returns the new length (capped at size - 1). */
static size_t line_append_field(char *line, size_t len, size_t size, const char *name, const char *value) {
        int k = snprintf(line + len, size - len, " %s=", name);

        if (k < 0 || (size_t) k >= size - len)
                return size - 1;
        len += (size_t) k;
        for (const unsigned char *p = (const unsigned char *) value; *p && len + 5 < size; p++) {
                if (*p > ' ' && *p < 0x7f && *p != '\\')
                        line[len++] = (char) *p;
                else
                        len += (size_t) snprintf(line + len, size - len, "\\x%02x", *p);
        }
        line[len] = 0;
        return len;
}

static void log_record_journal(int level, const char *message, const LogField *fields, size_t n) {
        char buf[LOG_FIELDS_MAX + 3][LOG_VALUE_MAX + 64];
        struct iovec iov[LOG_FIELDS_MAX + 3];
        size_t k = 0;

        snprintf(buf[k], sizeof buf[k], "MESSAGE=%s", message);
        snprintf(buf[k + 1], sizeof buf[k + 1], "PRIORITY=%i", level);
        snprintf(buf[k + 2], sizeof buf[k + 2], "SYSLOG_IDENTIFIER=sauthd");
        k = 3;
        for (size_t i = 0; i < n && k < ELEMENTSOF(buf); i++) {
                char value[LOG_VALUE_MAX];

                if (!fields[i].value)
                        continue;
                log_printable(value, sizeof value, fields[i].value);
                snprintf(buf[k++], sizeof buf[0], "%.63s=%s", fields[i].name, value);
        }
        for (size_t i = 0; i < k; i++)
                iov[i] = (struct iovec) { .iov_base = buf[i], .iov_len = strlen(buf[i]) };
        (void) sd_journal_sendv(iov, (int) k);
}

void log_record(int level, const char *message, const LogField *fields, size_t n_fields) {
        char line[LOG_LINE_MAX];
        size_t len;

        if (level == LOG_DEBUG && !log_verbose_on)
                return;
        if (log_journal_on) {
                log_record_journal(level, message, fields, n_fields);
                return;
        }
        log_printable(line, sizeof line, message);
        len = strlen(line);
        for (size_t i = 0; i < n_fields; i++)
                if (fields[i].value)
                        len = line_append_field(line, len, sizeof line, fields[i].name, fields[i].value);
        log_write(level, line);
}
