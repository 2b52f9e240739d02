package config

import (
	"strings"
	"testing"
)

func TestChecksCoverageAndDrillsAreValidatedWithTheirLine(t *testing.T) {
	cfg, err := parse(t, `personas: {alice: {}}
checks:
  - {as: alice, request: GET /, expect: allow, drill: expired-session}
  - {as: alice, request: GET /, expect: allow, drill: rotated-keys, via: bearer}
`, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ChecksCoverage != CoverageReport || cfg.Checks[0].Drill != DrillExpiredSession {
		t.Fatalf("checks_coverage %q, drill %q", cfg.ChecksCoverage, cfg.Checks[0].Drill)
	}
	_, err = parse(t, `checks_coverage: strict
personas: {alice: {}}
checks:
  - {as: alice, request: GET /, expect: allow, drill: expired-sesion}
  - {as: alice, request: GET /, expect: allow, drill: expired-session, via: bearer}
`, nil)
	for _, want := range []string{
		`authdev.yaml:1:18: checks_coverage "strict" is not one of report, required`,
		`authdev.yaml:4:`, `drill "expired-sesion" is not one of expired-session, rotated-keys, idp-down (did you mean "expired-session"?)`,
		`authdev.yaml:5:`, `drill expired-session expires browser sessions, and the check goes via bearer`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want %q in:\n%v", want, err)
		}
	}
}
