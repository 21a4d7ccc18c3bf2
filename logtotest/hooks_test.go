package logtotest_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto/logtotest"
)

func TestFailNext(t *testing.T) {
	srv := newFixture(t)
	srv.FailNext(logtotest.EndpointDiscovery, http.StatusServiceUnavailable, `{"error":"down"}`)
	srv.FailNext(logtotest.EndpointDiscovery, http.StatusBadGateway, "bad gateway")

	discovery := srv.Issuer() + "/.well-known/openid-configuration"
	tests := []struct {
		status int
		ctype  string
		body   string
	}{
		{503, "application/json", `{"error":"down"}`},
		{502, "text/plain; charset=utf-8", "bad gateway"},
		{200, "application/json; charset=utf-8", `"issuer"`},
	}
	for _, tt := range tests {
		resp, err := http.Get(discovery)
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, tt.status, resp.StatusCode)
		assert.Equal(t, tt.ctype, resp.Header.Get("Content-Type"))
		assert.Contains(t, string(b), tt.body)
	}
	assert.Equal(t, 3, srv.RequestCount(logtotest.EndpointDiscovery), "failed requests are logged too")

	// Token endpoint failure, then recovery.
	srv.FailNext(logtotest.EndpointToken, http.StatusInternalServerError, `{"error":"server_error"}`)
	q := authorize(t, srv, "u-alice", authParams(webID, "openid"))
	form := url.Values{"grant_type": {"authorization_code"}, "code": {q.Get("code")}, "redirect_uri": {redirectURI}}
	status, body := postForm(t, srv, "/oidc/token", form, webID, webSecret)
	assert.Equal(t, 500, status)
	assert.Equal(t, "server_error", body["error"])
	status, _ = postForm(t, srv, "/oidc/token", form, webID, webSecret)
	assert.Equal(t, 200, status, "the code was not consumed by the injected failure")
}

func TestIntercept(t *testing.T) {
	srv := newFixture(t)
	var (
		mu     sync.Mutex
		seen   []string
		logged []int
	)
	srv.Intercept(logtotest.EndpointUserInfo, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		mu.Lock()
		seen = append(seen, r.Header.Get("Authorization"))
		logged = append(logged, srv.RequestCount(logtotest.EndpointUserInfo))
		mu.Unlock()
		w.Header().Set("X-Intercepted", "yes")
		next.ServeHTTP(w, r)
	})
	at := str(signIn(t, srv, "u-alice", "openid", nil)["access_token"])
	status, h, claims := getJSON(t, srv.Issuer()+"/me", at)
	assert.Equal(t, 200, status)
	assert.Equal(t, "yes", h.Get("X-Intercepted"))
	assert.Equal(t, "u-alice", claims["sub"])
	mu.Lock()
	assert.Equal(t, []string{"Bearer " + at}, seen)
	assert.Equal(t, []int{1}, logged, "the request is logged before the hook runs")
	mu.Unlock()

	srv.Intercept(logtotest.EndpointUserInfo, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		http.Error(w, "nope", http.StatusTeapot)
	})
	status, _, _ = getJSON(t, srv.Issuer()+"/me", at)
	assert.Equal(t, http.StatusTeapot, status)

	srv.Intercept(logtotest.EndpointUserInfo, nil)
	status, h, _ = getJSON(t, srv.Issuer()+"/me", at)
	assert.Equal(t, 200, status)
	assert.Empty(t, h.Get("X-Intercepted"))
}

func TestMutateIDTokens(t *testing.T) {
	srv := newFixture(t)
	_, _, jwks := getJSON(t, srv.Issuer()+"/jwks", "")
	keyJSON, err := json.Marshal(jwks["keys"].([]any)[0])
	require.NoError(t, err)
	var pub jose.JSONWebKey
	require.NoError(t, json.Unmarshal(keyJSON, &pub))
	secret, err := json.Marshal(pub) // the public JWK's JSON, as a client would compute it
	require.NoError(t, err)

	t.Run("claims", func(t *testing.T) {
		srv.MutateIDTokens(func(header, claims map[string]any) {
			claims["iss"] = "https://evil.example"
			claims["aud"] = []string{"someone-else"}
			delete(claims, "sub")
			header["kid"] = "rogue"
		})
		tok := str(signIn(t, srv, "u-alice", "openid", nil)["id_token"])
		assert.Equal(t, "rogue", decodeHeader(t, tok)["kid"])
		claims := payload(t, tok)
		assert.Equal(t, "https://evil.example", claims["iss"])
		assert.Equal(t, []any{"someone-else"}, claims["aud"])
		assert.NotContains(t, claims, "sub")
	})
	t.Run("alg none", func(t *testing.T) {
		srv.MutateIDTokens(func(header, _ map[string]any) { header["alg"] = "none" })
		tok := str(signIn(t, srv, "u-alice", "openid", nil)["id_token"])
		assert.True(t, strings.HasSuffix(tok, "."))
		assert.Equal(t, "none", decodeHeader(t, tok)["alg"])
		assert.Equal(t, "u-alice", payload(t, tok)["sub"])
	})
	t.Run("HS256 keyed with the public key", func(t *testing.T) {
		srv.MutateIDTokens(func(header, _ map[string]any) { header["alg"] = "HS256" })
		tok := str(signIn(t, srv, "u-alice", "openid", nil)["id_token"])
		parts := strings.Split(tok, ".")
		mac := hmac.New(sha256.New, secret)
		mac.Write([]byte(parts[0] + "." + parts[1]))
		assert.Equal(t, base64.RawURLEncoding.EncodeToString(mac.Sum(nil)), parts[2])
		assert.Equal(t, "HS256", decodeHeader(t, tok)["alg"])
	})
	t.Run("stop", func(t *testing.T) {
		srv.MutateIDTokens(nil)
		tok := str(signIn(t, srv, "u-alice", "openid", nil)["id_token"])
		_, claims := verifyJWT(t, srv, tok)
		assert.Equal(t, srv.Issuer(), claims["iss"])
	})
}

func payload(t *testing.T, tok string) map[string]any {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[1])
	require.NoError(t, err)
	return decodeJSON(t, raw)
}

func TestRequestLog(t *testing.T) {
	srv := newFixture(t)
	signIn(t, srv, "u-alice", "openid", url.Values{"login_hint": {"alice"}})

	auth := srv.Requests(logtotest.EndpointAuth)
	require.Len(t, auth, 1)
	assert.Equal(t, http.MethodGet, auth[0].Method)
	assert.Equal(t, "/oidc/auth", auth[0].Path)
	assert.Equal(t, "alice", auth[0].Form.Get("login_hint"))
	assert.Equal(t, srv.Now(), auth[0].Time)

	tok := srv.Requests(logtotest.EndpointToken)
	require.Len(t, tok, 1)
	assert.Equal(t, http.MethodPost, tok[0].Method)
	assert.Equal(t, "authorization_code", tok[0].Form.Get("grant_type"))
	assert.True(t, strings.HasPrefix(tok[0].Header.Get("Authorization"), "Basic "))

	// Copies: editing them does not affect the log.
	tok[0].Form.Set("grant_type", "changed")
	tok[0].Header.Del("Authorization")
	assert.Equal(t, "authorization_code", srv.Requests(logtotest.EndpointToken)[0].Form.Get("grant_type"))

	resp, err := http.Get(srv.URL() + "/nowhere?x=1")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	assert.Equal(t, 1, srv.RequestCount(logtotest.EndpointUnknown))

	srv.ResetRequests()
	assert.Zero(t, srv.RequestCount(logtotest.EndpointToken))
	assert.Empty(t, srv.Requests(logtotest.EndpointAuth))
}

func TestBodyLimit(t *testing.T) {
	srv := newFixture(t)
	big := strings.NewReader("grant_type=client_credentials&x=" + strings.Repeat("a", 2<<20))
	resp, err := http.Post(srv.Issuer()+"/token", "application/x-www-form-urlencoded", big)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
}

func TestConcurrentUse(t *testing.T) {
	srv := newFixture(t)
	t.Run("group", func(t *testing.T) {
		for i := 0; i < 8; i++ {
			t.Run(fmt.Sprint(i), func(t *testing.T) {
				t.Parallel()
				body := signInSPA(t, srv, "u-alice", "openid offline_access profile", nil)
				status, _ := refresh(t, srv, true, str(body["refresh_token"]), nil)
				assert.Equal(t, http.StatusOK, status)
				srv.Advance(0)
				srv.RotateKey()
				_ = srv.Requests(logtotest.EndpointToken)
			})
		}
	})
	assert.Equal(t, 16, srv.RequestCount(logtotest.EndpointToken))
}
