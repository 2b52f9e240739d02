package devproxy_test

import (
	"bytes"
	"compress/flate"
	"crypto/rand"
	"crypto/sha1" //nolint:gosec // the artifact's SourceID is SHA-1 by definition
	"encoding/base64"
	"encoding/xml"
	"html"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crewjam/saml"
	"github.com/crewjam/saml/samlsp"

	"github.com/authdev/authdev/devproxy"
)

// artifactSetup is samlSetup with every environment asking its IdP for
// the HTTP-Artifact binding, as the ADC's -samlBinding ARTIFACT does.
func artifactSetup(t *testing.T, persona, backend string) setup {
	s := samlSetup(t, persona, backend)
	s.tweak = func(o *devproxy.Options) {
		for i := range o.Environments {
			o.Environments[i].SAML.ResponseBinding = saml.HTTPArtifactBinding
		}
	}
	return s
}

// acsVisit is the browser's arrival at the proxy's ACS with a SAMLart.
func acsVisit(t *testing.T, visited []string) string {
	t.Helper()
	for _, u := range visited {
		if strings.Contains(u, devproxy.SAMLACSPath+"?") && strings.Contains(u, "SAMLart=") {
			return u
		}
	}
	t.Fatalf("the browser never came to the ACS with an artifact: %v", visited)
	return ""
}

// SAML 2.0 Bindings §3.6 (HTTP-Artifact), resolved over SOAP (§3.2):
// https://docs.oasis-open.org/security/saml/v2.0/saml-bindings-2.0-os.pdf
func TestSAMLArtifactLoginThroughTheProxy(t *testing.T) {
	backend := echoBackend(t, "api")
	e := start(t, artifactSetup(t, "alice", backend.URL))
	b := newBrowser(t)
	s := readSeen(t, get(t, b.Client, e.url+"/admin/users?x=1"))
	if u := s.header("X-Remote-User"); s.Path != "/admin/users" || s.Query != "x=1" || len(u) != 1 || u[0] != "alice@example.com" {
		t.Fatalf("after an artifact login the backend sees %v at %s?%s", u, s.Path, s.Query)
	}
	var asked bool
	for _, u := range b.visited {
		if strings.Contains(u, "/saml/sso?") {
			req := samlRequestOf(t, u)
			asked = strings.Contains(req, `ProtocolBinding="`+saml.HTTPArtifactBinding+`"`)
		}
	}
	if !asked {
		t.Fatalf("the AuthnRequest did not ask for HTTP-Artifact: %v", b.visited)
	}
	if logins := e.events.of("login"); len(logins) == 0 || logins[len(logins)-1].Via != "saml" {
		t.Errorf("want a login via saml: %+v", logins)
	}

	t.Run("replayed artifact", func(t *testing.T) {
		refusedAtACS(t, e, acsVisit(t, b.visited), "already")
	})
	t.Run("localhost", func(t *testing.T) {
		local := newBrowser(t)
		at := strings.Replace(e.url, "127.0.0.1", "localhost", 1)
		s := readSeen(t, get(t, local.Client, at+"/q"))
		if u := s.header("X-Remote-User"); s.Path != "/q" || len(u) != 1 || u[0] != "alice@example.com" || !strings.HasPrefix(acsVisit(t, local.visited), at) {
			t.Fatalf("an artifact login on localhost: %v at %s, visited %v", u, s.Path, local.visited)
		}
	})
}

// refusedAtACS visits the ACS at u with a new browser: the login fails
// with 401 naming reason, and no session is made.
func refusedAtACS(t *testing.T, e *env, u, reason string) {
	t.Helper()
	c := newBrowser(t)
	resp := get(t, noFollow(c.Jar), u)
	text := html.UnescapeString(body(resp))
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(text, "SAML response was refused") || !strings.Contains(text, reason) {
		t.Fatalf("want 401 refusing the artifact because %q, got %d:\n%s", reason, resp.StatusCode, text)
	}
	if r := get(t, noFollow(c.Jar), e.url+"/"); r.StatusCode != http.StatusFound {
		t.Fatalf("the browser got a session anyway (%d)", r.StatusCode)
	}
}

func TestSAMLArtifactsTheProxyMustNotAccept(t *testing.T) {
	backend := echoBackend(t, "api")
	e := start(t, artifactSetup(t, "", backend.URL))
	acs := e.url + devproxy.SAMLACSPath
	idpEntity := e.idp.SAMLEndpoints("dev").Metadata

	t.Run("issued to another service provider", func(t *testing.T) {
		// https://other.example.com lists the proxy's ACS as its own: the
		// IdP sends its artifact there, and refuses it to the proxy.
		md, err := samlsp.FetchMetadata(t.Context(), http.DefaultClient, *mustParse(t, idpEntity))
		if err != nil {
			t.Fatal(err)
		}
		other := &saml.ServiceProvider{EntityID: "https://other.example.com", AcsURL: *mustParse(t, acs), IDPMetadata: md}
		req, err := other.MakeAuthenticationRequest(other.GetSSOBindingLocation(saml.HTTPRedirectBinding), saml.HTTPRedirectBinding, saml.HTTPArtifactBinding)
		if err != nil {
			t.Fatal(err)
		}
		u, err := req.Redirect("", other)
		if err != nil {
			t.Fatal(err)
		}
		resp := get(t, noFollow(nil), u.String()+"&login_hint=alice")
		body(resp)
		to := resp.Header.Get("Location")
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(to, acs+"?SAMLart=") {
			t.Fatalf("the IdP answered %d to %q, want an artifact for the proxy's ACS", resp.StatusCode, to)
		}
		refusedAtACS(t, e, to, saml.StatusRequester)
	})
	t.Run("unknown artifact", func(t *testing.T) {
		raw := make([]byte, 44)
		raw[1] = 4
		source := sha1.Sum([]byte(idpEntity)) //nolint:gosec // see the import
		copy(raw[4:], source[:])
		_, _ = rand.Read(raw[24:])
		refusedAtACS(t, e, acs+"?SAMLart="+url.QueryEscape(base64.StdEncoding.EncodeToString(raw)), saml.StatusRequester)
	})
	t.Run("artifact of another IdP", func(t *testing.T) {
		raw := make([]byte, 44)
		raw[1] = 4
		_, _ = rand.Read(raw[4:])
		refusedAtACS(t, e, acs+"?SAMLart="+url.QueryEscape(base64.StdEncoding.EncodeToString(raw)), "SourceID")
	})
	t.Run("not an artifact", func(t *testing.T) {
		refusedAtACS(t, e, acs+"?SAMLart=%00x", "artifact")
	})
}

func mustParse(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// samlRequestOf is the AuthnRequest an HTTP-Redirect binding URL carries.
func samlRequestOf(t *testing.T, u string) string {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(mustParse(t, u).Query().Get("SAMLRequest"))
	if err != nil {
		t.Fatal(err)
	}
	x, err := io.ReadAll(flate.NewReader(bytes.NewReader(raw)))
	if err != nil {
		t.Fatal(err)
	}
	return string(x)
}

// An IdP whose metadata has no ArtifactResolutionService cannot have its
// artifacts resolved: the login fails saying so, not with a network error.
func TestSAMLArtifactOfAnIdPWithoutAResolutionServiceIsNamed(t *testing.T) {
	backend := echoBackend(t, "api")
	s := artifactSetup(t, "alice", backend.URL)
	artifact := s.tweak
	s.tweak = func(o *devproxy.Options) {
		artifact(o)
		md, err := samlsp.FetchMetadata(t.Context(), http.DefaultClient, *mustParse(t, o.Environments[0].SAML.Metadata))
		if err != nil {
			t.Fatal(err)
		}
		idp := &md.IDPSSODescriptors[0]
		idp.SSODescriptor.ArtifactResolutionServices, idp.ArtifactResolutionServices = nil, nil
		raw, _ := xml.Marshal(md)
		file := filepath.Join(t.TempDir(), "idp.xml")
		if err := os.WriteFile(file, raw, 0o600); err != nil {
			t.Fatal(err)
		}
		o.Environments[0].SAML.Metadata = file
	}
	e := start(t, s)
	resp := get(t, newBrowser(t).Client, e.url+"/")
	if text := html.UnescapeString(body(resp)); resp.StatusCode != http.StatusBadGateway || !strings.Contains(text, "names no ArtifactResolutionService") {
		t.Fatalf("want 502 naming the missing ArtifactResolutionService, got %d:\n%s", resp.StatusCode, text)
	}
}
