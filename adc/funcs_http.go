package adc

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// The properties of the request's namespaces: HTTP.REQ, CLIENT, AAA, SYS.

// ns is a namespace property: a namespace of the given kind.
func ns(kind string) funcSpec {
	return func(c *compiler, recv val, n *node) (val, error) {
		return val{ty: tyNS, kind: kind}, c.noArgs(n)
	}
}

// textProp is a property whose value is text read from the request.
func textProp(kind string, f textFn) funcSpec {
	return func(c *compiler, recv val, n *node) (val, error) {
		return val{ty: tyText, kind: kind, text: f, fold: recv.fold}, c.noArgs(n)
	}
}

func boolProp(f boolFn) funcSpec {
	return func(c *compiler, recv val, n *node) (val, error) {
		return val{ty: tyBool, pred: f}, c.noArgs(n)
	}
}

func numProp(f numFn) funcSpec {
	return func(c *compiler, recv val, n *node) (val, error) {
		return val{ty: tyNum, num: f}, c.noArgs(n)
	}
}

func httpProps() map[string]funcSpec {
	return map[string]funcSpec{
		"REQ": ns("http.req"),
		"RES": func(c *compiler, recv val, n *node) (val, error) {
			return val{}, &exprError{off: n.tok.pos, msg: "HTTP.RES is not emulated: authdev evaluates requests only", notEmulated: true}
		},
	}
}

func httpReqProps() map[string]funcSpec {
	return map[string]funcSpec{
		"URL":      textProp("url", reqURL),
		"HOSTNAME": hostname,
		"METHOD":   textProp("method", reqMethod),
		"CONTENT_LENGTH": numProp(func(e *evalCtx) int64 {
			if e.req.HTTP == nil {
				return 0
			}
			return max(e.req.HTTP.ContentLength, 0)
		}),
		"HEADER": header,
		"COOKIE": textProp("cookie", func(e *evalCtx) string { return lastHeader(e, "Cookie") }),
		"BODY":   body,
		"USER":   ns("aaa.user"),
		// The proxy only evaluates requests Go's HTTP server parsed: valid ones.
		"IS_VALID": boolProp(func(e *evalCtx) bool { return e.req.HTTP != nil }),
	}
}

// hostname is HTTP.REQ.HOSTNAME: text operations on it are case-blind, as
// host names are.
func hostname(c *compiler, recv val, n *node) (val, error) {
	return val{ty: tyText, kind: "hostname", text: reqHost, fold: true}, c.noArgs(n)
}

func header(c *compiler, recv val, n *node) (val, error) {
	lit, err := c.constTextArg(n, "HEADER(\"Accept\")", "a header name in quotes, as in HEADER(\"Accept\")")
	if err != nil {
		return val{}, err
	}
	name := http.CanonicalHeaderKey(lit)
	return val{ty: tyText, kind: "header", hdr: name, text: func(e *evalCtx) string { return lastHeader(e, name) }}, nil
}

func body(c *compiler, recv val, n *node) (val, error) {
	a, err := c.oneNumArg(n, "BODY(1024)")
	if err != nil {
		return val{}, err
	}
	if !a.isConst || a.numConst <= 0 {
		return val{}, errAt(n.args[0].pos, "BODY takes a fixed positive length, as in BODY(1024)")
	}
	size := int(a.numConst)
	c.env.needsBody = max(c.env.needsBody, size)
	return val{ty: tyText, text: func(e *evalCtx) string {
		b := e.req.Body
		if len(b) > size {
			b = b[:size]
		}
		return string(b)
	}}, nil
}

func urlProps() map[string]funcSpec {
	return map[string]funcSpec{
		"PATH":  textProp("path", reqPath),
		"QUERY": textProp("query", reqQuery),
		// HTTP.REQ.URL is already the path and query, as the client sent them.
		"PATH_AND_QUERY": textProp("url", reqURL),
		"SUFFIX":         textProp("", urlSuffix),
		"HOSTNAME":       hostname,
	}
}

// urlSuffix is the file name suffix of the path: "html" for /a/b.html.
func urlSuffix(e *evalCtx) string {
	p := reqPath(e)
	p = p[strings.LastIndexByte(p, '/')+1:]
	if i := strings.LastIndexByte(p, '.'); i >= 0 {
		return p[i+1:]
	}
	return ""
}

// pathProps: the path is also a "/"-separated list, GET(1) being the
// first segment after the leading slash.
func pathProps() map[string]funcSpec {
	return map[string]funcSpec{
		"GET":         listOf("/", listIndex(listGet)),
		"GET_REVERSE": listOf("/", listIndex(listGetReverse)),
	}
}

// queryProps: the query is a name-value list, "&"-separated.
func queryProps() map[string]funcSpec {
	return map[string]funcSpec{
		"VALUE":                 queryValueSpec,
		"GET":                   listOf("&", listIndex(listGet)),
		"GET_REVERSE":           listOf("&", listIndex(listGetReverse)),
		"COUNT":                 listOf("&", listCountSpec),
		"IGNORE_EMPTY_ELEMENTS": listOf("&", ignoreEmpty),
	}
}

// listOf applies a list function to text read as a list separated by sep.
func listOf(sep string, spec funcSpec) funcSpec {
	return func(c *compiler, recv val, n *node) (val, error) {
		return spec(c, val{ty: tyList, text: recv.text, sep: sep, fold: recv.fold}, n)
	}
}

// queryValueSpec is QUERY.VALUE("name"); SET_TEXT_MODE(IGNORECASE) on the
// query makes the name case-blind too.
func queryValueSpec(c *compiler, recv val, n *node) (val, error) {
	a, err := c.oneTextArg(n, "VALUE(\"name\")")
	if err != nil {
		return val{}, err
	}
	f, g, fold := recv.text, a.text, recv.fold
	return val{ty: tyText, fold: fold, text: func(e *evalCtx) string { return queryValue(f(e), g(e), fold) }}, nil
}

func hostnameProps() map[string]funcSpec {
	return map[string]funcSpec{
		"SERVER": func(c *compiler, recv val, n *node) (val, error) {
			return val{ty: tyText, fold: true, text: func(e *evalCtx) string { h, _ := splitHostPort(reqHost(e)); return h }}, c.noArgs(n)
		},
		"PORT": numProp(reqPort),
		"DOMAIN": func(c *compiler, recv val, n *node) (val, error) {
			return val{ty: tyText, fold: true, text: hostDomain}, c.noArgs(n)
		},
	}
}

// hostDomain is HOSTNAME.DOMAIN: www.myhost.com:8080 gives myhost.com.
func hostDomain(e *evalCtx) string {
	h, _ := splitHostPort(reqHost(e))
	if strings.Count(h, ".") < 2 {
		return h
	}
	return h[strings.IndexByte(h, '.')+1:]
}

func methodProps() map[string]funcSpec {
	return map[string]funcSpec{
		"EQ": methodEqual(false),
		"NE": methodEqual(true),
	}
}

// methodEqual is METHOD.EQ(GET): the method is written bare or quoted.
func methodEqual(ne bool) funcSpec {
	return func(c *compiler, recv val, n *node) (val, error) {
		if err := c.argc(n, 1, n.raw+"(GET)"); err != nil {
			return val{}, err
		}
		a := n.args[0]
		var m string
		switch {
		case a.kind == nCall && a.recv == nil && !a.parens:
			m = a.name
		case a.kind == nLit && a.tok.kind == tString:
			m = a.tok.val
		default:
			return val{}, errAt(a.pos, "%s takes a method, as in %s(GET)", n.raw, n.raw)
		}
		fold := recv.fold
		return val{ty: tyBool, pred: func(e *evalCtx) bool { return textEqual(reqMethod(e), m, fold) != ne }}, nil
	}
}

func headerProps() map[string]funcSpec {
	return map[string]funcSpec{
		"EXISTS": func(c *compiler, recv val, n *node) (val, error) {
			name := recv.hdr
			return val{ty: tyBool, pred: func(e *evalCtx) bool { return len(headerValues(e, name)) > 0 }}, c.noArgs(n)
		},
		"COUNT": func(c *compiler, recv val, n *node) (val, error) {
			name := recv.hdr
			return val{ty: tyNum, num: func(e *evalCtx) int64 { return int64(len(headerValues(e, name))) }}, c.noArgs(n)
		},
		"INSTANCE": headerInstance("header"),
		"VALUE":    headerInstance(""),
	}
}

// headerInstance is INSTANCE(n) and VALUE(n): the instance n places before
// the last one (0 is the last). An instance is still a header; a value is
// text.
func headerInstance(kind string) funcSpec {
	return func(c *compiler, recv val, n *node) (val, error) {
		a, err := c.oneNumArg(n, n.raw+"(0)")
		if err != nil {
			return val{}, err
		}
		name, g := recv.hdr, a.num
		return val{ty: tyText, kind: kind, hdr: name, fold: recv.fold, text: func(e *evalCtx) string {
			vs, i := headerValues(e, name), g(e)
			if i < 0 || i >= int64(len(vs)) {
				return ""
			}
			return vs[len(vs)-1-int(i)]
		}}, nil
	}
}

// everyInstance are the text operations that read every instance of a
// repeated header, from the last to the first, rather than the last.
var everyInstance = setOf("EQ", "CONTAINS", "STARTSWITH", "ENDSWITH", "REGEX_MATCH", "AFTER_STR", "BEFORE_STR",
	"CONTAINS_ANY", "STARTSWITH_ANY", "ENDSWITH_ANY", "EQUALS_ANY")

// onEveryInstance compiles op on one instance, then tries each instance:
// a test holds when it holds for any; a cut is the first that finds its
// string. A header that is absent is tested once, as "".
func (c *compiler) onEveryInstance(op funcSpec, recv val, n *node) (val, error) {
	one := recv
	one.kind, one.text = "", func(e *evalCtx) string { return e.instance }
	v, err := op(c, one, n)
	if err != nil {
		return val{}, err
	}
	name, test, cut := recv.hdr, v.pred, v.text
	if v.ty == tyBool {
		v.pred = func(e *evalCtx) bool {
			vs, prev := headerValues(e, name), e.instance
			found := false
			if len(vs) == 0 {
				e.instance = ""
				found = test(e)
			}
			for i := len(vs) - 1; i >= 0 && !found; i-- {
				e.instance = vs[i]
				found = test(e)
			}
			e.instance = prev
			return found
		}
		return v, nil
	}
	v.text = func(e *evalCtx) string {
		vs, prev := headerValues(e, name), e.instance
		s := ""
		if len(vs) == 0 {
			e.instance = ""
			s = cut(e)
		}
		for i := len(vs) - 1; i >= 0 && s == ""; i-- {
			e.instance = vs[i]
			s = cut(e)
		}
		e.instance = prev
		return s
	}
	return v, nil
}

func cookieProps() map[string]funcSpec {
	return map[string]funcSpec{
		"VALUE":  cookieByName(false),
		"EXISTS": cookieByName(true),
		"COUNT":  numProp(cookieCount),
	}
}

func cookieByName(exists bool) funcSpec {
	return func(c *compiler, recv val, n *node) (val, error) {
		a, err := c.oneTextArg(n, n.raw+"(\"name\")")
		if err != nil {
			return val{}, err
		}
		g := a.text
		if exists {
			return val{ty: tyBool, pred: func(e *evalCtx) bool { _, ok := cookieValue(e, g(e)); return ok }}, nil
		}
		return val{ty: tyText, text: func(e *evalCtx) string { v, _ := cookieValue(e, g(e)); return v }}, nil
	}
}

func clientProps() map[string]funcSpec {
	return map[string]funcSpec{
		"IP":  ns("client.ip"),
		"SSL": ns("client.ssl"),
	}
}

func clientIPProps() map[string]funcSpec {
	return map[string]funcSpec{
		"SRC": func(c *compiler, recv val, n *node) (val, error) {
			return val{ty: tyIP, addr: func(e *evalCtx) netip.Addr { return e.req.ClientIP }}, c.noArgs(n)
		},
		"DST": func(c *compiler, recv val, n *node) (val, error) {
			return val{ty: tyIP, addr: localAddr}, c.noArgs(n)
		},
	}
}

// localAddr is CLIENT.IP.DST: the address the client connected to.
func localAddr(e *evalCtx) netip.Addr {
	r := e.req.HTTP
	if r == nil {
		return netip.Addr{}
	}
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(*net.TCPAddr); ok {
		return a.AddrPort().Addr()
	}
	return netip.Addr{}
}

func clientSSLProps() map[string]funcSpec {
	return map[string]funcSpec{
		"IS_SSL": boolProp(func(e *evalCtx) bool { return e.req.HTTP != nil && e.req.HTTP.TLS != nil }),
	}
}

func aaaProps() map[string]funcSpec {
	return map[string]funcSpec{
		"USER":  ns("aaa.user"),
		"LOGIN": ns("aaa.login"),
	}
}
