package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// twinSuffix names the baseline's twin of a scenario or figure, and
// twinGroup keeps the twins out of the peer tables: they have a table of
// their own, Before / after.
const (
	twinSuffix = "@baseline"
	twinGroup  = "baseline"
)

// rig is one authdev under test — HEAD, or the baseline beside it — with
// its own state store, IdP and proxy, and the credentials that pass the
// proxy.
type rig struct {
	suffix           string // "" at HEAD, twinSuffix at the baseline
	bin, src         string // the authdev binary and the tree it was built from
	dir              string
	env              []string
	cfg              string
	idp, proxy       *proc
	issuer, issuerRS string
	proxyURL         string
	cookie, bearer   string
	fastapiURL       string // its proxy in front of the FastAPI example
	fastapiCookie    string
	goBench          string // the Go benchmarks' output, run in src
}

const benchYAML = `idp:
  listen: 127.0.0.1:%d
  flavor: generic
  token_ttl: 1h
  clients:
    - id: ci
      secret: ci-secret
      grants: [client_credentials]
    - id: oauth2-proxy
      secret: oauth2-proxy-secret
      redirect_uris: [http://127.0.0.1:%d/oauth2/callback]
personas:
  alice: {name: Alice Admin, email: alice@example.com, groups: [eng-admins]}
  bob: {name: Bob Builder, email: bob@example.com, groups: [eng]}
environments:
  dev: {alg: ES256, roles: {eng-admins: [admin], eng: [reader]}}
  rs: {alg: RS256, roles: {eng-admins: [admin], eng: [reader]}}
proxy:
  listen: 127.0.0.1:%d
  tls: false
  upstreams:
    - {name: api, prefix: /, targets: ["%s"]}
  default_authorization: ALLOW
  policies:
    - name: admin-area
      rule: HTTP.REQ.URL.PATH.STARTSWITH("/admin") && !AAA.USER.IS_MEMBER_OF("admin")
      action: DENY
`

// name is a figure's name for this rig: the twin's carries the suffix.
func (r *rig) name(s string) string { return s + r.suffix }

// proc starts this rig's authdev with its own state store.
func (h *harness) authdevProc(r *rig, name string, args ...string) (*proc, error) {
	return h.ps.start(r.name(name), r.env, append([]string{r.bin, "--state", "file"}, args...)...)
}

// startRig gives the rig a work folder, starts its IdP (which creates the
// keys once) and proxy in front of the Go backend, and logs in through the
// proxy.
func (h *harness) startRig(r *rig) error {
	r.dir = filepath.Join(h.work, "authdev"+r.suffix)
	for _, d := range []string{"home", "config", "state"} {
		os.MkdirAll(filepath.Join(r.dir, d), 0o700)
	}
	r.env = []string{"HOME=" + filepath.Join(r.dir, "home"), "XDG_CONFIG_HOME=" + filepath.Join(r.dir, "config"),
		"AUTHDEV_STATE_DIR=" + filepath.Join(r.dir, "state")}
	idpPort, proxyPort := freePort(), freePort()
	r.cfg = writeFile(r.dir, "authdev.yaml", fmt.Sprintf(benchYAML, idpPort, h.o2pPort, proxyPort, h.backend))
	var err error
	if r.idp, err = h.authdevProc(r, "authdev idp", "--config", r.cfg, "idp"); err != nil {
		return err
	}
	if _, err := r.idp.wait(reListen, 60*time.Second); err != nil {
		return err
	}
	r.issuer = fmt.Sprintf("http://localhost:%d/dev", idpPort)
	r.issuerRS = fmt.Sprintf("http://localhost:%d/rs", idpPort)
	if r.proxy, err = h.authdevProc(r, "authdev proxy", "--config", r.cfg, "proxy"); err != nil {
		return err
	}
	if _, err := r.proxy.wait(reReady, 30*time.Second); err != nil {
		return err
	}
	r.proxyURL = fmt.Sprintf("http://127.0.0.1:%d", proxyPort)
	return r.login()
}

// login gets the session cookie and bearer token of alice and checks that
// the proxy lets both through.
func (r *rig) login() error {
	var err error
	if r.cookie, err = browserLogin(r.proxyURL+"/", "alice"); err != nil {
		return fmt.Errorf("%s login: %w", r.name("authdev proxy"), err)
	}
	if r.bearer, err = codeToken(r.issuer, "alice"); err != nil {
		return fmt.Errorf("a token for alice from %s: %w", r.issuer, err)
	}
	for _, hd := range []string{"Cookie: " + r.cookie, "Authorization: Bearer " + r.bearer} {
		if err := check(r.proxyURL+benchPath, hd); err != nil {
			return fmt.Errorf("%s refuses the benchmark's credentials: %w", r.name("authdev proxy"), err)
		}
	}
	return nil
}
