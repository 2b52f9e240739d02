package stack

import (
	"errors"

	"github.com/authdev/authdev/audit"
	"github.com/authdev/authdev/devproxy"
	"github.com/authdev/authdev/mockidp"
)

// Environments lists the environments in config order.
func (s *Stack) Environments() []string { return s.proxy.Environments() }

// StateStore names where the keys live ("keyring", "file (...)").
func (s *Stack) StateStore() string { return s.store.Describe() }

// ConfigFile is the authdev.yaml the stack runs, "" for the built-in demo.
func (s *Stack) ConfigFile() string { return s.configFile }

// Active returns the active persona ("" when logins show the picker) and
// environment.
func (s *Stack) Active() (persona, env string) {
	a := s.proxy.Active()
	return a.Persona, a.Env
}

// Activate makes persona the active one; "" returns logins to the IdP's
// picker.
func (s *Stack) Activate(persona string) error {
	return s.switchTo(persona, s.proxy.Active().Env)
}

// SetEnvironment makes env the active environment.
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

// RotateKeys publishes a new signing key for env and says so in a notice.
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

// Token is an access token of persona in env the proxy accepts as a
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

// Subscribe delivers the stack's events until cancel.
func (s *Stack) Subscribe() (<-chan audit.Event, func()) { return s.broker.Subscribe(256) }
