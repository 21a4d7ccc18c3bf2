package logtotest_test

import (
	"net/http"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto/logtotest"
)

func TestDiscovery(t *testing.T) {
	srv := logtotest.NewServer(t)
	iss := srv.Issuer()
	require.Equal(t, srv.URL()+"/oidc", iss)

	status, header, doc := getJSON(t, iss+"/.well-known/openid-configuration", "")
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, header.Get("Content-Type"), "application/json")

	tests := []struct {
		field string
		want  any
	}{
		{"issuer", iss},
		{"authorization_endpoint", iss + "/auth"},
		{"token_endpoint", iss + "/token"},
		{"userinfo_endpoint", iss + "/me"},
		{"jwks_uri", iss + "/jwks"},
		{"end_session_endpoint", iss + "/session/end"},
		{"revocation_endpoint", iss + "/token/revocation"},
		{"introspection_endpoint", iss + "/token/introspection"},
		{"authorization_response_iss_parameter_supported", true},
		{"backchannel_logout_supported", true},
		{"code_challenge_methods_supported", []any{"S256"}},
		{"id_token_signing_alg_values_supported", []any{"ES384"}},
		{"response_types_supported", []any{"code"}},
		{"subject_types_supported", []any{"public"}},
	}
	for _, tt := range tests {
		t.Run(tt.field, func(t *testing.T) { assert.Equal(t, tt.want, doc[tt.field]) })
	}
	for field, want := range map[string]string{
		"scopes_supported":                      "urn:logto:scope:organizations",
		"claims_supported":                      "organization_roles",
		"grant_types_supported":                 "client_credentials",
		"token_endpoint_auth_methods_supported": "client_secret_basic",
	} {
		assert.Contains(t, doc[field], want, field)
	}

	// Only fields that oidc-provider (Logto) publishes too.
	published := map[string]bool{}
	for _, f := range []string{
		"authorization_endpoint", "device_authorization_endpoint", "claims_parameter_supported", "claims_supported",
		"code_challenge_methods_supported", "end_session_endpoint", "grant_types_supported", "issuer", "jwks_uri",
		"authorization_response_iss_parameter_supported", "response_modes_supported", "response_types_supported",
		"scopes_supported", "subject_types_supported", "token_endpoint_auth_methods_supported",
		"token_endpoint_auth_signing_alg_values_supported", "token_endpoint", "id_token_signing_alg_values_supported",
		"pushed_authorization_request_endpoint", "request_uri_parameter_supported", "userinfo_endpoint",
		"introspection_endpoint", "revocation_endpoint", "backchannel_logout_supported",
		"backchannel_logout_session_supported", "claim_types_supported",
	} {
		published[f] = true
	}
	for field := range doc {
		assert.True(t, published[field], "%s is not in Logto's discovery document", field)
	}

	// RFC 8414 alias.
	status, _, alias := getJSON(t, iss+"/.well-known/oauth-authorization-server", "")
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, doc, alias)
}

func TestJWKS(t *testing.T) {
	for _, alg := range []string{"ES384", "ES256", "RS256"} {
		t.Run(alg, func(t *testing.T) {
			srv := logtotest.NewServer(t, logtotest.WithSigningAlg(alg))
			_, _, doc := getJSON(t, srv.Issuer()+"/.well-known/openid-configuration", "")
			assert.Equal(t, []any{alg}, doc["id_token_signing_alg_values_supported"])

			status, _, set := getJSON(t, srv.Issuer()+"/jwks", "")
			require.Equal(t, http.StatusOK, status)
			keys := set["keys"].([]any)
			require.Len(t, keys, 1)
			k := keys[0].(map[string]any)
			assert.Equal(t, srv.SigningKID(), k["kid"])
			assert.Equal(t, alg, k["alg"])
			assert.Equal(t, "sig", k["use"])
			assert.NotContains(t, k, "d", "private key material must not leak")

			tok := srv.Sign(nil, map[string]any{"sub": "x"})
			h, claims := verifyJWT(t, srv, tok)
			assert.Equal(t, alg, h["alg"])
			assert.Equal(t, "x", claims["sub"])
		})
	}
}

func TestStartRejectsUnknownAlg(t *testing.T) {
	_, err := logtotest.Start(logtotest.WithSigningAlg("HS256"))
	require.Error(t, err)
}

func TestMutateDiscoveryAndJWKS(t *testing.T) {
	srv := logtotest.NewServer(t)
	srv.MutateDiscovery(func(doc map[string]any) { doc["issuer"] = "https://evil.example/oidc" })
	srv.MutateJWKS(func(jwks map[string]any) { jwks["keys"] = []any{} })

	_, _, doc := getJSON(t, srv.Issuer()+"/.well-known/openid-configuration", "")
	assert.Equal(t, "https://evil.example/oidc", doc["issuer"])
	_, _, set := getJSON(t, srv.Issuer()+"/jwks", "")
	assert.Empty(t, set["keys"])

	srv.MutateDiscovery(nil)
	srv.MutateJWKS(nil)
	_, _, doc = getJSON(t, srv.Issuer()+"/.well-known/openid-configuration", "")
	assert.Equal(t, srv.Issuer(), doc["issuer"])
	_, _, set = getJSON(t, srv.Issuer()+"/jwks", "")
	assert.Len(t, set["keys"], 1)
}

func TestRotateKey(t *testing.T) {
	srv := newFixture(t)
	old := srv.SigningKID()
	oldTok := srv.Sign(nil, map[string]any{"sub": "old"})

	kid := srv.RotateKey()
	require.NotEqual(t, old, kid)
	require.Equal(t, kid, srv.SigningKID())

	_, _, set := getJSON(t, srv.Issuer()+"/jwks", "")
	require.Len(t, set["keys"], 2)

	body := signIn(t, srv, "u-alice", "openid", nil)
	h, _ := verifyJWT(t, srv, str(body["id_token"]))
	assert.Equal(t, kid, h["kid"])
	verifyJWT(t, srv, oldTok) // the old key still verifies

	srv.RemoveOldKeys()
	_, _, set = getJSON(t, srv.Issuer()+"/jwks", "")
	require.Len(t, set["keys"], 1)
	assert.Equal(t, kid, set["keys"].([]any)[0].(map[string]any)["kid"])
}

func TestSign(t *testing.T) {
	srv := logtotest.NewServer(t)
	tok := srv.Sign(map[string]any{"typ": "at+jwt", "x-test": "yes"}, map[string]any{"sub": "s1", "aud": "a"})
	h, claims := verifyJWT(t, srv, tok)
	assert.Equal(t, map[string]any{"alg": "ES384", "kid": srv.SigningKID(), "typ": "at+jwt", "x-test": "yes"}, h)
	assert.Equal(t, map[string]any{"sub": "s1", "aud": "a"}, claims)

	// Overriding kid makes the token unverifiable with the JWKS.
	tok = srv.Sign(map[string]any{"kid": "unknown"}, map[string]any{"sub": "s1"})
	assert.Equal(t, "unknown", decodeHeader(t, tok)["kid"])

	// alg none is unsigned.
	tok = srv.Sign(map[string]any{"alg": "none"}, map[string]any{"sub": "s1"})
	assert.Regexp(t, `^[\w-]+\.[\w-]+\.$`, tok)
	_, err := jose.ParseSignedCompact(tok, []jose.SignatureAlgorithm{jose.ES384})
	assert.Error(t, err)
}
