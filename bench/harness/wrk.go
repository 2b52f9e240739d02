package main

import (
	"fmt"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// load is one wrk invocation's settings.
type load struct {
	conns    int
	duration time.Duration
	headers  []string // "Name: value"
	script   string   // lua file (POST bodies)
	url      string
}

// sample is what one wrk run measured.
type sample struct {
	rps      float64
	p50, p99 time.Duration
	requests int
	bad      int // non-2xx/3xx answers plus socket errors
	raw      string
}

func (l load) args() []string {
	a := []string{"-t1", "-c" + strconv.Itoa(l.conns), "-d" + strconv.Itoa(int(l.duration.Seconds())) + "s", "--latency", "--timeout", "5s"}
	for _, h := range l.headers {
		a = append(a, "-H", h)
	}
	if l.script != "" {
		a = append(a, "-s", l.script)
	}
	return append(a, l.url)
}

// command is the wrk command line as RESULTS.md shows it, secrets elided.
func (l load) command() string {
	var b strings.Builder
	b.WriteString("wrk")
	for _, a := range l.args() {
		if strings.HasPrefix(a, "Cookie:") || strings.HasPrefix(a, "Authorization:") {
			a = a[:strings.IndexByte(a, ':')] + ": …"
		}
		if strings.ContainsAny(a, " :") && !strings.HasPrefix(a, "http") {
			a = "'" + a + "'"
		}
		b.WriteString(" " + a)
	}
	return b.String()
}

var (
	reRPS      = regexp.MustCompile(`Requests/sec:\s+([\d.]+)`)
	reReqs     = regexp.MustCompile(`(\d+) requests in`)
	reNon2xx   = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
	reSockErrs = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
	reLat      = regexp.MustCompile(`(?m)^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$`)
)

func runWrk(l load) (sample, error) {
	out, err := exec.Command("wrk", l.args()...).CombinedOutput()
	s := sample{raw: string(out)}
	if err != nil {
		return s, fmt.Errorf("wrk %s: %v: %s", l.url, err, out)
	}
	m := reRPS.FindStringSubmatch(s.raw)
	if m == nil {
		return s, fmt.Errorf("wrk printed no Requests/sec: %s", out)
	}
	s.rps, _ = strconv.ParseFloat(m[1], 64)
	if m := reReqs.FindStringSubmatch(s.raw); m != nil {
		s.requests, _ = strconv.Atoi(m[1])
	}
	if m := reNon2xx.FindStringSubmatch(s.raw); m != nil {
		n, _ := strconv.Atoi(m[1])
		s.bad += n
	}
	if m := reSockErrs.FindStringSubmatch(s.raw); m != nil {
		for _, x := range m[1:] {
			n, _ := strconv.Atoi(x)
			s.bad += n
		}
	}
	for _, m := range reLat.FindAllStringSubmatch(s.raw, -1) {
		v, _ := strconv.ParseFloat(m[2], 64)
		unit := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second}[m[3]]
		d := time.Duration(v * float64(unit))
		if m[1] == "50" {
			s.p50 = d
		} else {
			s.p99 = d
		}
	}
	return s, nil
}

// series is every sample of one scenario across the rounds.
type series struct {
	name     string
	group    string
	what     string
	cmd      string
	samples  []sample
	failures []string
	twin     *series // the same load at the baseline, in a side-by-side run
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func (s *series) rps() float64 {
	var xs []float64
	for _, x := range s.samples {
		xs = append(xs, x.rps)
	}
	return median(xs)
}

func (s *series) p50() time.Duration {
	var xs []float64
	for _, x := range s.samples {
		xs = append(xs, float64(x.p50))
	}
	return time.Duration(median(xs))
}

func (s *series) p99() time.Duration {
	var xs []float64
	for _, x := range s.samples {
		xs = append(xs, float64(x.p99))
	}
	return time.Duration(median(xs))
}

func (s *series) bad() int {
	n := 0
	for _, x := range s.samples {
		n += x.bad
	}
	return n
}

func (s *series) all() string {
	var parts []string
	for _, x := range s.samples {
		parts = append(parts, strconv.Itoa(int(x.rps)))
	}
	return strings.Join(parts, " / ")
}
