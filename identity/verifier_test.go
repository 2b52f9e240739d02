package identity_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/authdev/authdev/identity"
	"github.com/authdev/authdev/identity/identitytest"
)

// clock is a settable time source shared by the test proxy and the verifier.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)} }

func setup(t *testing.T) (*identitytest.Proxy, *identity.Verifier, *clock) {
	t.Helper()
	clk := newClock()
	p := identitytest.New(t, "app")
	p.Now = clk.Now
	v, err := identity.New(identity.Options{Issuer: p.URL(), Audience: "app", Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	return p, v, clk
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func b64JSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b64(b)
}

// hs256WithPublicKey forges the key-confusion attack: an HMAC "signature"
// keyed with the proxy's public key, which anyone can download.
func hs256WithPublicKey(t *testing.T, p *identitytest.Proxy, c identity.Claims) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(&p.Key().PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	secret := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	signing := b64JSON(t, map[string]string{"alg": "HS256", "typ": "JWT", "kid": p.KeyID()}) + "." + b64JSON(t, c)
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(signing))
	return signing + "." + b64(mac.Sum(nil))
}

func TestVerify(t *testing.T) {
	p, v, clk := setup(t)
	other := identitytest.New(t, "app") // a different key, as an attacker would hold
	other.Now = clk.Now

	tests := []struct {
		name    string
		token   func(t *testing.T) string
		wantErr error
	}{
		{"a fresh assertion from the proxy verifies", func(t *testing.T) string {
			return p.Assertion(t, "alice", "admin")
		}, nil},
		{"an assertion expired less than the leeway ago verifies", func(t *testing.T) string {
			c := p.Claims("alice")
			c.Expiry = jwt.NewNumericDate(clk.Now().Add(-5 * time.Second))
			return p.Sign(t, c)
		}, nil},
		{"an audience list that names this backend verifies", func(t *testing.T) string {
			c := p.Claims("alice")
			c.Audience = jwt.Audience{"other", "app"}
			return p.Sign(t, c)
		}, nil},
		{"an empty header is missing", func(t *testing.T) string { return "" }, identity.ErrMissing},
		{"garbage is malformed", func(t *testing.T) string { return "not.a.jwt" }, identity.ErrMalformed},
		{"a JWS in JSON serialization is malformed", func(t *testing.T) string {
			return `{"payload":"e30","signatures":[]}`
		}, identity.ErrMalformed},
		{"an assertion signed by another key under the proxy's kid is forged", func(t *testing.T) string {
			return identitytest.Sign(t, other.Key(), p.KeyID(), p.Claims("mallory", "admin"))
		}, identity.ErrSignature},
		{"an assertion signed by another proxy's key is unknown", func(t *testing.T) string {
			return identitytest.Sign(t, other.Key(), "attacker-key", p.Claims("mallory", "admin"))
		}, identity.ErrUnknownKey},
		{"a tampered payload fails the signature", func(t *testing.T) string {
			parts := strings.Split(p.Assertion(t, "bob", "reader"), ".")
			parts[1] = b64JSON(t, p.Claims("bob", "admin"))
			return strings.Join(parts, ".")
		}, identity.ErrSignature},
		{"an expired assertion is refused", func(t *testing.T) string {
			c := p.Claims("alice", "admin")
			c.IssuedAt = jwt.NewNumericDate(clk.Now().Add(-2 * time.Minute))
			c.Expiry = jwt.NewNumericDate(clk.Now().Add(-time.Minute))
			return p.Sign(t, c)
		}, identity.ErrExpired},
		{"an assertion without exp is refused", func(t *testing.T) string {
			c := p.Claims("alice")
			c.Expiry = nil
			return p.Sign(t, c)
		}, identity.ErrMissingClaim},
		{"an assertion without sub is refused", func(t *testing.T) string {
			c := p.Claims("alice")
			c.Subject = ""
			return p.Sign(t, c)
		}, identity.ErrMissingClaim},
		{"an assertion valid only from next hour is refused", func(t *testing.T) string {
			c := p.Claims("alice")
			c.NotBefore = jwt.NewNumericDate(clk.Now().Add(time.Hour))
			c.Expiry = jwt.NewNumericDate(clk.Now().Add(2 * time.Hour))
			return p.Sign(t, c)
		}, identity.ErrNotYetValid},
		{"an assertion issued in the future is refused", func(t *testing.T) string {
			c := p.Claims("alice")
			c.IssuedAt = jwt.NewNumericDate(clk.Now().Add(time.Hour))
			return p.Sign(t, c)
		}, identity.ErrNotYetValid},
		{"an assertion for another upstream is refused", func(t *testing.T) string {
			c := p.Claims("alice", "admin")
			c.Audience = jwt.Audience{"billing"}
			return p.Sign(t, c)
		}, identity.ErrAudience},
		{"an assertion from another issuer is refused", func(t *testing.T) string {
			c := p.Claims("alice", "admin")
			c.Issuer = "https://evil.example"
			return p.Sign(t, c)
		}, identity.ErrIssuer},
		{"alg none is refused", func(t *testing.T) string {
			return b64JSON(t, map[string]string{"alg": "none", "typ": "JWT", "kid": p.KeyID()}) + "." +
				b64JSON(t, p.Claims("mallory", "admin")) + "."
		}, identity.ErrAlgorithm},
		{"HS256 keyed with the proxy's public key is refused", func(t *testing.T) string {
			return hs256WithPublicKey(t, p, p.Claims("mallory", "admin"))
		}, identity.ErrAlgorithm},
		{"an assertion without a kid is malformed", func(t *testing.T) string {
			tok := p.Assertion(t, "alice")
			parts := strings.Split(tok, ".")
			parts[0] = b64JSON(t, map[string]string{"alg": "ES256", "typ": "JWT"})
			return strings.Join(parts, ".")
		}, identity.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := v.Verify(context.Background(), tt.token(t))
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if id.Subject == "" || id.Issuer != p.URL() {
					t.Fatalf("identity = %+v, want the signed claims", id.Claims)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Verify error = %v, want %v", err, tt.wantErr)
			}
			if id != nil {
				t.Fatalf("Verify returned identity %+v with error", id.Claims)
			}
		})
	}
}

func TestVerifyReturnsEveryClaim(t *testing.T) {
	p, v, _ := setup(t)
	c := p.Claims("alice", "admin", "reader")
	tok := p.Sign(t, c)
	id, err := v.Verify(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	if id.Email != "alice@example.com" || id.Persona != "alice" || id.Env != "dev" || id.ID != c.ID || id.Raw != tok {
		t.Errorf("identity = %+v", id)
	}
	if !id.HasRole("reader") || id.HasRole("owner") || !id.InGroup("group-alice") {
		t.Errorf("roles %q groups %q", id.Roles, id.Groups)
	}
	all, err := id.AllClaims()
	if err != nil {
		t.Fatal(err)
	}
	if all["persona"] != "alice" || all["aud"] != "app" {
		t.Errorf("AllClaims = %v", all)
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	tests := []struct {
		name string
		opts identity.Options
		want string
	}{
		{"an empty issuer", identity.Options{Audience: "app"}, "Issuer is empty"},
		{"an issuer that is no URL", identity.Options{Issuer: "127.0.0.1:8443", Audience: "app"}, "not an http(s) URL"},
		{"an empty audience", identity.Options{Issuer: "https://127.0.0.1:8443"}, "Audience is empty"},
		{"a JWKS URL that is no URL", identity.Options{Issuer: "https://127.0.0.1:8443", Audience: "app", JWKSURL: "jwks.json"}, "JWKSURL"},
		{"alg none in the allow-list", identity.Options{Issuer: "https://127.0.0.1:8443", Audience: "app", Algorithms: []string{"none"}}, `"none" is not allowed`},
		{"HS256 in the allow-list", identity.Options{Issuer: "https://127.0.0.1:8443", Audience: "app", Algorithms: []string{"ES256", "HS256"}}, `"HS256" is not allowed`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := identity.New(tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New error = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

func TestIssuerTrailingSlashIsIgnored(t *testing.T) {
	clk := newClock()
	p := identitytest.New(t, "app")
	p.Now = clk.Now
	v, err := identity.New(identity.Options{Issuer: p.URL() + "/", Audience: "app", Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(context.Background(), p.Assertion(t, "alice")); err != nil {
		t.Fatal(err)
	}
}

func TestKeyRotationFetchesTheNewKeyOnce(t *testing.T) {
	p, v, clk := setup(t)
	ctx := context.Background()
	if _, err := v.Verify(ctx, p.Assertion(t, "alice")); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(ctx, p.Assertion(t, "alice")); err != nil {
		t.Fatal(err)
	}
	if got := p.Fetches(); got != 1 {
		t.Fatalf("fetches after two verifications with one key = %d, want 1", got)
	}
	clk.Add(6 * time.Second) // past the refresh floor
	p.Rotate(t)
	if _, err := v.Verify(ctx, p.Assertion(t, "alice")); err != nil {
		t.Fatalf("after rotation: %v", err)
	}
	if got := p.Fetches(); got != 2 {
		t.Fatalf("fetches after rotation = %d, want 2", got)
	}
}

func TestUnknownKidsCannotForceDownloads(t *testing.T) {
	p, v, clk := setup(t)
	other := identitytest.New(t, "app")
	other.Now = clk.Now
	ctx := context.Background()
	for i := range 20 {
		tok := identitytest.Sign(t, other.Key(), fmt.Sprint("random-", i), p.Claims("mallory", "admin"))
		if _, err := v.Verify(ctx, tok); !errors.Is(err, identity.ErrUnknownKey) {
			t.Fatalf("forged assertion %d: %v, want ErrUnknownKey", i, err)
		}
	}
	if got := p.Fetches(); got != 1 {
		t.Fatalf("20 unknown kids within the refresh floor caused %d downloads, want 1", got)
	}
}

func TestAgedKeySetIsDownloadedAgain(t *testing.T) {
	p, v, clk := setup(t)
	ctx := context.Background()
	if _, err := v.Verify(ctx, p.Assertion(t, "alice")); err != nil {
		t.Fatal(err)
	}
	clk.Add(11 * time.Minute)
	if _, err := v.Verify(ctx, p.Assertion(t, "alice")); err != nil {
		t.Fatal(err)
	}
	if got := p.Fetches(); got != 2 {
		t.Fatalf("fetches = %d, want 2 (one more after the key set aged)", got)
	}
	// The proxy going away does not break a known key.
	clk.Add(11 * time.Minute)
	p.Server.Close()
	if _, err := v.Verify(ctx, p.Assertion(t, "alice")); err != nil {
		t.Fatalf("known key with the JWKS unreachable: %v", err)
	}
}

func TestConcurrentFirstUseDownloadsOnce(t *testing.T) {
	p, v, _ := setup(t)
	tok := p.Assertion(t, "alice")
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Go(func() {
			if _, err := v.Verify(context.Background(), tok); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := p.Fetches(); got != 1 {
		t.Fatalf("16 concurrent first verifications caused %d downloads, want 1", got)
	}
}

func TestUnreachableKeySet(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		want    string
	}{
		{"a 404", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }, "404"},
		{"HTML instead of JSON", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("<html>")) }, "not a JWKS document"},
		{"a set with only a symmetric key", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`{"keys":[{"kty":"oct","kid":"k","k":"c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"}]}`))
		}, "no public signing key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			defer srv.Close()
			p := identitytest.New(t, "app")
			v, err := identity.New(identity.Options{Issuer: p.URL(), Audience: "app", JWKSURL: srv.URL + "/jwks.json"})
			if err != nil {
				t.Fatal(err)
			}
			_, err = v.Verify(context.Background(), p.Assertion(t, "alice"))
			if !errors.Is(err, identity.ErrKeySet) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Verify error = %v, want ErrKeySet mentioning %q", err, tt.want)
			}
		})
	}
}

func TestReusedAssertionIsRefusedOnceExpired(t *testing.T) {
	p, v, clk := setup(t)
	tok := p.Assertion(t, "alice", "admin")
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	clk.Add(identity.Lifetime + time.Minute)
	if _, err := v.Verify(context.Background(), tok); !errors.Is(err, identity.ErrExpired) {
		t.Fatalf("reused assertion after expiry: %v, want ErrExpired", err)
	}
}

func TestTamperedCopyOfAVerifiedAssertionIsRefused(t *testing.T) {
	p, v, _ := setup(t)
	tok := p.Assertion(t, "bob", "reader")
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tok, ".")
	parts[1] = b64JSON(t, p.Claims("bob", "admin"))
	if _, err := v.Verify(context.Background(), strings.Join(parts, ".")); !errors.Is(err, identity.ErrSignature) {
		t.Fatalf("tampered copy: %v, want ErrSignature", err)
	}
}
