package cfgwatch

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/authdev/authdev/audit"
	"github.com/authdev/authdev/config"
	"github.com/authdev/authdev/internal/testkit"
)

// base is testkit.RolesYAML with a second policy.
var base = strings.Replace(testkit.RolesYAML, "BACKEND", "http://127.0.0.1:8000", 1) + `    - name: no-eve
      rule: AAA.USER.NAME.EQ("eve@example.com")
      action: DENY
`

func TestDiffSaysWhatChanged(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		edit func(string) string
		want string
	}{
		{"a comment changes nothing", func(s string) string { return "# hello\n" + s }, ""},
		{"a persona added", func(s string) string {
			return strings.Replace(s, "environments:", "  dave: {email: dave@example.com}\nenvironments:", 1)
		}, "personas +dave"},
		{"a persona removed", func(s string) string {
			return strings.Replace(s, "  bob: {email: bob@example.com, groups: [eng]}\n", "", 1)
		}, "personas -bob"},
		{"a persona's groups changed", func(s string) string { return strings.Replace(s, "groups: [eng]}", "groups: [eng-admins]}", 1) },
			"personas ~bob"},
		{"a role mapping changed", func(s string) string { return strings.Replace(s, "eng: [reader]", "eng: [writer]", 1) },
			"environments ~dev"},
		{"a policy rule changed", func(s string) string { return strings.Replace(s, `"/admin"`, `"/root"`, 1) },
			"policies ~admin-area"},
		{"policies swapped", func(s string) string {
			i := strings.Index(s, "    - name: admin-area")
			j := strings.Index(s, "    - name: no-eve")
			return s[:i] + s[j:] + s[i:j]
		}, "policies reordered"},
		{"the default action changed", func(s string) string {
			return strings.Replace(s, "  tls: false\n", "  tls: false\n  default_authorization: DENY\n", 1)
		}, "proxy.default_authorization"},
		{"several things", func(s string) string {
			s = strings.Replace(s, "eng: [reader]", "eng: [writer]", 1)
			return strings.Replace(s, "8000", "8001", 1)
		}, "environments ~dev; upstreams ~api"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Diff(testkit.Config(t, base), testkit.Config(t, tt.edit(base))); got != tt.want {
				t.Errorf("Diff = %q, want %q", got, tt.want)
			}
		})
	}
}

// fixture is a config file, a watcher on it and what it reported.
type fixture struct {
	t        *testing.T
	path     string
	w        *Watcher
	notices  []audit.Event
	applied  []*config.Config
	applyErr error
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{t: t, path: filepath.Join(t.TempDir(), "authdev.yaml")}
	f.write(base)
	cur, err := testkit.LoadFile(f.path)
	if err != nil {
		t.Fatal(err)
	}
	f.w, err = New(cur, Options{Path: f.path, Load: testkit.LoadFile,
		Apply:  func(c *config.Config) error { f.applied = append(f.applied, c); return f.applyErr },
		Notify: func(e audit.Event) { f.notices = append(f.notices, e) },
		Now:    func() time.Time { return time.Date(2025, 5, 1, 12, 0, 0, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) write(s string) {
	f.t.Helper()
	if err := os.WriteFile(f.path, []byte(s), 0o600); err != nil {
		f.t.Fatal(err)
	}
}

// edit replaces old with new in the base config, writes it and polls once.
func (f *fixture) edit(old, new string) {
	f.t.Helper()
	f.write(strings.Replace(base, old, new, 1))
	f.w.Poll()
}

func (f *fixture) last() audit.Event {
	f.t.Helper()
	if len(f.notices) == 0 {
		f.t.Fatal("no notice")
	}
	return f.notices[len(f.notices)-1]
}

func TestPollReloadsAChangedFileAndSaysWhatChanged(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.w.Poll()
	if len(f.notices) != 0 || len(f.applied) != 0 {
		t.Fatalf("an unchanged file should be left alone, got %v", f.notices)
	}
	f.edit("environments:", "  dave: {email: dave@example.com}\nenvironments:")
	if n := f.last(); n.Kind != audit.KindNotice || n.Level != "info" || n.Message != "config reloaded: personas +dave" {
		t.Errorf("notice = %+v", n)
	}
	if len(f.applied) != 1 || len(f.applied[0].Personas) != 3 {
		t.Fatalf("the new config was not applied: %d applications", len(f.applied))
	}
	f.w.Poll()
	if len(f.applied) != 1 {
		t.Error("the same content should not be applied twice")
	}
}

func TestABrokenFileKeepsTheRunningConfigAndSaysWhereOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.edit("roles:", "rols:")
	f.w.Poll()
	if len(f.applied) != 0 {
		t.Fatal("a broken file must not be applied")
	}
	if len(f.notices) != 1 {
		t.Fatalf("the error should be reported once, got %d notices", len(f.notices))
	}
	n := f.last()
	want := regexp.MustCompile(`^config reload failed, the running config stays: .*authdev\.yaml:5:\d+: .*rols`)
	if n.Level != "error" || !want.MatchString(n.Message) || strings.Contains(n.Message, "\n") {
		t.Errorf("notice = %q (level %s), want one line with file:line", n.Message, n.Level)
	}

	f.edit("eng: [reader]", "eng: [writer]")
	if n := f.last(); n.Level != "info" || n.Message != "config reloaded: environments ~dev" {
		t.Errorf("after the fix: %q, want the change against the config that ran", n.Message)
	}
}

func TestAnApplyErrorKeepsTheRunningConfig(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.applyErr = errors.New(`policy "admin-area": unknown function FOO`)
	f.edit("eng: [reader]", "eng: [writer]")
	if n := f.last(); n.Level != "error" || !strings.Contains(n.Message, `could not be applied, the running config stays: policy "admin-area"`) {
		t.Errorf("notice = %q", n.Message)
	}
	f.applyErr = nil
	f.edit("eng: [reader]", "eng: [writer, reader]")
	if n := f.last(); n.Message != "config reloaded: environments ~dev" {
		t.Errorf("notice = %q: the diff should be against the config still running", n.Message)
	}
}

func TestAMissingFileIsReportedOnceAndItsReturnReloads(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	if err := os.Remove(f.path); err != nil {
		t.Fatal(err)
	}
	f.w.Poll()
	f.w.Poll()
	if len(f.notices) != 1 || f.last().Level != "warn" || !strings.Contains(f.last().Message, "the running config stays") {
		t.Fatalf("notices = %+v", f.notices)
	}
	f.edit("eng: [reader]", "eng: [writer]")
	if n := f.last(); n.Message != "config reloaded: environments ~dev" {
		t.Errorf("notice = %q", n.Message)
	}
}

func TestRunPollsUntilCancelled(t *testing.T) {
	t.Parallel()
	path := filepath.Join(testkit.WriteFiles(t, t.TempDir(), map[string]string{"authdev.yaml": base}), "authdev.yaml")
	cur, err := testkit.LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan audit.Event, 4)
	w, err := New(cur, Options{Path: path, Load: testkit.LoadFile, Interval: 5 * time.Millisecond,
		Apply: func(*config.Config) error { return nil }, Notify: func(e audit.Event) { got <- e }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	if err := os.WriteFile(path, []byte("# edited\n"+base), 0o600); err != nil {
		t.Fatal(err)
	}
	select {
	case e := <-got:
		if e.Message != "config reloaded: nothing that matters changed" {
			t.Errorf("notice = %q", e.Message)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run never noticed the edit")
	}
	cancel()
	<-done
}

func TestNewRequiresItsDependencies(t *testing.T) {
	t.Parallel()
	if _, err := New(nil, Options{Path: "authdev.yaml"}); err == nil {
		t.Error("New without Load, Apply and Notify should fail")
	}
}

func TestAFileStillBeingWrittenIsNotLoaded(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := dir + "/authdev.yaml"
	if err := os.WriteFile(path, []byte("personas: {alice: {}}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	current, err := config.Load(path, config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var loads int
	var notices []string
	w, err := New(current, Options{
		Path:   path,
		Load:   func(p string) (*config.Config, error) { loads++; return config.Load(p, config.Options{}) },
		Apply:  func(*config.Config) error { return nil },
		Notify: func(e audit.Event) { notices = append(notices, e.Message) },
		Settle: 100 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	// A writer that truncates, then writes the new content while the
	// watcher settles: the empty file in between must not be loaded.
	os.WriteFile(path, nil, 0o644)
	done := make(chan struct{})
	go func() {
		time.Sleep(20 * time.Millisecond)
		os.WriteFile(path, []byte("personas: {bob: {}}\n"), 0o644)
		close(done)
	}()
	w.Poll()
	<-done
	if loads != 0 || len(notices) != 0 {
		t.Fatalf("the half-written file was loaded: %d loads, notices %q", loads, notices)
	}
	w.Poll()
	if loads != 1 || len(notices) != 1 || !strings.Contains(notices[0], "config reloaded") {
		t.Fatalf("the finished file: %d loads, notices %q", loads, notices)
	}
}
