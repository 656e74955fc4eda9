/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <qrencode.h>
#include <stdio.h>
#include <stdlib.h>

#include "qr.h"
#include "util.h"

#define QR_QUIET 2

static void qrcode_freep(QRcode **q) {
        if (*q)
                QRcode_free(*q);
}

/* Whether the module at (x, y) of the code with its quiet zone is dark. */
static bool qr_dark(const QRcode *q, int x, int y) {
        x -= QR_QUIET;
        y -= QR_QUIET;
        if (x < 0 || y < 0 || x >= q->width || y >= q->width)
                return false;
        return q->data[y * q->width + x] & 1;
}

int qr_text(const char *data, char **ret) {
        _cleanup_(qrcode_freep) QRcode *q = NULL;
        char *out = NULL;
        size_t len = 0;
        FILE *f;
        int size;

        q = QRcode_encodeString(data, 0, QR_ECLEVEL_L, QR_MODE_8, 1);
        if (!q)
                return errno == ENOMEM ? -ENOMEM : -EINVAL;
        size = q->width + 2 * QR_QUIET;
        f = open_memstream(&out, &len);
        if (!f)
                return -ENOMEM;
        for (int y = 0; y < size; y += 2) {
                for (int x = 0; x < size; x++) {
                        bool top = !qr_dark(q, x, y), bottom = y + 1 >= size || !qr_dark(q, x, y + 1);

                        fputs(top && bottom ? "\u2588" : top ? "\u2580" : bottom ? "\u2584" : " ", f);
                }
                fputc('\n', f);
        }
        if (fclose(f) != 0) {
                free(out);
                return -ENOMEM;
        }
        *ret = out;
        return 0;
}
