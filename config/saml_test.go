package config

import (
	"strings"
	"testing"
)

func TestSAMLSettingsDefaultAndEveryProblemHasItsLine(t *testing.T) {
	cfg, err := parse(t, `idp:
  saml:
    service_providers:
      - {entity_id: https://app.example.com, acs_url: https://app.example.com/acs, metadata: sp.xml}
personas: {alice: {}}
environments:
  dev: {}
  prod: {login: saml}
`, nil)
	if err != nil {
		t.Fatal(err)
	}
	sp := cfg.IDP.SAML.ServiceProviders[0]
	if sp.NameIDFormat != "email" || !sp.Signs(true) || !sp.Signs(false) || sp.Metadata != "/cfg/sp.xml" {
		t.Errorf("defaults: %+v", sp)
	}
	if cfg.Proxy.Login != LoginOIDC || cfg.Environments[0].Login != LoginOIDC || cfg.Environments[1].Login != LoginSAML {
		t.Errorf("logins: proxy %q, dev %q, prod %q", cfg.Proxy.Login, cfg.Environments[0].Login, cfg.Environments[1].Login)
	}

	_, err = parse(t, `idp:
  saml:
    service_providers:
      - {acs_url: https://a.example.com/acs}
      - {entity_id: https://b.example.com, acs_url: "not a url", nameid_format: emial}
      - {entity_id: https://b.example.com, acs_url: https://b.example.com/acs, sign_response: false, sign_assertion: false}
      - {entity_id: https://c.example.com, acs_url: https://c.example.com/acs, encrypt_assertion: true}
      - {entity_id: urn:authdev:proxy, acs_url: https://d.example.com/acs}
personas: {alice: {}}
environments:
  dev: {login: sam}
proxy:
  login: SAML2
`, nil)
	for _, want := range []string{
		`authdev.yaml:4:9: saml service provider "#1" has neither entity_id nor metadata`,
		`authdev.yaml:5:9: saml service provider "https://b.example.com" acs_url "not a url" is not an absolute http(s) URL`,
		`authdev.yaml:5:9: saml service provider "https://b.example.com" nameid_format "emial" is not one of email, persistent, transient, unspecified (did you mean "email"?)`,
		`authdev.yaml:6:9: saml service provider "https://b.example.com" is listed twice`,
		`authdev.yaml:6:9: saml service provider "https://b.example.com" signs neither responses nor assertions`,
		`authdev.yaml:7:9: saml service provider "https://c.example.com" has encrypt_assertion but no certificate`,
		`authdev.yaml:8:9: saml service provider "urn:authdev:proxy": entity id "urn:authdev:proxy" is the built-in proxy`,
		`environment "dev" login "sam" is not one of oidc, saml (did you mean "saml"?)`,
		`proxy.login "saml2" is not one of oidc, saml`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want %q in:\n%v", want, err)
		}
	}
}
