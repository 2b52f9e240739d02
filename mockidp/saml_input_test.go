package mockidp_test

import (
	"bytes"
	"compress/flate"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/authdev/authdev/mockidp/idptest"
)

// deflated is raw deflated and base64-encoded, as HTTP-Redirect carries it.
func deflated(t testing.TB, raw []byte) string {
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.BestCompression)
	if _, err := w.Write(raw); err != nil {
		t.Fatal(err)
	}
	w.Close()
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}

const xxeRequest = `<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="id-1" Version="2.0" IssueInstant="2026-01-01T00:00:00Z" AssertionConsumerServiceURL="https://app.example.com/saml/acs"><saml:Issuer>&xxe;</saml:Issuer></samlp:AuthnRequest>`

func TestSAMLBadInputGetsAClearErrorPage(t *testing.T) {
	srv := idptest.NewTestServer(t, idptest.Config(t, samlYAML))
	sso := srv.SAMLEndpoints("dev").SSO
	bomb := deflated(t, bytes.Repeat([]byte("A"), 20<<20))
	redirectBack := strings.Replace(strings.Replace(xxeRequest, "<!DOCTYPE r [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>", "", 1), "&xxe;",
		"https://app.example.com/saml", 1)
	// HTTP-Redirect cannot carry a Response (saml-profiles §4.1.2).
	redirectBack = strings.Replace(redirectBack, `Version=`, `ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Version=`, 1)
	cases := []struct {
		name, method, body string
		query              url.Values
		status             int
		want               string
	}{
		{"not base64", "GET", "", url.Values{"SAMLRequest": {"!!!not base64"}}, 400, "cannot decode"},
		{"not deflated", "GET", "", url.Values{"SAMLRequest": {base64.StdEncoding.EncodeToString([]byte("<x/>"))}}, 400, "cannot decompress"},
		{"deflate bomb", "GET", "", url.Values{"SAMLRequest": {bomb}}, 400, "limit"},
		{"not XML", "POST", url.Values{"SAMLRequest": {base64.StdEncoding.EncodeToString([]byte("hello"))}}.Encode(), nil, 400, "not XML"},
		{"entities and a DTD", "POST", url.Values{"SAMLRequest": {base64.StdEncoding.EncodeToString([]byte(xxeRequest))}}.Encode(), nil, 400, "DTD"},
		{"DTD over HTTP-Redirect", "GET", "", url.Values{"SAMLRequest": {deflated(t, []byte(xxeRequest))}}, 400, "DTD"},
		{"oversized POST", "POST", "SAMLRequest=" + strings.Repeat("A", 300<<10), nil, 400, "too large"},
		{"response by HTTP-Redirect", "POST", url.Values{"SAMLRequest": {base64.StdEncoding.EncodeToString([]byte(redirectBack))}}.Encode(), nil, 400, "HTTP-Artifact"},
		{"unknown binding (PUT)", "PUT", "", url.Values{"SAMLRequest": {"x"}}, 405, "GET (HTTP-Redirect binding) or POST"},
		{"no SAMLRequest", "GET", "", nil, 400, "idp-initiated"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest(c.method, sso+"?"+c.query.Encode(), strings.NewReader(c.body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			p := readAll(t, resp)
			if p.status != c.status || !strings.Contains(p.body, c.want) || strings.Contains(p.body, "root:") || strings.Contains(p.body, "SAMLResponse") {
				t.Fatalf("want %d naming %q, got %d:\n%s", c.status, c.want, p.status, p.body)
			}
			if ct := p.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
				t.Errorf("Content-Type %q, want an HTML page", ct)
			}
		})
	}
}
