#!/usr/bin/env python3
"""Writes the committed seed corpus: tokens signed with the fuzz target's fixed key ([7; 32]) or MACed with its
refresh secret, and request bodies.

Run from fuzz/: python3 seeds.py   (needs the `cryptography` package)
"""
import base64, hashlib, hmac, json, os
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives import serialization

def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()

def compact(obj):
    return json.dumps(obj, separators=(",", ":")).encode()

key = Ed25519PrivateKey.from_private_bytes(bytes([7] * 32))
x = b64(key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))
kid = b64(hashlib.sha256(compact({"crv": "Ed25519", "kty": "OKP", "x": x})).digest())
ROOM = "0b7c1b1a-2f6e-4c3a-9d1e-5a4b3c2d1e0f"

# The refresh secret roomgate_token derives from the key: HKDF-SHA256 (RFC 5869), one expand block.
prk = hmac.new(b"roomgate refresh-token HMAC-SHA256 v1", bytes([7] * 32), hashlib.sha256).digest()
refresh_secret = hmac.new(prk, kid.encode() + b"\x01", hashlib.sha256).digest()

def token(typ, iat=1_799_999_000, ttl=3600, header=None, mac=False):
    header = header or {"alg": "EdDSA", "typ": "JWT", "kid": kid}
    claims = {
        "aud": "telnyx_access_token", "exp": iat + ttl,
        "grants": [{"actions": ["join"], "resources": [f"telnyx:video:rooms:{ROOM}"], "subjects": ["telnyx:users:null"]}],
        "grants_version": "1.0.0", "iat": iat, "iss": "telnyx_access_token",
        "jti": "6f1c2d3e-4b5a-4978-8a9b-0c1d2e3f4a5b", "nbf": iat - 1, "sub": "null", "typ": typ,
    }
    if mac:
        claims = {"api_key_id": "00000000-0000-4000-8000-000000000001", **claims}
    signing_input = f"{b64(compact(header))}.{b64(compact(claims))}"
    if mac:
        return f"{signing_input}.{b64(hmac.new(refresh_secret, signing_input.encode(), hashlib.sha256).digest())}"
    return f"{signing_input}.{b64(key.sign(signing_input.encode()))}"

tokens = {
    "access": token("access"),
    "refresh": token("refresh", ttl=86400),
    "refresh-hs256": token("refresh", ttl=86400, mac=True,
                           header={"alg": "HS256", "typ": "roomgate-refresh+jwt", "kid": f"rt.{kid}"}),
    "expired": token("access", iat=1_000_000_000),
    "no-kid": token("access", header={"alg": "EdDSA", "typ": "JWT"}),
    "alg-none": token("access", header={"alg": "none", "typ": "JWT", "kid": kid}),
}
for name, t in tokens.items():
    open(f"corpus/token/seed-{name}", "w").write(t)

bodies = {
    "empty": "",
    "empty-object": "{}",
    "ttls": '{"ttl_secs":600,"refresh_token_ttl_secs":3600}',
    "join-ttls": '{"token_ttl_secs":3600,"refresh_token_ttl_secs":86400}',
    "room": '{"unique_name":"standup","max_participants":10,"enable_recording":false,'
            '"webhook_event_url":"https://example.com/hook","webhook_event_failover_url":null,"webhook_timeout_secs":30}',
    "refresh": json.dumps({"refresh_token": tokens["refresh"], "ttl_secs": 10.0}),
    "edges": '{"ttl_secs":9,"refresh_token_ttl_secs":1e100,"max_participants":-1,"unique_name":"\\u0000"}',
}
for name, b in bodies.items():
    open(f"corpus/body/seed-{name}", "w").write(b)
