#!/usr/bin/python3
# An independent check of sauthd's session tokens (PyNaCl, not our C):
#   jwt-check.py verify TOKEN JWKS ISSUER     exit 0 if the EdDSA signature,
#                                             kid, iss and exp hold
#   jwt-check.py forge KIND TOKEN             prints a forged variant:
#       byte     one changed byte in the payload
#       otherkey the same claims signed by a fresh Ed25519 key, same kid
#       none     alg "none", no signature
#       hs256    alg "HS256" keyed with the public key (the old confusion)
import base64, hashlib, hmac, json, sys, time
import nacl.signing, nacl.exceptions

def b64d(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))

def b64e(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()

def verify(token, jwks, issuer):
    h, p, s = token.split(".")
    header = json.loads(b64d(h))
    claims = json.loads(b64d(p))
    keys = {k["kid"]: k for k in json.loads(jwks)["keys"]}
    assert header["alg"] == "EdDSA", header
    key = keys[header["kid"]]
    assert key["kty"] == "OKP" and key["crv"] == "Ed25519"
    nacl.signing.VerifyKey(b64d(key["x"])).verify((h + "." + p).encode(), b64d(s))
    assert claims["iss"] == issuer, claims
    assert claims["exp"] > time.time(), claims
    for c in ("sub", "acc", "jti", "iat", "auth", "method"):
        assert c in claims, c
    print(json.dumps(claims, sort_keys=True))

def forge(kind, token):
    h, p, s = token.split(".")
    header = json.loads(b64d(h))
    if kind == "byte":
        raw = bytearray(b64d(p))
        raw[len(raw) // 2] ^= 0x01
        return h + "." + b64e(bytes(raw)) + "." + s
    if kind == "otherkey":
        sig = nacl.signing.SigningKey.generate().sign((h + "." + p).encode()).signature
        return h + "." + p + "." + b64e(sig)
    if kind == "none":
        header["alg"] = "none"
        return b64e(json.dumps(header).encode()) + "." + p + "."
    if kind == "hs256":
        header["alg"] = "HS256"
        h2 = b64e(json.dumps(header).encode())
        mac = hmac.new(b"public key as secret", (h2 + "." + p).encode(), hashlib.sha256).digest()
        return h2 + "." + p + "." + b64e(mac)
    raise SystemExit("unknown forgery " + kind)

if sys.argv[1] == "verify":
    try:
        verify(sys.argv[2], sys.argv[3], sys.argv[4])
    except (AssertionError, KeyError, ValueError, nacl.exceptions.BadSignatureError) as e:
        sys.exit("refused: %r" % (e,))
else:
    print(forge(sys.argv[2], sys.argv[3]))
