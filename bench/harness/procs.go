package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is a child server of the benchmark, stopped at the end of the run.
// Its output goes to a file, not a pipe, so the harness spends no CPU
// copying audit lines while it measures.
type proc struct {
	name string
	cmd  *exec.Cmd
	out  *fileLog
	done chan struct{}
}

type fileLog struct{ path string }

func (l *fileLog) String() string {
	b, _ := os.ReadFile(l.path)
	if len(b) > 1<<20 {
		b = b[:1<<20]
	}
	return string(b)
}

// procs tracks every child so that a failure anywhere stops them all.
type procs struct {
	mu  sync.Mutex
	all []*proc
	dir string
	n   int
}

func (ps *procs) start(name string, env []string, argv ...string) (*proc, error) {
	ps.mu.Lock()
	ps.n++
	path := filepath.Join(ps.dir, fmt.Sprintf("%02d-%s.log", ps.n, strings.NewReplacer(" ", "_", "(", "", ")", "").Replace(name)))
	ps.mu.Unlock()
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	p := &proc{name: name, out: &fileLog{path: path}, done: make(chan struct{})}
	p.cmd = exec.Command(argv[0], argv[1:]...)
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = f, f
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	ps.mu.Lock()
	ps.all = append(ps.all, p)
	ps.mu.Unlock()
	return p, nil
}

func (p *proc) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

func (ps *procs) stopAll() {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	for i := len(ps.all) - 1; i >= 0; i-- {
		ps.all[i].stop()
	}
	ps.all = nil
}

// wait waits for re in the output and returns its submatches.
func (p *proc) wait(re *regexp.Regexp, timeout time.Duration) ([]string, error) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(p.out.String()); m != nil {
			return m, nil
		}
		select {
		case <-p.done:
			return nil, fmt.Errorf("%s exited: %s", p.name, tail(p.out.String()))
		case <-time.After(10 * time.Millisecond):
		}
	}
	return nil, fmt.Errorf("%s: no %q within %s: %s", p.name, re, timeout, tail(p.out.String()))
}

func tail(s string) string {
	if len(s) > 1500 {
		s = "…" + s[len(s)-1500:]
	}
	return s
}

// rssKB is the resident set of pid in KiB.
func rssKB(pid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	return 0
}

// freePort asks the kernel for an unused loopback port.
func freePort() int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

var insecure = &http.Client{
	Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, DisableKeepAlives: true},
	Timeout:   2 * time.Second,
}

// pollUntil200 polls url every millisecond and returns the time from start
// to the first 200.
func pollUntil200(url string, start time.Time, p *proc, timeout time.Duration) (time.Duration, error) {
	deadline := start.Add(timeout)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := insecure.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				cancel()
				return time.Since(start), nil
			}
		}
		cancel()
		if p != nil {
			select {
			case <-p.done:
				return 0, fmt.Errorf("%s exited before %s answered: %s", p.name, url, tail(p.out.String()))
			default:
			}
		}
		time.Sleep(time.Millisecond)
	}
	return 0, fmt.Errorf("%s did not answer 200 within %s", url, timeout)
}

// writeFile writes a file of the run's work folder.
func writeFile(dir, name, content string) string {
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		panic(err)
	}
	return path
}
