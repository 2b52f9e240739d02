package junit_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/authdev/authdev/internal/junit"
	"github.com/authdev/authdev/internal/junit/junittest"
)

func TestWriteSumsSuitesAndIsValidJUnit(t *testing.T) {
	s := junit.Suite{Name: "verify-backend"}
	s.Add(junit.Case{Name: "genuine", ClassName: "authdev.backend", Time: junit.Seconds(3 * time.Millisecond)})
	s.Add(junit.Case{Name: "alg-none", ClassName: "authdev.backend", File: "authdev.yaml", Line: 3,
		Failure: &junit.Problem{Message: "accepted", Type: "forgery-accepted", Text: "200 <&> \"x\""}})
	s.Add(junit.Case{Name: "expired", ClassName: "authdev.backend", Error: &junit.Problem{Message: "down", Type: "error"}})
	var buf bytes.Buffer
	if err := junit.Write(&buf, junit.Suites{Name: "authdev", Suites: []junit.Suite{s}}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `<testsuites name="authdev" tests="3" failures="1" errors="1"`) {
		t.Errorf("totals not summed:\n%s", buf.String())
	}
	junittest.Validate(t, buf.Bytes())
}

func TestValidateRefusesWhatTheSchemaRefuses(t *testing.T) {
	ft := &fakeT{TB: t}
	func() {
		defer func() { recover() }()
		junittest.Validate(ft, []byte(`<?xml version="1.0"?><testsuites><testsuite name="x"><testcase/></testsuite></testsuites>`))
	}()
	if !ft.failed {
		t.Fatal("a suite without tests= and a case without name= passed validation")
	}
}

// fakeT records a fatal failure instead of ending the test.
type fakeT struct {
	testing.TB
	failed bool
}

func (f *fakeT) Fatalf(string, ...any) { f.failed = true; panic("fatal") }
func (f *fakeT) Fatal(...any)          { f.failed = true; panic("fatal") }
func (f *fakeT) Helper()               {}
