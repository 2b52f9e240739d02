package cli

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/authdev/authdev/config"
)

// NewCmdConfig builds `authdev config` and its subcommands.
func NewCmdConfig(f *Factory) *cobra.Command {
	return group("config", "Check authdev.yaml and print its schema", NewCmdConfigValidate(f, nil), NewCmdConfigSchema(f, nil))
}

// ConfigValidateOptions are the inputs of `authdev config validate`.
type ConfigValidateOptions struct {
	IO *IO
	// Load returns the config as far as it decodes, with every problem.
	Load func() (*config.Config, config.Errors)
	// Compile checks what config cannot: policy expressions and ns.conf.
	Compile func(*config.Config) error
}

// NewCmdConfigValidate builds `authdev config validate`.
func NewCmdConfigValidate(f *Factory, runF func(*ConfigValidateOptions) error) *cobra.Command {
	opts := &ConfigValidateOptions{IO: f.IO, Compile: compileConfig,
		Load: func() (*config.Config, config.Errors) { return config.LoadAll(f.ConfigFile(), f.LoadOptions()) }}
	return oneShot(&cobra.Command{
		Use:   "validate",
		Short: "Check authdev.yaml; every problem is printed with file:line:col",
		Long: `Check authdev.yaml in one run: its keys and values, the names it refers to,
every policy and header expression, and the ns.conf of proxy.adc_config.
Every problem is printed as file:line:col, in file order; exit 2 when there
is any.`,
	}, opts, runF, configValidateRun)
}

func configValidateRun(opts *ConfigValidateOptions) error {
	cfg, problems := opts.Load()
	if cfg != nil {
		// Expressions and the ns.conf are checked even when the file has
		// other problems, so that one run names them all.
		var compiled config.Errors
		if err := opts.Compile(cfg); errors.As(err, &compiled) {
			for _, p := range compiled {
				p.Pos.File = cmp.Or(p.Pos.File, cfg.Source)
				problems = append(problems, p)
			}
		} else if err != nil {
			return err
		}
	}
	if len(problems) > 0 {
		return uniqueInFileOrder(problems)
	}
	fmt.Fprintf(opts.IO.ErrOut, "%s: ok (%s, %s, %s, %s)\n", cfg.Source, countOf(len(cfg.Personas), "persona", "personas"),
		countOf(len(cfg.Environments), "environment", "environments"), countOf(len(cfg.Proxy.Policies), "policy", "policies"),
		countOf(len(cfg.Checks), "check", "checks"))
	return nil
}

// uniqueInFileOrder sorts problems by file and position and drops a
// problem reported twice (by config and by the expression compiler).
func uniqueInFileOrder(problems config.Errors) config.Errors {
	slices.SortStableFunc(problems, func(a, b config.Problem) int {
		return cmp.Or(strings.Compare(a.Pos.File, b.Pos.File), cmp.Compare(a.Pos.Line, b.Pos.Line), cmp.Compare(a.Pos.Col, b.Pos.Col))
	})
	return slices.Compact(problems)
}

// ConfigSchemaOptions are the inputs of `authdev config schema`.
type ConfigSchemaOptions struct{ IO *IO }

// NewCmdConfigSchema builds `authdev config schema`.
func NewCmdConfigSchema(f *Factory, runF func(*ConfigSchemaOptions) error) *cobra.Command {
	opts := &ConfigSchemaOptions{IO: f.IO}
	return oneShot(&cobra.Command{
		Use:   "schema",
		Short: "Print the JSON Schema of authdev.yaml",
	}, opts, runF, configSchemaRun)
}

func configSchemaRun(opts *ConfigSchemaOptions) error {
	b, err := config.JSONSchema()
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(opts.IO.Out, string(b))
	return err
}
