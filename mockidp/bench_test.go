package mockidp_test

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/authdev/authdev/internal/state"
	"github.com/authdev/authdev/mockidp"
)

// latencies collects per-request durations across RunParallel goroutines
// and reports p50 and p99: the target is p99 ≤ 3× p50 at saturation.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d []time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d...)
	l.mu.Unlock()
}

func (l *latencies) report(b *testing.B) {
	if len(l.d) < 100 {
		return
	}
	slices.Sort(l.d)
	p50, p99 := l.d[len(l.d)/2], l.d[len(l.d)*99/100]
	b.ReportMetric(float64(p50.Microseconds()), "p50-µs")
	b.ReportMetric(float64(p99.Microseconds()), "p99-µs")
}

// serveParallel saturates h with requests made by newReq, from more
// goroutines than CPUs, the way a load tool does.
func serveParallel(b *testing.B, h http.Handler, newReq func() *http.Request) {
	var lat latencies
	b.SetParallelism(4)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		for pb.Next() {
			rec := httptest.NewRecorder()
			start := time.Now()
			h.ServeHTTP(rec, newReq())
			mine = append(mine, time.Since(start))
			if rec.Code != http.StatusOK {
				b.Errorf("status %d: %s", rec.Code, rec.Body)
				return
			}
		}
		lat.add(mine)
	})
	b.StopTimer()
	lat.report(b)
}

// benchClientCredentials measures the okta environment, whose tokens are
// the demo's.
func benchClientCredentials(b *testing.B, alg string) {
	cfg := testConfig(b)
	env, _ := cfg.Environment("okta")
	env.Alg = alg
	srv, err := mockidp.New(cfg, mockidp.Options{Store: state.NewMemory(), BaseURL: "http://localhost:9400"})
	if err != nil {
		b.Fatal(err)
	}
	body := "grant_type=client_credentials&scope=read"
	tokenURL := srv.Endpoints("okta").Token
	serveParallel(b, srv.Handler(), func() *http.Request {
		r := httptest.NewRequest(http.MethodPost, tokenURL, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.SetBasicAuth("ci", "ci-secret")
		return r
	})
}

// BenchmarkClientCredentialsES256 issues client-credentials tokens through
// the real handler: parse, authenticate, build claims, sign, encode.
func BenchmarkClientCredentialsES256(b *testing.B) { benchClientCredentials(b, "ES256") }

// BenchmarkClientCredentialsRS256 is the same with RSA keys; compare it
// with BenchmarkBareRS256Sign (the target is at least 0.9× its rate).
func BenchmarkClientCredentialsRS256(b *testing.B) { benchClientCredentials(b, "RS256") }

// BenchmarkBareRS256Sign is the baseline: a handler that only signs a small
// RS256 JWT with go-jose and writes it.
func BenchmarkBareRS256Sign(b *testing.B) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		b.Fatal(err)
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now().Unix()
		payload, _ := json.Marshal(map[string]any{"iss": "http://localhost:9400/dev", "sub": "ci", "aud": "authdev", "iat": now, "exp": now + 300})
		jws, err := signer.Sign(payload)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		tok, _ := jws.CompactSerialize()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"access_token": tok})
	})
	serveParallel(b, h, func() *http.Request {
		return httptest.NewRequest(http.MethodPost, "http://localhost:9400/dev/token", nil)
	})
}
