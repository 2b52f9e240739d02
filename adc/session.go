package adc

import (
	"cmp"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/authdev/authdev/config"
)

// session is one run of Compile: it gathers the ns.conf's objects, then
// compiles every expression once the names they refer to are all known,
// and collects every problem rather than stopping at the first.
type session struct {
	cfg   *config.Config
	e     *Engine
	env   *env
	errs  config.Errors
	files map[string][]string
	ns    *nsconf // nil without proxy.adc_config

	yamlBindings []*binding
}

func newSession(cfg *config.Config, e *Engine) *session {
	return &session{cfg: cfg, e: e, env: newEnv(e.limits, e.now), files: map[string][]string{}}
}

// exprSrc is an expression and how to find its characters in the file.
type exprSrc struct {
	text string
	pos  func(off int) config.Pos
}

// fail records a problem with the source line and a caret under it.
func (s *session) fail(pos config.Pos, msg string) {
	if line, ok := s.line(pos.File, pos.Line); ok && pos.Col > 0 {
		msg += "\n    " + strings.TrimRight(line, "\r") + "\n    " + caret(line, pos.Col)
	}
	s.errs = append(s.errs, config.Problem{Pos: pos, Msg: msg})
}

// caret is spaces (keeping tabs, so it lines up) then "^" under col.
func caret(line string, col int) string {
	var b strings.Builder
	for i := 0; i < col-1 && i < len(line); i++ {
		if line[i] == '\t' {
			b.WriteByte('\t')
		} else {
			b.WriteByte(' ')
		}
	}
	for i := len(line); i < col-1; i++ {
		b.WriteByte(' ')
	}
	b.WriteByte('^')
	return b.String()
}

func (s *session) lines(file string) []string {
	if file == "" {
		return nil
	}
	if ls, ok := s.files[file]; ok {
		return ls
	}
	var data []byte
	if file == config.EmbeddedDemoName {
		data = config.DemoYAML()
	} else {
		b, err := os.ReadFile(file)
		if err != nil {
			s.files[file] = nil
			return nil
		}
		data = b
	}
	ls := strings.Split(string(data), "\n")
	s.files[file] = ls
	return ls
}

func (s *session) line(file string, n int) (string, bool) {
	ls := s.lines(file)
	if n < 1 || n > len(ls) {
		return "", false
	}
	return ls[n-1], true
}

// compileErr reports an expression error at its place in the file.
func (s *session) compileErr(src exprSrc, what string, err error) {
	var ee *exprError
	if errors.As(err, &ee) {
		s.fail(src.pos(ee.off), what+": "+ee.msg)
		return
	}
	s.fail(src.pos(0), what+": "+err.Error())
}

// compileRule compiles a rule. A function authdev does not emulate makes
// the rule UNDEF when evaluated, and a warning of the given effect; with
// effect 0 (authdev.yaml) it is an error.
func (s *session) compileRule(src exprSrc, what string, effect Effect) boolFn {
	fn, err := compileBool(src.text, s.env)
	if err == nil {
		return fn
	}
	if msg, ok := s.notEmulated(src, what, err, effect); ok {
		return func(e *evalCtx) bool { e.undefMsg(msg); return false }
	}
	return nil
}

// compileString compiles a text expression, as compileRule does a rule.
func (s *session) compileString(src exprSrc, what string, effect Effect) textFn {
	fn, err := compileText(src.text, s.env)
	if err == nil {
		return fn
	}
	if msg, ok := s.notEmulated(src, what, err, effect); ok {
		return func(e *evalCtx) string { e.undefMsg(msg); return "" }
	}
	return nil
}

// notEmulated reports a compile error: as a warning when it names a
// NetScaler function authdev does not emulate (and effect allows), else as
// an error.
func (s *session) notEmulated(src exprSrc, what string, err error, effect Effect) (string, bool) {
	var ee *exprError
	if effect == 0 || !errors.As(err, &ee) || !ee.notEmulated {
		s.compileErr(src, what, err)
		return "", false
	}
	if effect != effectQuiet {
		s.warn(src.pos(ee.off), "", effect, what+": "+ee.msg+": it is UNDEF when evaluated")
	}
	return ee.msg, true
}

// yamlExpr locates an expression of authdev.yaml. YAML may fold a long
// expression over several lines and unescape a quoted one, so offsets are
// mapped by walking the file's text alongside the expression's.
func (s *session) yamlExpr(x config.Expr) exprSrc {
	return exprSrc{text: x.Text, pos: func(off int) config.Pos {
		return mapOffset(s.lines(x.Pos.File), x.Pos, x.Text, off)
	}}
}

func mapOffset(lines []string, start config.Pos, text string, off int) config.Pos {
	off = min(off, len(text))
	if start.Line < 1 || start.Line > len(lines) {
		if start.Line == 0 {
			return start
		}
		return config.Pos{File: start.File, Line: start.Line, Col: max(start.Col, 1) + off}
	}
	l := start.Line - 1
	indent := func(l int) int {
		if l >= len(lines) {
			return 0
		}
		return len(lines[l]) - len(strings.TrimLeft(lines[l], " \t"))
	}
	c := start.Col - 1
	blockIndent := indent(l)
	if start.Col == 0 {
		c = blockIndent
	}
	for i := 0; i < off && l < len(lines); i++ {
		ch := text[i]
		if ch == '\n' {
			l++
			c = min(blockIndent, indent(l))
			continue
		}
		if c >= len(lines[l]) {
			// YAML folded the line break into this space.
			l++
			c = indent(l)
			if ch == ' ' {
				continue
			}
		}
		if l >= len(lines) {
			break
		}
		line := lines[l]
		if c < len(line) && line[c] == ch {
			c++
			continue
		}
		// An escape sequence in a quoted scalar: skip to the character.
		for c < len(line) && line[c] != ch {
			c++
		}
		c++
	}
	if l >= len(lines) {
		return config.Pos{File: start.File, Line: start.Line, Col: max(start.Col, 1) + off}
	}
	return config.Pos{File: start.File, Line: l + 1, Col: c + 1}
}

// compileYAML compiles authdev.yaml's policies and headers.
func (s *session) compileYAML() {
	px := &s.cfg.Proxy
	for _, h := range px.Headers {
		src := s.yamlExpr(h.Expr)
		if h.Expr.Pos.File == "" {
			// A built-in default header: no file to point into.
			src.pos = func(int) config.Pos { return config.Pos{File: s.cfg.Source} }
		}
		fn := s.compileString(src, "header "+h.Name, 0)
		if fn != nil {
			s.e.headers = append(s.e.headers, headerRule{name: h.Name, fn: fn})
		}
		s.own(h.Name)
	}
	for _, p := range px.Policies {
		fn := s.compileRule(s.yamlExpr(p.Rule), "policy "+quote(p.Name), 0)
		if fn == nil {
			continue
		}
		pol := &policy{name: p.Name, kind: KindAuthorization, rule: p.Rule.Text, fn: fn,
			action: p.Action, allow: p.Action == "ALLOW", pos: p.Rule.Pos}
		s.yamlBindings = append(s.yamlBindings, newBinding(pol, 0, "authdev.yaml"))
	}
}

// rel names a file relative to the config's folder, as users wrote it.
func (s *session) rel(file string) string {
	if r, err := filepath.Rel(s.cfg.Dir, file); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return file
}

func (s *session) relPos(p config.Pos) string {
	p.File = s.rel(p.File)
	return posString(p)
}

func quote(s string) string { return `"` + s + `"` }

// own records a header the engine inserts, once.
func (s *session) own(name string) {
	for _, o := range s.e.owned {
		if canonical(o) == canonical(name) {
			return
		}
	}
	s.e.owned = append(s.e.owned, name)
}

// link builds the evaluation chains and the settings.
func (s *session) link() {
	e := s.e
	e.defaultAllow = s.cfg.Proxy.DefaultAuthorization != "DENY"
	e.settings.DefaultAuthorization = s.cfg.Proxy.DefaultAuthorization
	e.settings.DefaultAuthorizationFrom = "proxy.default_authorization in " + filepath.Base(s.cfg.Source)
	e.settings.SessionTimeout = s.cfg.Proxy.SessionTimeout.D()
	e.needsBody = s.env.needsBody
	if s.ns == nil {
		ch := &chains{authz: s.yamlBindings}
		e.all, e.proxy, e.upstream = ch, ch, map[string]*chains{}
	} else {
		s.ns.link(s)
		e.needsBody = s.env.needsBody
	}
	s.describe()
}

// sortBindings orders bindings by priority, keeping file order for ties.
func sortBindings(bs []*binding) []*binding {
	out := slices.Clone(bs)
	slices.SortStableFunc(out, func(a, b *binding) int { return cmp.Compare(a.priority, b.priority) })
	return out
}
