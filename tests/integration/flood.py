#!/usr/bin/python3
# A write flood for the crash test: registrations, password reset requests
# for them (a token and its message) and admin password changes, one at a
# time; every acknowledged one is logged (and flushed) before the next is
# sent. Stops at the first call without an answer.
#   flood.py ADDRESS BUS_NAME OBJECT_PATH INTERFACE PREFIX UID ACK_FILE
import sys

import dbus

address, name, path, iface, prefix, uid, ack_path = sys.argv[1:8]
bus = dbus.bus.BusConnection(address)
ack = open(ack_path, "a", buffering=1)
n = 0
while True:
    n += 1
    try:
        bus.call_blocking(name, path, iface, "Register", "sssss",
                          ("%s%d@example.org" % (prefix, n), "%s%d" % (prefix, n), "Flood", "", ""), timeout=10)
        ack.write("register %s%d\n" % (prefix, n))
        bus.call_blocking(name, path, iface, "ForgotPassword", "sss", ("", "%s%d" % (prefix, n), ""), timeout=10)
        ack.write("reset %s%d\n" % (prefix, n))
        pw = "flood password %s number %d" % (prefix, n)
        bus.call_blocking(name, path, iface, "ChangePassword", "sssss", (uid, pw, "", "", pw), timeout=10)
        ack.write("password %d\n" % n)
    except dbus.exceptions.DBusException:
        break
