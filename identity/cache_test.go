package identity

import (
	"fmt"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"
)

func TestVerifiedCacheStaysBounded(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := newVerifiedCache(4)
	add := func(name string, exp time.Time) {
		c.put(&Identity{Raw: name, Claims: Claims{Expiry: jwt.NewNumericDate(exp)}}, now, 0)
	}
	add("expired-1", now.Add(-time.Second))
	add("expired-2", now.Add(-time.Second))
	add("live-1", now.Add(time.Minute))
	add("live-2", now.Add(time.Minute))
	add("live-3", now.Add(time.Minute))
	for _, raw := range []string{"expired-1", "expired-2"} {
		if _, ok := c.get(raw); ok {
			t.Errorf("%s survived a put into a full cache", raw)
		}
	}
	for _, raw := range []string{"live-1", "live-2", "live-3"} {
		if _, ok := c.get(raw); !ok {
			t.Errorf("%s was evicted while expired entries remained", raw)
		}
	}
	for i := range 10 {
		add(fmt.Sprint("more-", i), now.Add(time.Minute))
	}
	if n := len(c.entries); n > 4 {
		t.Fatalf("cache holds %d entries, max 4", n)
	}
}
