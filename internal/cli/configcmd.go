package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/authdev/authdev/config"
)

// NewCmdConfig builds `authdev config` and its subcommands.
func NewCmdConfig(f *Factory) *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Check authdev.yaml and print its schema"}
	cmd.AddCommand(NewCmdConfigValidate(f, nil), NewCmdConfigSchema(f, nil))
	return cmd
}

// ConfigValidateOptions are the inputs of `authdev config validate`.
type ConfigValidateOptions struct {
	IO     *IO
	Config func() (*config.Config, error)
	// Compile checks what config cannot: policy expressions and ns.conf.
	Compile func(*config.Config) error
}

// NewCmdConfigValidate builds `authdev config validate`.
func NewCmdConfigValidate(f *Factory, runF func(*ConfigValidateOptions) error) *cobra.Command {
	opts := &ConfigValidateOptions{IO: f.IO, Config: f.Config, Compile: compileConfig}
	return &cobra.Command{
		Use:   "validate",
		Short: "Check authdev.yaml; every problem is printed with file:line:col",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(opts)
			}
			return configValidateRun(opts)
		},
	}
}

func configValidateRun(opts *ConfigValidateOptions) error {
	cfg, err := opts.Config()
	if err != nil {
		return err
	}
	if err := opts.Compile(cfg); err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.ErrOut, "%s: ok (%s, %s, %s, %s)\n", cfg.Source, countOf(len(cfg.Personas), "persona", "personas"),
		countOf(len(cfg.Environments), "environment", "environments"), countOf(len(cfg.Proxy.Policies), "policy", "policies"),
		countOf(len(cfg.Checks), "check", "checks"))
	return nil
}

// ConfigSchemaOptions are the inputs of `authdev config schema`.
type ConfigSchemaOptions struct{ IO *IO }

// NewCmdConfigSchema builds `authdev config schema`.
func NewCmdConfigSchema(f *Factory, runF func(*ConfigSchemaOptions) error) *cobra.Command {
	opts := &ConfigSchemaOptions{IO: f.IO}
	return &cobra.Command{
		Use:   "schema",
		Short: "Print the JSON Schema of authdev.yaml",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(opts)
			}
			b, err := config.JSONSchema()
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(opts.IO.Out, string(b))
			return err
		},
	}
}
