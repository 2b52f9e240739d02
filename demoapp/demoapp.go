package demoapp

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/authdev/authdev/identity"
)

// Options configure the demo backend. Give either Verifier, or Issuer and
// Audience (and JWKSURL and HTTPClient when the defaults do not fit) to
// build one.
type Options struct {
	Verifier *identity.Verifier

	Issuer     string // the proxy URL
	Audience   string // the demo upstream's name
	JWKSURL    string // default Issuer + /.authdev/jwks.json
	HTTPClient *http.Client

	// LogoutPath is the proxy's logout endpoint linked from the page;
	// default /cgi/tmlogout, the ADC's.
	LogoutPath string
	// Now is the clock; default time.Now.
	Now func() time.Time
}

type app struct {
	verifier *identity.Verifier
	logout   string
	now      func() time.Time
}

// New returns the demo backend's handler.
func New(opts Options) (http.Handler, error) {
	a := &app{verifier: opts.Verifier, logout: opts.LogoutPath, now: opts.Now}
	if a.now == nil {
		a.now = time.Now
	}
	if a.logout == "" {
		a.logout = "/cgi/tmlogout"
	}
	if a.verifier == nil {
		v, err := identity.New(identity.Options{
			Issuer:     opts.Issuer,
			Audience:   opts.Audience,
			JWKSURL:    opts.JWKSURL,
			HTTPClient: opts.HTTPClient,
			Now:        a.now,
		})
		if err != nil {
			return nil, fmt.Errorf("demo backend: %w", err)
		}
		a.verifier = v
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	// Every other path shows who you are, so any policy a user writes has
	// something to hit.
	mux.HandleFunc("/", a.whoami)
	return mux, nil
}

// Report is what the page shows, and the JSON answer.
type Report struct {
	Method  string `json:"method"`
	Path    string `json:"path"`
	Section string `json:"section"`
	// Verified tells whether the assertion passed identity.Verifier; Error
	// says why not.
	Verified bool   `json:"verified"`
	Error    string `json:"error,omitempty"`
	// Identity is set when the assertion verified.
	Identity *identity.Claims `json:"identity,omitempty"`
	// Claims are the assertion's claims: verified ones when Verified,
	// otherwise decoded without verification, for diagnosis.
	Claims    map[string]any `json:"claims,omitempty"`
	Assertion *AssertionInfo `json:"assertion,omitempty"`
	// IdentityHeaders are the X-Remote-* headers as they arrived, every
	// repetition included.
	IdentityHeaders map[string][]string `json:"identity_headers"`
	// Headers are every request header, the assertion shortened.
	Headers map[string][]string `json:"headers"`
}

// AssertionInfo describes the X-Authdev-Assertion token.
type AssertionInfo struct {
	Header    map[string]any `json:"header,omitempty"`
	ExpiresIn string         `json:"expires_in,omitempty"`
}

func (a *app) whoami(w http.ResponseWriter, r *http.Request) {
	rep := a.report(r)
	status := http.StatusOK
	if !rep.Verified {
		// A backend must not serve a caller it cannot identify; the page
		// still explains why, so the stack's misconfiguration is visible.
		status = http.StatusUnauthorized
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Add("Vary", "Accept")
	if wantsJSON(r) {
		writeJSON(w, status, rep)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_ = page.Execute(w, pageData{Report: rep, LogoutPath: a.logout})
}

func (a *app) report(r *http.Request) *Report {
	rep := &Report{
		Method:          r.Method,
		Path:            r.URL.Path,
		Section:         section(r.URL.Path),
		IdentityHeaders: map[string][]string{},
		Headers:         map[string][]string{},
	}
	for _, h := range []string{identity.HeaderUser, identity.HeaderGroups, identity.HeaderRoles} {
		rep.IdentityHeaders[h] = r.Header.Values(h)
	}
	for name, values := range r.Header {
		if strings.EqualFold(name, identity.Header) {
			values = slices.Clone(values)
			for i, v := range values {
				values[i] = shorten(v)
			}
		}
		rep.Headers[name] = values
	}
	if r.Host != "" {
		rep.Headers["Host"] = []string{r.Host}
	}

	values := r.Header.Values(identity.Header)
	var raw string
	switch len(values) {
	case 0:
		rep.Error = fmt.Sprintf("no %s header: this request did not come through the authdev proxy", identity.Header)
		return rep
	case 1:
		raw = values[0]
	default:
		rep.Error = fmt.Sprintf("%d %s headers: the proxy sends one; something between it and this backend added more", len(values), identity.Header)
		return rep
	}
	rep.Assertion = &AssertionInfo{}
	rep.Assertion.Header, rep.Claims = decodeUnverified(raw)
	id, err := a.verifier.Verify(r.Context(), raw)
	if err != nil {
		rep.Error = err.Error()
		if errors.Is(err, identity.ErrKeySet) {
			rep.Error += " (the demo fetches keys from " + a.verifier.Issuer() + identity.JWKSPath + ")"
		}
		return rep
	}
	rep.Verified = true
	rep.Identity = &id.Claims
	if all, err := id.AllClaims(); err == nil {
		rep.Claims = all
	}
	if id.Expiry != nil {
		rep.Assertion.ExpiresIn = id.Expiry.Time().Sub(a.now()).Round(time.Second).String()
	}
	return rep
}

func section(path string) string {
	switch {
	case path == "/admin" || strings.HasPrefix(path, "/admin/"):
		return "The admin area: the proxy's policies let you in (the built-in demo admits the admin role only)."
	case path == "/reports" || strings.HasPrefix(path, "/reports/"):
		return "Reports: the proxy's policies let you read them (the built-in demo admits admin, developer and viewer)."
	case path == "/":
		return "Home: every signed-in persona gets here."
	}
	return "Any path shows this page, so every policy you write has something to hit."
}

// decodeUnverified reads a JWT's header and payload without checking
// anything, for display beside the verification result.
func decodeUnverified(raw string) (header, claims map[string]any) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return nil, nil
	}
	decode := func(s string) map[string]any {
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil {
			return nil
		}
		var m map[string]any
		if json.Unmarshal(b, &m) != nil {
			return nil
		}
		return m
	}
	return decode(parts[0]), decode(parts[1])
}

func shorten(token string) string {
	if len(token) <= 40 {
		return token
	}
	return token[:20] + "…" + token[len(token)-12:]
}

// wantsJSON honours ?format=json and an Accept header that asks for JSON
// rather than HTML.
func wantsJSON(r *http.Request) bool {
	switch r.URL.Query().Get("format") {
	case "json":
		return true
	case "html":
		return false
	}
	accept := r.Header.Get("Accept")
	return strings.Contains(accept, "application/json") && !strings.Contains(accept, "text/html")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
