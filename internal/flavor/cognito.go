package flavor

import (
	"strings"

	"github.com/authdev/authdev/config"
)

// cognito is an Amazon Cognito user pool: issuer /<env>/<region>_<id>,
// keys at /.well-known/jwks.json, the hosted UI's /oauth2/ endpoints under
// the issuer. Access tokens have no aud and no profile attributes: they
// name the client (client_id), the user (username) and carry token_use,
// version, event_id and origin_jti; ID tokens have aud = client id and
// cognito:username. Custom attributes are prefixed custom:. Cognito sends
// no typ header.
var cognito = Spec{
	Layout:        cognitoLayout,
	Subject:       uuidSubject,
	GroupsClaim:   "cognito:groups",
	GroupValue:    sameGroup,
	UserNameClaim: "username",
	// API Gateway's Cognito authorizer accepts the pool's app clients.
	ClientBoundAccess: true,
	AccessTokenType:   func(*config.Environment) string { return "" },
	ClaimsSupported: []string{"sub", "iss", "aud", "exp", "iat", "auth_time", "jti", "nonce", "at_hash", "token_use",
		"client_id", "scope", "username", "cognito:username", "cognito:groups", "email", "email_verified", "name",
		"origin_jti", "event_id", "version"},
	Shape: cognitoShape,
	// Cognito is a SAML service provider, never an IdP: plain names.
	SAML: plainSAMLNames("roles", config.SAMLAttrNameFormatBasic),
}

// CognitoUserPool is env's user pool id, <region>_<id>: configured, or
// us-east-1 with an id derived from the environment's name.
func CognitoUserPool(env *config.Environment) string {
	if env.Cognito != nil && env.Cognito.UserPoolID != "" {
		return env.Cognito.UserPoolID
	}
	const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	var id strings.Builder
	for _, b := range hash("userpool", env.Name)[:9] {
		id.WriteByte(alnum[int(b)%len(alnum)])
	}
	return "us-east-1_" + id.String()
}

func cognitoLayout(env *config.Environment) Layout {
	iss := "/" + env.Name + "/" + CognitoUserPool(env)
	return Layout{
		Issuer: iss, Authorization: iss + "/oauth2/authorize", Token: iss + "/oauth2/token", UserInfo: iss + "/oauth2/userInfo",
		JWKS: iss + "/.well-known/jwks.json", Introspection: iss + "/oauth2/introspect", Revocation: iss + "/oauth2/revoke",
		EndSession: iss + "/logout", DeviceAuthorization: iss + "/oauth2/device_authorization", DeviceVerification: iss + "/device",
	}
}

func cognitoShape(t *Token) {
	c := t.Claims
	switch t.Kind {
	case ClientAccess:
		drop(c, "aud", "nbf")
		c["token_use"] = "access"
		c["version"] = 2
		c["auth_time"] = c["iat"]
		return
	case UserAccess:
		drop(c, "aud", "nbf", "sid")
		c["token_use"] = "access"
		c["version"] = 2
		c["username"] = t.User.Persona
		c["cognito:groups"] = t.User.Groups
		cognitoEvent(t)
		return
	case IDToken:
		drop(c, "azp", "sid")
		c["token_use"] = "id"
		c["cognito:username"] = t.User.Persona
		c["cognito:groups"] = t.User.Groups
		cognitoEvent(t)
	case UserInfo:
		c["username"] = t.User.Persona
	}
	profile(c, t.User)
	personaClaims(c, t.User, func(k string) string {
		if strings.Contains(k, ":") {
			return k
		}
		return "custom:" + k
	})
}

// cognitoEvent links the tokens of one sign-in, as Cognito does.
func cognitoEvent(t *Token) {
	t.Claims["event_id"] = UUID("event", t.Grant)
	t.Claims["origin_jti"] = UUID("origin", t.Grant)
}
