/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * config_load() on any file: the input is written to a private temporary
 * file (mode 0600, or config_load() would refuse it) and loaded. A loaded
 * configuration must keep the promises config.h makes to the daemon.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "config.h"
#include "sauth-names.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fuzz_path[] = "/tmp/fuzz-config.XXXXXX";
static int fuzz_fd = -1;

static void fuzz_cleanup(void) {
        if (fuzz_fd >= 0)
                (void) unlink(fuzz_path);
}

static void fuzz_check(bool ok, const char *what) {
        if (!ok) {
                fprintf(stderr, "broken promise: %s\n", what);
                abort();
        }
}

static void fuzz_check_config(const SauthConfig *c) {
        fuzz_check(c->admin_group && c->store_path && c->pwquality_conf && c->issuer &&
                   c->key_file && c->mail_sender && c->mail_from && c->mail_templates &&
                   c->privacy_levels && c->roles_resource && c->settings_id, "string fields set");
        fuzz_check(c->max_queue >= 1, "max_queue >= 1");
        fuzz_check(c->max_length >= 1 && c->max_length <= SAUTH_PASSWORD_LENGTH_LIMIT, "max_length bounds");
        fuzz_check(c->hash_mem_kib >= 8 && c->hash_mem_kib <= 4ULL * 1024 * 1024, "hash_mem_kib bounds");
        fuzz_check(c->hash_ops >= 1 && c->hash_ops <= 64, "hash_ops bounds");
        fuzz_check(c->min_guesses_log10 >= 0 && c->min_guesses_log10 <= 100, "min_guesses_log10 bounds");
        /* The ranges: nothing that overflows an expiry or turns lockout off. */
        fuzz_check(c->workers <= 1024 && c->max_queue <= 65536, "daemon ranges");
        fuzz_check(c->history <= 100 && c->deny <= 1000, "history, deny ranges");
        fuzz_check(c->fail_interval >= 1 && c->fail_interval <= 365 * 86400, "fail_interval range");
        fuzz_check(c->unlock_time >= 1 && c->unlock_time <= 365 * 86400, "unlock_time range");
        fuzz_check(c->session_lifetime >= 1 && c->session_lifetime <= 365 * 86400 &&
                   c->admin_lifetime >= 1 && c->admin_lifetime <= 365 * 86400, "session lifetimes");
        fuzz_check(c->confirm_lifetime >= 1 && c->confirm_lifetime <= 30 * 86400 &&
                   c->reset_lifetime >= 1 && c->reset_lifetime <= 7 * 86400, "token lifetimes");
        fuzz_check(c->mail_timeout >= 1 && c->mail_timeout <= 600 && c->resets_per_hour <= 100 &&
                   c->mail_retry_min >= 1 && c->mail_retry_min <= 3600 && c->mail_outbox_key_file, "mail ranges");
        fuzz_check(c->apikey_max_per_user <= 1000 && c->apikey_pepper_file && c->apikey_scopes, "apikeys");
        fuzz_check(c->login_internal == LOGIN_OPEN || c->login_internal == LOGIN_CLOSED, "internal policy");
        fuzz_check(c->login_register == LOGIN_ADMIN || c->login_register == LOGIN_OPEN, "register policy");
        fuzz_check(c->login_external != LOGIN_ADMIN, "external policy");
        for (size_t i = 0; i < c->n_resources; i++)
                fuzz_check(c->resources[i].name && c->resources[i].value, "resource pair");
        for (size_t i = 0; i < c->n_providers; i++) {
                fuzz_check(!isempty(c->providers[i].name), "provider name");
                for (size_t j = 0; j < i; j++)
                        fuzz_check(!streq(c->providers[i].name, c->providers[j].name), "provider unique");
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(config_freep) SauthConfig *c = NULL;
        int r;

        if (size > 64 * 1024)
                return 0;
        if (fuzz_fd < 0) {
                fuzz_fd = mkstemp(fuzz_path);
                if (fuzz_fd < 0)
                        abort();
                atexit(fuzz_cleanup);
        }
        if (ftruncate(fuzz_fd, 0) < 0 || pwrite(fuzz_fd, data, size, 0) != (ssize_t) size)
                abort();

        r = config_load(fuzz_path, true, &c);
        if (r >= 0)
                fuzz_check_config(c);
        else
                fuzz_check(r == -EINVAL || r == -ENOMEM, "error is -EINVAL");
        return 0;
}
