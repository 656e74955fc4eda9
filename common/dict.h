/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <systemd/sd-bus.h>

/*
 * A typed reader of the a{sv} dictionaries the contract uses for replies
 * (and the login context). Callers list the keys they want in a table:
 *
 *         const DictField fields[] = {
 *                 { "exists", 'b', &exists },
 *                 { "uid",    's', &uid },
 *         };
 *         r = dict_read(reply, fields, ELEMENTSOF(fields));
 *
 * Keys not in the table are skipped, so the daemon may add keys without
 * breaking older clients. A wanted key whose variant holds another type is
 * an error (-EBADMSG): a reply that is not what the contract says fails
 * closed. Keys absent from the dictionary leave their variable untouched,
 * so set defaults first; a key given twice keeps the last value.
 */

typedef struct DictField {
        const char *key;
        /* A basic D-Bus type and what ret points to: 's' 'o' 'g' const char *
         * (into the message: valid while it lives), 'b' int, 'y' uint8_t,
         * 'n' int16_t, 'q' uint16_t, 'i' int32_t, 'u' uint32_t, 'x' int64_t,
         * 't' uint64_t, 'd' double. */
        char type;
        void *ret;
} DictField;

/* Reads the a{sv} at the message's current position (rewind first to read
 * a reply from its start) and leaves the position after it. With n == 0
 * it only checks the dictionary's shape. Returns 0 or a negative errno;
 * -EINVAL for a table with a type that is not basic. */
int dict_read(sd_bus_message *m, const DictField fields[], size_t n);
