package devproxy

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/authdev/authdev/internal/state"
)

// RevokedSessionsKey is where the state store keeps the sessions ended by
// logout, each with its hard expiry: the cookie secret outlives a restart,
// so a cookie ended before one must stay ended after it.
const RevokedSessionsKey = "proxy/revoked-sessions"

// loadRevocations puts the store's live revocations in the revoked cache.
func (p *Proxy) loadRevocations() error {
	if p.store == nil {
		return nil
	}
	m, err := readRevocations(p.store)
	if err != nil {
		return err
	}
	now := p.now()
	for id, exp := range m {
		if until := time.Unix(exp, 0); now.Before(until) {
			p.revoked.put(id, struct{}{}, until, now)
		}
	}
	return nil
}

// revoke ends session id until its hard expiry, after which its cookie is
// refused anyway: in memory at once, and in the state store, from which it
// drops the revocations that have expired.
func (p *Proxy) revoke(id string, until time.Time) error {
	now := p.now()
	p.revoked.put(id, struct{}{}, until, now)
	if p.store == nil {
		return nil
	}
	p.revokeMu.Lock()
	defer p.revokeMu.Unlock()
	m, err := readRevocations(p.store)
	if err != nil {
		return err
	}
	maps.DeleteFunc(m, func(_ string, exp int64) bool { return !now.Before(time.Unix(exp, 0)) })
	m[id] = until.Unix()
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if err := p.store.Set(RevokedSessionsKey, b); err != nil {
		return fmt.Errorf("state store key %q: %w", RevokedSessionsKey, err)
	}
	return nil
}

func readRevocations(s state.Store) (map[string]int64, error) {
	m := map[string]int64{}
	raw, err := s.Get(RevokedSessionsKey)
	if errors.Is(err, state.ErrNotFound) {
		return m, nil
	}
	if err != nil {
		return nil, fmt.Errorf("state store key %q: %w", RevokedSessionsKey, err)
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("state store key %q holds no list of logged-out sessions (%v): delete it, and sessions logged out before stay ended only until this restart", RevokedSessionsKey, err)
	}
	return m, nil
}
