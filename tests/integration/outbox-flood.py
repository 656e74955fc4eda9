#!/usr/bin/python3
# An open-registration flood for the outbox test: N registrations as fast
# as one connection takes them, and halfway a real person's password reset
# request. Prints how many registrations were acknowledged.
#   outbox-flood.py ADDRESS BUS_NAME OBJECT_PATH INTERFACE PREFIX N RESET_USER
import sys

import dbus

address, name, path, iface, prefix, n, reset_user = sys.argv[1:8]
bus = dbus.bus.BusConnection(address)
acked = 0
for i in range(1, int(n) + 1):
    bus.call_blocking(name, path, iface, "Register", "sssss",
                      ("%s%d@example.org" % (prefix, i), "%s%d" % (prefix, i), "Flood", "", ""), timeout=30)
    acked += 1
    if i == int(n) // 2:
        bus.call_blocking(name, path, iface, "ForgotPassword", "sss", ("", reset_user, ""), timeout=30)
print(acked)
