package adc

import (
	"cmp"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/authdev/authdev/config"
)

// nsconf is what an ns.conf defines, gathered before any expression is
// compiled: policies may name limit identifiers and actions defined later
// in the file.
type nsconf struct {
	file     string
	features []string
	aaaTM    bool

	servers  map[string]string
	groups   map[string]*serviceGroup
	services map[string]*service
	monitors map[string]*monitor
	vservers []*vserver
	authnVS  []*authnVServer

	oauth       []*OAuthAction
	authnPols   map[string]*nsPolicy
	authzPols   map[string]*nsPolicy
	rwPols      map[string]*nsPolicy
	respPols    map[string]*nsPolicy
	sessPols    map[string]*nsPolicy
	rwActs      map[string]*rewriteAction
	respActs    map[string]*responderAction
	sessActs    map[string]*sessionAction
	selectors   map[string]*selector
	sessParam   *sessionAction
	binds       []*nsBind
	policyOrder []*nsPolicy
	actionOrder []actionRef
}

type actionRef struct {
	kind, name string
}

type serviceGroup struct {
	name, proto string
	members     []member
	monitors    []backendRef
	pos         config.Pos
}

type member struct {
	host string
	port string
	pos  config.Pos
}

type service struct {
	name, host, proto, port string
	pos                     config.Pos
}

type monitor struct {
	name, typ string
	mon       config.Monitor
	pos       config.Pos
}

type vserver struct {
	name, proto, addr string
	lbMethod          string
	backends          []backendRef
	authn             bool
	authnHost         string
	authnVS           string
	api               bool
	pos               config.Pos
}

// backendRef is a service group or service bound to an lb vserver.
type backendRef struct {
	name string
	cmd  *command
	tok  ntok
}

type authnVServer struct {
	name, proto, addr string
	policies          []string
	pos               config.Pos
}

type selector struct {
	name  string
	exprs []exprSrc
	pos   config.Pos
}

// nsPolicy is a policy before its rule is compiled and its action found.
type nsPolicy struct {
	p      *policy
	src    exprSrc
	action ntok
	cmd    *command
	bound  bool
}

// nsBind is a bind command, resolved once every policy is known.
type nsBind struct {
	target   string // "lb vserver api", "aaa group admins", "responder global", ...
	where    string // the vserver, user or group name
	scope    string // "vserver", "user", "group", "global", "tm", "authn"
	kinds    []string
	policy   ntok
	priority int
	gotoExpr string
	typ      string
	cmd      *command
}

func (s *session) loadNSConf(path string) {
	data, err := os.ReadFile(path)
	if err != nil {
		where := config.Pos{File: s.cfg.Source}
		s.errs = append(s.errs, config.Problem{Pos: where, Msg: fmt.Sprintf("proxy.adc_config: cannot read %q: %v: fix the path (it is relative to %s)", path, unwrapPathErr(err), s.cfg.Source)})
		return
	}
	s.parseNSConf(path, data)
}

// parseNSConf gathers the commands of an ns.conf.
func (s *session) parseNSConf(path string, data []byte) {
	n := &nsconf{file: path, servers: map[string]string{}, groups: map[string]*serviceGroup{},
		services: map[string]*service{}, monitors: map[string]*monitor{},
		authnPols: map[string]*nsPolicy{}, authzPols: map[string]*nsPolicy{}, rwPols: map[string]*nsPolicy{},
		respPols: map[string]*nsPolicy{}, sessPols: map[string]*nsPolicy{},
		rwActs: map[string]*rewriteAction{}, respActs: map[string]*responderAction{},
		sessActs: map[string]*sessionAction{}, selectors: map[string]*selector{}}
	s.ns = n
	lines := strings.Split(string(data), "\n")
	s.files[path] = lines
	for i, line := range lines {
		pos := config.Pos{File: path, Line: i + 1, Col: 1}
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		toks, col, msg := tokenize(line)
		if msg != "" {
			s.fail(config.Pos{File: path, Line: i + 1, Col: col}, msg)
			continue
		}
		pos.Col = toks[0].col
		c, ok := parseCommand(toks, pos, line)
		if !ok {
			s.warn(pos, c.verbText(), fmt.Sprintf("%q is not supported by authdev: ignored", c.verbText()))
			continue
		}
		s.nsCommand(c)
	}
	s.chooseOAuth()
}

func unwrapPathErr(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

func (s *session) warn(pos config.Pos, cmd, msg string) {
	s.e.warnings = append(s.e.warnings, Warning{Pos: config.Pos{File: pos.File, Line: pos.Line}, Command: cmd, Msg: msg})
}

// failTok reports a problem at a word of a command.
func (s *session) failTok(c *command, t ntok, format string, args ...any) {
	s.fail(config.Pos{File: c.pos.File, Line: c.pos.Line, Col: t.col}, c.verbText()+": "+fmt.Sprintf(format, args...))
}

// failCmd reports a problem with a command as a whole, pointing after its
// last word (where the missing part belongs).
func (s *session) failCmd(c *command, format string, args ...any) {
	col := len(strings.TrimRight(c.line, " \t\r")) + 1
	s.fail(config.Pos{File: c.pos.File, Line: c.pos.Line, Col: col}, c.verbText()+": "+fmt.Sprintf(format, args...))
}

// needArgs checks the positional words; usage shows the command's form.
func (s *session) needArgs(c *command, n int, usage string) bool {
	if len(c.args) < n {
		s.failCmd(c, "expected %s", usage)
		return false
	}
	return true
}

// tokExpr locates an expression written as one ns.conf word.
func (s *session) tokExpr(c *command, t ntok) exprSrc {
	return exprSrc{text: t.text, pos: func(off int) config.Pos {
		col := t.col
		switch {
		case off < len(t.cols):
			col = t.cols[off]
		case len(t.cols) > 0:
			col = t.cols[len(t.cols)-1] + 1
		}
		return config.Pos{File: c.pos.File, Line: c.pos.Line, Col: col}
	}}
}

// finish warns about options of a supported command that authdev does not
// emulate, so that nothing is dropped silently.
func (s *session) finish(c *command, silent ...string) {
	var ignored []string
	for _, o := range c.opts {
		if !o.used && !slices.Contains(silent, o.name) {
			ignored = append(ignored, o.tok.text)
		}
	}
	if len(ignored) > 0 {
		s.warn(c.pos, c.verbText(), fmt.Sprintf("%s: %s not emulated: ignored", c.verbText(), plural2(ignored, "option")))
	}
}

func plural2(xs []string, word string) string {
	if len(xs) == 1 {
		return word + " " + xs[0] + " is"
	}
	return word + "s " + strings.Join(xs, ", ") + " are"
}

func (s *session) nsCommand(c *command) {
	n := s.ns
	switch c.key {
	case "enable ns feature":
		for _, a := range c.args {
			for _, f := range strings.Split(a.text, ",") {
				if f = strings.ToUpper(strings.TrimSpace(f)); f != "" && !slices.Contains(n.features, f) {
					n.features = append(n.features, f)
				}
			}
		}
		s.finish(c)
	case "add server":
		if s.needArgs(c, 2, "add server NAME ADDRESS") {
			n.servers[c.args[0].text] = c.args[1].text
		}
		s.finish(c, "comment", "state", "td")
	case "add servicegroup":
		s.addServiceGroup(c)
	case "bind servicegroup":
		s.bindServiceGroup(c)
	case "add service":
		s.addService(c)
	case "add lb monitor":
		s.addMonitor(c)
	case "add lb vserver":
		s.addVServer(c)
	case "bind lb vserver":
		s.bindVServer(c)
	case "add authorization policy":
		n.aaaTM = true
		s.addPolicy(c, KindAuthorization, n.authzPols, "add authorization policy NAME RULE ALLOW|DENY")
	case "add rewrite action":
		s.addRewriteAction(c)
	case "add rewrite policy":
		s.addPolicy(c, KindRewrite, n.rwPols, "add rewrite policy NAME RULE ACTION")
	case "add responder action":
		s.addResponderAction(c)
	case "add responder policy":
		s.addPolicy(c, KindResponder, n.respPols, "add responder policy NAME RULE ACTION")
	case "bind rewrite global", "bind responder global":
		s.bindGlobal(c)
	case "add stream selector":
		s.addSelector(c)
	case "add ns limitidentifier":
		s.addLimit(c)
	case "add tm sessionaction":
		n.aaaTM = true
		if s.needArgs(c, 1, "add tm sessionAction NAME -sessTimeout MINUTES -defaultAuthorizationAction ALLOW|DENY") {
			name := c.args[0].text
			if _, dup := n.sessActs[name]; dup {
				s.failTok(c, c.args[0], "session action %q is defined twice", name)
				return
			}
			a := s.sessionOptions(c, name)
			n.sessActs[name] = a
			n.actionOrder = append(n.actionOrder, actionRef{KindSession, name})
		}
	case "set tm sessionparameter":
		n.aaaTM = true
		n.sessParam = s.sessionOptions(c, "tm sessionParameter")
	case "add tm sessionpolicy":
		n.aaaTM = true
		s.addPolicy(c, KindSession, n.sessPols, "add tm sessionPolicy NAME RULE ACTION")
	case "bind tm global":
		n.aaaTM = true
		s.bindPolicy(c, "tm global", "", "tm", []string{KindSession})
	case "add aaa group", "add aaa user":
		n.aaaTM = true
		s.needArgs(c, 1, c.verbText()+" NAME")
		s.finish(c, "weight", "password", "loggedin")
	case "bind aaa group", "bind aaa user":
		n.aaaTM = true
		if s.needArgs(c, 1, c.verbText()+" NAME -policy POLICY -priority N") {
			scope := strings.TrimPrefix(c.key, "bind aaa ")
			s.bindPolicy(c, "aaa "+scope+" "+c.args[0].text, c.args[0].text, scope, []string{KindAuthorization, KindSession})
		}
	case "add authentication oauthaction":
		n.aaaTM = true
		s.addOAuth(c)
	case "add authentication vserver":
		n.aaaTM = true
		if s.needArgs(c, 2, "add authentication vserver NAME SSL [IP PORT]") {
			n.authnVS = append(n.authnVS, &authnVServer{name: c.args[0].text, proto: strings.ToUpper(c.args[1].text),
				addr: addrOf(c.args[2:]), pos: c.pos})
		}
		s.finish(c, "authenticationdomain", "td", "comment", "appflowlog", "maxloginattempts", "failedlogintimeout")
	case "add authentication policy":
		n.aaaTM = true
		s.addAuthnPolicy(c)
	case "bind authentication vserver":
		n.aaaTM = true
		if s.needArgs(c, 1, "bind authentication vserver NAME -policy POLICY -priority N") {
			s.bindPolicy(c, "authentication vserver "+c.args[0].text, c.args[0].text, "authn", []string{"authentication", KindSession})
		}
	case "add authentication policylabel", "bind authentication policylabel":
		n.aaaTM = true
		s.needArgs(c, 1, c.verbText()+" NAME")
		s.warn(c.pos, c.verbText(), fmt.Sprintf("%s: nFactor flows are not emulated: authdev logs in with its own IdP", c.verbText()))
		for _, o := range c.opts {
			o.used = true
		}
	}
}

func addrOf(args []ntok) string {
	var parts []string
	for _, a := range args {
		parts = append(parts, a.text)
	}
	return strings.Join(parts, ":")
}

func (s *session) addServiceGroup(c *command) {
	if !s.needArgs(c, 2, "add serviceGroup NAME HTTP|SSL") {
		return
	}
	name, proto := c.args[0].text, strings.ToUpper(c.args[1].text)
	if proto != "HTTP" && proto != "SSL" {
		s.warn(c.pos, c.verbText(), fmt.Sprintf("serviceGroup %q: protocol %s is not emulated: authdev proxies HTTP and SSL only", name, proto))
		return
	}
	s.ns.groups[name] = &serviceGroup{name: name, proto: proto, pos: c.pos}
	s.finish(c, serviceTuning...)
}

// serviceTuning are connection-tuning options that change nothing a
// developer can observe through authdev.
var serviceTuning = []string{"maxclient", "maxreq", "cip", "cipheader", "usip", "useproxyport", "sp", "rtspsessionidremap",
	"clttimeout", "svrtimeout", "cka", "tcpb", "cmp", "state", "downstateflush", "comment", "td", "healthmonitor", "appflowlog", "monthreshold"}

func (s *session) bindServiceGroup(c *command) {
	if !s.needArgs(c, 1, "bind serviceGroup NAME SERVER PORT, or bind serviceGroup NAME -monitorName MONITOR") {
		return
	}
	g, ok := s.ns.groups[c.args[0].text]
	if !ok {
		s.failTok(c, c.args[0], "no serviceGroup %q: add it first with `add serviceGroup %s HTTP`", c.args[0].text, c.args[0].text)
		return
	}
	if m, o := c.optVal("monitorname"); m != "" {
		g.monitors = append(g.monitors, backendRef{name: m, cmd: c, tok: o.vals[0]})
	}
	switch len(c.args) {
	case 1:
	case 3:
		if _, err := strconv.Atoi(c.args[2].text); err != nil {
			s.failTok(c, c.args[2], "port %q is not a number", c.args[2].text)
			return
		}
		g.members = append(g.members, member{host: c.args[1].text, port: c.args[2].text, pos: c.pos})
	default:
		s.failCmd(c, "expected bind serviceGroup NAME SERVER PORT")
		return
	}
	s.finish(c, "weight", "serverid", "state", "hashid", "customserverid", "dbsttl")
}

func (s *session) addService(c *command) {
	if !s.needArgs(c, 4, "add service NAME SERVER HTTP|SSL PORT") {
		return
	}
	proto := strings.ToUpper(c.args[2].text)
	if proto != "HTTP" && proto != "SSL" {
		s.warn(c.pos, c.verbText(), fmt.Sprintf("service %q: protocol %s is not emulated: authdev proxies HTTP and SSL only", c.args[0].text, proto))
		return
	}
	if _, err := strconv.Atoi(c.args[3].text); err != nil {
		s.failTok(c, c.args[3], "port %q is not a number", c.args[3].text)
		return
	}
	s.ns.services[c.args[0].text] = &service{name: c.args[0].text, host: c.args[1].text, proto: proto, port: c.args[3].text, pos: c.pos}
	s.finish(c, serviceTuning...)
}

func (s *session) addMonitor(c *command) {
	if !s.needArgs(c, 2, "add lb monitor NAME HTTP -respCode 200 -httpRequest \"GET /healthz\"") {
		return
	}
	name, typ := c.args[0].text, strings.ToUpper(c.args[1].text)
	m := &monitor{name: name, typ: typ, pos: c.pos,
		mon: config.Monitor{Path: "/", Interval: config.Duration(5 * time.Second), Timeout: config.Duration(2 * time.Second), Status: 200, Retries: 3}}
	switch typ {
	case "HTTP":
		if v, o := c.optVal("httprequest"); o != nil {
			method, path, ok := strings.Cut(strings.TrimSpace(v), " ")
			path = strings.TrimSpace(path)
			if !ok || !strings.HasPrefix(path, "/") {
				s.failTok(c, o.tok, "-httpRequest %q must be METHOD PATH, as in \"GET /healthz\"", v)
				return
			}
			if !strings.EqualFold(method, "GET") && !strings.EqualFold(method, "HEAD") {
				s.warn(c.pos, c.verbText(), fmt.Sprintf("monitor %q: authdev probes with GET, not %s", name, method))
			}
			m.mon.Path = strings.Fields(path)[0]
		}
	case "HTTP-ECV":
		if v, o := c.optVal("send"); o != nil {
			method, path, _ := strings.Cut(strings.TrimSpace(v), " ")
			_ = method
			if path = strings.TrimSpace(path); strings.HasPrefix(path, "/") {
				m.mon.Path = strings.Fields(path)[0]
			}
		}
		if _, o := c.optVal("recv"); o != nil {
			s.warn(c.pos, c.verbText(), fmt.Sprintf("monitor %q: -recv is not emulated: authdev checks the status code only", name))
		}
	default:
		s.warn(c.pos, c.verbText(), fmt.Sprintf("monitor %q: type %s is not emulated: authdev runs HTTP monitors only", name, typ))
		for _, o := range c.opts {
			o.used = true
		}
		return
	}
	if o := c.opt("respcode"); o != nil && len(o.vals) > 0 {
		first, _, _ := strings.Cut(o.vals[0].text, "-")
		code, err := strconv.Atoi(first)
		if err != nil || code < 100 || code > 599 {
			s.failTok(c, o.vals[0], "-respCode %q is not an HTTP status", o.vals[0].text)
			return
		}
		m.mon.Status = code
	}
	if d, ok := s.duration(c, "interval", "units3", time.Second); ok && d > 0 {
		m.mon.Interval = config.Duration(d)
	}
	if d, ok := s.duration(c, "resptimeout", "units4", time.Second); ok && d > 0 {
		m.mon.Timeout = config.Duration(d)
	}
	if o := c.opt("retries"); o != nil && len(o.vals) > 0 {
		n, err := strconv.Atoi(o.vals[0].text)
		if err != nil || n < 1 || n > 127 {
			s.failTok(c, o.vals[0], "-retries %q is not a count from 1 to 127", o.vals[0].text)
			return
		}
		m.mon.Retries = n
	}
	s.ns.monitors[name] = m
	s.finish(c, "lrtm", "downtime", "units1", "units2", "secure", "customheaders", "destport", "successretries", "failureretries", "alertretries", "deviation", "comment")
}

// duration reads a number option with an optional unit option (SEC, MSEC,
// MIN), as monitors write their intervals.
func (s *session) duration(c *command, name, unitOpt string, unit time.Duration) (time.Duration, bool) {
	v, o := c.optVal(name)
	if o == nil {
		return 0, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		s.failTok(c, o.tok, "-%s %q is not a number", o.tok.text[1:], v)
		return 0, false
	}
	if u, uo := c.optVal(unitOpt); uo != nil {
		switch strings.ToUpper(u) {
		case "SEC":
			unit = time.Second
		case "MSEC":
			unit = time.Millisecond
		case "MIN":
			unit = time.Minute
		default:
			s.failTok(c, uo.tok, "unit %q: use SEC, MSEC or MIN", u)
			return 0, false
		}
	}
	return time.Duration(n) * unit, true
}

func (s *session) addVServer(c *command) {
	if !s.needArgs(c, 2, "add lb vserver NAME HTTP|SSL [IP PORT]") {
		return
	}
	name, proto := c.args[0].text, strings.ToUpper(c.args[1].text)
	if proto != "HTTP" && proto != "SSL" {
		s.warn(c.pos, c.verbText(), fmt.Sprintf("lb vserver %q: protocol %s is not emulated: authdev proxies HTTP and SSL only", name, proto))
		return
	}
	for _, v := range s.ns.vservers {
		if v.name == name {
			s.failTok(c, c.args[0], "lb vserver %q is defined twice", name)
			return
		}
	}
	vs := &vserver{name: name, proto: proto, addr: addrOf(c.args[2:]), lbMethod: "leastconnection", pos: c.pos}
	if m, o := c.optVal("lbmethod"); o != nil {
		switch strings.ToUpper(m) {
		case "ROUNDROBIN":
			vs.lbMethod = "roundrobin"
		case "LEASTCONNECTION":
		default:
			s.warn(c.pos, c.verbText(), fmt.Sprintf("lb vserver %q: -lbMethod %s is not emulated: using LEASTCONNECTION", name, m))
		}
	}
	onOff := func(opt string) bool {
		v, o := c.optVal(opt)
		if o == nil {
			return false
		}
		switch strings.ToUpper(v) {
		case "ON", "YES", "ENABLED":
			return true
		case "OFF", "NO", "DISABLED":
			return false
		}
		s.failTok(c, o.tok, "-%s takes ON or OFF, not %q", o.tok.text[1:], v)
		return false
	}
	vs.authn = onOff("authentication")
	vs.api = onOff("authn401")
	vs.authnHost, _ = c.optVal("authenticationhost")
	vs.authnVS, _ = c.optVal("authnvsname")
	if vs.authn || vs.api || vs.authnVS != "" {
		s.ns.aaaTM = true
	}
	s.ns.vservers = append(s.ns.vservers, vs)
	s.finish(c, append(slices.Clone(serviceTuning), "persistencetype", "timeout", "persistencebackup", "backuppersistencetimeout",
		"redirecturl", "cookiename", "listenpolicy", "rhistate", "httpprofilename", "tcpprofilename", "netprofile")...)
}

func (s *session) vserver(name string) *vserver {
	for _, v := range s.ns.vservers {
		if v.name == name {
			return v
		}
	}
	return nil
}

func (s *session) bindVServer(c *command) {
	if !s.needArgs(c, 1, "bind lb vserver NAME SERVICEGROUP, or bind lb vserver NAME -policyName POLICY -priority N") {
		return
	}
	vs := s.vserver(c.args[0].text)
	if vs == nil {
		s.failTok(c, c.args[0], "no lb vserver %q: add it first with `add lb vserver %s HTTP`", c.args[0].text, c.args[0].text)
		return
	}
	if c.opt("policyname") != nil {
		s.bindPolicy(c, "lb vserver "+vs.name, vs.name, "vserver", []string{KindAuthorization, KindResponder, KindRewrite})
		return
	}
	if len(c.args) != 2 {
		s.failCmd(c, "expected bind lb vserver NAME SERVICEGROUP_OR_SERVICE, or -policyName POLICY -priority N")
		return
	}
	vs.backends = append(vs.backends, backendRef{name: c.args[1].text, cmd: c, tok: c.args[1]})
	s.finish(c, "weight")
}

// bindPolicy records a policy binding. kinds are the policy kinds that may
// be bound there.
func (s *session) bindPolicy(c *command, target, where, scope string, kinds []string) {
	b := &nsBind{target: target, where: where, scope: scope, kinds: kinds, cmd: c}
	name, o := c.optVal("policyname")
	if o == nil {
		name, o = c.optVal("policy")
	}
	if o == nil || name == "" {
		s.failCmd(c, "expected -policyName POLICY")
		return
	}
	b.policy = o.vals[0]
	if !s.priority(c, b) {
		return
	}
	b.typ, _ = c.optVal("type")
	s.ns.binds = append(s.ns.binds, b)
	s.finish(c, "bindpoint", "invoke", "labeltype", "labelname", "nextfactor", "secondary", "groupextraction")
	if v, _ := c.optVal("nextfactor"); v != "" {
		s.warn(c.pos, c.verbText(), fmt.Sprintf("%s: -nextFactor %s is not emulated: authdev logs in with its own IdP", c.verbText(), v))
	}
}

func (s *session) priority(c *command, b *nsBind) bool {
	p, o := c.optVal("priority")
	if o == nil {
		s.failCmd(c, "expected -priority N: advanced policies are evaluated in priority order")
		return false
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < 1 || n > 2147483647 {
		s.failTok(c, o.tok, "-priority %q must be a number from 1 to 2147483647", p)
		return false
	}
	b.priority = n
	if g, o := c.optVal("gotopriorityexpression"); o != nil {
		if len(o.vals) == 0 {
			s.failTok(c, o.tok, "-gotoPriorityExpression needs a value: NEXT, END, USE_INVOCATION_RESULT or a priority number")
			return false
		}
		b.gotoExpr = strings.ToUpper(g)
		if !validGoto(b.gotoExpr) {
			s.failTok(c, o.vals[0], "-gotoPriorityExpression %q: use NEXT, END, USE_INVOCATION_RESULT or a priority number", g)
			return false
		}
	}
	return true
}

func validGoto(g string) bool {
	switch g {
	case "NEXT", "END", "USE_INVOCATION_RESULT":
		return true
	}
	n, err := strconv.Atoi(g)
	return err == nil && n > 0
}

// bindGlobal is `bind rewrite|responder global POLICY PRIORITY [GOTO]
// [-type REQ_OVERRIDE|REQ_DEFAULT]`.
func (s *session) bindGlobal(c *command) {
	kind := KindRewrite
	if strings.HasPrefix(c.key, "bind responder") {
		kind = KindResponder
	}
	if !s.needArgs(c, 2, c.verbText()+" POLICY PRIORITY [NEXT|END]") {
		return
	}
	b := &nsBind{target: kind + " global", scope: "global", kinds: []string{kind}, policy: c.args[0], cmd: c}
	n, err := strconv.Atoi(c.args[1].text)
	if err != nil || n < 1 {
		s.failTok(c, c.args[1], "priority %q must be a positive number", c.args[1].text)
		return
	}
	b.priority = n
	if len(c.args) > 2 {
		b.gotoExpr = strings.ToUpper(c.args[2].text)
		if !validGoto(b.gotoExpr) {
			s.failTok(c, c.args[2], "goto %q: use NEXT, END, USE_INVOCATION_RESULT or a priority number", c.args[2].text)
			return
		}
	}
	b.typ, _ = c.optVal("type")
	b.typ = strings.ToUpper(b.typ)
	switch b.typ {
	case "", "REQ_DEFAULT", "REQ_OVERRIDE":
		b.target = kind + " global " + cmp.Or(b.typ, "REQ_DEFAULT")
	case "RES_DEFAULT", "RES_OVERRIDE", "OTHERTCP_REQ_DEFAULT", "OTHERTCP_REQ_OVERRIDE":
		s.warn(c.pos, c.verbText(), fmt.Sprintf("%s: -type %s is not emulated: authdev evaluates HTTP requests only", c.verbText(), b.typ))
		return
	default:
		s.failTok(c, c.opt("type").tok, "-type %q: use REQ_OVERRIDE or REQ_DEFAULT", b.typ)
		return
	}
	s.ns.binds = append(s.ns.binds, b)
	s.finish(c)
}

// addPolicy is `add authorization|rewrite|responder policy NAME RULE
// ACTION` and `add tm sessionPolicy NAME RULE ACTION`.
func (s *session) addPolicy(c *command, kind string, into map[string]*nsPolicy, usage string) {
	if !s.needArgs(c, 3, usage) {
		return
	}
	name := c.args[0].text
	if _, dup := into[name]; dup {
		s.failTok(c, c.args[0], "%s policy %q is defined twice", kind, name)
		return
	}
	if len(c.args) > 3 {
		s.failTok(c, c.args[3], "unexpected %q after the action: quote the rule if it contains spaces", c.args[3].text)
		return
	}
	act := c.args[2]
	np := &nsPolicy{p: &policy{name: name, kind: kind, rule: c.args[1].text, pos: c.pos}, src: s.tokExpr(c, c.args[1]), action: act, cmd: c}
	if kind == KindAuthorization {
		switch strings.ToUpper(act.text) {
		case "ALLOW", "DENY":
			np.p.action = strings.ToUpper(act.text)
			np.p.allow = np.p.action == "ALLOW"
		default:
			s.failTok(c, act, "action %q: an authorization policy either ALLOWs or DENYs", act.text)
			return
		}
	}
	into[name] = np
	s.ns.policyOrder = append(s.ns.policyOrder, np)
	s.finish(c, "comment", "logaction", "undefaction", "appflowaction")
}

func (s *session) addAuthnPolicy(c *command) {
	if !s.needArgs(c, 1, "add authentication Policy NAME -rule RULE -action ACTION") {
		return
	}
	name := c.args[0].text
	rule, ro := c.optVal("rule")
	act, ao := c.optVal("action")
	if ro == nil || ao == nil || rule == "" || act == "" {
		s.failCmd(c, "expected -rule RULE -action ACTION")
		return
	}
	np := &nsPolicy{p: &policy{name: name, kind: "authentication", rule: rule, action: act, pos: c.pos},
		src: s.tokExpr(c, ro.vals[0]), action: ao.vals[0], cmd: c}
	s.ns.authnPols[name] = np
	s.ns.policyOrder = append(s.ns.policyOrder, np)
	s.finish(c, "comment", "logaction")
}

func (s *session) addRewriteAction(c *command) {
	if !s.needArgs(c, 2, "add rewrite action NAME insert_http_header|delete_http_header|replace ...") {
		return
	}
	name, typ := c.args[0].text, strings.ToLower(c.args[1].text)
	a := &rewriteAction{name: name, typ: typ, pos: c.pos}
	switch typ {
	case "insert_http_header":
		if len(c.args) != 4 {
			s.failCmd(c, "expected add rewrite action %s insert_http_header HEADER EXPRESSION", name)
			return
		}
		a.header = c.args[2].text
		a.src = s.tokExpr(c, c.args[3])
		a.expr = c.args[3].text
	case "delete_http_header":
		if len(c.args) != 3 {
			s.failCmd(c, "expected add rewrite action %s delete_http_header HEADER", name)
			return
		}
		a.header = c.args[2].text
	case "replace":
		if len(c.args) != 4 {
			s.failCmd(c, "expected add rewrite action %s replace TARGET EXPRESSION", name)
			return
		}
		target, header, ok := replaceTarget(c.args[2].text)
		if !ok {
			s.failTok(c, c.args[2], "replace target %q: authdev replaces HTTP.REQ.URL, HTTP.REQ.URL.PATH, HTTP.REQ.URL.QUERY or HTTP.REQ.HEADER(\"name\")", c.args[2].text)
			return
		}
		a.target, a.header = target, header
		a.src = s.tokExpr(c, c.args[3])
		a.expr = c.args[3].text
	default:
		s.warn(c.pos, c.verbText(), fmt.Sprintf("rewrite action %q: type %s is not emulated: policies using it change nothing", name, typ))
		a.typ = ""
	}
	if _, dup := s.ns.rwActs[name]; dup {
		s.failTok(c, c.args[0], "rewrite action %q is defined twice", name)
		return
	}
	s.ns.rwActs[name] = a
	s.ns.actionOrder = append(s.ns.actionOrder, actionRef{KindRewrite, name})
	s.finish(c, "comment", "bypasssafetycheck", "refinesearch", "search")
}

// replaceTarget recognises what a replace action may rewrite.
func replaceTarget(t string) (target, header string, ok bool) {
	u := strings.ToUpper(strings.ReplaceAll(t, " ", ""))
	switch u {
	case "HTTP.REQ.URL":
		return "url", "", true
	case "HTTP.REQ.URL.PATH":
		return "path", "", true
	case "HTTP.REQ.URL.QUERY":
		return "query", "", true
	}
	if strings.HasPrefix(u, `HTTP.REQ.HEADER("`) && strings.HasSuffix(u, `")`) {
		i := strings.Index(t, `"`)
		j := strings.LastIndex(t, `"`)
		if i >= 0 && j > i+1 {
			return "header", t[i+1 : j], true
		}
	}
	return "", "", false
}

func (s *session) addResponderAction(c *command) {
	if !s.needArgs(c, 3, "add responder action NAME respondwith|redirect|respondwithhtmlpage TARGET") {
		return
	}
	name, typ := c.args[0].text, strings.ToLower(c.args[1].text)
	a := &responderAction{name: name, typ: typ, pos: c.pos}
	switch typ {
	case "respondwith", "redirect":
		a.src = s.tokExpr(c, c.args[2])
		a.expr = c.args[2].text
	case "respondwithhtmlpage":
		a.page = c.args[2].text
		s.warn(c.pos, c.verbText(), fmt.Sprintf("responder action %q: imported HTML page %q is not loaded: authdev answers with a page naming it", name, a.page))
	default:
		s.warn(c.pos, c.verbText(), fmt.Sprintf("responder action %q: type %s is not emulated: policies using it do nothing", name, typ))
		a.typ = ""
	}
	if len(c.args) > 3 {
		s.failTok(c, c.args[3], "unexpected %q after the target: quote the target if it contains spaces", c.args[3].text)
		return
	}
	if v, o := c.optVal("responsestatuscode"); o != nil {
		code, err := strconv.Atoi(v)
		if err != nil || code < 100 || code > 599 {
			s.failTok(c, o.tok, "-responseStatusCode %q is not an HTTP status", v)
			return
		}
		a.status = code
	}
	a.reason, _ = c.optVal("reasonphrase")
	if _, dup := s.ns.respActs[name]; dup {
		s.failTok(c, c.args[0], "responder action %q is defined twice", name)
		return
	}
	s.ns.respActs[name] = a
	s.ns.actionOrder = append(s.ns.actionOrder, actionRef{KindResponder, name})
	s.finish(c, "comment", "bypasssafetycheck", "headers")
}

func (s *session) addSelector(c *command) {
	if !s.needArgs(c, 2, "add stream selector NAME EXPRESSION...") {
		return
	}
	name := c.args[0].text
	sel := &selector{name: name, pos: c.pos}
	for _, t := range c.args[1:] {
		sel.exprs = append(sel.exprs, s.tokExpr(c, t))
	}
	if len(sel.exprs) > 5 {
		s.failTok(c, c.args[6], "a stream selector has at most 5 expressions")
		return
	}
	s.ns.selectors[name] = sel
	s.finish(c)
}

func (s *session) addLimit(c *command) {
	if !s.needArgs(c, 1, "add ns limitIdentifier NAME -threshold N -timeSlice MS -selectorName SELECTOR") {
		return
	}
	name := c.args[0].text
	l := &limiter{name: name, threshold: 1, slice: time.Second, mode: "REQUEST_RATE", pos: c.pos,
		now: s.e.now, windows: map[string]*window{}}
	num := func(opt string, min int64) (int64, bool) {
		v, o := c.optVal(opt)
		if o == nil {
			return 0, false
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < min {
			s.failTok(c, o.tok, "-%s %q must be a number of at least %d", o.tok.text[1:], v, min)
			return 0, false
		}
		return n, true
	}
	if n, ok := num("threshold", 1); ok {
		l.threshold = n
	}
	if n, ok := num("timeslice", 10); ok {
		l.slice = time.Duration(n) * time.Millisecond
	}
	if m, o := c.optVal("mode"); o != nil {
		l.mode = strings.ToUpper(m)
		switch l.mode {
		case "REQUEST_RATE":
		case "CONNECTION", "NONE":
			s.warn(c.pos, c.verbText(), fmt.Sprintf("limit identifier %q: -mode %s is not emulated: counted as REQUEST_RATE", name, l.mode))
		default:
			s.failTok(c, o.tok, "-mode %q: use REQUEST_RATE, CONNECTION or NONE", m)
		}
	}
	l.selector, _ = c.optVal("selectorname")
	if _, dup := s.e.limits[name]; dup {
		s.failTok(c, c.args[0], "limit identifier %q is defined twice", name)
		return
	}
	s.e.limits[name] = l
	s.finish(c, "trapsintimeslice", "maxbandwidth")
}

// minutes reads option opt, a whole number of minutes no less than least;
// ok is false when it is absent or wrong (then reported).
func (s *session) minutes(c *command, opt string, least int) (d time.Duration, ok bool) {
	v, o := c.optVal(opt)
	if o == nil {
		return 0, false
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < least {
		s.failTok(c, o.tok, "-%s %q must be a number of minutes", o.tok.text[1:], v)
		return 0, false
	}
	return time.Duration(n) * time.Minute, true
}

func (s *session) sessionOptions(c *command, name string) *sessionAction {
	a := &sessionAction{name: name, pos: c.pos}
	if d, ok := s.minutes(c, "sesstimeout", 1); ok {
		a.timeout = d
	}
	if v, o := c.optVal("defaultauthorizationaction"); o != nil {
		switch strings.ToUpper(v) {
		case "ALLOW", "DENY":
			a.defaultAuthz = strings.ToUpper(v)
			a.defaultPos = config.Pos{File: c.pos.File, Line: c.pos.Line}
		default:
			s.failTok(c, o.tok, "-defaultAuthorizationAction %q: use ALLOW or DENY", v)
		}
	}
	s.finish(c, "sso", "ssocredential", "ssodomain", "httponlycookie", "persistentcookie", "persistentcookievalidity",
		"homepage", "kcdaccount", "comment", "encrypted", "encryptmethod")
	return a
}

func (s *session) addOAuth(c *command) {
	if !s.needArgs(c, 1, "add authentication OAuthAction NAME -clientID ID -clientSecret SECRET ...") {
		return
	}
	a := &OAuthAction{Name: c.args[0].text, UserNameField: "email", PKCE: true, GrantType: "CODE",
		TokenEndpointAuthMethod: "client_secret_post", SkewTime: 5 * time.Minute, Pos: c.pos}
	str := func(opt string, into *string, isURL bool) {
		if v, o := c.optVal(opt); o != nil {
			if isURL {
				if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
					s.failTok(c, o.tok, "-%s %q is not an absolute http(s) URL", o.tok.text[1:], v)
					return
				}
			}
			*into = v
		}
	}
	str("authorizationendpoint", &a.AuthorizationEndpoint, true)
	str("tokenendpoint", &a.TokenEndpoint, true)
	str("certendpoint", &a.CertEndpoint, true)
	str("userinfourl", &a.UserInfoURL, true)
	str("introspecturl", &a.IntrospectURL, true)
	str("metadataurl", &a.MetadataURL, true)
	str("clientid", &a.ClientID, false)
	str("clientsecret", &a.ClientSecret, false)
	str("issuer", &a.Issuer, false)
	str("audience", &a.Audience, false)
	str("usernamefield", &a.UserNameField, false)
	a.Encrypted = c.opt("encrypted") != nil
	c.opt("encryptmethod")
	if v, o := c.optVal("attributes"); o != nil {
		for _, f := range strings.Split(v, ",") {
			if f = strings.TrimSpace(f); f != "" {
				a.Attributes = append(a.Attributes, f)
			}
		}
		if len(a.Attributes) > 16 {
			s.failTok(c, o.tok, "-Attributes lists %d names; the ADC keeps at most 16", len(a.Attributes))
		}
	}
	if d, ok := s.minutes(c, "skewtime", 0); ok {
		a.SkewTime = d
	}
	if v, o := c.optVal("granttype"); o != nil {
		a.GrantType = strings.ToUpper(v)
		if a.GrantType != "CODE" && a.GrantType != "PASSWORD" {
			s.failTok(c, o.tok, "-grantType %q: use CODE or PASSWORD", v)
		}
	}
	if v, o := c.optVal("pkce"); o != nil {
		switch strings.ToUpper(v) {
		case "ENABLED":
		case "DISABLED":
			a.PKCE = false
		default:
			s.failTok(c, o.tok, "-PKCE %q: use ENABLED or DISABLED", v)
		}
	}
	if v, o := c.optVal("tokenendpointauthmethod"); o != nil {
		switch strings.ToLower(v) {
		case "client_secret_post", "client_secret_basic", "client_secret_jwt", "private_key_jwt":
			a.TokenEndpointAuthMethod = strings.ToLower(v)
		default:
			s.failTok(c, o.tok, "-tokenEndpointAuthMethod %q: use client_secret_post, client_secret_basic, client_secret_jwt or private_key_jwt", v)
		}
	}
	if o := c.opt("allowedalgorithms"); o != nil {
		for _, v := range o.vals {
			a.AllowedAlgorithms = append(a.AllowedAlgorithms, strings.ToUpper(v.text))
		}
	}
	if v, o := c.optVal("oauthtype"); o != nil && !strings.EqualFold(v, "GENERIC") {
		s.warn(c.pos, c.verbText(), fmt.Sprintf("OAuth action %q: -OAuthType %s is not emulated: treated as GENERIC", a.Name, v))
	}
	if a.ClientID == "" {
		s.failCmd(c, "OAuth action %q needs -clientID", a.Name)
	}
	if a.MetadataURL == "" && (a.AuthorizationEndpoint == "" || a.TokenEndpoint == "") {
		s.failCmd(c, "OAuth action %q needs -authorizationEndpoint and -tokenEndpoint, or -metadataUrl", a.Name)
	}
	s.ns.oauth = append(s.ns.oauth, a)
	s.ns.actionOrder = append(s.ns.actionOrder, actionRef{"oauth", a.Name})
	s.finish(c, "kek", "suffix", "authentication", "refreshinterval", "defaultauthenticationgroup", "graphendpoint", "resourceuri",
		"tenantid", "idtokendecryptendpoint", "requestattribute", "intunedeviceidexpression", "oauthmiscflags", "comment")
}

// chooseOAuth picks the OAuth action in use: the one an authentication
// policy bound to an authentication vserver names, else the only one. Its
// -Attributes give AAA.USER.ATTRIBUTE(n) its meaning.
func (s *session) chooseOAuth() {
	n := s.ns
	if len(n.oauth) == 0 {
		return
	}
	chosen := n.oauth[0]
	found := false
	for _, b := range n.binds {
		if b.scope != "authn" || found {
			continue
		}
		if p, ok := n.authnPols[b.policy.text]; ok {
			for _, a := range n.oauth {
				if a.Name == p.p.action {
					chosen, found = a, true
				}
			}
		}
	}
	if !found && len(n.oauth) > 1 {
		s.warn(chosen.Pos, "add authentication OAuthAction", fmt.Sprintf("%d OAuth actions and none bound through an authentication policy: using %q", len(n.oauth), chosen.Name))
	}
	s.e.settings.OAuth = chosen
	s.env.oauthAttrs = chosen.Attributes
}
