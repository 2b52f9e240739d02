package devproxy_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/authdev/authdev/identity"
	"github.com/authdev/authdev/mockidp"
)

func TestClientsCannotSpoofTheHeadersTheProxyOwns(t *testing.T) {
	e := start(t, setup{upstreams: upstreamTo(echoBackend(t, "api").URL)})
	ts, err := e.idp.Mint("bob", "dev", mockidp.MintOptions{})
	if err != nil {
		t.Fatal(err)
	}
	auth := []string{"Authorization", "Bearer " + ts.AccessToken}
	want := map[string]string{
		"X-Remote-User":   "bob@example.com",
		"X-Remote-Groups": "eng",
		"X-Remote-Roles":  "reader",
	}
	forged := "alice@example.com"
	tests := []struct {
		name   string
		header []string
	}{
		{"canonical case", []string{"X-Remote-User", forged}},
		{"lower case", []string{"x-remote-user", forged}},
		{"upper case", []string{"X-REMOTE-USER", forged}},
		{"mixed case", []string{"x-ReMoTe-uSeR", forged}},
		{"underscores", []string{"X_Remote_User", forged}},
		{"lower case underscores", []string{"x_remote_user", forged}},
		{"mixed separators", []string{"X-Remote_User", forged}},
		{"repeated", []string{"X-Remote-User", forged, "X-Remote-User", "eve@example.com"}},
		{"repeated in several spellings", []string{"X-Remote-User", forged, "x_remote_user", forged, "X-REMOTE_USER", forged}},
		{"groups and roles", []string{"X-Remote-Groups", "eng-admins", "x_remote_roles", "admin", "X-REMOTE-ROLES", "admin"}},
		{"a forged assertion", []string{"X-Authdev-Assertion", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSJ9."}},
		{"a forged assertion with underscores", []string{"x_authdev_assertion", "forged", "X-AUTHDEV-ASSERTION", "forged"}},
	}
	verify := verifierFor(t, e, "api")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := readSeen(t, get(t, http.DefaultClient, e.url+"/x", append(tt.header, auth...)...))
			for name, v := range want {
				if got := s.header(name); len(got) != 1 || got[0] != v {
					t.Errorf("backend saw %s = %q, want only the proxy's %q", name, got, v)
				}
			}
			as := s.header(identity.Header)
			if len(as) != 1 {
				t.Fatalf("backend saw %d assertions", len(as))
			}
			id, err := verify.Verify(context.Background(), as[0])
			if err != nil || id.Email != "bob@example.com" {
				t.Fatalf("the assertion is not the proxy's: %v %+v", err, id)
			}
			for k := range s.Headers {
				if n := strings.ToLower(strings.ReplaceAll(k, "_", "-")); n != strings.ToLower(k) && strings.HasPrefix(n, "x-") {
					t.Errorf("an underscore spelling reached the backend: %q", k)
				}
			}
		})
	}
}

func TestForwardingHeadersAreTheProxysOwn(t *testing.T) {
	e := start(t, setup{upstreams: upstreamTo(echoBackend(t, "api").URL)})
	ts, _ := e.idp.Mint("bob", "dev", mockidp.MintOptions{})
	s := readSeen(t, get(t, http.DefaultClient, e.url+"/x",
		"Authorization", "Bearer "+ts.AccessToken,
		"X-Forwarded-For", "6.6.6.6", "X_Forwarded_For", "6.6.6.6", "X-Forwarded-Host", "evil.example",
		"X-Forwarded-Proto", "https", "Forwarded", "for=6.6.6.6", "X-Real-IP", "6.6.6.6",
		"Cookie", "theme=dark; NSC_TMAS=stolen; lang=en"))
	host := strings.TrimPrefix(e.url, "http://")
	for name, want := range map[string]string{
		"X-Forwarded-For": "127.0.0.1", "X-Forwarded-Host": host, "X-Forwarded-Proto": "http",
	} {
		if got := s.header(name); len(got) != 1 || got[0] != want {
			t.Errorf("%s = %q, want [%q]", name, got, want)
		}
	}
	for _, gone := range []string{"Forwarded", "X-Real-Ip"} {
		if got := s.header(gone); len(got) != 0 {
			t.Errorf("%s reached the backend: %q", gone, got)
		}
	}
	if s.Host != host {
		t.Errorf("Host %q, want the client's %q", s.Host, host)
	}
	if got := s.header("Cookie"); len(got) != 1 || got[0] != "theme=dark; lang=en" {
		t.Errorf("Cookie %q, want the client's cookies without NSC_TMAS", got)
	}
}
