package adc

import (
	"fmt"
	"strings"
)

type tokKind int

const (
	tEOF tokKind = iota
	tIdent
	tString // "..." or q{...}
	tChar   // 'c', the separator argument of TYPECAST_LIST_T
	tRegex  // re#...#
	tNumber
	tRaw // an IP address or subnet written bare, as in IN_SUBNET(10.0.0.0/8)
	tLParen
	tRParen
	tComma
	tDot
	tAnd
	tOr
	tNot
	tPlus
	tMinus
	tEq
	tNe
	tLt
	tGt
	tLe
	tGe
)

var tokNames = map[tokKind]string{
	tEOF: "the end of the expression", tIdent: "a name", tString: "a string", tChar: "a character",
	tRegex: "a regular expression", tNumber: "a number", tRaw: "an address", tLParen: `"("`,
	tRParen: `")"`, tComma: `","`, tDot: `"."`, tAnd: `"&&"`, tOr: `"||"`, tNot: `"!"`,
	tPlus: `"+"`, tMinus: `"-"`, tEq: `"=="`, tNe: `"!="`, tLt: `"<"`, tGt: `">"`, tLe: `"<="`, tGe: `">="`,
}

func (k tokKind) String() string { return tokNames[k] }

// token is one lexeme. pos is its byte offset in the expression; val is the
// unescaped content of strings and regexes, and the upper-cased name of
// identifiers (keywords are case-blind on the ADC).
type token struct {
	kind tokKind
	pos  int
	end  int
	val  string
	raw  string // the identifier as written, for messages
}

// maxExprLen is the ADC's limit on one expression.
const maxExprLen = 1499

// exprError is a problem at a byte offset of an expression.
type exprError struct {
	off int
	msg string
	// notEmulated: the expression is valid NetScaler, but uses a function
	// authdev does not emulate. The appliance would load it.
	notEmulated bool
}

func (e *exprError) Error() string { return e.msg }

func errAt(off int, format string, args ...any) *exprError {
	return &exprError{off: off, msg: fmt.Sprintf(format, args...)}
}

// notEmulatedAt reports a NetScaler function authdev does not emulate.
func notEmulatedAt(off int, what string) *exprError {
	return &exprError{off: off, msg: what + " is not emulated", notEmulated: true}
}

// lexer produces tokens on demand, so that the parser can read an argument
// like 10.0.0.0/8 as one raw token where it expects an address.
type lexer struct {
	src string
	off int
}

// delimiters are the characters that may open a q-string or a regex. An
// opening bracket closes with its partner.
const delimiters = "/{<|~$^+=&%@#?`!"

func closer(open byte) byte {
	switch open {
	case '{':
		return '}'
	case '<':
		return '>'
	}
	return open
}

func isIdentStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isIdentChar(c byte) bool { return isIdentStart(c) || (c >= '0' && c <= '9') }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func (l *lexer) skipSpace() {
	for l.off < len(l.src) {
		switch l.src[l.off] {
		case ' ', '\t', '\n', '\r':
			l.off++
		default:
			return
		}
	}
}

// rawArg reads a bare address or subnet (10.0.0.0/8, ::1) if one starts
// here and ends at ")" or ",".
func (l *lexer) rawArg() (token, bool) {
	l.skipSpace()
	start := l.off
	i := start
	for i < len(l.src) && strings.IndexByte("0123456789abcdefABCDEF.:/", l.src[i]) >= 0 {
		i++
	}
	j := i
	for j < len(l.src) && (l.src[j] == ' ' || l.src[j] == '\t') {
		j++
	}
	text := l.src[start:i]
	if i == start || j >= len(l.src) || (l.src[j] != ')' && l.src[j] != ',') ||
		!strings.ContainsAny(text, ".:") || !looksLikeAddr(text) {
		return token{}, false
	}
	l.off = i
	return token{kind: tRaw, pos: start, end: i, val: text, raw: text}, true
}

// timeArgs reads the date arguments of SYS.TIME's functions, each of them
// GMT or LOCAL then words, up to the closing ")".
func (l *lexer) timeArgs() ([]token, bool) {
	l.skipSpace()
	rest := strings.ToUpper(l.src[l.off:])
	if !strings.HasPrefix(rest, "GMT ") && !strings.HasPrefix(rest, "LOCAL ") {
		return nil, false
	}
	end := strings.IndexByte(l.src[l.off:], ')')
	if end < 0 {
		return nil, false
	}
	var toks []token
	start := l.off
	for _, part := range strings.Split(l.src[start:start+end], ",") {
		lead := len(part) - len(strings.TrimLeft(part, " \t"))
		text := strings.TrimSpace(part)
		toks = append(toks, token{kind: tRaw, pos: start + lead, end: start + lead + len(text), val: text, raw: text})
		start += len(part) + 1
	}
	l.off += end
	return toks, true
}

// addrAt reads a bare IPv4 address starting at start, where the lexer saw
// a number, and moves past it.
func (l *lexer) addrAt(start int) (token, bool) {
	i := start
	for i < len(l.src) && strings.IndexByte("0123456789.", l.src[i]) >= 0 {
		i++
	}
	text := l.src[start:i]
	if strings.Count(text, ".") != 3 || !looksLikeAddr(text) {
		return token{}, false
	}
	l.off = i
	return token{kind: tRaw, pos: start, end: i, val: text, raw: text}, true
}

// operators are the punctuation tokens, two-character ones first.
var (
	operators2 = map[string]tokKind{"&&": tAnd, "||": tOr, "==": tEq, "!=": tNe, "<=": tLe, ">=": tGe}
	operators1 = map[byte]tokKind{'(': tLParen, ')': tRParen, ',': tComma, '.': tDot, '!': tNot, '+': tPlus,
		'-': tMinus, '<': tLt, '>': tGt}
)

func (l *lexer) next() (token, error) {
	l.skipSpace()
	start := l.off
	if start >= len(l.src) {
		return token{kind: tEOF, pos: start, end: start}, nil
	}
	c := l.src[start]
	two := ""
	if start+1 < len(l.src) {
		two = l.src[start : start+2]
	}
	if k, ok := operators2[two]; ok {
		return l.take(k, 2), nil
	}
	if k, ok := operators1[c]; ok {
		return l.take(k, 1), nil
	}
	switch {
	case c == '"':
		return l.quoted()
	case c == '\'':
		return l.char()
	case c == '&' || c == '|' || c == '=':
		return token{}, errAt(start, "%q is not an operator: write %q", string(c), string(c)+string(c))
	case isDigit(c):
		return l.number(two == "0x" || two == "0X")
	case isIdentStart(c):
		return l.word()
	}
	return token{}, errAt(start, "unexpected character %q", string(c))
}

// take makes the next n bytes a token of kind k.
func (l *lexer) take(k tokKind, n int) token {
	start := l.off
	l.off += n
	return token{kind: k, pos: start, end: l.off, raw: l.src[start:l.off]}
}

// number reads a decimal or 0x hexadecimal number.
func (l *lexer) number(hex bool) (token, error) {
	start, i := l.off, l.off
	if hex {
		i += 2
		for i < len(l.src) && isHex(l.src[i]) {
			i++
		}
	} else {
		for i < len(l.src) && isDigit(l.src[i]) {
			i++
		}
	}
	if i < len(l.src) && isIdentChar(l.src[i]) {
		return token{}, errAt(start, "malformed number %q", l.src[start:i+1])
	}
	return l.take(tNumber, i-start), nil
}

// word reads a name, or the q{...} string or re#...# regex it opens.
func (l *lexer) word() (token, error) {
	start, i := l.off, l.off
	for i < len(l.src) && isIdentChar(l.src[i]) {
		i++
	}
	word := l.src[start:i]
	if i < len(l.src) && strings.IndexByte(delimiters, l.src[i]) >= 0 {
		switch strings.ToLower(word) {
		case "q":
			return l.delimited(start, i, tString)
		case "re":
			return l.delimited(start, i, tRegex)
		case "xp", "xp_json", "xp_html":
			// An XPath literal: read, so that XPATH is named as not
			// emulated rather than its argument as a syntax error.
			return l.delimited(start, i, tString)
		}
	}
	l.off = i
	return token{kind: tIdent, pos: start, end: i, val: strings.ToUpper(word), raw: word}, nil
}

// delimited reads q{...} or re#...#: the text between the delimiters is
// taken as written, without escapes, which is the point of these forms.
func (l *lexer) delimited(start, open int, kind tokKind) (token, error) {
	d := l.src[open]
	end := strings.IndexByte(l.src[open+1:], closer(d))
	if end < 0 {
		return token{}, errAt(start, "%s is not closed: add %q at its end", l.src[start:open+1], string(closer(d)))
	}
	l.off = open + 1 + end + 1
	return token{kind: kind, pos: start, end: l.off, val: l.src[open+1 : open+1+end], raw: l.src[start:l.off]}, nil
}

func (l *lexer) quoted() (token, error) {
	start := l.off
	var b strings.Builder
	i := start + 1
	for i < len(l.src) {
		c := l.src[i]
		switch c {
		case '"':
			l.off = i + 1
			return token{kind: tString, pos: start, end: l.off, val: b.String(), raw: l.src[start:l.off]}, nil
		case '\\':
			if i+1 >= len(l.src) {
				return token{}, errAt(i, "a string ends in a lone backslash: write \\\\ for a backslash")
			}
			e := l.src[i+1]
			switch e {
			case '"', '\\':
				b.WriteByte(e)
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case 'x':
				if i+3 < len(l.src) && isHex(l.src[i+2]) && isHex(l.src[i+3]) {
					b.WriteByte(unhex(l.src[i+2])<<4 | unhex(l.src[i+3]))
					i += 4
					continue
				}
				return token{}, errAt(i, `\x must be followed by two hex digits, as in \x41`)
			default:
				// Kept as written, so that a backslash meant for a
				// regular expression survives.
				b.WriteByte('\\')
				b.WriteByte(e)
			}
			i += 2
		default:
			b.WriteByte(c)
			i++
		}
	}
	return token{}, errAt(start, `string is not closed: add a closing '"' (write \" for a quote inside it)`)
}

func (l *lexer) char() (token, error) {
	start := l.off
	if start+2 < len(l.src) && l.src[start+2] == '\'' {
		l.off = start + 3
		return token{kind: tChar, pos: start, end: l.off, val: l.src[start+1 : start+2], raw: l.src[start:l.off]}, nil
	}
	if start+3 < len(l.src) && l.src[start+1] == '\\' && l.src[start+3] == '\'' {
		v := l.src[start+2 : start+3]
		switch v {
		case "n":
			v = "\n"
		case "t":
			v = "\t"
		case "r":
			v = "\r"
		}
		l.off = start + 4
		return token{kind: tChar, pos: start, end: l.off, val: v, raw: l.src[start:l.off]}, nil
	}
	return token{}, errAt(start, `a character is one letter between single quotes, as in ','; use "..." for strings`)
}

func isHex(c byte) bool { return strings.IndexByte("0123456789abcdefABCDEF", c) >= 0 }

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}
