package backendcheck

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"
)

// Verdict is how a case came out.
type Verdict string

// Verdicts: Fail and Error fail the run; Inconclusive says the route could
// not tell, not that the backend is wrong.
const (
	Pass         Verdict = "pass"
	Fail         Verdict = "FAIL"
	Inconclusive Verdict = "inconclusive"
	Error        Verdict = "error"
)

// Result is one case's outcome.
type Result struct {
	Case     string        `json:"case"`
	Forges   string        `json:"forges"`
	Expected string        `json:"expected"`
	Got      string        `json:"got"`
	Status   int           `json:"status,omitempty"`
	Verdict  Verdict       `json:"verdict"`
	Hint     string        `json:"hint,omitempty"`
	Duration time.Duration `json:"duration_ns"`
}

// nobody is a genuine identity with no groups and no roles.
var nobody = Persona{ID: "authdev-verify-nobody", Email: "nobody@authdev.invalid", Name: "Nobody", Groups: []string{}, Roles: []string{}}

type runner struct {
	t       *Target
	now     time.Time
	foreign *ecdsa.PrivateKey
	allowed Persona // the persona whose genuine assertion the backend accepted
	sleep   func(context.Context, time.Duration) error
}

// Run sends the genuine request and every forgery to t's backend, and
// returns one result per case, genuine first.
func Run(ctx context.Context, t *Target) ([]Result, error) {
	if len(t.Personas) == 0 {
		return nil, errors.New("no persona to make a genuine assertion for: add personas to authdev.yaml")
	}
	if t.Now == nil {
		t.Now = time.Now
	}
	foreign, err := newForeignKey()
	if err != nil {
		return nil, err
	}
	r := &runner{t: t, now: t.Now(), foreign: foreign, sleep: sleepCtx}
	genuine, ok := r.genuine(ctx)
	out := []Result{genuine}
	// The replay waits out the assertion's life and the backend's leeway:
	// it runs while the other cases do.
	replay := make(chan Result, 1)
	go func() { replay <- r.replay(ctx, ok) }()
	for _, f := range forgeries {
		out = append(out, r.forged(ctx, f))
	}
	out = append(out, r.disagree(ctx))
	out = append(out, <-replay)
	return out, ctx.Err()
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// genuine finds a persona whose genuine assertion (with the headers the
// proxy adds) the backend accepts, trying again for up to Target.Settle
// while it refuses them all.
func (r *runner) genuine(ctx context.Context) (Result, bool) {
	deadline := time.Now().Add(r.t.Settle)
	for {
		res, ok := r.tryGenuine(ctx)
		if ok || res.Verdict == Error || !time.Now().Before(deadline) {
			return res, ok
		}
		if err := r.sleep(ctx, time.Second); err != nil {
			return res, ok
		}
	}
}

func (r *runner) tryGenuine(ctx context.Context) (Result, bool) {
	start := time.Now()
	res := Result{Case: CaseGenuine, Forges: "nothing: the proxy's assertion and headers", Expected: "accepted (2xx/3xx)"}
	var tried []string
	r.allowed = r.t.Personas[0]
	for _, p := range r.t.Personas {
		tok, err := sign(r.t.Key, r.t.KeyID, r.t.claims(p, r.now))
		if err != nil {
			return r.errored(res, err, start), false
		}
		a, err := r.t.send(ctx, tok, r.t.IdentityHeaders(p))
		if err != nil {
			return r.errored(res, err, start), false
		}
		if a.accepted() {
			r.allowed = p
			res.Got, res.Status, res.Verdict, res.Duration = p.ID+": "+a.String(), a.status, Pass, time.Since(start)
			return res, true
		}
		tried = append(tried, p.ID+": "+a.String())
		res.Status = a.status
	}
	res.Got, res.Verdict, res.Duration = fmt.Sprint(tried), Fail, time.Since(start)
	res.Hint = fmt.Sprintf(hintGenuine, r.t.Issuer, r.t.Audience)
	return res, false
}

func (r *runner) errored(res Result, err error, start time.Time) Result {
	res.Got, res.Verdict, res.Duration = err.Error(), Error, time.Since(start)
	return res
}

// forged sends one forgery: refused is a pass, accepted a failure.
func (r *runner) forged(ctx context.Context, f forgery) Result {
	start := time.Now()
	res := Result{Case: f.name, Forges: f.forges, Expected: "refused (401/403)"}
	tok, h, err := f.build(r, r.t.claims(r.allowed, r.now))
	if err != nil {
		return r.errored(res, err, start)
	}
	return r.expectRefused(ctx, res, tok, h, f.hint, hintNeither, start)
}

// disagree sends a genuine assertion for a caller without roles together
// with the allowed persona's identity headers: the backend must answer as
// it answers that caller alone.
func (r *runner) disagree(ctx context.Context) Result {
	start := time.Now()
	res := Result{Case: CaseHeadersDisagree, Forges: "a genuine assertion for a caller without roles, with the headers of " + r.allowed.ID}
	p := nobody
	p.Env = r.allowed.Env
	tok, err := sign(r.t.Key, r.t.KeyID, r.t.claims(p, r.now))
	if err != nil {
		return r.errored(res, err, start)
	}
	alone, err := r.t.send(ctx, tok, nil)
	if err != nil {
		return r.errored(res, err, start)
	}
	res.Expected = "as without the headers: " + alone.String()
	mixed, err := r.t.send(ctx, tok, r.t.IdentityHeaders(r.allowed))
	if err != nil {
		return r.errored(res, err, start)
	}
	res.Got, res.Status, res.Duration = mixed.String(), mixed.status, time.Since(start)
	switch {
	case mixed.status != alone.status:
		res.Verdict, res.Hint = Fail, hintDisagree
	case alone.accepted():
		res.Verdict, res.Hint = Inconclusive, hintDisagreeRoute
	default:
		res.Verdict = Pass
	}
	return res
}

// replay sends a short-lived genuine assertion while it is valid, then
// again once it has expired beyond the backend's leeway.
func (r *runner) replay(ctx context.Context, genuineOK bool) Result {
	start := time.Now()
	res := Result{Case: CaseReplayExpired, Forges: "a genuine assertion sent again after it expired", Expected: "refused (401/403)"}
	c := r.t.claims(r.allowed, r.now)
	// exp has a precision of a second: two seconds from now, rounded down,
	// leaves at least one to be accepted in.
	exp := r.t.Now().Add(2 * time.Second).Truncate(time.Second)
	c.Expiry = jwt.NewNumericDate(exp)
	tok, err := sign(r.t.Key, r.t.KeyID, c)
	if err != nil {
		return r.errored(res, err, start)
	}
	first, err := r.t.send(ctx, tok, nil)
	if err != nil {
		return r.errored(res, err, start)
	}
	if !first.accepted() {
		res.Got, res.Status, res.Verdict, res.Duration = "refused while valid: "+first.String(), first.status, Inconclusive, time.Since(start)
		if genuineOK {
			res.Hint = hintReplayRefused
		}
		return res
	}
	if err := r.sleep(ctx, exp.Add(r.t.Leeway+time.Second).Sub(r.t.Now())); err != nil {
		return r.errored(res, err, start)
	}
	return r.expectRefused(ctx, res, tok, nil, hintReplay, "", start)
}

// expectRefused sends tok (with headers h) and judges the answer: refused
// is a pass, accepted a failure with hint, anything else an error with
// neither.
func (r *runner) expectRefused(ctx context.Context, res Result, tok string, h http.Header, hint, neither string, start time.Time) Result {
	a, err := r.t.send(ctx, tok, h)
	if err != nil {
		return r.errored(res, err, start)
	}
	res.Got, res.Status, res.Duration = a.String(), a.status, time.Since(start)
	switch {
	case a.refused():
		res.Verdict = Pass
	case a.accepted():
		res.Verdict, res.Hint = Fail, hint
	default:
		res.Verdict, res.Hint = Error, neither
	}
	return res
}
