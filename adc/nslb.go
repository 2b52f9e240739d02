package adc

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/authdev/authdev/config"
)

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
	monitors                []backendRef
	pos                     config.Pos
}

type monitor struct {
	name, typ string
	mon       config.Monitor
	builtin   bool
	pos       config.Pos
}

type vserver struct {
	name, proto, addr string
	lbMethod          string
	backends          []backendRef
	vsAuthn
	pos config.Pos
}

// vsAuthn are the AAA-TM options of an lb or cs vserver.
type vsAuthn struct {
	authn     bool // -Authentication ON: browser logins
	api       bool // -authn401 ON: 401 for API clients
	authnHost string
	authnVS   string
	// authnVSCmd is the command that set authnVS, for warnings.
	authnVSCmd *command
	// authnProfile names an `add authentication authnProfile`, whose
	// -authnVsName applies when the vserver names none itself.
	authnProfile    string
	authnProfileTok ntok
	authnProfileCmd *command
}

// backendRef is a service group or service bound to an lb vserver.
type backendRef struct {
	name string
	cmd  *command
	tok  ntok
}

func addrOf(args []ntok) string {
	var parts []string
	for _, a := range args {
		parts = append(parts, a.text)
	}
	return strings.Join(parts, ":")
}

func (s *session) addServiceGroup(c *command) {
	name, proto, ok := s.proxiedArgs(c, "serviceGroup", "add serviceGroup NAME HTTP|SSL")
	if !ok {
		return
	}
	s.ns.groups[name] = &serviceGroup{name: name, proto: proto, pos: c.pos}
	s.finish(c, serviceTuning...)
}

// serviceTuning are connection-tuning options that change nothing a
// developer can observe through authdev.
var serviceTuning = []string{"maxclient", "maxreq", "cip", "cipheader", "usip", "useproxyport", "sp", "rtspsessionidremap",
	"clttimeout", "svrtimeout", "cka", "tcpb", "cmp", "state", "downstateflush", "comment", "td", "healthmonitor", "appflowlog", "monthreshold", "gslb"}

func (s *session) bindServiceGroup(c *command) {
	if !s.needArgs(c, 1, "bind serviceGroup NAME SERVER PORT, or bind serviceGroup NAME -monitorName MONITOR") {
		return
	}
	g, ok := s.ns.groups[c.args[0].text]
	if !ok && s.skipped(c, c.args[0].text) {
		return
	}
	if !ok {
		s.failTok(c, c.args[0], "no serviceGroup %q: add it first with `add serviceGroup %s HTTP`", c.args[0].text, c.args[0].text)
		return
	}
	if m, o := c.optVal("monitorname"); m != "" {
		g.monitors = append(g.monitors, backendRef{name: m, cmd: c, tok: o.vals[0]})
		if len(c.args) == 1 {
			s.finish(c)
			return
		}
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
	if !s.proxied(c, "service", c.args[0].text, proto) {
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
	m := &monitor{name: name, typ: typ, pos: c.pos}
	if typ != "HTTP" && typ != "HTTP-ECV" {
		s.warn(c.pos, c.verbText(), EffectNone, fmt.Sprintf("monitor %q: type %s is not emulated: authdev runs HTTP monitors only", name, typ))
		c.useAll()
		s.ns.monitors[name] = m
		return
	}
	m.mon = config.Monitor{Path: "/", Interval: config.Duration(5 * time.Second), Timeout: config.Duration(2 * time.Second), Status: 200, Retries: 3}
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
				s.warn(c.pos, c.verbText(), EffectNone, fmt.Sprintf("monitor %q: authdev probes with GET, not %s", name, method))
			}
			m.mon.Path = strings.Fields(path)[0]
		}
	case "HTTP-ECV":
		if v, o := c.optVal("send"); o != nil {
			_, path, _ := strings.Cut(strings.TrimSpace(v), " ")
			if path = strings.TrimSpace(path); strings.HasPrefix(path, "/") {
				m.mon.Path = strings.Fields(path)[0]
			}
		}
		if _, o := c.optVal("recv"); o != nil {
			s.warn(c.pos, c.verbText(), EffectNone, fmt.Sprintf("monitor %q: -recv is not emulated: authdev checks the status code only", name))
		}
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
	name, proto, ok := s.proxiedArgs(c, "lb vserver", "add lb vserver NAME HTTP|SSL [IP PORT]")
	if !ok {
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
			s.warn(c.pos, c.verbText(), EffectNone, fmt.Sprintf("lb vserver %q: -lbMethod %s is not emulated: using LEASTCONNECTION", name, m))
		}
	}
	s.vserverAuthn(c, &vs.vsAuthn)
	s.ns.vservers = append(s.ns.vservers, vs)
	s.finish(c, append(slices.Clone(serviceTuning), "persistencetype", "timeout", "persistencebackup", "backuppersistencetimeout",
		"redirecturl", "cookiename", "listenpolicy", "rhistate", "httpprofilename", "tcpprofilename", "netprofile")...)
}

// onOff reads the ON|OFF option opt of c; was when c does not write it.
func (s *session) onOff(c *command, opt string, was bool) bool {
	v, o := c.optVal(opt)
	if o == nil {
		return was
	}
	switch strings.ToUpper(v) {
	case "ON", "YES", "ENABLED":
		return true
	case "OFF", "NO", "DISABLED":
		return false
	}
	s.failTok(c, o.tok, "-%s takes ON or OFF, not %q", o.tok.text[1:], v)
	return was
}

// vserverAuthn reads the AAA-TM options of an lb or cs vserver: browser
// logins (-Authentication ON) at the authentication vserver -authnVsName
// names, or the one of its -authnProfile, and 401 for API clients
// (-authn401).
func (s *session) vserverAuthn(c *command, vs *vsAuthn) {
	vs.authn = s.onOff(c, "authentication", vs.authn)
	vs.api = s.onOff(c, "authn401", vs.api)
	if v, o := c.optVal("authenticationhost"); o != nil {
		vs.authnHost = v
	}
	if v, o := c.optVal("authnvsname"); o != nil {
		vs.authnVS, vs.authnVSCmd = v, c
	}
	if v, o := c.optVal("authnprofile"); o != nil {
		vs.authnProfile, vs.authnProfileTok, vs.authnProfileCmd = v, o.vals[0], c
	}
	if vs.authn || vs.api || vs.authnVS != "" || vs.authnProfile != "" {
		s.ns.aaaTM = true
	}
}

// setVServer is `set lb vserver NAME` with AAA-TM options (the rest of
// what it may change is named as not emulated).
func (s *session) setVServer(c *command) {
	if vs := s.namedVServer(c, "set lb vserver NAME -Authentication ON -authnVsName AAA_VSERVER"); vs != nil {
		s.vserverAuthn(c, &vs.vsAuthn)
		s.finish(c, serviceTuning...)
	}
}

// namedVServer is the lb vserver c names first; nil, reported unless it is
// one authdev does not proxy, when there is none.
func (s *session) namedVServer(c *command, usage string) *vserver {
	if !s.needArgs(c, 1, usage) {
		return nil
	}
	vs := s.vserver(c.args[0].text)
	if vs == nil && !s.skipped(c, c.args[0].text) {
		s.failTok(c, c.args[0], "no lb vserver %q: add it first with `add lb vserver %s HTTP`", c.args[0].text, c.args[0].text)
	}
	return vs
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
	vs := s.namedVServer(c, "bind lb vserver NAME SERVICEGROUP, or bind lb vserver NAME -policyName POLICY -priority N")
	if vs == nil {
		return
	}
	if c.opt("policyname") != nil {
		s.bindPolicy(c, "lb vserver "+vs.name, vs.name, "vserver", vserverKinds)
		return
	}
	if len(c.args) != 2 {
		s.failCmd(c, "expected bind lb vserver NAME SERVICEGROUP_OR_SERVICE, or -policyName POLICY -priority N")
		return
	}
	vs.backends = append(vs.backends, backendRef{name: c.args[1].text, cmd: c, tok: c.args[1]})
	s.finish(c, "weight")
}

// vserverKinds are the policy kinds authdev evaluates at an lb or cs
// vserver.
var vserverKinds = []string{KindAuthorization, KindResponder, KindRewrite}

func (s *session) addServer(c *command) {
	if s.needArgs(c, 2, "add server NAME ADDRESS") {
		s.ns.servers[c.args[0].text] = c.args[1].text
	}
	s.finish(c, "comment", "state", "td", "translationip", "translationmask")
}

// proxiedArgs reads the NAME and protocol of `add <what> NAME PROTOCOL
// ...`; ok is false when the line lacks them (said with usage) or the
// protocol is not one authdev proxies.
func (s *session) proxiedArgs(c *command, what, usage string) (name, proto string, ok bool) {
	if !s.needArgs(c, 2, usage) {
		return "", "", false
	}
	name, proto = c.args[0].text, strings.ToUpper(c.args[1].text)
	return name, proto, s.proxied(c, what, name, proto)
}

// proxied reports an object of a protocol authdev proxies (HTTP, SSL);
// any other is recorded as skipped, and said so.
func (s *session) proxied(c *command, what, name, proto string) bool {
	if proto == "HTTP" || proto == "SSL" {
		return true
	}
	s.ns.skipped[name] = what + " " + proto
	c.useAll()
	s.warn(c.pos, c.verbText(), EffectNone, fmt.Sprintf("%s %q: protocol %s is not emulated: authdev proxies HTTP and SSL only", what, name, proto))
	return false
}

// skipped reports, as understood and not emulated, a command about an
// object of a protocol authdev does not proxy.
func (s *session) skipped(c *command, name string) bool {
	what, ok := s.ns.skipped[name]
	if ok {
		c.useAll()
		s.warn(c.pos, c.verbText(), EffectNone, fmt.Sprintf("%s: %s %q is not emulated: authdev proxies HTTP and SSL only", c.verbText(), what, name))
	}
	return ok
}

// bindService is `bind service NAME -monitorName M`.
func (s *session) bindService(c *command) {
	if !s.needArgs(c, 1, "bind service NAME -monitorName MONITOR") || s.skipped(c, c.args[0].text) {
		return
	}
	sv, ok := s.ns.services[c.args[0].text]
	if !ok {
		s.failTok(c, c.args[0], "no service %q: add it first with `add service %s SERVER HTTP PORT`", c.args[0].text, c.args[0].text)
		return
	}
	if m, o := c.optVal("monitorname"); m != "" {
		sv.monitors = append(sv.monitors, backendRef{name: m, cmd: c, tok: o.vals[0]})
	}
	s.finish(c, "weight")
}

// builtinMonitors are the monitors every appliance has.
func builtinMonitors() map[string]*monitor {
	ms := map[string]*monitor{}
	base := config.Monitor{Path: "/", Interval: config.Duration(5 * time.Second), Timeout: config.Duration(2 * time.Second), Status: 200, Retries: 3}
	for _, name := range []string{"http", "https", "http-ecv", "https-ecv"} {
		ms[name] = &monitor{name: name, typ: strings.ToUpper(name), mon: base, builtin: true}
	}
	for _, name := range []string{"ping", "ping-default", "tcp", "tcp-default", "tcps", "arp", "nd6", "udp-ecv", "dns", "dns-tcp", "ftp", "tcp-ecv", "ldns-ping", "ldns-tcp", "ldns-dns", "stasecure", "sta"} {
		ms[name] = &monitor{name: name, typ: strings.ToUpper(name), builtin: true}
	}
	return ms
}
