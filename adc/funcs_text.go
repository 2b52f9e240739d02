package adc

import (
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The functions of values: text, lists, numbers, addresses, booleans.

func textFuncs() map[string]funcSpec {
	return map[string]funcSpec{
		"SET_TEXT_MODE":          setTextMode,
		"TO_LOWER":               caseConv(strings.ToLower),
		"TO_UPPER":               caseConv(strings.ToUpper),
		"TYPECAST_TEXT_T":        func(c *compiler, recv val, n *node) (val, error) { return recv, c.noArgs(n) },
		"LENGTH":                 textLength,
		"TYPECAST_NUM_T":         typecastNum,
		"TYPECAST_LIST_T":        typecastList,
		"REGEX_MATCH":            regexMatch,
		"REGEX_SELECT":           regexSelect,
		"EQ":                     textOp(textEqual, nil),
		"NE":                     textOp(func(a, b string, fold bool) bool { return !textEqual(a, b, fold) }, nil),
		"CONTAINS":               textOp(func(a, b string, fold bool) bool { return textIndex(a, b, fold) >= 0 }, nil),
		"STARTSWITH":             textOp(hasPrefix, nil),
		"ENDSWITH":               textOp(hasSuffix, nil),
		"AFTER_STR":              textOp(nil, afterStr),
		"BEFORE_STR":             textOp(nil, beforeStr),
		"CONTAINS_ANY":           containsAny,
		"STARTSWITH_ANY":         patsetOp(hasPrefix),
		"ENDSWITH_ANY":           patsetOp(hasSuffix),
		"EQUALS_ANY":             equalsAny,
		"MAP_STRING":             mapString,
		"IS_STRINGMAP_KEY":       isStringMapKey,
		"HTTP_URL_SAFE":          httpURLSafe,
		"DECODE_USING_TEXT_MODE": decodeUsingTextMode,
	}
}

// setTextMode is SET_TEXT_MODE(IGNORECASE|NOIGNORECASE|URLENCODED|
// NOURLENCODED|PLUSASSPACE|NOPLUSASSPACE), also spelled PLUS_AS_SPACE: it
// changes how the following operations read the text.
func setTextMode(c *compiler, recv val, n *node) (val, error) {
	mode, err := c.keywordArg(n, "IGNORECASE", "NOIGNORECASE", "URLENCODED", "NOURLENCODED", "PLUSASSPACE", "NOPLUSASSPACE",
		"PLUS_AS_SPACE", "NO_PLUS_AS_SPACE")
	if err != nil {
		return val{}, err
	}
	v := recv
	switch mode {
	case "IGNORECASE", "NOIGNORECASE":
		v.fold = mode == "IGNORECASE"
	case "URLENCODED":
		v.decode |= decodeURL
	case "NOURLENCODED":
		v.decode &^= decodeURL
	case "PLUSASSPACE", "PLUS_AS_SPACE":
		v.decode |= decodePlus
	case "NOPLUSASSPACE", "NO_PLUS_AS_SPACE":
		v.decode &^= decodePlus
	}
	return v, nil
}

func caseConv(conv func(string) string) funcSpec {
	return func(c *compiler, recv val, n *node) (val, error) {
		f := recv.text
		return val{ty: tyText, fold: recv.fold, text: func(e *evalCtx) string { return conv(f(e)) }}, c.noArgs(n)
	}
}

func textLength(c *compiler, recv val, n *node) (val, error) {
	f := recv.text
	return val{ty: tyNum, num: func(e *evalCtx) int64 { return int64(len(f(e))) }}, c.noArgs(n)
}

func typecastNum(c *compiler, recv val, n *node) (val, error) {
	f := recv.text
	return val{ty: tyNum, num: func(e *evalCtx) int64 {
		s := f(e)
		v, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil {
			e.setUndef("TYPECAST_NUM_T: %q is not a number", s)
		}
		return v
	}}, c.noArgs(n)
}

func typecastList(c *compiler, recv val, n *node) (val, error) {
	sep, err := c.constTextArg(n, "TYPECAST_LIST_T(',')", "a fixed separator, as in TYPECAST_LIST_T(',')")
	if err != nil {
		return val{}, err
	}
	return val{ty: tyList, text: recv.text, sep: sep, fold: recv.fold}, nil
}

// regexArg compiles the re#...# argument of REGEX_MATCH and REGEX_SELECT.
func (c *compiler) regexArg(n *node, fold bool) (*regexp.Regexp, error) {
	if err := c.argc(n, 1, n.raw+"(re#^/api/v[0-9]+/#)"); err != nil {
		return nil, err
	}
	a := n.args[0]
	if a.kind != nLit || a.tok.kind != tRegex {
		return nil, errAt(a.pos, "%s takes a regular expression written re#...#, as in %s(re#^/api/#)", n.raw, n.raw)
	}
	pat := a.tok.val
	if fold {
		pat = "(?i)" + pat
	}
	re, err := regexp.Compile(pat)
	if err != nil {
		return nil, errAt(a.pos, "bad regular expression %s: %v", a.tok.raw, regexMsg(err))
	}
	return re, nil
}

func regexMatch(c *compiler, recv val, n *node) (val, error) {
	re, err := c.regexArg(n, recv.fold)
	if err != nil {
		return val{}, err
	}
	f := recv.text
	return val{ty: tyBool, pred: func(e *evalCtx) bool { return re.MatchString(f(e)) }}, nil
}

// regexSelect is REGEX_SELECT(re#...#): the first match, "" for none.
func regexSelect(c *compiler, recv val, n *node) (val, error) {
	re, err := c.regexArg(n, recv.fold)
	if err != nil {
		return val{}, err
	}
	f := recv.text
	return val{ty: tyText, fold: recv.fold, text: func(e *evalCtx) string {
		s := f(e)
		if loc := re.FindStringIndex(s); loc != nil {
			return s[loc[0]:loc[1]]
		}
		return ""
	}}, nil
}

// textOp builds EQ, CONTAINS, AFTER_STR and the like: test gives a
// boolean, cut a text. A literal argument, the usual case, saves a call.
func textOp(test func(s, arg string, fold bool) bool, cut func(s, arg string, fold bool) string) funcSpec {
	return func(c *compiler, recv val, n *node) (val, error) {
		a, err := c.oneTextArg(n, n.raw+"(\"text\")")
		if err != nil {
			return val{}, err
		}
		f, g, fold := recv.text, a.text, recv.fold
		if a.isConst {
			lit := a.strConst
			if test != nil {
				return val{ty: tyBool, pred: func(e *evalCtx) bool { return test(f(e), lit, fold) }}, nil
			}
			return val{ty: tyText, fold: fold, text: func(e *evalCtx) string { return cut(f(e), lit, fold) }}, nil
		}
		if test != nil {
			return val{ty: tyBool, pred: func(e *evalCtx) bool { return test(f(e), g(e), fold) }}, nil
		}
		return val{ty: tyText, fold: fold, text: func(e *evalCtx) string { return cut(f(e), g(e), fold) }}, nil
	}
}

// namedArg reads the quoted name of a patset or string map.
func (c *compiler) namedArg(n *node, what string) (string, error) {
	return c.constTextArg(n, n.raw+"(\"name\")", "the name of a "+what+" in quotes")
}

func (c *compiler) patsetArg(n *node) (*patset, error) {
	name, err := c.namedArg(n, "pattern set")
	if err != nil {
		return nil, err
	}
	ps, ok := c.env.patsets[name]
	if !ok {
		return nil, errAt(n.args[0].pos, "no pattern set %q: add `add policy patset %s` and bind its strings%s", name, name, didYouMean(name, mapKeys(c.env.patsets)))
	}
	return ps, nil
}

// patsetOp is STARTSWITH_ANY, ENDSWITH_ANY and the like: true when the
// test holds for any string of the pattern set.
func patsetOp(test func(s, p string, fold bool) bool) funcSpec {
	return func(c *compiler, recv val, n *node) (val, error) {
		ps, err := c.patsetArg(n)
		if err != nil {
			return val{}, err
		}
		f, fold := recv.text, recv.fold
		return val{ty: tyBool, pred: func(e *evalCtx) bool {
			s := f(e)
			for _, p := range ps.values {
				if test(s, p, fold) {
					return true
				}
			}
			return false
		}}, nil
	}
}

// containsAny is CONTAINS_ANY: the pattern set is indexed by the first two
// bytes of each string, so that a thousand strings cost a map lookup per
// byte of the text rather than a thousand searches.
func containsAny(c *compiler, recv val, n *node) (val, error) {
	ps, err := c.patsetArg(n)
	if err != nil {
		return val{}, err
	}
	f, x := recv.text, newPatIndex(ps.values, recv.fold)
	return val{ty: tyBool, pred: func(e *evalCtx) bool { return x.contains(f(e)) }}, nil
}

type patIndex struct {
	fold   bool
	short  []string            // strings the index cannot key: shorter than 2 bytes, or not ASCII when case-blind
	byPair map[uint16][]string // the others, by their first two bytes (lower-cased when case-blind)
}

func newPatIndex(values []string, fold bool) *patIndex {
	x := &patIndex{fold: fold, byPair: map[uint16][]string{}}
	for _, p := range values {
		if len(p) < 2 || (fold && (p[0] >= utf8.RuneSelf || p[1] >= utf8.RuneSelf)) {
			x.short = append(x.short, p)
			continue
		}
		k := x.pair(p[0], p[1])
		x.byPair[k] = append(x.byPair[k], p)
	}
	return x
}

func (x *patIndex) pair(a, b byte) uint16 {
	if x.fold {
		a, b = lowerASCII(a), lowerASCII(b)
	}
	return uint16(a)<<8 | uint16(b)
}

func lowerASCII(b byte) byte {
	if b >= 'A' && b <= 'Z' {
		return b + 'a' - 'A'
	}
	return b
}

func (x *patIndex) contains(s string) bool {
	for _, p := range x.short {
		if textIndex(s, p, x.fold) >= 0 {
			return true
		}
	}
	for i := 0; i+1 < len(s); i++ {
		for _, p := range x.byPair[x.pair(s[i], s[i+1])] {
			if hasPrefix(s[i:], p, x.fold) {
				return true
			}
		}
	}
	return false
}

// equalsAny is EQUALS_ANY: a map lookup, unless the text is case-blind.
func equalsAny(c *compiler, recv val, n *node) (val, error) {
	ps, err := c.patsetArg(n)
	if err != nil {
		return val{}, err
	}
	f := recv.text
	if recv.fold {
		return patsetOp(textEqual)(c, recv, n)
	}
	return val{ty: tyBool, pred: func(e *evalCtx) bool { _, ok := ps.set[f(e)]; return ok }}, nil
}

func (c *compiler) stringMapArg(n *node) (map[string]string, error) {
	name, err := c.namedArg(n, "string map")
	if err != nil {
		return nil, err
	}
	m, ok := c.env.stringMaps[name]
	if !ok {
		return nil, errAt(n.args[0].pos, "no string map %q: add `add policy stringmap %s` and bind its keys%s", name, name, didYouMean(name, mapKeys(c.env.stringMaps)))
	}
	return m, nil
}

// mapString is MAP_STRING("map"): the value bound to the text as a key,
// UNDEF when there is none, as on the ADC.
func mapString(c *compiler, recv val, n *node) (val, error) {
	m, err := c.stringMapArg(n)
	if err != nil {
		return val{}, err
	}
	f := recv.text
	return val{ty: tyText, text: func(e *evalCtx) string {
		v, ok := m[f(e)]
		if !ok {
			e.undefMsg("MAP_STRING: no key for the text in the string map")
		}
		return v
	}}, nil
}

func isStringMapKey(c *compiler, recv val, n *node) (val, error) {
	m, err := c.stringMapArg(n)
	if err != nil {
		return val{}, err
	}
	f := recv.text
	return val{ty: tyBool, pred: func(e *evalCtx) bool { _, ok := m[f(e)]; return ok }}, nil
}

// httpURLSafe is HTTP_URL_SAFE: characters that may not appear in a URL
// are percent-encoded.
func httpURLSafe(c *compiler, recv val, n *node) (val, error) {
	f := recv.text
	return val{ty: tyText, text: func(e *evalCtx) string { return e.urlSafe(f(e)) }}, c.noArgs(n)
}

// decodeMode is what DECODE_USING_TEXT_MODE undoes.
type decodeMode uint8

const (
	decodeURL  decodeMode = 1 << iota // %XX
	decodePlus                        // + as a space
)

func decodeUsingTextMode(c *compiler, recv val, n *node) (val, error) {
	f, mode := recv.text, recv.decode
	return val{ty: tyText, fold: recv.fold, text: func(e *evalCtx) string { return e.decodeText(f(e), mode) }}, c.noArgs(n)
}

func listFuncs() map[string]funcSpec {
	return map[string]funcSpec{
		"GET":                   listIndex(listGet),
		"GET_REVERSE":           listIndex(listGetReverse),
		"COUNT":                 listCountSpec,
		"IGNORE_EMPTY_ELEMENTS": ignoreEmpty,
	}
}

func listIndex(get func(s, sep string, i int64, skipEmpty bool) string) funcSpec {
	return func(c *compiler, recv val, n *node) (val, error) {
		a, err := c.oneNumArg(n, n.raw+"(0)")
		if err != nil {
			return val{}, err
		}
		f, sep, g, skip := recv.text, recv.sep, a.num, recv.skipEmpty
		return val{ty: tyText, fold: recv.fold, text: func(e *evalCtx) string { return get(f(e), sep, g(e), skip) }}, nil
	}
}

func listCountSpec(c *compiler, recv val, n *node) (val, error) {
	f, sep, skip := recv.text, recv.sep, recv.skipEmpty
	return val{ty: tyNum, num: func(e *evalCtx) int64 { return listCount(f(e), sep, skip) }}, c.noArgs(n)
}

func ignoreEmpty(c *compiler, recv val, n *node) (val, error) {
	v := recv
	v.skipEmpty = true
	return v, c.noArgs(n)
}

func numFuncs() map[string]funcSpec {
	return map[string]funcSpec{
		"EQ":              numOp(tEq),
		"NE":              numOp(tNe),
		"GT":              numOp(tGt),
		"LT":              numOp(tLt),
		"GE":              numOp(tGe),
		"LE":              numOp(tLe),
		"BETWEEN":         numBetween,
		"TYPECAST_TEXT_T": numText,
	}
}

func numOp(op tokKind) funcSpec {
	return func(c *compiler, recv val, n *node) (val, error) {
		a, err := c.oneNumArg(n, n.raw+"(10)")
		if err != nil {
			return val{}, err
		}
		return val{ty: tyBool, pred: numCompare(op, recv.num, a.num)}, nil
	}
}

// numBetween is BETWEEN(low, high), both included.
func numBetween(c *compiler, recv val, n *node) (val, error) {
	if err := c.argc(n, 2, n.raw+"(10, 20)"); err != nil {
		return val{}, err
	}
	lo, err := c.numArg(n, 0)
	if err != nil {
		return val{}, err
	}
	hi, err := c.numArg(n, 1)
	if err != nil {
		return val{}, err
	}
	f, l, h := recv.num, lo.num, hi.num
	return val{ty: tyBool, pred: func(e *evalCtx) bool { x := f(e); return x >= l(e) && x <= h(e) }}, nil
}

func numText(c *compiler, recv val, n *node) (val, error) {
	f := recv.num
	return val{ty: tyText, text: func(e *evalCtx) string { return e.numText(f(e)) }}, c.noArgs(n)
}

func ipFuncs() map[string]funcSpec {
	return map[string]funcSpec{
		"IN_SUBNET":       inSubnet,
		"EQ":              ipEqual(false),
		"NE":              ipEqual(true),
		"TYPECAST_TEXT_T": ipText,
	}
}

func ipText(c *compiler, recv val, n *node) (val, error) {
	f := recv.addr
	return val{ty: tyText, text: func(e *evalCtx) string { return e.ipText(f(e)) }}, c.noArgs(n)
}

func inSubnet(c *compiler, recv val, n *node) (val, error) {
	if err := c.argc(n, 1, "IN_SUBNET(10.0.0.0/8)"); err != nil {
		return val{}, err
	}
	a := n.args[0]
	if a.kind != nLit || (a.tok.kind != tRaw && a.tok.kind != tString) {
		return val{}, errAt(a.pos, "IN_SUBNET takes a subnet written as address/bits, as in IN_SUBNET(10.0.0.0/8)")
	}
	p, err := netip.ParsePrefix(a.tok.val)
	if err != nil {
		return val{}, errAt(a.pos, "%q is not a subnet: write it as address/bits, as in 10.0.0.0/8", a.tok.val)
	}
	p = p.Masked()
	f := recv.addr
	return val{ty: tyBool, pred: func(e *evalCtx) bool { return p.Contains(f(e).Unmap()) }}, nil
}

func ipEqual(ne bool) funcSpec {
	return func(c *compiler, recv val, n *node) (val, error) {
		if err := c.argc(n, 1, n.raw+"(10.0.0.1)"); err != nil {
			return val{}, err
		}
		a := n.args[0]
		addr, err := netip.ParseAddr(a.tok.val)
		if a.kind != nLit || (a.tok.kind != tRaw && a.tok.kind != tString) || err != nil {
			return val{}, errAt(a.pos, "%s takes an IP address, as in %s(10.0.0.1)", n.raw, n.raw)
		}
		f := recv.addr
		return val{ty: tyBool, pred: func(e *evalCtx) bool { return (f(e).Unmap() == addr.Unmap()) != ne }}, nil
	}
}

func boolFuncs() map[string]funcSpec {
	return map[string]funcSpec{
		"NOT": func(c *compiler, recv val, n *node) (val, error) {
			f := recv.pred
			return val{ty: tyBool, pred: func(e *evalCtx) bool { return !f(e) }}, c.noArgs(n)
		},
	}
}
