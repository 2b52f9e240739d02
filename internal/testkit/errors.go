package testkit

import (
	"strings"
	"testing"
)

// WantErr checks err against want, a part of the message a table case
// expects ("" when it expects success), and fails the test when they
// disagree. It reports whether the case expected an error: then there is
// nothing more to check.
func WantErr(t testing.TB, err error, want string) bool {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Fatal(err)
		}
		return false
	}
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want %q", err, want)
	}
	return true
}
