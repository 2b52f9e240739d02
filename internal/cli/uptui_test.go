package cli

import (
	"crypto/tls"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/authdev/authdev/internal/stack"
	"github.com/authdev/authdev/internal/stack/stacktest"
	"github.com/authdev/authdev/internal/testkit"
	"github.com/authdev/authdev/tui"
)

// startDemo runs the built-in demo stack, in front of upstream when it is
// not "".
func startDemo(t *testing.T, env, upstream string) tuiStack {
	t.Helper()
	return newTUIStack(stacktest.Start(t, stack.Options{Env: env, Upstream: upstream}))
}

// upstreamHealth waits until the proxy knows the first upstream's health.
func upstreamHealth(t *testing.T, s tuiStack) tui.Service {
	t.Helper()
	var u tui.Service
	testkit.Eventually(testkit.WaitTimeout, func() bool {
		info := s.Info()
		if len(info.Upstreams) != 1 {
			t.Fatalf("upstreams %+v", info.Upstreams)
		}
		u = info.Upstreams[0]
		return u.Health != tui.HealthUnknown
	})
	return u
}

func TestTheTUIAdapterShowsTheStacksServicesAndPersonas(t *testing.T) {
	s := startDemo(t, "staging", "")
	info := s.Info()
	if info.IdPURL == "" || info.ProxyURL != s.ProxyURL() || info.StateStore != "memory" || info.ConfigFile != "" {
		t.Errorf("info %+v", info)
	}
	if u := upstreamHealth(t, s); u.Name != stack.DemoUpstreamName || u.Health != tui.HealthUp {
		t.Errorf("the demo backend %+v, want up once the start-up probe reached it", u)
	}
	ps := s.Personas("prod")
	if len(ps) != 4 || ps[0].ID != "alice" || ps[0].Groups[0] != "sg-prod-admins" || ps[0].Roles[0] != "admin" || len(ps[3].Roles) != 0 {
		t.Errorf("prod personas %+v", ps)
	}
	if ps := s.Personas("nowhere"); ps != nil {
		t.Errorf("personas of an unknown environment: %+v", ps)
	}
}

func TestTheTUIShowsABackendWithoutAMonitorAsUnknownUntilARequestFails(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close()
	s := startDemo(t, "", dead)
	if u := s.Info().Upstreams[0]; u.Health != tui.HealthUnknown {
		t.Errorf("before any request: %+v, want unknown", u)
	}
	tok, err := s.Token("alice", "dev")
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, s.ProxyURL()+"/", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := (&http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: s.CA().Pool()}}}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if u := s.Info().Upstreams[0]; resp.StatusCode != http.StatusBadGateway || u.Health != tui.HealthDown || !strings.Contains(u.Reason, "connection refused") {
		t.Errorf("after a request it refused (%d): %+v, want down with the reason", resp.StatusCode, u)
	}
}
