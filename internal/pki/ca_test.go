package pki

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/authdev/authdev/internal/state"
)

var t0 = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

func now() time.Time { return t0 }

func TestLoadOrCreateKeepsTheSameCA(t *testing.T) {
	store := state.NewMemory()
	a, err := LoadOrCreate(store, now, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	b, err := LoadOrCreate(store, now, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if a.Fingerprint() != b.Fingerprint() {
		t.Fatalf("second load made a new CA: %s != %s", a.Fingerprint(), b.Fingerprint())
	}
	if !a.Cert.IsCA || a.Cert.PublicKeyAlgorithm != x509.ECDSA {
		t.Fatalf("CA certificate is not an ECDSA CA: %+v", a.Cert)
	}
}

func TestLoadOrCreateRefusesToReplaceAnUnreadableCA(t *testing.T) {
	store := state.NewMemory()
	store.Set(StoreKey, []byte("not pem"))
	_, err := LoadOrCreate(store, now, rand.Reader)
	if err == nil || !strings.Contains(err.Error(), "unreadable") {
		t.Fatalf("want an unreadable-CA error, got %v", err)
	}
	if v, _ := store.Get(StoreKey); string(v) != "not pem" {
		t.Fatalf("the store was overwritten with %q", v)
	}
}

type failingStore struct{ *state.MemoryStore }

func (failingStore) Get(string) ([]byte, error) { return nil, errors.New("keyring locked") }

func TestLoadOrCreateReportsAStoreThatCannotBeRead(t *testing.T) {
	s := failingStore{state.NewMemory()}
	if _, err := LoadOrCreate(s, now, rand.Reader); err == nil || !strings.Contains(err.Error(), "keyring locked") {
		t.Fatalf("want the store's error, got %v", err)
	}
	if _, err := s.MemoryStore.Get(StoreKey); err == nil {
		t.Fatal("a CA was written although the store could not be read")
	}
}

func TestIssuedLeafVerifiesForEveryNameOverTLS(t *testing.T) {
	ca, err := LoadOrCreate(state.NewMemory(), time.Now, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Issue([]string{"app.test", "10.1.2.3"}, time.Now(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"localhost", "127.0.0.1", "::1", "app.test", "10.1.2.3"} {
		if err := leaf.Leaf.VerifyHostname(name); err != nil {
			t.Errorf("leaf does not cover %q: %v", name, err)
		}
	}
	if _, err := leaf.Leaf.Verify(x509.VerifyOptions{Roots: ca.Pool()}); err != nil {
		t.Fatalf("leaf does not chain to the CA: %v", err)
	}

	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(r.Proto))
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{leaf}}
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool()}, ForceAttemptHTTP2: true}}
	resp, err := client.Get("https://localhost:" + port + "/")
	if err != nil {
		t.Fatalf("TLS with the CA as the only root failed: %v", err)
	}
	resp.Body.Close()
	if resp.Proto != "HTTP/2.0" {
		t.Fatalf("want HTTP/2, got %s", resp.Proto)
	}
}

func TestTrustWritesTheSystemAnchorAndRunsTheUpdateCommand(t *testing.T) {
	ca, _ := LoadOrCreate(state.NewMemory(), now, rand.Reader)
	dir := t.TempDir()
	var ran []string
	o := TrustOptions{GOOS: "linux", Home: t.TempDir(), Self: "authdev", Privileged: true, TempDir: t.TempDir(),
		System:   &SystemStore{Dir: dir, Update: []string{"update-ca-certificates"}},
		LookPath: func(string) (string, error) { return "", exec.ErrNotFound },
		Run: func(name string, args ...string) ([]byte, error) {
			ran = append(ran, name)
			return nil, nil
		}}
	steps := ca.Trust(o)
	if !steps[0].Done || steps[0].Err != nil {
		t.Fatalf("system step: %+v", steps[0])
	}
	got, err := os.ReadFile(filepath.Join(dir, AnchorFile))
	if err != nil || string(got) != string(ca.CertPEM()) {
		t.Fatalf("anchor file: %q, %v", got, err)
	}
	if len(ran) != 1 || ran[0] != "update-ca-certificates" {
		t.Fatalf("ran %v", ran)
	}
}

func TestTrustPrintsCommandsWhenItMayNotWrite(t *testing.T) {
	ca, _ := LoadOrCreate(state.NewMemory(), now, rand.Reader)
	o := TrustOptions{GOOS: "linux", Home: t.TempDir(), Self: "authdev", TempDir: t.TempDir(),
		System:   &SystemStore{Dir: "/usr/local/share/ca-certificates", Update: []string{"update-ca-certificates"}},
		LookPath: func(string) (string, error) { return "", exec.ErrNotFound },
		Run:      func(string, ...string) ([]byte, error) { t.Fatal("ran a command without privileges"); return nil, nil }}
	steps := ca.Trust(o)
	want := []string{
		"authdev ca print | sudo tee /usr/local/share/ca-certificates/authdev-local-ca.crt >/dev/null",
		"sudo update-ca-certificates",
	}
	if strings.Join(steps[0].Commands, "\n") != strings.Join(want, "\n") {
		t.Fatalf("system commands:\n%s", strings.Join(steps[0].Commands, "\n"))
	}
	nss := steps[1]
	if nss.Err == nil || !strings.Contains(nss.Err.Error(), "libnss3-tools") {
		t.Fatalf("NSS step should say how to get certutil: %+v", nss)
	}
	if !strings.Contains(strings.Join(nss.Commands, "\n"), "certutil -A -d sql:") {
		t.Fatalf("NSS commands: %v", nss.Commands)
	}
}

func TestTrustAddsTheCAToANewChromiumNSSDatabase(t *testing.T) {
	certutil, err := exec.LookPath("certutil")
	if err != nil {
		t.Fatal("certutil is needed (apt-get install libnss3-tools)")
	}
	ca, _ := LoadOrCreate(state.NewMemory(), now, rand.Reader)
	home := t.TempDir()
	o := NewTrustOptions("linux")
	o.Home, o.TempDir, o.System = home, t.TempDir(), nil
	steps := ca.Trust(o)
	var nss *Step
	for i := range steps {
		if strings.HasPrefix(steps[i].Store, "NSS") {
			nss = &steps[i]
		}
	}
	if nss == nil || !nss.Done {
		t.Fatalf("NSS step not done: %+v", steps)
	}
	db := filepath.Join(home, ".pki", "nssdb")
	out, err := exec.Command(certutil, "-L", "-d", "sql:"+db, "-n", ca.Nickname()).CombinedOutput()
	if err != nil {
		t.Fatalf("certutil -L: %v: %s", err, out)
	}
	if !strings.Contains(string(out), "Is a CA") && !strings.Contains(string(out), ca.Nickname()) {
		t.Fatalf("the CA is not in the database:\n%s", out)
	}
	// Trusting twice is harmless.
	if again := ca.Trust(o); !again[len(again)-1].Done {
		t.Fatalf("second trust failed: %+v", again)
	}
}
