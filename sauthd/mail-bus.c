/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The mail area on the bus: MailQueue (admin), the messages waiting in
 * the outbox — who they are for and how their sending goes, never their
 * text, which holds tokens.
 */
#include <errno.h>
#include <stdint.h>

#include "mail-bus.h"
#include "manager.h"

/* Rows one reply carries at most; a longer queue shows its first ones,
 * in the order they are due. */
#define MAIL_QUEUE_MAX 1000U

static int mail_queue_append(const StoreMail *mail, void *userdata) {
        sd_bus_message *reply = userdata;
        int r;

        r = sd_bus_message_open_container(reply, 'a', "{sv}");
        if (r >= 0)
                r = sd_bus_message_append(reply, "{sv}{sv}{sv}",
                                          "id", "s", mail->id,
                                          "template", "s", mail->template_name,
                                          "recipient", "s", mail->recipient);
        if (r >= 0)
                r = sd_bus_message_append(reply, "{sv}{sv}{sv}{sv}{sv}",
                                          "created", "t", (uint64_t) mail->created,
                                          "attempts", "u", (uint32_t) mail->attempts,
                                          "next_attempt", "t", (uint64_t) mail->next_attempt,
                                          "expires", "t", (uint64_t) mail->expires,
                                          "last_error", "s", mail->last_error);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        return r;
}

static int method_mail_queue(sd_bus_message *msg, Manager *m, const Caller *caller, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = bus_dict_new(msg, &reply);
        if (r >= 0)
                r = bus_list_open(reply, "messages", "a{sv}");
        if (r < 0)
                return r;
        r = store_mail_foreach(m->store, INT64_MAX, MAIL_QUEUE_MAX, mail_queue_append, reply);
        if (r < 0)
                return bus_error_errno(error, r, "outbox");
        r = bus_list_close(reply);
        if (r < 0)
                return r;
        return bus_dict_send(reply);
}

const BusMethod mail_bus_methods[] = {
        BUS_METHOD("MailQueue", BUS_NO_ARGS, BUS_RESULT("a{sv}", result),
                   method_mail_queue, BUS_ADMIN, 0),
        BUS_METHOD_END,
};
