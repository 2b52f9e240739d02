package cli

import (
	"context"
	"errors"
	"io"

	"github.com/charmbracelet/x/term"

	"github.com/authdev/authdev/internal/stack"
	"github.com/authdev/authdev/tui"
)

// errNoTUI tells `authdev up` that the terminal UI cannot run; it then logs
// the audit trail to stderr as with --no-tui.
var errNoTUI = errors.New("no terminal UI")

// runTUI runs the terminal UI on s until the user quits or ctx ends; `up`
// calls it only when stdout is a terminal and --no-tui is not given, and
// stops the stack when it returns.
func runTUI(ctx context.Context, ios *IO, s tui.Stack) error {
	// Keys come from stdin when it is the terminal; otherwise bubbletea
	// opens the controlling terminal itself.
	var in io.Reader
	if ios.InFile != nil && term.IsTerminal(ios.InFile.Fd()) {
		in = ios.InFile
	}
	return tui.Run(ctx, s, tui.Options{Input: in, Output: ios.Out})
}

// tuiStack shows a running stack to the terminal UI. The translation into
// the TUI's types lives here, with the caller of both, so that the stack
// (and `authdev test`, which runs one) never links the TUI.
type tuiStack struct {
	*stack.Stack
	coverage *coverageLine
}

var _ tui.Stack = tuiStack{}

func newTUIStack(s *stack.Stack) tuiStack { return tuiStack{Stack: s, coverage: &coverageLine{}} }

// Info is the header: where everything listens and how each upstream
// target is doing.
func (s tuiStack) Info() tui.Info {
	info := tui.Info{ProxyURL: s.ProxyURL(), StateStore: s.StateStore(), ConfigFile: s.ConfigFile(), Coverage: s.coverage.get(s.Stack)}
	if idp := s.IdP(); idp != nil {
		info.IdPURL = idp.BaseURL()
	}
	for _, u := range s.DevProxy().Upstreams() {
		for _, t := range u.Targets {
			name := u.Name
			if len(u.Targets) > 1 {
				name = u.Name + " " + t.URL
			}
			info.Upstreams = append(info.Upstreams, tui.Service{Name: name, URL: t.URL, Health: health(t.Checked, t.Healthy), Reason: t.Reason})
		}
	}
	return info
}

func health(checked, healthy bool) tui.Health {
	switch {
	case !checked:
		return tui.HealthUnknown
	case healthy:
		return tui.HealthUp
	}
	return tui.HealthDown
}

// Personas are the config's personas as env sees them: their groups there
// and the roles the environment maps them to.
func (s tuiStack) Personas(env string) []tui.Persona {
	cfg := s.Config()
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
