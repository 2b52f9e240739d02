#!/bin/bash
# Runs every Fuzz target in the module for $1 (default 10s) each. A crash
# stops the run; go test keeps the input in testdata/fuzz as a regression seed.
set -euo pipefail
time=${1:-10s}
for pkg in $(go list ./... | grep -v /e2e); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //'); do
    echo "fuzz $pkg $target ($time)"
    go test -run '^$' -fuzz "^${target}\$" -fuzztime "$time" "$pkg" >/tmp/fuzz.$$.log 2>&1 || { cat /tmp/fuzz.$$.log; exit 1; }
  done
done
