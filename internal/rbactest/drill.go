package rbactest

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/authdev/authdev/config"
	"github.com/authdev/authdev/internal/stack"
)

// Driller is a Target that runs failure drills on its stack.
type Driller interface {
	Drill(ctx context.Context, req stack.DrillRequest) error
}

// Drill implements Driller.
func (p *InProcess) Drill(_ context.Context, req stack.DrillRequest) error {
	_, err := p.s.RunDrill(req)
	return err
}

// Drill implements Driller, through the control endpoint.
func (r *Remote) Drill(ctx context.Context, req stack.DrillRequest) error {
	_, err := stack.RunDrillAt(ctx, r.url, r.token, r.roots, &req)
	return err
}

// splitDrills separates the cases idx of checks that name a drill.
func splitDrills(cases []Case, idx []int) (plain, drilled []int) {
	for _, i := range idx {
		if cases[i].Check.Drill != "" {
			drilled = append(drilled, i)
		} else {
			plain = append(plain, i)
		}
	}
	return plain, drilled
}

// idpDownFor is how long idp-down keeps the IdP down for one check; the
// drill is ended as soon as the check's request is answered.
const idpDownFor = time.Minute

// runDrill runs a check under its drill, with credentials of its own:
//
//   - expired-session: log in, expire every session, then send the request
//     as a browser does, following the redirects of a new login;
//   - rotated-keys: rotate the environment's IdP keys, then log in (or get
//     a token) and send the request;
//   - idp-down: log in (or get a token), make the IdP unreachable, send
//     the request, bring the IdP back.
func (r *runner) runDrill(ctx context.Context, c Case) Result {
	start := r.now()
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	d, ok := r.t.(Driller)
	if !ok {
		return r.failed(c, fmt.Errorf("drill %s: this proxy cannot run drills", c.Check.Drill), r.now().Sub(start))
	}
	r.forget(c)
	drill := func(req stack.DrillRequest) error {
		if err := d.Drill(ctx, req); err != nil {
			return fmt.Errorf("drill %s: %w", c.Check.Drill, err)
		}
		return nil
	}
	if c.Check.Drill == config.DrillRotatedKeys {
		if err := drill(stack.DrillRequest{Drill: stack.DrillRotateKeys, Env: c.Env}); err != nil {
			return r.failed(c, err, r.now().Sub(start))
		}
	}
	client, bearer, err := r.credentials(ctx, c)
	if err != nil {
		return r.failed(c, err, r.now().Sub(start))
	}
	switch c.Check.Drill {
	case config.DrillExpiredSession:
		err = drill(stack.DrillRequest{Drill: stack.DrillExpireSessions})
		// The browser follows the proxy to the IdP and back.
		client = &http.Client{Transport: client.Transport, Jar: client.Jar}
	case config.DrillIdPDown:
		err = drill(stack.DrillRequest{Drill: stack.DrillIdPDown, Duration: idpDownFor.String()})
		defer d.Drill(context.WithoutCancel(ctx), stack.DrillRequest{Drill: stack.DrillIdPDown, Duration: "0s"})
	}
	if err != nil {
		return r.failed(c, err, r.now().Sub(start))
	}
	r.forget(c)
	return r.send(ctx, c, client, bearer, start)
}

// forget drops the cached session and token of the case's persona: a drill
// makes its own, and leaves them unusable for other checks.
func (r *runner) forget(c Case) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.sessions, key{c.Persona, c.Env, c.Via})
	delete(r.tokens, key{c.Persona, c.Env, c.Via})
}
