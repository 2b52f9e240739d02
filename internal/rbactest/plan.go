package rbactest

import (
	"fmt"
	"slices"

	"github.com/authdev/authdev/config"
)

// Case is one check in one environment.
type Case struct {
	// Index is the check's position in the config's checks list.
	Index   int
	Check   *config.Check
	Env     string
	Expect  string // "allow", "deny" or a status code
	Method  string
	Path    string
	Persona string
	Via     string // "session", "bearer" or "saml"
}

// Plan lists the cases of cfg's checks in the environments envs (every
// environment when empty), in check order, then environment order. A check
// runs in the environments it names (envs:), else those its expect map
// names, else all. A check that would run in an environment where it has
// no expectation is a config problem.
func Plan(cfg *config.Config, envs []string) ([]Case, error) {
	all := cfg.EnvironmentNames()
	for _, e := range envs {
		if !slices.Contains(all, e) {
			return nil, cfg.UnknownEnvironment(e)
		}
	}
	var errs config.Errors
	var out []Case
	for i := range cfg.Checks {
		ch := &cfg.Checks[i]
		method, path, err := config.ParseRequest(ch.Request)
		if err != nil {
			errs = append(errs, config.Problem{Pos: ch.Pos, Msg: fmt.Sprintf("check %q: %v", ch.Name, err)})
			continue
		}
		for _, env := range CheckEnvs(cfg, ch) {
			if len(envs) > 0 && !slices.Contains(envs, env) {
				continue
			}
			exp := ch.Expect.For(env)
			if exp == "" {
				errs = append(errs, config.Problem{Pos: ch.Pos, Msg: fmt.Sprintf(
					"check %q runs in %q but its expect map has no %q: add `%s: allow` (or deny, or a status), or list the environments under envs:",
					ch.Name, env, env, env)})
				continue
			}
			out = append(out, Case{Index: i, Check: ch, Env: env, Expect: exp, Method: method, Path: path,
				Persona: ch.As, Via: ch.Via})
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return out, nil
}

// CheckEnvs are the environments ch runs in, in the config's order.
func CheckEnvs(cfg *config.Config, ch *config.Check) []string {
	var out []string
	for _, e := range cfg.EnvironmentNames() {
		switch {
		case len(ch.Envs) > 0:
			if slices.Contains(ch.Envs, e) {
				out = append(out, e)
			}
		case ch.Expect.All == "" && len(ch.Expect.PerEnv) > 0:
			if _, ok := ch.Expect.PerEnv[e]; ok {
				out = append(out, e)
			}
		default:
			out = append(out, e)
		}
	}
	return out
}
