package devproxy_test

import (
	"crypto/x509"
	"encoding/base64"
	"html"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/crewjam/saml/samlsp"

	"github.com/authdev/authdev/devproxy"
	"github.com/authdev/authdev/internal/testkit"
)

// idpSigningCert is the signing certificate in the SAML metadata at md, as
// an ADC administrator copies it for -samlIdPCertName.
func idpSigningCert(t *testing.T, md string) *x509.Certificate {
	t.Helper()
	resp, err := http.Get(md)
	if err != nil {
		t.Fatal(err)
	}
	meta, err := samlsp.ParseMetadata([]byte(body(resp)))
	if err != nil {
		t.Fatal(err)
	}
	data := meta.IDPSSODescriptors[0].KeyDescriptors[0].KeyInfo.X509Data.X509Certificates[0].Data
	der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(data), ""))
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// An IdP-initiated login (an unsolicited SAMLResponse at /cgi/samlauth)
// goes to the samlAction whose IdP sent it, among the environment's: by
// its Issuer, the entity id of the IdP's metadata; for a samlAction given
// by -samlRedirectUrl and -samlIdPCertName, whose IdP has no entity id,
// the first whose certificate verifies it, as the ADC trusts only that
// certificate:
// https://docs.citrix.com/ko-kr/netscaler/11-1/reference/netscaler-command-reference/authentication/authentication-samlaction.html
// A response that no samlAction's IdP signed is refused. The samlAction
// that took it names the user (-samlUserField): dev's "email", prod's or
// the certificate's "name".
func TestSAMLIdPInitiatedLoginGoesToTheSAMLActionOfItsIdP(t *testing.T) {
	backend := echoBackend(t, "api")
	_, stranger := testkit.RSACertificate(t, "stranger.example.com")
	// logins builds dev's SAML logins from the IdP's dev and prod
	// environments (two IdPs, two entity ids), by name.
	logins := func(names ...string) func(*devproxy.Options) {
		return func(o *devproxy.Options) {
			dev, prod := *o.Environments[0].SAML, *o.Environments[1].SAML
			devCert := idpSigningCert(t, dev.Metadata)
			all := map[string]devproxy.SAMLLogin{
				"saml_dev":      {Name: "saml_dev", Metadata: dev.Metadata, Attributes: dev.Attributes, UserField: "email"},
				"saml_prod":     {Name: "saml_prod", Metadata: prod.Metadata, Attributes: prod.Attributes, UserField: "name"},
				"saml_cert":     {Name: "saml_cert", SSOURL: "https://idp.example.com/sso", IdPCertificate: devCert, Attributes: dev.Attributes, UserField: "name"},
				"saml_stranger": {Name: "saml_stranger", SSOURL: "https://stranger.example.com/sso", IdPCertificate: stranger, Attributes: dev.Attributes, UserField: "name"},
			}
			env := &o.Environments[0]
			env.SAMLLogins = nil
			for _, n := range names {
				l := all[n]
				env.SAMLLogins = append(env.SAMLLogins, &l)
			}
			env.SAML = env.SAMLLogins[0]
		}
	}
	for _, tc := range []struct {
		name   string
		logins []string
		from   string // the IdP's environment that sends the response
		code   int
		user   string
	}{
		{"by issuer, dev", []string{"saml_stranger", "saml_prod", "saml_dev"}, "dev", http.StatusOK, "bob@example.com"},
		{"by issuer, prod", []string{"saml_stranger", "saml_dev", "saml_prod"}, "prod", http.StatusOK, "Bob Builder"},
		{"by certificate", []string{"saml_prod", "saml_stranger", "saml_cert", "saml_dev"}, "dev", http.StatusOK, "Bob Builder"},
		{"by issuer before a later certificate", []string{"saml_dev", "saml_cert"}, "dev", http.StatusOK, "bob@example.com"},
		{"no IdP of the environment", []string{"saml_prod", "saml_stranger"}, "dev", http.StatusUnauthorized, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := samlSetup(t, "", backend.URL)
			s.tweak = logins(tc.logins...)
			e := start(t, s)
			b := newBrowser(t)
			post := readSAMLPost(t, get(t, b.Client, e.idp.SAMLEndpoints(tc.from).IDPInitiated+"?sp=urn:authdev:proxy&login_hint=bob"))
			resp := post.submit(t, b.Client)
			if tc.code != http.StatusOK {
				if text := html.UnescapeString(body(resp)); resp.StatusCode != tc.code || !strings.Contains(text, "the SAML response was refused") {
					t.Fatalf("a response from %s's IdP with logins %v answered %d, want %d:\n%s", tc.from, tc.logins, resp.StatusCode, tc.code, text)
				}
				return
			}
			if got := readSeen(t, resp).header("X-Remote-User"); len(got) != 1 || got[0] != tc.user {
				t.Fatalf("after an IdP-initiated login from %s's IdP with logins %v the backend sees user %v, want %q", tc.from, tc.logins, got, tc.user)
			}
		})
	}
}

// Several SAML logins at different IdPs share one reading of each IdP's
// metadata (until it is a minute old): trying an unsolicited response
// against each login does not read them again and again.
func TestSAMLLoginsAtSeveralIdPsReadEachMetadataOnce(t *testing.T) {
	backend := echoBackend(t, "api")
	var mu sync.Mutex
	reads := map[string]int{}
	s := samlSetup(t, "", backend.URL)
	s.tweak = func(o *devproxy.Options) {
		dev, prod := *o.Environments[0].SAML, *o.Environments[1].SAML
		origin := map[string]string{"/dev": dev.Metadata, "/prod": prod.Metadata}
		counting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			reads[r.URL.Path]++
			mu.Unlock()
			resp, err := http.Get(origin[r.URL.Path])
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			w.Write([]byte(body(resp)))
		}))
		t.Cleanup(counting.Close)
		env := &o.Environments[0]
		env.SAMLLogins = []*devproxy.SAMLLogin{
			{Name: "saml_dev", Metadata: counting.URL + "/dev", Attributes: dev.Attributes},
			{Name: "saml_prod", Metadata: counting.URL + "/prod", Attributes: prod.Attributes},
		}
		env.SAML = env.SAMLLogins[0]
	}
	e := start(t, s)
	for _, from := range []string{"dev", "prod", "dev", "prod"} {
		b := newBrowser(t)
		post := readSAMLPost(t, get(t, b.Client, e.idp.SAMLEndpoints(from).IDPInitiated+"?sp=urn:authdev:proxy&login_hint=bob"))
		if got := readSeen(t, post.submit(t, b.Client)).header("X-Remote-User"); len(got) != 1 || got[0] != "bob@example.com" {
			t.Fatalf("after an IdP-initiated login from %s's IdP the backend sees %v", from, got)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if reads["/dev"] != 1 || reads["/prod"] != 1 {
		t.Errorf("the IdPs' metadata was read %v times, want once each", reads)
	}
}
