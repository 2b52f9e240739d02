package devproxy

import (
	"sync"
	"sync/atomic"
	"time"
)

// cache is a concurrent map whose entries expire. Reads take no lock, so
// the hot path of an authenticated request does not serialise on it; when
// it grows past max, expired entries are swept, and everything when that is
// not enough (a flood of distinct forged cookies must not grow memory).
type cache[K comparable, V any] struct {
	m   sync.Map
	n   atomic.Int64
	max int64
	mu  sync.Mutex // one sweeper at a time
}

type entry[V any] struct {
	v   V
	exp time.Time
}

func newCache[K comparable, V any](max int) *cache[K, V] {
	return &cache[K, V]{max: int64(max)}
}

func (c *cache[K, V]) get(k K, now time.Time) (V, bool) {
	if e, ok := c.m.Load(k); ok {
		if e := e.(*entry[V]); now.Before(e.exp) {
			return e.v, true
		}
	}
	var zero V
	return zero, false
}

func (c *cache[K, V]) put(k K, v V, exp, now time.Time) {
	if _, loaded := c.m.Swap(k, &entry[V]{v: v, exp: exp}); !loaded {
		if c.n.Add(1) > c.max {
			c.sweep(now)
		}
	}
}

func (c *cache[K, V]) delete(k K) {
	if _, loaded := c.m.LoadAndDelete(k); loaded {
		c.n.Add(-1)
	}
}

// deleteFunc removes every entry for which drop is true.
func (c *cache[K, V]) deleteFunc(drop func(K, V) bool) {
	c.m.Range(func(k, e any) bool {
		if drop(k.(K), e.(*entry[V]).v) {
			c.delete(k.(K))
		}
		return true
	})
}

func (c *cache[K, V]) sweep(now time.Time) {
	if !c.mu.TryLock() {
		return
	}
	defer c.mu.Unlock()
	c.m.Range(func(k, e any) bool {
		if !now.Before(e.(*entry[V]).exp) {
			c.delete(k.(K))
		}
		return true
	})
	if c.n.Load() > c.max {
		c.m.Range(func(k, _ any) bool {
			c.delete(k.(K))
			return true
		})
	}
}
