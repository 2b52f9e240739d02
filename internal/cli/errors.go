package cli

import (
	"errors"
	"fmt"

	"github.com/authdev/authdev/config"
)

// Exit codes, the same for every command: scripts depend on them.
const (
	ExitOK      = 0
	ExitFailure = 1 // a runtime error, or checks that failed
	ExitUsage   = 2 // bad usage or a bad config
)

// UsageError is a mistake in how a command was called.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// usageErrorf builds a UsageError.
func usageErrorf(format string, args ...any) error {
	return &UsageError{Err: fmt.Errorf(format, args...)}
}

// SilentError exits with Code after the command has already told the user
// why (checks that failed print their own report).
type SilentError struct{ Code int }

func (e *SilentError) Error() string { return fmt.Sprintf("exit status %d", e.Code) }

// exitCode maps an error to the process exit code: the one place that does.
func exitCode(err error) int {
	var usage *UsageError
	var cfg config.Errors
	var silent *SilentError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &silent):
		return silent.Code
	case errors.As(err, &usage), errors.As(err, &cfg):
		return ExitUsage
	default:
		return ExitFailure
	}
}
