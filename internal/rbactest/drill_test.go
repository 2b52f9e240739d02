package rbactest

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/authdev/authdev/internal/stack"
)

func TestChecksRunUnderTheirDrills(t *testing.T) {
	cfg := withChecks(t, `  - {as: alice, request: GET /admin/users, expect: allow, drill: expired-session}
  - {as: carol, request: GET /reports/q3, expect: allow, drill: idp-down}
  - {as: alice, request: GET /admin/users, expect: allow, drill: rotated-keys, via: bearer}
  - {as: carol, request: GET /admin/users, expect: deny, drill: rotated-keys}
  - {as: bob, request: GET /reports/q3, expect: allow}
`)
	cases, err := Plan(cfg, []string{"dev"})
	if err != nil {
		t.Fatal(err)
	}
	ip := startDemo(t, cfg)
	results := Run(context.Background(), ip, cases, Options{})
	for _, r := range results {
		if !r.Pass {
			t.Errorf("%s (%s): %s", r.Name, r.Via, r.Reason)
		}
	}
	if st := ip.s.DrillState(); st.IdPDownUntil != nil {
		t.Errorf("idp-down outlived its check: %+v", st)
	}
}

// The drill does expire the session: the same browser, not following
// redirects, is sent to log in again.
func TestExpiredSessionDrillEndsTheSession(t *testing.T) {
	cfg := withChecks(t, "  - {as: alice, request: GET /admin/users, expect: allow}\n")
	ip := startDemo(t, cfg)
	ctx := context.Background()
	if err := ip.Use(ctx, "dev"); err != nil {
		t.Fatal(err)
	}
	cases, _ := Plan(cfg, []string{"dev"})
	r := &runner{t: ip, now: time.Now, sessions: map[key]*lazy[*http.Client]{}, tokens: map[key]*lazy[string]{},
		endpoints: map[string]*lazy[oauth2.Endpoint]{}}
	if res := r.run(ctx, cases[0]); !res.Pass {
		t.Fatalf("before the drill: %+v", res)
	}
	if err := ip.Drill(ctx, stack.DrillRequest{Drill: stack.DrillExpireSessions}); err != nil {
		t.Fatal(err)
	}
	res := r.run(ctx, cases[0])
	if res.Outcome != "302" || !strings.Contains(res.Reason, "asked for a login again") {
		t.Fatalf("after the drill: %+v", res)
	}
}

// A drill's browser that is redirected to the IdP's picker did not log in
// silently; a backend route that happens to end in /authorize, reached
// without a redirect, is an ordinary answer.
func TestClassifyTellsThePickerAfterARedirect(t *testing.T) {
	picker, _ := http.NewRequest(http.MethodGet, "http://localhost:9400/dev/authorize?client_id=x", nil)
	picker.Response = &http.Response{StatusCode: http.StatusFound}
	route, _ := http.NewRequest(http.MethodGet, "https://127.0.0.1:8443/oauth/authorize", nil)
	for _, tt := range []struct {
		req  *http.Request
		want string
	}{{picker, OutcomeLogin}, {route, OutcomeAllow}} {
		var res Result
		classify(&res, &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, Request: tt.req}, []byte("<html>"))
		if res.Outcome != tt.want {
			t.Errorf("%s: outcome %q, want %q", tt.req.URL, res.Outcome, tt.want)
		}
	}
}
