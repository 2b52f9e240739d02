package backendcheck_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/authdev/authdev/identity"
	"github.com/authdev/authdev/identity/identitytest"
	"github.com/authdev/authdev/internal/backendcheck"
	"github.com/authdev/authdev/internal/junit/junittest"
)

const leeway = time.Second

// verifying is a backend done right: identity's middleware, and the admin
// route for the admin role.
func verifying(t *testing.T, p *identitytest.Proxy) http.Handler {
	v := p.Verifier(t, identity.Options{Audience: "app", Leeway: leeway})
	return v.Middleware(identity.RequireRole("admin")(okHandler()))
}

func okHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte(`{"users": []}`)) })
}

// headerTrusting believes X-Remote-Roles whenever it is there, and
// verifies the assertion only when it is not.
func headerTrusting(t *testing.T, p *identitytest.Proxy) http.Handler {
	verified := verifying(t, p)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if roles := r.Header.Get("X-Remote-Roles"); roles != "" {
			if !slices.Contains(strings.Split(roles, ","), "admin") {
				http.Error(w, "forbidden", http.StatusForbidden)
				return
			}
			okHandler().ServeHTTP(w, r)
			return
		}
		verified.ServeHTTP(w, r)
	})
}

// signatureOnly checks the signature against the proxy's keys (ES256
// only) and nothing in the claims: not exp, nbf, aud or iss.
func signatureOnly(t *testing.T, p *identitytest.Proxy) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		jws, err := jose.ParseSigned(r.Header.Get(identity.Header), []jose.SignatureAlgorithm{jose.ES256})
		if err != nil || jws.Signatures[0].Header.KeyID != p.KeyID() {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		payload, err := jws.Verify(&p.Key().PublicKey)
		var c identity.Claims
		if err != nil || json.Unmarshal(payload, &c) != nil {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		if !slices.Contains(c.Roles, "admin") {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		okHandler().ServeHTTP(w, r)
	})
}

func target(p *identitytest.Proxy, backendURL string) *backendcheck.Target {
	return &backendcheck.Target{URL: backendURL, Method: "GET", Path: "/admin/users", Issuer: p.URL(), Audience: "app",
		OtherAudience: "billing", Key: p.Key(), KeyID: p.KeyID(), Leeway: leeway, Client: http.DefaultClient,
		Personas: []backendcheck.Persona{
			{ID: "carol", Email: "carol@example.com", Env: "dev", Groups: []string{"analysts"}, Roles: []string{"viewer"}},
			{ID: "alice", Email: "alice@example.com", Env: "dev", Groups: []string{"eng-admins"}, Roles: []string{"admin"}},
		},
		IdentityHeaders: func(p backendcheck.Persona) http.Header {
			return http.Header{"X-Remote-User": {p.Email}, "X-Remote-Roles": {strings.Join(p.Roles, ",")}}
		}}
}

func TestBackendsAreJudgedByTheForgeriesTheyAccept(t *testing.T) {
	tests := []struct {
		name    string
		backend func(*testing.T, *identitytest.Proxy) http.Handler
		failing []string
	}{
		{"a backend that verifies the assertion refuses every forgery", verifying, nil},
		{"a backend that trusts identity headers is caught by the header cases", headerTrusting,
			[]string{backendcheck.CaseSpoofedHeaders, backendcheck.CaseHeadersDisagree}},
		{"a backend that checks only the signature is caught by the claim cases", signatureOnly,
			[]string{backendcheck.CaseExpired, backendcheck.CaseNotYetValid, backendcheck.CaseWrongAudience,
				backendcheck.CaseWrongIssuer, backendcheck.CaseReplayExpired}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := identitytest.New(t, "app")
			srv := httptest.NewServer(tt.backend(t, p))
			defer srv.Close()
			results, err := backendcheck.Run(context.Background(), target(p, srv.URL))
			if err != nil {
				t.Fatal(err)
			}
			var failing []string
			for _, r := range results {
				switch r.Verdict {
				case backendcheck.Fail:
					failing = append(failing, r.Case)
					if r.Hint == "" {
						t.Errorf("%s failed without a fix hint", r.Case)
					}
				case backendcheck.Pass:
				default:
					t.Errorf("%s: %s (%s)", r.Case, r.Verdict, r.Got)
				}
			}
			if !slices.Equal(failing, tt.failing) {
				t.Errorf("failing cases %q, want %q\n%+v", failing, tt.failing, results)
			}
			if results[0].Case != backendcheck.CaseGenuine || !strings.HasPrefix(results[0].Got, "alice: 200") {
				t.Errorf("genuine: %+v, want alice accepted after carol was refused", results[0])
			}
			report := backendcheck.Report{Backend: srv.URL, Request: "GET /admin/users", Results: results}
			if report.OK() != (len(tt.failing) == 0) {
				t.Errorf("OK() = %v with failing cases %q", report.OK(), failing)
			}
			var buf bytes.Buffer
			if err := report.WriteJUnit(&buf); err != nil {
				t.Fatal(err)
			}
			junittest.Validate(t, buf.Bytes())
			if n := strings.Count(buf.String(), "<failure "); n != len(tt.failing) {
				t.Errorf("JUnit has %d failures, want %d", n, len(tt.failing))
			}
		})
	}
}

func TestABackendThatRefusesEverythingFailsTheGenuineCase(t *testing.T) {
	p := identitytest.New(t, "app")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, `{"error": "invalid_assertion"}`, http.StatusUnauthorized)
	}))
	defer srv.Close()
	results, err := backendcheck.Run(context.Background(), target(p, srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	if results[0].Verdict != backendcheck.Fail || !strings.Contains(results[0].Hint, "set its issuer to "+p.URL()) {
		t.Errorf("genuine: %+v", results[0])
	}
	var text bytes.Buffer
	backendcheck.Report{Backend: srv.URL, Request: "GET /admin/users", Results: results}.WriteText(&text)
	if !strings.Contains(text.String(), "FAILED:") || !strings.Contains(text.String(), "✗ genuine: your backend refused a genuine assertion") {
		t.Errorf("report:\n%s", text.String())
	}
}

func TestTheJSONReportCarriesEveryCaseAndTheVerdict(t *testing.T) {
	r := backendcheck.Report{Backend: "http://127.0.0.1:8000", Request: "GET /admin/users", Results: []backendcheck.Result{
		{Case: backendcheck.CaseGenuine, Verdict: backendcheck.Pass},
		{Case: backendcheck.CaseAlgNone, Verdict: backendcheck.Fail, Status: 200, Hint: "allow only ES256"},
	}}
	var buf bytes.Buffer
	if err := r.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		OK      bool
		Backend string
		Results []struct{ Case, Verdict, Hint string }
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OK || doc.Backend != r.Backend || len(doc.Results) != 2 || doc.Results[1].Verdict != "FAIL" || doc.Results[1].Hint == "" {
		t.Errorf("JSON: %s", buf.String())
	}
}
