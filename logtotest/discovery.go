package logtotest

import (
	"encoding/json"
	"net/http"
)

// discoveryDocument returns Logto's discovery document, limited to what the
// fake implements, as decoded JSON (so MutateDiscovery sees []any, not
// []string).
func (s *Server) discoveryDocument() map[string]any {
	iss := s.Issuer()
	authMethods := []string{"client_secret_basic", "client_secret_post", "none"}
	doc := map[string]any{
		"issuer":                 iss,
		"authorization_endpoint": iss + "/auth",
		"token_endpoint":         iss + "/token",
		"userinfo_endpoint":      iss + "/me",
		"jwks_uri":               iss + "/jwks",
		"end_session_endpoint":   iss + "/session/end",
		"revocation_endpoint":    iss + "/token/revocation",
		"introspection_endpoint": iss + "/token/introspection",
		"authorization_response_iss_parameter_supported": true,
		"backchannel_logout_supported":                   true,
		"backchannel_logout_session_supported":           true,
		"claim_types_supported":                          []string{"normal"},
		"claims_parameter_supported":                     false,
		"request_uri_parameter_supported":                false,
		"code_challenge_methods_supported":               []string{"S256"},
		"grant_types_supported":                          []string{"authorization_code", "refresh_token", "client_credentials"},
		"id_token_signing_alg_values_supported":          []string{string(s.currentKey().alg)},
		"response_modes_supported":                       []string{"query"},
		"response_types_supported":                       []string{"code"},
		"scopes_supported":                               oidcScopes,
		"claims_supported":                               supportedClaims,
		"subject_types_supported":                        []string{"public"},
		"token_endpoint_auth_methods_supported":          authMethods,
	}
	s.deviceDiscovery(doc)
	return roundTrip(doc)
}

// roundTrip converts v to its decoded-JSON form.
func roundTrip(v map[string]any) map[string]any {
	b, err := json.Marshal(v)
	if err != nil {
		panic("logtotest: " + err.Error())
	}
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return out
}

// roundTripValue converts a JSON-encodable struct to its decoded-JSON map.
func roundTripValue(v any) map[string]any {
	b, err := json.Marshal(v)
	if err != nil {
		panic("logtotest: " + err.Error())
	}
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return out
}

// handleDiscovery serves the OpenID Provider metadata.
func (s *Server) handleDiscovery(w http.ResponseWriter, r *http.Request) {
	doc := s.discoveryDocument()
	s.mu.Lock()
	mutate := s.mutateDiscovery
	s.mu.Unlock()
	if mutate != nil {
		mutate(doc)
	}
	writeJSON(w, http.StatusOK, doc)
}

// handleJWKS serves the public signing keys.
func (s *Server) handleJWKS(w http.ResponseWriter, r *http.Request) {
	doc := s.jwksDocument()
	s.mu.Lock()
	mutate := s.mutateJWKS
	s.mu.Unlock()
	if mutate != nil {
		mutate(doc)
	}
	w.Header().Set("Content-Type", "application/jwk-set+json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(w).Encode(doc)
}
