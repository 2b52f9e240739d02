package mockidp_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/authdev/authdev/internal/flavor"
	"github.com/authdev/authdev/internal/testkit"
	"github.com/authdev/authdev/mockidp/idptest"
)

// oauth2ProxyYAML is a keycloak-flavored realm whose orders-api client role
// only alice's group has.
const oauth2ProxyYAML = `
idp:
  clients:
    - id: oauth2-proxy
      secret: o2p-secret
      redirect_uris: [http://127.0.0.1/oauth2/callback]
personas:
  alice: {email: alice@example.com, groups: [eng-admins]}
  bob: {email: bob@example.com, groups: [eng]}
environments:
  kc:
    flavor: keycloak
    roles: {eng-admins: [admin], eng: [reader]}
    keycloak: {realm: platform, client_roles: {orders-api: {eng-admins: [orders-admin]}}}
  prod: {flavor: entra, roles: {eng-admins: [admin]}}
`

// oauth2-proxy's keycloak-oidc provider reads realm_access and
// resource_access from the access token: with
// --allowed-role=orders-api:orders-admin it lets alice in and keeps bob out.
// https://oauth2-proxy.github.io/oauth2-proxy/configuration/providers/keycloak_oidc
// Its entra-id provider checks the v2.0 tenant issuer and the groups claim,
// which holds object IDs: --allowed-group takes the group's GUID.
// https://oauth2-proxy.github.io/oauth2-proxy/configuration/providers/ms_entra_id
func TestOAuth2ProxyProvidersAdmitByTheFlavorsRolesAndGroups(t *testing.T) {
	bin, err := exec.LookPath("oauth2-proxy")
	if err != nil {
		msg := "oauth2-proxy is not on PATH: go install github.com/oauth2-proxy/oauth2-proxy/v7@v7.15.6 (.ci/run does)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	srv := idptest.NewTestServer(t, idptest.Config(t, oauth2ProxyYAML))
	for _, tc := range []struct {
		name, env string
		args      []string
	}{
		{"keycloak-oidc with a client role", "kc", []string{"--provider=keycloak-oidc", "--allowed-role=orders-api:orders-admin"}},
		{"entra-id with a group object ID", "prod", []string{"--provider=entra-id", "--allowed-group=" + flavor.UUID("group", "prod", "eng-admins")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			proxy, log := startOAuth2Proxy(t, bin, srv.Issuer(tc.env), tc.args...)
			for persona, want := range map[string]int{"alice": http.StatusOK, "bob": http.StatusForbidden} {
				if got := loginThrough(t, proxy, persona); got != want {
					t.Errorf("%s through oauth2-proxy: %d, want %d\n%s", persona, got, want, log.String())
				}
			}
		})
	}
}

// startOAuth2Proxy runs oauth2-proxy in front of a static page, logging in
// at issuer as the client oauth2-proxy, until the test ends.
func startOAuth2Proxy(t *testing.T, bin, issuer string, args ...string) (string, fmt.Stringer) {
	t.Helper()
	addr := testkit.FreeLoopbackAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, append([]string{"--oidc-issuer-url=" + issuer,
		"--client-id=oauth2-proxy", "--client-secret=o2p-secret", "--redirect-url=http://" + addr + "/oauth2/callback",
		"--email-domain=*", "--upstream=static://200",
		"--http-address=" + addr, "--cookie-secret=0123456789abcdef0123456789abcdef", "--cookie-secure=false",
		"--skip-provider-button", "--request-logging=false", "--auth-logging=false", "--standard-logging=false"}, args...)...)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	waitHTTP(t, "http://"+addr+"/ping", out)
	return "http://" + addr, out
}

// loginThrough logs persona in at the IdP's picker behind oauth2-proxy
// and returns the status of the protected page.
func loginThrough(t *testing.T, proxy, persona string) int {
	t.Helper()
	b := browser(t)
	next, err := url.Parse(proxy + "/")
	if err != nil {
		t.Fatal(err)
	}
	method, form := http.MethodGet, url.Values(nil)
	for range 10 {
		var resp *http.Response
		if method == http.MethodPost {
			resp, err = b.PostForm(next.String(), form)
		} else {
			resp, err = b.Get(next.String())
		}
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusFound:
			if next, err = next.Parse(resp.Header.Get("Location")); err != nil {
				t.Fatal(err)
			}
			method = http.MethodGet
		case resp.StatusCode == http.StatusOK && method == http.MethodGet && next.Host != mustHost(proxy):
			// The IdP's persona picker: post the choice to the same URL.
			method, form = http.MethodPost, url.Values{"persona": {persona}}
		default:
			return resp.StatusCode
		}
	}
	t.Fatalf("%s: too many redirects", persona)
	return 0
}

func mustHost(u string) string {
	p, _ := url.Parse(u)
	return p.Host
}

// waitHTTP polls u until it answers 200, up to a deadline.
func waitHTTP(t *testing.T, u string, log fmt.Stringer) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get(u); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
	}
	t.Fatalf("%s did not answer:\n%s", u, log)
}

// syncBuffer collects a child process's output for failure messages.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
