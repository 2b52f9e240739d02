"""A FastAPI backend behind authdev.

It trusts exactly one thing about its caller: the X-Authdev-Assertion JWT the
authdev proxy signs for every request it forwards. ``current_user`` verifies
it with PyJWT's PyJWKClient against the proxy's JWKS (issuer, audience,
expiry, ES256 only); ``require_role("admin")`` guards admin routes. The
X-Remote-* headers are shown for comparison, never trusted.

Run it with Debian's FastAPI (0.92) and uvicorn:

    /usr/bin/python3 -m uvicorn app:app --port 8000
    authdev up --upstream http://127.0.0.1:8000

Configuration (environment):
    AUTHDEV_ISSUER    the proxy URL `authdev up` prints (default https://127.0.0.1:8443)
    AUTHDEV_AUDIENCE  this upstream's name in authdev.yaml (default "app", the
                      name `authdev up --upstream URL` gives it)
    AUTHDEV_JWKS_URL  the proxy's keys (default $AUTHDEV_ISSUER/.authdev/jwks.json)
    AUTHDEV_CA_FILE   a PEM CA to trust for the JWKS, e.g. from `authdev ca print`
    AUTHDEV_LEEWAY    clock skew tolerated on exp/iat/nbf, seconds (default 10)
"""

import asyncio
import json
import os
import ssl
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Optional

import jwt
from fastapi import Depends, FastAPI, Query, Request, WebSocket
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.requests import HTTPConnection
from starlette.websockets import WebSocketDisconnect

ASSERTION_HEADER = "x-authdev-assertion"
JWKS_PATH = "/.authdev/jwks.json"
ALGORITHMS = ["ES256"]  # the proxy signs with ES256 only; never "none" or HS*
IDENTITY_HEADERS = ("x-remote-user", "x-remote-groups", "x-remote-roles")


@dataclass(frozen=True)
class Settings:
    issuer: str
    audience: str
    jwks_url: str
    ca_file: Optional[str] = None
    leeway: float = 10.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> "Settings":
        issuer = env.get("AUTHDEV_ISSUER", "https://127.0.0.1:8443").rstrip("/")
        try:
            leeway = float(env.get("AUTHDEV_LEEWAY", "10"))
        except ValueError:
            raise ValueError(
                f"AUTHDEV_LEEWAY={env['AUTHDEV_LEEWAY']!r} is not a number: give seconds, e.g. 10"
            ) from None
        return cls(
            issuer=issuer,
            audience=env.get("AUTHDEV_AUDIENCE", "app"),
            jwks_url=env.get("AUTHDEV_JWKS_URL") or issuer + JWKS_PATH,
            ca_file=env.get("AUTHDEV_CA_FILE") or None,
            leeway=leeway,
        )


class AuthError(Exception):
    """A refused request; rendered as {"error", "error_description"} JSON."""

    def __init__(self, status: int, error: str, description: str):
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description


class _KeyClient(jwt.PyJWKClient):
    """PyJWKClient that trusts AUTHDEV_CA_FILE, times out, and refetches at
    most once per ``min_refresh`` seconds, so a stream of assertions with
    unknown kids cannot turn every request into a JWKS download."""

    def __init__(self, uri: str, ca_file: Optional[str], min_refresh: float = 5.0):
        super().__init__(uri, cache_jwk_set=True, lifespan=600)
        self._ssl = ssl.create_default_context(cafile=ca_file) if ca_file else None
        self._min_refresh = min_refresh
        self._lock = threading.Lock()
        self._fetched_at = float("-inf")
        self._last: Any = None

    def fetch_data(self) -> Any:
        with self._lock:
            if self._last is not None and time.monotonic() - self._fetched_at < self._min_refresh:
                return self._last
            try:
                with urllib.request.urlopen(self.uri, timeout=10, context=self._ssl) as resp:
                    data = json.load(resp)
            except (urllib.error.URLError, OSError, ValueError) as e:
                raise jwt.PyJWKClientError(
                    f"fetching {self.uri}: {e}: is authdev running, and does AUTHDEV_CA_FILE "
                    "hold its CA (authdev ca print)?"
                ) from e
            self._last, self._fetched_at = data, time.monotonic()
            if self.jwk_set_cache is not None:
                self.jwk_set_cache.put(data)
            return data


class AssertionVerifier:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.keys = _KeyClient(settings.jwks_url, settings.ca_file)

    def verify(self, token: str) -> Dict[str, Any]:
        """Returns the claims of a valid assertion or raises AuthError."""
        s = self.settings
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as e:
            raise AuthError(401, "invalid_assertion", f"malformed assertion: {e}") from None
        # Refuse a foreign algorithm before looking up its kid, so forged
        # headers cannot trigger key downloads.
        if header.get("alg") not in ALGORITHMS:
            raise AuthError(
                401, "invalid_assertion",
                f"assertion algorithm {header.get('alg')!r} not allowed, want {', '.join(ALGORITHMS)}",
            )
        try:
            key = self.keys.get_signing_key_from_jwt(token)
        except jwt.PyJWKClientError as e:
            if "Unable to find a signing key" in str(e):
                raise AuthError(401, "invalid_assertion",
                                f"assertion signed with an unknown key: {e}") from None
            raise AuthError(503, "keys_unavailable", str(e)) from None
        except jwt.DecodeError as e:
            raise AuthError(401, "invalid_assertion", f"malformed assertion: {e}") from None
        except jwt.PyJWTError as e:  # an unusable key set
            raise AuthError(503, "keys_unavailable", f"{self.keys.uri}: {e}") from None
        try:
            return jwt.decode(
                token,
                key.key,
                algorithms=ALGORITHMS,
                audience=s.audience,
                issuer=s.issuer,
                leeway=s.leeway,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.InvalidAudienceError:
            raise AuthError(401, "invalid_assertion",
                            f"assertion audience is not {s.audience!r}: set AUTHDEV_AUDIENCE "
                            "to this upstream's name in authdev.yaml") from None
        except jwt.InvalidIssuerError:
            raise AuthError(401, "invalid_assertion",
                            f"assertion issuer is not {s.issuer!r}: set AUTHDEV_ISSUER to the "
                            "proxy URL that `authdev up` prints") from None
        except jwt.ExpiredSignatureError:
            raise AuthError(401, "invalid_assertion", "assertion expired") from None
        except jwt.PyJWTError as e:
            raise AuthError(401, "invalid_assertion", f"assertion refused: {e}") from None


@dataclass(frozen=True)
class User:
    sub: str
    email: str
    name: str
    groups: List[str]
    roles: List[str]
    env: str
    persona: str
    claims: Dict[str, Any]

    @classmethod
    def from_claims(cls, c: Dict[str, Any]) -> "User":
        return cls(
            sub=c["sub"], email=c.get("email", ""), name=c.get("name", ""),
            groups=list(c.get("groups") or []), roles=list(c.get("roles") or []),
            env=c.get("env", ""), persona=c.get("persona", ""), claims=c,
        )


def authenticate(conn: HTTPConnection) -> User:
    """Verifies the connection's assertion; raises AuthError."""
    values = conn.headers.getlist(ASSERTION_HEADER)
    if not values:
        raise AuthError(401, "missing_assertion",
                        "the request has no X-Authdev-Assertion header: send it through the authdev proxy")
    if len(values) > 1:
        raise AuthError(401, "invalid_assertion",
                        f"{len(values)} X-Authdev-Assertion headers, want one")
    verifier: AssertionVerifier = conn.app.state.verifier
    return User.from_claims(verifier.verify(values[0]))


def current_user(conn: HTTPConnection) -> User:
    """FastAPI dependency: the verified caller. A plain `def`, so FastAPI runs
    it in its thread pool and a JWKS download never blocks the event loop."""
    return authenticate(conn)


def require_role(role: str) -> Callable[..., User]:
    """FastAPI dependency factory: the caller, who must hold ``role``."""

    def dependency(user: User = Depends(current_user)) -> User:
        if role not in user.roles:
            raise AuthError(403, "insufficient_role",
                            f"{user.sub} lacks the role {role!r} (has {user.roles} in {user.env!r})")
        return user

    return dependency


def _identity(user: User) -> Dict[str, Any]:
    return {
        "sub": user.sub, "email": user.email, "name": user.name, "groups": user.groups,
        "roles": user.roles, "env": user.env, "persona": user.persona,
    }


def create_app(settings: Optional[Settings] = None) -> FastAPI:
    settings = settings or Settings.from_env()
    app = FastAPI(title="authdev FastAPI example")
    app.state.verifier = AssertionVerifier(settings)

    @app.exception_handler(AuthError)
    async def auth_error(_: Request, exc: AuthError) -> JSONResponse:
        headers = {"Cache-Control": "no-store"}
        if exc.status == 401:
            headers["WWW-Authenticate"] = (
                f'AuthdevAssertion realm="{settings.audience}", error="{exc.error}"'
            )
        return JSONResponse({"error": exc.error, "error_description": exc.description},
                            status_code=exc.status, headers=headers)

    @app.get("/healthz")
    def healthz() -> Dict[str, str]:
        return {"status": "ok"}

    @app.get("/")
    def who_am_i(request: Request, user: User = Depends(current_user)) -> Dict[str, Any]:
        return {
            "identity": _identity(user),
            "claims": user.claims,
            # What the proxy injected, for comparison; the assertion decides.
            "identity_headers": {h: request.headers.getlist(h) for h in IDENTITY_HEADERS},
            # Every header as received, repetitions included.
            "headers": [[k.decode("latin-1"), v.decode("latin-1")] for k, v in request.scope["headers"]],
        }

    @app.get("/admin/users")
    def list_users(user: User = Depends(require_role("admin"))) -> Dict[str, Any]:
        return {
            "users": [
                {"email": "alice@example.com", "role": "admin"},
                {"email": "bob@example.com", "role": "developer"},
                {"email": "carol@example.com", "role": "viewer"},
            ],
            "requested_by": user.email,
        }

    @app.get("/reports/{name}")
    def report(name: str, user: User = Depends(current_user)) -> Dict[str, Any]:
        # Who may read reports is the proxy's policy (reports-readers); the
        # app only needs to know who is reading.
        return {"report": name, "reader": user.email, "env": user.env}

    @app.get("/events")
    def events(
        user: User = Depends(current_user),
        count: int = Query(5, ge=1, le=100),
        interval: float = Query(1.0, ge=0, le=10),
    ) -> StreamingResponse:
        async def stream():
            for n in range(1, count + 1):
                data = json.dumps({"n": n, "of": count, "persona": user.persona, "time": time.time()})
                yield f"id: {n}\nevent: tick\ndata: {data}\n\n"
                if n < count:
                    await asyncio.sleep(interval)

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache"})

    @app.websocket("/ws")
    async def echo(websocket: WebSocket) -> None:
        try:
            # Verification may download keys: keep it off the event loop.
            user = await asyncio.get_running_loop().run_in_executor(None, authenticate, websocket)
        except AuthError as e:
            await websocket.close(code=1008, reason=e.error)  # policy violation
            return
        await websocket.accept()
        await websocket.send_json({"hello": user.email})
        try:
            while True:
                await websocket.send_text(await websocket.receive_text())
        except WebSocketDisconnect:
            pass

    return app


app = create_app()
