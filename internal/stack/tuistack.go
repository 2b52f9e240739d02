package stack

import (
	"errors"

	"github.com/authdev/authdev/audit"
	"github.com/authdev/authdev/devproxy"
	"github.com/authdev/authdev/mockidp"
	"github.com/authdev/authdev/tui"
)

// Info implements tui.Stack.
func (s *Stack) Info() tui.Info {
	info := tui.Info{ProxyURL: s.proxy.URL(), StateStore: s.store.Describe(), ConfigFile: s.configFile}
	if idp := s.IdP(); idp != nil {
		info.IdPURL = idp.BaseURL()
	}
	for _, u := range s.proxy.Upstreams() {
		for _, t := range u.Targets {
			name := u.Name
			if len(u.Targets) > 1 {
				name = u.Name + " " + t.URL
			}
			info.Upstreams = append(info.Upstreams, tui.Service{Name: name, URL: t.URL, Healthy: t.Healthy, Reason: t.Reason})
		}
	}
	return info
}

// Environments implements tui.Stack.
func (s *Stack) Environments() []string { return s.proxy.Environments() }

// Personas implements tui.Stack.
func (s *Stack) Personas(env string) []tui.Persona {
	cfg := s.cfg.Load()
	e, ok := cfg.Environment(env)
	if !ok {
		return nil
	}
	var out []tui.Persona
	for _, p := range cfg.Personas {
		id, _ := cfg.IdentityIn(p.ID, env)
		out = append(out, tui.Persona{ID: p.ID, Name: id.Name, Email: id.Email, Groups: id.Groups, Roles: e.RolesFor(id.Groups)})
	}
	return out
}

// Active implements tui.Stack.
func (s *Stack) Active() (persona, env string) {
	a := s.proxy.Active()
	return a.Persona, a.Env
}

// Activate implements tui.Stack: "" returns logins to the IdP's picker.
func (s *Stack) Activate(persona string) error {
	return s.switchTo(persona, s.proxy.Active().Env)
}

// SetEnvironment implements tui.Stack.
func (s *Stack) SetEnvironment(env string) error {
	return s.switchTo(s.proxy.Active().Persona, env)
}

func (s *Stack) switchTo(persona, env string) error {
	if cfg := s.cfg.Load(); persona != "" && s.IdP() != nil {
		if _, ok := cfg.Persona(persona); !ok {
			return cfg.UnknownPersona(persona)
		}
	}
	return s.proxy.SetActive(devproxy.Active{Persona: persona, Env: env})
}

// RotateKeys implements tui.Stack.
func (s *Stack) RotateKeys(env string) error {
	idp := s.IdP()
	if idp == nil {
		return errors.New("this proxy runs without the mock IdP: rotate keys where the IdP runs (`authdev keys rotate`)")
	}
	if err := idp.RotateKeys(env); err != nil {
		return err
	}
	s.publish(audit.Event{Kind: audit.KindNotice, Level: "info", Env: env, Message: "signing keys of " + env + " rotated"})
	return nil
}

// Token implements tui.Stack: an access token the proxy accepts as a
// bearer token (the environment's audience).
func (s *Stack) Token(persona, env string) (string, error) {
	idp := s.IdP()
	if idp == nil {
		return "", errors.New("this proxy runs without the mock IdP: get tokens with `authdev token`")
	}
	ts, err := idp.Mint(persona, env, mockidp.MintOptions{})
	if err != nil {
		return "", err
	}
	return ts.AccessToken, nil
}

// Subscribe implements tui.Stack.
func (s *Stack) Subscribe() (<-chan audit.Event, func()) { return s.broker.Subscribe(256) }
