package tui

import (
	"github.com/authdev/authdev/audit"
)

// Stack is all the TUI knows of the running authdev: the same small surface
// serves `authdev as` and could serve a web console. The implementation
// composes the IdP and the proxy; the TUI imports neither.
type Stack interface {
	// Info describes the running services for the header.
	Info() Info
	// Environments lists environment names in config order.
	Environments() []string
	// Personas lists personas in config order as seen in env.
	Personas(env string) []Persona
	// Active returns the active persona ("" when logins show the picker)
	// and environment.
	Active() (persona, env string)
	// Activate makes persona the active one: browser logins become silent
	// logins of that persona, and existing sessions switch at their next
	// request.
	Activate(persona string) error
	// SetEnvironment makes env the active environment.
	SetEnvironment(env string) error
	// RotateKeys publishes a new signing key for env.
	RotateKeys(env string) error
	// Drill runs the failure drill name (see DrillSequence) and says what
	// it did.
	Drill(name string) (string, error)
	// Token returns a fresh access token for persona in env.
	Token(persona, env string) (string, error)
	// Subscribe delivers events (requests, logins, notices) until cancel.
	Subscribe() (events <-chan audit.Event, cancel func())
}

// Info is what the header shows.
type Info struct {
	ProxyURL  string
	IdPURL    string
	Upstreams []Service
	// StateStore names where keys live ("keyring", "file (...)").
	StateStore string
	ConfigFile string
	// Coverage is the one-line route coverage of the checks ("" until
	// known, or without an OpenAPI document).
	Coverage string
}

// DrillSequence are the failure drills the drill key runs, one per press,
// in this order.
var DrillSequence = []string{"expire-sessions", "rotate-keys", "idp-down", "reset"}

// Service is an upstream target and its health.
type Service struct {
	Name   string
	URL    string
	Health Health
	Reason string // why it is down
}

// Health is what the proxy knows of a target.
type Health int

// A target is unknown until a health probe or a proxied request reaches
// it, so that the header never claims a backend works before anything has
// tried it.
const (
	HealthUnknown Health = iota
	HealthUp
	HealthDown
)

// Persona is a persona as seen in one environment.
type Persona struct {
	ID     string
	Name   string
	Email  string
	Groups []string
	Roles  []string
}
