package tui

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/authdev/authdev/audit"
)

// fakeStack is an in-memory Stack: the demo's personas and environments,
// events through a real audit.Broker, and HS256 tokens with fixed claims so
// screens are reproducible.
type fakeStack struct {
	mu         sync.Mutex
	info       Info
	envs       []string
	personas   map[string][]Persona
	active     string
	env        string
	broker     *audit.Broker
	activated  []string
	rotated    []string
	drilled    []string
	tokenFor   []string
	subscribed int
	failWith   error // returned by every action when set
}

func newFakeStack() *fakeStack {
	p := func(id, name, email string, roles ...string) Persona {
		return Persona{ID: id, Name: name, Email: email, Groups: []string{"g-" + id}, Roles: roles}
	}
	return &fakeStack{
		info: Info{
			ProxyURL: "https://127.0.0.1:8443",
			IdPURL:   "http://localhost:9400",
			Upstreams: []Service{
				{Name: "api", URL: "http://127.0.0.1:8000", Health: HealthUp},
			},
			StateStore: "keyring",
			ConfigFile: "authdev.yaml",
		},
		envs: []string{"dev", "staging", "prod"},
		personas: map[string][]Persona{
			"dev": {
				p("alice", "Alice Admin", "alice@example.com", "admin"),
				p("bob", "Bob Builder", "bob@example.com", "developer", "admin"),
				p("carol", "Carol Viewer", "carol@example.com", "viewer"),
				p("eve", "Eve Contractor", "eve@partner.example", "contractor"),
			},
			"staging": {
				p("alice", "Alice Admin", "alice@example.com", "admin"),
				p("bob", "Bob Builder", "bob@example.com", "developer"),
				p("carol", "Carol Viewer", "carol@example.com", "viewer"),
				p("eve", "Eve Contractor", "eve@partner.example", "contractor"),
			},
			"prod": {
				p("alice", "Alice Admin", "alice@example.com", "admin"),
				p("bob", "Bob Builder", "bob@example.com", "developer"),
				p("carol", "Carol Viewer", "carol@example.com", "viewer"),
				p("eve", "Eve Contractor", "eve@partner.example"),
			},
		},
		active: "alice",
		env:    "dev",
		broker: audit.NewBroker(),
	}
}

func (f *fakeStack) Info() Info {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.info
}

func (f *fakeStack) Environments() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.envs)
}

func (f *fakeStack) Personas(env string) []Persona {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.personas[env])
}

func (f *fakeStack) Active() (string, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.active, f.env
}

func (f *fakeStack) Activate(persona string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failWith != nil {
		return f.failWith
	}
	if !slices.ContainsFunc(f.personas[f.env], func(p Persona) bool { return p.ID == persona }) {
		return fmt.Errorf("no persona %q", persona)
	}
	f.active = persona
	f.activated = append(f.activated, persona)
	return nil
}

func (f *fakeStack) SetEnvironment(env string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failWith != nil {
		return f.failWith
	}
	if !slices.Contains(f.envs, env) {
		return fmt.Errorf("no environment %q", env)
	}
	f.env = env
	return nil
}

func (f *fakeStack) Drill(name string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failWith != nil {
		return "", f.failWith
	}
	f.drilled = append(f.drilled, name)
	return "done " + name, nil
}

func (f *fakeStack) RotateKeys(env string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failWith != nil {
		return f.failWith
	}
	f.rotated = append(f.rotated, env)
	return nil
}

func (f *fakeStack) Token(persona, env string) (string, error) {
	f.mu.Lock()
	f.tokenFor = append(f.tokenFor, persona+"@"+env)
	fail := f.failWith
	f.mu.Unlock()
	if fail != nil {
		return "", fail
	}
	return signedToken(persona, env)
}

func (f *fakeStack) Subscribe() (<-chan audit.Event, func()) {
	f.mu.Lock()
	f.subscribed++
	f.mu.Unlock()
	return f.broker.Subscribe(64)
}

// signedToken is an access token as the IdP would issue it, signed with a
// fixed HMAC key so the bytes never change.
func signedToken(persona, env string) (string, error) {
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: []byte("0123456789abcdef0123456789abcdef")},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "dev-1"))
	if err != nil {
		return "", err
	}
	iat := time.Date(2025, 5, 1, 12, 0, 0, 0, time.UTC)
	return jwt.Signed(sig).Claims(map[string]any{
		"iss":    "http://localhost:9400/" + env,
		"sub":    persona,
		"aud":    "authdev",
		"email":  persona + "@example.com",
		"groups": []string{"g-" + persona},
		"iat":    iat.Unix(),
		"exp":    iat.Add(5 * time.Minute).Unix(),
	}).Serialize()
}

var errBoom = errors.New("the keyring is locked")

// at is a fixed clock for events.
func at(sec int) time.Time { return time.Date(2025, 5, 1, 12, 0, sec, 0, time.UTC) }

// sampleEvents is a morning at the edge: allowed and denied requests, a
// refused token, a login.
func sampleEvents() []audit.Event {
	return []audit.Event{
		{Time: at(1), Kind: audit.KindLogin, Persona: "alice", User: "alice@example.com", Env: "dev", Via: "session"},
		{Time: at(2), Kind: audit.KindRequest, Persona: "alice", Env: "dev", Method: "GET", Path: "/", Status: 200,
			Latency: 3 * time.Millisecond, Decision: "allow", Upstream: "api", Via: "session"},
		{Time: at(3), Kind: audit.KindRequest, Persona: "alice", Env: "dev", Method: "GET", Path: "/admin/users", Status: 200,
			Latency: 12 * time.Millisecond, Decision: "allow", Upstream: "api", Via: "session"},
		detailedEvent(),
		{Time: at(5), Kind: audit.KindTokenRefused, Env: "dev", Method: "GET", Path: "/reports/q3", Status: 401,
			Via: "bearer", Message: "token expired 2m ago: get a new one with authdev token"},
		{Time: at(6), Kind: audit.KindRequest, Persona: "carol", Env: "dev", Method: "POST", Path: "/reports/q3/export?format=csv", Status: 502,
			Latency: 1500 * time.Millisecond, Decision: "allow", Policy: "reports-readers", Upstream: "api"},
	}
}

// detailedEvent is a denied request with everything the detail screen shows.
func detailedEvent() audit.Event {
	return audit.Event{
		Time: at(4), Kind: audit.KindRequest, Persona: "bob", User: "bob@example.com", Env: "dev",
		Method: "GET", Path: "/admin/users", Upstream: "api", Target: "http://127.0.0.1:8000",
		Status: 403, Latency: 850 * time.Microsecond, Decision: "deny", Policy: "admin-area",
		Via: "session", ClientIP: "127.0.0.1",
		Claims: map[string]any{
			"email": "bob@example.com", "groups": []any{"eng", "eng-admins"}, "sub": "bob",
			"iat": float64(at(0).Unix()), "exp": float64(at(0).Add(5 * time.Minute).Unix()),
		},
		HeadersInjected: map[string]string{
			"X-Remote-User": "bob@example.com", "X-Remote-Groups": "eng,eng-admins", "X-Remote-Roles": "developer",
		},
		HeadersStripped: []string{"X-Remote-User", "x_remote_roles"},
		Assertion: map[string]any{
			"iss": "https://127.0.0.1:8443", "aud": "api", "sub": "bob", "roles": []any{"developer"},
		},
		Trace: []audit.PolicyResult{
			{Name: "admin-area", Kind: "authorization", Rule: `HTTP.REQ.URL.PATH.STARTSWITH("/admin") && !AAA.USER.IS_MEMBER_OF("admin")`,
				Matched: true, Action: "DENY"},
			{Name: "reports-readers", Kind: "authorization", Rule: `HTTP.REQ.URL.PATH.STARTSWITH("/reports")`, Matched: false, Action: "DENY"},
			{Name: "broken", Kind: "authorization", Rule: `AAA.USER.ATTRIBUTE("x").EQ(1)`, Error: "EQ needs a number, got text"},
		},
	}
}
