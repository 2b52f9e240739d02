package e2e

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// cliClientID is the IdP's built-in public client of authdev's CLI.
const cliClientID = "authdev-cli"

// codeGrantToken obtains an access token for persona the way an OAuth
// client does, through the IdP's real endpoints: discovery, an
// authorization request with PKCE whose login_hint names the persona, and
// the code exchanged at the token endpoint.
func (s *stack) codeGrantToken(t *testing.T, persona string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	provider, err := oidc.NewProvider(ctx, s.issuer)
	if err != nil {
		t.Fatalf("discovery at %s: %v", s.issuer, err)
	}
	conf := oauth2.Config{
		ClientID:    cliClientID,
		Endpoint:    provider.Endpoint(),
		RedirectURL: "http://127.0.0.1:1/callback", // never dialled: the code is read from the redirect
		Scopes:      []string{oidc.ScopeOpenID, "profile", "email"},
	}
	verifier := oauth2.GenerateVerifier()
	state := oauth2.GenerateVerifier()
	authURL := conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier),
		oauth2.SetAuthURLParam("login_hint", persona), oauth2.SetAuthURLParam("nonce", oauth2.GenerateVerifier()))
	noFollow := &http.Client{
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       30 * time.Second,
	}
	resp, err := noFollow.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(loc.String(), conf.RedirectURL) {
		t.Fatalf("authorization answered %s with Location %q, want a redirect to %s", resp.Status, resp.Header.Get("Location"), conf.RedirectURL)
	}
	q := loc.Query()
	if q.Get("state") != state || q.Get("code") == "" {
		t.Fatalf("redirect %s lacks the code or the state", loc)
	}
	tok, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchanging the code: %v", err)
	}
	return tok.AccessToken
}
