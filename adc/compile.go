package adc

import (
	"errors"
	"net/netip"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"
	"time"
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
	// decode is what DECODE_USING_TEXT_MODE undoes: SET_TEXT_MODE(URLENCODED)
	// and PLUSASSPACE.
	decode    decodeMode
	skipEmpty bool // a list after IGNORE_EMPTY_ELEMENTS

	isConst   bool
	strConst  string
	numConst  int64
	boolConst bool

	hdr string // the canonical header name of HTTP.REQ.HEADER(...)
}

// env is what expressions may refer to beyond the request: rate limits and
// the attribute names AAA.USER.ATTRIBUTE(n) numbers.
type env struct {
	limits     map[string]*limiter
	oauthAttrs []string
	// samlAttrs are each samlAction's -attribute1..16 and -Attributes, by
	// its name: a user the samlAction logged in (User.SAMLAction) has
	// ATTRIBUTE(n) numbered by them instead of oauthAttrs.
	samlAttrs  map[string][]string
	needsBody  int
	patsets    map[string]*patset
	stringMaps map[string]map[string]string
	named      map[string]*namedExpr // by upper-case name: names are case-blind
	now        func() time.Time      // SYS.TIME's clock
}

func newEnv(limits map[string]*limiter, now func() time.Time) *env {
	return &env{limits: limits, patsets: map[string]*patset{}, stringMaps: map[string]map[string]string{},
		named: map[string]*namedExpr{}, now: now}
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
	if v.ty == tyBool {
		// The appliance writes a boolean as its text, as in an
		// insert_http_header of HEADER("x").CONTAINS("y").
		f := v.pred
		return func(e *evalCtx) string { return strconv.FormatBool(f(e)) }, nil
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
	return errAt(n.pos, "%s is not a value: add a property, one of %s", v.what, strings.Join(funcNames(v), ", "))
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

func (c *compiler) noArgs(n *node) error {
	if n.parens {
		return errAt(n.tok.pos, "%s takes no arguments: remove the parentheses", n.raw)
	}
	return nil
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

// constTextArg reads the one argument of n, a text that must be written as
// a literal and not empty; need says what it is, as in "a header name in
// quotes, as in HEADER(\"Accept\")".
func (c *compiler) constTextArg(n *node, usage, need string) (string, error) {
	a, err := c.oneTextArg(n, usage)
	if err != nil {
		return "", err
	}
	if !a.isConst || a.strConst == "" {
		return "", errAt(n.args[0].pos, "%s takes %s", n.raw, need)
	}
	return a.strConst, nil
}

// oneTextArg compiles the one text argument of n.
func (c *compiler) oneTextArg(n *node, usage string) (val, error) {
	if err := c.argc(n, 1, usage); err != nil {
		return val{}, err
	}
	return c.textArg(n, 0)
}

// oneNumArg compiles the one numeric argument of n.
func (c *compiler) oneNumArg(n *node, usage string) (val, error) {
	if err := c.argc(n, 1, usage); err != nil {
		return val{}, err
	}
	return c.numArg(n, 0)
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

// listGet is a list's GET(i): the i-th item from the start, "" past the
// end; skipEmpty leaves out empty items (IGNORE_EMPTY_ELEMENTS).
func listGet(s, sep string, i int64, skipEmpty bool) string {
	if i < 0 {
		return ""
	}
	for {
		item, rest, more := strings.Cut(s, sep)
		if !(skipEmpty && item == "") {
			if i == 0 {
				return item
			}
			i--
		}
		if !more {
			return ""
		}
		s = rest
	}
}

// listGetReverse is GET_REVERSE(i): the i-th item from the end.
func listGetReverse(s, sep string, i int64, skipEmpty bool) string {
	if i < 0 {
		return ""
	}
	for {
		k := strings.LastIndex(s, sep)
		item := s[k+len(sep):]
		if k < 0 {
			item = s
		}
		if !(skipEmpty && item == "") {
			if i == 0 {
				return item
			}
			i--
		}
		if k < 0 {
			return ""
		}
		s = s[:k]
	}
}

func listCount(s, sep string, skipEmpty bool) int64 {
	if s == "" {
		return 0
	}
	if !skipEmpty {
		return int64(strings.Count(s, sep)) + 1
	}
	var n int64
	for {
		item, rest, more := strings.Cut(s, sep)
		if item != "" {
			n++
		}
		if !more {
			return n
		}
		s = rest
	}
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
