package mockidp_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/crewjam/saml/samlsp"

	"github.com/authdev/authdev/internal/testkit"
	"github.com/authdev/authdev/mockidp"
	"github.com/authdev/authdev/mockidp/idptest"
)

// idpCertPEM is the IdP's signing certificate of env as its metadata
// publishes it.
func idpCertPEM(t *testing.T, srv *mockidp.Server, env string) []byte {
	t.Helper()
	md, err := samlsp.FetchMetadata(context.Background(), nil, *mustURL(t, srv.SAMLEndpoints(env).Metadata))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range md.IDPSSODescriptors[0].KeyDescriptors {
		if k.Use == "signing" {
			data := k.KeyInfo.X509Data.X509Certificates[0].Data
			der, err := base64Decode(data)
			if err != nil {
				t.Fatal(err)
			}
			return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
		}
	}
	t.Fatal("the metadata has no signing certificate")
	return nil
}

// withoutResponseSignature removes the Response's own signature, so that
// xmlsec1 (which verifies the first signature it finds) checks the
// assertion's.
func withoutResponseSignature(t *testing.T, raw []byte) []byte {
	t.Helper()
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(raw); err != nil {
		t.Fatal(err)
	}
	if sig := doc.Root().SelectElement("Signature"); sig != nil {
		doc.Root().RemoveChild(sig)
	}
	out, err := doc.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestXmlsec1VerifiesTheSignedResponseAndAssertion(t *testing.T) {
	srv := idptest.NewTestServer(t, idptest.Config(t, samlYAML))
	cert := idpCertPEM(t, srv, "dev")
	sp := testSP(t, srv, "dev", "https://app.example.com/saml", "https://app.example.com/saml/acs")
	_, u := redirectLogin(t, sp, "", "alice")
	raw := parseSAMLForm(t, get(t, browser(t), u)).responseXML(t)

	for name, doc := range map[string][]byte{"response": raw, "assertion": withoutResponseSignature(t, raw)} {
		t.Run(name, func(t *testing.T) {
			out, err := testkit.XMLSec1Verify(t, doc, cert)
			if err != nil || !strings.Contains(out, "OK") {
				t.Fatalf("xmlsec1 refused the %s signature: %v\n%s", name, err, out)
			}
			tampered := bytes.Replace(doc, []byte("alice@example.com"), []byte("mallory@example.com"), 1)
			if out, err := testkit.XMLSec1Verify(t, tampered, cert); err == nil {
				t.Fatalf("xmlsec1 accepted a tampered %s:\n%s", name, out)
			}
		})
	}
}

// pysaml2 runs testdata/pysaml2_sp.py with Debian's python3-pysaml2.
func pysaml2(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	python := testkit.RequirePeer(t, "/usr/bin/python3", "apt-get install python3-pysaml2")
	if err := exec.Command(python, "-c", "import saml2").Run(); err != nil {
		testkit.RequirePeer(t, "/usr/lib/python3/dist-packages/saml2", "apt-get install python3-pysaml2")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, append([]string{"testdata/pysaml2_sp.py"}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return stderr.String(), err
	}
	return string(out), nil
}

// pysaml2Start has pysaml2, as the SP app.example.com trusting env's
// metadata, make its AuthnRequest (mode "request" or "artifact-request"):
// it returns the SP's arguments and the request's URL and ID.
func pysaml2Start(t *testing.T, srv *mockidp.Server, env, mode string) ([]string, pysaml2Request) {
	t.Helper()
	md := get(t, browser(t), srv.SAMLEndpoints(env).Metadata)
	mdPath := filepath.Join(t.TempDir(), "idp.xml")
	if err := os.WriteFile(mdPath, []byte(md.body), 0o600); err != nil {
		t.Fatal(err)
	}
	sp := []string{mdPath, "https://app.example.com/saml", "https://app.example.com/saml/acs"}
	out, err := pysaml2(t, "", append([]string{mode}, sp...)...)
	if err != nil {
		t.Fatalf("pysaml2 could not build an AuthnRequest from authdev's metadata: %v\n%s", err, out)
	}
	var start pysaml2Request
	if err := json.Unmarshal([]byte(out), &start); err != nil {
		t.Fatal(err)
	}
	return sp, start
}

// pysaml2Request is pysaml2's AuthnRequest: its HTTP-Redirect URL and ID.
type pysaml2Request struct{ URL, ID string }

// A strict pysaml2 SP (signed response and assertion required, no
// unsolicited responses) starts the login and consumes authdev's answer:
// https://pysaml2.readthedocs.io/en/latest/howto/config.html
func TestPysaml2ConsumesTheIdPsResponsesInStrictMode(t *testing.T) {
	srv := idptest.NewTestServer(t, idptest.Config(t, samlYAML))
	for _, env := range []string{"dev", "prod"} {
		t.Run(env, func(t *testing.T) {
			sp, start := pysaml2Start(t, srv, env, "request")
			f := parseSAMLForm(t, get(t, browser(t), start.URL+"&login_hint=alice"))
			out, err := pysaml2(t, f.SAMLResponse, append([]string{"response"}, append(sp, start.ID)...)...)
			if err != nil {
				t.Fatalf("pysaml2 refused authdev's response: %v\n%s", err, out)
			}
			var got struct {
				NameID     string              `json:"name_id"`
				Issuer     string              `json:"issuer"`
				Attributes map[string][]string `json:"attributes"`
			}
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatal(err)
			}
			if got.NameID != "alice@example.com" || got.Issuer != srv.SAMLEndpoints(env).Metadata || len(got.Attributes) < 4 {
				t.Fatalf("pysaml2 read %+v", got)
			}
			tampered := base64.StdEncoding.EncodeToString(bytes.Replace(f.responseXML(t), []byte("alice@example.com"), []byte("bob@example.com"), -1))
			if out, err := pysaml2(t, tampered, append([]string{"response"}, append(sp, start.ID)...)...); err == nil {
				t.Fatalf("pysaml2 accepted a tampered response:\n%s", out)
			}
		})
	}
}
