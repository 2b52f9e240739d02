package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/authdev/authdev/config"
	"github.com/authdev/authdev/internal/state"
)

// Main runs authdev with args and returns the exit code.
func Main(version string, args []string) int {
	return Run(NewFactory(version), args)
}

// Run executes the command line against f and maps the outcome to an exit
// code, printing the error (if any) once, to stderr.
func Run(f *Factory, args []string) int {
	root := NewRootCmd(f)
	root.SetArgs(args)
	err := root.Execute()
	if err != nil && strings.HasPrefix(err.Error(), "unknown command") {
		// cobra reports an unknown subcommand as a plain error.
		err = &UsageError{Err: err}
	}
	printError(f.IO, err)
	return exitCode(err)
}

// printError reports err once on stderr; config problems one per line, in
// the file:line:col form editors jump to.
func printError(io *IO, err error) {
	var silent *SilentError
	var cfg config.Errors
	switch {
	case err == nil, errors.As(err, &silent):
	case errors.As(err, &cfg):
		fmt.Fprintln(io.ErrOut, cfg.Error())
		noun := "problem"
		if len(cfg) > 1 {
			noun = "problems"
		}
		fmt.Fprintf(io.ErrOut, "authdev: %d config %s: fix and run again (`authdev config validate` checks the file)\n", len(cfg), noun)
	default:
		fmt.Fprintf(io.ErrOut, "authdev: %v\n", err)
	}
}

// NewRootCmd builds the command tree.
func NewRootCmd(f *Factory) *cobra.Command {
	root := &cobra.Command{
		Use:   "authdev",
		Short: "The Citrix ADC edge on your laptop: mock OIDC IdP, ADC-emulating proxy, RBAC tests",
		Long: `authdev runs a mock OIDC identity provider with personas, an ADC-emulating
proxy in front of your FastAPI or Go backend, a terminal UI to switch persona
and environment, and RBAC smoke tests for CI — from one binary.`,
		Version:       resolveVersion(f.Version),
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			switch f.StateBackend {
			case state.BackendAuto, state.BackendKeyring, state.BackendFile:
				return nil
			}
			return usageErrorf("--state %q: use keyring or file", f.StateBackend)
		},
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &UsageError{Err: err} })
	root.PersistentFlags().StringVar(&f.ConfigPath, "config", "", "config file (default $AUTHDEV_CONFIG, then ./authdev.yaml, then the built-in demo)")
	root.PersistentFlags().StringVar(&f.StateBackend, "state", "", "where keys and secrets live: keyring or file (default: keyring when one answers)")
	root.AddCommand(
		NewCmdVersion(f, nil),
		NewCmdInit(f, nil),
		NewCmdConfig(f),
		NewCmdMan(f, nil),
		NewCmdIdP(f, nil),
		NewCmdKeys(f),
		NewCmdADC(f),
		NewCmdUp(f, nil),
		NewCmdProxy(f, nil),
		NewCmdCA(f),
		NewCmdAs(f, nil),
		NewCmdToken(f, nil),
		NewCmdTest(f, nil),
		NewCmdVerifyBackend(f, nil),
		NewCmdDrill(f, nil),
	)
	// The streams are set before the completion command is made: it keeps
	// the writer it finds then.
	root.SetIn(f.IO.In)
	root.SetOut(f.IO.Out)
	root.SetErr(f.IO.ErrOut)
	registerCompletions(root, f)
	return root
}

// resolveVersion prefers the ldflags-stamped version, then the module
// version recorded by `go install`.
func resolveVersion(stamped string) string {
	if stamped != "" && stamped != "dev" {
		return stamped
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// exactArgs is cobra.ExactArgs reporting a UsageError.
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := cobra.ExactArgs(n)(cmd, args); err != nil {
			return &UsageError{Err: err}
		}
		return nil
	}
}

// noArgs is cobra.NoArgs reporting a UsageError.
func noArgs(cmd *cobra.Command, args []string) error {
	if err := cobra.NoArgs(cmd, args); err != nil {
		return &UsageError{Err: err}
	}
	return nil
}

// interruptible is the context of a long-running command: it ends on
// Ctrl-C or SIGTERM, so servers shut down cleanly.
func interruptible(cmd *cobra.Command) (context.Context, context.CancelFunc) {
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	return signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
}
