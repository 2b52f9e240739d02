package identity

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"golang.org/x/sync/singleflight"
)

// maxJWKSBytes bounds the key set download; a real one is a few KB.
const maxJWKSBytes = 1 << 20

// keyCache holds the proxy's public keys by kid. It fetches the key set on
// first use, again when an assertion names a kid it has not seen (the proxy
// rotated its key), and again once the set is older than maxAge so retired
// keys stop verifying.
//
// go-oidc's RemoteKeySet is close, but it refetches on every failed
// signature with no floor, so a client sending forged assertions with random
// kids could make each request a JWKS download; this cache refetches at most
// once per minRefresh and shares one download among concurrent requests.
type keyCache struct {
	url        string
	client     *http.Client
	now        func() time.Time
	minRefresh time.Duration
	maxAge     time.Duration

	fetches singleflight.Group

	mu        sync.RWMutex
	keys      map[string]*jose.JSONWebKey
	fetchedAt time.Time // last successful fetch
	triedAt   time.Time // last attempt, successful or not
	lastErr   error
}

// key returns the public key with id kid.
func (c *keyCache) key(ctx context.Context, kid string) (*jose.JSONWebKey, error) {
	c.mu.RLock()
	k, ok := c.keys[kid]
	fresh := c.now().Sub(c.fetchedAt) < c.maxAge
	c.mu.RUnlock()
	if ok && fresh {
		return k, nil
	}
	if err := c.refresh(ctx); err != nil {
		if ok {
			// The proxy signed with this key recently enough for us to have
			// it; a failed refresh of an aged set is no reason to refuse.
			return k, nil
		}
		return nil, err
	}
	c.mu.RLock()
	k, ok = c.keys[kid]
	c.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("%w: no key %q in %s: the assertion was not signed by this proxy", ErrUnknownKey, kid, c.url)
	}
	return k, nil
}

// refresh downloads the key set unless the last attempt was under
// minRefresh ago, in which case it reports that attempt's outcome.
func (c *keyCache) refresh(ctx context.Context) error {
	c.mu.RLock()
	recent := !c.triedAt.IsZero() && c.now().Sub(c.triedAt) < c.minRefresh
	lastErr := c.lastErr
	c.mu.RUnlock()
	if recent {
		return lastErr
	}
	ch := c.fetches.DoChan("jwks", func() (any, error) {
		// The download outlives any one caller: it fills the cache for all.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		keys, err := c.fetch(fctx)
		c.mu.Lock()
		defer c.mu.Unlock()
		c.triedAt = c.now()
		c.lastErr = err
		if err == nil {
			c.keys = keys
			c.fetchedAt = c.triedAt
		}
		return nil, err
	})
	select {
	case res := <-ch:
		return res.Err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *keyCache) fetch(ctx context.Context) (map[string]*jose.JSONWebKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: JWKS URL %q: %v", ErrKeySet, c.url, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: fetching %s: %v: is authdev running, and does the backend trust its CA (authdev ca print)?", ErrKeySet, c.url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%w: reading %s: %v", ErrKeySet, c.url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: %s answered %s: check the JWKS URL", ErrKeySet, c.url, resp.Status)
	}
	if len(body) > maxJWKSBytes {
		return nil, fmt.Errorf("%w: %s is larger than %d bytes", ErrKeySet, c.url, maxJWKSBytes)
	}
	return parseKeySet(c.url, body)
}

// parseKeySet keeps the public signing keys of a JWKS document. Keys of a
// type go-jose does not know are skipped rather than failing the set
// (RFC 7517 section 5); symmetric and private keys are never used to verify.
func parseKeySet(src string, body []byte) (map[string]*jose.JSONWebKey, error) {
	var raw struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, fmt.Errorf("%w: %s is not a JWKS document: %v", ErrKeySet, src, err)
	}
	keys := make(map[string]*jose.JSONWebKey, len(raw.Keys))
	for _, r := range raw.Keys {
		var k jose.JSONWebKey
		if err := json.Unmarshal(r, &k); err != nil {
			if errors.Is(err, jose.ErrUnsupportedKeyType) {
				continue
			}
			return nil, fmt.Errorf("%w: %s holds an invalid key: %v", ErrKeySet, src, err)
		}
		if k.KeyID == "" || (k.Use != "" && k.Use != "sig") {
			continue
		}
		switch k.Key.(type) {
		case *ecdsa.PublicKey, *rsa.PublicKey, ed25519.PublicKey:
			keys[k.KeyID] = &k
		}
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w: %s holds no public signing key with a kid", ErrKeySet, src)
	}
	return keys, nil
}
