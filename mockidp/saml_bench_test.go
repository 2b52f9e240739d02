package mockidp_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/crewjam/saml"

	"github.com/authdev/authdev/config"
	"github.com/authdev/authdev/internal/state"
	"github.com/authdev/authdev/mockidp"
	"github.com/authdev/authdev/mockidp/idptest"
)

func benchServer(b *testing.B) *mockidp.Server {
	b.Helper()
	srv, err := mockidp.New(idptestConfig(b), mockidp.Options{Store: state.NewMemory(), BaseURL: "http://localhost:9400"})
	if err != nil {
		b.Fatal(err)
	}
	return srv
}

// BenchmarkSAMLLogin is a SAML login round trip at the IdP: an
// SP-initiated AuthnRequest (HTTP-Redirect, login_hint) answered with the
// HTTP-POST form carrying a signed response around a signed assertion.
// Compare it with BenchmarkOIDCCodeFlow.
func BenchmarkSAMLLogin(b *testing.B) {
	srv := benchServer(b)
	sp := &saml.ServiceProvider{EntityID: "https://app.example.com/saml", AcsURL: *mustURL(b, "https://app.example.com/saml/acs")}
	sso := srv.SAMLEndpoints("dev").SSO
	h := srv.Handler()
	// The SAML keys are made at the first SAML request: not part of a login.
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, srv.SAMLEndpoints("dev").Metadata, nil))
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, err := sp.MakeAuthenticationRequest(sso, saml.HTTPRedirectBinding, saml.HTTPPostBinding)
			if err != nil {
				b.Error(err)
				return
			}
			u, err := req.Redirect("", sp)
			if err != nil {
				b.Error(err)
				return
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, u.String()+"&login_hint=alice", nil))
			if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `name="SAMLResponse"`) {
				b.Errorf("status %d: %s", rec.Code, rec.Body)
				return
			}
		}
	})
}

// BenchmarkOIDCCodeFlow is the OIDC counterpart: authorize with login_hint,
// then the code exchanged (PKCE) for an ID and an access token.
func BenchmarkOIDCCodeFlow(b *testing.B) {
	srv := benchServer(b)
	h := srv.Handler()
	ep := srv.Endpoints("dev")
	verifier, challenge := pkce()
	q := url.Values{"client_id": {"webapp"}, "redirect_uri": {"http://127.0.0.1:5555/callback"}, "response_type": {"code"},
		"scope": {"openid email"}, "login_hint": {"alice"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, ep.Authorization+"?"+q.Encode(), nil))
			loc, err := url.Parse(rec.Header().Get("Location"))
			if rec.Code != http.StatusFound || err != nil || loc.Query().Get("code") == "" {
				b.Errorf("authorize: %d %s", rec.Code, rec.Body)
				return
			}
			form := url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")},
				"redirect_uri": {q.Get("redirect_uri")}, "code_verifier": {verifier}}
			r := httptest.NewRequest(http.MethodPost, ep.Token, strings.NewReader(form.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.SetBasicAuth("webapp", "webapp-secret")
			rec = httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			var tok struct {
				IDToken string `json:"id_token"`
			}
			if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &tok) != nil || tok.IDToken == "" {
				b.Errorf("token: %d %s", rec.Code, rec.Body)
				return
			}
		}
	})
}

// idptestConfig is the flows' configuration with the SAML service
// providers: both benchmarks run against one RS256 environment.
func idptestConfig(b *testing.B) *config.Config {
	cfg := testConfig(b)
	cfg.IDP.SAML = idptest.Config(b, samlYAML).IDP.SAML
	cfg.Environments = cfg.Environments[:1]
	cfg.Environments[0].Alg = "RS256"
	return cfg
}
