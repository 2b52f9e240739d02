package adc

import (
	"errors"
	"net/http"
	"net/netip"
	"regexp"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"
)

// typ is the type of a compiled expression, as the ADC's type checker sees
// it: a rule must be boolean, a header value text.
type typ int

const (
	tyNS typ = iota // a namespace such as HTTP.REQ, not a value
	tyBool
	tyText
	tyNum
	tyIP
	tyList
)

func (t typ) String() string {
	return [...]string{"a namespace", "a boolean", "text", "a number", "an IP address", "a list"}[t]
}

type (
	boolFn func(*evalCtx) bool
	textFn func(*evalCtx) string
	numFn  func(*evalCtx) int64
	ipFn   func(*evalCtx) netip.Addr
)

// val is a compiled (sub)expression: its type, the function computing it,
// and what the following ".FUNCTION" may be.
type val struct {
	ty   typ
	pred boolFn
	text textFn
	num  numFn
	addr ipFn
	kind string // the object for special properties: "url", "header", "aaa.user", ...
	what string // how it was written, for messages
	fold bool   // SET_TEXT_MODE(IGNORECASE) is in force
	sep  string // the separator of a list

	isConst   bool
	strConst  string
	numConst  int64
	boolConst bool

	hdr string // the canonical header name of HTTP.REQ.HEADER(...)
}

// env is what expressions may refer to beyond the request: rate limits and
// the OAuth action's attribute names.
type env struct {
	limits     map[string]*limiter
	oauthAttrs []string
	needsBody  int
	patsets    map[string]*patset
	stringMaps map[string]map[string]string
	named      map[string]*namedExpr // by upper-case name: names are case-blind
}

func newEnv(limits map[string]*limiter) *env {
	return &env{limits: limits, patsets: map[string]*patset{}, stringMaps: map[string]map[string]string{}, named: map[string]*namedExpr{}}
}

// namedValue compiles a named expression once.
func (e *env) namedValue(ne *namedExpr) (val, error) {
	if ne.done {
		return ne.v, ne.err
	}
	if ne.busy {
		return val{}, errAt(0, "policy expression %q refers to itself", ne.name)
	}
	ne.busy = true
	ne.v, ne.err = compileValue(ne.src, e)
	ne.busy, ne.done = false, true
	return ne.v, ne.err
}

type compiler struct {
	src string
	env *env
}

// compileBool compiles a policy rule.
func compileBool(src string, e *env) (boolFn, error) {
	v, err := compileValue(src, e)
	if err != nil {
		return nil, err
	}
	if v.ty != tyBool {
		return nil, errAt(0, "a rule must be true or false, but %s is %s: compare it, e.g. %s.EQ(\"...\")", v.what, v.ty, v.what)
	}
	return v.pred, nil
}

// compileText compiles a string expression: a header value, a rewrite or a
// responder body. Numbers and addresses become their text.
func compileText(src string, e *env) (textFn, error) {
	v, err := compileValue(src, e)
	if err != nil {
		return nil, err
	}
	t, ok := asText(v)
	if !ok {
		return nil, errAt(0, "expected a text expression, but %s is %s", v.what, v.ty)
	}
	return t.text, nil
}

func compileValue(src string, e *env) (val, error) {
	n, err := parseExpr(src)
	if err != nil {
		return val{}, err
	}
	c := &compiler{src: src, env: e}
	v, err := c.compile(n)
	if err != nil {
		return val{}, err
	}
	if v.ty == tyNS {
		return val{}, c.nsError(n, v)
	}
	return v, nil
}

func (c *compiler) nsError(n *node, v val) error {
	props := properties[v.kind]
	return errAt(n.pos, "%s is not a value: add a property, one of %s", v.what, strings.Join(props, ", "))
}

// properties lists what follows each namespace, for messages.
var properties = map[string][]string{
	"http":      {"REQ"},
	"http.req":  {"URL", "HOSTNAME", "METHOD", "HEADER(\"name\")", "COOKIE", "BODY(n)", "CONTENT_LENGTH", "USER"},
	"client":    {"IP"},
	"client.ip": {"SRC"},
	"aaa":       {"USER"},
	"aaa.user":  {"NAME", "GROUPS", "EXTERNAL_GROUPS", "IS_MEMBER_OF(\"group\")", "ATTRIBUTE(\"claim\")"},
	"sys":       {"CHECK_LIMIT(\"limit identifier\")"},
}

func constText(s string) val {
	return val{ty: tyText, text: func(*evalCtx) string { return s }, isConst: true, strConst: s, what: strconv.Quote(s)}
}

func constNum(n int64) val {
	return val{ty: tyNum, num: func(*evalCtx) int64 { return n }, isConst: true, numConst: n, what: strconv.FormatInt(n, 10)}
}

func constBool(b bool) val {
	return val{ty: tyBool, pred: func(*evalCtx) bool { return b }, isConst: true, boolConst: b, what: strconv.FormatBool(b)}
}

func (c *compiler) compile(n *node) (val, error) {
	switch n.kind {
	case nLit:
		return c.literal(n)
	case nParen:
		v, err := c.compile(n.x)
		v.what = "(" + v.what + ")"
		return v, err
	case nUnary:
		return c.unary(n)
	case nBinary:
		return c.binary(n)
	}
	if n.recv == nil {
		return c.root(n)
	}
	recv, err := c.compile(n.recv)
	if err != nil {
		return val{}, err
	}
	return c.call(recv, n)
}

func (c *compiler) literal(n *node) (val, error) {
	t := n.tok
	switch t.kind {
	case tString, tChar:
		return constText(t.val), nil
	case tNumber:
		v, err := strconv.ParseInt(t.raw, 0, 64)
		if err != nil {
			return val{}, errAt(n.pos, "number %s is out of range", t.raw)
		}
		return constNum(v), nil
	case tRaw:
		if a, err := netip.ParseAddr(t.val); err == nil {
			return val{ty: tyIP, addr: func(*evalCtx) netip.Addr { return a }, what: t.val}, nil
		}
		return val{}, errAt(n.pos, "a subnet such as %s can only be the argument of IN_SUBNET", t.val)
	}
	return val{}, errAt(n.pos, "a regular expression can only be the argument of REGEX_MATCH")
}

func (c *compiler) unary(n *node) (val, error) {
	x, err := c.compile(n.x)
	if err != nil {
		return val{}, err
	}
	if n.op == tNot {
		if x.ty != tyBool {
			return val{}, c.typeErr(n.x, x, tyBool, "after \"!\"")
		}
		f := x.pred
		return val{ty: tyBool, pred: func(e *evalCtx) bool { return !f(e) }, what: "!" + x.what}, nil
	}
	if x.ty != tyNum {
		return val{}, c.typeErr(n.x, x, tyNum, "after \"-\"")
	}
	f := x.num
	return val{ty: tyNum, num: func(e *evalCtx) int64 { return -f(e) }, what: "-" + x.what}, nil
}

func (c *compiler) typeErr(n *node, v val, want typ, where string) error {
	if v.ty == tyNS {
		return c.nsError(n, v)
	}
	return errAt(n.pos, "expected %s %s, but %s is %s", want, where, v.what, v.ty)
}

func (c *compiler) binary(n *node) (val, error) {
	x, err := c.compile(n.x)
	if err != nil {
		return val{}, err
	}
	y, err := c.compile(n.y)
	if err != nil {
		return val{}, err
	}
	what := x.what + " " + n.tok.raw + " " + y.what
	switch n.op {
	case tAnd, tOr:
		if x.ty != tyBool {
			return val{}, c.typeErr(n.x, x, tyBool, "on the left of "+n.tok.raw)
		}
		if y.ty != tyBool {
			return val{}, c.typeErr(n.y, y, tyBool, "on the right of "+n.tok.raw)
		}
		f, g := x.pred, y.pred
		if n.op == tAnd {
			return val{ty: tyBool, pred: func(e *evalCtx) bool { return f(e) && g(e) }, what: what}, nil
		}
		return val{ty: tyBool, pred: func(e *evalCtx) bool { return f(e) || g(e) }, what: what}, nil
	case tPlus:
		if x.ty == tyNum && y.ty == tyNum {
			f, g := x.num, y.num
			return val{ty: tyNum, num: func(e *evalCtx) int64 { return f(e) + g(e) }, what: what}, nil
		}
		if x.ty == tyText || y.ty == tyText {
			// The string builder turns numbers and addresses into text,
			// as in "ip=" + CLIENT.IP.SRC.
			xt, xok := asText(x)
			yt, yok := asText(y)
			if !xok || !yok {
				return val{}, errAt(n.tok.pos, "\"+\" joins texts, numbers and addresses, not %s and %s", x.ty, y.ty)
			}
			f, g := xt.text, yt.text
			return val{ty: tyText, text: func(e *evalCtx) string { return e.concat(f(e), g(e)) }, what: what}, nil
		}
		return val{}, errAt(n.tok.pos, "\"+\" joins texts or adds numbers, not %s and %s", x.ty, y.ty)
	case tMinus:
		if x.ty != tyNum || y.ty != tyNum {
			return val{}, errAt(n.tok.pos, "\"-\" subtracts numbers, not %s and %s", x.ty, y.ty)
		}
		f, g := x.num, y.num
		return val{ty: tyNum, num: func(e *evalCtx) int64 { return f(e) - g(e) }, what: what}, nil
	}
	// Comparisons.
	switch {
	case x.ty == tyNum && y.ty == tyNum:
		return val{ty: tyBool, pred: numCompare(n.op, x.num, y.num), what: what}, nil
	case x.ty == tyText && y.ty == tyText && (n.op == tEq || n.op == tNe):
		f, g, fold, ne := x.text, y.text, x.fold, n.op == tNe
		return val{ty: tyBool, pred: func(e *evalCtx) bool { return textEqual(f(e), g(e), fold) != ne }, what: what}, nil
	case x.ty == tyIP && y.ty == tyIP && (n.op == tEq || n.op == tNe):
		f, g, ne := x.addr, y.addr, n.op == tNe
		return val{ty: tyBool, pred: func(e *evalCtx) bool { return (f(e).Unmap() == g(e).Unmap()) != ne }, what: what}, nil
	}
	return val{}, errAt(n.tok.pos, "cannot compare %s with %s using %s", x.ty, y.ty, n.tok.raw)
}

func numCompare(op tokKind, f, g numFn) boolFn {
	switch op {
	case tEq:
		return func(e *evalCtx) bool { return f(e) == g(e) }
	case tNe:
		return func(e *evalCtx) bool { return f(e) != g(e) }
	case tLt:
		return func(e *evalCtx) bool { return f(e) < g(e) }
	case tGt:
		return func(e *evalCtx) bool { return f(e) > g(e) }
	case tLe:
		return func(e *evalCtx) bool { return f(e) <= g(e) }
	}
	return func(e *evalCtx) bool { return f(e) >= g(e) }
}

func (c *compiler) root(n *node) (val, error) {
	if err := c.noArgs(n); err != nil {
		switch n.name {
		case "HTTP", "CLIENT", "AAA", "SYS":
			return val{}, err
		}
	}
	switch n.name {
	case "TRUE", "NS_TRUE":
		return constBool(true), nil
	case "FALSE", "NS_FALSE":
		return constBool(false), nil
	case "HTTP":
		return val{ty: tyNS, kind: "http", what: n.raw}, nil
	case "CLIENT":
		return val{ty: tyNS, kind: "client", what: n.raw}, nil
	case "AAA":
		return val{ty: tyNS, kind: "aaa", what: n.raw}, nil
	case "SYS":
		return val{ty: tyNS, kind: "sys", what: n.raw}, nil
	}
	roots := []string{"HTTP", "CLIENT", "AAA", "SYS", "TRUE", "FALSE"}
	return val{}, errAt(n.pos, "unknown name %q: an expression starts with HTTP.REQ, CLIENT.IP.SRC, AAA.USER, SYS, true, false or a literal%s", n.raw, didYouMean(n.name, roots))
}

func (c *compiler) noArgs(n *node) error {
	if n.parens {
		return errAt(n.tok.pos, "%s takes no arguments: remove the parentheses", n.raw)
	}
	return nil
}

// call applies .NAME or .NAME(args) to recv.
func (c *compiler) call(recv val, n *node) (val, error) {
	what := recv.what + "." + n.raw
	if n.parens {
		what += "(" + c.argsText(n) + ")"
	}
	v, ok, err := c.special(recv, n)
	if err != nil {
		return val{}, err
	}
	if !ok {
		switch recv.ty {
		case tyNS:
			return val{}, c.unknownFunc(recv, n, properties[recv.kind])
		case tyBool:
			v, err = c.boolCall(recv, n)
		case tyText:
			v, err = c.textCall(recv, n)
		case tyNum:
			v, err = c.numCall(recv, n)
		case tyIP:
			v, err = c.ipCall(recv, n)
		case tyList:
			// A list is also its text, as GROUPS is "a,b" to EQ or CONTAINS.
			if n.name == "GET" || n.name == "COUNT" {
				v, err = c.listCall(recv, n)
			} else {
				v, err = c.textCall(recv, n)
			}
		}
		if err != nil {
			return val{}, err
		}
	}
	v.what = what
	return v, nil
}

func (c *compiler) argsText(n *node) string {
	if len(n.args) == 0 {
		return ""
	}
	first, last := n.args[0], n.args[len(n.args)-1]
	end := last.pos
	// Find the end of the last argument: the matching ")" of this call.
	depth := 0
	for i := first.pos; i < len(c.src); i++ {
		switch c.src[i] {
		case '(':
			depth++
		case ')':
			if depth == 0 {
				return strings.TrimSpace(c.src[first.pos:i])
			}
			depth--
		}
	}
	return strings.TrimSpace(c.src[first.pos:max(end, first.pos)])
}

var (
	textFuncs = []string{"EQ", "NE", "CONTAINS", "STARTSWITH", "ENDSWITH", "REGEX_MATCH", "SET_TEXT_MODE",
		"AFTER_STR", "BEFORE_STR", "TYPECAST_LIST_T", "TO_LOWER", "TO_UPPER", "TYPECAST_NUM_T", "TYPECAST_TEXT_T", "LENGTH"}
	numFuncs  = []string{"EQ", "NE", "GT", "LT", "GE", "LE", "TYPECAST_TEXT_T"}
	ipFuncs   = []string{"IN_SUBNET", "EQ", "NE", "TYPECAST_TEXT_T"}
	boolFuncs = []string{"NOT"}
	listFuncs = append([]string{"GET", "COUNT"}, textFuncs...)
)

func (c *compiler) unknownFunc(recv val, n *node, funcs []string) error {
	names := make([]string, len(funcs))
	for i, f := range funcs {
		names[i], _, _ = strings.Cut(f, "(")
	}
	if recv.ty == tyNS {
		return errAt(n.tok.pos, "%s has no property %q: expected one of %s%s", recv.what, n.raw, strings.Join(funcs, ", "), didYouMean(n.name, names))
	}
	return errAt(n.tok.pos, "%s is %s, which has no function %q: expected one of %s%s", recv.what, recv.ty, n.raw, strings.Join(funcs, ", "), didYouMean(n.name, names))
}

// argc checks the number of arguments.
func (c *compiler) argc(n *node, want int, usage string) error {
	if want == 0 {
		return c.noArgs(n)
	}
	if !n.parens || len(n.args) != want {
		return errAt(n.tok.pos, "%s needs %s, as in %s", n.raw, plural(want, "argument"), usage)
	}
	return nil
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}

// textArg compiles a text argument; literals are the usual case.
func (c *compiler) textArg(n *node, i int) (val, error) {
	a := n.args[i]
	v, err := c.compile(a)
	if err != nil {
		return val{}, err
	}
	if v.ty != tyText {
		return val{}, c.typeErr(a, v, tyText, "as the argument of "+n.raw)
	}
	return v, nil
}

// numArg compiles an integer argument.
func (c *compiler) numArg(n *node, i int) (val, error) {
	a := n.args[i]
	v, err := c.compile(a)
	if err != nil {
		return val{}, err
	}
	if v.ty != tyNum {
		return val{}, c.typeErr(a, v, tyNum, "as the argument of "+n.raw)
	}
	return v, nil
}

// keywordArg reads a bare keyword argument such as IGNORECASE or GET.
func (c *compiler) keywordArg(n *node, allowed ...string) (string, error) {
	if len(n.args) != 1 {
		return "", errAt(n.tok.pos, "%s needs one of %s", n.raw, strings.Join(allowed, ", "))
	}
	a := n.args[0]
	if a.kind == nCall && a.recv == nil && !a.parens && slices.Contains(allowed, a.name) {
		return a.name, nil
	}
	if a.kind == nLit && a.tok.kind == tString && slices.Contains(allowed, strings.ToUpper(a.tok.val)) {
		return strings.ToUpper(a.tok.val), nil
	}
	return "", errAt(a.pos, "%s takes one of %s, not %s", n.raw, strings.Join(allowed, ", "), c.src[a.pos:max(a.pos, argEnd(c.src, a.pos))])
}

func argEnd(src string, from int) int {
	for i := from; i < len(src); i++ {
		if src[i] == ')' || src[i] == ',' {
			return i
		}
	}
	return len(src)
}

func (c *compiler) boolCall(recv val, n *node) (val, error) {
	if n.name != "NOT" {
		return val{}, c.unknownFunc(recv, n, boolFuncs)
	}
	if err := c.noArgs(n); err != nil {
		return val{}, err
	}
	f := recv.pred
	return val{ty: tyBool, pred: func(e *evalCtx) bool { return !f(e) }}, nil
}

func (c *compiler) numCall(recv val, n *node) (val, error) {
	f := recv.num
	var op tokKind
	switch n.name {
	case "TYPECAST_TEXT_T":
		if err := c.noArgs(n); err != nil {
			return val{}, err
		}
		return val{ty: tyText, text: func(e *evalCtx) string { return e.numText(f(e)) }}, nil
	case "EQ":
		op = tEq
	case "NE":
		op = tNe
	case "GT":
		op = tGt
	case "LT":
		op = tLt
	case "GE":
		op = tGe
	case "LE":
		op = tLe
	default:
		return val{}, c.unknownFunc(recv, n, numFuncs)
	}
	if err := c.argc(n, 1, n.raw+"(10)"); err != nil {
		return val{}, err
	}
	a, err := c.numArg(n, 0)
	if err != nil {
		return val{}, err
	}
	return val{ty: tyBool, pred: numCompare(op, f, a.num)}, nil
}

func (c *compiler) ipCall(recv val, n *node) (val, error) {
	f := recv.addr
	switch n.name {
	case "TYPECAST_TEXT_T":
		if err := c.noArgs(n); err != nil {
			return val{}, err
		}
		return val{ty: tyText, text: func(e *evalCtx) string { return e.ipText(f(e)) }}, nil
	case "IN_SUBNET":
		if err := c.argc(n, 1, "IN_SUBNET(10.0.0.0/8)"); err != nil {
			return val{}, err
		}
		a := n.args[0]
		s := a.tok.val
		if a.kind != nLit || (a.tok.kind != tRaw && a.tok.kind != tString) {
			return val{}, errAt(a.pos, "IN_SUBNET takes a subnet written as address/bits, as in IN_SUBNET(10.0.0.0/8)")
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return val{}, errAt(a.pos, "%q is not a subnet: write it as address/bits, as in 10.0.0.0/8", s)
		}
		p = p.Masked()
		return val{ty: tyBool, pred: func(e *evalCtx) bool { return p.Contains(f(e).Unmap()) }}, nil
	case "EQ", "NE":
		if err := c.argc(n, 1, n.raw+"(10.0.0.1)"); err != nil {
			return val{}, err
		}
		a := n.args[0]
		addr, err := netip.ParseAddr(a.tok.val)
		if a.kind != nLit || (a.tok.kind != tRaw && a.tok.kind != tString) || err != nil {
			return val{}, errAt(a.pos, "%s takes an IP address, as in %s(10.0.0.1)", n.raw, n.raw)
		}
		ne := n.name == "NE"
		return val{ty: tyBool, pred: func(e *evalCtx) bool { return (f(e).Unmap() == addr.Unmap()) != ne }}, nil
	}
	return val{}, c.unknownFunc(recv, n, ipFuncs)
}

func (c *compiler) listCall(recv val, n *node) (val, error) {
	f, sep := recv.text, recv.sep
	switch n.name {
	case "GET":
		if err := c.argc(n, 1, "GET(0)"); err != nil {
			return val{}, err
		}
		a, err := c.numArg(n, 0)
		if err != nil {
			return val{}, err
		}
		g := a.num
		return val{ty: tyText, fold: recv.fold, text: func(e *evalCtx) string { return listGet(f(e), sep, g(e)) }}, nil
	case "COUNT":
		if err := c.noArgs(n); err != nil {
			return val{}, err
		}
		return val{ty: tyNum, num: func(e *evalCtx) int64 { return listCount(f(e), sep) }}, nil
	}
	return val{}, c.unknownFunc(recv, n, listFuncs)
}

func listGet(s, sep string, i int64) string {
	if i < 0 {
		return ""
	}
	for ; i > 0; i-- {
		_, rest, ok := strings.Cut(s, sep)
		if !ok {
			return ""
		}
		s = rest
	}
	item, _, _ := strings.Cut(s, sep)
	return item
}

func listCount(s, sep string) int64 {
	if s == "" {
		return 0
	}
	return int64(strings.Count(s, sep)) + 1
}

func (c *compiler) textCall(recv val, n *node) (val, error) {
	f, fold := recv.text, recv.fold
	switch n.name {
	case "SET_TEXT_MODE":
		mode, err := c.keywordArg(n, "IGNORECASE", "NOIGNORECASE")
		if err != nil {
			return val{}, err
		}
		v := recv
		v.fold = mode == "IGNORECASE"
		return v, nil
	case "TO_LOWER", "TO_UPPER":
		if err := c.noArgs(n); err != nil {
			return val{}, err
		}
		conv := strings.ToLower
		if n.name == "TO_UPPER" {
			conv = strings.ToUpper
		}
		return val{ty: tyText, fold: fold, text: func(e *evalCtx) string { return conv(f(e)) }}, nil
	case "TYPECAST_TEXT_T":
		v := recv
		return v, c.noArgs(n)
	case "LENGTH":
		if err := c.noArgs(n); err != nil {
			return val{}, err
		}
		return val{ty: tyNum, num: func(e *evalCtx) int64 { return int64(len(f(e))) }}, nil
	case "TYPECAST_NUM_T":
		if err := c.noArgs(n); err != nil {
			return val{}, err
		}
		return val{ty: tyNum, num: func(e *evalCtx) int64 {
			s := f(e)
			v, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
			if err != nil {
				e.setUndef("TYPECAST_NUM_T: %q is not a number", s)
			}
			return v
		}}, nil
	case "TYPECAST_LIST_T":
		if err := c.argc(n, 1, "TYPECAST_LIST_T(',')"); err != nil {
			return val{}, err
		}
		a, err := c.textArg(n, 0)
		if err != nil {
			return val{}, err
		}
		if !a.isConst || a.strConst == "" {
			return val{}, errAt(n.args[0].pos, "TYPECAST_LIST_T takes a fixed separator, as in TYPECAST_LIST_T(',')")
		}
		return val{ty: tyList, text: f, sep: a.strConst, fold: fold}, nil
	case "REGEX_MATCH":
		if err := c.argc(n, 1, "REGEX_MATCH(re#^/api/v[0-9]+/#)"); err != nil {
			return val{}, err
		}
		a := n.args[0]
		if a.kind != nLit || a.tok.kind != tRegex {
			return val{}, errAt(a.pos, "REGEX_MATCH takes a regular expression written re#...#, as in REGEX_MATCH(re#^/api/#)")
		}
		pat := a.tok.val
		if fold {
			pat = "(?i)" + pat
		}
		re, err := regexp.Compile(pat)
		if err != nil {
			return val{}, errAt(a.pos, "bad regular expression %s: %v", a.tok.raw, regexMsg(err))
		}
		return val{ty: tyBool, pred: func(e *evalCtx) bool { return re.MatchString(f(e)) }}, nil
	case "EQ", "NE", "CONTAINS", "STARTSWITH", "ENDSWITH", "AFTER_STR", "BEFORE_STR":
	default:
		return val{}, c.unknownFunc(recv, n, textFuncs)
	}
	if err := c.argc(n, 1, n.raw+"(\"text\")"); err != nil {
		return val{}, err
	}
	a, err := c.textArg(n, 0)
	if err != nil {
		return val{}, err
	}
	g := a.text
	if a.isConst {
		return c.textOpConst(n.name, f, a.strConst, fold), nil
	}
	switch n.name {
	case "EQ":
		return val{ty: tyBool, pred: func(e *evalCtx) bool { return textEqual(f(e), g(e), fold) }}, nil
	case "NE":
		return val{ty: tyBool, pred: func(e *evalCtx) bool { return !textEqual(f(e), g(e), fold) }}, nil
	case "CONTAINS":
		return val{ty: tyBool, pred: func(e *evalCtx) bool { return textIndex(f(e), g(e), fold) >= 0 }}, nil
	case "STARTSWITH":
		return val{ty: tyBool, pred: func(e *evalCtx) bool { return hasPrefix(f(e), g(e), fold) }}, nil
	case "ENDSWITH":
		return val{ty: tyBool, pred: func(e *evalCtx) bool { return hasSuffix(f(e), g(e), fold) }}, nil
	case "AFTER_STR":
		return val{ty: tyText, fold: fold, text: func(e *evalCtx) string { return afterStr(f(e), g(e), fold) }}, nil
	}
	return val{ty: tyText, fold: fold, text: func(e *evalCtx) string { return beforeStr(f(e), g(e), fold) }}, nil
}

// textOpConst is textCall with a literal argument: the common case, and one
// closure call fewer.
func (c *compiler) textOpConst(name string, f textFn, s string, fold bool) val {
	switch name {
	case "EQ":
		return val{ty: tyBool, pred: func(e *evalCtx) bool { return textEqual(f(e), s, fold) }}
	case "NE":
		return val{ty: tyBool, pred: func(e *evalCtx) bool { return !textEqual(f(e), s, fold) }}
	case "CONTAINS":
		return val{ty: tyBool, pred: func(e *evalCtx) bool { return textIndex(f(e), s, fold) >= 0 }}
	case "STARTSWITH":
		return val{ty: tyBool, pred: func(e *evalCtx) bool { return hasPrefix(f(e), s, fold) }}
	case "ENDSWITH":
		return val{ty: tyBool, pred: func(e *evalCtx) bool { return hasSuffix(f(e), s, fold) }}
	case "AFTER_STR":
		return val{ty: tyText, fold: fold, text: func(e *evalCtx) string { return afterStr(f(e), s, fold) }}
	}
	return val{ty: tyText, fold: fold, text: func(e *evalCtx) string { return beforeStr(f(e), s, fold) }}
}

func regexMsg(err error) string {
	var se *syntax.Error
	if errors.As(err, &se) {
		return string(se.Code) + " in " + strconv.Quote(se.Expr) + " (Go's RE2 syntax: no back-references or look-around)"
	}
	return err.Error()
}

// asText converts numbers and addresses to text where a string is wanted.
func asText(v val) (val, bool) {
	switch v.ty {
	case tyText, tyList:
		return val{ty: tyText, text: v.text, what: v.what, fold: v.fold, isConst: v.isConst, strConst: v.strConst}, true
	case tyNum:
		f := v.num
		return val{ty: tyText, text: func(e *evalCtx) string { return e.numText(f(e)) }, what: v.what}, true
	case tyIP:
		f := v.addr
		return val{ty: tyText, text: func(e *evalCtx) string { return e.ipText(f(e)) }, what: v.what}, true
	}
	return v, false
}

// special handles the properties of namespaces and of objects that are
// more than text (HTTP.REQ.URL has .PATH, a header has .EXISTS).
func (c *compiler) special(recv val, n *node) (val, bool, error) {
	switch recv.kind {
	case "http":
		if n.name == "REQ" {
			return val{ty: tyNS, kind: "http.req"}, true, c.noArgs(n)
		}
		if n.name == "RES" {
			return val{}, true, errAt(n.tok.pos, "HTTP.RES is not supported: authdev evaluates request policies only (bind with -type REQUEST)")
		}
	case "http.req":
		return c.httpReq(n)
	case "url":
		switch n.name {
		case "PATH":
			return val{ty: tyText, kind: "path", text: reqPath}, true, c.noArgs(n)
		case "QUERY":
			return val{ty: tyText, kind: "query", text: reqQuery}, true, c.noArgs(n)
		}
	case "query":
		if n.name == "VALUE" {
			if err := c.argc(n, 1, "VALUE(\"name\")"); err != nil {
				return val{}, true, err
			}
			a, err := c.textArg(n, 0)
			if err != nil {
				return val{}, true, err
			}
			g := a.text
			return val{ty: tyText, text: func(e *evalCtx) string { return queryValue(reqQuery(e), g(e)) }}, true, nil
		}
	case "hostname":
		switch n.name {
		case "SERVER":
			return val{ty: tyText, text: func(e *evalCtx) string { h, _ := splitHostPort(reqHost(e)); return h }}, true, c.noArgs(n)
		case "PORT":
			return val{ty: tyNum, num: reqPort}, true, c.noArgs(n)
		}
	case "method":
		if n.name == "EQ" || n.name == "NE" {
			if err := c.argc(n, 1, n.raw+"(GET)"); err != nil {
				return val{}, true, err
			}
			a := n.args[0]
			var m string
			switch {
			case a.kind == nCall && a.recv == nil && !a.parens:
				m = a.name
			case a.kind == nLit && a.tok.kind == tString:
				m = a.tok.val
			default:
				return val{}, true, errAt(a.pos, "%s takes a method, as in %s(GET)", n.raw, n.raw)
			}
			ne, fold := n.name == "NE", recv.fold
			return val{ty: tyBool, pred: func(e *evalCtx) bool { return textEqual(reqMethod(e), m, fold) != ne }}, true, nil
		}
	case "header":
		return c.header(recv, n)
	case "cookie":
		return c.cookie(n)
	case "client":
		if n.name == "IP" {
			return val{ty: tyNS, kind: "client.ip"}, true, c.noArgs(n)
		}
	case "client.ip":
		if n.name == "SRC" {
			return val{ty: tyIP, addr: func(e *evalCtx) netip.Addr { return e.req.ClientIP }}, true, c.noArgs(n)
		}
	case "aaa":
		if n.name == "USER" {
			return val{ty: tyNS, kind: "aaa.user"}, true, c.noArgs(n)
		}
	case "aaa.user":
		return c.aaaUser(n)
	case "sys":
		return c.sys(n)
	}
	return val{}, false, nil
}

func (c *compiler) httpReq(n *node) (val, bool, error) {
	switch n.name {
	case "URL":
		return val{ty: tyText, kind: "url", text: reqURL}, true, c.noArgs(n)
	case "HOSTNAME":
		return val{ty: tyText, kind: "hostname", text: reqHost}, true, c.noArgs(n)
	case "METHOD":
		return val{ty: tyText, kind: "method", text: reqMethod}, true, c.noArgs(n)
	case "CONTENT_LENGTH":
		return val{ty: tyNum, num: func(e *evalCtx) int64 {
			if e.req.HTTP == nil {
				return 0
			}
			return max(e.req.HTTP.ContentLength, 0)
		}}, true, c.noArgs(n)
	case "HEADER":
		if err := c.argc(n, 1, "HEADER(\"Accept\")"); err != nil {
			return val{}, true, err
		}
		a, err := c.textArg(n, 0)
		if err != nil {
			return val{}, true, err
		}
		if !a.isConst || a.strConst == "" {
			return val{}, true, errAt(n.args[0].pos, "HEADER takes a header name in quotes, as in HEADER(\"Accept\")")
		}
		name := http.CanonicalHeaderKey(a.strConst)
		return val{ty: tyText, kind: "header", hdr: name, text: func(e *evalCtx) string { return lastHeader(e, name) }}, true, nil
	case "COOKIE":
		return val{ty: tyText, kind: "cookie", text: func(e *evalCtx) string { return lastHeader(e, "Cookie") }}, true, c.noArgs(n)
	case "BODY":
		if err := c.argc(n, 1, "BODY(1024)"); err != nil {
			return val{}, true, err
		}
		a, err := c.numArg(n, 0)
		if err != nil {
			return val{}, true, err
		}
		if !a.isConst || a.numConst <= 0 {
			return val{}, true, errAt(n.args[0].pos, "BODY takes a fixed positive length, as in BODY(1024)")
		}
		size := int(a.numConst)
		c.env.needsBody = max(c.env.needsBody, size)
		return val{ty: tyText, text: func(e *evalCtx) string {
			b := e.req.Body
			if len(b) > size {
				b = b[:size]
			}
			return string(b)
		}}, true, nil
	case "USER":
		return val{ty: tyNS, kind: "aaa.user"}, true, c.noArgs(n)
	}
	return val{}, true, c.unknownFunc(val{ty: tyNS, what: "HTTP.REQ"}, n, properties["http.req"])
}

func (c *compiler) header(recv val, n *node) (val, bool, error) {
	name := recv.hdr
	switch n.name {
	case "EXISTS":
		return val{ty: tyBool, pred: func(e *evalCtx) bool { return len(headerValues(e, name)) > 0 }}, true, c.noArgs(n)
	case "COUNT":
		return val{ty: tyNum, num: func(e *evalCtx) int64 { return int64(len(headerValues(e, name))) }}, true, c.noArgs(n)
	case "INSTANCE":
		if err := c.argc(n, 1, "INSTANCE(0)"); err != nil {
			return val{}, true, err
		}
		a, err := c.numArg(n, 0)
		if err != nil {
			return val{}, true, err
		}
		g := a.num
		return val{ty: tyText, kind: "header", hdr: name, text: func(e *evalCtx) string {
			vs, i := headerValues(e, name), g(e)
			if i < 0 || i >= int64(len(vs)) {
				return ""
			}
			return vs[len(vs)-1-int(i)]
		}}, true, nil
	case "VALUE":
		if err := c.argc(n, 1, "VALUE(0)"); err != nil {
			return val{}, true, err
		}
		a, err := c.numArg(n, 0)
		if err != nil {
			return val{}, true, err
		}
		g := a.num
		return val{ty: tyText, text: func(e *evalCtx) string { return headerValue(headerValues(e, name), g(e)) }}, true, nil
	}
	return val{}, false, nil
}

func (c *compiler) cookie(n *node) (val, bool, error) {
	switch n.name {
	case "VALUE", "EXISTS":
		if err := c.argc(n, 1, n.raw+"(\"name\")"); err != nil {
			return val{}, true, err
		}
		a, err := c.textArg(n, 0)
		if err != nil {
			return val{}, true, err
		}
		g := a.text
		if n.name == "EXISTS" {
			return val{ty: tyBool, pred: func(e *evalCtx) bool { _, ok := cookieValue(e, g(e)); return ok }}, true, nil
		}
		return val{ty: tyText, text: func(e *evalCtx) string { v, _ := cookieValue(e, g(e)); return v }}, true, nil
	case "COUNT":
		return val{ty: tyNum, num: cookieCount}, true, c.noArgs(n)
	}
	return val{}, false, nil
}

func (c *compiler) aaaUser(n *node) (val, bool, error) {
	switch n.name {
	case "NAME":
		return val{ty: tyText, text: func(e *evalCtx) string {
			if e.req.User == nil {
				return ""
			}
			return e.req.User.Name
		}}, true, c.noArgs(n)
	case "GROUPS", "EXTERNAL_GROUPS":
		// The IdP's groups are the ADC's external groups; authdev has no
		// internal ones, so both are the same list.
		return val{ty: tyList, sep: ",", text: func(e *evalCtx) string {
			if e.req.User == nil {
				return ""
			}
			return e.joinList(e.req.User.Groups)
		}}, true, c.noArgs(n)
	case "IS_MEMBER_OF":
		if err := c.argc(n, 1, "IS_MEMBER_OF(\"admins\")"); err != nil {
			return val{}, true, err
		}
		a, err := c.textArg(n, 0)
		if err != nil {
			return val{}, true, err
		}
		g := a.text
		return val{ty: tyBool, pred: func(e *evalCtx) bool { return isMember(e.req.User, g(e)) }}, true, nil
	case "ATTRIBUTE":
		if err := c.argc(n, 1, "ATTRIBUTE(\"department\")"); err != nil {
			return val{}, true, err
		}
		a, err := c.compile(n.args[0])
		if err != nil {
			return val{}, true, err
		}
		var claim string
		switch {
		case a.ty == tyText && a.isConst:
			claim = a.strConst
		case a.ty == tyNum && a.isConst:
			// ATTRIBUTE(n) is the n-th name in the OAuth action's -Attributes.
			if a.numConst < 1 || a.numConst > 16 {
				return val{}, true, errAt(n.args[0].pos, "ATTRIBUTE takes a claim name or a number from 1 to 16")
			}
			if int(a.numConst) > len(c.env.oauthAttrs) {
				return val{}, true, errAt(n.args[0].pos, "ATTRIBUTE(%d) needs at least %d names in the OAuth action's -Attributes; it lists %d", a.numConst, a.numConst, len(c.env.oauthAttrs))
			}
			claim = c.env.oauthAttrs[a.numConst-1]
		default:
			return val{}, true, errAt(n.args[0].pos, "ATTRIBUTE takes a claim name in quotes, as in ATTRIBUTE(\"department\")")
		}
		return val{ty: tyText, text: func(e *evalCtx) string { return attribute(e, claim) }}, true, nil
	}
	return val{}, true, c.unknownFunc(val{ty: tyNS, what: "AAA.USER"}, n, properties["aaa.user"])
}

func (c *compiler) sys(n *node) (val, bool, error) {
	if n.name != "CHECK_LIMIT" {
		return val{}, true, c.unknownFunc(val{ty: tyNS, what: "SYS"}, n, properties["sys"])
	}
	if err := c.argc(n, 1, "CHECK_LIMIT(\"api_limit\")"); err != nil {
		return val{}, true, err
	}
	a, err := c.textArg(n, 0)
	if err != nil {
		return val{}, true, err
	}
	if !a.isConst {
		return val{}, true, errAt(n.args[0].pos, "CHECK_LIMIT takes a limit identifier's name in quotes")
	}
	l, ok := c.env.limits[a.strConst]
	if !ok {
		names := make([]string, 0, len(c.env.limits))
		for _, l := range c.env.limits {
			names = append(names, l.name)
		}
		slices.Sort(names)
		return val{}, true, errAt(n.args[0].pos, "no limit identifier %q: add `add ns limitIdentifier %s -threshold 10 -timeSlice 1000 -selectorName SEL` to ns.conf%s", a.strConst, a.strConst, didYouMean(a.strConst, names))
	}
	return val{ty: tyBool, pred: l.check}, true, nil
}
