package tui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/pkg/browser"
)

// Options are the TUI's dependencies; the zero value runs on the process's
// terminal.
type Options struct {
	// Input is where keys come from; nil opens the terminal.
	Input io.Reader
	// Output is where frames go; nil is stdout.
	Output io.Writer
	// Environ is the environment the colour profile is read from (TERM,
	// NO_COLOR, COLORTERM); nil is the process's.
	Environ []string
	// OpenURL opens a URL in a browser; nil is pkg/browser.
	OpenURL func(url string) error
	// Now is the clock that ages status messages.
	Now func() time.Time
	// Width and Height fix the initial size (tests); zero asks the terminal.
	Width, Height int
	// ProgramOptions are passed to bubbletea last (tests fix the colour
	// profile with tea.WithColorProfile).
	ProgramOptions []tea.ProgramOption
}

func (o Options) withDefaults() Options {
	if o.OpenURL == nil {
		o.OpenURL = openBrowser
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// openBrowser is pkg/browser with the opener's own chatter kept off the
// screen the TUI draws on.
func openBrowser(url string) error {
	// pkg/browser sends the opener's output to its package-level writers,
	// which default to the terminal; only the TUI opens browsers while it
	// runs.
	browser.Stdout, browser.Stderr = io.Discard, io.Discard
	return browser.OpenURL(url)
}

// Run shows the TUI for stack until the user quits or ctx ends, then
// restores the terminal and returns. It does not stop the stack: the
// caller, which started it, does.
func Run(ctx context.Context, stack Stack, opts Options) error {
	m := New(stack, opts)
	defer m.Close()
	// The caller's cancellation quits like q does, rather than killing the
	// program, so the terminal is restored and the input reader ends
	// before Run returns.
	var popts []tea.ProgramOption
	if opts.Input != nil {
		popts = append(popts, tea.WithInput(opts.Input))
	}
	if opts.Output != nil {
		popts = append(popts, tea.WithOutput(opts.Output))
	}
	if opts.Environ != nil {
		popts = append(popts, tea.WithEnvironment(opts.Environ))
	}
	if opts.Width > 0 && opts.Height > 0 {
		popts = append(popts, tea.WithWindowSize(opts.Width, opts.Height))
	}
	popts = append(popts, opts.ProgramOptions...)
	p := tea.NewProgram(m, popts...)
	stop := context.AfterFunc(ctx, p.Quit)
	defer stop()
	_, err := p.Run()
	switch {
	case err == nil:
		return nil
	case errors.Is(err, tea.ErrInterrupted):
		// SIGINT while the input is not a terminal: the user meant quit.
		return nil
	}
	return fmt.Errorf("terminal UI: %w", err)
}
