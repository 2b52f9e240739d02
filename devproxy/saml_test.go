package devproxy_test

import (
	"encoding/base64"
	"fmt"
	"html"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/authdev/authdev/audit"
	"github.com/authdev/authdev/devproxy"
)

// samlSetup is the harness with SAML browser logins and a second service
// provider registered at the IdP whose assertions land on the proxy's ACS.
func samlSetup(t *testing.T, persona string, backend string) setup {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	yaml := strings.Replace(testYAML, "  tls: false\n", "  tls: false\n  login: saml\n", 1)
	yaml = strings.Replace(yaml, "  listen: 127.0.0.1:8443\n", "  listen: "+ln.Addr().String()+"\n", 1)
	yaml = strings.Replace(yaml, "  flavor: okta\n", fmt.Sprintf(`  flavor: okta
  saml:
    service_providers:
      - {entity_id: https://other.example.com, acs_url: http://%s/cgi/samlauth}
`, ln.Addr()), 1)
	return setup{yaml: yaml, persona: persona, listener: ln, upstreams: upstreamTo(backend)}
}

var (
	samlActionRE = regexp.MustCompile(`<form method="post" action="([^"]*)" id="saml">`)
	samlFieldRE  = regexp.MustCompile(`<input type="hidden" name="(SAMLResponse|RelayState)" value="([^"]*)">`)
)

// samlPost is the IdP's HTTP-POST form, which a browser submits.
type samlPost struct {
	action string
	form   url.Values
}

func readSAMLPost(t *testing.T, resp *http.Response) samlPost {
	t.Helper()
	b := body(resp)
	m := samlActionRE.FindStringSubmatch(b)
	if resp.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("want the IdP's SAML form, got %d:\n%s", resp.StatusCode, b)
	}
	p := samlPost{action: html.UnescapeString(m[1]), form: url.Values{}}
	for _, f := range samlFieldRE.FindAllStringSubmatch(b, -1) {
		p.form.Set(f[1], html.UnescapeString(f[2]))
	}
	return p
}

func (p samlPost) xml(t *testing.T) string {
	b, err := base64.StdEncoding.DecodeString(p.form.Get("SAMLResponse"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func (p samlPost) with(xml string) samlPost {
	f := url.Values{"RelayState": p.form["RelayState"], "SAMLResponse": {base64.StdEncoding.EncodeToString([]byte(xml))}}
	return samlPost{action: p.action, form: f}
}

func (p samlPost) submit(t *testing.T, c *http.Client) *http.Response {
	t.Helper()
	resp, err := c.PostForm(p.action, p.form)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestSAMLBrowserLoginGivesTheSameSessionHeadersAndAssertionAsOIDC(t *testing.T) {
	backend := echoBackend(t, "api")
	e := start(t, samlSetup(t, "alice", backend.URL))
	b := newBrowser(t)
	post := readSAMLPost(t, get(t, b.Client, e.url+"/admin/users?x=1"))
	if !strings.HasSuffix(post.action, "/cgi/samlauth") {
		t.Fatalf("the IdP posts to %q, want the proxy's /cgi/samlauth", post.action)
	}
	s := readSeen(t, post.submit(t, b.Client))
	if s.Path != "/admin/users" || s.Query != "x=1" {
		t.Errorf("after login the browser is at %s?%s, want where it started", s.Path, s.Query)
	}
	if u := s.header("X-Remote-User"); len(u) != 1 || u[0] != "alice@example.com" {
		t.Errorf("X-Remote-User %q", u)
	}
	if g := s.header("X-Remote-Groups"); len(g) != 1 || g[0] != "eng-admins" {
		t.Errorf("X-Remote-Groups %q: SAML groups must feed AAA.USER.GROUPS and IS_MEMBER_OF", g)
	}
	if r := s.header("X-Remote-Roles"); len(r) != 1 || r[0] != "admin" {
		t.Errorf("X-Remote-Roles %q", r)
	}
	if len(s.header("X-Authdev-Assertion")) != 1 {
		t.Error("no signed assertion for the backend")
	}
	logins := e.events.of(audit.KindLogin)
	if len(logins) == 0 || logins[len(logins)-1].Claims["department"] != "platform" || logins[len(logins)-1].Via != "saml" {
		t.Errorf("want a login via saml whose claims have the SAML attribute department: %+v", logins)
	}
	if c := get(t, b.Client, e.url+"/"); c.StatusCode != http.StatusOK {
		t.Errorf("the NSC_TMAS session does not carry the next request: %d", c.StatusCode)
	}
}

func TestSAMLGroupsDecidePolicies(t *testing.T) {
	backend := echoBackend(t, "api")
	e := start(t, samlSetup(t, "bob", backend.URL))
	b := newBrowser(t)
	resp := readSAMLPost(t, get(t, b.Client, e.url+"/admin/users")).submit(t, b.Client)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body(resp), "admin-area") {
		t.Fatalf("bob (no admin role from his SAML groups) got %d at /admin, want 403 by admin-area", resp.StatusCode)
	}
}

func TestSAMLResponsesThatWereTamperedWithAreRefused(t *testing.T) {
	backend := echoBackend(t, "api")
	e := start(t, samlSetup(t, "bob", backend.URL))
	fresh := func() (*browser, samlPost) {
		b := newBrowser(t)
		return b, readSAMLPost(t, get(t, b.Client, e.url+"/"))
	}
	refused := func(t *testing.T, b *browser, p samlPost, why, reason string) {
		t.Helper()
		resp := p.submit(t, b.Client)
		text := html.UnescapeString(body(resp))
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(text, "SAML response was refused") || !strings.Contains(text, reason) {
			t.Fatalf("%s: want 401 refusing the response because %q, got %d:\n%s", why, reason, resp.StatusCode, text)
		}
		if c := get(t, noFollow(b.Jar), e.url+"/"); c.StatusCode != http.StatusFound {
			t.Fatalf("%s: the browser got a session anyway (%d)", why, c.StatusCode)
		}
	}
	// With the response's own signature removed, the assertion's signature
	// is all that protects it.
	for _, unsign := range []bool{false, true} {
		t.Run(fmt.Sprintf("changed NameID (response signature removed: %v)", unsign), func(t *testing.T) {
			b, p := fresh()
			refused(t, b, p.with(edited(t, p.xml(t), unsign, func(doc *etree.Element) {
				doc.FindElement("./Assertion/Subject/NameID").SetText("alice@example.com")
			})), "changed NameID", "Signature could not be verified")
		})
		t.Run(fmt.Sprintf("signature wrapping (response signature removed: %v)", unsign), func(t *testing.T) {
			b, p := fresh()
			reason := "cannot validate signature on Response"
			if unsign {
				reason = "exactly one Assertion"
			}
			refused(t, b, p.with(edited(t, p.xml(t), unsign, wrap)), "an unsigned evil assertion before the signed one", reason)
		})
	}
	t.Run("expired", func(t *testing.T) {
		b, p := fresh()
		e.clock.Advance(6 * time.Minute)
		defer e.clock.Advance(-6 * time.Minute)
		refused(t, b, p, "posted after NotOnOrAfter", "expired")
	})
	t.Run("replayed InResponseTo", func(t *testing.T) {
		b, p := fresh()
		if resp := p.submit(t, b.Client); resp.StatusCode != http.StatusOK {
			t.Fatalf("first use refused: %d %s", resp.StatusCode, body(resp))
		}
		refused(t, newBrowser(t), p, "the same response again", "InResponseTo")
	})
	t.Run("audience of another SP", func(t *testing.T) {
		b := newBrowser(t)
		u := e.idp.SAMLEndpoints("dev").IDPInitiated + "?sp=https://other.example.com&login_hint=alice"
		refused(t, b, readSAMLPost(t, get(t, b.Client, u)), "an assertion for https://other.example.com", "AudienceRestriction")
	})
}

// edited is a SAMLResponse changed by edit, optionally without the
// Response's own signature.
func edited(t *testing.T, raw string, unsign bool, edit func(*etree.Element)) string {
	doc := etree.NewDocument()
	if err := doc.ReadFromString(raw); err != nil {
		t.Fatal(err)
	}
	if sig := doc.Root().SelectElement("Signature"); unsign && sig != nil {
		doc.Root().RemoveChild(sig)
	}
	edit(doc.Root())
	out, err := doc.WriteToString()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// wrap is the classic XML signature wrapping attack: an evil copy of the
// assertion (alice, unsigned) placed before the signed original, which
// still verifies.
func wrap(root *etree.Element) {
	signed := root.SelectElement("Assertion")
	evil := signed.Copy()
	if sig := evil.SelectElement("Signature"); sig != nil {
		evil.RemoveChild(sig)
	}
	evil.CreateAttr("ID", "evil")
	evil.FindElement("./Subject/NameID").SetText("alice@example.com")
	root.InsertChildAt(signed.Index(), evil)
}

// `authdev as` and the TUI switch the active persona: a SAML session of the
// previous persona logs in again, silently, as the new one (login_hint and
// ForceAuthn over the IdP's session), in the new environment too.
func TestSwitchingTheActivePersonaReestablishesASAMLSession(t *testing.T) {
	backend := echoBackend(t, "api")
	e := start(t, samlSetup(t, "alice", backend.URL))
	b := newBrowser(t)
	readSeen(t, readSAMLPost(t, get(t, b.Client, e.url+"/")).submit(t, b.Client))
	for _, act := range []devproxy.Active{{Persona: "bob"}, {Persona: "bob", Env: "prod"}} {
		if err := e.proxy.SetActive(act); err != nil {
			t.Fatal(err)
		}
		b.visited = nil
		s := readSeen(t, readSAMLPost(t, get(t, b.Client, e.url+"/q")).submit(t, b.Client))
		if got := s.header("X-Remote-User"); len(got) != 1 || got[0] != "bob@example.com" {
			t.Fatalf("after switching to %+v the backend sees %v, want bob", act, got)
		}
		if !slices.ContainsFunc(b.visited, func(u string) bool {
			return strings.Contains(u, "/"+e.proxy.Active().Env+"/saml/sso?") && strings.Contains(u, "login_hint=bob")
		}) {
			t.Errorf("no silent SAML login of bob in %s: %v", e.proxy.Active().Env, b.visited)
		}
	}
}

// /.authdev/login?via=saml logs in with SAML in an environment whose
// browser logins are OIDC: what `authdev test` checks with via: saml use.
func TestViaSAMLLogsInWithSAMLWhereLoginIsOIDC(t *testing.T) {
	backend := echoBackend(t, "api")
	e := start(t, setup{persona: "alice", upstreams: upstreamTo(backend.URL)})
	b := newBrowser(t)
	post := readSAMLPost(t, get(t, b.Client, e.url+"/.authdev/login?via=saml&return=%2Fx"))
	s := readSeen(t, post.submit(t, b.Client))
	if got := s.header("X-Remote-User"); s.Path != "/x" || len(got) != 1 || got[0] != "alice@example.com" {
		t.Fatalf("via=saml ended at %s as %v", s.Path, got)
	}
}

// IdP-initiated login, which some ADC flows use: the IdP posts an
// unsolicited response to the proxy's ACS; it is accepted once.
func TestSAMLIdPInitiatedLoginIsAcceptedOnce(t *testing.T) {
	backend := echoBackend(t, "api")
	e := start(t, samlSetup(t, "", backend.URL))
	b := newBrowser(t)
	u := e.idp.SAMLEndpoints("dev").IDPInitiated + "?sp=urn:authdev:proxy&login_hint=bob"
	post := readSAMLPost(t, get(t, b.Client, u))
	if post.action != e.url+"/cgi/samlauth" {
		t.Fatalf("the IdP posts to %q, want the proxy's ACS %s/cgi/samlauth", post.action, e.url)
	}
	if got := readSeen(t, post.submit(t, b.Client)).header("X-Remote-User"); len(got) != 1 || got[0] != "bob@example.com" {
		t.Fatalf("after an IdP-initiated login the backend sees %v", got)
	}
	again := newBrowser(t)
	resp := post.submit(t, again.Client)
	if text := html.UnescapeString(body(resp)); resp.StatusCode != http.StatusUnauthorized || !strings.Contains(text, "already been used") {
		t.Fatalf("a replayed IdP-initiated response answered %d:\n%s", resp.StatusCode, text)
	}
}

// saml_metadata (a file here) names the IdP the proxy logs in at, for an
// IdP that is not authdev's own.
func TestSAMLLoginAtAnIdPGivenByAMetadataFile(t *testing.T) {
	backend := echoBackend(t, "api")
	s := samlSetup(t, "alice", backend.URL)
	file := filepath.Join(t.TempDir(), "idp.xml")
	s.tweak = func(o *devproxy.Options) {
		resp, err := http.Get(o.Environments[0].SAML.Metadata)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, []byte(body(resp)), 0o600); err != nil {
			t.Fatal(err)
		}
		o.Environments[0].SAML.Metadata = file
	}
	e := start(t, s)
	b := newBrowser(t)
	if got := readSeen(t, readSAMLPost(t, get(t, b.Client, e.url+"/")).submit(t, b.Client)).header("X-Remote-User"); len(got) != 1 || got[0] != "alice@example.com" {
		t.Fatalf("after a login at the IdP of %s the backend sees %v", file, got)
	}
}
