/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Asks for a secret: with the prompt and echo off on a terminal, else one
 * line from stdin (at most SAUTH_PASSWORD_BYTES). *ret is to be freed with
 * erase_and_free(). On failure prints why and returns an exit code. */
int prompt_secret(const char *prompt, char **ret);
