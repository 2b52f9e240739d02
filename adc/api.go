package adc

import (
	"net/http"
	"net/netip"
)

// This file is the contract between the proxy and the policy engine: the
// proxy builds a Request per HTTP request, calls Engine.Evaluate, and acts
// on the Result. Engine, Compile and Evaluate live beside it.

// Request is what policies can see of one HTTP request.
type Request struct {
	HTTP     *http.Request
	ClientIP netip.Addr
	// Body holds the first bytes of the request body, read by the proxy only
	// when Engine.NeedsBody reports that a policy looks at HTTP.REQ.BODY.
	Body []byte
	// User is the authenticated identity; nil when there is none.
	User *User
	// Upstream names the upstream the request routes to: policies bound to
	// an lb vserver of that name apply, besides those of vservers that map
	// to the proxy itself. "" applies every vserver's policies.
	Upstream string
	// VServer names the cs vserver the request arrives at, when the ns.conf
	// has several; "" is the first SSL one (else the first). Without cs
	// vservers it is not used.
	VServer string
	// RelayState is AAA.LOGIN.RELAYSTATE, set when a samlAction's
	// -relaystateRule checks a SAML login.
	RelayState string
}

// User is AAA.USER: the identity the proxy established.
type User struct {
	Name   string   // AAA.USER.NAME: the email claim (or the OAuth action's userNameField)
	Groups []string // raw IdP groups
	Roles  []string // the environment's roles for those groups
	// Attributes are every claim of the token, for AAA.USER.ATTRIBUTE; the
	// proxy adds "roles" and "groups" as lists.
	Attributes map[string]any
	// SAMLAction names the ns.conf samlAction that logged the user in, if
	// any: AAA.USER.ATTRIBUTE(n) numbers its -attribute1..16.
	SAMLAction string
}

// Result is what the engine decided for a request. The proxy reuses one
// Result per request; Evaluate resets it.
type Result struct {
	// Response, when set, is a responder's answer: send it and stop.
	Response *Response
	// Allowed is the authorization decision; Policy names the policy that
	// decided it, or is "" when the default authorization action did.
	Allowed bool
	Policy  string
	// Headers are the rewrites for the upstream request, in order: the
	// YAML `headers` first, then ns.conf rewrite policies.
	Headers []HeaderOp
	// Trace is every policy considered, in evaluation order.
	Trace []PolicyTrace
	// Target is the lb vserver content switching picked; "" without cs
	// vservers, or when none matched and there is no default.
	Target string
	// Messages are the audit message actions of the policies that
	// matched, as the ADC writes them to ns.log.
	Messages []AuditMessage
	// URL, when not "", is the path and query a rewrite policy replaced
	// the request's with (replace HTTP.REQ.URL / .PATH / .QUERY).
	URL string

	ctx evalCtx // reused scratch space, so that Evaluate allocates nothing
}

// Response is a responder action's answer.
type Response struct {
	Status int
	Header http.Header
	Body   string
	Drop   bool // close the connection without an answer (DROP)
	Reset  bool // reset the connection (RESET)
}

// HeaderOp is one rewrite of the upstream request's headers.
type HeaderOp struct {
	Op    string // "insert" or "delete" (a replace is a delete and an insert)
	Name  string
	Value string
}

// PolicyTrace is one policy considered for a request.
type PolicyTrace struct {
	Name     string
	Kind     string // KindResponder, KindAuthorization, KindRewrite, KindSession, KindContentSwitching
	Rule     string
	Priority int
	Matched  bool
	Action   string
	Error    string // an evaluation error: the policy is UNDEF
}

// AuditMessage is what an `add audit messageaction` wrote for a policy.
type AuditMessage struct {
	Policy string
	Level  string // EMERGENCY, ALERT, CRITICAL, ERROR, WARNING, NOTICE, INFORMATIONAL, DEBUG
	Text   string
}
