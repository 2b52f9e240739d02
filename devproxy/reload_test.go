package devproxy_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/authdev/authdev/audit"
	"github.com/authdev/authdev/devproxy"
	"github.com/authdev/authdev/mockidp"
)

func TestReloadAppliesNewRolesUpstreamsAndEnvironmentsToTheRunningProxy(t *testing.T) {
	one, two := echoBackend(t, "one"), echoBackend(t, "two")
	var base devproxy.Options
	e := start(t, setup{upstreams: upstreamTo(one.URL), tweak: func(o *devproxy.Options) { base = *o }})
	ts, err := e.idp.Mint("bob", "dev", mockidp.MintOptions{})
	if err != nil {
		t.Fatal(err)
	}
	bearer := func(path string) *http.Response {
		return get(t, http.DefaultClient, e.url+path, "Authorization", "Bearer "+ts.AccessToken)
	}
	if resp := bearer("/admin/users"); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("before the reload bob (a reader) reached /admin: %d", resp.StatusCode)
	}

	next := base
	next.Environments = append([]devproxy.Environment(nil), base.Environments...)
	next.Environments[0].Roles = map[string][]string{"eng": {"admin"}}
	next.Upstreams = upstreamTo(two.URL)
	if err := e.proxy.Reload(next); err != nil {
		t.Fatal(err)
	}
	got := readSeen(t, bearer("/admin/users"))
	if got.Server != "two" || strings.Join(got.header("X-Remote-Roles"), ",") != "admin" {
		t.Fatalf("after the reload the request went to %q with roles %v, want two and admin", got.Server, got.header("X-Remote-Roles"))
	}
	if ups := e.proxy.Upstreams(); len(ups) != 1 || ups[0].Targets[0].URL != two.URL {
		t.Errorf("upstreams after the reload: %+v", ups)
	}

	broken := next
	broken.Upstreams = []devproxy.Upstream{{Name: "api", Prefix: "/", Targets: []string{"127.0.0.1:1"}}}
	if err := e.proxy.Reload(broken); err == nil || !strings.Contains(err.Error(), "not an absolute http(s) URL") {
		t.Fatalf("a broken upstream: %v", err)
	}
	if got := readSeen(t, bearer("/x")); got.Server != "two" {
		t.Fatalf("a refused reload changed the running proxy: request went to %q", got.Server)
	}

	prodOnly := next
	prodOnly.Environments = next.Environments[1:]
	if err := e.proxy.Reload(prodOnly); err != nil {
		t.Fatal(err)
	}
	if act := e.proxy.Active(); act.Env != "prod" || strings.Join(e.proxy.Environments(), ",") != "prod" {
		t.Fatalf("the active environment was removed: now %+v of %v, want prod", act, e.proxy.Environments())
	}
	var said bool
	for _, n := range e.events.of(audit.KindNotice) {
		said = said || strings.Contains(n.Message, "environment dev is gone: prod is active now")
	}
	if !said {
		t.Errorf("no notice says the active environment moved: %+v", e.events.of(audit.KindNotice))
	}
}

func TestReloadKeepsUnchangedUpstreamsAndTheirHealth(t *testing.T) {
	one := echoBackend(t, "one")
	var base devproxy.Options
	e := start(t, setup{upstreams: []devproxy.Upstream{
		{Name: "api", Prefix: "/", Targets: []string{one.URL}},
		{Name: "gone", Prefix: "/gone", Targets: []string{"http://127.0.0.1:1"}},
	}, tweak: func(o *devproxy.Options) { base = *o }})
	ts, _ := e.idp.Mint("alice", "dev", mockidp.MintOptions{})
	// A refused connection ejects the target: that health must survive a
	// reload that leaves the upstream alone.
	if resp := get(t, http.DefaultClient, e.url+"/gone", "Authorization", "Bearer "+ts.AccessToken); resp.StatusCode/100 != 5 {
		t.Fatalf("a dead target answered %d", resp.StatusCode)
	}
	next := base
	next.Upstreams = base.Upstreams[1:]
	next.Upstreams = append(next.Upstreams, devproxy.Upstream{Name: "api2", Prefix: "/api2", Targets: []string{one.URL}})
	if err := e.proxy.Reload(next); err != nil {
		t.Fatal(err)
	}
	ups := map[string]devproxy.UpstreamStatus{}
	for _, u := range e.proxy.Upstreams() {
		ups[u.Name] = u
	}
	if len(ups) != 2 || ups["gone"].Healthy() || !ups["api2"].Healthy() {
		t.Fatalf("upstreams after the reload: %+v", ups)
	}
}
