package audit

import (
	"io"
	"sync"
)

// Log writes events as JSON lines, one per event, without the TUI-only
// detail (claims, headers injected, assertion, trace).
//
// The proxy writes a line for every request, so the log batches: a call
// that finds another call writing leaves its line in the pending buffer and
// returns; the writing call writes whatever piled up before it returns. At
// a trickle every line is one write at once; under load one write carries
// many lines, instead of a write system call per request under a lock. No
// line waits on a timer, and once every Write has returned every line has
// been handed to w, so closing w after the server's handlers have finished
// loses nothing.
type Log struct {
	w       io.Writer
	mu      sync.Mutex
	pending []byte // whole lines not yet handed to w
	spare   []byte // the buffer last handed to w, reused for pending
	writing bool   // a call is inside the write loop
}

// NewLog returns a Log writing to w.
func NewLog(w io.Writer) *Log { return &Log{w: w} }

var lineBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// maxSpare bounds the buffer kept between bursts.
const maxSpare = 64 << 10

// Write records e. Its error is that of the write it made, if it made one;
// a line left for another call's write is reported there.
func (l *Log) Write(e Event) error {
	bp := lineBuffers.Get().(*[]byte)
	line := appendLogLine((*bp)[:0], &e)

	l.mu.Lock()
	l.pending = append(l.pending, line...)
	*bp = line
	lineBuffers.Put(bp)
	if l.writing {
		l.mu.Unlock()
		return nil
	}
	l.writing = true
	var err error
	for len(l.pending) > 0 {
		batch := l.pending
		l.pending = l.spare[:0]
		l.mu.Unlock()
		_, werr := l.w.Write(batch)
		l.mu.Lock()
		if werr != nil && err == nil {
			err = werr
		}
		if cap(batch) <= maxSpare {
			l.spare = batch[:0]
		} else {
			l.spare = nil
		}
	}
	l.writing = false
	l.mu.Unlock()
	return err
}
