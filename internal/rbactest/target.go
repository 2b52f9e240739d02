package rbactest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/authdev/authdev/audit"
	"github.com/authdev/authdev/config"
	"github.com/authdev/authdev/devproxy"
	"github.com/authdev/authdev/internal/stack"
	"github.com/authdev/authdev/internal/state"
)

// newTransport is one connection pool for every session and token of a
// run, trusting roots (nil: the system's).
func newTransport(roots *x509.CertPool) *http.Transport {
	return &http.Transport{
		Proxy:               nil, // loopback only: never through $HTTP_PROXY
		TLSClientConfig:     &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     30 * time.Second,
	}
}

// InProcessOptions configure a stack started for the run.
type InProcessOptions struct {
	Config *config.Config
	// Store holds the keys and the CA. Writes should not reach the user's
	// store (see state overlays in the CLI); a memory store is fine.
	Store state.Store
	// Upstream replaces the configured upstreams ("URL" or "NAME=URL");
	// with neither, the embedded demo backend answers.
	Upstream string
	// ProxyListen is the proxy's address; default a free loopback port.
	ProxyListen string
	// AssertionIssuer replaces the proxy's URL as the issuer of its
	// identity assertions (a proxy on a spare port that signs as the one
	// the backends know).
	AssertionIssuer string
	Now             func() time.Time
}

// InProcess is an IdP and a proxy started for the run on loopback.
type InProcess struct {
	s         *stack.Stack
	transport *http.Transport
	decisions decisions
}

// decisions are the deciding policies of the run's requests, by request
// ID, as the proxy's audit events report them.
type decisions struct {
	mu sync.Mutex
	m  map[string]chan string
}

// testRequestIDPrefix marks the requests of a run.
const testRequestIDPrefix = "authdev-test-"

func (d *decisions) slot(id string) chan string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.m == nil {
		d.m = map[string]chan string{}
	}
	c, ok := d.m[id]
	if !ok {
		c = make(chan string, 1)
		d.m[id] = c
	}
	return c
}

func (d *decisions) record(e audit.Event) {
	if e.Kind != audit.KindRequest || !strings.HasPrefix(e.RequestID, testRequestIDPrefix) {
		return
	}
	select {
	case d.slot(e.RequestID) <- e.Policy:
	default:
	}
}

// decisionWait bounds the wait for an event: the proxy records it before
// its handler returns, so it is there by the time a whole answer is read;
// an answer with no event (one of the proxy's own pages or redirects)
// waits this long for nothing.
const decisionWait = 200 * time.Millisecond

// DecidingPolicy implements PolicySource.
func (p *InProcess) DecidingPolicy(ctx context.Context, id string) (string, bool) {
	c := p.decisions.slot(id)
	defer func() {
		p.decisions.mu.Lock()
		delete(p.decisions.m, id)
		p.decisions.mu.Unlock()
	}()
	t := time.NewTimer(decisionWait)
	defer t.Stop()
	select {
	case policy := <-c:
		return policy, true
	case <-t.C:
	case <-ctx.Done():
	}
	return "", false
}

// StartInProcess starts the IdP (on a free loopback port) and the proxy.
func StartInProcess(o InProcessOptions) (*InProcess, error) {
	listen := o.ProxyListen
	if listen == "" {
		listen = "127.0.0.1:0"
	}
	ip := &InProcess{}
	s, err := stack.Up(stack.Options{Config: o.Config, Store: o.Store, Upstream: o.Upstream,
		ProxyListen: listen, IdPListen: "127.0.0.1:0", AssertionIssuer: o.AssertionIssuer, Now: o.Now, Events: ip.decisions.record})
	if err != nil {
		return nil, err
	}
	if err := s.Start(); err != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
		return nil, err
	}
	var roots *x509.CertPool
	if ca := s.CA(); ca != nil {
		roots = ca.Pool()
	}
	ip.s, ip.transport = s, newTransport(roots)
	return ip, nil
}

// URL implements Target.
func (p *InProcess) URL() string { return p.s.ProxyURL() }

// Transport implements Target.
func (p *InProcess) Transport() http.RoundTripper { return p.transport }

// Use implements Target.
func (p *InProcess) Use(_ context.Context, env string) error {
	return p.s.DevProxy().SetActive(devproxy.Active{Env: env})
}

// Issuer implements Target.
func (p *InProcess) Issuer(env string) string { return p.s.IdP().Issuer(env) }

// Upstreams describes where the proxy sends requests, for the banner.
func (p *InProcess) Upstreams() []string {
	var out []string
	for _, u := range p.s.DevProxy().Upstreams() {
		for _, t := range u.Targets {
			out = append(out, fmt.Sprintf("%s %s -> %s", u.Name, u.Prefix, t.URL))
		}
	}
	return out
}

// Close stops the proxy and the IdP.
func (p *InProcess) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p.transport.CloseIdleConnections()
	return p.s.Shutdown(ctx)
}

// Remote is a running `authdev up` (or `authdev proxy`), switched between
// environments through its control endpoint with the control token of the
// state store it shares with this process.
type Remote struct {
	url       string
	token     string
	roots     *x509.CertPool
	issuer    func(env string) string
	transport *http.Transport
	saved     *stack.ActiveState
}

// NewRemote prepares to drive the proxy at proxyURL. roots verify its
// certificate (nil: the system's); issuer names the IdP's issuer of an
// environment.
func NewRemote(proxyURL, controlToken string, roots *x509.CertPool, issuer func(env string) string) *Remote {
	return &Remote{url: strings.TrimRight(proxyURL, "/"), token: controlToken, roots: roots,
		issuer: issuer, transport: newTransport(roots)}
}

// URL implements Target.
func (r *Remote) URL() string { return r.url }

// Transport implements Target.
func (r *Remote) Transport() http.RoundTripper { return r.transport }

// Issuer implements Target.
func (r *Remote) Issuer(env string) string { return r.issuer(env) }

// Use implements Target. The first call remembers the active persona and
// environment, which Restore puts back.
func (r *Remote) Use(ctx context.Context, env string) error {
	if r.saved == nil {
		if _, err := r.Active(ctx); err != nil {
			return err
		}
	}
	_, err := stack.Switch(ctx, r.url, r.token, r.roots, stack.ActiveState{Persona: "", Env: env})
	return err
}

// Restore makes the persona and environment active before the run active
// again.
func (r *Remote) Restore(ctx context.Context) error {
	defer r.transport.CloseIdleConnections()
	if r.saved == nil {
		return nil
	}
	_, err := stack.Switch(ctx, r.url, r.token, r.roots, *r.saved)
	return err
}

// Active reads the proxy's health endpoint, which names the active
// persona and environment, and remembers them for Restore. Its error says
// when nothing answers at the proxy's URL.
func (r *Remote) Active(ctx context.Context) (stack.ActiveState, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.url+"/.authdev/health", nil)
	if err != nil {
		return stack.ActiveState{}, err
	}
	resp, err := (&http.Client{Transport: r.transport, Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return stack.ActiveState{}, fmt.Errorf("no authdev proxy answers at %s: %w: start `authdev up`, or drop --proxy to let authdev test start one", r.url, err)
	}
	defer resp.Body.Close()
	var h stack.ActiveState
	if resp.StatusCode != http.StatusOK {
		return h, fmt.Errorf("%s/.authdev/health answered %s: is it an authdev proxy?", r.url, resp.Status)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&h); err != nil {
		return h, errors.New(r.url + "/.authdev/health is not an authdev proxy's health document")
	}
	r.saved = &h
	return h, nil
}
