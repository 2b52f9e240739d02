package adc

import (
	"sync"
	"time"

	"github.com/authdev/authdev/config"
)

// limiter is an `add ns limitIdentifier`: at most threshold requests per
// timeSlice for each value of its stream selector. SYS.CHECK_LIMIT counts
// the request and is true once the limit is exceeded, as on the ADC.
type limiter struct {
	name      string
	threshold int64
	slice     time.Duration
	mode      string
	selector  string // the stream selector's name, "" for one shared bucket
	keys      []keyFn
	pos       config.Pos
	now       func() time.Time

	mu      sync.Mutex
	windows map[string]*window
}

// keyFn appends one stream selector expression's value to a key.
type keyFn func(e *evalCtx, b []byte) []byte

// window counts requests in one fixed time slice.
type window struct {
	start time.Time
	count int64
}

// maxWindows bounds the memory one limit identifier uses; beyond it, the
// windows that have run out are dropped.
const maxWindows = 1 << 16

func (l *limiter) check(e *evalCtx) bool {
	key := e.key[:0]
	for _, k := range l.keys {
		key = k(e, key)
		key = append(key, 0)
	}
	e.key = key
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.windows[string(key)]
	if w == nil {
		if len(l.windows) >= maxWindows {
			l.sweep(now)
		}
		w = &window{start: now}
		l.windows[string(key)] = w
	}
	if now.Sub(w.start) >= l.slice || now.Before(w.start) {
		w.start, w.count = now, 0
	}
	w.count++
	return w.count > l.threshold
}

func (l *limiter) sweep(now time.Time) {
	for k, w := range l.windows {
		if now.Sub(w.start) >= l.slice {
			delete(l.windows, k)
		}
	}
}
