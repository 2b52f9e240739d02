package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/pkg/browser"
	"github.com/spf13/cobra"

	"github.com/authdev/authdev/audit"
	"github.com/authdev/authdev/config"
	"github.com/authdev/authdev/internal/cfgwatch"
	"github.com/authdev/authdev/internal/stack"
	"github.com/authdev/authdev/tui"
)

// UpOptions are the inputs of `authdev up`.
type UpOptions struct {
	Deps
	ConfigFile func() string
	// LoadConfig reads the config file again when it changes; Getenv finds
	// the default audit log's folder.
	LoadConfig func(path string) (*config.Config, error)
	Getenv     func(string) string

	Env         string
	As          string
	NoTUI       bool
	Open        bool
	NoBrowser   bool
	Upstream    string
	AuditLog    string
	AllowRemote bool
	// ProxyListen and IdPListen replace the config's addresses (tests).
	ProxyListen string
	IdPListen   string
	// WatchInterval is how often the config file is looked at; default
	// one second.
	WatchInterval time.Duration

	// OpenBrowser opens a URL; RunTUI runs the terminal UI on the stack.
	OpenBrowser func(url string) error
	RunTUI      func(ctx context.Context, ios *IO, s tui.Stack) error
	// Ready is told the running stack (tests).
	Ready func(*stack.Stack)
}

// NewCmdUp builds `authdev up`.
func NewCmdUp(f *Factory, runF func(context.Context, *UpOptions) error) *cobra.Command {
	opts := &UpOptions{Deps: f.deps(), ConfigFile: f.ConfigFile,
		OpenBrowser: openBrowser(f.IO.ErrOut), RunTUI: runTUI, Getenv: f.Getenv,
		LoadConfig: func(path string) (*config.Config, error) {
			return config.Load(path, f.LoadOptions())
		}}
	cmd := longRunning(&cobra.Command{
		Use:   "up",
		Short: "Run the mock IdP and the ADC-emulating proxy (and the demo backend when there is no upstream)",
		Long: `Run the whole stack: the mock OIDC IdP, the ADC-emulating proxy in front of
your backend (proxy.upstreams, or --upstream), and without an upstream an
embedded demo backend that shows who you are.

The proxy serves HTTPS with a certificate of authdev's local CA (run
` + "`authdev ca trust`" + ` once). --as PERSONA makes browser logins silent logins of
that persona; ` + "`authdev as PERSONA`" + ` switches it while authdev up runs. Ctrl-C stops.

Edits to authdev.yaml (and its ns.conf) apply while authdev up runs: personas,
roles, policies, headers and upstreams at once; listen addresses, TLS and
timeouts after a restart. A file that does not load leaves the running
config alone and the error, with file:line, shows in the TUI and the log.

While the terminal UI runs, the audit trail goes to --audit-log, by default
$XDG_STATE_HOME/authdev/audit.log (~/.local/state/authdev/audit.log).`,
		Example: `  authdev up --as alice
  authdev up --no-tui --upstream http://127.0.0.1:8000 --audit-log audit.jsonl`,
	}, opts, runF, upRun)
	fl := cmd.Flags()
	fl.StringVar(&opts.Env, "env", "", "active environment (default the first in the config)")
	fl.StringVar(&opts.As, "as", "", "active persona: browser logins become silent logins of it")
	fl.BoolVar(&opts.NoTUI, "no-tui", false, "no terminal UI: log the audit trail as JSON lines to stderr")
	fl.BoolVar(&opts.Open, "open", false, "open the proxy URL in the browser")
	fl.BoolVar(&opts.NoBrowser, "no-browser", false, "never open a browser (wins over --open)")
	fl.StringVar(&opts.Upstream, "upstream", "", "backend to proxy to instead of proxy.upstreams: URL (upstream \"app\") or NAME=URL")
	fl.StringVar(&opts.AuditLog, "audit-log", "", "append the audit trail as JSON lines to this file (default with the TUI: $XDG_STATE_HOME/authdev/audit.log)")
	fl.BoolVar(&opts.AllowRemote, "allow-remote", false, "allow non-loopback listen addresses (anyone who reaches the IdP can log in)")
	return cmd
}

// openBrowser opens url with pkg/browser, its chatter sent to stderr so
// that stdout stays data only.
func openBrowser(errOut io.Writer) func(string) error {
	return func(url string) error {
		browser.Stdout, browser.Stderr = errOut, errOut
		return browser.OpenURL(url)
	}
}

func upRun(ctx context.Context, opts *UpOptions) error {
	var warnings []string
	cfg, store, err := opts.load(func(cfg *config.Config) (err error) {
		warnings, err = checkUpFlags(opts, cfg)
		return err
	})
	if err != nil {
		return err
	}
	tuiWanted := !opts.NoTUI && opts.IO.OutIsTerminal
	if !opts.NoTUI && !opts.IO.OutIsTerminal {
		fmt.Fprintln(opts.IO.ErrOut, "authdev up: stdout is not a terminal, so no TUI (the audit trail goes to stderr): run it in a terminal for the TUI, or pass --no-tui to say this is meant")
	}
	auditFile := opts.AuditLog
	if tuiWanted && auditFile == "" {
		// The TUI owns the screen: the trail goes to a file instead.
		if auditFile, err = defaultAuditLog(opts.Getenv); err != nil {
			return err
		}
	}
	sink, closeLog, err := auditSink(opts.IO.ErrOut, auditFile, !tuiWanted)
	if err != nil {
		return err
	}
	defer closeLog()
	s, err := stack.Up(stack.Options{Config: cfg, ConfigFile: opts.ConfigFile(), Store: store, Env: opts.Env,
		Persona: opts.As, Upstream: opts.Upstream, ProxyListen: opts.ProxyListen, IdPListen: opts.IdPListen,
		Events: sink, Detail: tuiWanted, Now: opts.Now})
	if err != nil {
		return err
	}
	if err := s.Start(); err != nil {
		return err
	}
	defer stopUp(opts.IO.ErrOut, s)
	for _, w := range warnings {
		fmt.Fprintln(opts.IO.ErrOut, "authdev up: WARNING: "+w)
	}
	configFile := opts.ConfigFile()
	if configFile != "" {
		stopWatch, err := watchConfig(ctx, opts, s, cfg, configFile)
		if err != nil {
			return err
		}
		defer stopWatch()
	}
	printUp(opts.IO.ErrOut, s, cfg, configFile, auditFile)
	if opts.Open && !opts.NoBrowser {
		if err := opts.OpenBrowser(s.ProxyURL() + "/"); err != nil {
			fmt.Fprintf(opts.IO.ErrOut, "authdev up: could not open a browser (%v): open %s/ yourself\n", err, s.ProxyURL())
		}
	}
	if opts.Ready != nil {
		opts.Ready(s)
	}
	if tuiWanted {
		return runTUIOrLog(ctx, opts, s)
	}
	<-ctx.Done()
	fmt.Fprintln(opts.IO.ErrOut, "authdev up: stopping")
	return nil
}

// checkUpFlags refuses an unknown --env or --as and a listen address off
// loopback without --allow-remote; it returns the warnings to print.
func checkUpFlags(opts *UpOptions, cfg *config.Config) ([]string, error) {
	if opts.Env != "" {
		if _, ok := cfg.Environment(opts.Env); !ok {
			return nil, &UsageError{Err: cfg.UnknownEnvironment(opts.Env)}
		}
	}
	if opts.As != "" {
		if _, ok := cfg.Persona(opts.As); !ok {
			return nil, &UsageError{Err: cfg.UnknownPersona(opts.As)}
		}
	}
	var warnings []string
	for _, l := range []struct{ what, addr string }{
		{"idp.listen", cmp.Or(opts.IdPListen, cfg.IDP.Listen)}, {"proxy.listen", cmp.Or(opts.ProxyListen, cfg.Proxy.Listen)},
	} {
		w, err := checkListen(l.what, l.addr, opts.AllowRemote)
		if err != nil {
			return nil, err
		}
		if w != "" {
			warnings = append(warnings, w)
		}
	}
	return warnings, nil
}

// stopUp shuts the stack down and says so, naming the environment and
// persona it was in at the end (switches included), as the start banner
// named those it began with.
func stopUp(errOut io.Writer, s *stack.Stack) {
	persona, env := s.Active()
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Shutdown(sctx); err != nil {
		fmt.Fprintf(errOut, "authdev up: shutdown: %v\n", err)
	}
	as := ""
	if persona != "" {
		as = " as " + persona
	}
	fmt.Fprintf(errOut, "authdev up: stopped (in %s%s)\n", env, as)
}

// runTUIOrLog runs the terminal UI until the user quits; a build without
// one logs the audit trail to stderr until ctx ends.
func runTUIOrLog(ctx context.Context, opts *UpOptions, s *stack.Stack) error {
	err := opts.RunTUI(ctx, opts.IO, newTUIStack(s))
	if !errors.Is(err, errNoTUI) {
		return err
	}
	fmt.Fprintln(opts.IO.ErrOut, "authdev up: no terminal UI in this build: logging the audit trail to stderr")
	events, cancel := s.Subscribe()
	log := audit.NewLog(opts.IO.ErrOut)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for e := range events {
			_ = log.Write(e)
		}
	}()
	<-ctx.Done()
	fmt.Fprintln(opts.IO.ErrOut, "authdev up: stopping")
	cancel()
	<-done
	_ = log.Close()
	return nil
}

// watchConfig applies edits of the config file, and of the ns.conf it
// names, to s until ctx ends or the returned stop is called. The built-in
// demo has no file to watch. The ns.conf watched is the one named at start.
func watchConfig(ctx context.Context, opts *UpOptions, s *stack.Stack, cfg *config.Config, file string) (stop func(), err error) {
	watchers := []cfgwatch.Options{{Path: file, Load: opts.LoadConfig, Apply: s.Reload, Notify: s.Notify}}
	if cfg.Proxy.ADCConfig != "" {
		nsconf := cfg.Resolve(cfg.Proxy.ADCConfig)
		watchers = append(watchers, cfgwatch.Options{Path: nsconf,
			// An edited ns.conf reloads the whole config, which loads it.
			Load:  func(string) (*config.Config, error) { return opts.LoadConfig(file) },
			Apply: s.Reload,
			Notify: func(e audit.Event) {
				// authdev.yaml did not change, so its diff says nothing.
				if e.Level == "info" {
					e.Message = "ns.conf reloaded: " + nsconf
				}
				s.Notify(e)
			}})
	}
	wctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, wo := range watchers {
		wo.Interval, wo.Now = opts.WatchInterval, opts.Now
		w, err := cfgwatch.New(cfg, wo)
		if err != nil {
			cancel()
			wg.Wait()
			return nil, err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.Run(wctx)
		}()
	}
	return func() { cancel(); wg.Wait() }, nil
}

// defaultAuditLog is the audit log of `authdev up` with the TUI and no
// --audit-log: audit.log in $AUTHDEV_STATE_DIR when set (everything of one
// isolated authdev together), else in $XDG_STATE_HOME/authdev, else in
// ~/.local/state/authdev (the XDG default). The folder is made 0700: the
// log names users.
func defaultAuditLog(getenv func(string) string) (string, error) {
	dir := getenv("AUTHDEV_STATE_DIR")
	if dir == "" {
		base := getenv("XDG_STATE_HOME")
		if base == "" {
			home := getenv("HOME")
			if home == "" {
				var err error
				if home, err = os.UserHomeDir(); err != nil {
					return "", fmt.Errorf("cannot find a folder for the audit log: pass --audit-log FILE or set XDG_STATE_HOME: %w", err)
				}
			}
			base = filepath.Join(home, ".local", "state")
		}
		dir = filepath.Join(base, "authdev")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("create the audit log folder %s: %w: pass --audit-log FILE", dir, err)
	}
	return filepath.Join(dir, "audit.log"), nil
}

// auditSink returns where events go besides the TUI: the --audit-log file
// (appended, 0600: it names users), and stderr when there is no TUI.
func auditSink(errOut io.Writer, file string, toStderr bool) (func(audit.Event), func(), error) {
	var logs []*audit.Log
	var f *os.File
	if file != "" {
		var err error
		if f, err = os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600); err != nil {
			return nil, nil, fmt.Errorf("--audit-log %s: %w", file, err)
		}
		logs = append(logs, audit.NewLog(f))
	}
	if toStderr {
		logs = append(logs, audit.NewLog(errOut))
	}
	closer := func() {
		for _, l := range logs {
			_ = l.Close()
		}
		if f != nil {
			f.Close()
		}
	}
	if len(logs) == 0 {
		return nil, closer, nil
	}
	return func(e audit.Event) {
		for _, l := range logs {
			_ = l.Write(e)
		}
	}, closer, nil
}

// printUp tells where everything is, in a fixed shape that scripts and
// the end-to-end tests read: "  proxy     URL" and so on, on stderr.
func printUp(w io.Writer, s *stack.Stack, cfg *config.Config, configFile, auditFile string) {
	persona, env := s.Active()
	fmt.Fprintln(w, "authdev up: ready")
	fmt.Fprintf(w, "  proxy     %s\n", s.ProxyURL())
	if idp := s.IdP(); idp != nil {
		fmt.Fprintf(w, "  idp       %s\n", idp.Issuer(env))
		for _, e := range cfg.Environments {
			fmt.Fprintf(w, "  issuer    %-10s %s  (%s)\n", e.Name, idp.Issuer(e.Name), e.Flavor)
		}
	}
	for _, u := range s.DevProxy().Upstreams() {
		for _, t := range u.Targets {
			fmt.Fprintf(w, "  upstream  %s %s -> %s\n", u.Name, u.Prefix, t.URL)
		}
	}
	fmt.Fprintf(w, "  env       %s (of %s)\n", env, strings.Join(cfg.EnvironmentNames(), ", "))
	if persona != "" {
		fmt.Fprintf(w, "  persona   %s (switch: authdev as PERSONA)\n", persona)
	} else {
		fmt.Fprintf(w, "  persona   (the IdP shows a picker; authdev as PERSONA makes logins silent)\n")
	}
	fmt.Fprintf(w, "  whoami    %s/.authdev/whoami\n", s.ProxyURL())
	if s.CA() != nil {
		fmt.Fprintf(w, "  tls       certificate from authdev's local CA: run `authdev ca trust` once so browsers accept it\n")
	}
	fmt.Fprintf(w, "  state     %s\n", s.StateStore())
	if configFile != "" {
		fmt.Fprintf(w, "  config    %s (edits apply while authdev up runs)\n", configFile)
	}
	if auditFile != "" {
		fmt.Fprintf(w, "  audit     %s\n", auditFile)
	}
	for _, warn := range s.Warnings() {
		fmt.Fprintf(w, "authdev up: ns.conf: %s\n", warn)
	}
}
