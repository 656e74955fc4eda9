/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>

#include "manager.h"
#include "sauth-errors.h"

/*
 * The bus object: vtable, caller credentials, typed errors and the small
 * helpers method handlers share. Handlers are thin: parse, authorize,
 * call, reply. They live beside their logic (login.c, register.c, chpass.c).
 */

typedef struct Caller {
        uid_t uid;
        bool is_admin;          /* root or a member of [daemon] admin_group */
        char *username;         /* the caller's Unix user name, may be NULL */
} Caller;

void caller_done(Caller *c);

/* Credentials of the sender, from the bus (never from arguments). */
int bus_caller(Manager *m, sd_bus_message *msg, Caller *ret, sd_bus_error *error);

/* true if the caller is admin or is the Unix user named username. */
bool caller_is_admin_or_self(const Caller *c, const char *username);

/* Sets a typed error; returns a negative value for the handler to return. */
int bus_error(sd_bus_error *error, SauthStatus s, const char *fmt, ...) _printf_(3, 4);

/* Replies with a typed error to a call held for later (after a worker). */
int bus_reply_error(sd_bus_message *call, SauthStatus s, const char *fmt, ...) _printf_(3, 4);

/* Maps a store or internal errno to a typed error, logging unexpected ones. */
int bus_error_errno(sd_bus_error *error, int r, const char *what);

/* a{sv} entries. */
int bus_append_s(sd_bus_message *reply, const char *key, const char *value);
int bus_append_b(sd_bus_message *reply, const char *key, bool value);
int bus_append_u(sd_bus_message *reply, const char *key, uint32_t value);
int bus_append_t(sd_bus_message *reply, const char *key, uint64_t value);
int bus_append_d(sd_bus_message *reply, const char *key, double value);
int bus_append_strv(sd_bus_message *reply, const char *key, char **values);

/* Argument checks: non-empty (if required) and at most max bytes. */
bool arg_ok(const char *s, size_t max, bool required);

/* Queues an Argon2id job for a caller on the hash pool. Returns 1, or sets
 * LimitExceeded when the caller or the pool is at its cap. */
int bus_queue_hash_job(Manager *m, const Caller *c, HashTicket *ticket,
                       pool_work_fn work, pool_done_fn done, void *job, sd_bus_error *error);

int bus_install(Manager *m);

/* Method handlers. */
int method_methods(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int method_register(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int method_account_add(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int method_account_login(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int method_change_password(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int method_forgot_password(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int method_check_password(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int method_account_status(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int method_set_account_status(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int method_set_account_admin(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int method_expire_password(sd_bus_message *msg, void *userdata, sd_bus_error *error);
