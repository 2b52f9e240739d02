// Package e2e tests the real authdev binary end to end: `authdev up` in
// front of the FastAPI example under uvicorn, driven by headless Chromium
// and by plain HTTP clients. Nothing is mocked: the IdP, the proxy, the
// backend and the browser are the programs a user runs.
//
// The tests need /usr/bin/python3 with Debian's python3-fastapi, -uvicorn,
// -jwt, -cryptography and -wsproto, and /usr/bin/chromium (.ci/run installs
// them). Run them with `go test ./e2e/...` or `make e2e`.
package e2e
