package adc

import (
	"bytes"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/authdev/authdev/config"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the output (run go test -update if the change is intended)\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// aaatm compiles testdata/aaatm: a realistic AAA-TM ns.conf with an OAuth
// action, session action, authorization, rewrite, responder and a rate limit.
func aaatm(t *testing.T, opts ...Option) (*config.Config, *Engine) {
	t.Helper()
	cfg, err := config.Load(filepath.Join("testdata", "aaatm", "authdev.yaml"), config.Options{LookupEnv: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	e, err := Compile(cfg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return cfg, e
}

// personaUser builds AAA.USER for a persona as the proxy does.
func personaUser(t *testing.T, cfg *config.Config, persona string) *User {
	t.Helper()
	env, _ := cfg.Environment(cfg.DefaultEnvironment())
	id, ok := cfg.IdentityIn(persona, env.Name)
	if !ok {
		t.Fatalf("no persona %q", persona)
	}
	roles := env.RolesFor(id.Groups)
	attrs := map[string]any{"email": id.Email, "groups": id.Groups, "roles": roles}
	for k, v := range id.Claims {
		attrs[k] = v
	}
	return &User{Name: id.Email, Groups: id.Groups, Roles: roles, Attributes: attrs}
}

func TestAAATMSummaryGolden(t *testing.T) {
	_, e := aaatm(t)
	var b bytes.Buffer
	if err := e.WriteSummary(&b); err != nil {
		t.Fatal(err)
	}
	golden(t, "aaatm/check.golden", b.Bytes())
}

func TestAAATMDecisionsGolden(t *testing.T) {
	now := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	cfg, e := aaatm(t, WithNow(func() time.Time { return now }))
	requests := []struct {
		persona, method, target string
		headers                 []string
	}{
		{"alice", "GET", "/orders/1", nil},
		{"alice", "GET", "/admin/users", nil},
		{"sam", "GET", "/admin/users", nil},
		{"sam", "POST", "/orders", []string{"Content-Type", "application/json"}},
		{"alice", "POST", "/orders", nil},
		{"eve", "GET", "/orders/1", nil},
		{"sam", "GET", "/healthz", nil},
		{"sam", "GET", "/v1/catalog?page=2", []string{"X-Debug", "1"}},
		{"sam", "GET", "/debug/pprof", nil},
		{"", "GET", "/login.aspx", nil},
		{"alice", "GET", "/reports", []string{"User-Agent", "sqlmap/1.7"}},
		{"alice", "GET", "/orders/2", []string{"X-Maintenance", "on"}},
	}
	var b bytes.Buffer
	var res Result
	ip := "198.51.100.7"
	show := func(persona, method, target string, headers []string) {
		var user *User
		if persona != "" {
			user = personaUser(t, cfg, persona)
		}
		req := newRequest(method, target, user, headers...)
		req.ClientIP = netip.MustParseAddr(ip)
		req.Upstream = "orders"
		e.Evaluate(req, &res)
		who := persona
		if who == "" {
			who = "(nobody)"
		}
		fmt.Fprintf(&b, "### %s from %s: %s %s %s\n", who, ip, method, target, strings.Join(headers, ": "))
		for _, p := range res.Trace {
			m := "no match"
			if p.Matched {
				m = "MATCH"
			}
			fmt.Fprintf(&b, "  %-13s %4d %-22s %-8s %s\n", p.Kind, p.Priority, p.Name, m, p.Action)
		}
		switch r := res.Response; {
		case r != nil:
			fmt.Fprintf(&b, "  => respond status=%d drop=%v reset=%v location=%q body=%q (policy %s)\n", r.Status, r.Drop, r.Reset, r.Header.Get("Location"), r.Body, res.Policy)
		default:
			fmt.Fprintf(&b, "  => allowed=%v policy=%q url=%q\n", res.Allowed, res.Policy, res.URL)
			for _, h := range res.Headers {
				fmt.Fprintf(&b, "     %s %s: %s\n", h.Op, h.Name, h.Value)
			}
		}
	}
	for _, r := range requests {
		show(r.persona, r.method, r.target, r.headers)
	}
	// Five requests to /orders per second per client: the sixth is refused,
	// and the next second starts afresh.
	ip = "203.0.113.9"
	for i := 0; i < 6; i++ {
		now = now.Add(10 * time.Millisecond)
		show("sam", "GET", "/orders/9", nil)
	}
	now = now.Add(time.Second)
	show("sam", "GET", "/orders/9", nil)
	golden(t, "aaatm/decisions.golden", b.Bytes())
}
