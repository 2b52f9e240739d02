package main

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// comparison is one figure of authdev's measured at HEAD and at the
// baseline in the same run.
type comparison struct {
	what, figure string
	head, base   float64
	show         func(float64) string
}

// comparisons pairs every figure that has a baseline twin: the wrk
// scenarios, start-up, resident memory and the Go benchmarks.
func (h *harness) comparisons() []comparison {
	var cs []comparison
	dur := func(v float64) string { return time.Duration(v).String() }
	for _, s := range h.order {
		if t := s.twin; t != nil && len(s.samples) > 0 && len(t.samples) > 0 {
			cs = append(cs,
				comparison{s.name, "req/s", s.rps(), t.rps(), func(v float64) string { return fmt.Sprintf("%.0f", v) }},
				comparison{s.name, "p50", float64(s.p50()), float64(t.p50()), dur},
				comparison{s.name, "p99", float64(s.p99()), float64(t.p99()), dur},
				comparison{s.name, "p99 ÷ p50", tailRatio(s), tailRatio(t), func(v float64) string { return fmt.Sprintf("%.2f×", v) }})
		}
	}
	for _, k := range slices.Sorted(maps.Keys(h.startup)) {
		if b, ok := h.startup[k+twinSuffix]; ok {
			cs = append(cs, comparison{k, "time, median", float64(medianDur(h.startup[k])), float64(medianDur(b)),
				func(v float64) string { return ms(time.Duration(v)) }})
		}
	}
	for _, k := range slices.Sorted(maps.Keys(h.rss)) {
		if b, ok := h.rss[k+twinSuffix]; ok {
			cs = append(cs, comparison{k, "RSS", float64(h.rss[k]), float64(b), func(v float64) string { return mb(int(v)) }})
		}
	}
	base := map[string]float64{}
	for _, f := range benchFigures(h.base().goBench) {
		base[f.name+" "+f.unit] = f.v
	}
	for _, f := range benchFigures(h.head().goBench) {
		if b, ok := base[f.name+" "+f.unit]; ok {
			cs = append(cs, comparison{f.name, f.unit, f.v, b, func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }})
		}
	}
	return cs
}

// tailRatio is a scenario's p99 ÷ p50: how far its slowest requests fall
// behind the typical one.
func tailRatio(s *series) float64 { return float64(s.p99()) / float64(s.p50()) }

func (h *harness) reportBeforeAfter(w printer) {
	w("\n## Before / after\n\n")
	w("Each of authdev's own figures at HEAD and at the baseline, %s, built the same way and measured in the same run:\n", h.baseRev)
	w("every wrk scenario's twin ran right beside it in each round (alternately after and before it), the start-ups in turn,\n")
	w("the Go benchmarks from the baseline's own tree right after HEAD's. req/s: higher is better; every other figure: lower is better.\n\n")
	w("| what | figure | HEAD | baseline | HEAD ÷ baseline |\n|---|---|---|---|---|\n")
	for _, c := range h.comparisons() {
		w("| %s | %s | %s | %s | %s |\n", c.what, c.figure, c.show(c.head), c.show(c.base), ratioOf(c.head, c.base))
	}
}

// benchFigure is one figure of one benchmark in `go test -bench` output.
type benchFigure struct {
	name, unit string // "BenchmarkStackStartup/cold-2", "ns/op"
	v          float64
}

// benchFigures reads every benchmark line: its name, the iterations, then
// value and unit pairs (ns/op, B/op, allocs/op and custom metrics).
func benchFigures(out string) []benchFigure {
	var fs []benchFigure
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				break
			}
			fs = append(fs, benchFigure{f[0], f[i+1], v})
		}
	}
	return fs
}

// benchNs is the ns/op of a benchmark in go test output.
func benchNs(out, name string) float64 {
	for _, f := range benchFigures(out) {
		if strings.HasPrefix(f.name, name+"-") && f.unit == "ns/op" {
			return f.v
		}
	}
	return 0
}
