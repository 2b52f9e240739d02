package devproxy_test

import (
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/authdev/authdev/audit"
	"github.com/authdev/authdev/devproxy"
	"github.com/authdev/authdev/identity"
	"github.com/authdev/authdev/internal/pki"
	"github.com/authdev/authdev/internal/state"
)

func TestTLSServesHTTP2AndSetsSecureCookies(t *testing.T) {
	ca, err := pki.LoadOrCreate(state.NewMemory(), time.Now, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Issue(nil, time.Now(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	e := start(t, setup{persona: "alice", upstreams: upstreamTo(echoBackend(t, "api").URL), tweak: func(o *devproxy.Options) {
		o.TLSCertificate = &leaf
		o.PublicURL = strings.Replace(o.PublicURL, "http://", "https://", 1)
	}})
	jar, _ := cookiejar.New(nil)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool()}, ForceAttemptHTTP2: true}
	rec := &recorder{RoundTripper: tr}
	c := &http.Client{Jar: jar, Transport: rec, Timeout: 10 * time.Second}
	resp := get(t, c, e.url+"/secure")
	if resp.Proto != "HTTP/2.0" {
		t.Errorf("protocol %s, want HTTP/2.0", resp.Proto)
	}
	s := readSeen(t, resp)
	if got := s.header("X-Forwarded-Proto"); len(got) != 1 || got[0] != "https" {
		t.Errorf("X-Forwarded-Proto %q", got)
	}
	var session *http.Cookie
	for _, sc := range rec.setCookies {
		if ck, err := http.ParseSetCookie(sc); err == nil && ck.Name == devproxy.SessionCookie {
			session = ck
		}
	}
	if session == nil || !session.Secure || !session.HttpOnly || session.SameSite != http.SameSiteLaxMode {
		t.Errorf("session cookie under TLS: %+v", session)
	}
}

// recorder keeps every Set-Cookie a client received.
type recorder struct {
	http.RoundTripper
	setCookies []string
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.RoundTripper.RoundTrip(req)
	if err == nil {
		r.setCookies = append(r.setCookies, resp.Header.Values("Set-Cookie")...)
	}
	return resp, err
}

func TestInternalEndpoints(t *testing.T) {
	e := start(t, setup{persona: "bob", upstreams: upstreamTo(echoBackend(t, "api").URL)})
	c := http.DefaultClient

	resp := get(t, c, e.url+"/.authdev/health")
	var health struct {
		Status    string
		Env       string
		Upstreams []devproxy.UpstreamStatus
	}
	json.NewDecoder(resp.Body).Decode(&health)
	resp.Body.Close()
	if resp.StatusCode != 200 || health.Status != "ok" || health.Env != "dev" || len(health.Upstreams) != 1 || !health.Upstreams[0].Healthy() {
		t.Errorf("health: %d %+v", resp.StatusCode, health)
	}

	resp = get(t, c, e.url+"/.authdev/jwks.json")
	var jwks struct{ Keys []map[string]any }
	json.NewDecoder(resp.Body).Decode(&jwks)
	resp.Body.Close()
	if len(jwks.Keys) != 1 || jwks.Keys[0]["alg"] != "ES256" || jwks.Keys[0]["crv"] != "P-256" || jwks.Keys[0]["d"] != nil {
		t.Errorf("jwks: %+v", jwks)
	}

	resp = get(t, c, e.url+"/.authdev/whoami", "Accept", "application/json")
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("whoami without identity: %d", resp.StatusCode)
	}
	resp = get(t, c, e.url+"/.authdev/whoami", e.bearer("bob")...)
	var who devproxy.Whoami
	json.NewDecoder(resp.Body).Decode(&who)
	resp.Body.Close()
	if who.User != "bob@example.com" || who.Via != "bearer" || who.Persona != "bob" || who.Upstream != "api" ||
		who.Headers["X-Remote-Roles"] != "reader" || who.Assertion == nil || !slices.Equal(who.Assertion.Audience, jwt.Audience{"api"}) || who.AssertionHeader["alg"] != "ES256" {
		t.Errorf("whoami: %+v", who)
	}
	b := newBrowser(t)
	resp = get(t, b.Client, e.url+"/.authdev/whoami")
	json.NewDecoder(resp.Body).Decode(&who)
	resp.Body.Close()
	if who.Via != "session" || who.Persona != "bob" {
		t.Errorf("whoami after a browser login: %+v", who)
	}

	resp = get(t, c, e.url+"/.authdev/nope")
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown internal path: %d", resp.StatusCode)
	}
}

func TestTheAuditLogHoldsNoTokensOrCookies(t *testing.T) {
	e := start(t, setup{persona: "alice", upstreams: upstreamTo(echoBackend(t, "api").URL)})
	b := newBrowser(t)
	s := readSeen(t, get(t, b.Client, e.url+"/a"))
	auth := e.bearer("bob")
	readSeen(t, get(t, http.DefaultClient, e.url+"/b", auth...))
	get(t, http.DefaultClient, e.url+"/c", "Authorization", "Bearer not.a.token").Body.Close()
	get(t, noFollow(b.Jar), e.url+devproxy.LogoutPath).Body.Close()

	var buf bytes.Buffer
	log := audit.NewLog(&buf)
	for _, ev := range e.events.all() {
		log.Write(ev)
	}
	log.Flush()
	u, _ := url.Parse(e.url)
	secrets := []string{strings.TrimPrefix(auth[1], "Bearer "), s.header(identity.Header)[0], "not.a.token"}
	for _, ck := range b.Jar.Cookies(u) {
		secrets = append(secrets, ck.Value)
	}
	for _, sec := range secrets {
		if len(sec) > 8 && strings.Contains(buf.String(), sec) {
			t.Fatalf("the audit log holds a secret: %.20s...", sec)
		}
	}
	kinds := map[audit.Kind]int{}
	for _, ev := range e.events.all() {
		kinds[ev.Kind]++
	}
	if kinds[audit.KindLogin] == 0 || kinds[audit.KindLogout] == 0 || kinds[audit.KindTokenRefused] == 0 || kinds[audit.KindRequest] < 3 {
		t.Fatalf("event kinds %v", kinds)
	}
	for _, ev := range e.events.of(audit.KindRequest) {
		if ev.Status == 200 && (ev.Latency <= 0 || ev.Upstream != "api" || ev.Target == "" || ev.Env != "dev" || ev.Persona == "") {
			t.Errorf("request event lacks fields: %+v", ev)
		}
	}
}

func TestTheClientsRequestIDIsInTheEventAndReachesTheBackend(t *testing.T) {
	e := start(t, setup{upstreams: upstreamTo(echoBackend(t, "api").URL)})
	auth := e.bearer("alice")
	s := readSeen(t, get(t, http.DefaultClient, e.url+"/with-id", append(auth, devproxy.RequestIDHeader, "check-7-dev")...))
	if got := s.header(devproxy.RequestIDHeader); len(got) != 1 || got[0] != "check-7-dev" {
		t.Fatalf("the backend got X-Request-Id %q", got)
	}
	long := strings.Repeat("x", 129)
	readSeen(t, get(t, http.DefaultClient, e.url+"/long-id", append(auth, devproxy.RequestIDHeader, long)...))
	ids := map[string]string{}
	for _, ev := range e.events.of(audit.KindRequest) {
		ids[ev.Path] = ev.RequestID
	}
	if ids["/with-id"] != "check-7-dev" {
		t.Errorf("the event's request ID = %q", ids["/with-id"])
	}
	if ids["/long-id"] != "" {
		t.Errorf("an over-long request ID reached the audit trail: %.20q...", ids["/long-id"])
	}
}
