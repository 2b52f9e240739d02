#!/bin/bash
# `make bench`: builds authdev and the benchmark's own servers, installs the
# peers it lacks (or says what is missing and goes on without them), and runs
# bench/harness, which alternates the same wrk load across authdev and every
# peer on loopback, takes medians and writes bench/RESULTS.md.
#
#   ROUNDS=5 DURATION=4s ./bench/run.sh
#   ONLY='bare-rp|authdev-cookie' ./bench/run.sh   # a quick A/B: medians, no report
#   BASELINE=fa7da09 ./bench/run.sh                # HEAD and fa7da09 side by side
#   BASELINE=fa7da09 ONLY='idp-rs256|start-up' ROUNDS=3 DURATION=3s ./bench/run.sh
#
# ONLY is a regexp of scenario names (see the report's Commands); it also
# selects the measurements beyond wrk by name: start-up (servers' start-up
# and idle RSS), cli (`authdev up`, token, test) and go-bench.
#
# BASELINE=<git revision> also builds authdev at that revision (from `git
# archive` into bench/.cache/base-<rev>, with the same flags as HEAD) and
# measures a twin of each of authdev's own figures — its wrk scenarios, each
# twin right beside its HEAD scenario in every round; start-up and RSS; the
# Go benchmarks, run in the baseline's tree — and the report gains a
# "Before / after" table (HEAD, baseline, HEAD ÷ baseline). The targets are
# still HEAD's.
#
# Tools: wrk and nginx-light (apt-get install wrk nginx-light), node + npm,
# /usr/bin/python3 with python3-fastapi and uvicorn, Go. Everything it
# downloads goes to bench/.cache (not committed).
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
cache=$root/bench/.cache
mkdir -p "$cache/bin"
rounds=${ROUNDS:-5}
duration=${DURATION:-4s}
missing=()

say() { echo "bench: $*" >&2; }

for tool in wrk curl go; do
  command -v "$tool" >/dev/null || { say "$tool is required and missing (apt-get install $tool)"; exit 1; }
done

# build_authdev DIR OUT VERSION: builds authdev from the tree in DIR.
build_authdev() {
  (cd "$1" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=$3" -o "$2" ./cmd/authdev)
}
# build_at REV DIR OUT: builds authdev as committed at REV, from `git archive`
# extracted into DIR.
build_at() {
  rm -rf "$2" && mkdir -p "$2" && git archive "$1" | tar -x -C "$2" && build_authdev "$2" "$3" "$(git rev-parse --short "$1")"
}

say "building authdev and the benchmark servers"
src=$root
fromhead=false
if ! build_authdev "$root" "$cache/bin/authdev" "$(git describe --tags --always --dirty 2>/dev/null || echo dev)" 2>"$cache/build.log"; then
  # The working tree is shared and may be mid-edit: measure the last commit.
  say "the working tree does not build ($(head -1 "$cache/build.log")); building the last commit instead"
  src=$cache/head
  fromhead=true
  build_at HEAD "$src" "$cache/bin/authdev" || exit 1
fi
base=() # the harness's baseline flags
if [ -n "${BASELINE:-}" ]; then
  rev=$(git rev-parse --verify --quiet --short "${BASELINE}^{commit}") ||
    { say "BASELINE=$BASELINE is not a revision of this repository (git log --oneline shows them)"; exit 1; }
  say "building authdev at the baseline, $rev"
  build_at "$rev" "$cache/base-$rev" "$cache/bin/authdev-$rev" || { say "authdev at $rev does not build"; exit 1; }
  base=(-baseline "$cache/bin/authdev-$rev" -baseline-src "$cache/base-$rev" -baseline-rev "$rev")
fi
go build -o "$cache/bin/" ./bench/backend ./bench/bareproxy ./bench/signer ./bench/harness || exit 1

# oauth2-proxy/mockoidc: its own module in bench/peers/mockoidc.
mockoidc=$cache/bin/mockoidc
(cd bench/peers/mockoidc && go build -o "$mockoidc" .) 2>"$cache/mockoidc-build.log" ||
  { say "bench/peers/mockoidc does not build (see $cache/mockoidc-build.log); going on without it"; mockoidc=""; }

# oauth2-proxy v7.15.6: go install (takes minutes the first time).
o2p=""
if [ -x "$cache/bin/oauth2-proxy" ]; then
  o2p=$cache/bin/oauth2-proxy
else
  say "installing oauth2-proxy v7.15.6 (go install, a few minutes the first time)"
  if GOBIN=$cache/bin timeout 900 go install github.com/oauth2-proxy/oauth2-proxy/v7@v7.15.6 >"$cache/oauth2-proxy-install.log" 2>&1; then
    o2p=$cache/bin/oauth2-proxy
  else
    say "oauth2-proxy could not be installed (see $cache/oauth2-proxy-install.log); going on without it"
  fi
fi

# npm oauth2-mock-server@9.3.0 into bench/.cache/npm.
ms=$cache/npm/node_modules/oauth2-mock-server/dist/oauth2-mock-server.mjs
if [ ! -f "$ms" ]; then
  if command -v npm >/dev/null && command -v node >/dev/null; then
    say "installing oauth2-mock-server@9.3.0 (npm)"
    mkdir -p "$cache/npm"
    (cd "$cache/npm" && timeout 300 npm install --no-audit --no-fund --prefix . oauth2-mock-server@9.3.0 >"$cache/npm.log" 2>&1) ||
      say "npm install oauth2-mock-server@9.3.0 failed (see $cache/npm.log); going on without it"
  else
    say "node/npm missing (apt-get install nodejs npm): going on without oauth2-mock-server"
  fi
fi
[ -f "$ms" ] || ms=""

command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || say "nginx missing (apt-get install nginx-light): going on without it"
/usr/bin/python3 -c 'import fastapi, uvicorn' 2>/dev/null || say "/usr/bin/python3 lacks fastapi/uvicorn (apt-get install python3-fastapi uvicorn): the FastAPI figures will be missing"

say "running: $rounds rounds of $duration per scenario"
PATH=$PATH:/usr/sbin exec "$cache/bin/harness" -authdev "$cache/bin/authdev" -bin "$cache/bin" \
  -oauth2-proxy "$o2p" -mock-server "$ms" -mockoidc "$mockoidc" -src "$src" -from-head="$fromhead" "${base[@]}" -rounds "$rounds" -duration "$duration" -only "${ONLY:-}" -out bench/RESULTS.md
