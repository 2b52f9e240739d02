package e2e

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/authdev/authdev/internal/testkit"
)

// process is a child program started by a test; its output is kept and
// shown when the test fails, and it is stopped when the test ends.
type process struct {
	name string
	cmd  *exec.Cmd
	out  testkit.Buffer
	done chan struct{}
	err  error
}

// startProcess runs argv with env (added to a minimal environment) in dir,
// in a process group of its own, so that what it starts stops with it.
func startProcess(t *testing.T, name string, env []string, dir string, argv ...string) *process {
	t.Helper()
	p := &process{name: name, done: make(chan struct{})}
	p.cmd = exec.Command(argv[0], argv[1:]...)
	p.cmd.Dir = dir
	p.cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "LANG=C.UTF-8"}, env...)
	p.cmd.Stdout = &p.out
	p.cmd.Stderr = &p.out
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("--- output of %s ---\n%s", name, p.out.String())
		}
	})
	return p
}

// stop sends SIGTERM to the process group and waits, killing the group if
// the process lingers; what it started in the background and left running
// is killed after it ends.
func (p *process) stop() {
	defer syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-p.done:
		return
	default:
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

// exited reports whether the process has ended, and how.
func (p *process) exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.err
	default:
		return false, nil
	}
}

// waitOutput waits until the output matches re and returns the submatches.
func (p *process) waitOutput(t *testing.T, re *regexp.Regexp, timeout time.Duration) []string {
	t.Helper()
	var m []string
	var ended bool
	testkit.Eventually(timeout, func() bool {
		m = re.FindStringSubmatch(p.out.String())
		ended, _ = p.exited()
		return m != nil || ended
	})
	switch {
	case m != nil:
		return m
	case ended:
		_, err := p.exited()
		t.Fatalf("%s exited (%v) before printing %s", p.name, err, re)
	default:
		t.Fatalf("%s did not print %s within %s", p.name, re, timeout)
	}
	return nil
}

// waitHTTP polls url until it answers want, failing if p exits first.
func waitHTTP(t *testing.T, p *process, client *http.Client, url string, want int, timeout time.Duration) {
	t.Helper()
	var last string
	var ended bool
	answered := testkit.Eventually(timeout, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := client.Do(req)
		if err != nil {
			last = err.Error()
		} else {
			resp.Body.Close()
			last = resp.Status
			if resp.StatusCode == want {
				return true
			}
		}
		ended, _ = p.exited()
		return ended
	})
	switch {
	case ended:
		_, err := p.exited()
		t.Fatalf("%s exited (%v) while waiting for %s", p.name, err, url)
	case !answered:
		t.Fatalf("%s did not answer %d within %s (last: %s)", url, want, timeout, last)
	}
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	_, port, _ := net.SplitHostPort(testkit.FreeLoopbackAddr(t))
	n, _ := strconv.Atoi(port)
	return n
}

// runCmd runs a short command and returns its stdout, stderr and exit code.
func runCmd(t *testing.T, env []string, argv ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "LANG=C.UTF-8"}, env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		code = exit.ExitCode()
	default:
		t.Fatalf("running %q: %v", argv, err)
	}
	return out.String(), errOut.String(), code
}

func itoa(i int) string { return strconv.Itoa(i) }
