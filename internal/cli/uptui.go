package cli

import (
	"context"
	"errors"
	"io"

	"github.com/charmbracelet/x/term"

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
