package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestREADMEInstallCommandsWorkFromACheckout runs every command of the
// README's install block in this checkout, as a reader would, and then the
// binaries they built: an install line that points at something unpublished
// fails here.
func TestREADMEInstallCommandsWorkFromACheckout(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	section := regexp.MustCompile("(?s)\n## Install\n(.*?)\n## ").FindSubmatch(readme)
	if section == nil {
		t.Fatal("README has no \"## Install\" section")
	}
	block := regexp.MustCompile("(?s)```sh\n(.*?)```").FindSubmatch(section[1])
	if block == nil {
		t.Fatal("README's install section has no sh block")
	}
	gobin := t.TempDir()
	var ran []string
	for line := range strings.SplitSeq(string(block[1]), "\n") {
		cmdline, _, _ := strings.Cut(line, "#")
		if cmdline = strings.TrimSpace(cmdline); cmdline == "" {
			continue
		}
		cmd := exec.Command("bash", "-ec", cmdline)
		cmd.Dir = ".."
		cmd.Env = append(os.Environ(), "GOBIN="+gobin)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("README install command %q failed: %v\n%s", cmdline, err, out)
		}
		ran = append(ran, cmdline)
	}
	for _, bin := range []string{filepath.Join(gobin, "authdev"), "../authdev"} {
		out, err := exec.Command(bin, "version").CombinedOutput()
		if err != nil || !strings.HasPrefix(string(out), "authdev ") {
			t.Errorf("%s version after %q: %v\n%s", bin, ran, err, out)
		}
	}
}
