package mockidp

import (
	"sync"
	"time"
)

// ttlStore is a bounded map whose entries expire. Codes, sessions, refresh
// tokens and device grants live in one each, so memory stays flat however
// many tokens are issued: the oldest entries go first when it is full.
//
// Every store has one lifetime for all entries, so insertion order is expiry
// order and a FIFO queue finds expired entries without a heap.
type ttlStore[V any] struct {
	mu    sync.Mutex
	now   func() time.Time
	ttl   time.Duration
	max   int
	m     map[string]ttlEntry[V]
	queue []queued
	head  int
	seq   uint64
}

type ttlEntry[V any] struct {
	v   V
	exp time.Time
	seq uint64
}

type queued struct {
	key string
	seq uint64
}

func newTTLStore[V any](now func() time.Time, ttl time.Duration, max int) *ttlStore[V] {
	return &ttlStore[V]{now: now, ttl: ttl, max: max, m: map[string]ttlEntry[V]{}}
}

// Put stores v under key until the store's lifetime passes.
func (s *ttlStore[V]) Put(key string, v V) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.seq++
	s.m[key] = ttlEntry[V]{v: v, exp: now.Add(s.ttl), seq: s.seq}
	s.queue = append(s.queue, queued{key: key, seq: s.seq})
	s.evict(now)
}

// Get returns the live value at key.
func (s *ttlStore[V]) Get(key string) (V, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.m[key]
	if !ok || !s.now().Before(e.exp) {
		var zero V
		return zero, false
	}
	return e.v, true
}

// Take returns the live value at key and removes it: the single use of a
// code or a device grant.
func (s *ttlStore[V]) Take(key string) (V, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.m[key]
	delete(s.m, key)
	if !ok || !s.now().Before(e.exp) {
		var zero V
		return zero, false
	}
	return e.v, true
}

// Delete removes key.
func (s *ttlStore[V]) Delete(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, key)
}

// Len counts entries, expired ones not yet evicted included.
func (s *ttlStore[V]) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

// evict drops expired entries from the front of the queue, then the oldest
// live ones while the store is over its bound. Deleted keys leave stale
// queue items behind; the queue is also held to twice the bound so that
// churn (codes taken at once) cannot grow it.
func (s *ttlStore[V]) evict(now time.Time) {
	for s.head < len(s.queue) {
		q := s.queue[s.head]
		e, live := s.m[q.key]
		stale := !live || e.seq != q.seq
		switch {
		case stale:
		case !now.Before(e.exp), len(s.m) > s.max, len(s.queue)-s.head > 2*s.max:
			delete(s.m, q.key)
		default:
			s.compact()
			return
		}
		s.queue[s.head] = queued{}
		s.head++
	}
	s.compact()
}

// compact reuses the queue's backing array once half of it is consumed.
func (s *ttlStore[V]) compact() {
	if s.head > 0 && s.head >= len(s.queue)/2 {
		n := copy(s.queue, s.queue[s.head:])
		clear(s.queue[n:])
		s.queue = s.queue[:n]
		s.head = 0
	}
}
