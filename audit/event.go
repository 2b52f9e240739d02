package audit

import (
	"time"
)

// Kind says what an Event records.
type Kind string

// Kinds of events.
const (
	KindRequest      Kind = "request"       // a request the proxy answered
	KindLogin        Kind = "login"         // a browser session began
	KindLogout       Kind = "logout"        // a browser session ended
	KindTokenRefused Kind = "token_refused" // a bearer token or cookie was rejected
	KindDecision     Kind = "decision"      // an authorization decision (also inside a request)
	KindNotice       Kind = "notice"        // stack news: persona switched, config reloaded, upstream down
)

// Decision is what the proxy's policies made of a request.
type Decision string

// Decisions, as the log line's "decision" field spells them.
const (
	DecisionAllow   Decision = "allow"   // forwarded to the upstream
	DecisionDeny    Decision = "deny"    // refused with 403 by a policy or the default action
	DecisionRespond Decision = "respond" // answered by a responder policy, never forwarded
)

// Event is one audit record. Tokens and cookies never go in it: Assertion
// holds decoded claims, not the signed token.
type Event struct {
	Time     time.Time     `json:"time"`
	Kind     Kind          `json:"kind"`
	Persona  string        `json:"persona,omitempty"`
	User     string        `json:"user,omitempty"`
	Env      string        `json:"env,omitempty"`
	Method   string        `json:"method,omitempty"`
	Path     string        `json:"path,omitempty"`
	Upstream string        `json:"upstream,omitempty"`
	Target   string        `json:"target,omitempty"`
	Status   int           `json:"status,omitempty"`
	Latency  time.Duration `json:"latency_ns,omitempty"`
	Decision Decision      `json:"decision,omitempty"` // "" when no policy ran (the request was refused first)
	Policy   string        `json:"policy,omitempty"`   // the deciding policy; "" = the default action
	Via      string        `json:"via,omitempty"`      // session | bearer | saml (a session's SAML login)
	ClientIP string        `json:"client_ip,omitempty"`
	// RequestID is the client's X-Request-Id, to find a request of a test
	// run or of the backend's log in the audit trail.
	RequestID string `json:"request_id,omitempty"`
	Message   string `json:"message,omitempty"` // reason of a refusal, text of a notice
	Level     string `json:"level,omitempty"`   // info | warn | error, for notices

	// Detail, for the TUI and whoami; omitted from the log line when empty.
	Claims          map[string]any    `json:"claims,omitempty"`
	HeadersInjected map[string]string `json:"headers_injected,omitempty"`
	HeadersStripped []string          `json:"headers_stripped,omitempty"`
	Assertion       map[string]any    `json:"assertion,omitempty"`
	Trace           []PolicyResult    `json:"trace,omitempty"`
	// Messages are what the ns.conf's audit message actions wrote for
	// this request (-logAction on a policy), as the ADC writes them to ns.log.
	Messages []PolicyMessage `json:"messages,omitempty"`
}

// PolicyMessage is the text of an `add audit messageaction`, written when
// the policy naming it in -logAction matched.
type PolicyMessage struct {
	Policy string `json:"policy"`
	Level  string `json:"level"` // EMERGENCY … INFORMATIONAL, DEBUG
	Text   string `json:"text"`
}

// PolicyResult is one policy considered for a request.
type PolicyResult struct {
	Name     string `json:"name"`
	Kind     string `json:"kind"` // authorization | responder | rewrite | session | content switching
	Rule     string `json:"rule"`
	Priority int    `json:"priority,omitempty"`
	Matched  bool   `json:"matched"`
	Action   string `json:"action,omitempty"`
	Error    string `json:"error,omitempty"` // an evaluation error (the policy is then UNDEF)
}
