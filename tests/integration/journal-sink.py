#!/usr/bin/python3
# A stand-in for journald's native socket, for the audit tests: receives
# datagrams on SOCKET (the journal's native protocol: "KEY=value\n", or
# "KEY\n" + little-endian 64-bit length + bytes + "\n" for binary values)
# and appends each as one JSON object per line to OUT. Stops on SIGTERM.
import json, signal, socket, struct, sys

def parse(data):
    fields, i = {}, 0
    while i < len(data):
        nl = data.index(b"\n", i)
        line = data[i:nl]
        if b"=" in line:
            k, v = line.split(b"=", 1)
            i = nl + 1
        else:
            k = line
            (n,) = struct.unpack("<Q", data[nl + 1:nl + 9])
            v = data[nl + 9:nl + 9 + n]
            i = nl + 9 + n + 1
        fields[k.decode()] = v.decode(errors="replace")
    return fields

def main():
    path, out = sys.argv[1], sys.argv[2]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    with open(out, "a") as f:
        while True:
            data = s.recv(1 << 20)
            f.write(json.dumps(parse(data)) + "\n")
            f.flush()

main()
