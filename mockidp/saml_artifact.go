package mockidp

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/beevik/etree"
	"github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/authdev/authdev/audit"
	"github.com/authdev/authdev/config"
)

// The HTTP-Artifact binding (saml-bindings §3.6): the browser carries a
// reference (SAMLart) to the SP's assertion consumer service, and the SP
// fetches the Response it stands for from the artifact resolution service
// over SOAP.
const (
	samlArtifactPath = "/saml/artifact"
	// samlArtifactTTL is how long an artifact can be resolved: the
	// browser's redirect and one back-channel call (saml-bindings
	// §3.6.5.2 asks for "a few minutes" at most).
	samlArtifactTTL  = time.Minute
	maxSAMLArtifacts = 10000
	// samlArtifactTypeCode is SAML 2.0's only artifact format, and
	// samlArtifactIndex the index of the one ArtifactResolutionService
	// the metadata publishes.
	samlArtifactTypeCode = 0x0004
	samlArtifactIndex    = 0
	soapEnvelopeNS       = "http://schemas.xmlsoap.org/soap/envelope/"
)

// issuedArtifact is a Response waiting at env's artifact resolution
// service for the service provider it was issued to.
type issuedArtifact struct {
	sp       string
	response *etree.Element
}

// wantsArtifact reports whether req's Response goes by the HTTP-Artifact
// binding: the AuthnRequest asks for it (ProtocolBinding), or asks for no
// binding and the SP's metadata gives the chosen ACS that binding.
func (h *samlIdP) wantsArtifact(req *saml.IdpAuthnRequest) bool {
	if b := req.Request.ProtocolBinding; b != "" {
		return b == saml.HTTPArtifactBinding
	}
	return req.ACSEndpoint != nil && h.ep.s.samlSPs.artifactACS(req.ServiceProviderMetadata.EntityID, req.ACSEndpoint.Location)
}

// sendArtifact keeps req's Response for the SP and sends the browser to
// its ACS with the artifact (saml-bindings §3.6.3, by redirect).
func (h *samlIdP) sendArtifact(w http.ResponseWriter, req *saml.IdpAuthnRequest) error {
	art, err := h.newArtifact(req.IDP.MetadataURL.String())
	if err != nil {
		return err
	}
	h.ep.s.samlArtifacts.Put(h.ep.artifactKey(art), &issuedArtifact{sp: req.ServiceProviderMetadata.EntityID, response: req.ResponseEl})
	u, err := url.Parse(req.ACSEndpoint.Location)
	if err != nil {
		return err
	}
	q := u.Query()
	q.Set("SAMLart", art)
	if req.RelayState != "" {
		q.Set("RelayState", req.RelayState)
	}
	u.RawQuery = q.Encode()
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Location", u.String())
	w.WriteHeader(http.StatusSeeOther)
	return nil
}

// newArtifact is a type 0x0004 artifact (saml-bindings §3.6.4): TypeCode,
// EndpointIndex, SourceID (SHA-1 of the IdP's entity id) and a random
// MessageHandle.
func (h *samlIdP) newArtifact(entityID string) (string, error) {
	raw := make([]byte, config.SAMLArtifactLength)
	binary.BigEndian.PutUint16(raw[0:2], samlArtifactTypeCode)
	binary.BigEndian.PutUint16(raw[2:4], samlArtifactIndex)
	source := config.SAMLArtifactSourceID(entityID)
	copy(raw[4:24], source[:])
	if _, err := io.ReadFull(h.ep.s.rand, raw[24:]); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(raw), nil
}

// artifactKey keeps environments' artifacts apart: one resolves only at
// the service of the environment that issued it.
func (ep *issuerEP) artifactKey(art string) string { return ep.env.cfg.Name + " " + art }

// soapArtifactResolve is the SOAP message the artifact resolution service
// takes.
type soapArtifactResolve struct {
	XMLName xml.Name `xml:"http://schemas.xmlsoap.org/soap/envelope/ Envelope"`
	Body    struct {
		Resolve *saml.ArtifactResolve `xml:"urn:oasis:names:tc:SAML:2.0:protocol ArtifactResolve"`
	} `xml:"http://schemas.xmlsoap.org/soap/envelope/ Body"`
}

// samlArtifactResolve is the artifact resolution service (SOAP binding):
// an ArtifactResolve gets the Response its artifact stands for, once, and
// only from the SP it was issued to; anything else gets an ArtifactResponse
// with an error status and no Response.
func (ep *issuerEP) samlArtifactResolve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		ep.s.errorPage(w, http.StatusMethodNotAllowed, "Method not allowed",
			"This is the SAML artifact resolution service: a service provider POSTs a SOAP ArtifactResolve here.")
		return
	}
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxSAMLForm))
	if err == nil {
		err = refuseDTD(raw, "ArtifactResolve")
	}
	var msg soapArtifactResolve
	if err == nil {
		if err = xml.Unmarshal(raw, &msg); err == nil && msg.Body.Resolve == nil {
			err = errors.New("the SOAP Body holds no samlp:ArtifactResolve")
		}
	}
	if err != nil {
		ep.s.emit(audit.Event{Kind: audit.KindNotice, Env: ep.env.cfg.Name, Level: "warn", Message: "saml artifact resolve refused: " + err.Error()})
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, "not a SAML ArtifactResolve: %v: POST a SOAP 1.1 Envelope whose Body is a samlp:ArtifactResolve\n", err)
		return
	}
	idp, err := ep.identityProvider("")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	resolve := msg.Body.Resolve
	response, err := ep.resolveArtifact(r, raw, resolve)
	status := saml.Status{StatusCode: saml.StatusCode{Value: saml.StatusSuccess}}
	if err != nil {
		ep.s.emit(audit.Event{Kind: audit.KindNotice, Env: ep.env.cfg.Name, Level: "warn", Message: "saml artifact not resolved: " + err.Error()})
		status = saml.Status{StatusCode: saml.StatusCode{Value: saml.StatusRequester, StatusCode: &saml.StatusCode{Value: saml.StatusRequestDenied}},
			StatusMessage: &saml.StatusMessage{Value: err.Error()}}
	}
	ep.writeArtifactResponse(w, idp, resolve.ID, status, response)
}

// resolveArtifact takes the Response resolve's artifact stands for: it is
// used up by the first attempt, and handed only to the SP it was issued to
// (the request's Issuer, and its signature when signed and the SP's
// metadata has signing keys).
func (ep *issuerEP) resolveArtifact(r *http.Request, raw []byte, resolve *saml.ArtifactResolve) (*etree.Element, error) {
	if resolve.Issuer == nil || resolve.Issuer.Value == "" {
		return nil, errors.New("the ArtifactResolve names no Issuer")
	}
	issued, ok := ep.s.samlArtifacts.Take(ep.artifactKey(strings.TrimSpace(resolve.Artifact)))
	if !ok {
		return nil, errors.New("the artifact is unknown, expired or already resolved")
	}
	if issued.sp != resolve.Issuer.Value {
		return nil, fmt.Errorf("the artifact was issued to another service provider than %q", resolve.Issuer.Value)
	}
	if resolve.Signature != nil {
		ed, _, err := ep.s.samlSPs.lookup(r.Context(), issued.sp, "")
		if err != nil {
			return nil, err
		}
		if err := verifyArtifactResolve(raw, spSigningCerts(ed), ep.s.now()); err != nil {
			return nil, err
		}
	}
	return issued.response, nil
}

// verifyArtifactResolve checks the ArtifactResolve's enveloped signature
// against the SP's signing certificates; an SP without any cannot be
// checked, and is trusted by its Issuer and the artifact's secrecy.
func verifyArtifactResolve(raw []byte, certs []*x509.Certificate, now time.Time) error {
	if len(certs) == 0 {
		return nil
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(raw); err != nil {
		return err
	}
	el := doc.FindElement("./Envelope/Body/ArtifactResolve")
	if el == nil {
		return errors.New("the SOAP Body holds no samlp:ArtifactResolve")
	}
	vc := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: certs})
	vc.Clock = dsig.NewFakeClockAt(now)
	if _, err := vc.Validate(el); err != nil {
		return fmt.Errorf("the ArtifactResolve's signature is not the service provider's: %w", err)
	}
	return nil
}

// spSigningCerts are the signing certificates of an SP's metadata.
func spSigningCerts(ed *saml.EntityDescriptor) []*x509.Certificate {
	var out []*x509.Certificate
	for _, sso := range ed.SPSSODescriptors {
		for _, k := range sso.KeyDescriptors {
			if k.Use != "signing" && k.Use != "" {
				continue
			}
			for _, c := range k.KeyInfo.X509Data.X509Certificates {
				der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(c.Data), ""))
				if err != nil {
					continue
				}
				if cert, err := x509.ParseCertificate(der); err == nil {
					out = append(out, cert)
				}
			}
		}
	}
	return out
}

// writeArtifactResponse answers an ArtifactResolve in a SOAP envelope: the
// signed Response it resolved to, or none with an error status. The
// ArtifactResponse itself is not signed (saml-core §3.5.2 says SHOULD, or
// the binding authenticates it): pysaml2 re-serializes it before checking a
// signature, with its own namespace prefixes, which exclusive C14N keeps, so
// a signed one fails there; the Response and its assertion carry the
// signatures that matter.
func (ep *issuerEP) writeArtifactResponse(w http.ResponseWriter, idp *saml.IdentityProvider, inResponseTo string, status saml.Status, response *etree.Element) {
	id, err := ep.s.randomString(20)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	ar := &saml.ArtifactResponse{ID: "id-" + id, InResponseTo: inResponseTo, Version: "2.0", IssueInstant: ep.s.now(),
		Issuer: &saml.Issuer{Format: "urn:oasis:names:tc:SAML:2.0:nameid-format:entity", Value: idp.MetadataURL.String()},
		Status: status}
	el := ar.Element()
	// Element writes the struct's (empty) Response; the signed one goes
	// in as it was signed.
	el.RemoveChild(el.SelectElement("Response"))
	if response != nil {
		el.AddChild(response.Copy())
	}
	env := etree.NewElement("soapenv:Envelope")
	env.CreateAttr("xmlns:soapenv", soapEnvelopeNS)
	env.CreateElement("soapenv:Body").AddChild(el)
	doc := etree.NewDocument()
	doc.SetRoot(env)
	var buf bytes.Buffer
	if _, err := doc.WriteTo(&buf); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(buf.Bytes())
}
