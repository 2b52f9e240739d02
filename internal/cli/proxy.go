package cli

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/authdev/authdev/config"
	"github.com/authdev/authdev/internal/stack"
)

// ProxyOptions are the inputs of `authdev proxy`.
type ProxyOptions struct {
	Deps

	Upstream     string
	Issuer       string
	ClientID     string
	ClientSecret string
	Audience     string
	Env          string
	Listen       string
	AuditLog     string
	AllowRemote  bool

	// Ready is told the running stack (tests).
	Ready func(*stack.Stack)
}

// NewCmdProxy builds `authdev proxy`.
func NewCmdProxy(f *Factory, runF func(context.Context, *ProxyOptions) error) *cobra.Command {
	opts := &ProxyOptions{Deps: f.deps()}
	cmd := longRunning(&cobra.Command{
		Use:   "proxy",
		Short: "Run the ADC-emulating proxy alone, in front of any OIDC issuer",
		Long: `Run the ADC-emulating proxy without the mock IdP: as a relying party of the
issuers of an ` + "`authdev idp`" + ` started with the same config and state store, or of
any OIDC issuer (--issuer, e.g. an Okta or Entra developer tenant; register
<proxy URL>/oauth/login as its redirect URI).

With an ns.conf (proxy.adc_config), its OAuth action's -issuer (or
-metadataUrl), -clientID, -clientSecret, -audience and -userNameField set the
relying party where flags do not; an ADC-encrypted secret cannot be used:
pass --client-secret or $AUTHDEV_CLIENT_SECRET.

The audit trail goes to stderr as JSON lines (and to --audit-log); the lines
of a burst of requests are written together, at most 20 ms late.`,
		Example: `  authdev proxy --upstream http://127.0.0.1:8000
  authdev proxy --issuer https://dev-123.okta.com/oauth2/default --client-id 0oa... \
    --client-secret "$OKTA_SECRET" --audience api://default --upstream http://127.0.0.1:8000`,
	}, opts, runF, proxyRun)
	fl := cmd.Flags()
	fl.StringVar(&opts.Upstream, "upstream", "", "backend to proxy to instead of proxy.upstreams: URL (upstream \"app\") or NAME=URL")
	fl.StringVar(&opts.Issuer, "issuer", "", "OIDC issuer URL (default: the mock IdP's issuers of the config)")
	fl.StringVar(&opts.ClientID, "client-id", "", "client ID at --issuer")
	fl.StringVar(&opts.ClientSecret, "client-secret", "", "client secret at --issuer (default $AUTHDEV_CLIENT_SECRET)")
	fl.StringVar(&opts.Audience, "audience", "", "audience bearer tokens from --issuer must carry (default the client ID)")
	fl.StringVar(&opts.Env, "env", "", "active environment of the config; with --issuer, the name shown for it")
	fl.StringVar(&opts.Listen, "listen", "", "host:port (default proxy.listen, 127.0.0.1:8443)")
	fl.StringVar(&opts.AuditLog, "audit-log", "", "append the audit trail as JSON lines to this file")
	fl.BoolVar(&opts.AllowRemote, "allow-remote", false, "allow a non-loopback --listen address")
	return cmd
}

func proxyRun(ctx context.Context, opts *ProxyOptions) error {
	var warning string
	var iss *stack.Issuer
	cfg, store, err := opts.load(func(cfg *config.Config) (err error) {
		if _, warning, err = listenAddr(opts.Listen, cfg.Proxy.Listen, "proxy.listen", opts.AllowRemote); err != nil {
			return err
		}
		iss, err = proxyIssuer(opts, cfg)
		return err
	})
	if err != nil {
		return err
	}
	sink, closeLog, err := auditSink(opts.IO.ErrOut, opts.AuditLog, true)
	if err != nil {
		return err
	}
	defer closeLog()
	sopts := stack.Options{Config: cfg, Store: store, Env: opts.Env, Upstream: opts.Upstream, ProxyListen: opts.Listen, Events: sink, Now: opts.Now}
	s, err := stack.Proxy(sopts, iss)
	if err != nil {
		return err
	}
	if err := s.Start(); err != nil {
		return err
	}
	if warning != "" {
		fmt.Fprintln(opts.IO.ErrOut, "authdev proxy: WARNING: "+warning)
	}
	_, env := s.Active()
	fmt.Fprintln(opts.IO.ErrOut, "authdev proxy: ready")
	fmt.Fprintf(opts.IO.ErrOut, "  proxy     %s\n", s.ProxyURL())
	for _, u := range s.DevProxy().Upstreams() {
		for _, t := range u.Targets {
			fmt.Fprintf(opts.IO.ErrOut, "  upstream  %s %s -> %s\n", u.Name, u.Prefix, t.URL)
		}
	}
	fmt.Fprintf(opts.IO.ErrOut, "  env       %s, callback %s/oauth/login\n", env, s.ProxyURL())
	for _, w := range s.Warnings() {
		fmt.Fprintf(opts.IO.ErrOut, "authdev proxy: ns.conf: %s\n", w)
	}
	if opts.Ready != nil {
		opts.Ready(s)
	}
	<-ctx.Done()
	fmt.Fprintln(opts.IO.ErrOut, "authdev proxy: stopping")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return s.Shutdown(sctx)
}

// proxyIssuer is the external issuer of --issuer and its flags, or of the
// ns.conf's OAuth action (the stack merges it under the flags); nil for
// the mock IdP's issuers of the config.
func proxyIssuer(opts *ProxyOptions, cfg *config.Config) (*stack.Issuer, error) {
	adcConfig := cfg.Proxy.ADCConfig != ""
	secret := cmp.Or(opts.ClientSecret, os.Getenv("AUTHDEV_CLIENT_SECRET"))
	switch {
	case opts.Issuer != "" || opts.ClientID != "" || opts.ClientSecret != "" || opts.Audience != "":
		if !adcConfig && opts.Issuer == "" {
			return nil, usageErrorf("--client-id, --client-secret and --audience go with --issuer (or with an OAuth action in the ns.conf of proxy.adc_config)")
		}
		if !adcConfig && opts.ClientID == "" {
			return nil, usageErrorf("--issuer needs --client-id (and --client-secret for a confidential client)")
		}
		return &stack.Issuer{URL: opts.Issuer, ClientID: opts.ClientID, ClientSecret: secret, Audience: opts.Audience, Env: opts.Env}, nil
	case adcConfig:
		// $AUTHDEV_CLIENT_SECRET for the OAuth action's client, whose
		// secret in an ns.conf is usually ADC-encrypted.
		return &stack.Issuer{ClientSecret: secret, Env: opts.Env}, nil
	case opts.Env != "":
		if _, ok := cfg.Environment(opts.Env); !ok {
			return nil, &UsageError{Err: cfg.UnknownEnvironment(opts.Env)}
		}
	}
	return nil, nil
}
