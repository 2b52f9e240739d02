package audit

import (
	"strconv"
	"time"
	"unicode/utf8"
)

// appendLogLine appends the log line of e: the JSON encoding/json gives the
// Event without its detail fields, then a newline. It is written by hand
// because the log takes a line per proxied request and reflection made up
// most of its cost; TestLogLineMatchesEncodingJSON holds the two equal.
func appendLogLine(b []byte, e *Event) []byte {
	b = append(b, `{"time":"`...)
	b = e.Time.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","kind":`...)
	b = appendJSONString(b, string(e.Kind))
	b = appendStringField(b, "persona", e.Persona)
	b = appendStringField(b, "user", e.User)
	b = appendStringField(b, "env", e.Env)
	b = appendStringField(b, "method", e.Method)
	b = appendStringField(b, "path", e.Path)
	b = appendStringField(b, "upstream", e.Upstream)
	b = appendStringField(b, "target", e.Target)
	if e.Status != 0 {
		b = append(b, `,"status":`...)
		b = strconv.AppendInt(b, int64(e.Status), 10)
	}
	if e.Latency != 0 {
		b = append(b, `,"latency_ns":`...)
		b = strconv.AppendInt(b, int64(e.Latency), 10)
	}
	b = appendStringField(b, "decision", string(e.Decision))
	b = appendStringField(b, "policy", e.Policy)
	b = appendStringField(b, "via", e.Via)
	b = appendStringField(b, "client_ip", e.ClientIP)
	b = appendStringField(b, "request_id", e.RequestID)
	b = appendStringField(b, "message", e.Message)
	b = appendStringField(b, "level", e.Level)
	if len(e.HeadersStripped) > 0 {
		b = append(b, `,"headers_stripped":[`...)
		for i, h := range e.HeadersStripped {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, h)
		}
		b = append(b, ']')
	}
	if len(e.Messages) > 0 {
		// What the ns.conf's audit message actions wrote, as ns.log keeps it.
		b = append(b, `,"messages":[`...)
		for i, m := range e.Messages {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"policy":`...)
			b = appendJSONString(b, m.Policy)
			b = append(b, `,"level":`...)
			b = appendJSONString(b, m.Level)
			b = append(b, `,"text":`...)
			b = appendJSONString(b, m.Text)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	return append(b, "}\n"...)
}

// appendStringField appends `,"name":"value"` unless value is empty
// (omitempty).
func appendStringField(b []byte, name, value string) []byte {
	if value == "" {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return appendJSONString(b, value)
}

const hexDigits = "0123456789abcdef"

// appendJSONString quotes s as encoding/json does by default: control
// characters, quotes, backslashes and the HTML-sensitive <, > and & are
// escaped, invalid UTF-8 becomes U+FFFD, and U+2028/U+2029 are escaped.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
