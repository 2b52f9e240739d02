package testkit

import (
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestEventuallyReportsWhetherTheConditionHeldInTime(t *testing.T) {
	t.Parallel()
	calls := 0
	if !Eventually(time.Second, func() bool { calls++; return calls == 3 }) || calls != 3 {
		t.Errorf("a condition that holds on the third poll: %d polls", calls)
	}
	start := time.Now()
	if Eventually(30*time.Millisecond, func() bool { return false }) {
		t.Error("a condition that never holds was reported as held")
	}
	if waited := time.Since(start); waited < 30*time.Millisecond {
		t.Errorf("gave up after %s, before the timeout", waited)
	}
}

func TestBufferTakesWritesFromManyGoroutines(t *testing.T) {
	t.Parallel()
	var b Buffer
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() { b.Write([]byte("x")) })
	}
	wg.Wait()
	if b.String() != "xxxxxxxx" {
		t.Errorf("buffer %q", b.String())
	}
}

func TestWriteFilesMakesTheFolders(t *testing.T) {
	t.Parallel()
	dir := WriteFiles(t, t.TempDir(), map[string]string{"a/b/authdev.yaml": strings.Replace(RolesYAML, "BACKEND", "http://127.0.0.1:8000", 1)})
	cfg, err := LoadFile(filepath.Join(dir, "a", "b", "authdev.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Personas) != 2 || len(cfg.Proxy.Policies) != 1 {
		t.Errorf("RolesYAML loaded as %d personas and %d policies", len(cfg.Personas), len(cfg.Proxy.Policies))
	}
}
