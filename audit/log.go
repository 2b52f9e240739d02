package audit

import (
	"encoding/json"
	"io"
	"sync"
)

// Log writes events as JSON lines, one per event, without the TUI-only
// detail (claims, headers, assertion, trace).
type Log struct {
	mu  sync.Mutex
	enc *json.Encoder
}

// NewLog returns a Log writing to w.
func NewLog(w io.Writer) *Log { return &Log{enc: json.NewEncoder(w)} }

// Write records e.
func (l *Log) Write(e Event) error {
	e.Claims, e.HeadersInjected, e.Assertion, e.Trace = nil, nil, nil, nil
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.enc.Encode(e)
}
