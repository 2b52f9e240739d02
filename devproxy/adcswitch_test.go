package devproxy_test

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/authdev/authdev/adc"
	"github.com/authdev/authdev/audit"
	"github.com/authdev/authdev/config"
	"github.com/authdev/authdev/devproxy"
)

// An ns.conf's cs vserver picks the lb vserver, and so the upstream, that
// serves a request; a policy's audit message action lands in the request's
// audit event.
func TestContentSwitchingPicksTheUpstreamAndAuditMessagesAreLogged(t *testing.T) {
	dir := t.TempDir()
	nsconf := `add lb vserver lb_a HTTP 0.0.0.0 0
add lb vserver lb_b HTTP 0.0.0.0 0
add cs vserver front HTTP 10.0.0.1 80
add cs policy to_b -rule "HTTP.REQ.URL.PATH.STARTSWITH(\"/b/\")"
bind cs vserver front -policyName to_b -targetLBVserver lb_b -priority 10
bind cs vserver front -lbvserver lb_a
add audit messageaction said INFORMATIONAL "\"b for \" + AAA.USER.NAME"
add responder policy note "HTTP.REQ.URL.PATH.STARTSWITH(\"/b/\")" NOOP -logAction said
bind cs vserver front -policyName note -priority 5 -gotoPriorityExpression END -type REQUEST
set tm sessionParameter -defaultAuthorizationAction ALLOW
`
	os.WriteFile(filepath.Join(dir, "ns.conf"), []byte(nsconf), 0o600)
	os.WriteFile(filepath.Join(dir, "authdev.yaml"), []byte("personas:\n  bob: {email: bob@example.com}\nproxy:\n  adc_config: ns.conf\n"), 0o600)
	cfg, err := config.Load(filepath.Join(dir, "authdev.yaml"), config.Options{LookupEnv: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	eng, err := adc.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	a, b := echoBackend(t, "a"), echoBackend(t, "b")
	e := start(t, setup{persona: "bob", upstreams: []devproxy.Upstream{
		{Name: "lb_a", Prefix: "/", Targets: []string{a.URL}},
		{Name: "lb_b", Prefix: "/other/", Targets: []string{b.URL}},
	}, tweak: func(o *devproxy.Options) { o.Policy = eng }})
	br := newBrowser(t)
	if got := readSeen(t, get(t, br.Client, e.url+"/b/x")).Server; got != "b" {
		t.Errorf("/b/x reached backend %q, want b (the lb vserver the cs policy picked)", got)
	}
	if got := readSeen(t, get(t, br.Client, e.url+"/c")).Server; got != "a" {
		t.Errorf("/c reached backend %q, want a (-lbvserver)", got)
	}
	var msgs []audit.PolicyMessage
	for _, ev := range e.events.of(audit.KindRequest) {
		if ev.Path == "/b/x" && ev.Status == http.StatusOK {
			msgs = ev.Messages
			if ev.Upstream != "lb_b" {
				t.Errorf("the event names upstream %q, want lb_b", ev.Upstream)
			}
		}
	}
	if len(msgs) != 1 || msgs[0] != (audit.PolicyMessage{Policy: "note", Level: "INFORMATIONAL", Text: "b for bob@example.com"}) {
		t.Errorf("audit messages %+v", msgs)
	}
}
