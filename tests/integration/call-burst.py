#!/usr/bin/python3
# Calls one method COUNT times as fast as one connection allows and prints
# how many calls got through before the first error, and that error's
# short name ("-" if none came): a rate limit's burst, measured without the
# start-up of a client process per call (which a loaded machine makes
# slower than the refill). With BURST_THROUGH=NAME in the environment, an
# error of that name counts as getting through. With CALL_INTERVAL=SECONDS
# the calls start on that schedule instead (a dialog checking on every
# keystroke): call i at start + i * interval, catching up at once when a
# call was slow, so the average rate is the one asked for.
#   call-burst.py ADDRESS BUS_NAME OBJECT_PATH INTERFACE METHOD SIGNATURE COUNT ARG...
import os
import sys
import time

import dbus

address, name, path, iface, method, sig, count = sys.argv[1:8]
args = sys.argv[8:]
conv = {"s": str, "b": lambda v: v == "true"}
values = tuple(conv[t](a) for t, a in zip(sig, args))
bus = dbus.bus.BusConnection(address)
ok = 0
interval = float(os.environ.get("CALL_INTERVAL") or 0)
start = time.monotonic()
for i in range(int(count)):
    if interval > 0:
        delay = start + i * interval - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    try:
        bus.call_blocking(name, path, iface, method, sig, values, timeout=30)
        ok += 1
    except dbus.exceptions.DBusException as e:
        short = (e.get_dbus_name() or "").rsplit(".", 1)[-1]
        if short == os.environ.get("BURST_THROUGH"):
            ok += 1
            continue
        print(ok, short)
        break
else:
    print(ok, "-")
