package tui

import (
	"slices"
	"strings"
	"testing"
)

func TestXRunsTheFailureDrillsInTurn(t *testing.T) {
	f := newFakeStack()
	m := newTestModel(t, f, 80, 24)
	drive(t, m, keys("x x")...)
	if !slices.Equal(f.drilled, DrillSequence[:2]) {
		t.Errorf("drilled %v, want %v", f.drilled, DrillSequence[:2])
	}
	if s := statusOf(m); !strings.Contains(s, "drill rotate-keys: done rotate-keys") {
		t.Errorf("status = %q", s)
	}
	drive(t, m, keys("x x x")...)
	if want := append(slices.Clone(DrillSequence), DrillSequence[0]); !slices.Equal(f.drilled, want) {
		t.Errorf("drilled %v, want %v: the sequence starts over", f.drilled, want)
	}
	f.failWith = errBoom
	drive(t, m, keys("x")...)
	if s := statusOf(m); !strings.Contains(s, "drill rotate-keys: the keyring is locked") {
		t.Errorf("a failed drill: status = %q", s)
	}
}

func TestTheHeaderShowsRouteCoverage(t *testing.T) {
	lines := NewStyles(false).headerLines(Info{ProxyURL: "https://127.0.0.1:8443", Coverage: "coverage: routes covered by checks 3/5 dev"},
		[]string{"dev"}, "dev", 120)
	if !strings.Contains(strings.Join(lines, "\n"), "coverage: routes covered by checks 3/5 dev") {
		t.Errorf("header:\n%s", strings.Join(lines, "\n"))
	}
}
