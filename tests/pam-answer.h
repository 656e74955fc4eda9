/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <security/pam_appl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * The PAM conversation of the test programs that drive the module in
 * their own process (tests/bench/pam-login-bench, tests/integration/
 * pam-rounds): every echo-off prompt is answered with the password; the
 * last error message shown is kept when notice is given.
 */
typedef struct PamAnswer {
        const char *password;
        char *notice;           /* NULL: not kept */
        size_t notice_size;
} PamAnswer;

static inline int pam_answer_conv(int n, const struct pam_message **msg, struct pam_response **ret,
                                  void *userdata) {
        const PamAnswer *a = userdata;
        struct pam_response *resp;

        if (n <= 0 || n > PAM_MAX_NUM_MSG)
                return PAM_CONV_ERR;
        resp = calloc((size_t) n, sizeof *resp);
        if (!resp)
                return PAM_BUF_ERR;
        for (int i = 0; i < n; i++)
                if (msg[i]->msg_style == PAM_PROMPT_ECHO_OFF) {
                        resp[i].resp = strdup(a->password);
                        if (!resp[i].resp) {
                                for (int k = 0; k < i; k++)
                                        if (resp[k].resp) {
                                                explicit_bzero(resp[k].resp, strlen(resp[k].resp));
                                                free(resp[k].resp);
                                        }
                                free(resp);
                                return PAM_BUF_ERR;
                        }
                } else if (msg[i]->msg_style == PAM_ERROR_MSG && a->notice)
                        snprintf(a->notice, a->notice_size, "%s", msg[i]->msg);
        *ret = resp;
        return PAM_SUCCESS;
}
