package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// authdevBin is the binary TestMain builds once for every test.
var authdevBin string

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
	build := exec.Command("go", "build", "-o", authdevBin, "../cmd/authdev")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: building authdev:", err)
		return 1
	}
	return m.Run()
}
