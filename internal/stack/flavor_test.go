package stack

import (
	"net/http"
	"strings"
	"testing"

	"github.com/authdev/authdev/config"
)

// Cognito's access tokens carry no aud; the proxy, like API Gateway's
// Cognito authorizer, accepts them for the pool's app clients instead.
func TestBearerTokensOfACognitoEnvironmentReachTheBackend(t *testing.T) {
	cfg, err := config.Parse([]byte(`
personas:
  alice: {email: alice@example.com, groups: [admins]}
environments:
  aws: {flavor: cognito, roles: {admins: [admin]}}
proxy: {tls: false}
`), "authdev.yaml", t.TempDir(), config.Options{LookupEnv: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	s := startUp(t, Options{Config: cfg})
	tok, err := s.Token("alice", "aws")
	if err != nil {
		t.Fatal(err)
	}
	var who struct {
		User, Via string
		Roles     []string
	}
	code := getJSON(t, s.client(t), s.ProxyURL()+"/.authdev/whoami", http.Header{"Authorization": {"Bearer " + tok}}, &who)
	if code != http.StatusOK || who.User != "alice" || who.Via != "bearer" || strings.Join(who.Roles, ",") != "admin" {
		t.Fatalf("whoami with a cognito access token: %d %+v", code, who)
	}
}
