package adc

import (
	"net/netip"
	"strings"
)

type nodeKind int

const (
	nLit    nodeKind = iota // a literal: tok holds it
	nCall                   // NAME or NAME(args), on recv when recv != nil
	nUnary                  // op x
	nBinary                 // x op y
	nParen                  // (x), kept so that .NOT can follow it
)

// node is the syntax tree of an expression before its types are checked.
type node struct {
	kind   nodeKind
	pos    int // byte offset of the node's first character
	tok    token
	op     tokKind
	x, y   *node
	recv   *node
	name   string // upper-cased function or property name
	raw    string // the name as written
	args   []*node
	parens bool // NAME(...) rather than NAME
}

// parser is a precedence-climbing parser for the ADC's operators:
// ! binds tightest, then + -, then comparisons, then &&, then ||.
type parser struct {
	lx    lexer
	tok   token
	depth int
}

// maxDepth bounds nesting so that a hostile expression cannot exhaust the
// stack.
const maxDepth = 100

func parseExpr(src string) (*node, error) {
	if len(src) > maxExprLen {
		return nil, errAt(maxExprLen, "expression is %d characters long; the ADC allows at most %d: split it into several policies", len(src), maxExprLen)
	}
	if strings.TrimSpace(src) == "" {
		return nil, errAt(0, "empty expression: write a rule such as true or HTTP.REQ.URL.STARTSWITH(\"/\")")
	}
	p := &parser{lx: lexer{src: src}}
	if err := p.advance(); err != nil {
		return nil, err
	}
	n, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tEOF {
		return nil, errAt(p.tok.pos, "unexpected %s after a complete expression: join expressions with && or ||", describeTok(p.tok))
	}
	return n, nil
}

func describeTok(t token) string {
	switch t.kind {
	case tEOF:
		return t.kind.String()
	case tIdent, tNumber, tRaw:
		return strings.TrimSpace(`"` + t.raw + `"`)
	case tString:
		return "string " + t.raw
	}
	if t.raw != "" {
		return `"` + t.raw + `"`
	}
	return t.kind.String()
}

func (p *parser) advance() error {
	t, err := p.lx.next()
	if err != nil {
		return err
	}
	p.tok = t
	return nil
}

func (p *parser) expect(k tokKind, context string) error {
	if p.tok.kind != k {
		return errAt(p.tok.pos, "expected %s %s, found %s", k, context, describeTok(p.tok))
	}
	return p.advance()
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > maxDepth {
		return errAt(p.tok.pos, "expression nests deeper than %d levels", maxDepth)
	}
	return nil
}

func (p *parser) leave() { p.depth-- }

func (p *parser) binary(next func() (*node, error), ops ...tokKind) (*node, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	x, err := next()
	if err != nil {
		return nil, err
	}
	for {
		op := p.tok
		found := false
		for _, k := range ops {
			found = found || op.kind == k
		}
		if !found {
			return x, nil
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
		y, err := next()
		if err != nil {
			return nil, err
		}
		x = &node{kind: nBinary, pos: x.pos, tok: op, op: op.kind, x: x, y: y}
	}
}

func (p *parser) parseOr() (*node, error)  { return p.binary(p.parseAnd, tOr) }
func (p *parser) parseAnd() (*node, error) { return p.binary(p.parseCmp, tAnd) }
func (p *parser) parseCmp() (*node, error) {
	return p.binary(p.parseAdd, tEq, tNe, tLt, tGt, tLe, tGe)
}
func (p *parser) parseAdd() (*node, error) { return p.binary(p.parseUnary, tPlus, tMinus) }

func (p *parser) parseUnary() (*node, error) {
	if p.tok.kind == tNot || p.tok.kind == tMinus {
		if err := p.enter(); err != nil {
			return nil, err
		}
		defer p.leave()
		op := p.tok
		if err := p.advance(); err != nil {
			return nil, err
		}
		x, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		return &node{kind: nUnary, pos: op.pos, tok: op, op: op.kind, x: x}, nil
	}
	return p.parsePostfix()
}

func (p *parser) parsePostfix() (*node, error) {
	x, err := p.parsePrimary()
	if err != nil {
		return nil, err
	}
	for p.tok.kind == tDot {
		if err := p.advance(); err != nil {
			return nil, err
		}
		if p.tok.kind != tIdent {
			return nil, errAt(p.tok.pos, "expected a function or property name after \".\", found %s", describeTok(p.tok))
		}
		c, err := p.parseCall(x)
		if err != nil {
			return nil, err
		}
		x = c
	}
	return x, nil
}

// parseCall reads NAME or NAME(args) at an identifier.
func (p *parser) parseCall(recv *node) (*node, error) {
	id := p.tok
	n := &node{kind: nCall, pos: id.pos, tok: id, recv: recv, name: id.val, raw: id.raw}
	if recv != nil {
		n.pos = recv.pos
	}
	if err := p.advance(); err != nil {
		return nil, err
	}
	if p.tok.kind != tLParen {
		return n, nil
	}
	n.parens = true
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	if args, ok := p.lx.timeArgs(); ok {
		// Dates such as GMT 2024 Jan 10_10h, as SYS.TIME.BETWEEN takes them.
		for _, a := range args {
			n.args = append(n.args, &node{kind: nLit, pos: a.pos, tok: a})
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
		if err := p.expect(tRParen, "after the dates of "+id.raw); err != nil {
			return nil, err
		}
		return n, nil
	}
	if raw, ok := p.lx.rawArg(); ok {
		// A bare address or subnet: IN_SUBNET(10.0.0.0/8), EQ(10.1.2.3).
		n.args = append(n.args, &node{kind: nLit, pos: raw.pos, tok: raw})
		if err := p.advance(); err != nil {
			return nil, err
		}
		if err := p.expect(tRParen, "after the argument of "+id.raw); err != nil {
			return nil, err
		}
		return n, nil
	}
	if err := p.advance(); err != nil {
		return nil, err
	}
	if p.tok.kind == tRParen {
		return n, p.advance()
	}
	for {
		a, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		n.args = append(n.args, a)
		if p.tok.kind == tComma {
			if err := p.advance(); err != nil {
				return nil, err
			}
			continue
		}
		if p.tok.kind != tRParen {
			return nil, errAt(p.tok.pos, "expected \")\" to close the arguments of %s, found %s", id.raw, describeTok(p.tok))
		}
		return n, p.advance()
	}
}

func (p *parser) parsePrimary() (*node, error) {
	t := p.tok
	switch t.kind {
	case tNumber:
		if raw, ok := p.lx.addrAt(t.pos); ok {
			// An address compared with ==, as in CLIENT.IP.SRC == 10.1.2.3.
			return &node{kind: nLit, pos: raw.pos, tok: raw}, p.advance()
		}
		return &node{kind: nLit, pos: t.pos, tok: t}, p.advance()
	case tString, tRegex, tChar:
		return &node{kind: nLit, pos: t.pos, tok: t}, p.advance()
	case tIdent:
		return p.parseCall(nil)
	case tLParen:
		if err := p.enter(); err != nil {
			return nil, err
		}
		defer p.leave()
		if err := p.advance(); err != nil {
			return nil, err
		}
		x, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		if p.tok.kind != tRParen {
			return nil, errAt(p.tok.pos, "expected \")\" to close the \"(\" opened earlier, found %s", describeTok(p.tok))
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
		return &node{kind: nParen, pos: t.pos, x: x}, nil
	case tEOF:
		return nil, errAt(t.pos, "expression ends too early: expected a value, such as HTTP.REQ.URL or \"text\"")
	}
	return nil, errAt(t.pos, "expected a value, such as HTTP.REQ.URL or \"text\", found %s", describeTok(t))
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	neg := n < 0
	if neg {
		n = -n
	}
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}

func looksLikeAddr(s string) bool {
	if strings.Contains(s, "/") {
		_, err := netip.ParsePrefix(s)
		return err == nil
	}
	_, err := netip.ParseAddr(s)
	return err == nil
}
