package cli

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

// ManOptions are the inputs of the hidden `authdev man`.
type ManOptions struct {
	IO  *IO
	Dir string
	Cmd *cobra.Command
}

// NewCmdMan builds the hidden `authdev man DIR`, used by the release to
// ship man pages.
func NewCmdMan(f *Factory, runF func(*ManOptions) error) *cobra.Command {
	opts := &ManOptions{IO: f.IO}
	return &cobra.Command{
		Use:    "man DIR",
		Short:  "Write man pages into DIR",
		Hidden: true,
		Args:   exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Dir, opts.Cmd = args[0], cmd.Root()
			return runWith(opts, runF, manRun)
		},
	}
}

func manRun(opts *ManOptions) error {
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return err
	}
	opts.Cmd.DisableAutoGenTag = true
	header := &doc.GenManHeader{Title: "AUTHDEV", Section: "1", Source: "authdev"}
	if err := doc.GenManTree(opts.Cmd, header, opts.Dir); err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.ErrOut, "wrote man pages to %s\n", opts.Dir)
	return nil
}
