package devproxy_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/authdev/authdev/mockidp"
)

// A token from another environment's issuer is told so first: its
// signature does not verify with this environment's keys either, but that
// is not the reason a user can act on.
func TestABearerTokenOfAnotherEnvironmentIsToldWhichIssuerMadeIt(t *testing.T) {
	e := start(t, setup{upstreams: upstreamTo(echoBackend(t, "api").URL)})
	ts, err := e.idp.Mint("bob", "prod", mockidp.MintOptions{})
	if err != nil {
		t.Fatal(err)
	}
	resp := get(t, http.DefaultClient, e.url+"/reports", "Authorization", "Bearer "+ts.AccessToken, "Accept", "application/json")
	text := body(resp)
	want := fmt.Sprintf("issued by %s, this proxy is in dev (%s)", e.idp.Issuer("prod"), e.idp.Issuer("dev"))
	challenge := resp.Header.Get("WWW-Authenticate")
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(text, want) || !strings.Contains(challenge, want) {
		t.Fatalf("status %d, challenge %q, body %s; want 401 saying %q", resp.StatusCode, challenge, text, want)
	}
	if !strings.Contains(text, "--env prod") {
		t.Errorf("the answer does not say how to use prod's token: %s", text)
	}
	if strings.Contains(text, "signature") {
		t.Errorf("the answer still blames the signature: %s", text)
	}
}
