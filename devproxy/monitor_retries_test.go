package devproxy_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authdev/authdev/audit"
	"github.com/authdev/authdev/devproxy"
	"github.com/authdev/authdev/internal/testkit"
)

func TestAMonitorTakesATargetDownOnlyAfterThreeFailedProbesInARow(t *testing.T) {
	var mu sync.Mutex
	probes, failing := 0, map[int]bool{1: true, 2: true} // the first two probes fail
	alwaysFail := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			echoHandler("a").ServeHTTP(w, r)
			return
		}
		mu.Lock()
		probes++
		fail := alwaysFail || failing[probes]
		mu.Unlock()
		if fail {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(srv.Close)
	e := start(t, setup{upstreams: []devproxy.Upstream{{Name: "api", Prefix: "/", Targets: []string{srv.URL},
		Monitor: &devproxy.Monitor{Path: "/healthz", Interval: 10 * time.Millisecond, Timeout: time.Second}}}})
	count := func() int { mu.Lock(); defer mu.Unlock(); return probes }
	testkit.WaitFor(t, "five probes", func() bool { return count() >= 5 })
	downs := func() []string {
		var out []string
		for _, n := range e.events.of(audit.KindNotice) {
			if strings.Contains(n.Message, "is down") {
				out = append(out, n.Message)
			}
		}
		return out
	}
	if d := downs(); len(d) != 0 || !e.proxy.Upstreams()[0].Healthy() {
		t.Fatalf("two failed probes took the target down: %q", d)
	}
	mu.Lock()
	alwaysFail = true
	mu.Unlock()
	testkit.WaitFor(t, "the target marked down", func() bool { return !e.proxy.Upstreams()[0].Healthy() })
	if d := downs(); len(d) != 1 || !strings.Contains(d[0], "after 3 failed probes: monitor GET /healthz: status 503") {
		t.Errorf("down notices %q", d)
	}
}
