package devproxy

import (
	"cmp"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/authdev/authdev/adc"
	"github.com/authdev/authdev/config"
	"github.com/authdev/authdev/identity"
)

// serveInternal answers /.authdev/: health, JWKS, whoami, login, logout
// landing page, and the control endpoint of `authdev as`.
func (p *Proxy) serveInternal(w http.ResponseWriter, r *http.Request) {
	switch rest := strings.TrimPrefix(r.URL.Path, InternalPrefix); {
	case rest == "health":
		act := p.active.Load()
		ups := p.Upstreams()
		writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "env": act.Env, "persona": act.Persona, "upstreams": ups})
	case r.URL.Path == identity.JWKSPath:
		w.Header().Set("Content-Type", "application/jwk-set+json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		w.Write(p.assertions.signer.jwks)
	case rest == "whoami":
		p.whoami(w, r)
	case rest == "login":
		act := p.active.Load()
		env, back := p.rt().env(act.Env), r.URL.Query().Get("return")
		lr := returnRequest(r, back)
		if r.URL.Query().Get("via") == config.LoginSAML {
			login, _ := env.samlLoginFor(lr)
			p.startSAMLLogin(w, r, env, cmp.Or(login, env.SAML), act, back)
			return
		}
		p.startLogin(w, lr, env, act, back)
	case rest == "logged-out":
		p.page(w, r, http.StatusOK, pageData{Title: "Logged out",
			Summary: "Your session at the proxy and at the identity provider has ended.",
			Link:    InternalPrefix + "login?return=%2F", LinkText: "Log in again"})
	case (rest == "control" || strings.HasPrefix(rest, "control/")) && p.control != nil:
		p.control.ServeHTTP(w, r)
	default:
		p.errorPage(w, r, http.StatusNotFound, "Not found", "The proxy has no "+r.URL.Path+".",
			"its own endpoints are "+InternalPrefix+"health, "+InternalPrefix+"whoami and "+identity.JWKSPath)
	}
}

// returnRequest is r as the GET of the path a login at /.authdev/login
// returns to: the request that login stands for, whose URL the rules
// choosing a samlAction read.
func returnRequest(r *http.Request, back string) *http.Request {
	u, err := url.Parse(safeReturn(back))
	if err != nil {
		return r
	}
	lr := r.Clone(r.Context())
	lr.Method, lr.RequestURI = http.MethodGet, u.RequestURI()
	lr.URL.Path, lr.URL.RawPath, lr.URL.RawQuery = u.Path, u.RawPath, u.RawQuery
	return lr
}

// Whoami is what /.authdev/whoami shows: the identity the proxy holds for
// the caller, the headers it would inject and the assertion it would send.
type Whoami struct {
	Via      string         `json:"via"`
	Env      string         `json:"env"`
	Persona  string         `json:"persona,omitempty"`
	User     string         `json:"user"`
	Subject  string         `json:"sub"`
	Email    string         `json:"email,omitempty"`
	Name     string         `json:"name,omitempty"`
	Groups   []string       `json:"groups"`
	Roles    []string       `json:"roles"`
	Claims   map[string]any `json:"claims"`
	Expires  time.Time      `json:"expires"`
	Upstream string         `json:"upstream,omitempty"`
	// Headers are the rewrites for a request to the upstream, Allowed and
	// Policy the decision for it.
	Headers   map[string]string `json:"headers"`
	Allowed   bool              `json:"allowed"`
	Policy    string            `json:"policy,omitempty"`
	Assertion *identity.Claims  `json:"assertion,omitempty"`
	// AssertionHeader is the JOSE header of the assertion (alg, kid, typ).
	AssertionHeader map[string]string `json:"assertion_header,omitempty"`
}

func (p *Proxy) whoami(w http.ResponseWriter, r *http.Request) {
	st := &reqState{start: p.now()}
	g := p.rt()
	up := g.route("/")
	g.owned.strip(r.Header)
	id := p.authenticate(w, r, up, st)
	if id == nil {
		return
	}
	out := Whoami{Via: id.via, Env: id.env, Persona: id.persona, User: id.user, Subject: id.sub,
		Email: id.email, Name: id.name, Groups: id.groups, Roles: id.roles, Claims: id.claims,
		Expires: id.expires, Headers: map[string]string{}, Allowed: true}
	if g.policy != nil {
		var res adc.Result
		req := adc.Request{HTTP: r, ClientIP: clientIP(r), User: id.adcUser}
		if up != nil {
			req.Upstream = up.Name
		}
		g.policy.Evaluate(&req, &res)
		out.Allowed, out.Policy = res.Allowed && res.Response == nil, res.Policy
		for _, op := range res.Headers {
			if op.Op == "insert" {
				out.Headers[op.Name] = op.Value
			}
		}
	} else {
		h := http.Header{}
		defaultHeaders(h, id)
		for k, v := range h {
			out.Headers[k] = v[0]
		}
	}
	if up != nil {
		out.Upstream = up.Name
		if sa, err := p.assertions.get(id, up.Name, st.start); err == nil {
			c := sa.claims
			out.Assertion = &c
			out.AssertionHeader = map[string]string{"alg": identity.Algorithm, "kid": p.assertions.signer.kid, "typ": "JWT"}
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, out)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// assertionMap is an assertion's claims as an audit event carries them.
func assertionMap(c *identity.Claims) map[string]any {
	return map[string]any{"iss": c.Issuer, "aud": strings.Join(c.Audience, " "), "sub": c.Subject, "email": c.Email,
		"name": c.Name, "groups": slices.Clone(c.Groups), "roles": slices.Clone(c.Roles), "env": c.Env,
		"persona": c.Persona, "iat": c.IssuedAt.Time().Unix(), "exp": c.Expiry.Time().Unix(), "jti": c.ID}
}
