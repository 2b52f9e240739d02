// Package adc understands the Citrix ADC (NetScaler) policy language: it
// compiles advanced policy expressions and ns.conf once, at load, and
// evaluates content switching, responder, authorization and rewrite
// policies against a request in the order the ADC does.
//
// Compile turns authdev.yaml's `policies` and `headers` and the ns.conf of
// proxy.adc_config into an Engine. An ns.conf loads as the appliance boots
// it: a line authdev does not emulate is a Warning with file:line, the
// reason and its Effect (none on HTTP decisions, or able to change one);
// only a line the ADC itself would refuse (bad syntax, a reference to
// nothing) is an error, and every error comes back at once as
// config.Errors, each with file:line:col and a caret under the column.
// ns.conf commands are read through the nsCommands table, a file per
// family (nslb.go, nscs.go, nsaaa.go, nsauthn.go, nspolicies.go);
// expression functions through the props and typeFuncs tables (funcs*.go).
//
// Engine.Evaluate decides one request: at a cs vserver, its cs policies
// pick the lb vserver; responder policies come first (global overrides,
// the cs vserver's, the lb vserver's, global defaults; an answer ends
// evaluation), then authorization (authdev.yaml's policies in file order,
// then the bound ones by priority, honouring NEXT, END and goto-priority;
// no match falls to the default authorization action, DENY when the
// ns.conf sets up AAA-TM, as on the ADC), then the YAML headers and
// rewrite policies. Authentication back-ends (LDAP, RADIUS, SAML, nFactor)
// are parsed into Settings.Authn and emulated by a login through
// authdev's IdP; its Flow follows the nFactor binds to say which
// samlAction a login request reaches.
//
// As on the ADC, keywords are case-blind and comparisons case-sensitive
// unless SET_TEXT_MODE(IGNORECASE), host names excepted; HTTP.REQ.URL is
// the path and query as the client sent them, not decoded; text operations
// on HTTP.REQ.HEADER("x") read every instance of a repeated header, from
// the last, and VALUE(n) and INSTANCE(n) count back from the last. A
// NetScaler function authdev does not emulate makes its policy UNDEF.
// Regular expressions use Go's RE2 engine, so evaluation time is linear in
// the input. The package depends on no audit or proxy code: the proxy and
// the audit trail convert Result.Trace themselves.
package adc
