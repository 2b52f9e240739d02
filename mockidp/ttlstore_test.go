package mockidp

import (
	"strconv"
	"testing"
	"time"
)

func TestTTLStoreStaysBoundedAndExpires(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	s := newTTLStore[int](func() time.Time { return now }, time.Minute, 1000)
	for i := range 500_000 {
		s.Put(strconv.Itoa(i), i)
		if i%3 == 0 {
			s.Take(strconv.Itoa(i)) // codes are taken at once: churn
		}
	}
	if n := s.Len(); n > 1000 {
		t.Fatalf("%d entries, bound 1000", n)
	}
	if q := len(s.queue) - s.head; q > 2*1000+1 {
		t.Fatalf("queue holds %d items", q)
	}
	if v, ok := s.Get("499999"); !ok || v != 499999 {
		t.Fatal("the newest entry was evicted")
	}
	if _, ok := s.Get("0"); ok {
		t.Fatal("the oldest entry survived 500k inserts")
	}
	now = now.Add(time.Minute)
	if _, ok := s.Get("499999"); ok {
		t.Fatal("an entry outlived its lifetime")
	}
	s.Put("fresh", 1)
	if n := s.Len(); n != 1 {
		t.Fatalf("expired entries were not evicted: %d left", n)
	}
}
