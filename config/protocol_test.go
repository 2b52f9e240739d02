package config

import (
	"strings"
	"testing"
)

func TestFlavorSettingsAreCheckedWhereTheyAreWritten(t *testing.T) {
	_, err := parse(t, `personas:
  alice: {}
environments:
  dev:
    flavor: okta
    entra: {tenant_id: 72f988bf-86f1-41af-91ab-2d7cd011db47}
  prod:
    flavor: entra
    entra: {tenant_id: contoso}
  kc: {flavor: keycloak, keycloak: {realm: "my realm"}}
  aws: {flavor: cognito, cognito: {user_pool_id: mypool}}
`, nil)
	if err == nil {
		t.Fatal("no error")
	}
	for _, w := range []string{
		`authdev.yaml:4:3: environment "dev" sets entra settings but its flavor is okta: remove the entra block or set ` + "`flavor: entra`",
		`authdev.yaml:7:3: environment "prod" entra.tenant_id "contoso" is not a lowercase GUID`,
		`environment "kc" keycloak.realm "my realm" must be letters`,
		`environment "aws" cognito.user_pool_id "mypool" is not <region>_<id>: write it like eu-west-1_AbCdEf123`,
	} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("errors lack %q:\n%v", w, err)
		}
	}
	_, err = parse(t, "idp: {tls: true, public_url: http://idp.local:9400}\npersonas: {alice: {}}\n", nil)
	if err == nil || !strings.Contains(err.Error(), `authdev.yaml:1:30: idp.public_url "http://idp.local:9400" is http but idp.tls serves https`) {
		t.Errorf("an http public_url under idp.tls: %v", err)
	}
	cfg, err := parse(t, `personas: {alice: {}}
environments:
  prod: {flavor: entra, entra: {tenant_id: 72f988bf-86f1-41af-91ab-2d7cd011db47, group_names: true}}
  aws: {flavor: cognito, cognito: {user_pool_id: eu-west-1_AbCdEf123}}
`, nil)
	if err != nil || !cfg.Environments[0].Entra.GroupNames {
		t.Fatalf("valid settings: %v", err)
	}
}
