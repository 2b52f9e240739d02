"""Test doubles of the authdev proxy's signing half: a JWKS server and
assertion signing, with PyJWT and cryptography."""

import base64
import hashlib
import hmac
import http.server
import json
import socket
import threading
import time
import uuid
from typing import Any, Dict, List, Optional

import jwt
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec


def new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def public_jwk(key: ec.EllipticCurvePrivateKey) -> Dict[str, str]:
    """The JWK of a P-256 public key with 32-byte coordinates, as RFC 7518
    wants and authdev's proxy publishes. (PyJWT 2.6's to_jwk drops leading
    zero bytes, which its own from_jwk then refuses: one key in 64.)"""
    n = key.public_key().public_numbers()
    return {"kty": "EC", "crv": "P-256", "x": b64(n.x.to_bytes(32, "big")), "y": b64(n.y.to_bytes(32, "big"))}


def b64json(obj: Any) -> str:
    return b64(json.dumps(obj, separators=(",", ":")).encode())


class FakeProxy:
    """Serves a JWKS at /.authdev/jwks.json and signs assertions; its URL is
    the issuer."""

    def __init__(self, audience: str = "app"):
        self.audience = audience
        self.key = new_key()
        self.kid = "test-1"
        self.fetches = 0
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path != "/.authdev/jwks.json":
                    self.send_error(404)
                    return
                proxy.fetches += 1
                jwk = dict(public_jwk(proxy.key), kid=proxy.kid, alg="ES256", use="sig")
                body = json.dumps({"keys": [jwk]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.jwks_url = self.url + "/.authdev/jwks.json"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def claims(self, persona: str, roles: Optional[List[str]] = None, **override) -> Dict[str, Any]:
        now = int(time.time())
        c = {
            "iss": self.url, "aud": self.audience, "sub": persona,
            "email": f"{persona}@example.com", "name": persona.title(),
            "groups": [f"group-{persona}"], "roles": roles or [],
            "env": "dev", "persona": persona, "iat": now, "exp": now + 60,
            "jti": uuid.uuid4().hex,
        }
        c.update(override)
        return c

    def sign(self, claims: Dict[str, Any], key=None, kid: Optional[str] = None) -> str:
        return jwt.encode(claims, key or self.key, algorithm="ES256",
                          headers={"kid": kid or self.kid})

    def assertion(self, persona: str, roles: Optional[List[str]] = None, **override) -> str:
        return self.sign(self.claims(persona, roles, **override))

    def alg_none(self, claims: Dict[str, Any]) -> str:
        return b64json({"alg": "none", "typ": "JWT", "kid": self.kid}) + "." + b64json(claims) + "."

    def hs256_with_public_key(self, claims: Dict[str, Any]) -> str:
        """The key-confusion forgery: HMAC keyed with the public key PEM,
        which anyone can build from the JWKS."""
        secret = self.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        signing = b64json({"alg": "HS256", "typ": "JWT", "kid": self.kid}) + "." + b64json(claims)
        mac = hmac.new(secret, signing.encode(), hashlib.sha256).digest()
        return signing + "." + b64(mac)


class AppServer:
    """Runs an ASGI app under uvicorn on a free loopback port, in a thread."""

    def __init__(self, app):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port,
                                log_level="warning", lifespan="off", ws="wsproto")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]},
                                       daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)

    def close(self):
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()
