package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crewjam/saml/samlsp"

	"github.com/authdev/authdev/internal/testkit"
)

func TestIdPRefusesANonLoopbackAddressWithoutAllowRemote(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:9400", ":9400", "192.0.2.1:9400", "example.com:9400"} {
		t.Run(addr, func(t *testing.T) {
			code, stdout, stderr := run(t, nil, "idp", "--listen", addr)
			if code != ExitUsage || !strings.Contains(stderr, "--allow-remote") || !strings.Contains(stderr, addr) || stdout != "" {
				t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
			}
		})
	}
}

func TestCheckListenAllowsLoopbackAndWarnsForRemote(t *testing.T) {
	for _, tc := range []struct {
		name, addr  string
		allow       bool
		wantErr     bool
		wantWarning string
	}{
		{"IPv4 loopback is allowed", "127.0.0.1:9400", false, false, ""},
		{"another 127/8 address is allowed", "127.0.0.2:9400", false, false, ""},
		{"IPv6 loopback is allowed", "[::1]:9400", false, false, ""},
		{"localhost is allowed", "localhost:9400", false, false, ""},
		{"every interface needs the flag", ":9400", false, true, ""},
		{"every interface with the flag warns", ":9400", true, false, "every interface"},
		{"a LAN address with the flag warns", "192.0.2.1:9400", true, false, "anyone who reaches it"},
		{"no port is a usage error", "127.0.0.1", true, true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			warning, err := checkListen("--listen", tc.addr, tc.allow)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v", err)
			}
			if err != nil && exitCode(err) != ExitUsage {
				t.Errorf("exit code %d, want 2", exitCode(err))
			}
			if !strings.Contains(warning, tc.wantWarning) || (tc.wantWarning == "") != (warning == "") {
				t.Errorf("warning %q, want one containing %q", warning, tc.wantWarning)
			}
		})
	}
}

func jwksKIDs(t *testing.T, url string) []string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set struct{ Keys []struct{ Kid string } }
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	var kids []string
	for _, k := range set.Keys {
		kids = append(kids, k.Kid)
	}
	return kids
}

// startIdP runs `authdev idp` on a free loopback port with env (its file
// store in AUTHDEV_STATE_DIR) until the test ends, and returns its stderr and the dev issuer it
// announces (and that issuer's environment base, without the flavor path).
func startIdP(t *testing.T, env map[string]string) (errOut *testkit.Buffer, iss, envBase string) {
	t.Helper()
	getenv := func(k string) string { return env[k] }
	errOut = &testkit.Buffer{}
	f := &Factory{IO: &IO{In: &bytes.Buffer{}, Out: &testkit.Buffer{}, ErrOut: errOut}, Getenv: getenv, Version: "test"}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		root := NewRootCmd(f)
		root.SetArgs([]string{"--state", "file", "idp", "--listen", "127.0.0.1:0"})
		done <- root.ExecuteContext(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("authdev idp: %v", err)
		}
	})
	issuer := regexp.MustCompile(`dev\s+((http://localhost:\d+/dev)\S*)`)
	if !testkit.Eventually(20*time.Second, func() bool {
		if m := issuer.FindStringSubmatch(errOut.String()); m != nil {
			iss, envBase = m[1], m[2]
		}
		return iss != ""
	}) {
		t.Fatalf("authdev idp did not announce its issuers:\n%s", errOut.String())
	}
	return errOut, iss, envBase
}

// The issuer URLs say localhost, which a client may resolve to ::1 first:
// `authdev idp` answers there too, as `authdev up` does.
func TestIdPAloneAnswersOnTheIPv6LoopbackToo(t *testing.T) {
	if ln, err := net.Listen("tcp", "[::1]:0"); err != nil {
		t.Skipf("this machine has no IPv6 loopback: %v", err)
	} else {
		ln.Close()
	}
	_, iss, _ := startIdP(t, map[string]string{"AUTHDEV_STATE_DIR": t.TempDir()})
	u, err := url.Parse(iss + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	u.Host = net.JoinHostPort("::1", u.Port())
	resp, err := http.Get(u.String())
	if err != nil {
		t.Fatalf("%s: %v", u, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: status %d", u, resp.StatusCode)
	}
}

func TestKeysRotateReachesARunningIdP(t *testing.T) {
	env := map[string]string{"AUTHDEV_STATE_DIR": t.TempDir()}
	errOut, iss, envBase := startIdP(t, env)
	var disc struct {
		JWKS string `json:"jwks_uri"`
	}
	resp, err := http.Get(iss + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	err = json.NewDecoder(resp.Body).Decode(&disc)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	before := jwksKIDs(t, disc.JWKS)
	if len(before) != 1 {
		t.Fatalf("JWKS before rotation: %v", before)
	}
	if want := strings.TrimSuffix(envBase, "/dev") + "/<env>/saml/metadata"; !strings.Contains(errOut.String(), want) {
		t.Errorf("authdev idp does not say where the SAML metadata is (%s):\n%s", want, errOut.String())
	}
	samlBefore := samlSigningCerts(t, envBase+"/saml/metadata")
	if len(samlBefore) != 1 {
		t.Fatalf("SAML metadata before rotation lists %d signing certificates, want 1", len(samlBefore))
	}

	code, _, stderr := run(t, env, "--state", "file", "keys", "rotate", "--env", "dev")
	if code != 0 || !strings.Contains(stderr, "dev: new RS256 signing key") || !strings.Contains(stderr, before[0]+" still verifies until") {
		t.Fatalf("keys rotate: exit %d: %s", code, stderr)
	}
	var after []string
	testkit.Eventually(testkit.WaitTimeout, func() bool { after = jwksKIDs(t, disc.JWKS); return len(after) >= 2 })
	if len(after) != 2 || !slices.Contains(after, before[0]) || after[0] == before[0] {
		t.Fatalf("the running IdP publishes %v after rotation, want a new key first and %s kept", after, before[0])
	}
	if !strings.Contains(stderr, "dev: new SAML RS256 signing key") {
		t.Errorf("keys rotate does not report the SAML key: %s", stderr)
	}
	var samlAfter []string
	for deadline := time.Now().Add(10 * time.Second); len(samlAfter) < 2 && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		samlAfter = samlSigningCerts(t, envBase+"/saml/metadata")
	}
	if len(samlAfter) != 2 || samlAfter[0] == samlBefore[0] || samlAfter[1] != samlBefore[0] {
		t.Fatalf("SAML metadata after rotation lists %d signing certificates, want the new one first and the old one kept", len(samlAfter))
	}
}

// samlSigningCerts lists the signing certificates of SAML IdP metadata.
func samlSigningCerts(t *testing.T, url string) []string {
	t.Helper()
	md, err := samlsp.FetchMetadata(context.Background(), http.DefaultClient, *mustParseURL(t, url))
	if err != nil {
		t.Fatal(err)
	}
	var certs []string
	for _, k := range md.IDPSSODescriptors[0].KeyDescriptors {
		if k.Use == "signing" {
			certs = append(certs, k.KeyInfo.X509Data.X509Certificates[0].Data)
		}
	}
	return certs
}

func mustParseURL(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestKeysRotateRefusesAnUnknownEnvironment(t *testing.T) {
	env := map[string]string{"AUTHDEV_STATE_DIR": t.TempDir()}
	code, _, stderr := run(t, env, "--state", "file", "keys", "rotate", "--env", "qa")
	if code != ExitUsage || !strings.Contains(stderr, `"qa"`) || !strings.Contains(stderr, "dev") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
}

func TestKeysRotateSaysUntilWhenWithTheTimeZone(t *testing.T) {
	env := map[string]string{"AUTHDEV_STATE_DIR": t.TempDir()}
	run(t, env, "--state", "file", "keys", "rotate", "--env", "dev")
	code, _, stderr := run(t, env, "--state", "file", "keys", "rotate", "--env", "dev")
	zoned := regexp.MustCompile(`(?m)still verifies until \d\d:\d\d:\d\d ([A-Z]{2,5}|[+-]\d\d(\d\d)?)$`)
	if code != 0 || !zoned.MatchString(stderr) {
		t.Fatalf("exit %d; want a time with its zone: %s", code, stderr)
	}
}
