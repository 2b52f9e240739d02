package backendcheck

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Persona is an identity as the proxy asserts it in one environment.
type Persona struct {
	ID     string
	Email  string
	Name   string
	Env    string
	Groups []string
	Roles  []string
}

// Target is the backend and what a genuine assertion for it is made of.
type Target struct {
	// URL is the backend's base URL, reached directly.
	URL string
	// Method and Path are the protected route the requests go to.
	Method, Path string
	// Issuer is the proxy URL the backend trusts assertions from;
	// Audience its upstream name. OtherAudience is another upstream's.
	Issuer, Audience, OtherAudience string
	// Key signs genuine assertions under KeyID, as the proxy does.
	Key   *ecdsa.PrivateKey
	KeyID string
	// Personas are tried in order for a genuine assertion the backend
	// accepts; at least one is needed.
	Personas []Persona
	// IdentityHeaders are the headers the proxy injects for a persona
	// (X-Remote-User and the like).
	IdentityHeaders func(Persona) http.Header
	// Leeway is the clock skew the backend tolerates on exp, nbf and iat.
	Leeway time.Duration
	// Settle is how long the genuine assertion is retried while the
	// backend refuses it: a backend refetches the proxy's keys at most so
	// often (5 s in the examples), and may hold the keys of a proxy that
	// ran just before with another key.
	Settle time.Duration
	Client *http.Client
	Now    func() time.Time
}

// answer is what the backend said to one request.
type answer struct {
	status int
	detail string // the first line of the body
}

func (a answer) String() string {
	if a.status == 0 {
		return "no answer"
	}
	if a.detail == "" {
		return fmt.Sprint(a.status)
	}
	return fmt.Sprintf("%d %s", a.status, a.detail)
}

func (a answer) accepted() bool { return a.status >= 200 && a.status < 400 }
func (a answer) refused() bool {
	return a.status == http.StatusUnauthorized || a.status == http.StatusForbidden
}

// send makes one request with the given assertion ("" for none) and
// headers.
func (t *Target) send(ctx context.Context, assertion string, h http.Header) (answer, error) {
	req, err := http.NewRequestWithContext(ctx, t.Method, strings.TrimRight(t.URL, "/")+t.Path, nil)
	if err != nil {
		return answer{}, err
	}
	for k, v := range h {
		req.Header[k] = v
	}
	if assertion != "" {
		req.Header.Set(assertionHeader, assertion)
	}
	resp, err := t.Client.Do(req)
	if err != nil {
		return answer{}, fmt.Errorf("%s %s: %w: is the backend running?", t.Method, req.URL.Redacted(), err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	first, _, _ := strings.Cut(strings.TrimSpace(string(body)), "\n")
	// The table shows it beside the status: enough to say why.
	if r := []rune(first); len(r) > 80 {
		first = string(r[:80]) + "…"
	}
	return answer{status: resp.StatusCode, detail: first}, nil
}
