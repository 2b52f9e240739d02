package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// The binaries TestMain builds once for every test: authdev, and the Go
// example backend.
var authdevBin, goappBin string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "authdev-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	authdevBin = filepath.Join(dir, "authdev")
	goappBin = filepath.Join(dir, "goapp")
	for bin, pkg := range map[string]string{authdevBin: "../cmd/authdev", goappBin: "../examples/goapp"} {
		build := exec.Command("go", "build", "-o", bin, pkg)
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: building %s: %v\n", pkg, err)
			return 1
		}
	}
	return m.Run()
}
