package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"time"
)

// browserLogin does what a browser does at a proxy: GET start, follow the
// redirects to the IdP, choose persona on the picker when one is shown, and
// come back with the session cookies, returned as one Cookie header value.
func browserLogin(start, persona string) (string, error) {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 15 * time.Second}
	resp, err := c.Get(start)
	if err != nil {
		return "", fmt.Errorf("login at %s: %w", start, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK && strings.Contains(resp.Request.URL.Path, "/authorize") {
		// The persona picker: its form posts the choice to the same URL.
		resp, err = c.PostForm(resp.Request.URL.String(), url.Values{"persona": {persona}})
		if err != nil {
			return "", fmt.Errorf("choosing %q on the picker: %w", persona, err)
		}
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("login at %s ended at %s with %s: %.300s", start, resp.Request.URL, resp.Status, body)
	}
	u, _ := url.Parse(start)
	var parts []string
	for _, ck := range jar.Cookies(u) {
		parts = append(parts, ck.Name+"="+ck.Value)
	}
	if len(parts) == 0 {
		return "", fmt.Errorf("login at %s set no cookie", start)
	}
	return strings.Join(parts, "; "), nil
}

// codeToken obtains an access token for persona from an authdev issuer
// with the public CLI client: authorization code + PKCE with login_hint.
func codeToken(issuer, persona string) (string, error) {
	verifier := make([]byte, 32)
	rand.Read(verifier)
	v := base64.RawURLEncoding.EncodeToString(verifier)
	sum := sha256.Sum256([]byte(v))
	redirect := "http://127.0.0.1:1/callback"
	q := url.Values{"client_id": {"authdev-cli"}, "response_type": {"code"}, "redirect_uri": {redirect},
		"scope": {"openid profile email"}, "state": {"bench-state-123"}, "nonce": {"bench-nonce-123"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
		"login_hint": {persona}}
	c := &http.Client{Timeout: 15 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(issuer + "/authorize?" + q.Encode())
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Query().Get("code") == "" {
		return "", fmt.Errorf("authorize answered %s, Location %q", resp.Status, resp.Header.Get("Location"))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, issuer+"/token", strings.NewReader(url.Values{
		"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")}, "redirect_uri": {redirect},
		"client_id": {"authdev-cli"}, "code_verifier": {v}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err = c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
		Error       string `json:"error_description"`
	}
	json.NewDecoder(resp.Body).Decode(&tok)
	if tok.AccessToken == "" {
		return "", fmt.Errorf("token endpoint answered %s: %s", resp.Status, tok.Error)
	}
	return tok.AccessToken, nil
}

// check sends one request with header h and wants a 2xx, so that a load run
// never measures a page of refusals.
func check(target, h string) error {
	req, _ := http.NewRequest(http.MethodGet, target, nil)
	if h != "" {
		name, value, _ := strings.Cut(h, ": ")
		req.Header.Set(name, value)
	}
	c := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("GET %s answered %s: %.300s", target, resp.Status, body)
	}
	return nil
}
