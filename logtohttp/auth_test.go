package logtohttp

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto"
	"github.com/gologto/logto/logtotest"
)

func TestRequireAuthSignedOut(t *testing.T) {
	e := newEnv(t, envOptions{})
	tests := []struct {
		name, method, target string
		status               int
		location, body       string
	}{
		{"redirect remembers the page", http.MethodGet, "/protected/x?y=1&z=%2B", http.StatusFound, "/sign-in?return_to=%2Fprotected%2Fx%3Fy%3D1%26z%3D%252B", ""},
		{"redirect on HEAD", http.MethodHead, "/protected/x", http.StatusFound, "/sign-in?return_to=%2Fprotected%2Fx", ""},
		{"redirect without return_to on POST", http.MethodPost, "/protected/x", http.StatusFound, "/sign-in", ""},
		{"401 for APIs", http.MethodGet, "/api/x", http.StatusUnauthorized, "", `{"error":"Not authenticated"}`},
		{"401 on POST", http.MethodPost, "/api/x", http.StatusUnauthorized, "", `{"error":"Not authenticated"}`},
		{"401 with user info", http.MethodGet, "/api-userinfo", http.StatusUnauthorized, "", `{"error":"Not authenticated"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newRecorder()
			e.mux.ServeHTTP(w, request(tt.method, tt.target, ""))
			assert.Equal(t, tt.status, w.Code)
			assert.Equal(t, tt.location, w.Header().Get("Location"))
			assert.Equal(t, "no-store", w.Header().Get("Cache-Control"))
			if tt.body != "" {
				assert.Equal(t, tt.body, w.Body.String())
				assert.Equal(t, "application/json", w.Header().Get("Content-Type"))
			}
			assert.Empty(t, w.Header().Values("Set-Cookie"), "no session is created for a signed-out visit")
		})
	}
	assert.Zero(t, totalProviderRequests(e.idp))

	// The default page needs no return_to.
	e2 := newEnv(t, envOptions{config: func(c *Config) { c.DefaultReturnTo = "/protected/home" }})
	w := newRecorder()
	e2.mux.ServeHTTP(w, request(http.MethodGet, "/protected/home", ""))
	assert.Equal(t, "/sign-in", w.Header().Get("Location"))
}

func TestRequireAuthSignedInPutsClaimsInContext(t *testing.T) {
	for _, kind := range sessionKinds {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, envOptions{kind: kind})
			var claims logto.IdTokenClaims
			var claimsOK, infoOK bool
			e.mux.Handle("/whoami", e.h.RequireAuth(AuthOptions{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				claims, claimsOK = IdTokenClaims(r.Context())
				_, infoOK = UserInfo(r.Context())
			})))
			b := e.browser()
			e.signIn(b, "")
			resp, _ := e.get(b, "/whoami")
			require.Equal(t, http.StatusOK, resp.StatusCode)
			require.True(t, claimsOK)
			assert.False(t, infoOK, "user info only with FetchUserInfo")
			assert.Equal(t, testUserID, claims.Subject)
			assert.Equal(t, "Jane Doe", claims.Name.Get())
			assert.Equal(t, "jane@example.com", claims.Email.Get())
			assert.Equal(t, []string{"org-1"}, claims.Organizations.Get())

			// With FetchUserInfo, one request to Logto per request.
			n := e.idp.RequestCount(logtotest.EndpointUserInfo)
			resp, body := e.get(b, "/api-userinfo")
			require.Equal(t, http.StatusOK, resp.StatusCode, body)
			assert.Equal(t, "user info of "+testUserID+": jane@example.com", body)
			assert.Equal(t, n+1, e.idp.RequestCount(logtotest.EndpointUserInfo))
		})
	}
}

// TestNoProviderRequestOnceSignedIn checks, with logtotest's request log,
// that protected requests of a signed-in user never reach Logto.
func TestNoProviderRequestOnceSignedIn(t *testing.T) {
	for _, kind := range sessionKinds {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, envOptions{kind: kind})
			b := e.browser()
			e.signIn(b, "")
			e.idp.ResetRequests()
			for i := range 10 {
				for _, p := range []string{"/", "/protected/x", fmt.Sprintf("/api/%d", i)} {
					resp, body := e.get(b, p)
					require.Equal(t, http.StatusOK, resp.StatusCode, body)
					assert.Empty(t, setCookies(resp.Header), "an unchanged session is not rewritten")
				}
			}
			assert.Zero(t, totalProviderRequests(e.idp), "no request to Logto once signed in")
		})
	}
}

func TestRequireAuthSessionExpired(t *testing.T) {
	e := newEnv(t, envOptions{kind: "server"})
	b := e.browser()
	e.signIn(b, "")
	resp, _ := e.get(b, "/api-userinfo")
	require.Equal(t, http.StatusOK, resp.StatusCode)

	// Logto revokes the grant; the access token expires; the refresh fails.
	e.idp.RevokeGrantsOf(testUserID)
	e.idp.Advance(2 * time.Hour)
	resp, body := e.get(b, "/api-userinfo")
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, body)
	// The SDK cleared the tokens: the user is signed out everywhere.
	resp, _ = e.get(b, "/api/x")
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
}

func TestRequireAuthUserInfoFailure(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.browser()
	e.signIn(b, "")
	e.idp.FailNext(logtotest.EndpointUserInfo, http.StatusInternalServerError, `{"error":"server_error"}`)
	resp, body := e.get(b, "/api-userinfo")
	assert.Equal(t, http.StatusBadGateway, resp.StatusCode)
	assert.Contains(t, body, msgUnreachable)
	assert.NotContains(t, body, "server_error")
	assert.Contains(t, e.logs.String(), "server_error", "the cause is logged")
}

func TestContextAccessors(t *testing.T) {
	ctx := context.Background()
	_, ok := IdTokenClaims(ctx)
	assert.False(t, ok)
	_, ok = UserInfo(ctx)
	assert.False(t, ok)

	ctx = ContextWithIdTokenClaims(ctx, logto.IdTokenClaims{Subject: "u1"})
	var jane logto.UserInfo
	require.NoError(t, json.Unmarshal([]byte(`{"sub":"u1","name":"Jane"}`), &jane))
	ctx = ContextWithUserInfo(ctx, jane)
	c, ok := IdTokenClaims(ctx)
	assert.True(t, ok)
	assert.Equal(t, "u1", c.Subject)
	info, ok := UserInfo(ctx)
	assert.True(t, ok)
	assert.Equal(t, "Jane", info.Name.Get())

	// A handler behind RequireAuth can be tested without a provider.
	e := newEnv(t, envOptions{})
	r := request(http.MethodGet, "/", "").WithContext(ContextWithIdTokenClaims(context.Background(), logto.IdTokenClaims{Subject: "test"}))
	got, ok := IdTokenClaims(r.Context())
	assert.True(t, ok)
	assert.Equal(t, "test", got.Subject)
	assert.Nil(t, e.h.sessionFrom(r.Context()), "a context of test claims holds no session of h")
}

func TestTwoHandlersInOneChain(t *testing.T) {
	e := newEnv(t, envOptions{})
	other, err := NewCookieSessions(CookieOptions{Name: "second", Keys: [][]byte{testKey}})
	require.NoError(t, err)
	h2, err := New(Config{Client: e.client, Sessions: other, BaseURL: e.app.URL})
	require.NoError(t, err)
	var c1, c2 *logto.LogtoClient
	handler := e.h.Sessions(h2.Sessions(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c1, c2 = e.h.Client(r), h2.Client(r)
		_ = c1.Storage().Set(r.Context(), "a", "1")
		_ = c2.Storage().Set(r.Context(), "b", "2")
	})))
	w := newRecorder()
	handler.ServeHTTP(w, request(http.MethodGet, "/", ""))
	assert.NotSame(t, c1, c2)
	cookies := (&http.Response{Header: w.Header()}).Cookies()
	require.Len(t, cookies, 2)
	names := []string{cookies[0].Name, cookies[1].Name}
	assert.ElementsMatch(t, []string{"logto_session", "second"}, names)
}
