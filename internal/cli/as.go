package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/authdev/authdev/internal/stack"
)

// AsOptions are the inputs of `authdev as`.
type AsOptions struct {
	Deps

	Persona string
	Env     string
	// ProxyURL replaces the URL derived from the config (tests).
	ProxyURL string
}

// PickerPersona asks `authdev as` to go back to the IdP's persona picker.
const PickerPersona = "-"

// NewCmdAs builds `authdev as`.
func NewCmdAs(f *Factory, runF func(context.Context, *AsOptions) error) *cobra.Command {
	opts := &AsOptions{Deps: f.deps()}
	return opts.bindEnv(&cobra.Command{
		Use:   "as PERSONA",
		Short: "Switch the active persona of a running authdev up",
		Long: `Make PERSONA the active persona of the running ` + "`authdev up`" + ` (and --env the
active environment). Browser sessions of another persona are re-established
as PERSONA at their next request, without logging out. "-" goes back to the
IdP's persona picker.`,
		Example: `  authdev as bob
  authdev as alice --env prod`,
		Args:              exactArgs(1),
		ValidArgsFunction: onlyFirstArg(completeFrom(f, personaNames, cobra.CompletionWithDesc(PickerPersona, "the IdP's picker"))),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Persona = args[0]
			return runInterruptible(cmd, opts, runF, asRun)
		},
	})
}

func (o *AsOptions) bindEnv(cmd *cobra.Command) *cobra.Command {
	cmd.Flags().StringVar(&o.Env, "env", "", "also switch to this environment")
	return cmd
}

func asRun(ctx context.Context, opts *AsOptions) error {
	cfg, err := opts.Config()
	if err != nil {
		return err
	}
	persona := opts.Persona
	if persona == PickerPersona {
		persona = ""
	} else if _, ok := cfg.Persona(persona); !ok {
		return &UsageError{Err: cfg.UnknownPersona(persona)}
	}
	if opts.Env != "" {
		if _, ok := cfg.Environment(opts.Env); !ok {
			return &UsageError{Err: cfg.UnknownEnvironment(opts.Env)}
		}
	}
	c, err := opts.control(cfg, opts.ProxyURL)
	if err != nil {
		return err
	}
	got, err := stack.Switch(ctx, c.url, c.token, c.roots, stack.ActiveState{Persona: persona, Env: opts.Env})
	if err != nil {
		return err
	}
	who := got.Persona
	if who == "" {
		who = "(the IdP's picker)"
	}
	fmt.Fprintf(opts.IO.ErrOut, "authdev as: active persona %s in %s; browser sessions switch at their next request\n", who, got.Env)
	return nil
}
