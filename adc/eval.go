package adc

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"unsafe"

	"github.com/authdev/authdev/config"
)

// evalCtx is the state of evaluating one request. It lives inside the
// Result the proxy reuses, so that evaluation allocates nothing.
type evalCtx struct {
	req   *Request
	eng   *Engine
	undef string // the first evaluation error: the policy is UNDEF
	host  [1]string
	// url is HTTP.REQ.URL, split once per request: most rules read the path.
	urlDone          bool
	url, path, query string
	key              []byte // scratch for rate-limit keys
	instance         string // the header instance a text operation reads
	arena            []byte // where joined lists are built; see join
}

// The arena: text the engine builds for a request (joined lists, string
// builders, numbers and addresses as text) is appended to an arena whose
// written bytes are never changed again (a full arena is replaced, not
// reused). The strings stay valid after the Result is reused, and building
// them costs one allocation per arenaSize bytes instead of one per request.

// reserve makes room for n more bytes, replacing a full arena.
func (e *evalCtx) reserve(n int) {
	if cap(e.arena)-len(e.arena) < n {
		e.arena = make([]byte, 0, max(arenaSize, n))
	}
}

// since is the text appended to the arena from start on.
func (e *evalCtx) since(start int) string {
	if len(e.arena) == start {
		return ""
	}
	return unsafe.String(&e.arena[start], len(e.arena)-start)
}

// join joins n items with commas, as AAA.USER.GROUPS.
func (e *evalCtx) join(n int, item func(int) string) string {
	size := n - 1
	for i := 0; i < n; i++ {
		size += len(item(i))
	}
	if n == 0 || size <= 0 {
		return ""
	}
	if size > arenaSize/4 {
		b := make([]byte, 0, size)
		for i := 0; i < n; i++ {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, item(i)...)
		}
		return string(b)
	}
	e.reserve(size)
	start := len(e.arena)
	for i := 0; i < n; i++ {
		if i > 0 {
			e.arena = append(e.arena, ',')
		}
		e.arena = append(e.arena, item(i)...)
	}
	return e.since(start)
}

// concat is the string builder's "+".
func (e *evalCtx) concat(a, b string) string {
	switch n := len(a) + len(b); {
	case len(a) == 0:
		return b
	case len(b) == 0:
		return a
	case n > arenaSize/4:
		return a + b
	default:
		e.reserve(n)
		start := len(e.arena)
		e.arena = append(append(e.arena, a...), b...)
		return e.since(start)
	}
}

// numText is a number as text.
func (e *evalCtx) numText(n int64) string {
	e.reserve(20)
	start := len(e.arena)
	e.arena = strconv.AppendInt(e.arena, n, 10)
	return e.since(start)
}

// ipText is an address as text, "" for none.
func (e *evalCtx) ipText(a netip.Addr) string {
	e.reserve(46)
	start := len(e.arena)
	e.arena = appendAddr(e.arena, a)
	return e.since(start)
}

const arenaSize = 4096

// urlSafe percent-encodes the bytes that may not appear in a URL, as
// HTTP_URL_SAFE does; text that needs none is returned as is.
func (e *evalCtx) urlSafe(s string) string {
	i := 0
	for i < len(s) && urlSafeByte(s[i]) {
		i++
	}
	if i == len(s) {
		return s
	}
	e.reserve(len(s) * 3)
	start := len(e.arena)
	for k := 0; k < len(s); k++ {
		if b := s[k]; urlSafeByte(b) {
			e.arena = append(e.arena, b)
		} else {
			e.arena = append(e.arena, '%', "0123456789ABCDEF"[b>>4], "0123456789ABCDEF"[b&15])
		}
	}
	return e.since(start)
}

// urlSafeByte: the characters NetScaler's HTTP_URL_SAFE keeps, letters
// and digits and * & @ : $ . = ! - ( ) + ; ' / ~ _; every other byte is
// percent-encoded.
func urlSafeByte(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || strings.IndexByte("*&@:$.=!-()+;'/~_", b) >= 0
}

// decodeText undoes percent-encoding (decodeURL) and "+" for a space
// (decodePlus); a malformed escape is kept as written.
func (e *evalCtx) decodeText(s string, mode decodeMode) string {
	if mode == 0 || (!strings.Contains(s, "%") && (mode&decodePlus == 0 || !strings.Contains(s, "+"))) {
		return s
	}
	e.reserve(len(s))
	start := len(e.arena)
	for k := 0; k < len(s); k++ {
		switch b := s[k]; {
		case b == '%' && mode&decodeURL != 0 && k+2 < len(s) && isHex(s[k+1]) && isHex(s[k+2]):
			e.arena = append(e.arena, unhex(s[k+1])<<4|unhex(s[k+2]))
			k += 2
		case b == '+' && mode&decodePlus != 0:
			e.arena = append(e.arena, ' ')
		default:
			e.arena = append(e.arena, b)
		}
	}
	return e.since(start)
}

// undefMsg makes the policy UNDEF with a fixed message.
func (e *evalCtx) undefMsg(msg string) {
	if e.undef == "" {
		e.undef = msg
	}
}

func (e *evalCtx) setUndef(format string, args ...any) {
	if e.undef == "" {
		e.undef = fmt.Sprintf(format, args...)
	}
}

// reqURL is HTTP.REQ.URL: the path and query as the client sent them.
func reqURL(e *evalCtx) string {
	e.splitURL()
	return e.url
}

func reqPath(e *evalCtx) string {
	e.splitURL()
	return e.path
}

func reqQuery(e *evalCtx) string {
	e.splitURL()
	return e.query
}

func (e *evalCtx) splitURL() {
	if e.urlDone {
		return
	}
	e.urlDone = true
	e.url = rawURL(e.req)
	e.path, e.query, _ = strings.Cut(e.url, "?")
}

func rawURL(req *Request) string {
	r := req.HTTP
	if r == nil {
		return ""
	}
	u := r.RequestURI
	if u == "" && r.URL != nil {
		return r.URL.RequestURI()
	}
	if len(u) > 0 && u[0] != '/' {
		// The absolute form a client sends to a forward proxy.
		if _, rest, ok := strings.Cut(u, "://"); ok {
			if i := strings.IndexByte(rest, '/'); i >= 0 {
				return rest[i:]
			}
			return "/"
		}
	}
	return u
}

func reqHost(e *evalCtx) string {
	r := e.req.HTTP
	if r == nil {
		return ""
	}
	if r.Host == "" && r.URL != nil {
		return r.URL.Host
	}
	return r.Host
}

func reqPort(e *evalCtx) int64 {
	_, port := splitHostPort(reqHost(e))
	if p, err := strconv.ParseInt(port, 10, 64); err == nil {
		return p
	}
	if r := e.req.HTTP; r != nil && r.TLS != nil {
		return 443
	}
	return 80
}

func splitHostPort(h string) (host, port string) {
	if strings.HasPrefix(h, "[") {
		end := strings.IndexByte(h, ']')
		if end < 0 {
			return h, ""
		}
		host, rest := h[1:end], h[end+1:]
		return host, strings.TrimPrefix(rest, ":")
	}
	if i := strings.LastIndexByte(h, ':'); i >= 0 && strings.IndexByte(h[:i], ':') < 0 {
		return h[:i], h[i+1:]
	}
	return h, ""
}

func reqMethod(e *evalCtx) string {
	r := e.req.HTTP
	if r == nil {
		return ""
	}
	if r.Method == "" {
		return "GET"
	}
	return r.Method
}

// headerValues are every instance of a header; name is canonical.
func headerValues(e *evalCtx, name string) []string {
	r := e.req.HTTP
	if r == nil {
		return nil
	}
	if name == "Host" {
		// Go moves Host out of the header map.
		e.host[0] = reqHost(e)
		if e.host[0] == "" {
			return nil
		}
		return e.host[:]
	}
	return r.Header[name]
}

// lastHeader is HTTP.REQ.HEADER("x"): the ADC reads the last instance of a
// repeated header (INSTANCE(0) counts from the end).
func lastHeader(e *evalCtx, name string) string {
	vs := headerValues(e, name)
	if len(vs) == 0 {
		return ""
	}
	return vs[len(vs)-1]
}

func cookieValue(e *evalCtx, name string) (string, bool) {
	for _, line := range headerValues(e, "Cookie") {
		for line != "" {
			var part string
			part, line, _ = strings.Cut(line, ";")
			k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
			if k == name {
				return strings.Trim(v, `"`), true
			}
		}
	}
	return "", false
}

func cookieCount(e *evalCtx) int64 {
	var n int64
	for _, line := range headerValues(e, "Cookie") {
		for line != "" {
			var part string
			part, line, _ = strings.Cut(line, ";")
			if strings.TrimSpace(part) != "" {
				n++
			}
		}
	}
	return n
}

// queryValue returns the raw value of the first parameter called name.
func queryValue(q, name string, fold bool) string {
	for q != "" {
		var part string
		part, q, _ = strings.Cut(q, "&")
		k, v, _ := strings.Cut(part, "=")
		if textEqual(k, name, fold) {
			return v
		}
	}
	return ""
}

// joinList joins with commas; one item needs no copy.
func (e *evalCtx) joinList(xs []string) string {
	switch len(xs) {
	case 0:
		return ""
	case 1:
		return xs[0]
	}
	return e.join(len(xs), func(i int) string { return xs[i] })
}

// isMember is AAA.USER.IS_MEMBER_OF: the environment's roles and the IdP's
// raw groups both count.
func isMember(u *User, g string) bool {
	if u == nil {
		return false
	}
	for _, r := range u.Roles {
		if r == g {
			return true
		}
	}
	for _, x := range u.Groups {
		if x == g {
			return true
		}
	}
	return false
}

// attribute is AAA.USER.ATTRIBUTE: any claim, lists joined with commas.
func attribute(e *evalCtx, claim string) string {
	u := e.req.User
	if u == nil {
		return ""
	}
	switch v := u.Attributes[claim].(type) {
	case []string:
		return e.joinList(v)
	case []any:
		if len(v) == 1 {
			if s, ok := v[0].(string); ok {
				return s
			}
		}
		if allStrings(v) {
			return e.join(len(v), func(i int) string { return v[i].(string) })
		}
		return claimText(v)
	default:
		return claimText(v)
	}
}

func allStrings(v []any) bool {
	for _, x := range v {
		if _, ok := x.(string); !ok {
			return false
		}
	}
	return true
}

func claimText(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case []string:
		return strings.Join(v, ",")
	case []any:
		parts := make([]string, len(v))
		for i, x := range v {
			parts[i] = claimText(x)
		}
		return strings.Join(parts, ",")
	case bool:
		return strconv.FormatBool(v)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case int:
		return strconv.Itoa(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case json.Number:
		return v.String()
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func textEqual(a, b string, fold bool) bool {
	if fold {
		return strings.EqualFold(a, b)
	}
	return a == b
}

func hasPrefix(s, p string, fold bool) bool {
	if !fold {
		return strings.HasPrefix(s, p)
	}
	return len(s) >= len(p) && strings.EqualFold(s[:len(p)], p)
}

func hasSuffix(s, p string, fold bool) bool {
	if !fold {
		return strings.HasSuffix(s, p)
	}
	return len(s) >= len(p) && strings.EqualFold(s[len(s)-len(p):], p)
}

// textIndex finds sub in s; case-blind without allocating when fold.
func textIndex(s, sub string, fold bool) int {
	if !fold {
		return strings.Index(s, sub)
	}
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return i
		}
	}
	return -1
}

func afterStr(s, sub string, fold bool) string {
	if i := textIndex(s, sub, fold); i >= 0 {
		return s[i+len(sub):]
	}
	return ""
}

func beforeStr(s, sub string, fold bool) string {
	if i := textIndex(s, sub, fold); i >= 0 {
		return s[:i]
	}
	return ""
}

// appendAddr writes an address without allocating, for rate-limit keys.
func appendAddr(b []byte, a netip.Addr) []byte {
	if !a.IsValid() {
		return b
	}
	return a.Unmap().AppendTo(b)
}

// didYouMean suggests the closest candidate to a likely typo.
func didYouMean(word string, candidates []string) string {
	if best := config.Suggest(word, candidates); best != "" {
		return fmt.Sprintf(" (did you mean %s?)", best)
	}
	return ""
}
