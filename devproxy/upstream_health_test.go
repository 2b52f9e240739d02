package devproxy_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/authdev/authdev/devproxy"
	"github.com/authdev/authdev/internal/testkit"
)

func TestATargetIsUncheckedUntilItsFirstProbeAnswers(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			<-release
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { closeOnce(release) })
	e := start(t, setup{upstreams: []devproxy.Upstream{{Name: "api", Prefix: "/", Targets: []string{srv.URL},
		Monitor: &devproxy.Monitor{Path: "/healthz", Interval: time.Hour, Timeout: 10 * time.Second, Status: 200}}}})
	if st := e.proxy.Upstreams()[0].Targets[0]; st.Checked {
		t.Fatalf("checked before the first probe answered: %+v", st)
	}
	closeOnce(release)
	testkit.WaitFor(t, "the first probe's answer", func() bool {
		st := e.proxy.Upstreams()[0].Targets[0]
		return st.Checked && st.Healthy
	})
}

func TestATargetThatNeverAnsweredIsShownDownAtItsFirstFailedProbe(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	t.Cleanup(srv.Close)
	e := start(t, setup{upstreams: []devproxy.Upstream{{Name: "api", Prefix: "/", Targets: []string{srv.URL},
		Monitor: &devproxy.Monitor{Path: "/healthz", Interval: time.Hour, Timeout: 10 * time.Second}}}})
	testkit.WaitFor(t, "the first probe's answer", func() bool { return e.proxy.Upstreams()[0].Targets[0].Checked })
	if st := e.proxy.Upstreams()[0].Targets[0]; st.Healthy || !strings.Contains(st.Reason, "status 503") {
		t.Errorf("after one failed probe of a target that never answered: %+v, want down with the reason", st)
	}
}

func TestATargetARefusedRequestTookDownStaysDownUntilSomethingReachesIt(t *testing.T) {
	srv := echoBackend(t, "api")
	e := start(t, setup{upstreams: upstreamTo(srv.URL)})
	auth := e.bearer("alice")
	readSeen(t, get(t, http.DefaultClient, e.url+"/", auth...))
	srv.Close()
	if resp := get(t, http.DefaultClient, e.url+"/", auth...); resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("with the backend gone: %d", resp.StatusCode)
	}
	// Past the ejection, the proxy would try the target again, but nothing
	// has reached it since it failed.
	e.clock.Advance(time.Minute)
	if st := e.proxy.Upstreams()[0].Targets[0]; st.Healthy || !st.Checked {
		t.Errorf("after the ejection ran out: %+v, want still down", st)
	}
}

func closeOnce(ch chan struct{}) {
	select {
	case <-ch:
	default:
		close(ch)
	}
}
