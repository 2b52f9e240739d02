package state

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func roundTrip(t *testing.T, s Store) {
	t.Helper()
	small := []byte("cookie-secret-0123456789")
	large := bytes.Repeat([]byte("PEM-"), 2000) // larger than a keyring item
	for name, v := range map[string][]byte{"test/small": small, "test/large": large} {
		if _, err := s.Get(name); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Get(%q) before Set: got %v, want ErrNotFound", name, err)
		}
		if err := s.Set(name, v); err != nil {
			t.Fatalf("Set(%q): %v", name, err)
		}
		got, err := s.Get(name)
		if err != nil || !bytes.Equal(got, v) {
			t.Fatalf("Get(%q) = %d bytes, %v; want the %d bytes set", name, len(got), err, len(v))
		}
		if err := s.Delete(name); err != nil {
			t.Fatalf("Delete(%q): %v", name, err)
		}
		if _, err := s.Get(name); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Get(%q) after Delete: got %v, want ErrNotFound", name, err)
		}
	}
}

func TestFileStoreRoundTripsWithPrivatePermissions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "authdev")
	s := NewFile(dir)
	roundTrip(t, s)
	if err := s.Set("idp/dev/keys", []byte("k")); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		info, _ := e.Info()
		if info.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", e.Name(), info.Mode().Perm())
		}
		if strings.HasPrefix(e.Name(), ".tmp-") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
	if info, _ := os.Stat(dir); info.Mode().Perm() != 0o700 {
		t.Errorf("folder mode %v, want 0700", info.Mode().Perm())
	}
}

func TestMemoryStoreRoundTrips(t *testing.T) { roundTrip(t, NewMemory()) }

func TestUnreadableStoreIsNeverOverwritten(t *testing.T) {
	dir := t.TempDir()
	s := NewFile(dir)
	p, _ := s.path("ca/key")
	if err := os.Mkdir(p, 0o700); err != nil {
		t.Fatal(err)
	}
	created := false
	_, err := GetOrCreate(s, "ca/key", func() ([]byte, error) { created = true; return []byte("new"), nil })
	if err == nil || created {
		t.Fatalf("GetOrCreate on an unreadable value: err=%v created=%v; want an error and nothing created", err, created)
	}
	if !strings.Contains(err.Error(), p) {
		t.Errorf("error %q should name the file %s", err, p)
	}
}

func TestGetOrCreateCreatesOnce(t *testing.T) {
	s := NewMemory()
	n := 0
	create := func() ([]byte, error) { n++; return []byte("v"), nil }
	for range 3 {
		if v, err := GetOrCreate(s, "k", create); err != nil || string(v) != "v" {
			t.Fatalf("GetOrCreate = %q, %v", v, err)
		}
	}
	if n != 1 {
		t.Fatalf("create ran %d times, want 1", n)
	}
}

func TestNoDBusSessionChoosesFileStoreWithoutSpawningDaemons(t *testing.T) {
	before := countProcesses(t, "dbus-daemon", "dbus-launch")
	dir := t.TempDir()
	env := map[string]string{"XDG_CONFIG_HOME": dir}
	s, err := Open(BackendAuto, Options{Getenv: func(k string) string { return env[k] }})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.(*FileStore); !ok {
		t.Fatalf("Open without D-Bus chose %s, want the file store", s.Describe())
	}
	if want := filepath.Join(dir, "authdev"); !strings.Contains(s.Describe(), want) {
		t.Errorf("Describe() = %q, want it to name %s", s.Describe(), want)
	}
	if _, err := Open(BackendKeyring, Options{Getenv: func(k string) string { return env[k] }}); err == nil || !strings.Contains(err.Error(), "--state file") {
		t.Errorf("forcing the keyring without D-Bus: err = %v, want advice to use --state file", err)
	}
	if after := countProcesses(t, "dbus-daemon", "dbus-launch"); after > before {
		t.Fatalf("D-Bus processes went from %d to %d: something launched a daemon", before, after)
	}
}

func TestUnknownBackendIsRefused(t *testing.T) {
	if _, err := Open("vault", Options{Dir: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "keyring or file") {
		t.Fatalf("err = %v", err)
	}
}

// TestKeyringRoundTrip needs a live Secret Service: `make test` runs it under
// dbus-run-session with gnome-keyring and AUTHDEV_REQUIRE_KEYRING=1.
func TestKeyringRoundTrip(t *testing.T) {
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") == "" {
		if os.Getenv("AUTHDEV_REQUIRE_KEYRING") != "" {
			t.Fatal("AUTHDEV_REQUIRE_KEYRING is set but there is no D-Bus session")
		}
		t.Skip("no D-Bus session; `make keyring` (part of make test) runs this against gnome-keyring")
	}
	files := t.TempDir()
	s, err := Open(BackendKeyring, Options{Dir: files, Service: "authdev-test"})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.(*KeyringStore); !ok {
		t.Fatalf("got %s, want the keyring", s.Describe())
	}
	roundTrip(t, s)
	// A large value is sealed: its file must not hold the plain text.
	large := bytes.Repeat([]byte("SECRET"), 1000)
	if err := s.Set("test/sealed", large); err != nil {
		t.Fatal(err)
	}
	defer s.Delete("test/sealed")
	raw, err := NewFile(files).Get(sealedName("test/sealed"))
	if err != nil {
		t.Fatalf("sealed file missing: %v", err)
	}
	if bytes.Contains(raw, []byte("SECRET")) {
		t.Fatal("sealed file holds the value in the clear")
	}
	raw[len(raw)-1] ^= 1
	if err := NewFile(files).Set(sealedName("test/sealed"), raw); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get("test/sealed"); err == nil || !strings.Contains(err.Error(), "tampered") {
		t.Fatalf("tampered sealed value: err = %v, want an authentication failure", err)
	}
}

func countProcesses(t *testing.T, names ...string) int {
	t.Helper()
	n := 0
	for _, name := range names {
		out, _ := exec.Command("pgrep", "-x", name).Output()
		n += len(strings.Fields(string(out)))
	}
	return n
}
