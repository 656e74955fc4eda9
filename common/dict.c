/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <string.h>

#include "dict.h"
#include "util.h"

/* The basic types a field may have (sd-bus keeps its own predicate
 * private). Unix fds are left out: no reply of ours carries one. */
static bool dict_type_ok(char type) {
        return type != 0 && strchr("sogbynqiuxtd", type);
}

static int dict_read_value(sd_bus_message *m, const DictField *f) {
        const char *contents;
        char sig[2] = { f->type, 0 };
        int r;

        r = sd_bus_message_peek_type(m, NULL, &contents);
        if (r < 0)
                return r;
        if (r == 0 || !streq(contents, sig))
                return -EBADMSG;
        r = sd_bus_message_enter_container(m, SD_BUS_TYPE_VARIANT, sig);
        if (r < 0)
                return r;
        r = sd_bus_message_read_basic(m, f->type, f->ret);
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

static int dict_read_entry(sd_bus_message *m, const DictField fields[], size_t n) {
        const char *key;
        int r;

        r = sd_bus_message_read_basic(m, SD_BUS_TYPE_STRING, &key);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                if (streq(key, fields[i].key))
                        return dict_read_value(m, &fields[i]);
        return sd_bus_message_skip(m, "v");
}

int dict_read(sd_bus_message *m, const DictField fields[], size_t n) {
        int r;

        for (size_t i = 0; i < n; i++)
                if (!fields[i].key || !dict_type_ok(fields[i].type) || !fields[i].ret)
                        return -EINVAL;

        r = sd_bus_message_enter_container(m, SD_BUS_TYPE_ARRAY, "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, SD_BUS_TYPE_DICT_ENTRY, "sv")) > 0) {
                r = dict_read_entry(m, fields, n);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        return r < 0 ? r : 0;
}
