package config

// Config is an authdev.yaml after loading: defaults applied, ${ENV} expanded,
// paths made absolute. The yaml tags are the file's schema; the JSON Schema in
// authdev.schema.json is generated from these types.
type Config struct {
	IDP          IDP          `yaml:"idp" jsonschema:"description=The mock OIDC identity provider."`
	Personas     Personas     `yaml:"personas" jsonschema:"description=People the IdP logs in, in the order shown to users."`
	Environments Environments `yaml:"environments" jsonschema:"description=One issuer per environment; the first is active unless --env."`
	Proxy        Proxy        `yaml:"proxy" jsonschema:"description=The ADC-emulating proxy."`
	Checks       []Check      `yaml:"checks" jsonschema:"description=RBAC expectations run by authdev test."`
	// ChecksCoverage says whether a backend route (from its OpenAPI
	// document) that no check covers fails authdev test.
	ChecksCoverage string `yaml:"checks_coverage" jsonschema:"enum=report,enum=required,default=report,description=report lists the backend routes no check covers; required also fails authdev test on them"`

	// Source is where the configuration came from: a file path, or
	// EmbeddedDemoName for the built-in demo.
	Source string `yaml:"-"`
	// Dir is the folder relative paths are resolved against.
	Dir string `yaml:"-"`

	keyPos map[uintptr]Pos
}

// IDP configures the mock identity provider.
type IDP struct {
	Listen    string   `yaml:"listen" jsonschema:"description=host:port to listen on (loopback unless authdev idp --allow-remote),default=127.0.0.1:9400"`
	PublicURL string   `yaml:"public_url" jsonschema:"description=Replaces http://localhost:<port> in issuer URLs (for containers)"`
	TLS       bool     `yaml:"tls" jsonschema:"description=Serve HTTPS with a certificate from authdev's local CA: issuers become https://localhost:<port>/<env>"`
	Flavor    Flavor   `yaml:"flavor" jsonschema:"enum=okta,enum=entra,enum=keycloak,enum=cognito,enum=auth0,enum=adfs,enum=generic,default=generic"`
	Alg       string   `yaml:"alg" jsonschema:"enum=RS256,enum=ES256,default=RS256,description=Default signing algorithm of every environment"`
	TokenTTL  Duration `yaml:"token_ttl" jsonschema:"description=Lifetime of access and ID tokens,default=5m"`
	Clients   []Client `yaml:"clients" jsonschema:"description=Extra clients; the proxy of authdev up and the authdev token CLI are built in"`
	SAML      SAMLIdP  `yaml:"saml" jsonschema:"description=The SAML 2.0 side of the IdP: /<env>/saml/metadata, /<env>/saml/sso, /<env>/saml/slo"`
}

// SAMLIdP configures the IdP's SAML side. The proxy of authdev up is a
// built-in service provider (entity id ProxySAMLEntityID).
type SAMLIdP struct {
	ServiceProviders []SAMLServiceProvider `yaml:"service_providers" jsonschema:"description=Extra service providers; an AuthnRequest from any other gets an error page"`
}

// SAMLServiceProvider is a SAML service provider registered with the IdP,
// written out or read from its metadata.
type SAMLServiceProvider struct {
	EntityID         string            `yaml:"entity_id" jsonschema:"description=The SP's entity id (the Issuer of its AuthnRequests and the Audience of assertions); read from metadata when absent"`
	ACSURL           string            `yaml:"acs_url" jsonschema:"description=Assertion consumer service (HTTP-POST); responses go nowhere else"`
	ACSURLs          []string          `yaml:"acs_urls" jsonschema:"description=Several assertion consumer services; the first is the default"`
	Metadata         string            `yaml:"metadata" jsonschema:"description=The SP's metadata: a file (relative to this file) or an http(s) URL, read for what is not written here"`
	NameIDFormat     string            `yaml:"nameid_format" jsonschema:"enum=email,enum=persistent,enum=transient,enum=unspecified,default=email"`
	SignResponse     *bool             `yaml:"sign_response" jsonschema:"default=true"`
	SignAssertion    *bool             `yaml:"sign_assertion" jsonschema:"default=true"`
	EncryptAssertion bool              `yaml:"encrypt_assertion" jsonschema:"description=Encrypt the assertion to the SP's certificate (certificate or metadata)"`
	Certificate      string            `yaml:"certificate" jsonschema:"description=PEM file of the SP's certificate, to encrypt assertions to"`
	Attributes       map[string]string `yaml:"attributes" jsonschema:"description=Persona field (email, name, groups, roles or a claim) -> SAML attribute name; an empty name leaves the attribute out"`
	Pos              Pos               `yaml:"-"`
}

// Client is an OAuth client registered with the mock IdP.
type Client struct {
	ID                     string      `yaml:"id" jsonschema:"required"`
	Secret                 string      `yaml:"secret" jsonschema:"description=Absent for a public client (PKCE required); ${ENV} is expanded"`
	RedirectURIs           []string    `yaml:"redirect_uris"`
	PostLogoutRedirectURIs []string    `yaml:"post_logout_redirect_uris"`
	Grants                 []GrantType `yaml:"grants" jsonschema:"description=Allowed grant types; default authorization_code and refresh_token"`
	Roles                  []string    `yaml:"roles" jsonschema:"description=App roles granted to the client itself: the roles claim of its client_credentials tokens (entra)"`
	Audience               string      `yaml:"audience" jsonschema:"description=Default audience of access tokens issued to this client"`
	Pos                    Pos         `yaml:"-"`
}

// Persona is a user the IdP can log in. Personas decode from a YAML mapping
// keyed by ID, keeping the file's order.
type Persona struct {
	ID     string                     `yaml:"-" authdev:"key"`
	Name   string                     `yaml:"name"`
	Email  string                     `yaml:"email"`
	Groups []string                   `yaml:"groups"`
	Claims map[string]any             `yaml:"claims" jsonschema:"description=Extra claims merged last into every token"`
	Envs   map[string]PersonaOverride `yaml:"envs" jsonschema:"description=Per-environment overrides, keyed by environment name"`
	Pos    Pos                        `yaml:"-"`
}

// PersonaOverride replaces a persona's fields in one environment. Unset
// fields keep the persona's value; claims are merged.
type PersonaOverride struct {
	Name   string         `yaml:"name"`
	Email  string         `yaml:"email"`
	Groups []string       `yaml:"groups"`
	Claims map[string]any `yaml:"claims"`
}

// Personas keeps personas in file order.
type Personas []Persona

// Environment is one tenant: its own issuer, keys, claim flavor and the
// mapping from IdP groups to application roles.
type Environment struct {
	Name        string              `yaml:"-" authdev:"key"`
	Description string              `yaml:"description"`
	Flavor      Flavor              `yaml:"flavor" jsonschema:"enum=okta,enum=entra,enum=keycloak,enum=cognito,enum=auth0,enum=adfs,enum=generic,description=Defaults to idp.flavor"`
	Alg         string              `yaml:"alg" jsonschema:"enum=RS256,enum=ES256,description=Defaults to idp.alg"`
	Audience    string              `yaml:"audience" jsonschema:"default=authdev"`
	Roles       map[string][]string `yaml:"roles" jsonschema:"description=IdP group -> application roles"`
	// Provider settings: only the block of the environment's flavor.
	Okta         *OktaSettings     `yaml:"okta" jsonschema:"description=Settings of the okta flavor"`
	Entra        *EntraSettings    `yaml:"entra" jsonschema:"description=Settings of the entra flavor"`
	Keycloak     *KeycloakSettings `yaml:"keycloak" jsonschema:"description=Settings of the keycloak flavor"`
	Cognito      *CognitoSettings  `yaml:"cognito" jsonschema:"description=Settings of the cognito flavor"`
	Auth0        *Auth0Settings    `yaml:"auth0" jsonschema:"description=Settings of the auth0 flavor"`
	Login        string            `yaml:"login" jsonschema:"enum=oidc,enum=saml,description=How the proxy logs browsers in to this environment; defaults to proxy.login"`
	SAMLMetadata string            `yaml:"saml_metadata" jsonschema:"description=With login: saml, the SAML IdP's metadata (http(s) URL or file, relative to this file) when it is not authdev's own <issuer>/saml/metadata"`
	Pos          Pos               `yaml:"-"`
}

// Environments keeps environments in file order.
type Environments []Environment

// Proxy configures the ADC-emulating proxy.
type Proxy struct {
	Listen               string     `yaml:"listen" jsonschema:"default=127.0.0.1:8443"`
	TLS                  *bool      `yaml:"tls" jsonschema:"description=Serve HTTPS with a certificate from authdev's local CA,default=true"`
	Hostnames            []string   `yaml:"hostnames" jsonschema:"description=Extra DNS names for the proxy certificate"`
	PublicURL            string     `yaml:"public_url" jsonschema:"description=The URL browsers use for the proxy; default from listen and tls"`
	SessionTimeout       Duration   `yaml:"session_timeout" jsonschema:"default=30m"`
	IdleTimeout          Duration   `yaml:"idle_timeout" jsonschema:"default=30m"`
	RequestTimeout       Duration   `yaml:"request_timeout" jsonschema:"description=How long a client may take to send a request body before a 408 (the ADC's HTTP profile -reqTimeout),default=30s"`
	Upstreams            []Upstream `yaml:"upstreams"`
	Headers              Headers    `yaml:"headers" jsonschema:"description=Header name -> NetScaler string expression (insert_http_header)"`
	DefaultAuthorization string     `yaml:"default_authorization" jsonschema:"enum=ALLOW,enum=DENY,default=ALLOW"`
	Policies             []Policy   `yaml:"policies"`
	Login                string     `yaml:"login" jsonschema:"enum=oidc,enum=saml,default=oidc,description=Browser login: OIDC code flow, or SAML 2.0 (SP-initiated HTTP-Redirect, ACS at /cgi/samlauth)"`
	ADCConfig            string     `yaml:"adc_config" jsonschema:"description=A NetScaler ns.conf whose supported subset is loaded; relative to this file"`
}

// Upstream is a backend the proxy routes to by longest path prefix.
type Upstream struct {
	Name    string   `yaml:"name" jsonschema:"required"`
	Prefix  string   `yaml:"prefix" jsonschema:"default=/"`
	Targets []string `yaml:"targets" jsonschema:"required"`
	LB      string   `yaml:"lb" jsonschema:"enum=roundrobin,enum=leastconnection,default=leastconnection"`
	Monitor *Monitor `yaml:"monitor"`
	API     bool     `yaml:"api" jsonschema:"description=Answer 401 instead of redirecting to login (the ADC's -authn401 ON)"`
	Host    string   `yaml:"host" jsonschema:"description=Host header sent upstream; default: the client's"`
	Timeout Duration `yaml:"timeout" jsonschema:"default=30s"`
	Pos     Pos      `yaml:"-"`
}

// Monitor is an active HTTP health check.
type Monitor struct {
	Path     string   `yaml:"path" jsonschema:"default=/healthz"`
	Interval Duration `yaml:"interval" jsonschema:"default=5s"`
	Timeout  Duration `yaml:"timeout" jsonschema:"default=2s"`
	Status   int      `yaml:"status" jsonschema:"default=200"`
	Retries  int      `yaml:"retries" jsonschema:"default=3,description=Failed probes in a row before a target is taken out"`
}

// Header is one configured rewrite: insert_http_header Name Expr.
type Header struct {
	Name string `yaml:"-" authdev:"key"`
	Expr Expr   `yaml:"-" authdev:"value"`
	Pos  Pos    `yaml:"-"`
}

// Headers keeps headers in file order.
type Headers []Header

// Policy is an authorization policy: when Rule is true, Action applies.
type Policy struct {
	Name   string `yaml:"name" jsonschema:"required"`
	Rule   Expr   `yaml:"rule" jsonschema:"required"`
	Action string `yaml:"action" jsonschema:"enum=ALLOW,enum=DENY,required"`
	Pos    Pos    `yaml:"-"`
}

// Check is one RBAC expectation for authdev test.
type Check struct {
	Name    string            `yaml:"name"`
	As      string            `yaml:"as" jsonschema:"required,description=Persona id"`
	Request string            `yaml:"request" jsonschema:"required,description=METHOD PATH"`
	Headers map[string]string `yaml:"headers"`
	Body    string            `yaml:"body"`
	Expect  Expect            `yaml:"expect" jsonschema:"required"`
	Envs    []string          `yaml:"envs" jsonschema:"description=Environments to run in; default all"`
	Via     string            `yaml:"via" jsonschema:"enum=session,enum=bearer,enum=saml,default=session"`
	Drill   string            `yaml:"drill" jsonschema:"enum=expired-session,enum=rotated-keys,enum=idp-down,description=A failure drill the check runs under"`
	Pos     Pos               `yaml:"-"`
}

// Expect is a check's expectation: one for every environment, or one per
// environment. Each value is a status code, "allow" or "deny".
type Expect struct {
	All    string
	PerEnv map[string]string
}

// For returns the expectation in env, or "" when the check has none there.
func (e Expect) For(env string) string {
	if v, ok := e.PerEnv[env]; ok {
		return v
	}
	return e.All
}

// Expr is a NetScaler expression with the position of its first character
// in the config file, so the expression compiler can report file:line:col.
type Expr struct {
	Text string
	Pos  Pos
}

// Pos is a place in a config file. Line and Col start at 1.
type Pos struct {
	File string
	Line int
	Col  int
}
