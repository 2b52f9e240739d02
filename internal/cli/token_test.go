package cli

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/authdev/authdev/audit"
	"github.com/authdev/authdev/config"
	"github.com/authdev/authdev/internal/stack"
	"github.com/authdev/authdev/internal/state"
	"github.com/authdev/authdev/mockidp"
)

// tokenConfig writes a config whose IdP would listen on a free port, and
// returns it with the port's listener (closed: nothing listens yet).
func tokenConfig(t *testing.T) (path string, env map[string]string, ln net.Listener) {
	t.Helper()
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	src := strings.Replace(string(config.DemoYAML()), "127.0.0.1:9400", "127.0.0.1:"+port, 1)
	src = strings.Replace(src, "  token_ttl: 5m\n", "  token_ttl: 5m\n  clients:\n    - {id: spa, redirect_uris: [\"http://localhost:5173/cb\"]}\n    - {id: ci, secret: s, grants: [client_credentials]}\n", 1)
	path = filepath.Join(dir, "authdev.yaml")
	os.WriteFile(path, []byte(src), 0o644)
	return path, map[string]string{"AUTHDEV_STATE_DIR": filepath.Join(dir, "state")}, ln
}

// serveIdP starts the config's IdP on ln with store.
func serveIdP(t *testing.T, path string, store state.Store, ln net.Listener) *mockidp.Server {
	t.Helper()
	cfg, err := config.Load(path, config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := mockidp.New(cfg, mockidp.Options{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(ln); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

func verify(t *testing.T, issuer, aud, token string) map[string]any {
	t.Helper()
	ctx := context.Background()
	p, err := oidc.NewProvider(ctx, issuer)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := p.Verifier(&oidc.Config{ClientID: aud}).Verify(ctx, strings.TrimSpace(token))
	if err != nil {
		t.Fatalf("the token does not verify at %s for %q: %v", issuer, aud, err)
	}
	var c map[string]any
	tok.Claims(&c)
	return c
}

func TestTokenWithoutARunningIdPVerifiesAtTheIdPStartedLater(t *testing.T) {
	path, env, ln := tokenConfig(t)
	addr := ln.Addr().String()
	ln.Close()
	code, stdout, stderr := run(t, env, "--state", "file", "--config", path, "token", "--as", "bob", "--env", "staging")
	if code != 0 || strings.Count(stdout, ".") != 2 || strings.Count(stdout, "\n") != 1 {
		t.Fatalf("exit %d, stdout %q, stderr %q; want one JWT line", code, stdout, stderr)
	}
	// The IdP started later (on another port, with the issuer URLs of the
	// config) verifies the token with the keys of the same store.
	cfg, err := config.Load(path, config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := mockidp.New(cfg, mockidp.Options{Store: state.NewFile(env["AUTHDEV_STATE_DIR"]), BaseURL: "http://localhost:" + addr[strings.LastIndex(addr, ":")+1:]})
	if err != nil {
		t.Fatal(err)
	}
	ln2, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(ln2); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ctx := context.Background()
	keys := oidc.NewRemoteKeySet(ctx, "http://"+ln2.Addr().String()+strings.TrimPrefix(srv.Endpoints("staging").JWKS, srv.BaseURL()))
	tok, err := oidc.NewVerifier(srv.Issuer("staging"), keys, &oidc.Config{ClientID: "authdev"}).Verify(ctx, strings.TrimSpace(stdout))
	if err != nil {
		t.Fatalf("the token does not verify with the store's keys: %v", err)
	}
	var c map[string]any
	tok.Claims(&c)
	if c["email"] != "bob@example.com" {
		t.Fatalf("token claims %v", c)
	}
}

func TestTokenFromTheRunningIdP(t *testing.T) {
	path, env, ln := tokenConfig(t)
	// The running IdP keeps its keys elsewhere: only its tokens verify.
	srv := serveIdP(t, path, state.NewMemory(), ln)
	iss := srv.Issuer("prod")
	for _, tc := range []struct {
		name  string
		args  []string
		check func(t *testing.T, stdout string)
	}{
		{"the access token for the environment's audience", []string{"--as", "alice", "--env", "prod"}, func(t *testing.T, out string) {
			if c := verify(t, iss, "authdev", out); c["email"] != "alice@example.com" {
				t.Fatalf("claims %v", c)
			}
		}},
		{"--aud asks for another audience", []string{"--as", "alice", "--env", "prod", "--aud", "reports"}, func(t *testing.T, out string) {
			verify(t, iss, "reports", out)
		}},
		{"--id-token prints the ID token", []string{"--as", "carol", "--env", "prod", "--id-token"}, func(t *testing.T, out string) {
			verify(t, iss, config.CLIClientID, out)
		}},
		{"--client logs in as a configured client", []string{"--as", "carol", "--env", "prod", "--client", "spa", "--id-token"}, func(t *testing.T, out string) {
			verify(t, iss, "spa", out)
		}},
		{"--json prints every token with the expiry", []string{"--as", "eve", "--env", "prod", "--json", "--scope", "email"}, func(t *testing.T, out string) {
			var doc map[string]any
			if err := json.Unmarshal([]byte(out), &doc); err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"access_token", "id_token", "refresh_token", "expires_at", "expires_in"} {
				if doc[k] == nil || doc[k] == "" {
					t.Errorf("--json lacks %s: %v", k, doc)
				}
			}
			if doc["scope"] != "openid email" {
				t.Errorf("scope %v, want openid added to --scope", doc["scope"])
			}
			verify(t, iss, "authdev", doc["access_token"].(string))
		}},
		{"--decode prints the claims", []string{"--as", "bob", "--env", "prod", "--decode"}, func(t *testing.T, out string) {
			var c map[string]any
			if err := json.Unmarshal([]byte(out), &c); err != nil {
				t.Fatalf("--decode: %v\n%s", err, out)
			}
			if c["email"] != "bob@example.com" || c["iss"] != iss {
				t.Fatalf("claims %v", c)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := run(t, env, append([]string{"--state", "file", "--config", path, "token"}, tc.args...)...)
			if code != 0 || strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "authdev token: ") || !strings.Contains(stderr, " in prod (--env), issuer "+iss+"\n") {
				t.Fatalf("exit %d, stderr %q; want one line naming the environment", code, stderr)
			}
			tc.check(t, stdout)
		})
	}
}

func TestTokenErrorsGoToStderrWithAnExitCode(t *testing.T) {
	path, env, ln := tokenConfig(t)
	ln.Close()
	impostor := httptest.NewServer(http.NotFoundHandler())
	defer impostor.Close()
	other := strings.Replace(mustRead(t, path), ln.Addr().String(), impostor.Listener.Addr().String(), 1)
	otherPath := filepath.Join(t.TempDir(), "authdev.yaml")
	os.WriteFile(otherPath, []byte(other), 0o644)
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no --as", []string{"token"}, ExitUsage, "--as is required"},
		{"an unknown persona", []string{"token", "--as", "mallory"}, ExitUsage, `unknown persona "mallory": use one of alice, bob, carol, eve`},
		{"an unknown environment", []string{"token", "--as", "bob", "--env", "qa"}, ExitUsage, `unknown environment "qa": use one of`},
		{"an unknown client", []string{"token", "--as", "bob", "--client", "nope"}, ExitUsage, `--client "nope": no such client`},
		{"a client without the code flow", []string{"token", "--as", "bob", "--client", "ci"}, ExitUsage, "authorization_code"},
		{"something else on idp.listen", []string{"--config", otherPath, "token", "--as", "bob"}, ExitFailure, "not this config's IdP"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"--state", "file", "--config", path}, tc.args...)
			code, stdout, stderr := run(t, env, args...)
			if code != tc.code || stdout != "" || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d, stdout %q, stderr %q; want %d and %q", code, stdout, stderr, tc.code, tc.want)
			}
		})
	}
}

func mustRead(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestTokenIsForTheEnvironmentOfTheRunningUp(t *testing.T) {
	path, env, ln := tokenConfig(t)
	idpAddr := ln.Addr().String()
	ln.Close()
	cfg, err := config.Load(path, config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	store := state.NewFile(env["AUTHDEV_STATE_DIR"])
	s, err := stack.Up(stack.Options{Config: cfg, Store: store, ProxyListen: "127.0.0.1:0", IdPListen: idpAddr})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Shutdown(context.Background()) })
	// What README's persona switch does, then a token with no --env.
	if code, _, stderr := run(t, env, "--state", "file", "--config", path, "as", "bob", "--env", "prod"); code != 0 {
		t.Fatalf("authdev as: exit %d: %s", code, stderr)
	}
	code, stdout, stderr := run(t, env, "--state", "file", "--config", path, "token", "--as", "carol")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	verify(t, s.IdP().Issuer("prod"), "authdev", strings.TrimSpace(stdout))
	want := "authdev token: carol in prod (the active environment of authdev up at " + s.ProxyURL() + ")"
	if !strings.Contains(stderr, want) {
		t.Errorf("stderr %q lacks %q", stderr, want)
	}
	// The proxy of that up takes the token.
	req, _ := http.NewRequest(http.MethodGet, s.ProxyURL()+"/", nil)
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(stdout))
	resp, err := (&http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: s.CA().Pool()}}}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("the running proxy answered %s to the token", resp.Status)
	}
}

func TestTheLoginOfATokenNamesItsEnvironmentInTheAuditTrail(t *testing.T) {
	path, env, ln := tokenConfig(t)
	cfg, err := config.Load(path, config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var logins []string
	srv, err := mockidp.New(cfg, mockidp.Options{Store: state.NewMemory(), Events: func(e audit.Event) {
		if e.Kind == audit.KindLogin {
			mu.Lock()
			logins = append(logins, e.Message)
			mu.Unlock()
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(ln); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	if code, _, stderr := run(t, env, "--state", "file", "--config", path, "token", "--as", "bob", "--env", "prod"); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(logins) != 1 || logins[0] != "signed in at the prod IdP for client authdev-cli" {
		t.Fatalf("login events %q; want one naming prod", logins)
	}
}
