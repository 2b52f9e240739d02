package audit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
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
		Latency: 1234567 * time.Nanosecond, Decision: s, Policy: s, Via: s, ClientIP: s, RequestID: s, Message: s, Level: s,
		HeadersStripped: []string{s, "X-Remote-User"},
		Claims:          map[string]any{"a": 1}, HeadersInjected: map[string]string{"b": "c"},
		Assertion: map[string]any{"d": 2}, Trace: []PolicyResult{{Name: "p"}},
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

// slowWriter records each Write call, taking long enough that concurrent
// callers pile up behind it.
type slowWriter struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	writes int
}

func (w *slowWriter) Write(p []byte) (int, error) {
	time.Sleep(200 * time.Microsecond)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writes++
	return w.buf.Write(p)
}

func TestLogUnderConcurrencyWritesEveryLineOnceAndWholeInFewerWrites(t *testing.T) {
	w := &slowWriter{}
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
	// Every Write has returned: every line must be in w already.
	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(w.buf.Bytes()))
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
	if w.writes >= writers*each {
		t.Fatalf("%d writes for %d lines: concurrent lines were not batched", w.writes, writers*each)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestLogReportsTheWriteError(t *testing.T) {
	l := NewLog(failingWriter{})
	if err := l.Write(Event{Kind: KindNotice}); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("err = %v, want the writer's error", err)
	}
	// The log keeps going: the next line is tried again, not wedged.
	if err := l.Write(Event{Kind: KindNotice}); err == nil {
		t.Fatal("second write: no error from a failing writer")
	}
}

func BenchmarkLogWrite(b *testing.B) {
	l := NewLog(discard{})
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
