package reliability

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authdev/authdev/devproxy"
	"github.com/authdev/authdev/internal/testkit"
)

// outcome is one request of a load run.
type outcome struct {
	start, end time.Time
	status     int
	body       string
	err        error
}

// loadFor sends bearer requests from workers until stop is closed.
func loadFor(r *rig, workers int, token string, stop <-chan struct{}) []outcome {
	var mu sync.Mutex
	var all []outcome
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := newAPIClient(r.t)
			for {
				select {
				case <-stop:
					return
				default:
				}
				o := outcome{start: time.Now()}
				o.status, o.body, o.err = get(c, r.url+"/data", "Authorization", "Bearer "+token, "Accept", "application/json")
				o.end = time.Now()
				mu.Lock()
				all = append(all, o)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return all
}

// TestAnUpstreamKilledUnderLoadFailsOnlyWhileDownAndRecoversWithinAMonitorInterval
// kills the only backend (closing its in-flight connections) while eight
// clients send requests, restarts it on the same port, and checks that
// every failure is a 502 or 503 page naming the upstream, that failures
// happen only between the kill and the restart plus one monitor interval,
// and that the upstream serves again after that.
func TestAnUpstreamKilledUnderLoadFailsOnlyWhileDownAndRecoversWithinAMonitorInterval(t *testing.T) {
	const interval = 200 * time.Millisecond
	be := newBackend(t, okHandler)
	r := newRig(t, upstream(be.URL(), func(u *devproxy.Upstream) {
		u.Monitor = &devproxy.Monitor{Path: "/healthz", Interval: interval, Timeout: 100 * time.Millisecond}
	}))
	token := r.mint("alice")
	if st, body, err := get(newAPIClient(t), r.url+"/data", "Authorization", "Bearer "+token); err != nil || st != 200 {
		t.Fatalf("before the fault: %d %v %s", st, err, body)
	}
	stop := make(chan struct{})
	var killed, restarted time.Time
	go func() {
		time.Sleep(300 * time.Millisecond)
		killed = time.Now()
		be.Kill()
		time.Sleep(300 * time.Millisecond)
		be.Restart()
		restarted = time.Now()
		time.Sleep(interval + 700*time.Millisecond)
		close(stop)
	}()
	all := loadFor(r, 8, token, stop)
	var failed, after int
	for _, o := range all {
		if o.err != nil {
			t.Errorf("a client saw a transport error instead of an answer: %v", o.err)
			continue
		}
		if o.status == http.StatusOK {
			continue
		}
		failed++
		if o.status != http.StatusBadGateway && o.status != http.StatusServiceUnavailable {
			t.Errorf("a request during the outage got %d, want 502 or 503: %.200s", o.status, o.body)
		}
		if !strings.Contains(o.body, `api`) {
			t.Errorf("the error page does not name the upstream: %.200s", o.body)
		}
		if o.end.Before(killed) {
			t.Errorf("a request that ended before the kill failed: %d %.200s", o.status, o.body)
		}
		if o.start.After(restarted.Add(interval)) {
			after++
			t.Errorf("a request sent %s after the restart still failed (monitor interval %s): %d %.200s",
				o.start.Sub(restarted).Round(time.Millisecond), interval, o.status, o.body)
		}
	}
	var late int
	for _, o := range all {
		if o.start.After(restarted.Add(interval)) && o.status == http.StatusOK {
			late++
		}
	}
	t.Logf("%d requests, %d failed during the outage, %d succeeded after recovery", len(all), failed, late)
	if failed == 0 {
		t.Error("no request failed although the backend was down for 300 ms")
	}
	if late == 0 {
		t.Error("no request succeeded after the restart")
	}
}

// TestASlowUpstreamTimesOutWith504AndLeavesNothingRunning sends requests to
// a backend that never answers: each gets a 504 naming the upstream, and
// the proxy abandons the upstream request, so the backend sees every one
// of them cancelled (and goleak finds nothing left at the end).
func TestASlowUpstreamTimesOutWith504AndLeavesNothingRunning(t *testing.T) {
	var inFlight, cancelled atomic.Int64
	release := make(chan struct{})
	be := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		inFlight.Add(1)
		defer inFlight.Add(-1)
		select {
		case <-r.Context().Done():
			cancelled.Add(1)
		case <-release:
		}
	})
	defer close(release)
	r := newRig(t, upstream(be.URL(), func(u *devproxy.Upstream) { u.Timeout = 150 * time.Millisecond }))
	token := r.mint("bob")
	const n = 16
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, body, err := get(newAPIClient(t), r.url+"/slow", "Authorization", "Bearer "+token, "Accept", "application/json")
			if err != nil || st != http.StatusGatewayTimeout || !strings.Contains(body, "api") {
				t.Errorf("slow upstream: %d %v %.200s, want a 504 naming the upstream", st, err, body)
			}
		}()
	}
	wg.Wait()
	testkit.Eventually(5*time.Second, func() bool { return inFlight.Load() == 0 })
	if got := inFlight.Load(); got != 0 {
		t.Fatalf("%d upstream requests are still running after their clients got a 504", got)
	}
	if got := cancelled.Load(); got != n {
		t.Errorf("the backend saw %d of %d requests cancelled", got, n)
	}
}

// TestTheIdPDownKeepsSessionsAndBearersWorkingAndNewLoginsGetAClearPage
// stops the IdP after a browser logged in and an API client used a token:
// both keep working, and so does another, never-seen token of the same
// key. A proxy that never reached the IdP answers a new login with a page
// that says the IdP is unreachable, not a hang or a bare error.
//
// Not covered, because it fails today (bench/RELIABILITY.md, open bugs): a
// proxy that has already discovered the IdP redirects a new login to the
// dead IdP, and the browser shows its own "connection refused".
func TestTheIdPDownKeepsSessionsAndBearersWorkingAndNewLoginsGetAClearPage(t *testing.T) {
	be := newBackend(t, okHandler)
	r := newRig(t, upstream(be.URL(), nil))
	browser := newBrowser(t)
	if st, body, err := get(browser, r.url+"/"); err != nil || st != 200 || body != "alice@example.com" {
		t.Fatalf("login: %d %v %q", st, err, body)
	}
	used, unused := r.mint("bob"), r.mint("carol")
	api := newAPIClient(t)
	if st, body, err := get(api, r.url+"/", "Authorization", "Bearer "+used); err != nil || st != 200 {
		t.Fatalf("bearer before the outage: %d %v %q", st, err, body)
	}
	// A second proxy of the same IdP that has not talked to it yet.
	fresh, freshURL := startProxy(t, r.cfg, r.idp.Issuer, r.idp.ProxyClientSecret(), upstream(be.URL(), nil), nil)
	_ = fresh
	if err := r.idp.Close(); err != nil {
		t.Fatal(err)
	}
	// The IdP is really gone.
	if _, _, err := get(api, r.idp.Issuer("dev")+"/.well-known/openid-configuration"); err == nil {
		t.Fatal("the IdP still answers after Close")
	}
	tests := []struct {
		name   string
		client *http.Client
		header []string
		want   string
	}{
		{"the browser's session", browser, nil, "alice@example.com"},
		{"a bearer token the proxy has seen", api, []string{"Authorization", "Bearer " + used}, "bob@example.com"},
		{"a bearer token the proxy has not seen, signed by a known key", api, []string{"Authorization", "Bearer " + unused}, "carol@example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i := 0; i < 3; i++ {
				st, body, err := get(tt.client, r.url+fmt.Sprintf("/after/%d", i), tt.header...)
				if err != nil || st != 200 || body != tt.want {
					t.Fatalf("with the IdP down: %d %v %q, want 200 %q", st, err, body, tt.want)
				}
			}
		})
	}
	t.Run("a new login at a proxy that never reached the IdP", func(t *testing.T) {
		st, body, err := get(newAPIClient(t), freshURL+"/", "Accept", "text/html")
		if err != nil {
			t.Fatal(err)
		}
		if st < 500 || !strings.Contains(strings.ToLower(body), "idp") && !strings.Contains(strings.ToLower(body), "identity provider") {
			t.Fatalf("got %d: %.400s\nwant a 5xx page that says the IdP cannot be reached", st, body)
		}
	})
}

// TestAClientThatHangsUpMidStreamStopsTheUpstreamRequest reads the first
// event of a streamed answer and hangs up: the proxy must cancel the
// upstream request instead of streaming into the void.
func TestAClientThatHangsUpMidStreamStopsTheUpstreamRequest(t *testing.T) {
	stopped := make(chan time.Time, 4)
	be := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fl := w.(http.Flusher)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		deadline := time.After(10 * time.Second)
		for i := 0; ; i++ {
			fmt.Fprintf(w, "data: %d\n\n", i)
			fl.Flush()
			select {
			case <-r.Context().Done():
				stopped <- time.Now()
				return
			case <-deadline:
				return
			case <-tick.C:
			}
		}
	})
	r := newRig(t, upstream(be.URL(), nil))
	token := r.mint("alice")
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, r.url+"/events", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 8)
	if _, err := io.ReadFull(resp.Body, buf); err != nil || !strings.HasPrefix(string(buf), "data: 0") {
		t.Fatalf("first event: %q %v", buf, err)
	}
	hungUp := time.Now()
	cancel()
	resp.Body.Close()
	select {
	case at := <-stopped:
		t.Logf("the upstream request stopped %s after the client hung up", at.Sub(hungUp).Round(time.Millisecond))
	case <-time.After(5 * time.Second):
		t.Fatal("the upstream kept streaming 5 s after the client hung up")
	}
}
