package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/authdev/authdev/internal/stack"
)

// drillStatus reads the drills in effect without running one.
const drillStatus = "status"

// DrillOptions are the inputs of `authdev drill`.
type DrillOptions struct {
	Deps

	Name     string
	Duration string
	Env      string
	ProxyURL string
	JSON     bool
}

// NewCmdDrill builds `authdev drill`.
func NewCmdDrill(f *Factory, runF func(context.Context, *DrillOptions) error) *cobra.Command {
	opts := &DrillOptions{Deps: f.deps()}
	cmd := &cobra.Command{
		Use:   "drill NAME [DURATION]",
		Short: "Run a failure drill on a running authdev up",
		Long: `Make the running ` + "`authdev up`" + ` fail the way production does, now:

  expire-sessions         every proxy session ends, as at its timeout: browsers log in again
  skew-clock DURATION     the IdP's clock runs ahead (+5m) or behind (-90s); 0 ends it
  rotate-keys             the IdP signs with new keys; the old ones stay published for the grace period
  idp-down DURATION       the IdP drops every connection for that long
  jwks-down DURATION      the IdP's JWKS endpoints drop every connection for that long
  token-lifetime DURATION tokens issued from now on live that long; 0 goes back to idp.token_ttl
  reset                   every drill off
  status                  what is in effect

Flags go before NAME (authdev drill --env prod rotate-keys), so that a
negative skew reads as a duration. It talks to the control endpoint of ` + "`authdev up`" + ` with the control token of the
state store (same --state). See docs/ci.md for what the real ADC and IdPs do
in each case.`,
		Example: `  authdev drill expire-sessions
  authdev drill skew-clock +5m
  authdev drill skew-clock -90s
  authdev drill idp-down 30s
  authdev drill --env prod rotate-keys`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 1 || len(args) > 2 {
				return usageErrorf("authdev drill takes NAME [DURATION]: one of %s", strings.Join(drillNames(), ", "))
			}
			return nil
		},
		ValidArgs: drillNames(),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Name = args[0]
			if len(args) == 2 {
				opts.Duration = args[1]
			}
			return runInterruptible(cmd, opts, runF, drillRun)
		},
	}
	// Flags come before NAME, so that a negative skew (-90s) is an
	// argument, not a flag.
	cmd.Flags().SetInterspersed(false)
	cmd.Flags().StringVar(&opts.Env, "env", "", "rotate-keys: only this environment's keys")
	cmd.Flags().StringVar(&opts.ProxyURL, "proxy", "", "the running proxy's URL (default the one authdev up recorded)")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print what is in effect as JSON")
	return cmd
}

func drillNames() []string { return append(stack.DrillNames(), drillStatus) }

func drillRun(ctx context.Context, opts *DrillOptions) error {
	if !slices.Contains(drillNames(), opts.Name) {
		return usageErrorf("no drill %q: use one of %s", opts.Name, strings.Join(drillNames(), ", "))
	}
	cfg, err := opts.Config()
	if err != nil {
		return err
	}
	c, err := opts.control(cfg, opts.ProxyURL)
	if err != nil {
		return err
	}
	var req *stack.DrillRequest
	if opts.Name != drillStatus {
		req = &stack.DrillRequest{Drill: stack.Drill(opts.Name), Duration: opts.Duration, Env: opts.Env}
	}
	st, err := stack.RunDrillAt(ctx, c.url, c.token, c.roots, req)
	if err != nil {
		return err
	}
	if st.Done != "" {
		fmt.Fprintf(opts.IO.ErrOut, "authdev drill: %s\n", st.Done)
	}
	if opts.JSON {
		enc := json.NewEncoder(opts.IO.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	fmt.Fprintln(opts.IO.Out, drillSummary(st))
	return nil
}

// drillSummary is what is in effect, on one line.
func drillSummary(st stack.DrillState) string {
	parts := []string{"clock skew " + st.ClockSkew}
	if st.TokenLifetime != "" {
		parts = append(parts, "token lifetime "+st.TokenLifetime)
	}
	if st.IdPDownUntil != nil {
		parts = append(parts, "IdP down until "+st.IdPDownUntil.Format(time.TimeOnly))
	}
	if st.JWKSDownUntil != nil {
		parts = append(parts, "JWKS down until "+st.JWKSDownUntil.Format(time.TimeOnly))
	}
	return strings.Join(parts, "; ")
}
