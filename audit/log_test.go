package audit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// reference is the log line as encoding/json writes it.
func reference(t testing.TB, e Event) string {
	e.Claims, e.HeadersInjected, e.Assertion, e.Trace = nil, nil, nil, nil
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(e); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func everyFieldEvent(s string) Event {
	return Event{
		Time: time.Date(2026, 11, 27, 9, 1, 2, 345678900, time.FixedZone("CET", 3600)), Kind: Kind(s),
		Persona: s, User: s, Env: s, Method: s, Path: s, Upstream: s, Target: s, Status: 403,
		Latency: 1234567 * time.Nanosecond, Decision: Decision(s), Policy: s, Via: s, ClientIP: s, RequestID: s, Message: s, Level: s,
		HeadersStripped: []string{s, "X-Remote-User"},
		Claims:          map[string]any{"a": 1}, HeadersInjected: map[string]string{"b": "c"},
		Assertion: map[string]any{"d": 2}, Trace: []PolicyResult{{Name: "p"}},
		Messages: []PolicyMessage{{Policy: s, Level: "INFORMATIONAL", Text: s}, {Policy: "p2", Level: s, Text: ""}},
	}
}

func TestLogLineMatchesEncodingJSON(t *testing.T) {
	strs := []string{"", "alice", `quote " backslash \ slash /`, "<script>&amp;</script>", "tab\tnl\ncr\rbs\bff\f",
		"\x00\x01\x1f\x7f", "héllo ✓ 日本", "bad \xff\xfe utf8 \xe2\x82", "line\u2028para\u2029", "emoji 🙂"}
	for _, s := range strs {
		e := everyFieldEvent(s)
		if got, want := string(appendLogLine(nil, &e)), reference(t, e); got != want {
			t.Errorf("field text %q:\n got %s\nwant %s", s, got, want)
		}
	}
	var zero Event // every omitempty field empty, the zero time
	if got, want := string(appendLogLine(nil, &zero)), reference(t, zero); got != want {
		t.Errorf("zero event:\n got %s\nwant %s", got, want)
	}
	negative := Event{Kind: KindRequest, Status: -1, Latency: -5}
	if got, want := string(appendLogLine(nil, &negative)), reference(t, negative); got != want {
		t.Errorf("negative numbers:\n got %s\nwant %s", got, want)
	}
}

func FuzzLogLine(f *testing.F) {
	f.Add("alice", "/a?b=<c>", 200)
	f.Add("\xff\u2028\"", "\x00", -3)
	f.Fuzz(func(t *testing.T, a, b string, n int) {
		e := everyFieldEvent(a)
		e.Path, e.Message, e.Status = b, b, n
		if got, want := string(appendLogLine(nil, &e)), reference(t, e); got != want {
			t.Fatalf("\n got %s\nwant %s", got, want)
		}
	})
}

func TestLogUnderConcurrencyWritesEveryLineOnceAndWholeInFewerWrites(t *testing.T) {
	t.Parallel()
	// Each write takes long enough for concurrent callers to pile up.
	w := &countingWriter{delay: 200 * time.Microsecond}
	l := NewLog(w)
	const writers, each = 8, 200
	var wg sync.WaitGroup
	for g := range writers {
		wg.Go(func() {
			for i := range each {
				if err := l.Write(Event{Kind: KindRequest, Path: fmt.Sprintf("/%d/%d", g, i), Status: 200}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	text, writes := w.state()
	seen := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		var e Event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("a line that is not whole JSON: %q: %v", sc.Text(), err)
		}
		if seen[e.Path] {
			t.Fatalf("%s written twice", e.Path)
		}
		seen[e.Path] = true
	}
	if len(seen) != writers*each {
		t.Fatalf("%d lines written, want %d", len(seen), writers*each)
	}
	if writes >= writers*each {
		t.Fatalf("%d writes for %d lines: concurrent lines were not batched", writes, writers*each)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestLogReportsTheWriteError(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	l := newLog(failingWriter{}, clk)
	if err := l.Write(Event{Kind: KindNotice}); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("err = %v, want the writer's error", err)
	}
	// The next line waits for its batch; Flush tries it, and says so.
	if err := l.Write(Event{Kind: KindNotice}); err != nil {
		t.Fatalf("a line in a batch window: %v", err)
	}
	if err := l.Flush(); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("Flush: %v, want the writer's error", err)
	}
	// A failed write of the window's timer is reported by the next Flush
	// (or by the Write itself, had it come after a quiet spell).
	werr := l.Write(Event{Kind: KindNotice})
	clk.Advance(BatchWindow)
	if err := l.Flush(); err == nil && werr == nil {
		t.Fatal("the timer's failed write went unreported")
	}
}

// countingWriter records what it is given and counts its writes, each
// taking delay.
type countingWriter struct {
	delay  time.Duration
	mu     sync.Mutex
	buf    bytes.Buffer
	writes int
}

func (w *countingWriter) Write(p []byte) (int, error) {
	time.Sleep(w.delay)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writes++
	return w.buf.Write(p)
}

func (w *countingWriter) state() (string, int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String(), w.writes
}

func TestALineAfterAQuietSpellIsWrittenAtOnce(t *testing.T) {
	t.Parallel()
	w := &countingWriter{}
	clk := newFakeClock()
	l := newLog(w, clk)
	l.Write(Event{Kind: KindNotice, Message: "first"})
	if text, _ := w.state(); !strings.Contains(text, "first") {
		t.Fatal("the first line waited")
	}
	clk.Advance(BatchWindow)
	l.Write(Event{Kind: KindNotice, Message: "after a pause"})
	if text, n := w.state(); !strings.Contains(text, "after a pause") || n != 2 {
		t.Fatalf("a line after a quiet spell waited (%d writes): %q", n, text)
	}
}

func TestABurstIsWrittenTogetherWithinTheWindow(t *testing.T) {
	t.Parallel()
	w := &countingWriter{}
	clk := newFakeClock()
	l := newLog(w, clk)
	defer l.Close()
	for i := range 100 {
		l.Write(Event{Kind: KindRequest, Status: 200 + i})
	}
	if text, n := w.state(); strings.Count(text, "\n") != 1 || n != 1 {
		t.Fatalf("before the window ended: %d lines in %d writes, want the first line alone", strings.Count(text, "\n"), n)
	}
	clk.Advance(BatchWindow - time.Nanosecond)
	if _, n := w.state(); n != 1 {
		t.Fatalf("%d writes before the window ended", n)
	}
	clk.Advance(time.Nanosecond)
	// The first line alone, the other 99 when the window ended.
	if text, n := w.state(); strings.Count(text, "\n") != 100 || n != 2 {
		t.Fatalf("%d lines in %d writes, want 100 in 2", strings.Count(text, "\n"), n)
	}
}

// fakeClock is a clock that moves only when told; its timers fire inside
// Advance.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	due     time.Time
	f       func()
	stopped bool
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) func() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{due: c.now.Add(d), f: f}
	c.timers = append(c.timers, t)
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		was := !t.stopped
		t.stopped = true
		return was
	}
}

// Advance moves the clock by d and runs the timers that came due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	var due []func()
	for _, t := range c.timers {
		if !t.stopped && !t.due.After(c.now) {
			t.stopped = true
			due = append(due, t.f)
		}
	}
	c.mu.Unlock()
	for _, f := range due {
		f()
	}
}

func TestFlushAndCloseWriteWhatWaits(t *testing.T) {
	t.Parallel()
	w := &countingWriter{}
	l := newLog(w, newFakeClock())
	l.Write(Event{Kind: KindNotice, Message: "one"})
	l.Write(Event{Kind: KindNotice, Message: "two"})
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	if text, _ := w.state(); !strings.Contains(text, "two") {
		t.Fatal("Flush left a line behind")
	}
	l.Write(Event{Kind: KindNotice, Message: "three"})
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if text, _ := w.state(); !strings.Contains(text, "three") {
		t.Fatal("Close left a line behind")
	}
}

func BenchmarkLogWrite(b *testing.B) { benchLog(b, discard{}) }

// BenchmarkLogWriteFile is one request's line at a time into a file, as
// `authdev proxy` writes stderr under a single client: batching makes it a
// write system call per window instead of per line.
func BenchmarkLogWriteFile(b *testing.B) {
	f, err := os.Create(filepath.Join(b.TempDir(), "audit.log"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	benchLog(b, f)
}

func benchLog(b *testing.B, w io.Writer) {
	l := NewLog(w)
	defer l.Close()
	e := Event{Time: time.Now(), Kind: KindRequest, Persona: "alice", User: "alice@example.com", Env: "dev",
		Method: "GET", Path: "/reports/q3", Upstream: "api", Target: "http://127.0.0.1:8000", Status: 200,
		Latency: 312 * time.Microsecond, Decision: "allow", Via: "session", ClientIP: "127.0.0.1"}
	b.ReportAllocs()
	for b.Loop() {
		_ = l.Write(e)
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
