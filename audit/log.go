package audit

import (
	"io"
	"sync"
	"time"
)

// Log writes events as JSON lines, one per event, without the TUI-only
// detail (claims, headers injected, assertion, trace).
//
// The proxy writes a line for every request, and a write system call per
// line would cost each request more than everything else the proxy does
// for it. So the log batches: a line that comes after a quiet spell is
// written at once; lines that follow within BatchWindow wait for the
// window's end and go out together in one write, as do the lines that
// pile up while another call writes. Flush and Close write what waits.
type Log struct {
	w     io.Writer
	clock clock

	mu        sync.Mutex
	pending   []byte      // whole lines not yet handed to w
	spare     []byte      // the buffer last handed to w, reused for pending
	writing   bool        // a call is inside the write loop
	stopTimer func() bool // set while lines wait for the window's end
	lastWrite time.Time
	err       error      // a failed write no caller has been told of yet
	drained   *sync.Cond // signalled when a write loop ends
}

// BatchWindow is the longest a line waits before it is written.
const BatchWindow = 20 * time.Millisecond

// flushAt is how much may wait before the call that adds to it writes.
const flushAt = 32 << 10

// maxSpare bounds the buffer kept between bursts.
const maxSpare = 64 << 10

// clock is the time a Log batches by; tests move it by hand instead of
// sleeping through batch windows.
type clock interface {
	Now() time.Time
	// AfterFunc calls f once d has passed, unless stop is called first.
	AfterFunc(d time.Duration, f func()) (stop func() bool)
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func (systemClock) AfterFunc(d time.Duration, f func()) func() bool { return time.AfterFunc(d, f).Stop }

// NewLog returns a Log writing to w.
func NewLog(w io.Writer) *Log { return newLog(w, systemClock{}) }

func newLog(w io.Writer, c clock) *Log {
	l := &Log{w: w, clock: c}
	l.drained = sync.NewCond(&l.mu)
	return l
}

var lineBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// Write records e. Its error is that of the write it made, if it made one.
func (l *Log) Write(e Event) error {
	bp := lineBuffers.Get().(*[]byte)
	line := appendLogLine((*bp)[:0], &e)

	l.mu.Lock()
	l.pending = append(l.pending, line...)
	*bp = line
	lineBuffers.Put(bp)
	full := len(l.pending) >= flushAt
	switch {
	case l.writing, l.stopTimer != nil && !full:
		// The call writing, or the timer, takes the line.
		l.mu.Unlock()
		return nil
	case !full && l.clock.Now().Sub(l.lastWrite) < BatchWindow:
		l.stopTimer = l.clock.AfterFunc(BatchWindow, l.flushWindow)
		l.mu.Unlock()
		return nil
	}
	err := l.drainLocked()
	l.mu.Unlock()
	return err
}

// flushWindow ends a batch window.
func (l *Log) flushWindow() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.stopTimer = nil
	if !l.writing {
		if err := l.drainLocked(); err != nil && l.err == nil {
			l.err = err
		}
	}
}

// drainLocked writes until nothing waits. l.mu is held on entry and exit,
// not during the writes.
func (l *Log) drainLocked() error {
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
	l.lastWrite = l.clock.Now()
	l.writing = false
	l.drained.Broadcast()
	return err
}

// Flush writes every line recorded so far, and reports a write that failed
// since the last report.
func (l *Log) Flush() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for l.writing {
		l.drained.Wait()
	}
	err := l.drainLocked()
	if err == nil {
		err = l.err
	}
	l.err = nil
	return err
}

// Close flushes the log. It does not close the writer.
func (l *Log) Close() error {
	l.mu.Lock()
	if l.stopTimer != nil {
		l.stopTimer()
		l.stopTimer = nil
	}
	l.mu.Unlock()
	return l.Flush()
}
