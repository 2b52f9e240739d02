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

// ControlDrillPath runs failure drills (POST a DrillRequest) and reports
// what is in effect (GET).
const ControlDrillPath = "/.authdev/control/drill"

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
	if r.URL.Path != ControlPath && r.URL.Path != ControlDrillPath {
		controlError(w, http.StatusNotFound, "no such control endpoint: use "+ControlPath+" or "+ControlDrillPath)
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
	if r.URL.Path == ControlDrillPath {
		c.drill(w, r)
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

// drill runs a posted drill, or reports the drills in effect (GET).
func (c *control) drill(w http.ResponseWriter, r *http.Request) {
	var st DrillState
	switch r.Method {
	case http.MethodGet:
		st = c.s.DrillState()
	case http.MethodPost:
		var req DrillRequest
		if err := json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&req); err != nil {
			controlError(w, http.StatusBadRequest, "body must be JSON {\"drill\": ..., \"duration\": ...}: "+err.Error())
			return
		}
		var err error
		if st, err = c.s.RunDrill(req); err != nil {
			controlError(w, http.StatusBadRequest, err.Error())
			return
		}
	default:
		controlError(w, http.StatusMethodNotAllowed, "use GET or POST")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(st)
}

func controlError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

// Switch asks the `authdev up` serving proxyURL to make persona (in env,
// when not "") active. roots verify its certificate under HTTPS.
func Switch(ctx context.Context, proxyURL, token string, roots *x509.CertPool, want ActiveState) (ActiveState, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var got ActiveState
	err := controlCall(ctx, proxyURL, ControlPath, token, roots, want, &got)
	return got, err
}

// Active asks the `authdev up` serving proxyURL for its active persona and
// environment, changing nothing.
func Active(ctx context.Context, proxyURL, token string, roots *x509.CertPool) (ActiveState, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var got ActiveState
	err := controlCall(ctx, proxyURL, ControlPath, token, roots, nil, &got)
	return got, err
}

// RunDrillAt runs a drill on the `authdev up` serving proxyURL; a nil req
// only reads what is in effect.
func RunDrillAt(ctx context.Context, proxyURL, token string, roots *x509.CertPool, req *DrillRequest) (DrillState, error) {
	// rotate-keys makes a key per environment: RSA keys take a while.
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	var body any
	if req != nil {
		body = req
	}
	var got DrillState
	err := controlCall(ctx, proxyURL, ControlDrillPath, token, roots, body, &got)
	return got, err
}

// controlCall POSTs body (GETs when it is nil) to a control endpoint of
// the proxy at proxyURL and decodes the answer into out, within ctx's
// deadline.
func controlCall(ctx context.Context, proxyURL, path, token string, roots *x509.CertPool, body, out any) error {
	method, payload := http.MethodGet, []byte(nil)
	if body != nil {
		method = http.MethodPost
		payload, _ = json.Marshal(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(proxyURL, "/")+path, bytes.NewReader(payload))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	defer client.CloseIdleConnections()
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("no `authdev up` answers at %s: %w: start it, or pass the --config it runs with", proxyURL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var e struct{ Error string }
		json.NewDecoder(io.LimitReader(resp.Body, 4096)).Decode(&e)
		if e.Error == "" {
			return fmt.Errorf("%s answered %s: is it an authdev proxy?", proxyURL, resp.Status)
		}
		return errors.New(e.Error)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}
