#!/bin/bash
# `make bench`: builds authdev and the benchmark's own servers, installs the
# peers it lacks (or says what is missing and goes on without them), and runs
# bench/harness, which alternates the same wrk load across authdev and every
# peer on loopback, takes medians and writes bench/RESULTS.md.
#
#   ROUNDS=5 DURATION=4s ./bench/run.sh
#   ONLY='bare-rp|authdev-cookie' ./bench/run.sh   # a quick A/B: medians, no report
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

say "building authdev and the benchmark servers"
src=$root
fromhead=false
ver=$(git describe --tags --always --dirty 2>/dev/null || echo dev)
if ! CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=$ver" -o "$cache/bin/authdev" ./cmd/authdev 2>"$cache/build.log"; then
  # The working tree is shared and may be mid-edit: measure the last commit.
  say "the working tree does not build ($(head -1 "$cache/build.log")); building the last commit instead"
  src=$cache/head
  fromhead=true
  rm -rf "$cache/head" && mkdir -p "$cache/head" && git archive HEAD | tar -x -C "$cache/head" || exit 1
  (cd "$cache/head" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=$(git -C "$root" rev-parse --short HEAD)" \
    -o "$cache/bin/authdev" ./cmd/authdev) || exit 1
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
  -oauth2-proxy "$o2p" -mock-server "$ms" -mockoidc "$mockoidc" -src "$src" -from-head="$fromhead" -rounds "$rounds" -duration "$duration" -only "${ONLY:-}" -out bench/RESULTS.md
