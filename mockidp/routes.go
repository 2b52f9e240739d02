package mockidp

import (
	"encoding/json"
	"net/http"
	"strings"
)

// issuerEP is one environment's issuer: its path under the base URL comes
// from the flavor's layout ("/dev", "/prod/<tenant>/v2.0", "/a0/").
type issuerEP struct {
	s      *Server
	env    *envState
	prefix string
}

func (ep *issuerEP) issuer() string { return ep.s.BaseURL() + ep.prefix }

// endpoints are the issuer's URLs, as its discovery document lists them.
func (ep *issuerEP) endpoints() Endpoints { return endpointsOf(ep.s.BaseURL(), ep.env.layout) }

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	seen := map[string]bool{}
	handle := func(p string, h http.Handler) {
		if !seen[p] {
			seen[p] = true
			mux.Handle(p, h)
		}
	}
	for _, e := range s.cfg.Environments {
		ep := s.envs[e.Name].ep
		for _, r := range ep.routes() {
			handle(r.path, r.handler)
		}
		// SAML lives at /<env>/saml/ and, for a flavor whose issuer path is
		// longer, under the issuer too, where SAML SPs configured from the
		// issuer URL look for it.
		for _, p := range []string{s.basePath + "/" + e.Name, s.basePath + strings.TrimSuffix(ep.env.layout.Issuer, "/")} {
			handle(p+samlMetadataPath, http.HandlerFunc(ep.samlMetadata))
			handle(p+samlSSOPath, http.HandlerFunc(ep.samlSSO))
			handle(p+samlSLOPath, http.HandlerFunc(ep.samlSLO))
			handle(p+samlIDPInitiatedPath, http.HandlerFunc(ep.samlIDPInitiated))
			handle(p+samlArtifactPath, http.HandlerFunc(ep.samlArtifactResolve))
		}
	}
	mux.HandleFunc(s.basePath+"/healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc(s.basePath+"/{$}", s.index)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.errorPage(w, http.StatusNotFound, "Not found",
			"There is nothing at "+r.URL.Path+". Each environment's issuer is listed on the start page.")
	})
	return mux
}

// route is a path on the server and what serves it.
type route struct {
	path    string
	handler http.Handler
}

// routes are everything the issuer serves, where its flavor puts it.
// Discovery also answers where clients derive it from the issuer: under
// the issuer (OpenID Connect Discovery §4 and RFC 8414 §3's compatibility
// form), inserted after the host (RFC 8414 §3.1), and under /<env> for
// every flavor, so scripts can keep one rule.
func (ep *issuerEP) routes() []route {
	l, base := ep.env.layout, ep.s.basePath
	disc := cors(http.HandlerFunc(ep.discovery))
	issPath := base + strings.TrimSuffix(l.Issuer, "/")
	var rs []route
	for _, p := range []string{issPath, base + "/" + ep.env.cfg.Name} {
		rs = append(rs,
			route{p + wellKnownOIDC, disc}, route{p + wellKnownOAuth, disc},
			route{wellKnownOIDC + p, disc}, route{wellKnownOAuth + p, disc})
	}
	if issPath != base+l.Issuer {
		// An issuer with a trailing slash (auth0) keeps it after insertion;
		// {$} matches that path alone, not what is under it.
		rs = append(rs, route{wellKnownOIDC + base + l.Issuer + "{$}", disc}, route{wellKnownOAuth + base + l.Issuer + "{$}", disc})
	}
	for _, r := range []route{
		{l.JWKS, cors(http.HandlerFunc(ep.jwks))},
		{l.Token, cors(http.HandlerFunc(ep.token))},
		{l.UserInfo, cors(http.HandlerFunc(ep.userinfo))},
		{l.Authorization, http.HandlerFunc(ep.authorize)},
		{l.Introspection, http.HandlerFunc(ep.introspect)},
		{l.Revocation, http.HandlerFunc(ep.revoke)},
		{l.EndSession, http.HandlerFunc(ep.endSession)},
		{l.DeviceAuthorization, http.HandlerFunc(ep.deviceAuthorization)},
		{l.DeviceVerification, http.HandlerFunc(ep.deviceVerification)},
		{l.ExtraLogout, http.HandlerFunc(ep.endSession)},
	} {
		if r.path != "" {
			rs = append(rs, route{base + r.path, r.handler})
		}
	}
	return rs
}

// The discovery documents' well-known paths.
const (
	wellKnownOIDC  = "/.well-known/openid-configuration"
	wellKnownOAuth = "/.well-known/oauth-authorization-server"
)

// cors lets browser SPAs read discovery, keys, tokens and userinfo, errors
// included. Nothing here relies on cookies, so any origin may read.
func cors(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Access-Control-Allow-Origin", "*")
		hd.Set("Access-Control-Expose-Headers", "WWW-Authenticate")
		if r.Method == http.MethodOptions {
			hd.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
			hd.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, DPoP")
			hd.Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
