# authdev's whole test and release workflow. `make test` is what CI runs.
SHELL := /bin/bash
GO ?= go
PKGS := $(shell $(GO) list ./... | grep -v /e2e)
FUZZTIME ?= 10s
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)

.PHONY: all build test fmt-check vet unit keyring python-tests fuzz-short e2e release-check bench fuzz lint schema clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o authdev ./cmd/authdev

## test: everything CI checks, in order of speed.
test: fmt-check vet unit keyring python-tests fuzz-short e2e release-check

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

unit:
	$(GO) test -race -count=1 $(PKGS)

# The keyring backend against a real gnome-keyring on a private D-Bus session.
keyring:
	@./scripts/with-keyring.sh env AUTHDEV_REQUIRE_KEYRING=1 $(GO) test -count=1 -run 'Keyring' -v ./internal/state/ | grep -E '^(---|ok|FAIL|PASS)'

python-tests:
	@if [ -d examples/fastapi/tests ]; then cd examples/fastapi && /usr/bin/python3 -m unittest discover -s tests -v; fi

# Every fuzz target for a short, bounded time; `make fuzz` runs them longer.
fuzz-short:
	@./scripts/fuzz.sh $(FUZZTIME)

fuzz:
	@./scripts/fuzz.sh 5m

e2e:
	$(GO) test -count=1 -timeout 10m ./e2e/...

# goreleaser check plus a snapshot build of every archive.
release-check:
	@if command -v goreleaser >/dev/null || [ -x "$$($(GO) env GOPATH)/bin/goreleaser" ]; then \
		PATH="$$PATH:$$($(GO) env GOPATH)/bin" goreleaser check && \
		PATH="$$PATH:$$($(GO) env GOPATH)/bin" goreleaser release --snapshot --clean; \
	elif [ "$$CI" = "true" ]; then echo "goreleaser is missing (CI=true): run .ci/run"; exit 1; \
	else echo "release-check: goreleaser not installed, skipped locally (go install github.com/goreleaser/goreleaser/v2@v2.15.1)"; fi

bench:
	@./bench/run.sh

lint: fmt-check vet
	@command -v staticcheck >/dev/null && staticcheck ./... || echo "staticcheck not installed: go install honnef.co/go/tools/cmd/staticcheck@latest"

# Regenerate authdev.schema.json from the config types.
schema:
	$(GO) run ./cmd/authdev config schema > authdev.schema.json

clean:
	rm -rf authdev dist
