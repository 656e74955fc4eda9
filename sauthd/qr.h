/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A QR code drawn in text with Unicode half blocks (two modules a line),
 * light modules as blocks — for terminals with light text on a dark
 * background, as `qrencode -t UTF8` draws them — with a quiet zone of two
 * modules. The daemon draws it, so that the PAM module links nothing more.
 */

/* -EINVAL for text that cannot be encoded, -ENOMEM. */
int qr_text(const char *data, char **ret);
