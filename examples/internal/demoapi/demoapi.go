// Package demoapi is the JSON API of the examples, protected with Logto
// access tokens (package apiauth). Command api serves it on its own; the
// quickstart starts it next to its embedded provider, so that its "Call
// the API" page works without a second terminal.
//
// Routes:
//
//	GET /api/data                     needs scope read:data
//	GET /api/organizations/{id}/data  needs an organization-scoped token for {id}
//	                                  with read:data, or an organization token for {id}
//	GET /healthz                      no token
package demoapi

import (
	"encoding/json"
	"io"
	"net/http"

	"github.com/gologto/logto/apiauth"
)

// Resource is the demo API's default resource indicator, as registered in
// the quickstart's embedded provider.
const Resource = "https://api.example.com"

// Scope is the permission GET /api/data requires.
const Scope = "read:data"

// New returns the API's routes behind token verification with cfg.
func New(cfg apiauth.Config) (http.Handler, error) {
	verifier, err := apiauth.NewVerifier(cfg)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /api/data", verifier.Middleware(apiauth.RequireScopes(Scope))(http.HandlerFunc(data)))
	mux.Handle("GET /api/organizations/{id}/data", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The requirement depends on the path: build it per request.
		org := apiauth.RequireOrganization(r.PathValue("id"))
		verifier.Middleware(org)(http.HandlerFunc(organizationData)).ServeHTTP(w, r)
	}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") })
	return mux, nil
}

func data(w http.ResponseWriter, r *http.Request) {
	claims, _ := apiauth.FromContext(r.Context())
	writeJSON(w, http.StatusOK, map[string]any{
		"owner":  claims.Subject,
		"client": claims.ClientID,
		"scopes": claims.Scopes(),
		"items":  []string{"first item", "second item"},
	})
}

func organizationData(w http.ResponseWriter, r *http.Request) {
	claims, _ := apiauth.FromContext(r.Context())
	if _, isOrgToken := claims.IsOrganizationToken(); !isOrgToken && !claims.HasScope(Scope) {
		writeJSON(w, http.StatusForbidden, map[string]string{"error": Scope + " is required"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"organization": r.PathValue("id"),
		"member":       claims.Subject,
		"scopes":       claims.Scopes(),
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
