package adc

import (
	"fmt"
	"os"
	"slices"
	"strings"

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
	// authnProfiles are `add authentication authnProfile`s: the
	// authentication vserver (-authnVsName) an lb vserver's -authnProfile
	// sends logins to.
	authnProfiles map[string]string
	cs            []*csVServer
	csActs        map[string]*csAction
	csPols        map[string]*csPolicy

	// skipped are the objects of types authdev does not proxy (TCP, UDP,
	// DNS vservers and service groups...): binds to them are understood
	// and not emulated, never "a reference to nothing".
	skipped map[string]string
	// foreign are policies of kinds authdev does not model (cmp, cache,
	// appfw...), by name: binding them to a vserver is not an error.
	foreign map[string]foreignPolicy

	oauth       []*OAuthAction
	backends    AuthnBackends
	authnPols   map[string]*nsPolicy
	authzPols   map[string]*nsPolicy
	rwPols      map[string]*nsPolicy
	respPols    map[string]*nsPolicy
	sessPols    map[string]*nsPolicy
	rwActs      map[string]*rewriteAction
	respActs    map[string]*responderAction
	sessActs    map[string]*sessionAction
	msgActs     map[string]*messageAction
	selectors   map[string]*selector
	exprs       []namedSrc
	sessParam   *sessionAction
	binds       []*nsBind
	policyOrder []*nsPolicy
	actionOrder []actionRef
}

// foreignPolicy is a policy of a kind authdev does not model.
type foreignPolicy struct {
	family string // such as "cmp" or "appfw"
	effect Effect
}

func newNSConf(path string) *nsconf {
	return &nsconf{file: path, servers: map[string]string{}, groups: map[string]*serviceGroup{},
		services: map[string]*service{}, monitors: builtinMonitors(), skipped: map[string]string{},
		foreign: map[string]foreignPolicy{}, csActs: map[string]*csAction{}, csPols: map[string]*csPolicy{},
		authnPols: map[string]*nsPolicy{}, authnProfiles: map[string]string{}, authzPols: map[string]*nsPolicy{}, rwPols: map[string]*nsPolicy{},
		respPols: map[string]*nsPolicy{}, sessPols: builtinSessionPolicies(),
		rwActs: map[string]*rewriteAction{}, respActs: map[string]*responderAction{},
		sessActs: map[string]*sessionAction{}, msgActs: map[string]*messageAction{}, selectors: map[string]*selector{}}
}

type actionRef struct {
	kind, name string
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

// parseNSConf gathers the commands of an ns.conf. As the appliance does when
// it boots, it keeps going past lines it cannot use: a line authdev does not
// emulate is a warning; only a line the ADC itself would refuse is an error.
func (s *session) parseNSConf(path string, data []byte) {
	s.ns = newNSConf(path)
	lines := strings.Split(string(data), "\n")
	s.files[path] = lines
	for i, line := range lines {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		s.e.lines.Total++
		toks, col, msg := tokenize(line)
		if msg != "" {
			s.fail(config.Pos{File: path, Line: i + 1, Col: col}, msg)
			continue
		}
		pos := config.Pos{File: path, Line: i + 1, Col: toks[0].col}
		c, run := parseCommand(toks, pos, line)
		if run == nil {
			s.unknownCommand(c)
			continue
		}
		run(s, c)
	}
	s.chooseOAuth()
}

func unwrapPathErr(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

// warn reports a line authdev does not (fully) emulate; effect says whether
// that could change how a request is decided.
func (s *session) warn(pos config.Pos, cmd string, effect Effect, msg string) {
	s.e.warnings = append(s.e.warnings, Warning{Pos: config.Pos{File: pos.File, Line: pos.Line}, Command: cmd, Effect: effect, Msg: msg})
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
// aaaArgs is needArgs for a command of AAA-TM, which it turns on: the
// appliance authenticates on a vserver that has any of them.
func (s *session) aaaArgs(c *command, n int, usage string) bool {
	s.ns.aaaTM = true
	return s.needArgs(c, n, usage)
}

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

// decisionOptions are options authdev ignores that can change what a
// client gets back; every other ignored option only tunes the appliance.
var decisionOptions = []string{"httpsredirecturl", "redirectfromport", "redirecturl", "authnprofile", "listenpolicy",
	"backupvserver", "rule", "trafficdomain", "td", "dnsprofilename", "appfwprofile", "botprofile", "recaptcha"}

// finish warns about options of a supported command that authdev does not
// emulate, so that nothing is dropped silently. silent are options that
// change nothing a developer can observe through authdev.
func (s *session) finish(c *command, silent ...string) {
	var ignored []string
	effect := EffectNone
	for _, o := range c.opts {
		if o.used || o.name == "devno" || slices.Contains(silent, o.name) {
			continue // -devno numbers objects inside the appliance
		}
		ignored = append(ignored, o.tok.text)
		if slices.Contains(decisionOptions, o.name) {
			effect = EffectDecision
		}
	}
	if len(ignored) > 0 {
		s.warn(c.pos, c.verbText(), effect, fmt.Sprintf("%s: %s not emulated: ignored", c.verbText(), plural2(ignored, "option")))
	}
}

// useAll marks every option understood: for a command whose options all
// serve something authdev replaces as a whole (an nFactor flow).
func (c *command) useAll() {
	for _, o := range c.opts {
		o.used = true
	}
}

func plural2(xs []string, word string) string {
	if len(xs) == 1 {
		return word + " " + xs[0] + " is"
	}
	return word + "s " + strings.Join(xs, ", ") + " are"
}

// enableFeatures is `enable ns feature A B,C`.
func (s *session) enableFeatures(c *command) {
	n := s.ns
	for _, a := range c.args {
		for _, f := range strings.Split(a.text, ",") {
			if f = strings.ToUpper(strings.TrimSpace(f)); f != "" && !slices.Contains(n.features, f) {
				n.features = append(n.features, f)
			}
		}
	}
	s.finish(c)
}

// nsCommands is the dispatch of the ns.conf commands authdev reads: the
// lower-case verb and object, to the function that loads the command. The
// families live in nslb.go, nscs.go, nsaaa.go and nspolicies.go.
var nsCommands = map[string]func(*session, *command){
	"enable ns feature": (*session).enableFeatures,

	"add server":        (*session).addServer,
	"add servicegroup":  (*session).addServiceGroup,
	"bind servicegroup": (*session).bindServiceGroup,
	"add service":       (*session).addService,
	"bind service":      (*session).bindService,
	"add lb monitor":    (*session).addMonitor,
	"add lb vserver":    (*session).addVServer,
	"bind lb vserver":   (*session).bindVServer,
	"set lb vserver":    (*session).setVServer,

	"add cs vserver":  (*session).addCSVServer,
	"add cs action":   (*session).addCSAction,
	"add cs policy":   (*session).addCSPolicy,
	"bind cs vserver": (*session).bindCSVServer,

	"add authorization policy": (*session).addAuthorizationPolicy,
	"add rewrite action":       (*session).addRewriteAction,
	"add rewrite policy":       (*session).addRewritePolicy,
	"add responder action":     (*session).addResponderAction,
	"add responder policy":     (*session).addResponderPolicy,
	"bind rewrite global":      (*session).bindGlobal,
	"bind responder global":    (*session).bindGlobal,
	"add stream selector":      (*session).addSelector,
	"add ns limitidentifier":   (*session).addLimit,
	"add ns limitselector":     (*session).addSelector,
	"add policy patset":        (*session).addPatset,
	"bind policy patset":       (*session).bindPatset,
	"add policy stringmap":     (*session).addStringMap,
	"bind policy stringmap":    (*session).bindStringMap,
	"add policy expression":    (*session).addNamedExpr,
	"add audit messageaction":  (*session).addMessageAction,

	"add tm sessionaction":                 (*session).addSessionAction,
	"set tm sessionparameter":              (*session).setSessionParameter,
	"add tm sessionpolicy":                 (*session).addSessionPolicy,
	"bind tm global":                       (*session).bindTMGlobal,
	"add aaa group":                        (*session).addAAAEntity,
	"add aaa user":                         (*session).addAAAEntity,
	"bind aaa group":                       (*session).bindAAAEntity,
	"bind aaa user":                        (*session).bindAAAEntity,
	"add authentication vserver":           (*session).addAuthnVServer,
	"add authentication authnprofile":      (*session).addAuthnProfile,
	"bind authentication vserver":          (*session).bindAuthnVServer,
	"add authentication policy":            (*session).addAuthnPolicy,
	"add authentication oauthaction":       (*session).addOAuth,
	"add authentication ldapaction":        (*session).addLDAPAction,
	"add authentication radiusaction":      (*session).addRADIUSAction,
	"add authentication samlaction":        (*session).addSAMLAction,
	"add ssl certkey":                      (*session).addCertKey,
	"add authentication ldappolicy":        (*session).addClassicAuthnPolicy,
	"add authentication radiuspolicy":      (*session).addClassicAuthnPolicy,
	"add authentication samlpolicy":        (*session).addClassicAuthnPolicy,
	"add authentication loginschema":       (*session).addLoginSchema,
	"add authentication loginschemapolicy": (*session).addAuthnPolicy,
	"add authentication policylabel":       (*session).addPolicyLabel,
	"bind authentication policylabel":      (*session).bindPolicyLabel,
}

// family is what authdev knows of a kind of ns.conf object it does not
// emulate: whether it could change a decision, and why not.
type family struct {
	effect Effect
	why    string
}

// families classify the commands authdev does not read, by the first words
// of their object; the longest prefix wins.
var families = map[string]family{
	"ssl":                 {EffectNone, "TLS settings: authdev terminates TLS with its local CA"},
	"snmp":                {EffectNone, "monitoring of the appliance"},
	"dns":                 {EffectNone, "name resolution of the appliance"},
	"route":               {EffectNone, "networking of the appliance"},
	"route6":              {EffectNone, "networking of the appliance"},
	"arp":                 {EffectNone, "networking of the appliance"},
	"vlan":                {EffectNone, "networking of the appliance"},
	"vrid":                {EffectNone, "networking of the appliance"},
	"interface":           {EffectNone, "networking of the appliance"},
	"channel":             {EffectNone, "networking of the appliance"},
	"net":                 {EffectNone, "networking of the appliance"},
	"netprofile":          {EffectNone, "networking of the appliance"},
	"bridgetable":         {EffectNone, "networking of the appliance"},
	"nd6":                 {EffectNone, "networking of the appliance"},
	"ipset":               {EffectNone, "networking of the appliance"},
	"ha":                  {EffectNone, "high availability of the appliance"},
	"cluster":             {EffectNone, "clustering of the appliance"},
	"system":              {EffectNone, "administration of the appliance"},
	"locationparameter":   {EffectNone, "administration of the appliance"},
	"ntp":                 {EffectNone, "administration of the appliance"},
	"callhome":            {EffectNone, "administration of the appliance"},
	"audit":               {EffectNone, "logging of the appliance: authdev writes its own audit trail"},
	"appflow":             {EffectNone, "analytics export"},
	"analytics":           {EffectNone, "analytics export"},
	"metricsprofile":      {EffectNone, "analytics export"},
	"cache":               {EffectNone, "integrated caching: answers stay the backend's"},
	"cmp":                 {EffectNone, "compression: the body is the same once decompressed"},
	"feo":                 {EffectNone, "front-end optimization"},
	"gslb":                {EffectNone, "global server load balancing across sites: authdev is one site"},
	"lb parameter":        {EffectNone, "appliance-wide load-balancing tuning"},
	"lb group":            {EffectNone, "persistence groups"},
	"lb metrictable":      {EffectNone, "load-balancing metrics"},
	"ns ip":               {EffectNone, "networking of the appliance"},
	"ns ip6":              {EffectNone, "networking of the appliance"},
	"ns config":           {EffectNone, "administration of the appliance"},
	"ns hostname":         {EffectNone, "administration of the appliance"},
	"ns mode":             {EffectNone, "packet-forwarding modes"},
	"ns feature":          {EffectNone, "features authdev does not emulate are reported where they are used"},
	"ns param":            {EffectNone, "appliance-wide tuning"},
	"ns tcpparam":         {EffectNone, "TCP tuning"},
	"ns tcpprofile":       {EffectNone, "TCP tuning"},
	"ns httpprofile":      {EffectNone, "HTTP connection tuning"},
	"ns httpparam":        {EffectNone, "HTTP connection tuning"},
	"ns timeout":          {EffectNone, "connection timeouts"},
	"ns encryptionparams": {EffectNone, "administration of the appliance"},
	"ns rpcnode":          {EffectNone, "administration of the appliance"},
	"ns tcpbufparam":      {EffectNone, "TCP tuning"},
	"ns weblogparam":      {EffectNone, "logging of the appliance"},
	"ns diameter":         {EffectNone, "not HTTP"},
	"ns spparams":         {EffectNone, "surge protection tuning"},
	"ns dhcpparams":       {EffectNone, "networking of the appliance"},
	"ns trafficdomain":    {EffectNone, "networking of the appliance"},
	"ns partition":        {EffectNone, "administration of the appliance"},
	"ns ntp":              {EffectNone, "administration of the appliance"},
	"ns appflowparam":     {EffectNone, "analytics export"},
	"ns httpcallout":      {EffectDecision, "HTTP callouts ask another server during evaluation"},
	"ns acl":              {EffectDecision, "ACLs drop traffic before any policy"},
	"ns acl6":             {EffectDecision, "ACLs drop traffic before any policy"},
	"ns simpleacl":        {EffectDecision, "ACLs drop traffic before any policy"},
	"ns simpleacl6":       {EffectDecision, "ACLs drop traffic before any policy"},
	"ns acls":             {EffectDecision, "ACLs drop traffic before any policy"},
	"ns variable":         {EffectDecision, "variables can be read by policies"},
	"ns assignment":       {EffectDecision, "variables can be read by policies"},
	"ns limitselector":    {EffectDecision, "classic rate-limit selectors"},
	"ns pbr":              {EffectNone, "policy-based routing of packets"},
	"ns pbr6":             {EffectNone, "policy-based routing of packets"},
	"ns rnat":             {EffectNone, "networking of the appliance"},
	"ns extension":        {EffectDecision, "extensions run code during evaluation"},
	"rnat":                {EffectNone, "networking of the appliance"},
	"ipsec":               {EffectNone, "networking of the appliance"},
	"tunnel":              {EffectNone, "networking of the appliance"},
	"ip6tunnel":           {EffectNone, "networking of the appliance"},
	"lsn":                 {EffectNone, "carrier-grade NAT"},
	"smpp":                {EffectNone, "not HTTP"},
	"subscriber":          {EffectNone, "not HTTP"},
	"rdp":                 {EffectNone, "remote desktop proxy, not HTTP"},
	"ica":                 {EffectNone, "Citrix ICA, not HTTP"},
	"reporting":           {EffectNone, "administration of the appliance"},
	"qos":                 {EffectNone, "quality of service"},
	"videooptimization":   {EffectNone, "video pacing"},
	"server":              {EffectNone, "server settings authdev does not use"},
	"service":             {EffectNone, "service settings authdev does not use"},
	"servicegroup":        {EffectNone, "service group settings authdev does not use"},
	"lb monitor":          {EffectNone, "health monitoring: authdev's monitor is the one the file adds"},
	"nd6ravariables":      {EffectNone, "networking of the appliance"},
	"rsskeytype":          {EffectNone, "networking of the appliance"},
	"ptp":                 {EffectNone, "networking of the appliance"},
	"lacp":                {EffectNone, "networking of the appliance"},
	"ip6tunnelparam":      {EffectNone, "networking of the appliance"},
	"cloud":               {EffectNone, "administration of the appliance"},
	"cloudtunnel":         {EffectNone, "administration of the appliance"},
	"tm trafficaction":    {EffectNone, "single sign-on to the backend: authdev sends its signed assertion instead"},
	"tm trafficpolicy":    {EffectNone, "single sign-on to the backend: authdev sends its signed assertion instead"},
	"tm formssoaction":    {EffectNone, "single sign-on to the backend: authdev sends its signed assertion instead"},
	"tm samlssoprofile":   {EffectNone, "single sign-on to the backend: authdev sends its signed assertion instead"},
	"tm global":           {EffectNone, "traffic-management bindings authdev does not model"},
	"authentication":      {EffectNone, "authentication step: authdev logs the persona in through its own IdP"},
	"aaa parameter":       {EffectNone, "AAA tuning"},
	"aaa ldapparams":      {EffectNone, "authentication step: authdev logs the persona in through its own IdP"},
	"aaa radiusparams":    {EffectNone, "authentication step: authdev logs the persona in through its own IdP"},
	"aaa kcdaccount":      {EffectNone, "single sign-on to the backend: authdev sends its signed assertion instead"},
	"aaa global":          {EffectNone, "AAA bindings authdev does not model"},
	"aaa certparams":      {EffectNone, "authentication step: authdev logs the persona in through its own IdP"},
	"aaa otpparameter":    {EffectNone, "authentication step: authdev logs the persona in through its own IdP"},
	"user":                {EffectNone, "user-defined protocol extensions"},
	"stream identifier":   {EffectNone, "traffic statistics"},
	"appqoe":              {EffectDecision, "AppQoE can answer requests itself"},
	"appfw":               {EffectNone, "web application firewall settings: they act only through a bound appfw policy"},
	"appfw policy":        {EffectDecision, "the web application firewall blocks requests"},
	"appfw global":        {EffectDecision, "the web application firewall blocks requests"},
	"bot":                 {EffectNone, "bot management settings: they act only through a bound bot policy"},
	"bot policy":          {EffectDecision, "bot management blocks requests"},
	"bot global":          {EffectDecision, "bot management blocks requests"},
	"filter":              {EffectDecision, "classic filter policies can deny requests"},
	"transform":           {EffectDecision, "URL transformation changes the request"},
	"vpn":                 {EffectDecision, "NetScaler Gateway is not emulated"},
	"policy httpcallout":  {EffectDecision, "HTTP callouts ask another server during evaluation"},
	"policy map":          {EffectDecision, "classic URL maps rewrite requests"},
	"policy dataset":      {EffectDecision, "data sets are read by policies"},
	"contentinspection":   {EffectDecision, "content inspection can block requests"},
	"icap":                {EffectDecision, "ICAP servers can block requests"},
	"dos":                 {EffectDecision, "DoS protection can answer requests itself"},
	"spillover":           {EffectDecision, "spillover policies choose another vserver"},
	"responder":           {EffectDecision, "responder settings authdev does not model"},
	"rewrite":             {EffectDecision, "rewrite settings authdev does not model"},
	"authorization":       {EffectDecision, "authorization settings authdev does not model"},
	"cs":                  {EffectDecision, "content-switching settings authdev does not model"},
	"lb":                  {EffectDecision, "load-balancing settings authdev does not model"},
	"tm":                  {EffectDecision, "AAA-TM settings authdev does not model"},
	"aaa":                 {EffectDecision, "AAA settings authdev does not model"},
	"ns":                  {EffectNone, "appliance settings"},
}

// cliVerbs are the verbs of the NetScaler CLI: a line that starts with
// anything else is refused by the appliance.
var cliVerbs = setOf("add", "set", "unset", "bind", "unbind", "enable", "disable", "rm", "link", "unlink", "create",
	"update", "apply", "import", "clear", "rename", "save", "show", "stat", "sync", "force", "reset", "kill", "send",
	"install", "shell", "join", "expire", "flush", "start", "stop", "renumber", "check", "convert", "push", "batch")

// unknownCommand classifies a command authdev does not read: by what it
// configures and, for a change to an object authdev emulates, as able to
// change a decision.
func (s *session) unknownCommand(c *command) {
	verb, object, _ := strings.Cut(c.key, " ")
	if !cliVerbs[verb] {
		s.fail(config.Pos{File: c.pos.File, Line: c.pos.Line, Col: c.pos.Col}, fmt.Sprintf("%q is not an ns.conf command: a line starts with add, set, bind, enable... (the appliance refuses it); remove it or make it a # comment", c.verbText()))
		return
	}
	f, explicit := familyOf(object)
	if !explicit || f.effect != EffectNone {
		if verb == "rm" || verb == "unbind" || verb == "disable" || ((verb == "set" || verb == "unset") && s.reads(object)) {
			f = family{EffectDecision, "it changes an object authdev emulates, and the change is not emulated"}
		}
	}
	s.noteForeignPolicy(c, object, f.effect)
	s.warn(c.pos, c.verbText(), f.effect, fmt.Sprintf("%q is not emulated: %s", c.verbText(), f.why))
}

// familyOf finds what authdev knows of an object by its longest known
// prefix; explicit is false for an object it does not know at all.
func familyOf(object string) (f family, explicit bool) {
	f = family{EffectDecision, "authdev does not know this command"}
	best := -1
	for prefix, fam := range families {
		if (object == prefix || strings.HasPrefix(object, prefix+" ")) && len(prefix) > best {
			f, best = fam, len(prefix)
		}
	}
	return f, best >= 0
}

// reads reports whether authdev loads some command on this object (or
// the object a command names, as in "set lb vserver v1").
func (s *session) reads(object string) bool {
	for key := range nsCommands {
		if _, o, _ := strings.Cut(key, " "); object == o || strings.HasPrefix(object, o+" ") {
			return true
		}
	}
	return false
}

// noteForeignPolicy remembers `add cmp policy NAME ...` and the like, so
// that binding NAME to a vserver is understood.
func (s *session) noteForeignPolicy(c *command, object string, effect Effect) {
	fam, kind, ok := strings.Cut(object, " ")
	if !strings.HasPrefix(c.key, "add ") || !ok || !strings.HasSuffix(kind, "policy") || len(c.args) == 0 {
		return
	}
	if c.key == "add "+object {
		s.ns.foreign[c.args[0].text] = foreignPolicy{family: fam, effect: effect}
	}
}
