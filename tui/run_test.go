package tui

import (
	"context"
	"encoding/base64"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/authdev/authdev/internal/testkit"
)

// session is Run on a pipe for keys and a buffer for the screen.
type session struct {
	t     *testing.T
	keys  *os.File
	out   *testkit.Buffer // the terminal's screen
	done  chan error
	stack *fakeStack
}

func startSession(t *testing.T, ctx context.Context, environ []string) *session {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	s := &session{t: t, keys: w, out: &testkit.Buffer{}, done: make(chan error, 1), stack: newFakeStack()}
	t.Cleanup(func() {
		r.Close()
		w.Close()
		if t.Failed() {
			t.Logf("screen so far:\n%q", s.out.String())
		}
	})
	go func() {
		s.done <- Run(ctx, s.stack, Options{Input: r, Output: s.out, Environ: environ, Width: 80, Height: 24,
			OpenURL: func(string) error { return nil }})
	}()
	return s
}

func (s *session) send(keys string) {
	s.t.Helper()
	if _, err := s.keys.WriteString(keys); err != nil {
		s.t.Fatal(err)
	}
}

func (s *session) wait() error {
	s.t.Helper()
	select {
	case err := <-s.done:
		return err
	case <-time.After(10 * time.Second):
		s.t.Fatal("Run did not return")
		return nil
	}
}

func TestRunSwitchesPersonaAndQuitsRestoringTheTerminal(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	s := startSession(t, context.Background(), []string{"TERM=xterm-256color"})
	testkit.WaitFor(t, "the persona pane", func() bool { return strings.Contains(s.out.String(), "Eve Contractor") })
	s.send("j\r")
	testkit.WaitFor(t, "bob's activation", func() bool {
		s.stack.mu.Lock()
		defer s.stack.mu.Unlock()
		return len(s.stack.activated) == 1 && s.stack.activated[0] == "bob"
	})
	s.send("q")
	if err := s.wait(); err != nil {
		t.Fatalf("Run = %v, want nil after q", err)
	}
	out := s.out.String()
	if !strings.Contains(out, "\x1b[?1049h") || !strings.Contains(out, "\x1b[?1049l") {
		t.Error("the TUI should enter the alternate screen and leave it on quit")
	}
	if strings.LastIndex(out, "\x1b[?25h") < strings.LastIndex(out, "\x1b[?25l") {
		t.Error("the cursor should be visible again after quit")
	}
	if s.stack.subscribed != 1 {
		t.Errorf("subscribed %d times, want once", s.stack.subscribed)
	}
}

func TestRunCopiesTheTokenWithOSC52(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	s := startSession(t, context.Background(), []string{"TERM=xterm-256color"})
	testkit.WaitFor(t, "the persona pane", func() bool { return strings.Contains(s.out.String(), "Eve Contractor") })
	s.send("t")
	testkit.WaitFor(t, "the token", func() bool { return strings.Contains(s.out.String(), "dev-1") })
	s.send("c")
	tok, _ := signedToken("alice", "dev")
	osc52 := "\x1b]52;c;" + base64.StdEncoding.EncodeToString([]byte(tok))
	testkit.WaitFor(t, "the OSC 52 sequence", func() bool { return strings.Contains(s.out.String(), osc52) })
	s.send("q")
	if err := s.wait(); err != nil {
		t.Fatalf("Run = %v", err)
	}
}

func TestRunHonoursNoColor(t *testing.T) {
	colour := regexp.MustCompile(`\x1b\[[0-9;]*(3[0-9]|9[0-7]|38;5;[0-9]+)m`)
	tests := []struct {
		name    string
		environ []string
		colours bool
	}{
		{"a colour terminal gets colours", []string{"TERM=xterm-256color", "TTY_FORCE=1"}, true},
		{"NO_COLOR gets none", []string{"TERM=xterm-256color", "TTY_FORCE=1", "NO_COLOR=1"}, false},
	}
	// TTY_FORCE makes colorprofile treat the buffer as the terminal it
	// stands for; NO_COLOR only applies to terminals.
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			s := startSession(t, context.Background(), tt.environ)
			testkit.WaitFor(t, "the persona pane", func() bool { return strings.Contains(s.out.String(), "Eve Contractor") })
			s.send("q")
			if err := s.wait(); err != nil {
				t.Fatal(err)
			}
			if got := colour.MatchString(s.out.String()); got != tt.colours {
				t.Errorf("colours on screen = %v, want %v", got, tt.colours)
			}
			if !strings.Contains(s.out.String(), "● alice") {
				t.Error("the active persona must be marked without colour too")
			}
		})
	}
}

func TestRunReturnsWhenTheCallerCancels(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	ctx, cancel := context.WithCancel(context.Background())
	s := startSession(t, ctx, []string{"TERM=xterm-256color"})
	testkit.WaitFor(t, "the persona pane", func() bool { return strings.Contains(s.out.String(), "Eve Contractor") })
	cancel()
	if err := s.wait(); err != nil {
		t.Fatalf("Run = %v, want nil when the caller cancels", err)
	}
	if !strings.Contains(s.out.String(), "\x1b[?1049l") {
		t.Error("the terminal should be restored when the caller cancels")
	}
}
