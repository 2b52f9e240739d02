package stack

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/authdev/authdev/audit"
)

// Drill is a failure drill on the running stack.
type Drill string

// The drills. Each takes effect at once; those with a duration end by
// themselves (idp-down, jwks-down) or stay until set to 0 (skew-clock,
// token-lifetime).
const (
	DrillExpireSessions Drill = "expire-sessions" // every proxy session ends, as its timeout would
	DrillSkewClock      Drill = "skew-clock"      // the IdP's clock runs ahead (+) or behind (-)
	DrillRotateKeys     Drill = "rotate-keys"     // the IdP publishes and signs with new keys
	DrillIdPDown        Drill = "idp-down"        // the IdP drops every connection for a while
	DrillJWKSDown       Drill = "jwks-down"       // the IdP's JWKS endpoints drop connections for a while
	DrillTokenLifetime  Drill = "token-lifetime"  // tokens issued from now on live this long
	DrillReset          Drill = "reset"           // every drill off
)

// DrillRequest is the body of a drill on the control endpoint.
type DrillRequest struct {
	Drill Drill `json:"drill"`
	// Duration is a Go duration ("30s", "-5m"): the skew, how long the IdP
	// is down, or the token lifetime ("0" ends the drill).
	Duration string `json:"duration,omitempty"`
	// Env limits rotate-keys to one environment; default all.
	Env string `json:"env,omitempty"`
}

// DrillState is what is in effect after a drill.
type DrillState struct {
	Done          string     `json:"done"`
	ClockSkew     string     `json:"clock_skew"`
	TokenLifetime string     `json:"token_lifetime,omitempty"`
	IdPDownUntil  *time.Time `json:"idp_down_until,omitempty"`
	JWKSDownUntil *time.Time `json:"jwks_down_until,omitempty"`
}

// drillState is what the drills changed, read on every IdP request.
type drillState struct {
	skew          atomic.Int64 // time.Duration
	idpDownUntil  atomic.Int64 // unix nanoseconds
	jwksDownUntil atomic.Int64
	tokenLifetime atomic.Int64
}

// drillSpec is one drill: whether it takes a duration, and what it does.
type drillSpec struct {
	duration string // what the duration means; "" when it takes none
	idp      bool   // needs the mock IdP (not `authdev proxy`)
	run      func(s *Stack, d time.Duration, env string) (string, error)
}

var drills = map[Drill]drillSpec{
	DrillExpireSessions: {run: func(s *Stack, _ time.Duration, _ string) (string, error) {
		s.proxy.ExpireSessions()
		return "every proxy session has expired: browsers log in again", nil
	}},
	DrillSkewClock: {duration: "the skew, e.g. +5m or -90s (0 ends it)", idp: true, run: func(s *Stack, d time.Duration, _ string) (string, error) {
		s.drills.skew.Store(int64(d))
		return fmt.Sprintf("the IdP's clock is %s off", d), nil
	}},
	DrillRotateKeys: {idp: true, run: (*Stack).rotateKeys},
	DrillIdPDown: {duration: "how long, e.g. 30s", idp: true, run: func(s *Stack, d time.Duration, _ string) (string, error) {
		s.drills.idpDownUntil.Store(s.now().Add(d).UnixNano())
		return fmt.Sprintf("the IdP drops every connection for %s", d), nil
	}},
	DrillJWKSDown: {duration: "how long, e.g. 30s", idp: true, run: func(s *Stack, d time.Duration, _ string) (string, error) {
		s.drills.jwksDownUntil.Store(s.now().Add(d).UnixNano())
		return fmt.Sprintf("the IdP's JWKS endpoints drop every connection for %s", d), nil
	}},
	DrillTokenLifetime: {duration: "the lifetime, e.g. 30s (0: idp.token_ttl)", idp: true, run: func(s *Stack, d time.Duration, _ string) (string, error) {
		s.drills.tokenLifetime.Store(int64(d))
		s.idp.Load().SetTokenLifetime(d)
		if d == 0 {
			return "tokens issued from now on live idp.token_ttl again", nil
		}
		return fmt.Sprintf("tokens issued from now on live %s", d), nil
	}},
	DrillReset: {run: func(s *Stack, _ time.Duration, _ string) (string, error) {
		s.drills.skew.Store(0)
		s.drills.idpDownUntil.Store(0)
		s.drills.jwksDownUntil.Store(0)
		s.drills.tokenLifetime.Store(0)
		if idp := s.idp.Load(); idp != nil {
			idp.SetTokenLifetime(0)
		}
		return "every drill is off", nil
	}},
}

// DrillNames lists the drills, for help and errors.
func DrillNames() []string {
	var out []string
	for d := range drills {
		out = append(out, string(d))
	}
	slices.Sort(out)
	return out
}

// RunDrill runs a drill on the stack now.
func (s *Stack) RunDrill(req DrillRequest) (DrillState, error) {
	spec, ok := drills[req.Drill]
	if !ok {
		return DrillState{}, fmt.Errorf("no drill %q: use one of %s", req.Drill, strings.Join(DrillNames(), ", "))
	}
	if spec.idp && s.idp.Load() == nil {
		return DrillState{}, fmt.Errorf("drill %q acts on the mock IdP, and `authdev proxy` runs none: run it on `authdev up`", req.Drill)
	}
	var d time.Duration
	switch {
	case spec.duration != "" && req.Duration == "":
		return DrillState{}, fmt.Errorf("drill %q needs a duration: %s", req.Drill, spec.duration)
	case spec.duration != "":
		var err error
		if d, err = time.ParseDuration(req.Duration); err != nil {
			return DrillState{}, fmt.Errorf("drill %q: duration %q: write it like 30s, 5m or -90s", req.Drill, req.Duration)
		}
		if d < 0 && req.Drill != DrillSkewClock {
			return DrillState{}, fmt.Errorf("drill %q: duration %s: use 0 or more", req.Drill, d)
		}
	case req.Duration != "":
		return DrillState{}, fmt.Errorf("drill %q takes no duration", req.Drill)
	}
	done, err := spec.run(s, d, req.Env)
	if err != nil {
		return DrillState{}, err
	}
	s.publish(audit.Event{Kind: audit.KindNotice, Level: "warn", Message: "drill " + string(req.Drill) + ": " + done})
	st := s.DrillState()
	st.Done = done
	return st, nil
}

// DrillState is what the drills have changed now.
func (s *Stack) DrillState() DrillState {
	now := s.now()
	st := DrillState{ClockSkew: time.Duration(s.drills.skew.Load()).String()}
	if d := time.Duration(s.drills.tokenLifetime.Load()); d > 0 {
		st.TokenLifetime = d.String()
	}
	if t := time.Unix(0, s.drills.idpDownUntil.Load()); now.Before(t) {
		st.IdPDownUntil = &t
	}
	if t := time.Unix(0, s.drills.jwksDownUntil.Load()); now.Before(t) {
		st.JWKSDownUntil = &t
	}
	return st
}

func (s *Stack) rotateKeys(_ time.Duration, env string) (string, error) {
	cfg := s.cfg.Load()
	envs := cfg.EnvironmentNames()
	if env != "" {
		if !slices.Contains(envs, env) {
			return "", fmt.Errorf("no environment %q: use one of %s", env, strings.Join(envs, ", "))
		}
		envs = []string{env}
	}
	for _, e := range envs {
		if err := s.idp.Load().RotateKeys(e); err != nil {
			return "", err
		}
	}
	return "rotated the IdP's signing keys of " + strings.Join(envs, ", ") + ": the old ones stay published for the grace period", nil
}

// idpNow is the IdP's clock: the stack's, skewed by the drill.
func (s *Stack) idpNow() time.Time { return s.now().Add(time.Duration(s.drills.skew.Load())) }

// unreachable drops the connection of an IdP request while a drill makes
// the IdP (or its JWKS) unreachable, and reports whether it did. A
// dropped connection is what a client sees of a host that is down or
// firewalled, which an error status would not be.
func (s *Stack) unreachable(w http.ResponseWriter, r *http.Request) bool {
	now := s.now().UnixNano()
	down := now < s.drills.idpDownUntil.Load() || (now < s.drills.jwksDownUntil.Load() && s.isJWKS(r.URL.Path))
	if !down {
		return false
	}
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			conn.Close()
			return true
		}
	}
	http.Error(w, "unreachable: failure drill", http.StatusServiceUnavailable)
	return true
}

// isJWKS reports whether path is an environment's JWKS endpoint.
func (s *Stack) isJWKS(path string) bool {
	idp := s.idp.Load()
	for _, env := range s.cfg.Load().EnvironmentNames() {
		if u, err := url.Parse(idp.Endpoints(env).JWKS); err == nil && u.Path == path {
			return true
		}
	}
	return false
}
