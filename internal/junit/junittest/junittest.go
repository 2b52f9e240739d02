// Package junittest checks JUnit reports in tests against the schema CI
// systems validate them with (testdata/junit-10.xsd of package junit).
package junittest

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
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
