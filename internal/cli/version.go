package cli

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"
)

// VersionOptions are the inputs of `authdev version`.
type VersionOptions struct {
	IO      *IO
	Version string
}

// NewCmdVersion builds `authdev version`.
func NewCmdVersion(f *Factory, runF func(*VersionOptions) error) *cobra.Command {
	opts := &VersionOptions{IO: f.IO}
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Version = resolveVersion(f.Version)
			return runWith(opts, runF, versionRun)
		},
	}
}

func versionRun(opts *VersionOptions) error {
	_, err := fmt.Fprintf(opts.IO.Out, "authdev %s (%s, %s/%s)\n", opts.Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return err
}
