"""The FastAPI example's dependencies against signed assertions: valid ones
reach the routes, forged, expired and misaddressed ones never do."""

import http.client
import json
import os
import socket
import sys
import time
import unittest
import urllib.parse
import urllib.request

import wsproto
import wsproto.events
from jwt.algorithms import ECAlgorithm

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import app as example  # noqa: E402
from tests.helpers import AppServer, FakeProxy, new_key, public_jwk  # noqa: E402


def get(url, headers=()):
    """GET url with headers, a list of pairs in which a name may repeat;
    returns (status, lower-cased headers, parsed JSON or text)."""
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    try:
        conn.putrequest("GET", u.path + ("?" + u.query if u.query else ""))
        for k, v in headers:
            conn.putheader(k, v)
        conn.endheaders()
        resp = conn.getresponse()
        body = resp.read()
        hdrs = {k.lower(): v for k, v in resp.getheaders()}
    finally:
        conn.close()
    if hdrs.get("content-type", "").startswith("application/json"):
        return resp.status, hdrs, json.loads(body)
    return resp.status, hdrs, body.decode()


class Fixture(unittest.TestCase):
    def setUp(self):
        self.proxy = FakeProxy("app")
        self.addCleanup(self.proxy.close)
        settings = example.Settings(issuer=self.proxy.url, audience="app",
                                    jwks_url=self.proxy.jwks_url)
        self.app = example.create_app(settings)
        self.server = AppServer(self.app)
        self.addCleanup(self.server.close)

    def call(self, path, token=None, extra=()):
        headers = list(extra)
        if token is not None:
            headers.append(("X-Authdev-Assertion", token))
        return get(self.server.url + path, headers)


class AssertionTests(Fixture):
    def test_refusals(self):
        p = self.proxy
        now = int(time.time())
        other = new_key()
        cases = [
            ("no assertion", None, 401, "missing_assertion"),
            ("garbage", "not-a-jwt", 401, "invalid_assertion"),
            ("a valid header over a garbage payload",
             p.assertion("alice").split(".")[0] + ".bm90IGpzb24.c2ln", 401, "invalid_assertion"),
            ("forged with another key under the proxy's kid",
             p.sign(p.claims("mallory", ["admin"]), key=other), 401, "invalid_assertion"),
            ("forged with another key and kid",
             p.sign(p.claims("mallory", ["admin"]), key=other, kid="attacker"), 401, "invalid_assertion"),
            ("expired", p.assertion("alice", ["admin"], iat=now - 300, exp=now - 240), 401, "invalid_assertion"),
            ("for another upstream", p.assertion("alice", ["admin"], aud="billing"), 401, "invalid_assertion"),
            ("from another issuer", p.assertion("alice", ["admin"], iss="https://evil.example"), 401, "invalid_assertion"),
            ("alg none", p.alg_none(p.claims("mallory", ["admin"])), 401, "invalid_assertion"),
            ("HS256 keyed with the public key", p.hs256_with_public_key(p.claims("mallory", ["admin"])), 401, "invalid_assertion"),
            ("without exp", p.sign({k: v for k, v in p.claims("alice").items() if k != "exp"}), 401, "invalid_assertion"),
        ]
        for name, token, status, error in cases:
            with self.subTest(name):
                got, hdrs, body = self.call("/", token)
                self.assertEqual(got, status, body)
                self.assertEqual(body["error"], error)
                self.assertTrue(body["error_description"])
                self.assertIn(error, hdrs.get("www-authenticate", ""))

    def test_descriptions_say_how_to_fix(self):
        p = self.proxy
        _, _, body = self.call("/", p.assertion("alice", aud="billing"))
        self.assertIn("AUTHDEV_AUDIENCE", body["error_description"])
        _, _, body = self.call("/", p.assertion("alice", iss="https://evil.example"))
        self.assertIn("AUTHDEV_ISSUER", body["error_description"])

    def test_identity_headers_alone_are_not_trusted(self):
        status, _, body = self.call("/", None, [("X-Remote-User", "alice@example.com"),
                                                 ("X-Remote-Roles", "admin")])
        self.assertEqual(status, 401)
        self.assertEqual(body["error"], "missing_assertion")

    def test_two_assertions_are_refused_even_if_valid(self):
        p = self.proxy
        status, _, body = self.call("/", p.assertion("bob"), [("X-Authdev-Assertion", p.assertion("alice", ["admin"]))])
        self.assertEqual(status, 401, body)

    def test_unknown_kids_do_not_force_downloads(self):
        p = self.proxy
        self.assertEqual(self.call("/", p.assertion("alice"))[0], 200)
        for i in range(10):
            self.call("/", p.sign(p.claims("mallory"), key=new_key(), kid=f"random-{i}"))
        self.assertEqual(p.fetches, 1)

    def test_unreachable_keys_are_a_503(self):
        settings = example.Settings(issuer=self.proxy.url, audience="app",
                                    jwks_url="http://127.0.0.1:1/.authdev/jwks.json")
        server = AppServer(example.create_app(settings))
        self.addCleanup(server.close)
        status, _, body = get(server.url + "/", [("X-Authdev-Assertion", self.proxy.assertion("alice"))])
        self.assertEqual(status, 503, body)
        self.assertEqual(body["error"], "keys_unavailable")
        self.assertIn("is authdev running", body["error_description"])


class RouteTests(Fixture):
    def test_who_am_i(self):
        status, _, body = self.call("/", self.proxy.assertion("carol", ["viewer"]),
                                    [("X-Remote-User", "carol@example.com")])
        self.assertEqual(status, 200, body)
        self.assertEqual(body["identity"]["email"], "carol@example.com")
        self.assertEqual(body["identity"]["roles"], ["viewer"])
        self.assertEqual(body["identity_headers"]["x-remote-user"], ["carol@example.com"])
        self.assertIn(["x-remote-user", "carol@example.com"], body["headers"])

    def test_admin_users(self):
        p = self.proxy
        cases = [
            ("an admin lists users", p.assertion("alice", ["admin"]), 200, None),
            ("a viewer is forbidden", p.assertion("carol", ["viewer"]), 403, "insufficient_role"),
            ("no roles is forbidden", p.assertion("eve"), 403, "insufficient_role"),
            ("no assertion is a 401", None, 401, "missing_assertion"),
        ]
        for name, token, status, error in cases:
            with self.subTest(name):
                got, _, body = self.call("/admin/users", token)
                self.assertEqual(got, status, body)
                if error:
                    self.assertEqual(body["error"], error)
                else:
                    self.assertEqual(body["requested_by"], "alice@example.com")

    def test_reports_need_any_caller(self):
        status, _, body = self.call("/reports/q3", self.proxy.assertion("eve"))
        self.assertEqual(status, 200, body)
        self.assertEqual(body["report"], "q3")
        self.assertEqual(self.call("/reports/q3")[0], 401)

    def test_healthz_needs_nobody(self):
        status, _, body = self.call("/healthz")
        self.assertEqual((status, body), (200, {"status": "ok"}))

    def test_events_stream_before_they_end(self):
        req = urllib.request.Request(self.server.url + "/events?count=3&interval=1",
                                     headers={"X-Authdev-Assertion": self.proxy.assertion("bob")})
        try:
            resp = urllib.request.urlopen(req, timeout=10)
        except urllib.error.HTTPError as e:
            self.fail(f"/events: {e.code} {e.read()!r}")
        with resp:
            self.assertEqual(resp.headers["Content-Type"].split(";")[0], "text/event-stream")
            first = b""
            while not first.endswith(b"\n\n"):
                first += resp.read1(1024)
            first_received = time.time()
            rest = resp.read()
        events = [json.loads(line[len(b"data: "):]) for line in (first + rest).split(b"\n")
                  if line.startswith(b"data: ")]
        self.assertEqual([e["n"] for e in events], [1, 2, 3])
        self.assertEqual(events[0]["persona"], "bob")
        # Causality, not a stopwatch: the first event was in our hands before
        # the app produced the last one, so nothing buffered the stream.
        self.assertLess(first_received, events[-1]["time"])

    def test_websocket_echo(self):
        msgs = ws_exchange(self.server.port, self.proxy.assertion("alice"), "ping")
        self.assertEqual(msgs, [json.dumps({"hello": "alice@example.com"}), "ping"])

    def test_websocket_without_assertion_is_refused(self):
        with self.assertRaises(ConnectionRefusedError):
            ws_exchange(self.server.port, None, "ping")


def ws_exchange(port, token, text):
    """Opens ws://127.0.0.1:port/ws with wsproto, sends text, returns the
    two messages received; raises ConnectionRefusedError when the handshake
    is rejected."""
    conn = wsproto.WSConnection(wsproto.ConnectionType.CLIENT)
    extra = [(b"x-authdev-assertion", token.encode())] if token else []
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(conn.send(wsproto.events.Request(host=f"127.0.0.1:{port}", target="/ws",
                                                   extra_headers=extra)))
        received = []
        sent = False
        while len(received) < 2:
            data = s.recv(65536)
            if not data:
                raise ConnectionRefusedError("connection closed")
            conn.receive_data(data)
            for ev in conn.events():
                if isinstance(ev, wsproto.events.RejectConnection):
                    raise ConnectionRefusedError(f"handshake rejected: {ev.status_code}")
                if isinstance(ev, wsproto.events.AcceptConnection) and not sent:
                    s.sendall(conn.send(wsproto.events.TextMessage(text)))
                    sent = True
                elif isinstance(ev, wsproto.events.TextMessage):
                    received.append(ev.data)
                elif isinstance(ev, wsproto.events.CloseConnection):
                    raise ConnectionRefusedError(f"closed: {ev.code}")
        s.sendall(conn.send(wsproto.events.CloseConnection(code=1000)))
    return received


class SettingsTests(unittest.TestCase):
    def test_defaults(self):
        s = example.Settings.from_env({})
        self.assertEqual(s.issuer, "https://127.0.0.1:8443")
        self.assertEqual(s.audience, "app")
        self.assertEqual(s.jwks_url, "https://127.0.0.1:8443/.authdev/jwks.json")
        self.assertIsNone(s.ca_file)

    def test_jwks_url_follows_the_issuer(self):
        s = example.Settings.from_env({"AUTHDEV_ISSUER": "http://127.0.0.1:9999/"})
        self.assertEqual(s.jwks_url, "http://127.0.0.1:9999/.authdev/jwks.json")

    def test_bad_leeway_says_what_to_give(self):
        with self.assertRaisesRegex(ValueError, "AUTHDEV_LEEWAY"):
            example.Settings.from_env({"AUTHDEV_LEEWAY": "ten"})

class HelperTests(unittest.TestCase):
    def test_public_jwk_keeps_leading_zero_bytes(self):
        # One key in 64 has a coordinate under 2**248; the fake proxy's
        # JWKS must still be one PyJWT (and the app) accepts.
        while True:
            key = new_key()
            n = key.public_key().public_numbers()
            if n.x < 2**248 or n.y < 2**248:
                break
        parsed = ECAlgorithm.from_jwk(json.dumps(public_jwk(key)))
        self.assertEqual(parsed.public_numbers(), n)


if __name__ == "__main__":
    unittest.main()
