package oidcgrant

import (
	"context"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/authdev/authdev/config"
	"github.com/authdev/authdev/internal/testkit"
	"github.com/authdev/authdev/mockidp/idptest"
)

const cfgYAML = `
personas:
  alice: {email: alice@example.com, groups: [admins]}
environments:
  dev: {audience: api}
idp:
  clients:
    - {id: spa, redirect_uris: ["http://localhost:5173/callback"]}
`

func TestCodeGrantGetsVerifiableTokensForThePersona(t *testing.T) {
	cfg := idptest.Config(t, cfgYAML)
	srv := idptest.NewTestServer(t, cfg)
	ctx := context.Background()
	for _, tc := range []struct {
		name     string
		req      Request
		wantAud  string
		wantErr  string
		wantRefr bool
	}{
		{name: "the public CLI client gets access, ID and refresh tokens for the environment's audience",
			req: Request{ClientID: config.CLIClientID, Persona: "alice"}, wantAud: "api", wantRefr: true},
		{name: "an audience is asked for with the audience parameter",
			req: Request{ClientID: config.CLIClientID, Persona: "alice", Audience: "reports"}, wantAud: "reports", wantRefr: true},
		{name: "a configured client uses its registered redirect URI, never dialled",
			req: Request{ClientID: "spa", Persona: "alice", RedirectURI: "http://localhost:5173/callback", Scopes: []string{"openid", "email"}}, wantAud: "api", wantRefr: true},
		{name: "an unknown persona is refused with what to check",
			req: Request{ClientID: config.CLIClientID, Persona: "mallory"}, wantErr: `did not log "mallory" in silently`},
		{name: "an unknown client is refused",
			req: Request{ClientID: "nope", Persona: "alice"}, wantErr: `not registered`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.req
			r.Issuer = srv.Issuer("dev")
			tok, err := Code(ctx, r)
			if testkit.WantErr(t, err, tc.wantErr) {
				return
			}
			p, err := oidc.NewProvider(ctx, srv.Issuer("dev"))
			if err != nil {
				t.Fatal(err)
			}
			at, err := p.Verifier(&oidc.Config{ClientID: tc.wantAud}).Verify(ctx, tok.AccessToken)
			if err != nil {
				t.Fatalf("access token does not verify for audience %q: %v", tc.wantAud, err)
			}
			var claims struct{ Email string }
			at.Claims(&claims)
			if claims.Email != "alice@example.com" {
				t.Fatalf("access token is for %q", claims.Email)
			}
			if _, err := p.Verifier(&oidc.Config{ClientID: r.ClientID}).Verify(ctx, tok.IDToken); err != nil {
				t.Fatalf("ID token: %v", err)
			}
			if (tok.RefreshToken != "") != tc.wantRefr || tok.Expiry.IsZero() {
				t.Fatalf("refresh token %q, expiry %v", tok.RefreshToken, tok.Expiry)
			}
		})
	}
}

func TestDiscoveryOfAnAbsentIdPSaysSo(t *testing.T) {
	_, err := Code(context.Background(), Request{Issuer: "http://127.0.0.1:1/dev", ClientID: config.CLIClientID, Persona: "alice"})
	if err == nil || !strings.Contains(err.Error(), "is the IdP running?") {
		t.Fatalf("err = %v", err)
	}
}
