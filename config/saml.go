package config

import (
	"cmp"
	"crypto/sha1" //nolint:gosec // see SAMLArtifactSourceID
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// IsHTTPURL reports whether a metadata reference is an http(s) URL rather
// than a file.
func IsHTTPURL(ref string) bool {
	return strings.HasPrefix(ref, "http://") || strings.HasPrefix(ref, "https://")
}

// IsURL reports whether the SP's metadata is read from a URL.
func (sp *SAMLServiceProvider) IsURL() bool { return IsHTTPURL(sp.Metadata) }

// ACS lists the assertion consumer services written in the file, the
// default first.
func (sp *SAMLServiceProvider) ACS() []string {
	out := slices.Clone(sp.ACSURLs)
	if sp.ACSURL != "" && !slices.Contains(out, sp.ACSURL) {
		out = append([]string{sp.ACSURL}, out...)
	}
	return out
}

// Signs reports whether responses (response) or assertions (!response)
// to the SP are signed.
func (sp *SAMLServiceProvider) Signs(response bool) bool {
	if response {
		return sp.SignResponse == nil || *sp.SignResponse
	}
	return sp.SignAssertion == nil || *sp.SignAssertion
}

func (s *SAMLIdP) applyDefaults(c *Config) {
	for k := range s.ServiceProviders {
		sp := &s.ServiceProviders[k]
		sp.NameIDFormat = strings.ToLower(cmp.Or(sp.NameIDFormat, "email"))
		if !sp.IsURL() {
			sp.Metadata = c.Resolve(sp.Metadata)
		}
		sp.Certificate = c.Resolve(sp.Certificate)
	}
}

func (s *SAMLIdP) validate(errs *Errors, at func(Pos) Pos, oneOf func(Pos, string, string, []string)) {
	seen := map[string]bool{}
	for i := range s.ServiceProviders {
		sp := &s.ServiceProviders[i]
		name := sp.EntityID
		if name == "" {
			name = fmt.Sprintf("#%d", i+1)
		}
		what := fmt.Sprintf("saml service provider %q", name)
		switch {
		case sp.EntityID == "" && sp.Metadata == "":
			errs.add(at(sp.Pos), "%s has neither entity_id nor metadata: add `entity_id: https://app.example.com/saml/metadata`", what)
		case sp.EntityID == ProxySAMLEntityID:
			errs.add(at(sp.Pos), "%s: entity id %q is the built-in proxy: choose another", what, sp.EntityID)
		case sp.EntityID != "" && seen[sp.EntityID]:
			errs.add(at(sp.Pos), "%s is listed twice", what)
		}
		seen[sp.EntityID] = true
		if len(sp.ACS()) == 0 && sp.Metadata == "" {
			errs.add(at(sp.Pos), "%s has no acs_url: add the URL its assertion consumer service answers at, or metadata", what)
		}
		for _, u := range sp.ACS() {
			checkURL(errs, at(sp.Pos), what+" acs_url", u)
		}
		if sp.IsURL() {
			if _, err := url.Parse(sp.Metadata); err != nil {
				errs.add(at(sp.Pos), "%s metadata %q is not a URL: %v", what, sp.Metadata, err)
			}
		}
		oneOf(at(sp.Pos), what+" nameid_format", sp.NameIDFormat, SAMLNameIDFormats)
		if !sp.Signs(true) && !sp.Signs(false) {
			errs.add(at(sp.Pos), "%s signs neither responses nor assertions: set sign_response or sign_assertion to true", what)
		}
		if sp.EncryptAssertion && !sp.Signs(false) {
			errs.add(at(sp.Pos), "%s encrypts an unsigned assertion: set sign_assertion: true (the signature goes inside the encryption)", what)
		}
		if sp.EncryptAssertion && sp.Certificate == "" && sp.Metadata == "" {
			errs.add(at(sp.Pos), "%s has encrypt_assertion but no certificate: add `certificate: sp.crt` (PEM) or metadata", what)
		}
	}
}

// SAMLAttributeNames are the attribute names an IdP gives a persona's
// facts in SAML assertions (each flavor has its own): the mock IdP writes
// them, the proxy as SP reads them back.
type SAMLAttributeNames struct {
	Email, Name, Groups, Roles string
	// UPN, when set, carries the email as a user principal name too
	// (ADFS's upn claim type).
	UPN string
	// ClaimPrefix namespaces custom claims, as the provider does with
	// attributes it has no name for.
	ClaimPrefix string
	// NameFormat is the Attribute NameFormat the provider writes ("" for
	// none, as Entra ID).
	NameFormat string
}

// SAML attribute NameFormats (saml-core §8.2).
const (
	SAMLAttrNameFormatURI         = "urn:oasis:names:tc:SAML:2.0:attrname-format:uri"
	SAMLAttrNameFormatBasic       = "urn:oasis:names:tc:SAML:2.0:attrname-format:basic"
	SAMLAttrNameFormatUnspecified = "urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified"
)

// SAMLArtifactLength is the length of a decoded type 0x0004 SAML artifact
// (saml-bindings §3.6.4): TypeCode, EndpointIndex, SourceID and
// MessageHandle, 2, 2, 20 and 20 bytes.
const SAMLArtifactLength = 44

// SAMLArtifactSourceID is the SourceID in the artifacts of the IdP
// entityID: the SHA-1 of its entity id, which tells a service provider
// whom to ask for the message.
func SAMLArtifactSourceID(entityID string) [20]byte {
	return sha1.Sum([]byte(entityID)) //nolint:gosec // SHA-1 by definition here, not for security
}
