package mockidp

import (
	"bytes"
	"compress/flate"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// FuzzSAMLRequest feeds arbitrary AuthnRequests to the SSO service over
// both bindings: it answers a page or the picker, never a panic, a server
// error or, for a request nobody registered, a SAMLResponse.
func FuzzSAMLRequest(f *testing.F) {
	srv := fuzzServer(f)
	for _, seed := range []string{
		`<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="id-1" Version="2.0" IssueInstant="2026-01-01T00:00:00Z" AssertionConsumerServiceURL="http://127.0.0.1:1/cgi/samlauth"><saml:Issuer>urn:authdev:proxy</saml:Issuer></samlp:AuthnRequest>`,
		`<!DOCTYPE a [<!ENTITY b "c">]><a>&b;</a>`,
		`<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ProtocolBinding="x"/>`,
		"", "\x00\xff", "<a",
	} {
		f.Add([]byte(seed), true)
		f.Add([]byte(seed), false)
	}
	h := srv.Handler()
	f.Fuzz(func(t *testing.T, raw []byte, redirect bool) {
		var r *http.Request
		if redirect {
			var buf bytes.Buffer
			w, _ := flate.NewWriter(&buf, flate.BestSpeed)
			_, _ = w.Write(raw)
			_ = w.Close()
			q := url.Values{"SAMLRequest": {base64.StdEncoding.EncodeToString(buf.Bytes())}, "RelayState": {string(raw)}}
			r = httptest.NewRequest(http.MethodGet, "/dev/saml/sso?"+q.Encode(), nil)
		} else {
			body := url.Values{"SAMLRequest": {base64.StdEncoding.EncodeToString(raw)}}.Encode()
			r = httptest.NewRequest(http.MethodPost, "/dev/saml/sso", strings.NewReader(body))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code >= 500 {
			t.Fatalf("status %d for %q:\n%s", rec.Code, raw, rec.Body)
		}
		if strings.Contains(rec.Body.String(), `name="SAMLResponse"`) {
			t.Fatalf("a SAMLResponse for an unsolicited request %q:\n%s", raw, rec.Body)
		}
	})
}

// FuzzSAMLArtifactResolve feeds arbitrary SOAP messages to the artifact
// resolution service: it answers an ArtifactResponse without a Response
// (no artifact was issued) or a plain refusal, never a panic or a server
// error.
func FuzzSAMLArtifactResolve(f *testing.F) {
	srv := fuzzServer(f)
	for _, seed := range []string{
		`<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><samlp:ArtifactResolve xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="id-1" Version="2.0" IssueInstant="2026-01-01T00:00:00Z"><saml:Issuer>urn:authdev:proxy</saml:Issuer><samlp:Artifact>AAQAAA==</samlp:Artifact></samlp:ArtifactResolve></soapenv:Body></soapenv:Envelope>`,
		`<!DOCTYPE a [<!ENTITY b "c">]><a>&b;</a>`,
		`<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body/></soapenv:Envelope>`,
		"", "\x00\xff", "<a",
	} {
		f.Add([]byte(seed))
	}
	h := srv.Handler()
	f.Fuzz(func(t *testing.T, raw []byte) {
		r := httptest.NewRequest(http.MethodPost, "/dev/saml/artifact", bytes.NewReader(raw))
		r.Header.Set("Content-Type", "text/xml")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != http.StatusOK && rec.Code != http.StatusBadRequest {
			t.Fatalf("status %d for %q:\n%s", rec.Code, raw, rec.Body)
		}
		if strings.Contains(rec.Body.String(), "Assertion") {
			t.Fatalf("a Response for %q, though no artifact was issued:\n%s", raw, rec.Body)
		}
	})
}
