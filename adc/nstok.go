package adc

import (
	"strings"

	"github.com/authdev/authdev/config"
)

// ntok is one word of an ns.conf command. A quoted word is unescaped; cols
// keeps the file column of each of its bytes, so that an error inside an
// expression points at the right character of the line.
type ntok struct {
	text   string
	col    int
	cols   []int
	quoted bool
}

// command is one ns.conf line: a verb and object ("add lb vserver"), then
// positional words, then -options with their values.
type command struct {
	pos  config.Pos
	key  string // lower-case, such as "add lb vserver"
	verb []ntok // the words of key, as written
	args []ntok
	opts []*option
	line string
}

type option struct {
	name string // lower-case, without the dash
	tok  ntok
	vals []ntok
	used bool
}

// opt returns the option called name (lower-case), marking it understood.
func (c *command) opt(name string) *option {
	for _, o := range c.opts {
		if o.name == name {
			o.used = true
			return o
		}
	}
	return nil
}

// optVal returns the single value of an option, or "" when absent.
func (c *command) optVal(name string) (string, *option) {
	o := c.opt(name)
	if o == nil || len(o.vals) == 0 {
		return "", o
	}
	return o.vals[0].text, o
}

// tokenize splits an ns.conf line into words. Quotes group words and \"
// and \\ are unescaped inside them, as the ADC's CLI does.
func tokenize(line string) ([]ntok, int, string) {
	var toks []ntok
	i := 0
	for {
		for i < len(line) && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r') {
			i++
		}
		if i >= len(line) {
			return toks, 0, ""
		}
		start := i
		var b strings.Builder
		var cols []int
		quoted := line[i] == '"'
		if end, ok := cliQuote(line, i); ok {
			// q{...} and '...' quote a word without escapes: the CLI's way
			// to write an expression full of double quotes.
			open := i + 1
			if line[i] == 'q' {
				open = i + 2
			}
			for k := open; k < end; k++ {
				b.WriteByte(line[k])
				cols = append(cols, k+1)
			}
			toks = append(toks, ntok{text: b.String(), col: start + 1, cols: cols, quoted: true})
			i = end + 1
			continue
		}
		if !quoted {
			// A quote inside a word is an ordinary character: only a
			// word that starts with one is quoted.
			for i < len(line) && line[i] != ' ' && line[i] != '\t' && line[i] != '\r' {
				b.WriteByte(line[i])
				cols = append(cols, i+1)
				i++
			}
		} else {
			i++
			for {
				if i >= len(line) {
					return nil, start + 1, `quote is not closed: add a closing '"' (write \" for a quote inside it)`
				}
				if line[i] == '\\' && i+1 < len(line) && (line[i+1] == '"' || line[i+1] == '\\') {
					b.WriteByte(line[i+1])
					cols = append(cols, i+2)
					i += 2
					continue
				}
				if line[i] == '"' {
					i++
					break
				}
				b.WriteByte(line[i])
				cols = append(cols, i+1)
				i++
			}
		}
		toks = append(toks, ntok{text: b.String(), col: start + 1, cols: cols, quoted: quoted})
	}
}

// cliQuote reports where a q-quoted (q{...}, q|...|) or single-quoted word
// starting at i ends: at its closing delimiter followed by a space or the
// end of the line.
func cliQuote(line string, i int) (int, bool) {
	var open int
	var d byte
	switch {
	case line[i] == '\'':
		open, d = i+1, '\''
	case line[i] == 'q' && i+1 < len(line) && strings.IndexByte(delimiters, line[i+1]) >= 0:
		open, d = i+2, closer(line[i+1])
	default:
		return 0, false
	}
	for k := open; k < len(line); k++ {
		if line[k] == d && (k+1 == len(line) || line[k+1] == ' ' || line[k+1] == '\t' || line[k+1] == '\r') {
			return k, true
		}
	}
	return 0, false
}

// parseCommand splits a tokenized line into key, arguments and options, and
// finds the function that loads it: nil when authdev does not read the
// command (it is still split, for its classification).
func parseCommand(toks []ntok, pos config.Pos, line string) (*command, func(*session, *command)) {
	c := &command{pos: pos, line: line}
	words := make([]string, 0, 4)
	for i := 0; i < len(toks) && i < 4 && !isOption(toks[i]); i++ {
		words = append(words, strings.ToLower(toks[i].text))
	}
	var run func(*session, *command)
	for n := len(words); n > 0 && run == nil; n-- {
		if f, ok := nsCommands[strings.Join(words[:n], " ")]; ok {
			c.key, c.verb, run = strings.Join(words[:n], " "), toks[:n], f
			toks = toks[n:]
		}
	}
	if run == nil {
		// The verb and object of a command authdev does not read: up to
		// three keywords ("set lb monitor"), not the name or address after
		// them ("set service nshttpd-gui-127.0.0.1-80", "add route 0.0.0.0").
		n := 1
		for n < min(len(words), 3) && isKeyword(words[n]) {
			n++
		}
		c.key, c.verb = strings.Join(words[:n], " "), toks[:n]
		toks = toks[n:]
	}
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if isOption(t) {
			o := &option{name: strings.ToLower(t.text[1:]), tok: t}
			for i+1 < len(toks) && !isOption(toks[i+1]) {
				i++
				o.vals = append(o.vals, toks[i])
			}
			c.opts = append(c.opts, o)
			continue
		}
		if len(c.opts) > 0 {
			// A word after options belongs to the last option.
			last := c.opts[len(c.opts)-1]
			last.vals = append(last.vals, t)
			continue
		}
		c.args = append(c.args, t)
	}
	return c, run
}

// isKeyword: a word of the CLI's own, letters then letters or digits
// (nd6RAvariables), unlike the names and addresses users give.
func isKeyword(w string) bool {
	for i := 0; i < len(w); i++ {
		c := w[i]
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (i == 0 || c < '0' || c > '9') {
			return false
		}
	}
	return w != ""
}

func isOption(t ntok) bool {
	if t.quoted || len(t.text) < 2 || t.text[0] != '-' {
		return false
	}
	c := t.text[1]
	return isIdentStart(c)
}

// verbText is the command as written, such as "add lb vserver".
func (c *command) verbText() string {
	parts := make([]string, len(c.verb))
	for i, t := range c.verb {
		parts[i] = t.text
	}
	return strings.Join(parts, " ")
}
