/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pam-rounds: many PAM transactions in one process, as a screen locker
 * makes them, and what each leaves allocated.
 *
 *   pam-rounds CONFDIR SERVICE USER LOCALE ROUNDS
 *
 * The password is the first line of standard input. A round is
 * pam_start_confdir() + pam_putenv("LANG=LOCALE") + pam_authenticate() +
 * pam_acct_mgmt() + pam_end(); the account is expected to have to change
 * its password, so that pam_acct_mgmt() shows the module's (translated)
 * notice. Three rounds warm up; then the bytes allocated are read before
 * and after ROUNDS more.
 *
 * Output: bytes_per_round=N notice=TEXT (the last notice shown). Exit 0 if
 * every round went as expected, 1 otherwise, 2 on bad usage.
 */
#include <malloc.h>
#include <security/pam_appl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pam-answer.h"

#define WARMUP_ROUNDS 3

/* With AddressSanitizer malloc is its own, and mallinfo2() says nothing. */
extern size_t __sanitizer_get_current_allocated_bytes(void) __attribute__((weak));

static size_t allocated(void) {
        if (__sanitizer_get_current_allocated_bytes)
                return __sanitizer_get_current_allocated_bytes();
        return mallinfo2().uordblks;
}

static int round_once(const char *confdir, const char *service, const char *user, const char *lang,
                      PamAnswer *a) {
        struct pam_conv pc = { pam_answer_conv, a };
        pam_handle_t *h = NULL;
        int r, ok = 0;

        r = pam_start_confdir(service, user, &pc, confdir, &h);
        if (r != PAM_SUCCESS)
                return -1;
        if (pam_putenv(h, lang) == PAM_SUCCESS && pam_authenticate(h, 0) == PAM_SUCCESS &&
            pam_acct_mgmt(h, 0) == PAM_NEW_AUTHTOK_REQD)
                ok = 1;
        pam_end(h, PAM_SUCCESS);
        return ok ? 0 : -1;
}

int main(int argc, char **argv) {
        char password[256], lang[128], notice[512] = "";
        PamAnswer a = { .password = password, .notice = notice, .notice_size = sizeof notice };
        size_t before, after;
        unsigned long rounds;
        char *end;

        if (argc != 6)
                return fprintf(stderr, "usage: %s CONFDIR SERVICE USER LOCALE ROUNDS\n", argv[0]), 2;
        rounds = strtoul(argv[5], &end, 10);
        if (*end || rounds == 0 || rounds > 1000)
                return fprintf(stderr, "ROUNDS: 1..1000\n"), 2;
        if (!fgets(password, sizeof password, stdin))
                return fprintf(stderr, "no password on standard input\n"), 2;
        password[strcspn(password, "\n")] = 0;
        snprintf(lang, sizeof lang, "LANG=%s", argv[4]);

        for (unsigned i = 0; i < WARMUP_ROUNDS; i++)
                if (round_once(argv[1], argv[2], argv[3], lang, &a) < 0)
                        return fprintf(stderr, "warm-up round %u failed\n", i + 1), 1;
        before = allocated();
        for (unsigned long i = 0; i < rounds; i++)
                if (round_once(argv[1], argv[2], argv[3], lang, &a) < 0)
                        return fprintf(stderr, "round %lu failed\n", i + 1), 1;
        after = allocated();
        explicit_bzero(password, sizeof password);
        printf("bytes_per_round=%ld notice=%s\n", ((long) after - (long) before) / (long) rounds, notice);
        return 0;
}
