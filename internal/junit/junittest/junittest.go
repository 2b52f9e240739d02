// Package junittest checks JUnit reports in tests against the schema CI
// systems validate them with (testdata/junit-10.xsd of package junit).
package junittest

import (
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/authdev/authdev/internal/junit"
)

// Schema is the path of the JUnit XSD kept with package junit.
func Schema(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("junittest: cannot locate the schema")
	}
	return filepath.Join(filepath.Dir(file), "..", "testdata", "junit-10.xsd")
}

// Validate fails t unless report is valid against the schema, checked by
// xmllint (Debian: libxml2-utils, which .ci/run installs).
func Validate(t testing.TB, report []byte) {
	t.Helper()
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		t.Fatal("xmllint is not installed: apt-get install libxml2-utils (.ci/run does)")
	}
	f := filepath.Join(t.TempDir(), "report.xml")
	if err := os.WriteFile(f, report, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(xmllint, "--noout", "--schema", Schema(t), f).CombinedOutput()
	if err != nil {
		t.Fatalf("the JUnit report is not valid against %s: %v\n%s\nreport:\n%s", Schema(t), err, out, report)
	}
}

// Decode reads a JUnit report as CI systems do, failing t when it is not
// well-formed.
func Decode(t testing.TB, report []byte) junit.Suites {
	t.Helper()
	var s junit.Suites
	if err := xml.Unmarshal(report, &s); err != nil {
		t.Fatalf("the JUnit report is not well-formed XML: %v\n%s", err, report)
	}
	return s
}

// ReadFile is Decode of the report at path.
func ReadFile(t testing.TB, path string) junit.Suites {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("no JUnit report: %v", err)
	}
	return Decode(t, b)
}
