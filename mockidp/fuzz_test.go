package mockidp

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/authdev/authdev/internal/state"
)

const fuzzYAML = `
idp:
  clients:
    - {id: webapp, secret: s3cret, redirect_uris: [http://127.0.0.1:5555/callback, "https://app.example.com/cb?tenant=a"]}
    - {id: spa, redirect_uris: [http://localhost:5173/callback]}
    - {id: ci, secret: ci-secret, grants: [client_credentials]}
personas:
  alice: {groups: [admins]}
  bob: {email: bob@example.com}
environments:
  dev: {alg: ES256}
`

func fuzzServer(f *testing.F) *Server {
	cfg := mustConfig(f, fuzzYAML)
	srv, err := New(cfg, Options{Store: state.NewMemory(), BaseURL: "http://localhost:9400"})
	if err != nil {
		f.Fatal(err)
	}
	return srv
}

var knownErrors = []ErrorCode{ErrInvalidRequest, ErrInvalidClient, ErrInvalidGrant, ErrUnauthorizedClient,
	ErrUnsupportedGrantType, ErrInvalidScope, ErrInvalidTarget, ErrAuthorizationPending, ErrSlowDown,
	ErrExpiredToken, ErrAccessDenied}

// FuzzTokenRequest feeds arbitrary bodies and Authorization headers to the
// token endpoint: it must answer 200 or an RFC 6749 error, never panic.
func FuzzTokenRequest(f *testing.F) {
	srv := fuzzServer(f)
	for _, seed := range [][2]string{
		{"grant_type=client_credentials", "Basic Y2k6Y2ktc2VjcmV0"},
		{"grant_type=client_credentials&client_id=ci&client_secret=ci-secret&scope=a+b&audience=x&audience=y", ""},
		{"grant_type=authorization_code&code=abc&redirect_uri=http%3A%2F%2F127.0.0.1%3A5555%2Fcallback&code_verifier=x", "Basic d2ViYXBwOnMzY3JldA=="},
		{"grant_type=refresh_token&refresh_token=zzz&client_id=spa", ""},
		{"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code=d&client_id=spa", ""},
		{"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange&subject_token=a.b.c&subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Aaccess_token", "Basic Y2k6Y2ktc2VjcmV0"},
		{"grant_type=client_credentials&grant_type=password", "Basic %%%"},
		{"%zz=1&;", "Bearer x"},
		{"grant_type=client_credentials", "Basic " + "Y2klM0E6eA=="},
	} {
		f.Add(seed[0], seed[1])
	}
	h := srv.Handler()
	f.Fuzz(func(t *testing.T, body, authorization string) {
		req := httptest.NewRequest(http.MethodPost, "http://localhost:9400/dev/token", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if authorization != "" {
			req.Header["Authorization"] = []string{authorization}
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var out map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatalf("status %d, body not JSON: %q", rec.Code, rec.Body.String())
		}
		switch rec.Code {
		case http.StatusOK:
			if out["access_token"] == nil || out["token_type"] != "Bearer" {
				t.Fatalf("200 without a token: %v", out)
			}
		case http.StatusBadRequest, http.StatusUnauthorized:
			code, _ := out["error"].(string)
			if !slices.Contains(knownErrors, ErrorCode(code)) || out["error_description"] == "" {
				t.Fatalf("status %d with %v", rec.Code, out)
			}
		default:
			t.Fatalf("status %d: %v", rec.Code, out)
		}
		// The parser agrees with itself: what it read is what the form says.
		form, err := url.ParseQuery(body)
		if tr, e := parseTokenForm(form, authorization); err == nil && e == nil && string(tr.grantType) != form.Get("grant_type") {
			t.Fatalf("grant_type %q parsed as %q", form.Get("grant_type"), tr.grantType)
		}
	})
}

// FuzzAuthorizeRedirect drives /authorize with arbitrary clients, redirect
// URIs, login hints and prompts: it may only ever redirect to a URI
// registered for a known client, and a hint naming a persona logs it in.
func FuzzAuthorizeRedirect(f *testing.F) {
	srv := fuzzServer(f)
	for _, s := range [][5]string{
		{"webapp", "http://127.0.0.1:5555/callback", "alice", "", ""},
		{"webapp", "http://127.0.0.1:1/callback", "bob@example.com", "none", "S256"},
		{"webapp", "https://app.example.com/cb?tenant=a", "", "none", ""},
		{"webapp", "https://app.example.com/cb?tenant=b", "alice", "", ""},
		{"spa", "http://localhost:5173/callback", "alice", "login", "S256"},
		{"spa", "http://localhost.evil.example:5173/callback", "alice", "", "S256"},
		{"authdev-cli", "http://[::1]:9/x", "carol", "none", "S256"},
		{"authdev-proxy", "https://127.0.0.1:8443/oauth/login", "alice", "", ""},
		{"authdev-proxy", "http://127.0.0.1@evil.example/oauth/login", "alice", "", ""},
		{"authdev-cli", "http://127.0.0.1:80#frag", "alice", "", "S256"},
		{"ci", "http://127.0.0.1:5555/callback", "alice", "", ""},
		{"nobody", "javascript:alert(1)", "\x00", "select_account", "plain"},
	} {
		f.Add(s[0], s[1], s[2], s[3], s[4])
	}
	h := srv.Handler()
	challenge := "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
	f.Fuzz(func(t *testing.T, clientID, redirectURI, hint, prompt, method string) {
		q := url.Values{"client_id": {clientID}, "redirect_uri": {redirectURI}, "response_type": {"code"},
			"login_hint": {hint}, "prompt": {prompt}, "state": {"st"}}
		if method != "" {
			q.Set("code_challenge", challenge)
			q.Set("code_challenge_method", method)
		}
		req := httptest.NewRequest(http.MethodGet, "http://localhost:9400/dev/authorize?"+q.Encode(), nil)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusOK, http.StatusBadRequest:
			if rec.Header().Get("Location") != "" {
				t.Fatalf("status %d with a Location", rec.Code)
			}
			return
		case http.StatusFound:
		default:
			t.Fatalf("status %d", rec.Code)
		}
		c, ok := srv.clients[clientID]
		if !ok {
			t.Fatalf("redirected for unknown client %q", clientID)
		}
		u, err := parseRedirect(redirectURI)
		if err != nil || !c.redirect(u) {
			t.Fatalf("redirected to unregistered %q for %q", redirectURI, clientID)
		}
		loc, err := url.Parse(rec.Header().Get("Location"))
		if err != nil || loc.Scheme != u.Scheme || loc.Host != u.Host || loc.Path != u.Path {
			t.Fatalf("Location %q is not the redirect URI %q", rec.Header().Get("Location"), redirectURI)
		}
		if loc.Query().Get("state") != "st" {
			t.Fatalf("state lost: %s", loc)
		}
		if _, isPersona := srv.cfg.Persona(strings.TrimSpace(hint)); isPersona && loc.Query().Get("error") == "" && loc.Query().Get("code") == "" {
			t.Fatalf("no code and no error: %s", loc)
		}
	})
}

// FuzzLoopback checks that whatever isLoopback accepts names this machine.
func FuzzLoopback(f *testing.F) {
	for _, s := range []string{"http://127.0.0.1:8080/cb", "http://localhost/", "http://[::1]:1/", "http://localhost.evil/",
		"http://127.0.0.1.nip.io/", "http://0x7f.1/", "http://[::ffff:127.0.0.1]/", "https://user@127.0.0.1/", "http://127.1/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := url.Parse(raw)
		if err != nil || !isLoopback(u) {
			return
		}
		h := u.Hostname()
		if !strings.EqualFold(h, "localhost") {
			ip := net.ParseIP(h)
			if ip == nil || !ip.IsLoopback() {
				t.Fatalf("%q accepted as loopback with host %q", raw, h)
			}
		}
		if u.User != nil || u.Fragment != "" {
			t.Fatalf("%q accepted with user info or fragment", raw)
		}
	})
}
