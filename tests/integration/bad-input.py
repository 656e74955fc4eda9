#!/usr/bin/python3
# The bad-input corpus over the bus: every method of sauthd's interface is
# called with wrong signatures, 1 MiB strings, control characters and CRLF
# in each string argument, and a huge a{sv}; after each call sauthd must
# still answer Peer.Ping. Prints one line per method; exit 1 if sauthd
# stopped answering, or answered a call with no reply at all.
#   bad-input.py ADDRESS BUS_NAME OBJECT_PATH INTERFACE
import sys
import xml.etree.ElementTree as ET

import dbus

address, name, path, iface = sys.argv[1:5]
bus = dbus.bus.BusConnection(address)

BIG = "A" * (1024 * 1024)
NASTY = ["\r\n", "a\r\nBcc: x@example.org", "\x01\x02\x1b[31m", "\x7f", "x" * 300, "../../etc/passwd",
         "%s%n%s", "\u202e\u0000".replace("\u0000", ""), "é" * 2000]

def ping():
    bus.call_blocking(name, path, "org.freedesktop.DBus.Peer", "Ping", "", (), timeout=30)

def call(method, sig, args):
    try:
        bus.call_blocking(name, path, iface, method, sig, args, timeout=30)
        return "ok"
    except dbus.exceptions.DBusException as e:
        n = e.get_dbus_name() or ""
        if n in ("org.freedesktop.DBus.Error.NoReply", "org.freedesktop.DBus.Error.Disconnected",
                 "org.freedesktop.DBus.Error.ServiceUnknown", "org.freedesktop.DBus.Error.NameHasNoOwner"):
            raise SystemExit("%s(%s): %s" % (method, sig, n))
        return n.rsplit(".", 1)[-1]

NAMED = {"method": "local", "status": "active", "username": "alice"}

def default(t, argname=""):
    if t == "s" and argname in NAMED:
        return NAMED[argname]
    return {"s": "x", "b": False, "u": 1, "t": 0, "as": ["full"], "a{sv}": {}}.get(t)

def variants(args):
    """Argument lists: each string argument replaced by each nasty value."""
    base = [default(t, n) for n, t in args]
    for i, (_, t) in enumerate(args):
        values = [BIG] + NASTY if t == "s" else []
        if t == "as":
            values = [[BIG], ["\r\n"] * 1000]
        if t == "a{sv}":
            values = [{("k%d" % j): dbus.String("v" * 100, variant_level=1) for j in range(20000)},
                      {"service": dbus.UInt32(7, variant_level=1), "tty": dbus.String(BIG, variant_level=1)}]
        for v in values:
            a = list(base)
            a[i] = v
            yield a

xml = bus.call_blocking(name, path, "org.freedesktop.DBus.Introspectable", "Introspect", "", ())
root = ET.fromstring(xml)
methods = []
for i in root.iter("interface"):
    if i.get("name") == iface:
        for m in i.iter("method"):
            methods.append((m.get("name"),
                            [(a.get("name"), a.get("type")) for a in m.iter("arg") if a.get("direction", "in") == "in"]))
if not methods:
    raise SystemExit("no methods introspected")

total = 0
for method, args in methods:
    sig = "".join(t for _, t in args)
    results = {}
    # Wrong signatures: nothing, one u, the right types plus one more.
    for wsig, wargs in (("", ()), ("u", (dbus.UInt32(1),)), ("ay", ([1, 2, 3],)),
                        (sig + "s", tuple(default(t, n) for n, t in args) + ("extra",))):
        if wsig == sig:
            continue
        r = call(method, wsig, wargs)
        results[r] = results.get(r, 0) + 1
        total += 1
        ping()
    for a in variants(args):
        r = call(method, sig, a)
        results[r] = results.get(r, 0) + 1
        total += 1
        ping()
    print("%s: %s" % (method, ", ".join("%s×%d" % kv for kv in sorted(results.items()))))
print("%d calls, sauthd answered each and is alive" % total)
