package reliability

import (
	"encoding/json"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authdev/authdev/devproxy"
	"github.com/authdev/authdev/mockidp"
)

// TestSoakUnderKeyRotationAndPersonaSwitches sends RELIABILITY_REQUESTS
// (default 200k) authenticated requests through the proxy — half from
// browsers with a session cookie, half from API clients with bearer tokens
// they renew — while the IdP rotates its signing key every 2 s and the
// active persona changes every second. Browsers follow the proxy back to
// the IdP when the persona changes, as a browser does, so every final
// answer must be a 2xx naming a persona; bearer tokens signed by a key the
// proxy has not seen yet must verify. The IdP must never publish two keys
// with one kid, and the heap must not grow with the number of requests.
func TestSoakUnderKeyRotationAndPersonaSwitches(t *testing.T) {
	total := requests(t)
	be := newBackend(t, okHandler)
	r := newRig(t, upstream(be.URL(), nil))
	const workers = 8
	personas := []string{"alice", "bob", "carol"}

	var sent, logins atomic.Int64
	var failMu sync.Mutex
	var failures []string
	fail := func(format string, a ...any) {
		failMu.Lock()
		defer failMu.Unlock()
		if len(failures) < 20 {
			failures = append(failures, fmt.Sprintf(format, a...))
		}
	}
	done := make(chan struct{})
	var bg sync.WaitGroup

	// Key rotation every 2 s; after each, the JWKS must have unique kids.
	var rotations atomic.Int64
	bg.Add(2)
	go func() {
		defer bg.Done()
		tick := time.NewTicker(2 * time.Second)
		defer tick.Stop()
		c := newAPIClient(t)
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			if err := r.idp.RotateKeys("dev"); err != nil {
				fail("rotating keys: %v", err)
				continue
			}
			rotations.Add(1)
			if err := uniqueKids(c, r.idp.Endpoints("dev").JWKS); err != nil {
				fail("%v", err)
			}
		}
	}()
	// Persona switch every second.
	var switches atomic.Int64
	go func() {
		defer bg.Done()
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for i := 1; ; i++ {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			if err := r.proxy.SetActive(devproxy.Active{Persona: personas[i%len(personas)], Env: "dev"}); err != nil {
				fail("switching persona: %v", err)
			}
			switches.Add(1)
		}
	}()

	var heapEarly uint64
	var heapOnce sync.Once
	quarter := int64(total / 4)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			browser := w%2 == 0
			var c *http.Client
			var token string
			mintedAfter := int64(-1) // the rotation the token was minted after
			if browser {
				c = newBrowser(t)
				c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
					logins.Add(1)
					if len(via) > 10 {
						return http.ErrUseLastResponse
					}
					return nil
				}
			} else {
				c = newAPIClient(t)
			}
			for {
				n := sent.Add(1)
				if n > int64(total) {
					return
				}
				if n == quarter {
					heapOnce.Do(func() { heapEarly = heapInUse() })
				}
				var header []string
				if !browser {
					// Renew the token after each key rotation, so that
					// tokens signed by a key the proxy has not seen yet keep
					// arriving; no more often: each token is a credential
					// the proxy caches until it expires, which the heap
					// check below would count against the requests.
					if rot := rotations.Load(); token == "" || rot != mintedAfter {
						mintedAfter = rot
						ts, err := r.idp.Mint(personas[w%len(personas)], "dev", mockidp.MintOptions{})
						if err != nil {
							fail("minting: %v", err)
							return
						}
						token = ts.AccessToken
					}
					header = []string{"Authorization", "Bearer " + token}
				}
				status, body, err := get(c, r.url+fmt.Sprintf("/items/%d", n), header...)
				switch {
				case err != nil:
					fail("request %d (browser %v): %v", n, browser, err)
				case status/100 != 2:
					fail("request %d (browser %v): status %d: %.200s", n, browser, status, body)
				case !strings.HasSuffix(body, "@example.com"):
					fail("request %d (browser %v): the backend saw no identity: %q", n, browser, body)
				}
			}
		}(w)
	}
	start := time.Now()
	wg.Wait()
	elapsed := time.Since(start)
	close(done)
	bg.Wait()
	heapLate := heapInUse()
	t.Logf("%d requests in %s (%.0f/s), %d key rotations, %d persona switches, %d login redirects; heap in use %d KiB at a quarter, %d KiB at the end",
		total, elapsed.Round(time.Millisecond), float64(total)/elapsed.Seconds(), rotations.Load(), switches.Load(), logins.Load(), heapEarly/1024, heapLate/1024)
	for _, f := range failures {
		t.Error(f)
	}
	if elapsed > 4*time.Second && (rotations.Load() == 0 || switches.Load() == 0) {
		t.Errorf("the soak ran %s with %d rotations and %d switches: the faults did not happen", elapsed, rotations.Load(), switches.Load())
	}
	// Flat memory: what is still in use after three quarters of the requests
	// must not grow with them. 8 MiB over 150k requests is 56 bytes a
	// request; every store of the proxy and the IdP is bounded far below.
	if heapEarly > 0 && heapLate > heapEarly+8<<20 {
		t.Errorf("heap in use grew from %d KiB to %d KiB over the last three quarters of the soak", heapEarly/1024, heapLate/1024)
	}
	if hits := be.hits.Load(); hits != int64(total) {
		t.Errorf("the backend saw %d requests, want %d", hits, total)
	}
}

// heapInUse is the live heap after a full collection.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// uniqueKids fetches a JWKS and fails if two keys share a kid.
func uniqueKids(c *http.Client, url string) error {
	resp, err := c.Get(url)
	if err != nil {
		return fmt.Errorf("JWKS %s: %v", url, err)
	}
	defer resp.Body.Close()
	var set struct {
		Keys []struct {
			Kid string `json:"kid"`
		} `json:"keys"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		return fmt.Errorf("JWKS %s: %v", url, err)
	}
	seen := map[string]bool{}
	for _, k := range set.Keys {
		if k.Kid == "" || seen[k.Kid] {
			return fmt.Errorf("JWKS %s publishes kid %q twice or empty: %d keys", url, k.Kid, len(set.Keys))
		}
		seen[k.Kid] = true
	}
	return nil
}
