package mockidp_test

import (
	"bytes"
	"crypto/rand"
	"crypto/sha1" //nolint:gosec // the artifact's SourceID is SHA-1 by definition
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/authdev/authdev/mockidp"
	"github.com/authdev/authdev/mockidp/idptest"
)

// artifactSP is testSP resolving artifacts at the loopback IdP over plain
// HTTP, checking their SourceID against the IdP's entity id.
func artifactSP(t *testing.T, srv *mockidp.Server, entityID, acs string) *saml.ServiceProvider {
	sp := testSP(t, srv, "dev", entityID, acs)
	sp.AllowInsecureSOAPEndpoints, sp.RequireStandardArtifacts = true, true
	return sp
}

// artifactLogin logs alice in to sp asking for the HTTP-Artifact binding
// and returns the AuthnRequest ID and the IdP's redirect to the ACS.
func artifactLogin(t *testing.T, sp *saml.ServiceProvider, relayState string) (string, *url.URL) {
	t.Helper()
	id, u := redirectLoginFor(t, sp, relayState, "alice", saml.HTTPArtifactBinding)
	resp, err := browser(t).Get(u)
	if err != nil {
		t.Fatal(err)
	}
	p := readAll(t, resp)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("an AuthnRequest asking for HTTP-Artifact got %d, want a redirect to the ACS:\n%s", resp.StatusCode, p.body)
	}
	return id, mustURL(t, location(t, resp))
}

// atACS is the browser's arrival at the ACS with the IdP's redirect.
func atACS(t *testing.T, to *url.URL) *http.Request {
	r, _ := http.NewRequest(http.MethodGet, to.String(), nil)
	if err := r.ParseForm(); err != nil {
		t.Fatal(err)
	}
	return r
}

// resolveRaw posts an ArtifactResolve for art with issuer to the IdP's
// artifact resolution service and returns the ArtifactResponse.
func resolveRaw(t *testing.T, srv *mockidp.Server, issuer, art string) (saml.ArtifactResponse, string) {
	t.Helper()
	ar := saml.ArtifactResolve{ID: "id-resolve", Version: "2.0", Issuer: &saml.Issuer{Value: issuer}, Artifact: art}
	doc := etree.NewDocument()
	doc.SetRoot(ar.SoapRequest())
	body, _ := doc.WriteToBytes()
	resp, err := http.Post(srv.SAMLEndpoints("dev").ArtifactResolution, "text/xml", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	p := readAll(t, resp)
	var env struct {
		Body struct {
			Response saml.ArtifactResponse `xml:"urn:oasis:names:tc:SAML:2.0:protocol ArtifactResponse"`
		} `xml:"http://schemas.xmlsoap.org/soap/envelope/ Body"`
	}
	if err := xml.Unmarshal([]byte(p.body), &env); p.status != http.StatusOK || err != nil {
		t.Fatalf("the artifact resolution service answered %d (%v):\n%s", p.status, err, p.body)
	}
	return env.Body.Response, p.body
}

// wantDenied asserts an ArtifactResponse refuses with Requester /
// RequestDenied, a message naming why, and no Response.
func wantDenied(t *testing.T, ar saml.ArtifactResponse, body, why string) {
	t.Helper()
	sc := ar.Status.StatusCode
	if sc.Value != saml.StatusRequester || sc.StatusCode == nil || sc.StatusCode.Value != saml.StatusRequestDenied ||
		ar.Status.StatusMessage == nil || !strings.Contains(ar.Status.StatusMessage.Value, why) || strings.Contains(body, "Assertion") {
		t.Fatalf("want RequestDenied saying %q and no Response, got:\n%s", why, body)
	}
}

// SAML 2.0 Bindings §3.6 (HTTP-Artifact), §3.6.4 (type 0x0004: SourceID is
// the SHA-1 of the IdP's entity id), §3.6.5.2 (an artifact is resolved
// once): https://docs.oasis-open.org/security/saml/v2.0/saml-bindings-2.0-os.pdf
func TestSAMLArtifactBindingResolvesOnceToTheSignedResponse(t *testing.T) {
	srv := idptest.NewTestServer(t, idptest.Config(t, samlYAML))
	sp := artifactSP(t, srv, "https://app.example.com/saml", "https://app.example.com/saml/acs")
	ars := sp.GetArtifactBindingLocation(saml.SOAPBinding)
	if ars != srv.SAMLEndpoints("dev").ArtifactResolution {
		t.Fatalf("the metadata's SOAP ArtifactResolutionService is %q, want %q", ars, srv.SAMLEndpoints("dev").ArtifactResolution)
	}
	id, to := artifactLogin(t, sp, "/after")
	art := to.Query().Get("SAMLart")
	raw, _ := base64.StdEncoding.DecodeString(art)
	source := sha1.Sum([]byte(srv.SAMLEndpoints("dev").Metadata)) //nolint:gosec // see the import
	if to.Host != "app.example.com" || to.Path != "/saml/acs" || to.Query().Get("RelayState") != "/after" ||
		len(raw) != 44 || raw[0] != 0 || raw[1] != 4 || !bytes.Equal(raw[4:24], source[:]) {
		t.Fatalf("redirect %s: want the ACS with a type 0x0004 artifact of this IdP and the RelayState", to)
	}
	a, err := sp.ParseResponse(atACS(t, to), []string{id})
	if err != nil {
		t.Fatalf("crewjam/saml's SP could not resolve the artifact: %v", errDetail(err))
	}
	if a.Subject.NameID.Value != "alice@example.com" || a.Signature == nil {
		t.Fatalf("resolved assertion for %q, signed: %v", a.Subject.NameID.Value, a.Signature != nil)
	}
	if _, err := sp.ParseResponse(atACS(t, to), []string{id}); err == nil {
		t.Fatal("a replayed artifact was resolved again")
	}
	ar, body := resolveRaw(t, srv, sp.EntityID, art)
	wantDenied(t, ar, body, "unknown, expired or already resolved")
}

func TestSAMLArtifactIsResolvedOnlyForTheSPItWasIssuedTo(t *testing.T) {
	srv := idptest.NewTestServer(t, idptest.Config(t, samlYAML))
	sp := artifactSP(t, srv, "https://app.example.com/saml", "https://app.example.com/saml/acs")
	_, to := artifactLogin(t, sp, "")
	art := to.Query().Get("SAMLart")
	ar, body := resolveRaw(t, srv, "https://persistent.example.com", art)
	wantDenied(t, ar, body, `issued to another service provider than "https://persistent.example.com"`)
	// The attempt used the artifact up: the SP it was issued to cannot
	// have it either, so a stolen artifact is worth one try.
	ar, body = resolveRaw(t, srv, sp.EntityID, art)
	wantDenied(t, ar, body, "already resolved")

	unknown := make([]byte, 44)
	unknown[1] = 4
	source := sha1.Sum([]byte(srv.SAMLEndpoints("dev").Metadata)) //nolint:gosec // see the import
	copy(unknown[4:], source[:])
	_, _ = rand.Read(unknown[24:])
	ar, body = resolveRaw(t, srv, sp.EntityID, base64.StdEncoding.EncodeToString(unknown))
	wantDenied(t, ar, body, "unknown")
}

// An SP whose metadata gives its ACS the HTTP-Artifact binding gets
// artifacts without asking, also IdP-initiated; a signed ArtifactResolve
// must carry the signature of the SP's metadata key.
func TestSAMLArtifactForAnSPWhoseMetadataAsksAndSignedResolve(t *testing.T) {
	key, cert := spKey(t)
	sp := &saml.ServiceProvider{EntityID: "https://art.example.com/sp", AcsURL: *mustURL(t, "https://art.example.com/acs"),
		Key: key, Certificate: cert, SignatureMethod: dsig.RSASHA256SignatureMethod, AllowInsecureSOAPEndpoints: true, RequireStandardArtifacts: true}
	md := sp.Metadata()
	md.SPSSODescriptors[0].AssertionConsumerServices = []saml.IndexedEndpoint{{Binding: saml.HTTPArtifactBinding, Location: sp.AcsURL.String()}}
	file := filepath.Join(t.TempDir(), "sp.xml")
	raw, _ := xml.Marshal(md)
	if err := os.WriteFile(file, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	srv := idptest.NewTestServer(t, idptest.Config(t, `
idp:
  saml:
    service_providers:
      - {metadata: `+file+`}
personas: {alice: {email: alice@example.com}}
`))
	sp.IDPMetadata = testSP(t, srv, "dev", sp.EntityID, sp.AcsURL.String()).IDPMetadata

	// No ProtocolBinding: the metadata's binding of the ACS decides.
	id, u := redirectLoginFor(t, sp, "", "alice", "")
	resp, err := browser(t).Get(u)
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, resp)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("an SP whose ACS is HTTP-Artifact got %d, want the artifact redirect", resp.StatusCode)
	}
	if a, err := sp.ParseResponse(atACS(t, mustURL(t, location(t, resp))), []string{id}); err != nil || a.Subject.NameID.Value != "alice@example.com" {
		t.Fatalf("a signed ArtifactResolve was not answered: %v", errDetail(err))
	}

	idpInitiated := func() *http.Request {
		resp, err := browser(t).Get(srv.SAMLEndpoints("dev").IDPInitiated + "?login_hint=alice&sp=" + url.QueryEscape(sp.EntityID))
		if err != nil {
			t.Fatal(err)
		}
		readAll(t, resp)
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("IdP-initiated login to an HTTP-Artifact ACS got %d, want the artifact redirect", resp.StatusCode)
		}
		return atACS(t, mustURL(t, location(t, resp)))
	}
	sp.AllowIDPInitiated = true
	ownKey, ownCert := sp.Key, sp.Certificate
	// Signed by a key the SP's metadata does not hold: refused.
	sp.Key, sp.Certificate = spKey(t)
	if _, err := sp.ParseResponse(idpInitiated(), nil); err == nil || !strings.Contains(errDetail(err), "Requester") {
		t.Fatalf("an ArtifactResolve signed by another key: %v, want the IdP's Requester status", errDetail(err))
	}
	sp.Key, sp.Certificate = ownKey, ownCert
	if _, err := sp.ParseResponse(idpInitiated(), nil); err != nil {
		t.Fatalf("IdP-initiated artifact login: %v", errDetail(err))
	}
}

// pysaml2 as an HTTP-Artifact SP (strict: signed response and assertion,
// no unsolicited responses): its AuthnRequest asks for the artifact
// binding, and it resolves the artifact at the ArtifactResolutionService
// of authdev's metadata over SOAP:
// https://pysaml2.readthedocs.io/en/latest/howto/config.html
func TestPysaml2ResolvesTheIdPsArtifacts(t *testing.T) {
	srv := idptest.NewTestServer(t, idptest.Config(t, samlYAML))
	sp, start := pysaml2Start(t, srv, "dev", "artifact-request")
	resp, err := browser(t).Get(start.URL + "&login_hint=alice")
	if err != nil {
		t.Fatal(err)
	}
	p := readAll(t, resp)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("pysaml2's AuthnRequest for HTTP-Artifact got %d:\n%s", resp.StatusCode, p.body)
	}
	art := mustURL(t, location(t, resp)).Query().Get("SAMLart")
	out, err := pysaml2(t, art, append([]string{"artifact-response"}, append(sp, start.ID)...)...)
	if err != nil {
		t.Fatalf("pysaml2 could not resolve authdev's artifact: %v\n%s", err, out)
	}
	var got struct {
		NameID string `json:"name_id"`
		Issuer string `json:"issuer"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil || got.NameID != "alice@example.com" || got.Issuer != srv.SAMLEndpoints("dev").Metadata {
		t.Fatalf("pysaml2 read %s (%v)", out, err)
	}
	if out, err := pysaml2(t, art, append([]string{"artifact-response"}, append(sp, start.ID)...)...); err == nil {
		t.Fatalf("pysaml2 resolved a used artifact again:\n%s", out)
	}
}

// An artifact is short-lived (saml-bindings §3.6.5.2: "a few minutes" at
// most): a minute after it was issued it no longer resolves.
func TestSAMLArtifactExpiresAfterAMinute(t *testing.T) {
	clk := newClock()
	srv := idptest.NewTestServer(t, idptest.Config(t, samlYAML), mockidp.Options{Now: clk.Now})
	sp := artifactSP(t, srv, "https://app.example.com/saml", "https://app.example.com/saml/acs")
	_, to := artifactLogin(t, sp, "")
	clk.Advance(time.Minute + time.Second)
	ar, body := resolveRaw(t, srv, sp.EntityID, to.Query().Get("SAMLart"))
	wantDenied(t, ar, body, "expired")
}
