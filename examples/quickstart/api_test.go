package main

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gologto/logto/apiauth"
)

// protectedAPI is a stand-in for examples/api (another main package): the
// same route and requirement.
func protectedAPI(t *testing.T, endpoint string) http.Handler {
	t.Helper()
	v, err := apiauth.NewVerifier(apiauth.Config{Endpoint: endpoint, Audience: demoAPI})
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("GET /api/data", v.Middleware(apiauth.RequireScopes("read:data"))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := apiauth.FromContext(r.Context())
		_ = json.NewEncoder(w).Encode(map[string]string{"owner": c.Subject})
	})))
	return mux
}
