package devproxy

import (
	"net/http"
	"net/textproto"
	"strings"

	"github.com/authdev/authdev/adc"
	"github.com/authdev/authdev/identity"
)

// alwaysOwned are headers the proxy strips from every client request in
// addition to the configured identity headers: its assertion, and the
// forwarding headers it sets itself. httputil.ReverseProxy removes the
// canonical X-Forwarded-* names, but not X_Forwarded_For, which WSGI-style
// servers read as the same variable (GHSA-vjrc-mh2v-45x6).
var alwaysOwned = []string{
	identity.Header, identity.HeaderUser, identity.HeaderGroups, identity.HeaderRoles, "Remote-User",
	"X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Forwarded-Port",
	"X-Forwarded-Server", "X-Forwarded-Prefix", "X-Forwarded-User", "X-Forwarded-Email",
	"X-Forwarded-Groups", "X-Forwarded-Access-Token", "Forwarded", "X-Real-Ip",
}

// headerSet matches header names the way backends may read them: without
// regard to case, with '_' the same as '-'.
type headerSet struct {
	byLen [128][]string // normalised names (lower case, '-') by length
	names []string      // as given, for display
}

func newHeaderSet(names ...string) *headerSet {
	s := &headerSet{}
	for _, n := range names {
		norm := normaliseHeader(n)
		if len(norm) == 0 || len(norm) >= len(s.byLen) || s.hasNorm(norm) {
			continue
		}
		s.byLen[len(norm)] = append(s.byLen[len(norm)], norm)
		s.names = append(s.names, textproto.CanonicalMIMEHeaderKey(n))
	}
	return s
}

func normaliseHeader(n string) string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimSpace(n)), "_", "-")
}

func (s *headerSet) hasNorm(norm string) bool {
	for _, o := range s.byLen[len(norm)] {
		if o == norm {
			return true
		}
	}
	return false
}

// has reports whether name is in the set, without allocating.
func (s *headerSet) has(name string) bool {
	if len(name) >= len(s.byLen) {
		return false
	}
	for _, o := range s.byLen[len(name)] {
		if sameHeaderName(o, name) {
			return true
		}
	}
	return false
}

// sameHeaderName compares a normalised name with a name off the wire.
func sameHeaderName(norm, name string) bool {
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '_':
			c = '-'
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		if c != norm[i] {
			return false
		}
	}
	return true
}

// strip deletes every header of h in the set, every repetition of it, and
// returns the names as they arrived (nil when there were none).
func (s *headerSet) strip(h http.Header) []string {
	var stripped []string
	for k := range h {
		if s.has(k) {
			delete(h, k)
			stripped = append(stripped, k)
		}
	}
	return stripped
}

// Cookie names the proxy owns.
const (
	SessionCookie     = "NSC_TMAS"
	loginCookiePrefix = "NSC_TASS_"
)

// dropOwnedCookies removes the proxy's own cookies from the Cookie headers,
// so the backend never sees a session it could replay.
func dropOwnedCookies(h http.Header) {
	values := h["Cookie"]
	if len(values) == 0 {
		return
	}
	keep := values[:0]
	for _, v := range values {
		if !containsFold(v, "nsc_t") {
			keep = append(keep, v)
			continue
		}
		if v = withoutOwnedCookies(v); v != "" {
			keep = append(keep, v)
		}
	}
	if len(keep) == 0 {
		delete(h, "Cookie")
		return
	}
	h["Cookie"] = keep
}

// withoutOwnedCookies is one Cookie header without the proxy's cookies: the
// other parts, trimmed, joined by "; ". When one part is left (a browser's
// usual "theme=dark; NSC_TMAS=…") it is a substring of v and costs no
// allocation; otherwise the result is built once.
func withoutOwnedCookies(v string) string {
	var (
		b         strings.Builder
		first     string // the output while it is a single part of v
		composite bool   // the output is in b
		size      = len(v) + 16
	)
	for {
		part, rest, more := strings.Cut(v, ";")
		part = strings.TrimSpace(part)
		if name, _, _ := strings.Cut(part, "="); !isOwnedCookie(name) {
			switch {
			case composite:
				b.WriteString("; ")
				b.WriteString(part)
			case first == "":
				// Nothing written yet: no separator, as before.
				first = part
			default:
				composite = true
				b.Grow(size)
				b.WriteString(first)
				b.WriteString("; ")
				b.WriteString(part)
			}
		}
		if !more {
			break
		}
		v = rest
	}
	if composite {
		return b.String()
	}
	return first
}

func isOwnedCookie(name string) bool {
	return strings.EqualFold(name, SessionCookie) ||
		(len(name) >= len(loginCookiePrefix) && strings.EqualFold(name[:len(loginCookiePrefix)], loginCookiePrefix))
}

func containsFold(s, lowerSub string) bool {
	n := len(lowerSub)
	for i := 0; i+n <= len(s); i++ {
		if sameFold(s[i:i+n], lowerSub) {
			return true
		}
	}
	return false
}

func sameFold(s, lower string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// applyHeaderOps performs the engine's rewrites on the upstream request,
// in order. Deletes match names the way stripping does.
func applyHeaderOps(h http.Header, ops []adc.HeaderOp) {
	var vals []string
	for i, op := range ops {
		switch op.Op {
		case "insert":
			k := textproto.CanonicalMIMEHeaderKey(op.Name)
			v := cleanHeaderValue(op.Value)
			if old := h[k]; len(old) > 0 {
				h[k] = append(old, v)
				continue
			}
			// One backing array for every new header, rather than one
			// each; capacity 1 per header, so that an append copies.
			if len(vals) == 0 {
				vals = make([]string, len(ops)-i)
			}
			vals[0] = v
			h[k], vals = vals[:1:1], vals[1:]
		case "delete":
			deleteHeader(h, normaliseHeader(op.Name))
		}
	}
}

// deleteHeader deletes every header of h whose name, normalised, is norm.
func deleteHeader(h http.Header, norm string) {
	for k := range h {
		if len(k) == len(norm) && sameHeaderName(norm, k) {
			delete(h, k)
		}
	}
}

// cleanHeaderValue replaces control characters, which would make the
// transport refuse the whole request, with spaces.
func cleanHeaderValue(v string) string {
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < 0x20 && c != '\t') || c == 0x7f {
			b := []byte(v)
			for j := i; j < len(b); j++ {
				if c := b[j]; (c < 0x20 && c != '\t') || c == 0x7f {
					b[j] = ' '
				}
			}
			return string(b)
		}
	}
	return v
}
