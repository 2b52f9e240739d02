package audit

import (
	"bytes"
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestBrokerDeliversToEverySubscriberAndDropsForTheSlowOnes(t *testing.T) {
	b := NewBroker()
	fast, cancelFast := b.Subscribe(8)
	slow, cancelSlow := b.Subscribe(1)
	defer cancelFast()
	defer cancelSlow()
	for i := range 3 {
		b.Publish(Event{Kind: KindRequest, Status: 200 + i})
	}
	for i := range 3 {
		if e := <-fast; e.Status != 200+i {
			t.Fatalf("fast subscriber got status %d, want %d", e.Status, 200+i)
		}
	}
	if e := <-slow; e.Status != 200 {
		t.Fatalf("slow subscriber's first event = %d", e.Status)
	}
	select {
	case e := <-slow:
		t.Fatalf("a full subscriber should lose events instead of blocking, but got %+v", e)
	default:
	}
}

func TestCancelClosesTheChannelOnceAndStopsDelivery(t *testing.T) {
	b := NewBroker()
	ch, cancel := b.Subscribe(4)
	cancel()
	cancel() // a second cancel must not panic on a closed channel
	if _, open := <-ch; open {
		t.Fatal("channel still open after cancel")
	}
	b.Publish(Event{Kind: KindNotice}) // must not panic: nobody listens
}

func TestLogWritesOneLineWithoutTheDetail(t *testing.T) {
	var buf bytes.Buffer
	l := NewLog(&buf)
	e := Event{
		Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Kind: KindRequest, Persona: "alice", Env: "dev",
		Method: "GET", Path: "/admin", Status: 403, Decision: "deny", Policy: "admin-area",
		Claims:          map[string]any{"email": "alice@example.com"},
		HeadersInjected: map[string]string{"X-Authdev-Assertion": "eyJhbGciOi.secret.sig"},
		Assertion:       map[string]any{"sub": "x"},
		Trace:           []PolicyResult{{Name: "admin-area", Matched: true}},
	}
	if err := l.Write(e); err != nil {
		t.Fatal(err)
	}
	line := buf.String()
	if strings.Count(line, "\n") != 1 {
		t.Fatalf("want exactly one line, got %q", line)
	}
	if strings.Contains(line, "eyJ") || strings.Contains(line, "claims") || strings.Contains(line, "trace") {
		t.Fatalf("the log line carries detail it must not: %s", line)
	}
	var got map[string]any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got["policy"] != "admin-area" || got["status"] != float64(403) || got["persona"] != "alice" {
		t.Fatalf("line = %v", got)
	}
	if e.Claims == nil || e.Trace == nil {
		t.Fatal("Write changed the caller's event")
	}
}

// The decisions the log writes are the ones docs/ARCHITECTURE.md tells
// readers of the audit trail to expect.
func TestTheDecisionsAreTheDocumentedOnes(t *testing.T) {
	doc, err := os.ReadFile("../docs/ARCHITECTURE.md")
	if err != nil {
		t.Fatal(err)
	}
	_, para, ok := strings.Cut(string(doc), "Decisions in the audit trail")
	para, _, _ = strings.Cut(para, "\n\n")
	if !ok {
		t.Fatal("docs/ARCHITECTURE.md no longer lists the decisions")
	}
	var documented []string
	for _, m := range regexp.MustCompile("`([a-z]+)` \\(").FindAllStringSubmatch(para, -1) {
		documented = append(documented, m[1])
	}
	var ours []string
	for _, d := range []Decision{DecisionAllow, DecisionDeny, DecisionRespond} {
		ours = append(ours, string(d))
	}
	if !slices.Equal(documented, ours) {
		t.Errorf("documented decisions %q, audit's constants %q", documented, ours)
	}
}
