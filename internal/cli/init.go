package cli

import (
	_ "embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/authdev/authdev/config"
)

//go:embed templates/authdev.yaml
var initTemplate string

// InitTemplate is the commented authdev.yaml that `authdev init` writes.
func InitTemplate() string {
	return strings.Replace(initTemplate, "{{SCHEMA}}", config.SchemaID, 1)
}

// InitOptions are the inputs of `authdev init`.
type InitOptions struct {
	IO    *IO
	Path  string
	Force bool
}

// NewCmdInit builds `authdev init`.
func NewCmdInit(f *Factory, runF func(*InitOptions) error) *cobra.Command {
	opts := &InitOptions{IO: f.IO}
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Write a commented authdev.yaml to start from",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Path = f.ConfigPath
			if opts.Path == "" {
				opts.Path = config.FileName
			}
			return runWith(opts, runF, initRun)
		},
	}
	cmd.Flags().BoolVar(&opts.Force, "force", false, "overwrite an existing file")
	return cmd
}

func initRun(opts *InitOptions) error {
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if opts.Force {
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	file, err := os.OpenFile(opts.Path, flags, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return usageErrorf("%s already exists: keep it, or pass --force to overwrite it", opts.Path)
	}
	if err != nil {
		return err
	}
	if _, err := file.WriteString(InitTemplate()); err != nil {
		file.Close()
		return err
	}
	if err := file.Close(); err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.ErrOut, "wrote %s: edit the upstream and personas, then run `authdev config validate` and `authdev up`\n", opts.Path)
	return nil
}
