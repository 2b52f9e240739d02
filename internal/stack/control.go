package stack

import (
	"bytes"
	"context"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/authdev/authdev/internal/pki"
	"github.com/authdev/authdev/internal/state"
)

// ControlPath is the control endpoint of a running `authdev up`, under the
// proxy's own /.authdev/ paths: `authdev as` finds it where the browser
// finds the proxy, with no extra port or discovery file.
const ControlPath = "/.authdev/control/active"

// ProxyURLKey is where a running `authdev up` leaves its proxy URL in the
// state store, so that `authdev as` finds it whatever the listen address.
const ProxyURLKey = "stack/proxy-url"

// ControlCredentials reads what a client of a running stack's control
// endpoint needs from the state store they share: the control token and,
// when the stack made one, the CA its proxy certificate chains to (nil
// otherwise). It creates nothing.
func ControlCredentials(store state.Store) (token string, roots *x509.CertPool, err error) {
	raw, err := store.Get(ControlTokenKey)
	if errors.Is(err, state.ErrNotFound) {
		return "", nil, fmt.Errorf("no control token in the %s state store: is `authdev up` running with the same --state?", store.Describe())
	}
	if err != nil {
		return "", nil, err
	}
	ca, err := pki.Load(store)
	switch {
	case errors.Is(err, state.ErrNotFound):
		return string(raw), nil, nil
	case err != nil:
		return "", nil, fmt.Errorf("the local CA in the %s state store is unreadable: %w", store.Describe(), err)
	}
	return string(raw), ca.Pool(), nil
}

// ActiveState is the control endpoint's body, both ways.
type ActiveState struct {
	Persona string `json:"persona"`
	Env     string `json:"env"`
}

// control serves ControlPath to loopback callers that present the control
// token from the state store (so only the user who runs authdev can switch;
// a web page cannot, lacking the token).
type control struct {
	s     *Stack
	token string
}

func (c *control) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != ControlPath {
		controlError(w, http.StatusNotFound, "no such control endpoint: use "+ControlPath)
		return
	}
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err != nil || !ap.Addr().Unmap().IsLoopback() {
		controlError(w, http.StatusForbidden, "the control endpoint answers loopback callers only")
		return
	}
	scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") || subtle.ConstantTimeCompare([]byte(tok), []byte(c.token)) != 1 {
		w.Header().Set("WWW-Authenticate", `Bearer realm="authdev-control"`)
		controlError(w, http.StatusUnauthorized, "missing or wrong control token: run `authdev as` with the same --state as `authdev up`")
		return
	}
	switch r.Method {
	case http.MethodGet:
	case http.MethodPost, http.MethodPut:
		var want ActiveState
		if err := json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&want); err != nil {
			controlError(w, http.StatusBadRequest, "body must be JSON {\"persona\": ..., \"env\": ...}: "+err.Error())
			return
		}
		if want.Env == "" {
			_, want.Env = c.s.Active()
		}
		if err := c.s.switchTo(want.Persona, want.Env); err != nil {
			controlError(w, http.StatusBadRequest, err.Error())
			return
		}
	default:
		controlError(w, http.StatusMethodNotAllowed, "use GET or POST")
		return
	}
	persona, env := c.s.Active()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(ActiveState{Persona: persona, Env: env})
}

func controlError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

// Switch asks the `authdev up` serving proxyURL to make persona (in env,
// when not "") active. roots verify its certificate under HTTPS.
func Switch(ctx context.Context, proxyURL, token string, roots *x509.CertPool, want ActiveState) (ActiveState, error) {
	body, _ := json.Marshal(want)
	return callControl(ctx, http.MethodPost, proxyURL, token, roots, body)
}

// Active asks the `authdev up` serving proxyURL for its active persona and
// environment, changing nothing.
func Active(ctx context.Context, proxyURL, token string, roots *x509.CertPool) (ActiveState, error) {
	return callControl(ctx, http.MethodGet, proxyURL, token, roots, nil)
}

func callControl(ctx context.Context, method, proxyURL, token string, roots *x509.CertPool, body []byte) (ActiveState, error) {
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(proxyURL, "/")+ControlPath, bytes.NewReader(body))
	if err != nil {
		return ActiveState{}, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	defer client.CloseIdleConnections()
	resp, err := client.Do(req)
	if err != nil {
		return ActiveState{}, fmt.Errorf("no `authdev up` answers at %s: %w: start it, or pass the --config it runs with", proxyURL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var e struct{ Error string }
		json.NewDecoder(io.LimitReader(resp.Body, 4096)).Decode(&e)
		if e.Error == "" {
			return ActiveState{}, fmt.Errorf("%s answered %s: is it an authdev proxy?", proxyURL, resp.Status)
		}
		return ActiveState{}, errors.New(e.Error)
	}
	var got ActiveState
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		return ActiveState{}, err
	}
	return got, nil
}
