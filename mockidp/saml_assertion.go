package mockidp

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"sort"
	"time"

	"github.com/crewjam/saml"

	"github.com/authdev/authdev/config"
	"github.com/authdev/authdev/internal/flavor"
)

// samlAssertionTTL is how long an assertion may be presented: NotOnOrAfter
// of its conditions and of its bearer confirmation.
const samlAssertionTTL = 5 * time.Minute

// MakeAssertion implements saml.AssertionMaker: the library's assertion
// (issuer, subject with InResponseTo and Recipient, audience, AuthnStatement
// with SessionIndex) with the persona's attributes named as the flavor's
// IdP names them, valid for five minutes.
func (h *samlIdP) MakeAssertion(req *saml.IdpAuthnRequest, session *saml.Session) error {
	if err := (saml.DefaultAssertionMaker{}).MakeAssertion(req, session); err != nil {
		return err
	}
	a := req.Assertion
	until := req.Now.Add(samlAssertionTTL)
	a.Conditions.NotOnOrAfter = until
	for i := range a.Subject.SubjectConfirmations {
		if d := a.Subject.SubjectConfirmations[i].SubjectConfirmationData; d != nil {
			d.NotOnOrAfter = until
		}
	}
	sp := h.ep.s.samlSPs.configOf(req.ServiceProviderMetadata.EntityID)
	id, _ := h.ep.s.cfg.IdentityIn(session.UserName, h.ep.env.cfg.Name)
	a.AttributeStatements = []saml.AttributeStatement{{Attributes: SAMLAttributes(h.ep.env.cfg, id, sp)}}
	return nil
}

// SAMLAttributes are a persona's facts in env as the IdP's assertions carry
// them: email (also as upn where the flavor has one), name, groups and
// roles (multi-valued) and custom claims,
// named by the environment's flavor unless the SP's attributes map renames
// (or, with "", drops) them. `authdev adc explain` shows them.
func SAMLAttributes(env *config.Environment, id config.Identity, sp config.SAMLServiceProvider) []saml.Attribute {
	spec := flavor.Of(env.Flavor)
	names := spec.SAML
	type fact struct {
		key, name string
		values    []string
	}
	facts := []fact{
		{"email", names.Email, []string{id.Email}},
		{"upn", names.UPN, []string{id.Email}},
		{"name", names.Name, []string{id.Name}},
		{"groups", names.Groups, groupValues(spec, env, id.Groups)},
		{"roles", names.Roles, env.RolesFor(id.Groups)},
	}
	claims := make([]string, 0, len(id.Claims))
	for k := range id.Claims {
		claims = append(claims, k)
	}
	sort.Strings(claims)
	for _, k := range claims {
		facts = append(facts, fact{k, names.ClaimPrefix + k, claimValues(id.Claims[k])})
	}
	out := make([]saml.Attribute, 0, len(facts))
	for _, f := range facts {
		name := f.name
		if n, ok := sp.Attributes[f.key]; ok {
			name = n
		}
		if name == "" || len(f.values) == 0 {
			continue
		}
		a := saml.Attribute{Name: name, NameFormat: names.NameFormat}
		for _, v := range f.values {
			a.Values = append(a.Values, saml.AttributeValue{Type: "xs:string", Value: v})
		}
		out = append(out, a)
	}
	return out
}

// groupValues are groups as the flavor names them (Entra: object IDs).
func groupValues(spec *flavor.Spec, env *config.Environment, groups []string) []string {
	out := make([]string, len(groups))
	for i, g := range groups {
		out[i] = spec.GroupValue(env, g)
	}
	return out
}

// claimValues writes a claim as attribute values: a list as several.
func claimValues(v any) []string {
	switch v := v.(type) {
	case nil:
		return nil
	case []any:
		out := make([]string, 0, len(v))
		for _, x := range v {
			out = append(out, fmt.Sprint(x))
		}
		return out
	case []string:
		return slices.Clone(v)
	}
	return []string{fmt.Sprint(v)}
}

// WriteResponse implements saml.ResponseWriter: the HTTP-POST binding's
// form, which a script submits and which, without JavaScript, has a button;
// or the HTTP-Artifact binding's redirect. The assertion is signed unless
// the SP says sign_assertion: false; the response is signed unless it says
// sign_response: false.
func (h *samlIdP) WriteResponse(w http.ResponseWriter, req *saml.IdpAuthnRequest) error {
	if req.ResponseEl == nil {
		if err := h.makeResponse(req); err != nil {
			return err
		}
	}
	if h.wantsArtifact(req) {
		return h.sendArtifact(w, req)
	}
	form, err := req.PostBinding()
	if err != nil {
		return err
	}
	w.Header().Set("Content-Security-Policy", autoSubmitCSP)
	h.ep.s.render(w, http.StatusOK, "saml-post", samlPostPage{
		Title: "Signing in", Env: h.ep.env.cfg.Name, SP: req.ServiceProviderMetadata.EntityID,
		Form: form, Script: autoSubmitScript,
	})
	return nil
}

func (h *samlIdP) makeResponse(req *saml.IdpAuthnRequest) error {
	sp := h.ep.s.samlSPs.configOf(req.ServiceProviderMetadata.EntityID)
	if !sp.Signs(false) {
		req.AssertionEl = req.Assertion.Element()
	}
	if sp.Signs(true) {
		return req.MakeResponse()
	}
	if err := req.MakeAssertionEl(); err != nil {
		return err
	}
	id, err := h.ep.s.randomString(20)
	if err != nil {
		return err
	}
	resp := &saml.Response{
		Destination: req.ACSEndpoint.Location, ID: "id-" + id, InResponseTo: req.Request.ID,
		IssueInstant: req.Now, Version: "2.0",
		Issuer: &saml.Issuer{Format: "urn:oasis:names:tc:SAML:2.0:nameid-format:entity", Value: req.IDP.MetadataURL.String()},
		Status: saml.Status{StatusCode: saml.StatusCode{Value: saml.StatusSuccess}},
	}
	el := resp.Element()
	el.AddChild(req.AssertionEl)
	req.ResponseEl = el
	return nil
}

// samlPostPage is the HTTP-POST binding's page.
type samlPostPage struct {
	Title, Env, SP string
	Form           saml.IdpAuthnRequestForm
	Script         template.JS
}

// autoSubmitScript submits the form; the page's CSP allows this script
// alone, by its hash.
const autoSubmitScript template.JS = `document.getElementById("saml").submit()`

var autoSubmitCSP = func() string {
	sum := sha256.Sum256([]byte(autoSubmitScript))
	return "default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) +
		"'; base-uri 'none'; frame-ancestors 'none'"
}()
