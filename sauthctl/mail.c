/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * The mail verb: the messages waiting in sauthd's outbox, with their
 * attempts and last error. Their text is never shown: it holds tokens.
 */

#include "call.h"
#include "output.h"
#include "sauthctl.h"
#include "util.h"

int verb_mail(Ctl *c, int argc, char **argv) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        static const OutputColumn cols[] = {
                { "ID",           "id",           false, NULL },
                { "TEMPLATE",     "template",     false, NULL },
                { "RECIPIENT",    "recipient",    false, NULL },
                { "CREATED",      "created",      true,  NULL },
                { "ATTEMPTS",     "attempts",     false, NULL },
                { "NEXT_ATTEMPT", "next_attempt", true,  NULL },
                { "EXPIRES",      "expires",      true,  NULL },
                { "LAST_ERROR",   "last_error",   false, NULL },
        };
        int r;

        r = ctl_call_noargs(c, "MailQueue", &reply);
        if (r != EXIT_OK)
                return r;
        return output_list(c, reply, "messages", cols, ELEMENTSOF(cols));
}
