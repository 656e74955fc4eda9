/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What sauthctl prints: chosen keys of a reply as "key: value" lines for
 * people, or with --json the whole reply as JSON, built with jansson.
 */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <malloc.h>
#include <math.h>
#include <time.h>

#include "call.h"
#include "output.h"
#include "parse-util.h"
#include "sauthctl.h"
#include "util.h"

/* sd-bus keeps its own type predicates private. */
static bool ctl_type_is_basic(char type) {
        return type != 0 && strchr("ybnqiuxtdsogh", type);
}

/* Reads one basic value and prints it for people. */
static int text_basic(sd_bus_message *m, char type, FILE *f) {
        union {
                uint8_t y; int16_t n; uint16_t q; int32_t i; uint32_t u;
                int64_t x; uint64_t t; double d; int b; const char *s;
        } v;
        int r;

        r = sd_bus_message_read_basic(m, type, &v);
        if (r < 0)
                return r;
        switch (type) {
        case SD_BUS_TYPE_BOOLEAN: fputs(v.b ? "yes" : "no", f); break;
        case SD_BUS_TYPE_BYTE:    fprintf(f, "%u", v.y); break;
        case SD_BUS_TYPE_INT16:   fprintf(f, "%d", v.n); break;
        case SD_BUS_TYPE_UINT16:  fprintf(f, "%u", v.q); break;
        case SD_BUS_TYPE_INT32:
        case SD_BUS_TYPE_UNIX_FD: fprintf(f, "%" PRIi32, v.i); break;
        case SD_BUS_TYPE_UINT32:  fprintf(f, "%" PRIu32, v.u); break;
        case SD_BUS_TYPE_INT64:   fprintf(f, "%" PRIi64, v.x); break;
        case SD_BUS_TYPE_UINT64:  fprintf(f, "%" PRIu64, v.t); break;
        case SD_BUS_TYPE_DOUBLE:  fprintf(f, "%.1f", v.d); break;
        default:                  fputs(v.s, f); break;  /* strings, object paths, signatures */
        }
        return 0;
}

/* ------------------------------------------------------------ JSON */

static int json_value(sd_bus_message *m, bool show_token, json_t **ret);

/* jansson frees its strings unwiped; one of them may be the session token
 * (--show-token), so every block it frees is wiped first. */
static void json_wiping_free(void *p) {
        if (p) {
                explicit_bzero(p, malloc_usable_size(p));
                free(p);
        }
}

static void json_unrefp(json_t **j) {
        json_decref(*j);
}
#define _cleanup_json_ _cleanup_(json_unrefp)

/* One basic value as JSON. A uint64 beyond JSON's integers (jansson's are
 * signed) becomes a real; NaN and infinity, which JSON lacks, null. */
static int json_basic(sd_bus_message *m, char type, json_t **ret) {
        union {
                uint8_t y; int16_t n; uint16_t q; int32_t i; uint32_t u;
                int64_t x; uint64_t t; double d; int b; const char *s;
        } v;
        json_t *j;
        int r;

        r = sd_bus_message_read_basic(m, type, &v);
        if (r < 0)
                return r;
        switch (type) {
        case SD_BUS_TYPE_BOOLEAN: j = json_boolean(v.b); break;
        case SD_BUS_TYPE_BYTE:    j = json_integer(v.y); break;
        case SD_BUS_TYPE_INT16:   j = json_integer(v.n); break;
        case SD_BUS_TYPE_UINT16:  j = json_integer(v.q); break;
        case SD_BUS_TYPE_INT32:
        case SD_BUS_TYPE_UNIX_FD: j = json_integer(v.i); break;
        case SD_BUS_TYPE_UINT32:  j = json_integer(v.u); break;
        case SD_BUS_TYPE_INT64:   j = json_integer(v.x); break;
        case SD_BUS_TYPE_UINT64:
                j = v.t <= INT64_MAX ? json_integer((json_int_t) v.t) : json_real((double) v.t);
                break;
        case SD_BUS_TYPE_DOUBLE:  j = isfinite(v.d) ? json_real(v.d) : json_null(); break;
        default:                  j = json_string(v.s); break;  /* D-Bus strings are valid UTF-8 */
        }
        if (!j)
                return -ENOMEM;
        *ret = j;
        return 0;
}

/* A dictionary key: JSON wants a string, so other basic types are written
 * as their JSON text ("42", "true"). */
static int json_key(sd_bus_message *m, char **ret) {
        _cleanup_json_ json_t *k = NULL;
        char type;
        int r;

        r = sd_bus_message_peek_type(m, &type, NULL);
        if (r <= 0)
                return r < 0 ? r : -EBADMSG;
        r = json_basic(m, type, &k);
        if (r < 0)
                return r;
        *ret = json_is_string(k) ? strdup(json_string_value(k)) : json_dumps(k, JSON_ENCODE_ANY);
        return *ret ? 0 : -ENOMEM;
}

/* One entry of a dictionary into obj. The session token is a bearer
 * secret: a test login has no use for it unless asked. */
static int json_dict_entry(sd_bus_message *m, const char *entry, json_t *obj, bool show_token) {
        _cleanup_free_ char *key = NULL;
        _cleanup_json_ json_t *v = NULL;
        int r;

        r = sd_bus_message_enter_container(m, SD_BUS_TYPE_DICT_ENTRY, entry);
        if (r < 0)
                return r;
        r = json_key(m, &key);
        if (r < 0)
                return r;
        if (streq(key, "jwt_token") && !show_token)
                r = sd_bus_message_skip(m, NULL);
        else {
                r = json_value(m, show_token, &v);
                if (r >= 0 && json_object_set(obj, key, v) < 0)
                        r = -ENOMEM;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

/* A dictionary (an array of dict entries) as a JSON object, keys in the
 * order they came. */
static int json_dict(sd_bus_message *m, const char *contents, bool show_token, json_t **ret) {
        _cleanup_json_ json_t *obj = json_object();
        const char *entry;
        int r;

        if (!obj)
                return -ENOMEM;
        r = sd_bus_message_enter_container(m, SD_BUS_TYPE_ARRAY, contents);
        if (r < 0)
                return r;
        while ((r = sd_bus_message_peek_type(m, NULL, &entry)) > 0) {
                r = json_dict_entry(m, entry, obj, show_token);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(obj);
        return 0;
}

/* Arrays and structs as JSON arrays; a variant as the value it holds. */
/* Every value left in the current container (or message), as an array. */
static int json_rest(sd_bus_message *m, bool show_token, json_t **ret) {
        _cleanup_json_ json_t *arr = json_array();
        int r;

        if (!arr)
                return -ENOMEM;
        while ((r = sd_bus_message_peek_type(m, NULL, NULL)) > 0) {
                json_t *item = NULL;

                r = json_value(m, show_token, &item);
                if (r < 0)
                        return r;
                if (json_array_append_new(arr, item) < 0)
                        return -ENOMEM;
        }
        if (r < 0)
                return r;
        *ret = TAKE_PTR(arr);
        return 0;
}

static int json_container(sd_bus_message *m, char type, const char *contents, bool show_token, json_t **ret) {
        _cleanup_json_ json_t *arr = NULL;
        int r;

        if (type == SD_BUS_TYPE_ARRAY && contents[0] == SD_BUS_TYPE_DICT_ENTRY_BEGIN)
                return json_dict(m, contents, show_token, ret);

        r = sd_bus_message_enter_container(m, type, contents);
        if (r < 0)
                return r;
        if (type == SD_BUS_TYPE_VARIANT) {
                r = json_value(m, show_token, &arr);
                if (r < 0)
                        return r;
        } else {
                r = json_rest(m, show_token, &arr);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(arr);
        return 0;
}

static int json_value(sd_bus_message *m, bool show_token, json_t **ret) {
        const char *contents;
        char type;
        int r;

        r = sd_bus_message_peek_type(m, &type, &contents);
        if (r <= 0)
                return r < 0 ? r : -EBADMSG;
        if (!ctl_type_is_basic(type))
                return json_container(m, type, contents, show_token, ret);
        return json_basic(m, type, ret);
}

/* The whole reply: its one argument as is, several as an array, none as
 * an empty object. */
static int json_reply(sd_bus_message *reply, bool show_token, json_t **ret) {
        _cleanup_json_ json_t *all = NULL;
        int r;

        r = sd_bus_message_rewind(reply, true);
        if (r >= 0)
                r = json_rest(reply, show_token, &all);
        if (r < 0)
                return r;
        if (json_array_size(all) == 0)
                *ret = json_object();
        else if (json_array_size(all) == 1)
                *ret = json_incref(json_array_get(all, 0));
        else
                *ret = TAKE_PTR(all);
        return *ret ? 0 : -ENOMEM;
}

/* Prints the reply as one line of compact JSON. */
static int output_json_reply(sd_bus_message *reply, bool show_token) {
        _cleanup_json_ json_t *j = NULL;
        int r;

        json_set_alloc_funcs(malloc, json_wiping_free);
        r = json_reply(reply, show_token, &j);
        if (r < 0)
                return r;
        if (json_dumpf(j, stdout, JSON_COMPACT | JSON_ENCODE_ANY) < 0)
                return -EIO;
        fputc('\n', stdout);
        return 0;
}

/* ------------------------------------------------------------ reply dictionaries */

void output_dict_done(OutputDict *d) {
        for (size_t i = 0; i < d->n; i++) {
                free(d->entries[i].key);
                /* Texts may hold a session token: wipe them all. */
                erase_and_free(d->entries[i].text);
                strv_free(d->entries[i].strv);
        }
        free(d->entries);
        *d = (OutputDict) {};
}

const OutputEntry *output_dict_get(const OutputDict *d, const char *key) {
        for (size_t i = 0; i < d->n; i++)
                if (streq(d->entries[i].key, key))
                        return &d->entries[i];
        return NULL;
}

const char *output_dict_text(const OutputDict *d, const char *key) {
        const OutputEntry *e = output_dict_get(d, key);
        return e ? e->text : NULL;
}

static int text_value(sd_bus_message *m, FILE *f);

static int text_container(sd_bus_message *m, char type, const char *contents, FILE *f) {
        bool first = true;
        int r;

        r = sd_bus_message_enter_container(m, type, contents);
        if (r < 0)
                return r;
        while ((r = sd_bus_message_peek_type(m, NULL, NULL)) > 0) {
                if (!first)
                        fputs(type == SD_BUS_TYPE_DICT_ENTRY ? "=" : ", ", f);
                first = false;
                r = text_value(m, f);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

static int text_value(sd_bus_message *m, FILE *f) {
        const char *contents;
        char type;
        int r;

        r = sd_bus_message_peek_type(m, &type, &contents);
        if (r <= 0)
                return r < 0 ? r : -EBADMSG;
        if (!ctl_type_is_basic(type))
                return text_container(m, type, contents, f);
        return text_basic(m, type, f);
}

/* Reads a variant holding a string straight into a new string: a session
 * token must not pass through a memstream whose old buffers are freed
 * unwiped as it grows. */
static int dict_read_string(sd_bus_message *m, OutputEntry *e) {
        const char *s;
        int r;

        r = sd_bus_message_read(m, "v", "s", &s);
        if (r < 0)
                return r;
        e->text = strdup(s);
        return e->text ? 0 : -ENOMEM;
}

static int dict_read_strv(sd_bus_message *m, OutputEntry *e) {
        _cleanup_free_ char *text = NULL;
        size_t size = 0;
        int r;

        r = sd_bus_message_enter_container(m, SD_BUS_TYPE_VARIANT, "as");
        if (r < 0)
                return r;
        r = sd_bus_message_read_strv(m, &e->strv);
        if (r < 0)
                return r;
        /* An empty array reads as NULL. */
        if (!e->strv) {
                e->strv = calloc(1, sizeof(char *));
                if (!e->strv)
                        return -ENOMEM;
        }
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;

        for (char **s = e->strv; *s; s++)
                size += strlen(*s) + 2;
        text = calloc(1, size + 1);
        if (!text)
                return -ENOMEM;
        for (char **s = e->strv; *s; s++) {
                if (s != e->strv)
                        strcat(text, ", ");
                strcat(text, *s);
        }
        e->text = TAKE_PTR(text);
        return 0;
}

static int dict_read_other(sd_bus_message *m, OutputEntry *e) {
        _cleanup_fclose_ FILE *f = NULL;
        char *buf = NULL;
        size_t size = 0;
        int r;

        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        r = text_value(m, f);
        if (fclose(TAKE_PTR(f)) != 0 && r >= 0)
                r = -ENOMEM;
        if (r < 0) {
                free(buf);
                return r;
        }
        e->text = buf;
        return 0;
}

static int dict_read_entry(sd_bus_message *m, OutputDict *d) {
        OutputEntry *e;
        const char *key, *contents;
        int r;

        r = sd_bus_message_read_basic(m, SD_BUS_TYPE_STRING, &key);
        if (r < 0)
                return r;
        r = sd_bus_message_peek_type(m, NULL, &contents);
        if (r < 0)
                return r;

        e = reallocarray(d->entries, d->n + 1, sizeof(OutputEntry));
        if (!e)
                return -ENOMEM;
        d->entries = e;
        e = &d->entries[d->n++];
        *e = (OutputEntry) { .key = strdup(key), .type = contents[0] };
        if (!e->key)
                return -ENOMEM;

        if (streq(contents, "s"))
                return dict_read_string(m, e);
        if (streq(contents, "as"))
                return dict_read_strv(m, e);
        return dict_read_other(m, e);
}

/* Reads the a{sv} at the current position into d. */
static int dict_read_here(sd_bus_message *reply, OutputDict *d) {
        int r;

        r = sd_bus_message_enter_container(reply, SD_BUS_TYPE_ARRAY, "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(reply, SD_BUS_TYPE_DICT_ENTRY, "sv")) > 0) {
                r = dict_read_entry(reply, d);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(reply);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(reply);
}

/* Reads an a{sv} reply into d, for commands that print or use its keys. */
int output_dict_read(sd_bus_message *reply, OutputDict *d) {
        int r;

        r = sd_bus_message_rewind(reply, true);
        if (r < 0)
                return r;
        return dict_read_here(reply, d);
}

/* A UNIX time for people; 0 means "none". */
static void print_time(const char *label, const char *text) {
        struct tm tm;
        char buf[64];
        uint64_t v;
        time_t t;

        if (!text || streq(text, "0")) {
                printf("%s: -\n", label);
                return;
        }
        if (parse_uint64(text, &v) < 0 || v > INT64_MAX) {
                printf("%s: %s\n", label, text);
                return;
        }
        t = (time_t) v;
        if (localtime_r(&t, &tm) && strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S %Z", &tm) > 0)
                printf("%s: %s (%s)\n", label, buf, text);
        else
                printf("%s: %s\n", label, text);
}

/* Prints the given keys of the reply as "key: value" lines, in that order;
 * absent keys are left out. */
void output_keys(const OutputDict *d, const char *const *keys) {
        for (const char *const *k = keys; *k; k++) {
                const OutputEntry *e = output_dict_get(d, *k);

                if (!e)
                        continue;
                if (e->type == SD_BUS_TYPE_UINT64 && (streq(*k, "expires") || streq(*k, "locked_until")))
                        print_time(*k, e->text);
                else
                        printf("%s: %s\n", *k, e->text);
        }
}

/* Either --json or the chosen keys. */
int output_reply(Ctl *c, sd_bus_message *reply, const char *const *keys) {
        OutputDict d = {};
        int r;

        if (c->json)
                r = output_json_reply(reply, c->show_token);
        else {
                r = output_dict_read(reply, &d);
                if (r >= 0)
                        output_keys(&d, keys);
                output_dict_done(&d);
        }
        if (r < 0) {
                fprintf(stderr, "sauthctl: cannot parse the reply: %s\n", strerror(-r));
                return EXIT_DENIED;
        }
        return EXIT_OK;
}

/* ------------------------------------------------------------ lists of dictionaries */

/* Moves into the variant of key (of type aa{sv}) in an a{sv} reply.
 * Returns > 0 there, 0 when the key is absent. */
static int reply_enter_list(sd_bus_message *reply, const char *key) {
        const char *k;
        int r;

        r = sd_bus_message_rewind(reply, true);
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(reply, SD_BUS_TYPE_ARRAY, "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(reply, SD_BUS_TYPE_DICT_ENTRY, "sv")) > 0) {
                r = sd_bus_message_read_basic(reply, SD_BUS_TYPE_STRING, &k);
                if (r < 0)
                        return r;
                if (streq(k, key)) {
                        r = sd_bus_message_enter_container(reply, SD_BUS_TYPE_VARIANT, "aa{sv}");
                        return r < 0 ? r : 1;
                }
                r = sd_bus_message_skip(reply, "v");
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
                if (r < 0)
                        return r;
        }
        return r;
}

static int json_list(sd_bus_message *reply, const char *key) {
        _cleanup_json_ json_t *j = NULL;
        int r;

        r = reply_enter_list(reply, key);
        if (r == 0)
                return -EBADMSG;
        if (r < 0)
                return r;
        r = json_value(reply, false, &j);
        if (r < 0)
                return r;
        if (json_dumpf(j, stdout, JSON_COMPACT | JSON_ENCODE_ANY) < 0)
                return -EIO;
        fputc('\n', stdout);
        return 0;
}

typedef struct Table {
        OutputDict *rows;
        size_t n;
} Table;

static void table_done(Table *t) {
        for (size_t i = 0; i < t->n; i++)
                output_dict_done(&t->rows[i]);
        free(t->rows);
        *t = (Table) {};
}

static int table_read(sd_bus_message *reply, const char *key, Table *t) {
        int r;

        r = reply_enter_list(reply, key);
        if (r == 0)
                return -EBADMSG;
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(reply, SD_BUS_TYPE_ARRAY, "a{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_peek_type(reply, NULL, NULL)) > 0) {
                OutputDict *rows = reallocarray(t->rows, t->n + 1, sizeof(OutputDict));

                if (!rows)
                        return -ENOMEM;
                t->rows = rows;
                t->rows[t->n++] = (OutputDict) {};
                r = dict_read_here(reply, &t->rows[t->n - 1]);
                if (r < 0)
                        return r;
        }
        return r;
}

static char *strv_join_comma(char **l) {
        size_t size = 1;
        char *s;

        for (char **p = l; *p; p++)
                size += strlen(*p) + 1;
        s = calloc(1, size);
        for (char **p = l; s && *p; p++) {
                if (p != l)
                        strcat(s, ",");
                strcat(s, *p);
        }
        return s;
}

/* A UNIX time in a table: a local date, or zero's meaning. */
static char *table_time(const char *text, const char *zero) {
        struct tm tm;
        char buf[64];
        uint64_t v;
        time_t t;

        if (parse_uint64(text, &v) < 0 || v > INT64_MAX)
                return strdup(text);
        if (v == 0)
                return strdup(zero ?: "-");
        t = (time_t) v;
        if (!localtime_r(&t, &tm) || strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm) == 0)
                return strdup(text);
        return strdup(buf);
}

/* One cell for people: times as local dates, lists joined with commas,
 * empty text as "-". */
static int table_cell(const OutputDict *row, const OutputColumn *col, char **ret) {
        const OutputEntry *e = output_dict_get(row, col->key);

        if (!e || isempty(e->text))
                *ret = strdup("-");
        else if (e->strv)
                *ret = strv_join_comma(e->strv);
        else if (col->time && e->type == SD_BUS_TYPE_UINT64)
                *ret = table_time(e->text, col->zero);
        else
                *ret = strdup(e->text);
        return *ret ? 0 : -ENOMEM;
}

static void table_line(const char *const *cells, const size_t *width, size_t n_cols) {
        for (size_t c = 0; c < n_cols; c++)
                if (c + 1 < n_cols)
                        printf("%-*s  ", (int) width[c], cells[c]);
                else
                        printf("%s\n", cells[c]);
}

/* Prints the rows under a header, each column as wide as its widest cell. */
static int table_print(const Table *t, const OutputColumn *cols, size_t n_cols) {
        char **cells = calloc(t->n * n_cols + 1, sizeof(char *));
        const char *header[n_cols];
        size_t width[n_cols];
        int r = 0;

        if (!cells)
                return -ENOMEM;
        for (size_t c = 0; c < n_cols; c++) {
                header[c] = cols[c].header;
                width[c] = strlen(cols[c].header);
        }
        for (size_t i = 0; r >= 0 && i < t->n; i++)
                for (size_t c = 0; r >= 0 && c < n_cols; c++) {
                        char **cell = &cells[i * n_cols + c];

                        r = table_cell(&t->rows[i], &cols[c], cell);
                        if (r >= 0)
                                width[c] = MAX(width[c], strlen(*cell));
                }
        if (r >= 0) {
                table_line(header, width, n_cols);
                for (size_t i = 0; i < t->n; i++)
                        table_line((const char *const *) &cells[i * n_cols], width, n_cols);
        }
        strv_free(cells);
        return r;
}

int output_list(Ctl *c, sd_bus_message *reply, const char *key, const OutputColumn *cols, size_t n_cols) {
        Table t = {};
        int r;

        if (c->json)
                r = json_list(reply, key);
        else {
                r = table_read(reply, key, &t);
                if (r >= 0)
                        r = table_print(&t, cols, n_cols);
                table_done(&t);
        }
        if (r < 0) {
                fprintf(stderr, "sauthctl: cannot parse the reply: %s\n", strerror(-r));
                return EXIT_DENIED;
        }
        return EXIT_OK;
}

/* For methods with an empty reply: --json still prints a JSON value. */
int output_empty(Ctl *c) {
        if (c->json)
                puts("{}");
        return EXIT_OK;
}

int output_strv(Ctl *c, const char *key, char **items, const char *const *extra) {
        _cleanup_json_ json_t *doc = NULL, *list = NULL;
        _cleanup_free_ char *text = NULL;

        if (!c->json) {
                for (char **p = items; p && *p; p++)
                        puts(*p);
                return EXIT_OK;
        }
        doc = json_object();
        list = json_array();
        if (!doc || !list)
                return ctl_oom();
        for (const char *const *p = extra; p && p[0] && p[1]; p += 2)
                if (json_object_set_new(doc, p[0], json_string(p[1])) < 0)
                        return ctl_oom();
        for (char **p = items; p && *p; p++)
                if (json_array_append_new(list, json_string(*p)) < 0)
                        return ctl_oom();
        if (json_object_set(doc, key, list) < 0)
                return ctl_oom();
        text = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (!text)
                return ctl_oom();
        puts(text);
        return EXIT_OK;
}
