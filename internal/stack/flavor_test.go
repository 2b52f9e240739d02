package stack

import (
	"net/http"
	"strings"
	"testing"

	"github.com/authdev/authdev/config"
)

// Cognito's access tokens carry no aud; the proxy, like API Gateway's
// Cognito authorizer, accepts them for the pool's app clients instead.
// Neither Cognito's nor Auth0's access tokens carry an email claim: the
// proxy still names the user and the persona. ADFS's name the user by upn
// and carry one group as a string, not a list.
func TestBearerTokensOfCognitoAuth0AndADFSReachTheBackendAsThePersona(t *testing.T) {
	cfg, err := config.Parse([]byte(`
personas:
  alice: {email: alice@example.com, groups: [admins]}
environments:
  aws: {flavor: cognito, roles: {admins: [admin]}}
  a0: {flavor: auth0, roles: {admins: [admin]}}
  fs: {flavor: adfs, roles: {admins: [admin]}}
proxy: {tls: false}
`), "authdev.yaml", t.TempDir(), config.Options{LookupEnv: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	s := startUp(t, Options{Config: cfg})
	for env, user := range map[string]string{"aws": "alice", "a0": "alice@example.com", "fs": "alice@example.com"} {
		if err := s.SetEnvironment(env); err != nil {
			t.Fatal(err)
		}
		tok, err := s.Token("alice", env)
		if err != nil {
			t.Fatal(err)
		}
		var who struct {
			User, Persona, Via string
			Roles              []string
		}
		code := getJSON(t, s.client(t), s.ProxyURL()+"/.authdev/whoami", http.Header{"Authorization": {"Bearer " + tok}}, &who)
		if code != http.StatusOK || who.User != user || who.Persona != "alice" || who.Via != "bearer" || strings.Join(who.Roles, ",") != "admin" {
			t.Errorf("whoami with a %s access token: %d %+v", env, code, who)
		}
	}
}
