package mockidp

import (
	"encoding/json"
	"net/http"
)

// issuerEP is one issuer the server answers as: an environment under its
// path. Entra environments also answer under "<env>/v2.0", the shape of
// Entra's v2.0 issuer (https://login.microsoftonline.com/<tenant>/v2.0);
// tokens carry the issuer they were requested from.
type issuerEP struct {
	s      *Server
	env    *envState
	prefix string // "/dev", "/prod/v2.0"
}

func (ep *issuerEP) issuer() string { return ep.s.BaseURL() + ep.prefix }

// issuers lists every issuer of env.
func (s *Server) issuers(es *envState) []*issuerEP {
	eps := []*issuerEP{{s: s, env: es, prefix: "/" + es.cfg.Name}}
	if es.flavor == "entra" {
		eps = append(eps, &issuerEP{s: s, env: es, prefix: "/" + es.cfg.Name + "/v2.0"})
	}
	return eps
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	for _, e := range s.cfg.Environments {
		for _, ep := range s.issuers(s.envs[e.Name]) {
			p := s.basePath + ep.prefix
			mux.Handle(p+"/.well-known/openid-configuration", cors(http.HandlerFunc(ep.discovery)))
			mux.Handle(p+"/.well-known/oauth-authorization-server", cors(http.HandlerFunc(ep.discovery)))
			mux.Handle(p+"/jwks.json", cors(http.HandlerFunc(ep.jwks)))
			mux.Handle(p+"/token", cors(http.HandlerFunc(ep.token)))
			mux.Handle(p+"/userinfo", cors(http.HandlerFunc(ep.userinfo)))
			mux.HandleFunc(p+"/authorize", ep.authorize)
			mux.HandleFunc(p+"/introspect", ep.introspect)
			mux.HandleFunc(p+"/revoke", ep.revoke)
			mux.HandleFunc(p+"/logout", ep.endSession)
			mux.HandleFunc(p+"/device_authorization", ep.deviceAuthorization)
			mux.HandleFunc(p+"/device", ep.deviceVerification)
		}
		ep := s.issuers(s.envs[e.Name])[0]
		p := s.basePath + ep.prefix
		mux.HandleFunc(p+samlMetadataPath, ep.samlMetadata)
		mux.HandleFunc(p+samlSSOPath, ep.samlSSO)
		mux.HandleFunc(p+samlSLOPath, ep.samlSLO)
		mux.HandleFunc(p+samlIDPInitiatedPath, ep.samlIDPInitiated)
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
