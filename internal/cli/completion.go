package cli

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/authdev/authdev/config"
)

// completionShells are the shells `authdev completion` writes scripts for.
var completionShells = []string{"bash", "zsh", "fish", "powershell"}

// configNames lists names from the config in use, with a description each,
// for shell completion.
type configNames func(cfg *config.Config) []cobra.Completion

// flagCompletions is which flags complete from the config, by flag name.
var flagCompletions = map[string]configNames{
	"as":     personaNames,
	"env":    environmentNames,
	"client": clientNames,
}

func personaNames(cfg *config.Config) []cobra.Completion {
	var out []cobra.Completion
	for _, p := range cfg.Personas {
		out = append(out, cobra.CompletionWithDesc(p.ID, p.Name))
	}
	return out
}

func environmentNames(cfg *config.Config) []cobra.Completion {
	var out []cobra.Completion
	for _, e := range cfg.Environments {
		out = append(out, cobra.CompletionWithDesc(e.Name, string(e.Flavor)))
	}
	return out
}

func clientNames(cfg *config.Config) []cobra.Completion {
	out := []cobra.Completion{cobra.CompletionWithDesc(config.CLIClientID, "built in")}
	for _, c := range cfg.IDP.Clients {
		out = append(out, c.ID)
	}
	return out
}

// completeFrom completes names of the config that --config (or its
// defaults) names; a config that does not load completes nothing rather
// than file names.
func completeFrom(f *Factory, names configNames, extra ...cobra.Completion) cobra.CompletionFunc {
	return func(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		cfg, err := f.Config()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []cobra.Completion
		for _, c := range append(names(cfg), extra...) {
			if strings.HasPrefix(c, toComplete) {
				out = append(out, c)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// onlyFirstArg completes a command's one argument with complete, and
// nothing once it is given.
func onlyFirstArg(complete cobra.CompletionFunc) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return complete(cmd, args, toComplete)
	}
}

// registerCompletions makes every --as, --env and --client of the tree
// complete from the config, and makes `authdev completion` refuse a shell
// it has no script for with a usage error.
func registerCompletions(root *cobra.Command, f *Factory) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for name, names := range flagCompletions {
			if c.Flags().Lookup(name) != nil {
				_ = c.RegisterFlagCompletionFunc(name, completeFrom(f, names))
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	root.InitDefaultCompletionCmd()
	if c, _, err := root.Find([]string{"completion"}); err == nil && c.Name() == "completion" {
		c.Args = func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageErrorf("name a shell: one of %s", strings.Join(completionShells, ", "))
			}
			return usageErrorf("no completion script for %q: use one of %s", args[0], strings.Join(completionShells, ", "))
		}
		c.RunE = func(*cobra.Command, []string) error { return nil }
	}
}
