package mockidp

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"

	"github.com/authdev/authdev/config"
	"github.com/authdev/authdev/internal/state"
)

// ProxyClientSecretKey is where the secret of the built-in proxy client
// lives in the state store: `authdev idp` and a separately started
// `authdev proxy` sharing a store agree on it without configuration.
const ProxyClientSecretKey = "idp/proxy-client-secret"

// ProxyClientSecret returns the built-in proxy client's secret from store,
// creating it the first time.
func ProxyClientSecret(store state.Store) (string, error) {
	v, err := state.GetOrCreate(store, ProxyClientSecretKey, func() ([]byte, error) {
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return nil, err
		}
		return []byte(base64.RawURLEncoding.EncodeToString(b)), nil
	})
	if err != nil {
		return "", fmt.Errorf("read the proxy client secret from the %s state store: %w", store.Describe(), err)
	}
	return string(v), nil
}

// client is a registered OAuth client.
type client struct {
	id       string
	secret   string // "" for a public client
	grants   []config.GrantType
	audience string
	roles    []string // app roles granted to the client itself
	// redirect and postLogout decide whether a URI is registered.
	redirect   func(*url.URL) bool
	postLogout func(*url.URL) bool
}

func (c *client) public() bool { return c.secret == "" }

func (c *client) allows(grant config.GrantType) bool { return slices.Contains(c.grants, grant) }

// authenticate checks a presented secret in constant time. Public clients
// present none.
func (c *client) authenticate(secret string) bool {
	if c.public() {
		return secret == ""
	}
	return subtle.ConstantTimeCompare([]byte(secret), []byte(c.secret)) == 1
}

// clients builds the registry: the two built-in clients, then idp.clients.
func newClients(cfg *config.Config, proxySecret string) map[string]*client {
	out := map[string]*client{}
	proxyRedirects := []string{}
	proxyLogout := []string{}
	if pu := strings.TrimRight(cfg.Proxy.PublicURL, "/"); pu != "" {
		proxyRedirects = append(proxyRedirects, pu+"/oauth/login")
		proxyLogout = append(proxyLogout, pu+"/")
	}
	out[config.ProxyClientID] = &client{
		id:     config.ProxyClientID,
		secret: proxySecret,
		grants: []config.GrantType{config.GrantAuthorizationCode, config.GrantRefreshToken, config.GrantTokenExchange},
		redirect: func(u *url.URL) bool {
			return isLoopback(u) && u.Path == "/oauth/login" || slices.Contains(proxyRedirects, u.String())
		},
		postLogout: func(u *url.URL) bool {
			return isLoopback(u) || hasAnyPrefix(u.String(), proxyLogout)
		},
	}
	out[config.CLIClientID] = &client{
		id:         config.CLIClientID,
		grants:     []config.GrantType{config.GrantAuthorizationCode, config.GrantRefreshToken, config.GrantDeviceCode, config.GrantTokenExchange},
		redirect:   isLoopback,
		postLogout: isLoopback,
	}
	for _, cc := range cfg.IDP.Clients {
		grants := cc.Grants
		if len(grants) == 0 {
			grants = []config.GrantType{config.GrantAuthorizationCode, config.GrantRefreshToken}
		}
		// Like Keycloak and Entra, a client that lists no post-logout
		// targets may return to any of its redirect URIs.
		postLogout := cc.PostLogoutRedirectURIs
		if postLogout == nil {
			postLogout = cc.RedirectURIs
		}
		out[cc.ID] = &client{
			id:         cc.ID,
			secret:     cc.Secret,
			grants:     slices.Clone(grants),
			audience:   cc.Audience,
			roles:      cc.Roles,
			redirect:   registered(cc.RedirectURIs),
			postLogout: registered(postLogout),
		}
	}
	return out
}

// registered matches URIs exactly, except that a registered loopback URI
// matches on any port: native apps listen on an ephemeral port (RFC 8252
// §7.3).
func registered(uris []string) func(*url.URL) bool {
	var parsed []*url.URL
	for _, s := range uris {
		if u, err := url.Parse(s); err == nil {
			parsed = append(parsed, u)
		}
	}
	return func(u *url.URL) bool {
		for _, r := range parsed {
			if u.String() == r.String() {
				return true
			}
			if isLoopback(r) && isLoopback(u) && r.Scheme == u.Scheme && r.Hostname() == u.Hostname() &&
				r.EscapedPath() == u.EscapedPath() && r.RawQuery == u.RawQuery {
				return true
			}
		}
		return false
	}
}

// parseRedirect parses a redirect URI as RFC 6749 §3.1.2 requires: absolute,
// http(s), no fragment, no user information.
func parseRedirect(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return nil, fmt.Errorf("redirect URI %q is not a URL", raw)
	case u.Scheme != "http" && u.Scheme != "https", u.Host == "", u.Opaque != "":
		return nil, fmt.Errorf("redirect URI %q is not an absolute http(s) URL", raw)
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return nil, fmt.Errorf("redirect URI %q has a fragment, which OAuth forbids", raw)
	case u.User != nil:
		return nil, fmt.Errorf("redirect URI %q carries user information", raw)
	}
	return u, nil
}

// isLoopback reports whether u points at this machine over http(s).
func isLoopback(u *url.URL) bool {
	if u == nil || (u.Scheme != "http" && u.Scheme != "https") || u.User != nil || u.Fragment != "" {
		return false
	}
	h := u.Hostname()
	if h == "" {
		return false
	}
	if port := u.Port(); port == "" && strings.HasSuffix(u.Host, ":") {
		return false
	}
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}
