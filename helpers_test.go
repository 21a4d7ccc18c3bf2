package logto

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// discoveryServer serves only a discovery document shaped like Logto's, for
// tests of code paths that need nothing else. It counts requests.
type discoveryServer struct {
	*httptest.Server
	hits atomic.Int64
}

func newDiscoveryServer(t *testing.T, mutate func(doc map[string]any)) *discoveryServer {
	t.Helper()
	ds := &discoveryServer{}
	mux := http.NewServeMux()
	ds.Server = httptest.NewServer(mux)
	t.Cleanup(ds.Close)
	issuer := ds.URL + "/oidc"
	mux.HandleFunc("/oidc/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		ds.hits.Add(1)
		doc := map[string]any{
			"issuer":                                issuer,
			"authorization_endpoint":                "https://logto.app/oidc/auth",
			"token_endpoint":                        issuer + "/token",
			"userinfo_endpoint":                     issuer + "/me",
			"jwks_uri":                              issuer + "/jwks",
			"end_session_endpoint":                  "https://logto.app/oidc/logout",
			"revocation_endpoint":                   issuer + "/token/revocation",
			"id_token_signing_alg_values_supported": []string{"ES384"},
			"authorization_response_iss_parameter_supported": true,
		}
		if mutate != nil {
			mutate(doc)
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(doc)
	})
	return ds
}

// fixedRandom makes state, nonce and verifier predictable: "state",
// "nonce", "codeVerifier" in the order SignIn draws them.
func fixedRandom() Option {
	return func(s *settings) error {
		vals := []string{"state", "nonce", "codeVerifier"}
		i := 0
		s.random = func() string {
			v := vals[i%len(vals)]
			i++
			return v
		}
		return nil
	}
}
