package devproxy

import (
	"net/http"
	"slices"
	"testing"

	"github.com/authdev/authdev/adc"
)

func TestHeaderSetMatchesWithoutCaseOrSeparator(t *testing.T) {
	s := newHeaderSet("X-Remote-User", "x_custom_header")
	for _, tt := range []struct {
		name string
		want bool
	}{
		{"X-Remote-User", true}, {"x-remote-user", true}, {"X_REMOTE_USER", true}, {"x-Remote_user", true},
		{"X-Custom-Header", true}, {"X-Remote-Users", false}, {"X-Remote", false}, {"", false},
	} {
		if got := s.has(tt.name); got != tt.want {
			t.Errorf("has(%q) = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestDropOwnedCookiesKeepsTheOthers(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   []string
		want []string
	}{
		{"only the session", []string{"NSC_TMAS=abc"}, nil},
		{"session among others", []string{"a=1; NSC_TMAS=abc; b=2"}, []string{"a=1; b=2"}},
		{"login state cookies", []string{"NSC_TASS_0123456789ab=x; c=3"}, []string{"c=3"}},
		{"another case", []string{"nsc_tmas=abc; d=4"}, []string{"d=4"}},
		{"several headers", []string{"e=5", "NSC_TMAS=abc"}, []string{"e=5"}},
		{"nothing owned", []string{"f=6; NSC_OTHER=7"}, []string{"f=6; NSC_OTHER=7"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{"Cookie": slices.Clone(tt.in)}
			dropOwnedCookies(h)
			if !slices.Equal(h["Cookie"], tt.want) {
				t.Fatalf("Cookie %q, want %q", h["Cookie"], tt.want)
			}
		})
	}
}

func TestApplyHeaderOpsInsertsAndDeletesLikeTheADC(t *testing.T) {
	h := http.Header{"X_Legacy": {"1"}, "X-Keep": {"k"}}
	applyHeaderOps(h, []adc.HeaderOp{
		{Op: "insert", Name: "x-remote-user", Value: "alice\r\nX-Evil: 1"},
		{Op: "delete", Name: "X-Legacy"},
	})
	if got := h["X-Remote-User"]; len(got) != 1 || got[0] != "alice  X-Evil: 1" {
		t.Errorf("inserted %q: control characters must become spaces", got)
	}
	if _, ok := h["X_Legacy"]; ok {
		t.Error("delete missed the underscore spelling")
	}
	if h.Get("X-Keep") != "k" {
		t.Error("delete removed another header")
	}
}

func TestSafeReturnKeepsOnlyLocalPaths(t *testing.T) {
	for in, want := range map[string]string{
		"/a?b=1": "/a?b=1", "": "/", "a": "/", "//evil": "/", `/\evil`: "/", "https://evil/": "/",
		"/\r\nSet-Cookie:x": "/", "/oauth/login?code=1": "/", "/cgi/tmlogout": "/",
	} {
		if got := safeReturn(in); got != want {
			t.Errorf("safeReturn(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCookieValueFindsTheExactName(t *testing.T) {
	r := &http.Request{Header: http.Header{"Cookie": {"NSC_TMASX=1; NSC_TMAS=two; a=b", "NSC_TMAS=three"}}}
	if got := cookieValue(r, "NSC_TMAS"); got != "two" {
		t.Fatalf("cookieValue = %q", got)
	}
}
