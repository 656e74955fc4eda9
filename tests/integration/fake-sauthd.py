#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# A stranger's service that takes sauthd's bus name and says yes to every
# login and status question: what a misconfigured bus would let an
# ordinary user do. The PAM module must refuse its answers unless they
# come from root or the daemon user. It writes READY_FILE once it owns the
# name, appends the name of each method called to READY_FILE.calls (so a
# test can see whether a password ever reached it), and exits on SIGTERM
# or after LIFETIME seconds (bounded).
#   fake-sauthd.py ADDRESS READY_FILE [LIFETIME]
import signal
import sys

import dbus
import dbus.service
from dbus.mainloop.glib import DBusGMainLoop
from gi.repository import GLib

NAME = "org.sessionauth.SessionAuth1"
PATH = "/org/sessionauth/SessionAuth1"
IFACE = "org.sessionauth.SessionAuth1"
# Shaped like a session token (header.claims.signature); it signs nothing.
CALLS = None

TOKEN = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4LWZha2UifQ." + "A" * 86


def record(method):
    with open(CALLS, "a") as f:
        f.write(method + "\n")


class Fake(dbus.service.Object):
    @dbus.service.method(IFACE, in_signature="sssa{sv}", out_signature="a{sv}")
    def AccountLogin(self, username, password, method, context):
        record("AccountLogin")
        return dbus.Dictionary({
            "jwt_token": dbus.String(TOKEN), "account_id": dbus.String("x-0000000000000001"),
            "uid": dbus.String("x-0000000000000002"), "username": dbus.String(username),
            "roles": dbus.Array(["admin", "user"], signature="s"),
            "expires": dbus.UInt64(4102444800), "status": dbus.String("complete"),
        }, signature="sv")

    @dbus.service.method(IFACE, in_signature="s", out_signature="a{sv}")
    def AccountStatus(self, username):
        record("AccountStatus")
        return dbus.Dictionary({
            "exists": dbus.Boolean(True), "status": dbus.String("active"),
            "locked_until": dbus.UInt64(0), "password_must_change": dbus.Boolean(False),
            "uid": dbus.String("x-0000000000000002"), "admin": dbus.Boolean(True),
        }, signature="sv")

    @dbus.service.method(IFACE, in_signature="s", out_signature="a{sv}")
    def VerifyToken(self, token):
        record("VerifyToken")
        return dbus.Dictionary({"jti": dbus.String("fake"), "uid": dbus.String("x-0000000000000002"),
                                "expires": dbus.UInt64(4102444800)}, signature="sv")

    @dbus.service.method(IFACE, in_signature="s", out_signature="")
    def Logout(self, token):
        record("Logout")
        pass


def main():
    global CALLS
    address, ready = sys.argv[1], sys.argv[2]
    CALLS = ready + ".calls"
    lifetime = int(sys.argv[3]) if len(sys.argv) > 3 else 120
    DBusGMainLoop(set_as_default=True)
    bus = dbus.bus.BusConnection(address)
    bus.request_name(NAME, dbus.bus.NAME_FLAG_DO_NOT_QUEUE)
    Fake(bus, PATH)
    loop = GLib.MainLoop()
    GLib.timeout_add_seconds(lifetime, loop.quit)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, loop.quit)
    with open(ready, "w") as f:
        f.write(bus.get_unique_name() + "\n")
    loop.run()


if __name__ == "__main__":
    main()
