package cli

import (
	"fmt"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/authdev/authdev/mockidp"
)

// NewCmdKeys builds `authdev keys` and its subcommands.
func NewCmdKeys(f *Factory) *cobra.Command {
	return group("keys", "Manage the IdP's signing keys", NewCmdKeysRotate(f, nil))
}

// KeysRotateOptions are the inputs of `authdev keys rotate`.
type KeysRotateOptions struct {
	Deps
	Env string
}

// NewCmdKeysRotate builds `authdev keys rotate`.
func NewCmdKeysRotate(f *Factory, runF func(*KeysRotateOptions) error) *cobra.Command {
	opts := &KeysRotateOptions{Deps: f.deps()}
	cmd := oneShot(&cobra.Command{
		Use:   "rotate",
		Short: "Publish new IdP signing keys (OIDC and SAML); the old ones verify for token TTL + 5 min",
		Long: `Publish new signing keys for every environment, or for --env only: the
OIDC key and the SAML key with its certificate. The previous keys stay in
the JWKS and the SAML metadata for a grace period (token TTL + 5 min), so
what they signed keeps verifying until it expires.

The keys live in the state store; a running ` + "`authdev idp`" + ` or ` + "`authdev up`" + `
re-reads them every two seconds, so the rotation reaches it without a restart.`,
	}, opts, runF, keysRotateRun)
	cmd.Flags().StringVar(&opts.Env, "env", "", "rotate only this environment's key")
	return cmd
}

func keysRotateRun(opts *KeysRotateOptions) error {
	cfg, err := opts.Config()
	if err != nil {
		return err
	}
	envs := cfg.EnvironmentNames()
	if opts.Env != "" {
		if !slices.Contains(envs, opts.Env) {
			return &UsageError{Err: cfg.UnknownEnvironment(opts.Env)}
		}
		envs = []string{opts.Env}
	}
	store, err := opts.State()
	if err != nil {
		return err
	}
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	for _, env := range envs {
		info, err := mockidp.RotateStoredKeys(store, cfg, env, now())
		if err != nil {
			return fmt.Errorf("rotate the keys of %q: %w", env, err)
		}
		saml, err := mockidp.RotateStoredSAMLKeys(store, cfg, env, now())
		if err != nil {
			return fmt.Errorf("rotate the SAML keys of %q: %w", env, err)
		}
		for _, k := range []struct {
			what string
			info mockidp.KeyInfo
		}{{info.Alg, info}, {"SAML " + saml.Alg, saml}} {
			fmt.Fprintf(opts.IO.ErrOut, "%s: new %s signing key %s\n", env, k.what, k.info.ActiveKID)
			for _, r := range k.info.Retired {
				fmt.Fprintf(opts.IO.ErrOut, "%s: key %s still verifies until %s\n", env, r.KID, r.Until.Local().Format("15:04:05 MST"))
			}
		}
	}
	fmt.Fprintf(opts.IO.ErrOut, "keys are in the %s state store; a running IdP picks them up within two seconds\n", store.Describe())
	return nil
}
