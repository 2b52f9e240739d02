#!/bin/bash
# Runs every Fuzz target in the module for $1 (default 10s) each. A crash
# stops the run; go test keeps the input in testdata/fuzz as a regression seed.
#
# Go 1.26's fuzz coordinator can report a bare "context deadline exceeded"
# as the -fuzztime window closes on a busy machine (go.dev/issue/75804, fixed
# in Go 1.27): no input fails and none is written. Such a run is tried once
# more; anything else, and a second such failure, fails.
set -euo pipefail
time=${1:-10s}
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# deadlineFlake tells the coordinator's race from a finding in log.
deadlineFlake() {
  grep -q 'context deadline exceeded' "$log" && ! grep -qE 'Failing input written|panic:|_test\.go:[0-9]+:' "$log"
}

for pkg in $(go list ./... | grep -v /e2e); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //'); do
    echo "fuzz $pkg $target ($time)"
    for attempt in 1 2; do
      if go test -run '^$' -fuzz "^${target}\$" -fuzztime "$time" "$pkg" >"$log" 2>&1; then
        break
      fi
      if [ "$attempt" = 1 ] && deadlineFlake; then
        echo "fuzz $pkg $target: the fuzz coordinator's deadline race (go.dev/issue/75804), no failing input: once more"
        continue
      fi
      cat "$log"
      exit 1
    done
  done
done
