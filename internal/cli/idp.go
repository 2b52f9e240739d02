package cli

import (
	"context"
	"crypto/rand"
	"fmt"
	"net"

	"github.com/spf13/cobra"

	"github.com/authdev/authdev/audit"
	"github.com/authdev/authdev/config"
	"github.com/authdev/authdev/internal/pki"
	"github.com/authdev/authdev/internal/stack"
	"github.com/authdev/authdev/mockidp"
)

// IdPOptions are the inputs of `authdev idp`.
type IdPOptions struct {
	Deps

	Listen      string
	AllowRemote bool

	// Ready is told the server once it serves; tests use it to find the port.
	Ready func(*mockidp.Server)
}

// NewCmdIdP builds `authdev idp`.
func NewCmdIdP(f *Factory, runF func(context.Context, *IdPOptions) error) *cobra.Command {
	opts := &IdPOptions{Deps: f.deps()}
	cmd := longRunning(&cobra.Command{
		Use:   "idp",
		Short: "Run the mock OIDC identity provider alone (for CI and other proxies)",
		Long: `Run the mock OIDC identity provider for the environments of authdev.yaml:
one issuer per environment at http://localhost:<port>/<env> (plus the path its
flavor's provider uses, e.g. /<env>/oauth2/default for okta; https with
idp.tls: true, from authdev's local CA), with discovery,
persona-picker login, every OAuth grant, JWKS, introspection and logout.

It logs anyone in, so it binds a loopback address unless --allow-remote.
Signing keys come from the state store; ` + "`authdev keys rotate`" + ` in another
terminal takes effect in a running IdP within two seconds.`,
	}, opts, runF, idpRun)
	cmd.Flags().StringVar(&opts.Listen, "listen", "", "host:port to listen on (default idp.listen, 127.0.0.1:9400)")
	cmd.Flags().BoolVar(&opts.AllowRemote, "allow-remote", false, "allow a non-loopback --listen address (anyone who reaches it can log in)")
	return cmd
}

func idpRun(ctx context.Context, opts *IdPOptions) error {
	var addr, warning string
	cfg, store, err := opts.load(func(cfg *config.Config) (err error) {
		addr, warning, err = listenAddr(opts.Listen, cfg.IDP.Listen, "idp.listen", opts.AllowRemote)
		return err
	})
	if err != nil {
		return err
	}
	log := audit.NewLog(opts.IO.ErrOut)
	defer log.Close()
	mo := mockidp.Options{Store: store, Now: opts.Now, Events: func(e audit.Event) { _ = log.Write(e) }}
	if cfg.IDP.TLS {
		ca, err := pki.LoadOrCreate(store, opts.Now, rand.Reader)
		if err != nil {
			return err
		}
		if mo.TLS, err = mockidp.TLSConfig(ca, opts.Now(), rand.Reader); err != nil {
			return err
		}
	}
	srv, err := mockidp.New(cfg, mo)
	if err != nil {
		return err
	}
	ln, err := stack.ListenLoopback("the IdP", addr, "--listen (or idp.listen)")
	if err != nil {
		return err
	}
	if err := srv.Start(ln); err != nil {
		ln.Close()
		return err
	}
	defer srv.Close()
	if warning != "" {
		fmt.Fprintln(opts.IO.ErrOut, "authdev idp: WARNING: "+warning)
	}
	scheme := "http"
	if cfg.IDP.TLS {
		scheme = "https"
	}
	fmt.Fprintf(opts.IO.ErrOut, "authdev idp: listening on %s://%s (keys in %s); issuers:\n", scheme, ln.Addr(), store.Describe())
	for _, e := range cfg.Environments {
		fmt.Fprintf(opts.IO.ErrOut, "  %-10s %s  (%s, %s)\n", e.Name, srv.Issuer(e.Name), e.Flavor, e.Alg)
	}
	fmt.Fprintf(opts.IO.ErrOut, "authdev idp: SAML metadata of each environment at %s\n", srv.SAMLEndpoints("<env>").Metadata)
	fmt.Fprintf(opts.IO.ErrOut, "authdev idp: built-in clients %q (secret in the state store) and %q (public, PKCE); Ctrl-C stops\n",
		config.ProxyClientID, config.CLIClientID)
	if opts.Ready != nil {
		opts.Ready(srv)
	}
	<-ctx.Done()
	fmt.Fprintln(opts.IO.ErrOut, "authdev idp: stopping")
	return nil
}

// checkListen allows a loopback address, or any address with allowRemote,
// in which case it returns a warning to print.
func checkListen(what, addr string, allowRemote bool) (warning string, err error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return "", usageErrorf("%s %q is not host:port: write it like 127.0.0.1:9400", what, addr)
	}
	ip := net.ParseIP(host)
	if host == "localhost" || ip != nil && ip.IsLoopback() {
		return "", nil
	}
	if !allowRemote {
		return "", usageErrorf("%s %q is not a loopback address, and a mock IdP logs anyone in: listen on 127.0.0.1, or pass --allow-remote to expose it on purpose", what, addr)
	}
	where := addr
	if host == "" {
		where = addr + " (every interface)"
	}
	return fmt.Sprintf("listening on %s, beyond this machine: anyone who reaches it can log in as any persona", where), nil
}
