package identity

import (
	"sync"
	"time"
)

// verifiedCache remembers assertions that verified, by their exact text.
// The proxy reuses one assertion per session until shortly before it
// expires, so most requests carry an assertion the backend has already
// checked; skipping the ECDSA verification for those makes the middleware
// about a hundred times cheaper. Time claims are still checked on every use.
type verifiedCache struct {
	max int

	mu      sync.Mutex
	entries map[string]*Identity
}

func newVerifiedCache(max int) *verifiedCache {
	return &verifiedCache{max: max, entries: make(map[string]*Identity)}
}

func (c *verifiedCache) get(raw string) (*Identity, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	id, ok := c.entries[raw]
	return id, ok
}

func (c *verifiedCache) put(id *Identity, now time.Time, leeway time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.max {
		for raw, e := range c.entries {
			if !now.Before(e.Expiry.Time().Add(leeway)) {
				delete(c.entries, raw)
			}
		}
	}
	if len(c.entries) >= c.max {
		// Every entry is live: drop one at random (map order) rather than
		// track recency on the hot path.
		for raw := range c.entries {
			delete(c.entries, raw)
			break
		}
	}
	c.entries[id.Raw] = id
}
