package mockidp

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/authdev/authdev/audit"
	"github.com/authdev/authdev/config"
)

// deviceGrant is a device authorization (RFC 8628) waiting for a persona.
type deviceGrant struct {
	mu       sync.Mutex
	clientID string
	prefix   string
	userCode string
	scopes   []string
	audience []string
	expires  time.Time
	interval time.Duration
	lastPoll time.Time
	persona  string // set on approval
	authTime time.Time
	denied   bool
	redeemed bool
}

// userCodeAlphabet has no vowels and no look-alikes (RFC 8628 §6.1).
const userCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ"

// deviceAuthorization starts the device flow (RFC 8628 §3.1).
func (ep *issuerEP) deviceAuthorization(w http.ResponseWriter, r *http.Request) {
	tr, e := parseTokenRequest(r)
	var c *client
	if e == nil {
		c, e = ep.s.authenticateClient(tr)
	}
	if e == nil && !c.allows(config.GrantDeviceCode) {
		e = oauthErr(ErrUnauthorizedClient, "client %q may not use the device flow: add %q to its grants", c.id, config.GrantDeviceCode)
	}
	if e != nil {
		writeError(w, r, e)
		return
	}
	deviceCode, err := ep.s.randomString(32)
	userCode, err2 := ep.s.newUserCode()
	if err != nil || err2 != nil {
		writeError(w, r, oauthErr(ErrServerError, "read randomness"))
		return
	}
	now := ep.s.now()
	g := &deviceGrant{clientID: c.id, prefix: ep.prefix, userCode: userCode, scopes: tr.scopes, audience: tr.audience,
		expires: now.Add(deviceTTL), interval: ep.s.opts.DeviceInterval}
	ep.s.devices.Put(deviceCode, g)
	ep.s.userCode.Put(userCode, deviceCode)
	verify := ep.endpoints().DeviceVerification
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{
		"device_code":               deviceCode,
		"user_code":                 userCode,
		"verification_uri":          verify,
		"verification_uri_complete": verify + "?user_code=" + url.QueryEscape(userCode),
		"expires_in":                int(deviceTTL / time.Second),
		"interval":                  int(ep.s.opts.DeviceInterval / time.Second),
	})
}

// newUserCode makes an XXXX-XXXX code: 20^8 possibilities, and codes
// expire in minutes. Bytes of 240 and up are skipped so every letter is
// equally likely.
func (s *Server) newUserCode() (string, error) {
	var sb strings.Builder
	b := make([]byte, 1)
	for n := 0; n < 8; {
		if _, err := io.ReadFull(s.rand, b); err != nil {
			return "", err
		}
		if b[0] >= 240 {
			continue
		}
		if n == 4 {
			sb.WriteByte('-')
		}
		sb.WriteByte(userCodeAlphabet[int(b[0])%len(userCodeAlphabet)])
		n++
	}
	return sb.String(), nil
}

// normalizeUserCode accepts what people type: any case, with or without
// the dash or spaces.
func normalizeUserCode(s string) string {
	var sb strings.Builder
	for _, r := range strings.ToUpper(s) {
		if strings.ContainsRune(userCodeAlphabet, r) {
			sb.WriteRune(r)
		}
	}
	c := sb.String()
	if len(c) != 8 {
		return c
	}
	return c[:4] + "-" + c[4:]
}

// deviceVerification is the page where a person enters the user code and
// picks a persona. Like the login picker it is a plain form:
//
//	GET  <issuer>/device?user_code=XXXX-XXXX          shows the personas
//	POST <issuer>/device  user_code=XXXX-XXXX&persona=<id>   approves
//	POST <issuer>/device  user_code=XXXX-XXXX&cancel=1       denies
func (ep *issuerEP) deviceVerification(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		ep.s.errorPage(w, http.StatusMethodNotAllowed, "Method not allowed", "The device page takes GET or POST.")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		ep.s.errorPage(w, http.StatusBadRequest, "Malformed request", fmt.Sprintf("The request could not be read: %v.", err))
		return
	}
	page := pickerPage{Title: "Connect a device", Env: ep.env.cfg.Name, Action: ep.s.basePath + ep.env.layout.DeviceVerification, Legend: "Sign in on the device as"}
	raw := r.Form.Get("user_code")
	if raw == "" {
		ep.s.render(w, http.StatusOK, "device", page)
		return
	}
	code := normalizeUserCode(raw)
	deviceCode, ok := ep.s.userCode.Get(code)
	var g *deviceGrant
	if ok {
		g, ok = ep.s.devices.Get(deviceCode)
	}
	if !ok || g.prefix != ep.prefix {
		page.Notice = fmt.Sprintf("The code %q is unknown or expired. Check the code on your device, or start again there.", raw)
		ep.s.render(w, http.StatusBadRequest, "device", page)
		return
	}
	g.mu.Lock()
	decided := g.persona != "" || g.denied
	g.mu.Unlock()
	if decided {
		ep.s.render(w, http.StatusBadRequest, "message", messagePage{Title: "Code already used", Message: "This code was already approved or denied. Start again on your device.", Alert: true})
		return
	}
	page.UserCode, page.Client, page.Personas = code, g.clientID, ep.personaViews()
	if r.Method == http.MethodGet {
		ep.s.render(w, http.StatusOK, "device", page)
		return
	}
	if r.PostForm.Has("cancel") {
		g.mu.Lock()
		g.denied = true
		g.mu.Unlock()
		ep.s.render(w, http.StatusOK, "message", messagePage{Title: "Denied", Message: "The device was not signed in. You can close this page."})
		return
	}
	persona := r.PostForm.Get("persona")
	if _, ok := ep.s.cfg.Persona(persona); !ok {
		page.Notice = fmt.Sprintf("There is no persona %q; choose one below.", persona)
		ep.s.render(w, http.StatusBadRequest, "device", page)
		return
	}
	g.mu.Lock()
	g.persona, g.authTime = persona, ep.s.now()
	g.mu.Unlock()
	id, _ := ep.s.cfg.IdentityIn(persona, ep.env.cfg.Name)
	ep.s.emit(audit.Event{Kind: audit.KindLogin, Env: ep.env.cfg.Name, Persona: persona, User: id.Email,
		Message: "approved a device login for client " + g.clientID})
	ep.s.render(w, http.StatusOK, "message", messagePage{Title: "Device connected",
		Message: fmt.Sprintf("%s is signed in on the device. You can close this page.", id.Name)})
}

// grantDevice redeems a device code (RFC 8628 §3.4, §3.5).
func (ep *issuerEP) grantDevice(c *client, tr tokenRequest) (TokenSet, string, *Error) {
	if tr.deviceCode == "" {
		return TokenSet{}, "", oauthErr(ErrInvalidRequest, "missing device_code")
	}
	g, ok := ep.s.devices.Get(tr.deviceCode)
	if !ok || g.prefix != ep.prefix {
		return TokenSet{}, "", oauthErr(ErrExpiredToken, "device code is unknown or expired: start the device flow again")
	}
	if g.clientID != c.id {
		return TokenSet{}, "", oauthErr(ErrInvalidGrant, "device code was issued to another client")
	}
	now := ep.s.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case !now.Before(g.expires):
		return TokenSet{}, "", oauthErr(ErrExpiredToken, "device code expired: start the device flow again")
	case g.redeemed:
		return TokenSet{}, g.persona, oauthErr(ErrInvalidGrant, "device code was already redeemed")
	case g.denied:
		return TokenSet{}, "", oauthErr(ErrAccessDenied, "the user denied the device")
	case g.persona == "":
		tooSoon := !g.lastPoll.IsZero() && now.Sub(g.lastPoll) < g.interval
		g.lastPoll = now
		if tooSoon {
			g.interval += 5 * time.Second
			return TokenSet{}, "", oauthErr(ErrSlowDown, "polling faster than every %s", g.interval-5*time.Second)
		}
		return TokenSet{}, "", oauthErr(ErrAuthorizationPending, "waiting for the user to enter %s", g.userCode)
	}
	g.redeemed = true
	ts, e := ep.s.issue(issueRequest{ep: ep, client: c, persona: g.persona, scopes: g.scopes, audience: g.audience,
		authTime: g.authTime, refresh: true})
	return ts, g.persona, e
}
