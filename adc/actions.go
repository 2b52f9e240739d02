package adc

import (
	"html"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"time"

	"github.com/authdev/authdev/config"
)

// responderAction answers a request instead of the upstream.
type responderAction struct {
	name    string
	typ     string // respondwith, redirect, respondwithhtmlpage; "" when unsupported
	builtin string // NOOP, RESET or DROP for the built-in actions
	expr    string
	src     exprSrc
	target  textFn
	page    string
	status  int
	reason  string
	pos     config.Pos
}

// builtins are the ADC's built-in actions of a kind, by name.
type builtins[A any] map[string]*A

// get is the built-in action called name (in any case), or nil.
func (b builtins[A]) get(name string) *A { return b[strings.ToUpper(name)] }

var builtinResponders = builtins[responderAction]{
	"NOOP":  {name: "NOOP", builtin: "NOOP"},
	"RESET": {name: "RESET", builtin: "RESET"},
	"DROP":  {name: "DROP", builtin: "DROP"},
}

// respond returns the answer, or nil for NOOP (evaluation goes on).
func (a *responderAction) respond(c *evalCtx) *Response {
	switch a.builtin {
	case "NOOP":
		return nil
	case "RESET":
		return &Response{Reset: true}
	case "DROP":
		return &Response{Drop: true}
	}
	switch a.typ {
	case "respondwith":
		return rawResponse(a.target(c))
	case "redirect":
		status := a.status
		if status == 0 {
			status = http.StatusFound
		}
		return &Response{Status: status, Header: http.Header{"Location": {a.target(c)}}}
	case "respondwithhtmlpage":
		status := a.status
		if status == 0 {
			status = http.StatusOK
		}
		page := html.EscapeString(a.page)
		return &Response{Status: status, Header: http.Header{"Content-Type": {"text/html; charset=utf-8"}},
			Body: "<!doctype html><title>" + page + "</title><p>NetScaler responder page <b>" + page +
				"</b> (authdev does not load imported HTML pages).</p>\n"}
	}
	return nil
}

// rawResponse reads a respondwith target: the ADC sends it verbatim, so it
// is either a whole HTTP response ("HTTP/1.1 429 ...\r\n\r\nbody") or a
// body, sent with status 200.
func rawResponse(s string) *Response {
	if !strings.HasPrefix(s, "HTTP/") {
		return &Response{Status: http.StatusOK, Header: http.Header{}, Body: s}
	}
	head, body, found := strings.Cut(s, "\r\n\r\n")
	if !found {
		head, body, _ = strings.Cut(s, "\n\n")
	}
	lines := strings.Split(strings.ReplaceAll(head, "\r\n", "\n"), "\n")
	r := &Response{Status: http.StatusOK, Header: http.Header{}, Body: body}
	if f := strings.Fields(lines[0]); len(f) >= 2 {
		if code, err := strconv.Atoi(f[1]); err == nil && code >= 100 && code <= 599 {
			r.Status = code
		}
	}
	for _, l := range lines[1:] {
		k, v, ok := strings.Cut(l, ":")
		if !ok || strings.TrimSpace(k) == "" {
			continue
		}
		k = textproto.CanonicalMIMEHeaderKey(strings.TrimSpace(k))
		if k == "Content-Length" || k == "Transfer-Encoding" || k == "Connection" {
			continue // the proxy frames the body itself
		}
		r.Header.Add(k, strings.TrimSpace(v))
	}
	return r
}

// rewriteAction changes the request on its way upstream.
type rewriteAction struct {
	name    string
	typ     string // insert_http_header, delete_http_header, replace; "" when unsupported
	builtin string // NOREWRITE, RESET or DROP
	header  string
	target  string // url, path, query or header, for replace
	expr    string
	src     exprSrc
	value   textFn
	pos     config.Pos
}

var builtinRewrites = builtins[rewriteAction]{
	"NOREWRITE": {name: "NOREWRITE", builtin: "NOREWRITE"},
	"RESET":     {name: "RESET", builtin: "RESET"},
	"DROP":      {name: "DROP", builtin: "DROP"},
}

func (a *rewriteAction) apply(c *evalCtx, res *Result) {
	switch a.builtin {
	case "RESET":
		res.Response = &Response{Reset: true}
		return
	case "DROP":
		res.Response = &Response{Drop: true}
		return
	case "NOREWRITE":
		return
	}
	switch a.typ {
	case "insert_http_header":
		res.Headers = append(res.Headers, HeaderOp{Op: "insert", Name: a.header, Value: a.value(c)})
	case "delete_http_header":
		res.Headers = append(res.Headers, HeaderOp{Op: "delete", Name: a.header})
	case "replace":
		v := a.value(c)
		cur := res.URL
		if cur == "" {
			cur = reqURL(c)
		}
		path, query, hasQuery := strings.Cut(cur, "?")
		switch a.target {
		case "url":
			res.URL = v
		case "path":
			res.URL = v
			if hasQuery {
				res.URL += "?" + query
			}
		case "query":
			res.URL = path + "?" + v
		case "header":
			if len(headerValues(c, http.CanonicalHeaderKey(a.header))) > 0 {
				res.Headers = append(res.Headers, HeaderOp{Op: "delete", Name: a.header},
					HeaderOp{Op: "insert", Name: a.header, Value: v})
			}
		}
	}
}

// sessionAction is an `add tm sessionAction` or `set tm sessionParameter`.
type sessionAction struct {
	name         string
	timeout      time.Duration
	defaultAuthz string // ALLOW, DENY or "" when not set
	defaultPos   config.Pos
	pos          config.Pos
}
