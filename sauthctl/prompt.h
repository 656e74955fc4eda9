/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

/* Asks for a secret: with the prompt and echo off on a terminal, else one
 * line from stdin (at most SAUTH_PASSWORD_BYTES). *ret is to be freed with
 * erase_and_free(). On failure prints why and returns an exit code. */
int prompt_secret(const char *prompt, char **ret);

/* The same for a secret of at most max bytes (a session token is longer
 * than a password may be). */
int prompt_secret_max(const char *prompt, size_t max, char **ret);
