package devproxy

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// Environment is an issuer the proxy is a relying party of: one per
// authdev environment, or the single tenant of `authdev proxy --issuer`.
type Environment struct {
	Name         string
	Issuer       string
	ClientID     string
	ClientSecret string
	// Scopes default to openid, profile and email.
	Scopes []string
	// Audience is the aud bearer tokens must carry.
	Audience string
	// BearerClients, when set, replaces the aud check of bearer tokens:
	// their client_id must be one of these (Cognito's access tokens have
	// no aud).
	BearerClients []string
	// GroupsClaim is the claim that lists the user's groups; default "groups".
	GroupsClaim string
	// UserNameClaim becomes AAA.USER.NAME; default "email".
	UserNameClaim string
	// Roles maps IdP groups to application roles.
	Roles map[string][]string
	// Login is config.LoginSAML to make browser logins SAML 2.0 instead of
	// the OIDC code flow; bearer tokens are still verified against Issuer.
	Login string
	// SAML is how to log in with the environment's SAML IdP; nil when it
	// has none. /.authdev/login?via=saml uses it whatever Login says.
	SAML *SAMLLogin
	// SAMLChoice, when set, picks the SAML login of each browser login
	// among several, by the request that starts it, as the ADC's
	// authentication policies pick a samlAction: a login of SAMLLogins by
	// its Name, or nil for a login that is not SAML (OIDC then stands
	// for it); an error refuses the login and says why. The session
	// remembers which login, for its logout.
	SAMLChoice func(r *http.Request) (*SAMLLogin, error)
	SAMLLogins []*SAMLLogin
}

// samlLoginFor is the SAML login a browser login started by r uses; nil
// when it is not SAML.
func (e *Environment) samlLoginFor(r *http.Request) (*SAMLLogin, error) {
	if e.SAMLChoice != nil {
		return e.SAMLChoice(r)
	}
	return e.SAML, nil
}

// samlLogins are every SAML login of e: SAMLLogins, or SAML alone.
func (e *Environment) samlLogins() []*SAMLLogin {
	if len(e.SAMLLogins) > 0 || e.SAML == nil {
		return e.SAMLLogins
	}
	return []*SAMLLogin{e.SAML}
}

// samlLoginNamed is the SAML login called name (a session's), else SAML.
func (e *Environment) samlLoginNamed(name string) *SAMLLogin {
	for _, l := range e.SAMLLogins {
		if l.Name == name {
			return l
		}
	}
	return e.SAML
}

// SigningAlgs are the algorithms accepted on IdP tokens: asymmetric only,
// so neither "none" nor an HMAC keyed with the public key can pass.
var SigningAlgs = []string{
	oidc.RS256, oidc.RS384, oidc.RS512, oidc.PS256, oidc.PS384, oidc.PS512,
	oidc.ES256, oidc.ES384, oidc.ES512, oidc.EdDSA,
}

// ClockSkew is how far exp and nbf may be off.
const ClockSkew = 30 * time.Second

// envState is an environment and, once discovered, its provider.
type envState struct {
	Environment
	mu      sync.Mutex
	prov    *provider
	samlIdP samlIdP
}

// provider is what discovery tells about an issuer, ready to use.
type provider struct {
	oauth      oauth2.Config
	idTokens   *oidc.IDTokenVerifier
	bearer     *oidc.IDTokenVerifier
	endSession string
	authorize  hostProbe // is the authorization endpoint up?
	userInfo   func(ctx context.Context, ts oauth2.TokenSource) (*oidc.UserInfo, error)
}

func newEnvState(e Environment) *envState {
	if len(e.Scopes) == 0 {
		e.Scopes = []string{oidc.ScopeOpenID, "profile", "email"}
	}
	if e.GroupsClaim == "" {
		e.GroupsClaim = "groups"
	}
	if e.UserNameClaim == "" {
		e.UserNameClaim = "email"
	}
	return &envState{Environment: e}
}

func (e *envState) rolesFor(groups []string) []string {
	roles := []string{}
	seen := map[string]bool{}
	for _, g := range groups {
		for _, r := range e.Roles[g] {
			if !seen[r] {
				seen[r] = true
				roles = append(roles, r)
			}
		}
	}
	return roles
}

// provider discovers the issuer on first use and remembers the answer; a
// failed discovery is retried at the next request, so the proxy may start
// before its IdP.
func (e *envState) provider(p *Proxy) (*provider, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.prov != nil {
		return e.prov, nil
	}
	// The context outlives this call: go-oidc keeps it to fetch the JWKS
	// again when a token names an unknown key.
	ctx := oidc.ClientContext(context.Background(), p.idpClient)
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	op, err := oidc.NewProvider(oidc.ClientContext(dctx, p.idpClient), e.Issuer)
	if err != nil {
		return nil, fmt.Errorf("OIDC discovery of environment %q at %s failed: %w: is the IdP running?", e.Name, e.Issuer, err)
	}
	// NewProvider bound the key set to the short discovery context; build
	// the verifiers on a key set that lives as long as the proxy.
	var meta struct {
		JWKS       string `json:"jwks_uri"`
		EndSession string `json:"end_session_endpoint"`
	}
	if err := op.Claims(&meta); err != nil {
		return nil, err
	}
	if meta.JWKS == "" {
		return nil, fmt.Errorf("issuer %s publishes no jwks_uri", e.Issuer)
	}
	keys := oidc.NewRemoteKeySet(ctx, meta.JWKS)
	skewed := func() time.Time { return p.now().Add(-ClockSkew) }
	prov := &provider{
		oauth: oauth2.Config{
			ClientID: e.ClientID, ClientSecret: e.ClientSecret, Endpoint: op.Endpoint(),
			RedirectURL: p.publicURL + CallbackPath, Scopes: e.Scopes,
		},
		idTokens: oidc.NewVerifier(e.Issuer, keys, &oidc.Config{
			ClientID: e.ClientID, SupportedSigningAlgs: SigningAlgs, Now: skewed}),
		endSession: meta.EndSession,
		userInfo:   op.UserInfo,
	}
	if e.Audience != "" || len(e.BearerClients) > 0 {
		prov.bearer = oidc.NewVerifier(e.Issuer, keys, &oidc.Config{
			ClientID: e.Audience, SkipClientIDCheck: len(e.BearerClients) > 0, SupportedSigningAlgs: SigningAlgs, Now: skewed})
	}
	e.prov = prov
	return prov, nil
}

// tokenClaims returns the claims of a verified token after checking nbf
// with the proxy's skew (go-oidc allows five minutes). A token without nbf
// (most providers send none) is held to its iat instead, so a token from an
// IdP whose clock runs ahead is refused, not taken on trust.
func tokenClaims(t *oidc.IDToken, now time.Time) (map[string]any, error) {
	var claims map[string]any
	if err := t.Claims(&claims); err != nil {
		return nil, err
	}
	latest := now.Add(ClockSkew)
	if nbf, ok := claims["nbf"].(float64); ok {
		if latest.Before(time.Unix(int64(nbf), 0)) {
			return nil, errors.New("token not valid yet (nbf is in the future)")
		}
	} else if iat, ok := claims["iat"].(float64); ok && latest.Before(time.Unix(int64(iat), 0)) {
		return nil, errors.New("token issued in the future (iat): is the IdP's clock ahead of this machine's?")
	}
	return claims, nil
}

// idpHTTPClient is the client for discovery, token and JWKS requests.
func idpHTTPClient() *http.Client {
	return &http.Client{Timeout: 15 * time.Second}
}
