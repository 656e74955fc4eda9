/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-bus.h>

#include "sauthctl.h"

/* One key of an a{sv} reply, rendered as text for people. String arrays
 * keep their items too, for lists that read better one per line. */
typedef struct OutputEntry {
        char *key;
        char type;              /* D-Bus type of the value, or 'a' */
        char *text;
        char **strv;
} OutputEntry;

typedef struct OutputDict {
        OutputEntry *entries;
        size_t n;
} OutputDict;
/* Reads an a{sv} reply (from its start) into d, every value as text, for
 * commands that print its keys. Free with output_dict_done() even on
 * failure; texts are wiped (one may be a session token). */
int output_dict_read(sd_bus_message *reply, OutputDict *d);
void output_dict_done(OutputDict *d);
const OutputEntry *output_dict_get(const OutputDict *d, const char *key);
const char *output_dict_text(const OutputDict *d, const char *key);

/* Prints the given keys (NULL-terminated) as "key: value" lines, in that
 * order; absent keys are left out; expires and locked_until as times. */
void output_keys(const OutputDict *d, const char *const *keys);

/* With --json the whole reply as one line of JSON (without jwt_token
 * unless --show-token), else the chosen keys. Returns an exit code. */
int output_reply(Ctl *c, sd_bus_message *reply, const char *const *keys);

/* A column of a table: the header, the key in each row, whether it is a
 * UNIX time (printed as a local date), and what a time of 0 means. */
typedef struct OutputColumn {
        const char *header;
        const char *key;
        bool time;
        const char *zero;       /* NULL: "-" */
} OutputColumn;

/* For replies whose key holds a list of dictionaries (aa{sv}): with --json
 * that list as a JSON array, else a table of the given columns under a
 * header line. Returns an exit code. */
int output_list(Ctl *c, sd_bus_message *reply, const char *key, const OutputColumn *cols, size_t n_cols);

/* A list of strings: one per line, or with --json one object holding the
 * list under key and the string pairs of extra (key, value, ..., NULL). */
int output_strv(Ctl *c, const char *key, char **items, const char *const *extra);

/* For methods with an empty reply: --json still prints a JSON value. */
int output_empty(Ctl *c);
