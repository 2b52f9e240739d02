package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/authdev/authdev/config"
	"github.com/authdev/authdev/internal/state"
)

// Deps are what most commands take from the Factory: the IO, the lazily
// loaded config and state store, and the clock. Options structs embed it
// first, as their dependencies, before their flag values.
type Deps struct {
	IO     *IO
	Config func() (*config.Config, error)
	State  func() (state.Store, error)
	Now    func() time.Time
}

// deps are the Factory's dependencies for a command's Options; the clock
// is the system's unless the Factory has another.
func (f *Factory) deps() Deps {
	now := f.Now
	if now == nil {
		now = time.Now
	}
	return Deps{IO: f.IO, Config: f.Config, State: f.State, Now: now}
}

// load reads the config, lets check refuse bad flags against it, and only
// then opens the state store: bad usage is said before anything is opened.
func (d Deps) load(check func(*config.Config) error) (*config.Config, state.Store, error) {
	cfg, err := d.Config()
	if err != nil {
		return nil, nil, err
	}
	if err := check(cfg); err != nil {
		return nil, nil, err
	}
	store, err := d.State()
	if err != nil {
		return nil, nil, err
	}
	return cfg, store, nil
}

// runInterruptible runs a long-running command until Ctrl-C or SIGTERM:
// runF when a test captures the options, else the command's own run.
func runInterruptible[O any](cmd *cobra.Command, opts O, runF, run func(context.Context, O) error) error {
	ctx, stop := interruptible(cmd)
	defer stop()
	if runF != nil {
		return runF(ctx, opts)
	}
	return run(ctx, opts)
}

// group is a command that only holds its subcommands.
func group(use, short string, subs ...*cobra.Command) *cobra.Command {
	cmd := &cobra.Command{Use: use, Short: short}
	cmd.AddCommand(subs...)
	return cmd
}

// runWith calls runF when a test captures the options, else the
// command's own run.
func runWith[O any](opts O, runF, run func(O) error) error {
	if runF != nil {
		return runF(opts)
	}
	return run(opts)
}

// oneShot makes cmd a command without arguments that runs once.
func oneShot[O any](cmd *cobra.Command, opts O, runF, run func(O) error) *cobra.Command {
	cmd.Args = noArgs
	cmd.RunE = func(*cobra.Command, []string) error { return runWith(opts, runF, run) }
	return cmd
}

// longRunning makes cmd a command without arguments that runs until
// Ctrl-C or SIGTERM, as runInterruptible does.
func longRunning[O any](cmd *cobra.Command, opts O, runF, run func(context.Context, O) error) *cobra.Command {
	cmd.Args = noArgs
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		return runInterruptible(cmd, opts, runF, run)
	}
	return cmd
}

// listenAddr is the address of --listen, else the config's (named key),
// as checkListen allows it, with the warning to print.
func listenAddr(flag, fromConfig, key string, allowRemote bool) (addr, warning string, err error) {
	addr, what := flag, "--listen"
	if addr == "" {
		addr, what = fromConfig, key
	}
	warning, err = checkListen(what, addr, allowRemote)
	return addr, warning, err
}

// report is the result of a run of checks, as `authdev test` and
// `authdev verify-backend` print it.
type report interface {
	WriteText(io.Writer) error
	WriteJSON(io.Writer) error
	WriteJUnit(io.Writer) error
}

// ReportFlags choose how a report of checks is written: --json, --junit.
type ReportFlags struct {
	JSON  bool
	JUnit string
}

func (rf *ReportFlags) bind(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.BoolVar(&rf.JSON, "json", false, "print the results as JSON on stdout instead of the table")
	fl.StringVar(&rf.JUnit, "junit", "", "also write a JUnit XML report to this file")
}

// writeReport prints r to stdout, as JSON with --json, and writes its
// JUnit XML to the file of --junit.
func writeReport(ios *IO, cmd string, r report, rf ReportFlags) error {
	write := r.WriteText
	if rf.JSON {
		write = r.WriteJSON
	}
	if err := write(ios.Out); err != nil {
		return err
	}
	if rf.JUnit == "" {
		return nil
	}
	var buf bytes.Buffer
	if err := r.WriteJUnit(&buf); err != nil {
		return err
	}
	if err := writeFileAtomic(rf.JUnit, buf.Bytes()); err != nil {
		return fmt.Errorf("--junit %s: %w", rf.JUnit, err)
	}
	fmt.Fprintf(ios.ErrOut, "%s: JUnit report in %s\n", cmd, rf.JUnit)
	return nil
}
