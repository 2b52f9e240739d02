package cli

import (
	"context"
	"errors"

	"github.com/authdev/authdev/tui"
)

// errNoTUI tells `authdev up` that this build runs no terminal UI; it then
// logs the audit trail to stderr as with --no-tui.
var errNoTUI = errors.New("no terminal UI")

// runTUI runs the terminal UI on s until the user quits or ctx ends; `up`
// calls it only when stdout is a terminal and --no-tui is not given. The
// TUI (package tui) plugs in here.
func runTUI(ctx context.Context, ios *IO, s tui.Stack) error {
	return errNoTUI
}
