package devproxy

import (
	"cmp"
	"context"
	"fmt"
	"net/http"

	"github.com/authdev/authdev/adc"
	"github.com/authdev/authdev/audit"
	"github.com/authdev/authdev/identity"
)

// serveProxied is the path of a request to an upstream, one named step
// each: the request is admitted (owned headers stripped on arrival, so no
// later step reads a forged one), authenticated, decided by the policies,
// given the proxy's headers and assertion, forwarded, and audited.
func (p *Proxy) serveProxied(w http.ResponseWriter, r *http.Request) {
	if redirectToCanonical(w, r) {
		return
	}
	st := p.states.Get().(*reqState)
	*st = reqState{start: p.now()}
	st.sw.ResponseWriter = w
	sw := &st.sw
	defer p.audit(r, st)

	g := p.rt()
	up := g.route(r.URL.Path)
	if up == nil {
		p.errorPage(sw, r, http.StatusNotFound, "Not found", "No upstream serves "+r.URL.Path+".",
			"add an upstream whose prefix covers this path to proxy.upstreams")
		return
	}
	st.upstream = up.Name
	p.admit(sw, r, g, st)
	c := p.authenticate(sw, r, up, st)
	if c == nil {
		return
	}
	st.id = c
	res := p.results.Get().(*adc.Result)
	defer p.results.Put(res)
	if !p.decide(sw, r, g, up, st, res) {
		return
	}
	if t := g.named(res.Target); t != nil {
		up, st.upstream = t, t.Name // the lb vserver the ns.conf's content switching picked
	}
	if !p.inject(sw, r, g, up, st, res) {
		return
	}
	p.forwardTo(sw, r, up, st)
}

// admit bounds the time the body may take, drops what the client's
// Connection header names and strips every header the proxy owns, before
// anything, policies included, can read a forged one.
func (p *Proxy) admit(w http.ResponseWriter, r *http.Request, g *routing, st *reqState) {
	if r.Body != nil && r.Body != http.NoBody {
		p.limitBody(w, r, st)
	}
	dropConnectionNamed(r.Header)
	st.stripped = g.owned.strip(r.Header)
}

// decide runs the policies (responder, authorization, rewrite) into res and
// answers a responder's or a denial itself. It reports whether the request
// goes on to the upstream.
func (p *Proxy) decide(w http.ResponseWriter, r *http.Request, g *routing, up *upstream, st *reqState, res *adc.Result) bool {
	if g.policy == nil {
		st.decision = audit.DecisionAllow
		return true
	}
	areq := &st.areq
	*areq = adc.Request{HTTP: r, ClientIP: clientIP(r), User: st.id.adcUser, Upstream: up.Name}
	if n := g.policy.NeedsBody(); n > 0 && r.Body != nil && r.Body != http.NoBody {
		areq.Body = peekBody(r, n)
	}
	g.policy.Evaluate(areq, res)
	st.policy = res.Policy
	if p.detail && len(res.Trace) > 0 {
		st.trace = audit.PolicyResults(res.Trace)
	}
	st.messages = audit.PolicyMessages(res.Messages)
	switch {
	case res.Response != nil:
		st.decision = audit.DecisionRespond
		p.respond(w, r, res.Response)
		return false
	case !res.Allowed:
		p.deny(w, r, st)
		return false
	}
	st.decision = audit.DecisionAllow
	return true
}

// deny answers 403 naming the policy that denied, or the default action.
func (p *Proxy) deny(w http.ResponseWriter, r *http.Request, st *reqState) {
	st.decision = audit.DecisionDeny
	st.message = "denied by the default authorization action"
	if st.policy != "" {
		st.message = fmt.Sprintf("denied by policy %q", st.policy)
	}
	c := st.id
	p.errorPage(w, r, http.StatusForbidden, "Forbidden",
		fmt.Sprintf("%s (%s in %s) may not %s %s.", c.user, cmp.Or(c.persona, c.via), c.env, r.Method, r.URL.Path), st.message)
}

// inject drops the proxy's cookies and adds its headers: the policies'
// rewrites (or the default identity headers without a policy engine) and
// the signed assertion. It reports whether the request goes on.
func (p *Proxy) inject(w http.ResponseWriter, r *http.Request, g *routing, up *upstream, st *reqState, res *adc.Result) bool {
	dropOwnedCookies(r.Header)
	if g.policy == nil {
		defaultHeaders(r.Header, st.id)
	} else {
		applyHeaderOps(r.Header, res.Headers)
		if res.URL != "" {
			rewriteURL(r, res.URL)
		}
		if p.detail {
			st.injected = insertedHeaders(res.Headers)
		}
	}
	sa, err := p.assertions.get(st.id, up.Name, st.start)
	if err != nil {
		p.errorPage(w, r, http.StatusInternalServerError, "Internal error", "The proxy could not sign the identity assertion.", err.Error())
		return false
	}
	st.assertion = sa
	r.Header[identity.Header] = sa.header
	return true
}

// insertedHeaders are the headers the policies insert, for the audit trail.
func insertedHeaders(ops []adc.HeaderOp) map[string]string {
	out := make(map[string]string, len(ops))
	for _, op := range ops {
		if op.Op == "insert" {
			out[op.Name] = op.Value
		}
	}
	return out
}

// forwardTo sends the request to the upstream: on the direct path when the
// connection pool carries it, through ReverseProxy otherwise.
func (p *Proxy) forwardTo(w http.ResponseWriter, r *http.Request, up *upstream, st *reqState) {
	if up.direct(r) {
		up.forward(w, r, st)
		return
	}
	up.proxy.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), stateKey{}, st)))
}

// audit emits the request's event and returns its state to the pool,
// keeping no request alive there.
func (p *Proxy) audit(r *http.Request, st *reqState) {
	p.requestEvent(r, st, st.sw.status)
	*st = reqState{}
	p.states.Put(st)
}
