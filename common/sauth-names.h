/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The D-Bus contract, version 1: names used by sauthd, pam_sessionauth.so,
 * sauthctl and the tests. Nothing else spells these strings.
 */

#define SAUTH_BUS_NAME      "org.sessionauth.SessionAuth1"
#define SAUTH_BUS_PATH      "/org/sessionauth/SessionAuth1"
#define SAUTH_BUS_INTERFACE "org.sessionauth.SessionAuth1"
#define SAUTH_ERROR_PREFIX  SAUTH_BUS_INTERFACE ".Error."

#define SAUTH_SYSTEM_BUS_ADDRESS "unix:path=/run/dbus/system_bus_socket"

/* Methods of the local login flow. */
#define SAUTH_METHOD_LOCAL "local"

/* Purposes of single-use tokens. */
#define SAUTH_TOKEN_CONFIRM "confirm"
#define SAUTH_TOKEN_RESET   "reset"

/* Account status values. */
#define SAUTH_STATUS_ACTIVE   "active"
#define SAUTH_STATUS_DISABLED "disabled"

/* Bounds on what callers may send; longer input is refused, never cut. */
#define SAUTH_NAME_MAX       64      /* user names */
#define SAUTH_TEXT_MAX       256     /* display names, identities, ids */
#define SAUTH_URL_MAX        2048    /* picture URLs */
#define SAUTH_PASSWORD_LENGTH_LIMIT 1024            /* most characters max_length may allow */
#define SAUTH_PASSWORD_BYTES (4 * SAUTH_PASSWORD_LENGTH_LIMIT) /* bytes, UTF-8 */
#define SAUTH_TOKEN_MAX      256     /* reset and confirmation tokens */
#define SAUTH_SESSION_TOKEN_MAX 8192 /* signed session tokens (sauthd's JWT_MAX) */
