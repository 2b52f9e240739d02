package cli

import (
	"cmp"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/crewjam/saml"
	"github.com/spf13/cobra"

	"github.com/authdev/authdev/adc"
	"github.com/authdev/authdev/config"
	"github.com/authdev/authdev/devproxy"
	"github.com/authdev/authdev/internal/flavor"
	"github.com/authdev/authdev/mockidp"
)

// NewCmdADC builds `authdev adc` and its subcommands.
func NewCmdADC(f *Factory) *cobra.Command {
	return group("adc", "Inspect the NetScaler policies and ns.conf the proxy runs", NewCmdADCCheck(f, nil), NewCmdADCExplain(f, nil))
}

// ADCCheckOptions are the inputs of `authdev adc check`.
type ADCCheckOptions struct {
	Deps

	Strict bool
}

// NewCmdADCCheck builds `authdev adc check`.
func NewCmdADCCheck(f *Factory, runF func(*ADCCheckOptions) error) *cobra.Command {
	opts := &ADCCheckOptions{Deps: f.deps()}
	cmd := oneShot(&cobra.Command{
		Use:   "check [--strict]",
		Short: "Print what authdev understood of the policies and ns.conf, and what it does not emulate",
		Long: `Compile the policies and headers of authdev.yaml and the ns.conf named by
proxy.adc_config, and print what was understood: vservers and the upstreams
they become, policies in evaluation order with where they are bound, actions,
rate limits, then every ns.conf line authdev does not emulate with its reason
(first those that can change how a request is decided) and a count of lines:
emulated, understood but not emulated, not emulated and able to change a
decision.

The ns.conf loads as the appliance boots it: a line authdev does not emulate
is a warning. Only a line the ADC itself would refuse (bad syntax, a
reference to nothing) is an error, with file:line:col (exit status 2).
With --strict, any line able to change a decision that authdev does not
emulate makes the exit status 1.`,
	}, opts, runF, adcCheckRun)
	cmd.Flags().BoolVar(&opts.Strict, "strict", false, "exit 1 when a line able to change a decision is not emulated")
	return cmd
}

// compile loads the config and compiles its policies and ns.conf.
func (d Deps) compile() (*config.Config, *adc.Engine, error) {
	cfg, err := d.Config()
	if err != nil {
		return nil, nil, err
	}
	e, err := adc.Compile(cfg)
	return cfg, e, err
}

func adcCheckRun(opts *ADCCheckOptions) error {
	_, e, err := opts.compile()
	if err != nil {
		return err
	}
	if err := e.WriteSummary(opts.IO.Out); err != nil {
		return err
	}
	if n := e.Lines().Decision; opts.Strict && n > 0 {
		verb := "are"
		if n == 1 {
			verb = "is"
		}
		fmt.Fprintf(opts.IO.ErrOut, "--strict: %s able to change a decision %s not emulated (listed above)\n", countOf(n, "line", "lines"), verb)
		return &SilentError{Code: ExitFailure}
	}
	return nil
}

// ADCExplainOptions are the inputs of `authdev adc explain`.
type ADCExplainOptions struct {
	Deps

	Persona  string
	Env      string
	Method   string
	Path     string
	Headers  []string
	ClientIP string
	Body     string
	VServer  string
	// Via is the login the identity comes from: oidc or saml; default the
	// environment's login.
	Via string
}

// NewCmdADCExplain builds `authdev adc explain`.
func NewCmdADCExplain(f *Factory, runF func(*ADCExplainOptions) error) *cobra.Command {
	opts := &ADCExplainOptions{Deps: f.deps()}
	cmd := &cobra.Command{
		Use:   "explain --as PERSONA [--env E] METHOD PATH [-H 'Name: value']",
		Short: "Show which policies decide a request, without a backend",
		Long: `Evaluate responder, authorization and rewrite policies against a request made
as a persona, the way the proxy would, and print every policy considered, its
result, the final decision and the headers the upstream would receive.
Nothing is sent anywhere: no IdP, proxy or backend needs to run.`,
		Example: `  authdev adc explain --as bob GET /admin/users
  authdev adc explain --as alice --env prod POST /orders -H 'Content-Type: application/json'`,
		Args: explainArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Method, opts.Path = args[0], args[1]
			return runWith(opts, runF, adcExplainRun)
		},
	}
	cmd.Flags().StringVar(&opts.Persona, "as", "", "persona making the request (required)")
	cmd.Flags().StringVar(&opts.Env, "env", "", "environment (default: the first in the config)")
	cmd.Flags().StringArrayVarP(&opts.Headers, "header", "H", nil, "request header 'Name: value' (repeatable)")
	cmd.Flags().StringVar(&opts.ClientIP, "client-ip", "127.0.0.1", "CLIENT.IP.SRC of the request")
	cmd.Flags().StringVarP(&opts.Body, "data", "d", "", "request body, for policies that read HTTP.REQ.BODY")
	cmd.Flags().StringVar(&opts.VServer, "vserver", "", "the cs vserver the request arrives at (default: the ns.conf's first SSL one)")
	cmd.Flags().StringVar(&opts.Via, "via", "", "the login the identity comes from: oidc or saml (default: the environment's login)")
	return cmd
}

// explainArgs says in words which of METHOD and PATH is missing.
func explainArgs(cmd *cobra.Command, args []string) error {
	switch len(args) {
	case 0:
		return usageErrorf("expected METHOD PATH, such as GET /admin/users")
	case 1:
		return usageErrorf("the path is missing: expected METHOD PATH, such as %s /admin/users", args[0])
	case 2:
		return nil
	}
	return usageErrorf("expected METHOD PATH, got %d arguments: quote a path with spaces", len(args))
}

// httpMethods are the methods a request can have; anything else is a typo.
var httpMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
	http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace}

func adcExplainRun(opts *ADCExplainOptions) error {
	if opts.Persona == "" {
		return usageErrorf("--as is required: name the persona making the request")
	}
	if err := checkMethod(opts.Method); err != nil {
		return err
	}
	target, err := url.ParseRequestURI(opts.Path)
	if err != nil || !strings.HasPrefix(opts.Path, "/") {
		return usageErrorf("path %q must start with /, such as /admin/users", opts.Path)
	}
	if canon := devproxy.CanonicalPath(target.EscapedPath()); canon != target.EscapedPath() {
		clean := canon
		if _, query, ok := strings.Cut(opts.Path, "?"); ok {
			clean += "?" + query
		}
		fmt.Fprintf(opts.IO.Out, "the proxy redirects %s to %s (308 Permanent Redirect) before any policy runs; the redirected request:\n\n", opts.Path, clean)
		opts.Path = clean
		target, _ = url.ParseRequestURI(clean)
	}
	ip, err := netip.ParseAddr(opts.ClientIP)
	if err != nil {
		return usageErrorf("--client-ip %q is not an IP address", opts.ClientIP)
	}
	cfg, e, err := opts.compile()
	if err != nil {
		return err
	}
	envName := opts.Env
	if envName == "" {
		envName = cfg.DefaultEnvironment()
	}
	env, ok := cfg.Environment(envName)
	if !ok {
		return &UsageError{Err: cfg.UnknownEnvironment(envName)}
	}
	id, ok := cfg.IdentityIn(opts.Persona, envName)
	if !ok {
		return &UsageError{Err: cfg.UnknownPersona(opts.Persona)}
	}

	r, err := explainHTTPRequest(opts, target, ip)
	if err != nil {
		return err
	}
	if err := checkVServer(e, opts.VServer); err != nil {
		return err
	}
	settings := e.Settings()
	req := &adc.Request{HTTP: r, ClientIP: ip, Upstream: routeUpstream(cfg, settings, r.URL.Path), VServer: opts.VServer}
	login, err := explainLogin(opts.Via, env, settings, req)
	if err != nil {
		return err
	}
	user, samlAttrs := explainUser(id, env, settings), []saml.Attribute(nil)
	if login.via == config.LoginSAML {
		user, samlAttrs = explainSAMLUser(id, env, settings, login.action)
	}
	req.User = user
	if n := e.NeedsBody(); n > 0 {
		req.Body = []byte(opts.Body)
	}
	var res adc.Result
	e.Evaluate(req, &res)
	return writeExplain(opts.IO.Out, opts, id, user, samlAttrs, login, req, &res, settings)
}

// explainedLogin is the login a request's identity comes from: via, and
// for an ns.conf's samlActions which one and why (steps of its nFactor
// flow).
type explainedLogin struct {
	via     string
	action  *adc.SAMLAction
	steps   []string
	refused bool
}

// explainLogin is the login the proxy would start for req, or via when
// given. The default is the proxy's: SAML under an ns.conf samlAction,
// with the samlAction its nFactor flow picks for req (none: OIDC stands
// for the factors it reaches), else the environment's login.
func explainLogin(via string, env *config.Environment, s adc.Settings, req *adc.Request) (explainedLogin, error) {
	l := explainedLogin{via: env.Login}
	if len(s.Authn.SAML) > 0 {
		l.via, l.action = config.LoginSAML, &s.Authn.SAML[0]
		if f := s.Authn.Flow; f != nil {
			ch := f.SAML(req)
			l.action, l.steps, l.refused = ch.Action, ch.Steps, ch.Refused
			if ch.Action == nil {
				l.via = config.LoginOIDC
			}
		}
	}
	switch l.via = cmp.Or(via, l.via); l.via {
	case config.LoginSAML, config.LoginOIDC:
		return l, nil
	}
	return l, usageErrorf("--via %q is not one of %s", via, strings.Join(config.Logins, ", "))
}

// explainSAMLUser builds AAA.USER as the proxy would from the persona's
// SAML assertion: the attributes the IdP sends (named by the flavor), read
// back as the proxy's ACS reads them, the name from the -samlUserField of
// action (the samlAction of the login; nil for none), the groups from its
// -groupNameField and -defaultAuthenticationGroup and ATTRIBUTE(n)
// numbered by its -attribute1..16.
func explainSAMLUser(id config.Identity, env *config.Environment, s adc.Settings, action *adc.SAMLAction) (*adc.User, []saml.Attribute) {
	attrs := mockidp.SAMLAttributes(env, id, config.SAMLServiceProvider{})
	a := &saml.Assertion{
		Subject:             &saml.Subject{NameID: &saml.NameID{Format: string(saml.EmailAddressNameIDFormat), Value: id.Email}},
		AttributeStatements: []saml.AttributeStatement{{Attributes: attrs}},
	}
	spec := flavor.Of(env.Flavor)
	claims := devproxy.SAMLClaims(a, spec.SAML, spec.GroupsClaim)
	groups := id.Groups
	field, samlAction := "", ""
	if action != nil {
		field, samlAction = action.UserField, action.Name
		login := devproxy.SAMLLogin{GroupsField: action.GroupNameField, DefaultGroup: action.DefaultGroup}
		groups = login.Groups(a, groups)
	}
	roles := env.RolesFor(groups)
	claims["groups"], claims["roles"] = groups, roles
	name, _ := claims["email"].(string)
	if s.OAuth != nil {
		field = cmp.Or(field, s.OAuth.UserNameField)
	}
	if v, ok := claims[field].(string); ok && v != "" {
		name = v
	}
	return &adc.User{Name: name, Groups: groups, Roles: roles, Attributes: claims, SAMLAction: samlAction}, attrs
}

// checkMethod refuses a method HTTP does not have, and says so for one
// written in lower case.
func checkMethod(m string) error {
	if slices.Contains(httpMethods, strings.ToUpper(m)) && m != strings.ToUpper(m) {
		return usageErrorf("method %q must be upper-case, such as %s", m, strings.ToUpper(m))
	}
	if !slices.Contains(httpMethods, m) {
		return usageErrorf("method %q is not an HTTP method: use one of %s", m, strings.Join(httpMethods, ", "))
	}
	return nil
}

// explainHTTPRequest builds the request as the client would send it: the
// path and query as written, the client address and the -H headers.
func explainHTTPRequest(opts *ADCExplainOptions, target *url.URL, ip netip.Addr) (*http.Request, error) {
	r, err := http.NewRequest(opts.Method, "http://localhost"+opts.Path, strings.NewReader(opts.Body))
	if err != nil {
		return nil, usageErrorf("request %s %s: %v", opts.Method, opts.Path, err)
	}
	r.RequestURI = target.RequestURI()
	if target.RawQuery != "" || strings.HasSuffix(opts.Path, "?") {
		r.RequestURI = opts.Path
	}
	r.RemoteAddr = netip.AddrPortFrom(ip, 50000).String()
	for _, h := range opts.Headers {
		name, value, ok := strings.Cut(h, ":")
		if !ok || strings.TrimSpace(name) == "" {
			return nil, usageErrorf("header %q must be 'Name: value'", h)
		}
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if strings.EqualFold(name, "Host") {
			r.Host = value
			continue
		}
		r.Header.Add(name, value)
	}
	return r, nil
}

// checkVServer refuses a --vserver that names no cs vserver of the ns.conf.
func checkVServer(e *adc.Engine, name string) error {
	if name == "" {
		return nil
	}
	var names []string
	for _, v := range e.Info().VServers {
		if v.Type == "cs" {
			if v.Name == name {
				return nil
			}
			names = append(names, v.Name)
		}
	}
	if len(names) == 0 {
		return usageErrorf("--vserver %q: the ns.conf has no cs vserver", name)
	}
	return usageErrorf("--vserver %q: no such cs vserver; choose one of %s", name, strings.Join(names, ", "))
}

// explainUser builds AAA.USER as the proxy would from the persona's token:
// the name from the OAuth action's userNameField (email by default), every
// claim as an attribute, and the environment's roles.
func explainUser(id config.Identity, env *config.Environment, s adc.Settings) *adc.User {
	roles := env.RolesFor(id.Groups)
	attrs := map[string]any{}
	for k, v := range id.Claims {
		attrs[k] = v
	}
	attrs["email"] = id.Email
	attrs["name"] = id.Name
	attrs["sub"] = id.Persona
	attrs["groups"] = id.Groups
	attrs["roles"] = roles
	name := id.Email
	if s.OAuth != nil && s.OAuth.UserNameField != "" && s.OAuth.UserNameField != "email" {
		if v, ok := attrs[s.OAuth.UserNameField].(string); ok && v != "" {
			name = v
		}
	}
	return &adc.User{Name: name, Groups: id.Groups, Roles: roles, Attributes: attrs}
}

// routeUpstream picks the upstream by longest prefix, as the proxy does.
func routeUpstream(cfg *config.Config, s adc.Settings, path string) string {
	best, bestLen := "", -1
	seen := map[string]bool{}
	consider := func(u config.Upstream) {
		if seen[u.Name] {
			return
		}
		seen[u.Name] = true
		if strings.HasPrefix(path, u.Prefix) && len(u.Prefix) > bestLen {
			best, bestLen = u.Name, len(u.Prefix)
		}
	}
	for _, u := range cfg.Proxy.Upstreams {
		consider(u)
	}
	for _, u := range s.Upstreams {
		consider(u)
	}
	return best
}

func writeExplain(w io.Writer, opts *ADCExplainOptions, id config.Identity, user *adc.User, samlAttrs []saml.Attribute, login explainedLogin, req *adc.Request, res *adc.Result, s adc.Settings) error {
	ew := &errorWriter{w: w}
	ew.printf("%s %s as %s (AAA.USER.NAME %s) in %s\n", opts.Method, opts.Path, id.Persona, user.Name, id.Env)
	ew.printf("  groups: %s\n  roles:  %s\n", listOrNone(user.Groups), listOrNone(user.Roles))
	writeExplainedLogin(ew, login)
	if samlAttrs != nil {
		ew.printf("  SAML attributes (AAA.USER.ATTRIBUTE(\"name\")):\n")
		for _, a := range samlAttrs {
			vals := make([]string, len(a.Values))
			for i, v := range a.Values {
				vals[i] = v.Value
			}
			ew.printf("    %s = %s\n", a.Name, strings.Join(vals, ", "))
		}
	}
	if req.Upstream != "" {
		ew.printf("  upstream: %s\n", req.Upstream)
	}
	ew.printf("\n")
	if len(res.Trace) == 0 {
		ew.printf("no policies apply\n")
	} else {
		tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "KIND\tPRIORITY\tPOLICY\tRESULT\tACTION\tRULE\n")
		for _, p := range res.Trace {
			prio := "-"
			if p.Priority > 0 {
				prio = strconv.Itoa(p.Priority)
			}
			result := "no match"
			switch {
			case p.Error != "":
				result = "UNDEF: " + p.Error
			case p.Matched:
				result = "MATCH"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", p.Kind, prio, p.Name, result, p.Action, p.Rule)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	ew.printf("\ndecision: %s\n", decision(res, s))
	if res.Target != "" {
		ew.printf("content switching: lb vserver %s serves it\n", res.Target)
	}
	for _, m := range res.Messages {
		ew.printf("audit message (%s, policy %s): %s\n", m.Level, m.Policy, m.Text)
	}
	if res.Response == nil && res.Allowed {
		if res.URL != "" {
			ew.printf("rewritten URL: %s\n", res.URL)
		}
		if len(res.Headers) > 0 {
			ew.printf("headers to the upstream:\n")
			for _, h := range res.Headers {
				if h.Op == "delete" {
					ew.printf("  - %s (deleted)\n", h.Name)
					continue
				}
				ew.printf("  %s: %s\n", h.Name, h.Value)
			}
		}
	}
	return ew.err
}

// writeExplainedLogin says which samlAction a browser login would use,
// and the steps of the nFactor flow that chose it.
func writeExplainedLogin(ew *errorWriter, l explainedLogin) {
	switch {
	case l.via == config.LoginSAML && l.action != nil:
		ew.printf("  login: SAML, samlAction %s (%s:%d)\n", l.action.Name, filepath.Base(l.action.Pos.File), l.action.Pos.Line)
	case l.refused:
		ew.printf("  login: refused, as the ADC refuses it (the identity below is what --via %s would give)\n", l.via)
	case l.action != nil && len(l.steps) > 0:
		ew.printf("  login: %s (--via), though the ns.conf's login flow picks samlAction %s\n", strings.ToUpper(l.via), l.action.Name)
	case len(l.steps) > 0:
		ew.printf("  login: %s (the ns.conf's login flow reaches no samlAction)\n", strings.ToUpper(l.via))
	default:
		return
	}
	for _, st := range l.steps {
		ew.printf("    %s\n", st)
	}
}

func decision(res *adc.Result, s adc.Settings) string {
	if r := res.Response; r != nil {
		switch {
		case r.Drop:
			return fmt.Sprintf("DROP: the connection is closed without an answer (policy %s)", res.Policy)
		case r.Reset:
			return fmt.Sprintf("RESET: the connection is reset (policy %s)", res.Policy)
		}
		d := fmt.Sprintf("RESPOND %d %s (policy %s)", r.Status, http.StatusText(r.Status), res.Policy)
		if loc := r.Header.Get("Location"); loc != "" {
			d += " -> " + loc
		}
		return d
	}
	verdict := "DENY (403)"
	if res.Allowed {
		verdict = "ALLOW"
	}
	if res.Policy != "" {
		return verdict + " by policy " + res.Policy
	}
	return verdict + " by the default authorization action, from " + s.DefaultAuthorizationFrom
}

func listOrNone(xs []string) string {
	if len(xs) == 0 {
		return "(none)"
	}
	return strings.Join(xs, ", ")
}

// errorWriter keeps the first write error, so that a report can be printed
// line by line and checked once.
type errorWriter struct {
	w   io.Writer
	err error
}

func (e *errorWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

func (e *errorWriter) printf(format string, args ...any) { fmt.Fprintf(e, format, args...) }

// countOf is "1 policy" or "2 policies".
func countOf(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
