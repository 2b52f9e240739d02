package demoapp_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/authdev/authdev/demoapp"
	"github.com/authdev/authdev/identity"
	"github.com/authdev/authdev/identity/identitytest"
)

func newDemo(t *testing.T) (*identitytest.Proxy, http.Handler) {
	t.Helper()
	p := identitytest.New(t, "demo")
	h, err := demoapp.New(demoapp.Options{Issuer: p.URL(), Audience: "demo", JWKSURL: p.JWKSURL()})
	if err != nil {
		t.Fatal(err)
	}
	return p, h
}

func serve(h http.Handler, path string, header http.Header) *httptest.ResponseRecorder {
	req := httptest.NewRequest("GET", path, nil)
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func decode(t *testing.T, rec *httptest.ResponseRecorder) demoapp.Report {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type = %q, want JSON; body %s", ct, rec.Body)
	}
	var rep demoapp.Report
	if err := json.Unmarshal(rec.Body.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestReport(t *testing.T) {
	p, h := newDemo(t)
	other := identitytest.New(t, "demo")
	valid := p.Assertion(t, "alice", "admin")
	tests := []struct {
		name         string
		path         string
		header       http.Header
		wantStatus   int
		wantVerified bool
		wantPersona  string
		wantError    string
	}{
		{"a valid assertion shows the persona", "/?format=json",
			http.Header{identity.Header: {valid}, "X-Remote-User": {"alice@example.com"}}, 200, true, "alice", ""},
		{"the admin area shows the persona too", "/admin/users?format=json",
			http.Header{identity.Header: {valid}}, 200, true, "alice", ""},
		{"Accept: application/json selects JSON", "/reports/q3",
			http.Header{identity.Header: {valid}, "Accept": {"application/json"}}, 200, true, "alice", ""},
		{"a request without an assertion is refused and says why", "/?format=json",
			http.Header{"X-Remote-User": {"alice@example.com"}}, 401, false, "", "did not come through the authdev proxy"},
		{"a forged assertion is refused", "/?format=json",
			http.Header{identity.Header: {identitytest.Sign(t, other.Key(), p.KeyID(), p.Claims("mallory", "admin"))}}, 401, false, "", "signature"},
		{"an assertion signed by another proxy is refused", "/?format=json",
			http.Header{identity.Header: {identitytest.Sign(t, other.Key(), "other-proxy", p.Claims("alice", "admin"))}}, 401, false, "", "unknown key"},
		{"two assertions are refused", "/?format=json",
			http.Header{identity.Header: {valid, valid}}, 401, false, "", "2 X-Authdev-Assertion headers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := serve(h, tt.path, tt.header)
			if rec.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", rec.Code, tt.wantStatus, rec.Body)
			}
			rep := decode(t, rec)
			if rep.Verified != tt.wantVerified {
				t.Fatalf("verified = %v (%s), want %v", rep.Verified, rep.Error, tt.wantVerified)
			}
			if tt.wantPersona != "" && (rep.Identity == nil || rep.Identity.Persona != tt.wantPersona) {
				t.Fatalf("identity = %+v, want persona %q", rep.Identity, tt.wantPersona)
			}
			if !tt.wantVerified && rep.Identity != nil {
				t.Fatalf("unverified report carries identity %+v", rep.Identity)
			}
			if !strings.Contains(rep.Error, tt.wantError) {
				t.Fatalf("error = %q, want it to mention %q", rep.Error, tt.wantError)
			}
		})
	}
}

func TestReportShowsHeadersAndClaims(t *testing.T) {
	p, h := newDemo(t)
	c := p.Claims("bob", "developer")
	tok := p.Sign(t, c)
	rep := decode(t, serve(h, "/reports/q3?format=json", http.Header{
		identity.Header:  {tok},
		"X-Remote-User":  {"bob@example.com"},
		"X-Remote-Roles": {"developer"},
		"X-Custom":       {"one", "two"},
	}))
	if got := rep.IdentityHeaders["X-Remote-User"]; len(got) != 1 || got[0] != "bob@example.com" {
		t.Errorf("identity header X-Remote-User = %q", got)
	}
	if got := rep.IdentityHeaders["X-Remote-Groups"]; len(got) != 0 {
		t.Errorf("absent X-Remote-Groups reported as %q", got)
	}
	if got := rep.Headers["X-Custom"]; len(got) != 2 {
		t.Errorf("repeated header = %q, want both values", got)
	}
	if got := rep.Headers[identity.Header]; len(got) != 1 || got[0] == tok || !strings.Contains(got[0], "…") {
		t.Errorf("assertion header shown as %q, want it shortened", got)
	}
	if rep.Claims["jti"] != c.ID || rep.Claims["persona"] != "bob" {
		t.Errorf("claims = %v", rep.Claims)
	}
	if rep.Assertion == nil || rep.Assertion.Header["alg"] != "ES256" || rep.Assertion.ExpiresIn == "" {
		t.Errorf("assertion info = %+v", rep.Assertion)
	}
	if !strings.Contains(rep.Section, "Reports") {
		t.Errorf("section = %q", rep.Section)
	}
}

func TestUnverifiedClaimsAreShownForDiagnosis(t *testing.T) {
	p, h := newDemo(t)
	c := p.Claims("alice", "admin")
	c.Audience = []string{"billing"}
	rep := decode(t, serve(h, "/?format=json", http.Header{identity.Header: {p.Sign(t, c)}}))
	if rep.Verified || !strings.Contains(rep.Error, "audience") {
		t.Fatalf("verified %v error %q, want an audience refusal", rep.Verified, rep.Error)
	}
	if rep.Claims["aud"] != "billing" {
		t.Fatalf("claims = %v, want the unverified ones", rep.Claims)
	}
}

func TestHTMLPage(t *testing.T) {
	p, h := newDemo(t)
	c := p.Claims("alice", "admin")
	c.Name = `Alice <script>alert(1)</script>`
	rec := serve(h, "/admin/users", http.Header{identity.Header: {p.Sign(t, c)}, "Accept": {"text/html,application/xhtml+xml,application/json;q=0.9"}})
	if rec.Code != 200 {
		t.Fatalf("status = %d; body %s", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Fatalf("Content-Type = %q", ct)
	}
	body := rec.Body.String()
	exp := c.Expiry.Time().UTC().Format("2006-01-02 15:04:05 UTC")
	for _, want := range []string{`data-persona="alice"`, "assertion verified", "admin area", `href="/cgi/tmlogout"`, "X-Remote-User", exp} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(body, "<script>alert") {
		t.Error("the page does not escape claim values")
	}
	// No external assets: the page must render on a laptop without network.
	if m := regexp.MustCompile(`(?i)(src|href)="(https?:)?//`).FindString(body); m != "" {
		t.Errorf("page loads an external asset: %s", m)
	}
	if strings.Contains(body, "<link") || strings.Contains(body, "<script") {
		t.Error("page has <link> or <script>")
	}
}

// A token without a name claim (Okta's access tokens carry none) still
// names the caller in the page's title, by its subject.
func TestHTMLPageTitleNamesACallerWithoutANameBySubject(t *testing.T) {
	p, h := newDemo(t)
	c := p.Claims("alice")
	c.Name, c.Subject = "", "alice@example.com"
	rec := serve(h, "/", http.Header{identity.Header: {p.Sign(t, c)}, "Accept": {"text/html"}})
	if want := "<title>alice@example.com — authdev demo backend</title>"; !strings.Contains(rec.Body.String(), want) {
		t.Fatalf("page lacks %q:\n%.400s", want, rec.Body.String())
	}
}

func TestHTMLPageWithoutAssertion(t *testing.T) {
	_, h := newDemo(t)
	rec := serve(h, "/", nil)
	if rec.Code != http.StatusUnauthorized {
		t.Fatalf("status = %d", rec.Code)
	}
	body, _ := io.ReadAll(rec.Body)
	if !strings.Contains(string(body), "assertion not verified") || !strings.Contains(string(body), "did not come through the authdev proxy") {
		t.Fatalf("page does not explain the refusal:\n%s", body)
	}
}

func TestHealthz(t *testing.T) {
	_, h := newDemo(t)
	rec := serve(h, "/healthz", nil)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"ok"`) {
		t.Fatalf("healthz = %d %s", rec.Code, rec.Body)
	}
}

func TestNewNeedsAVerifierOrIssuer(t *testing.T) {
	_, err := demoapp.New(demoapp.Options{Audience: "demo"})
	if err == nil || !strings.Contains(err.Error(), "Issuer") {
		t.Fatalf("New without issuer: %v", err)
	}
}

func TestNewAcceptsAVerifier(t *testing.T) {
	p := identitytest.New(t, "demo")
	v := p.Verifier(t, identity.Options{Audience: "demo"})
	h, err := demoapp.New(demoapp.Options{Verifier: v})
	if err != nil {
		t.Fatal(err)
	}
	if rec := serve(h, "/?format=json", http.Header{identity.Header: {p.Assertion(t, "carol", "viewer")}}); rec.Code != 200 {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
}
