#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Our EdDSA JWTs against another implementation (PyNaCl, i.e. libsodium
through Python, with JSON, base64url and the RFC 7638 thumbprint done here
from the RFCs, not by our C code):

- a token from jwt-tool verifies with the public key it printed, the kid is
  the key's thumbprint, the header and claims are what RFC 7519/8037 say;
- a token made here, with a key ring file written here, verifies in jwt-tool;
  with one byte changed, with alg "none", with another key, or expired, it
  is refused.

usage: test-jwt-interop.py PATH-TO-jwt-tool
"""
import base64
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time

try:
    import nacl.exceptions
    import nacl.signing
except ImportError:
    sys.exit("python3-nacl is missing (Debian package python3-nacl; ./run deps installs it)")

ISSUER = "interop.example.test"
failures = 0


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def thumbprint(x):
    jwk = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": x}, separators=(",", ":"), sort_keys=True)
    return b64url(hashlib.sha256(jwk.encode()).digest())


def check(ok, what):
    global failures
    print(("ok     " if ok else "FAILED ") + what)
    if not ok:
        failures += 1


def tool(*args):
    return subprocess.run([TOOL, *args], capture_output=True, text=True, timeout=60)


def ours_checked_by_nacl(tmp, now):
    out = tool("sign", os.path.join(tmp, "ours.key"), ISSUER, str(now))
    check(out.returncode == 0, "jwt-tool sign runs")
    token, pub, kid = out.stdout.split()
    h, p, s = token.split(".")
    key = nacl.signing.VerifyKey(unb64url(pub))
    try:
        key.verify(f"{h}.{p}".encode(), unb64url(s))
        check(True, "PyNaCl verifies our signature")
    except nacl.exceptions.BadSignatureError:
        check(False, "PyNaCl verifies our signature")
    header, claims = json.loads(unb64url(h)), json.loads(unb64url(p))
    check(header == {"alg": "EdDSA", "typ": "JWT", "kid": kid}, "header is alg EdDSA, typ JWT, kid")
    check(kid == thumbprint(pub), "kid is the RFC 7638 thumbprint of the public key")
    check(set(claims) == {"iss", "sub", "acc", "jti", "iat", "exp", "auth", "method", "identity"},
          "claims iss sub acc jti iat exp auth method identity")
    check(claims["iss"] == ISSUER and claims["sub"] == "alice" and claims["exp"] == now + 7200
          and isinstance(claims["iat"], int) and claims["auth"][0] == "user", "claim values and types")
    bad = bytearray(unb64url(p))
    bad[5] ^= 1
    try:
        key.verify(f"{h}.{b64url(bytes(bad))}".encode(), unb64url(s))
        check(False, "PyNaCl refuses our token with a changed payload byte")
    except nacl.exceptions.BadSignatureError:
        check(True, "PyNaCl refuses our token with a changed payload byte")


def write_ring(path, signing, now):
    seed = bytes(signing)  # PyNaCl's SigningKey is the 32-byte seed
    x = b64url(bytes(signing.verify_key))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(f"sauthd-keyring 1\n{thumbprint(x)} {now} sign 0 {b64url(seed)}\n")
    return thumbprint(x)


def make_token(signing, header, claims):
    h = b64url(json.dumps(header).encode())
    p = b64url(json.dumps(claims).encode())
    sig = signing.sign(f"{h}.{p}".encode()).signature
    return f"{h}.{p}.{b64url(sig)}"


def theirs_checked_by_us(tmp, now):
    signing = nacl.signing.SigningKey.generate()
    path = os.path.join(tmp, "theirs.key")
    kid = write_ring(path, signing, now)
    header = {"alg": "EdDSA", "typ": "JWT", "kid": kid}
    claims = {"iss": ISSUER, "sub": "bob", "acc": "x-1", "jti": "j-1", "iat": now, "exp": now + 60,
              "auth": ["user", "admin"], "method": "local"}

    def verify(token, at=now):
        return tool("verify", path, ISSUER, str(at), token).stdout.strip()

    good = make_token(signing, header, claims)
    check(verify(good) == "ok bob user admin", "jwt-tool verifies a token made by PyNaCl")
    i = good.rindex(".") - 3
    changed = good[:i] + ("A" if good[i] != "A" else "B") + good[i + 1:]
    check(verify(changed).startswith("refused"), "one changed byte is refused")
    check(verify(good, now + 60) == "refused ETIME", "expired is refused")
    none = b64url(json.dumps({"alg": "none", "typ": "JWT", "kid": kid}).encode())
    check(verify(f"{none}.{good.split('.')[1]}.").startswith("refused"), "alg none is refused")
    check(verify(make_token(signing, dict(header, alg="HS256"), claims)) == "refused EBADMSG",
          "alg HS256 is refused")
    other = nacl.signing.SigningKey.generate()
    check(verify(make_token(other, header, claims)) == "refused EKEYREJECTED",
          "another key under our kid is refused")
    check(verify(make_token(signing, header, dict(claims, iss="elsewhere"))) == "refused EREMOTE",
          "another issuer is refused")


TOOL = sys.argv[1]
with tempfile.TemporaryDirectory(prefix="test-jwt-interop-") as tmp:
    now = int(time.time())
    ours_checked_by_nacl(tmp, now)
    theirs_checked_by_us(tmp, now)
print(f"{failures} failed")
sys.exit(1 if failures else 0)
