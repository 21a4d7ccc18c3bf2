package logtohttp

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto"
	"github.com/gologto/logto/logtotest"
)

// TestRequireAuthRefreshesExpiredIDToken replays a copy of a signed-in
// session after Logto ended its grant: once the copy's ID token has
// expired, RequireAuth refreshes, Logto's invalid_grant signs it out. The
// ID token lives 10 minutes and the access tokens an hour, so the cached
// access token is still fresh: nothing else would make a request.
func TestRequireAuthRefreshesExpiredIDToken(t *testing.T) {
	for _, kind := range sessionKinds {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, envOptions{kind: kind, idp: []logtotest.Option{logtotest.WithIDTokenTTL(10 * time.Minute)}})
			e.h.now = e.idp.Now
			b := e.browser()
			e.signIn(b, "")
			stolen := e.cookieHeader(b)
			serve := func(cookie, path string) *http.Response {
				w := newRecorder()
				e.mux.ServeHTTP(w, request(http.MethodGet, path, cookie))
				return w.Result()
			}
			require.Equal(t, http.StatusOK, serve(stolen, "/api/x").StatusCode)

			// The user signs out elsewhere; Logto revokes the grant.
			e.idp.RevokeGrantsOf(testUserID)
			// While the ID token is valid, the copy passes without asking
			// Logto (the documented window).
			e.idp.Advance(9 * time.Minute)
			tokens := e.idp.RequestCount(logtotest.EndpointToken)
			assert.Equal(t, http.StatusOK, serve(stolen, "/api/x").StatusCode)
			assert.Equal(t, tokens, e.idp.RequestCount(logtotest.EndpointToken))

			// Past its expiry, the copy is refused and its cookie cleared.
			e.idp.Advance(2 * time.Minute)
			resp := serve(stolen, "/api/x")
			assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
			assert.Equal(t, tokens+1, e.idp.RequestCount(logtotest.EndpointToken), "one refresh")
			assert.NotEmpty(t, setCookies(resp.Header), "the ended session is cleared")
			assert.Equal(t, http.StatusFound, serve(stolen, "/protected/x").StatusCode)
		})
	}
}

// TestRequireAuthExpiredIDTokenOfLiveSession: a session Logto still holds
// gets a new ID token, with one request, and goes on without any.
func TestRequireAuthExpiredIDTokenOfLiveSession(t *testing.T) {
	for _, kind := range sessionKinds {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, envOptions{kind: kind, idp: []logtotest.Option{logtotest.WithIDTokenTTL(10 * time.Minute)}})
			e.h.now = e.idp.Now
			b := e.browser()
			e.signIn(b, "")
			first := e.storedValue(b, logto.StorageKeyIDToken)
			e.idp.Advance(11 * time.Minute)

			tokens := e.idp.RequestCount(logtotest.EndpointToken)
			resp, body := e.get(b, "/api/x")
			require.Equal(t, http.StatusOK, resp.StatusCode, body)
			assert.Equal(t, tokens+1, e.idp.RequestCount(logtotest.EndpointToken))
			assert.NotEqual(t, first, e.storedValue(b, logto.StorageKeyIDToken), "a new ID token is stored")
			assert.Less(t, e.idp.Now().Unix(), e.claimsOf(b).Expiry.Time().Unix())

			resp, _ = e.get(b, "/api/x")
			require.Equal(t, http.StatusOK, resp.StatusCode)
			assert.Equal(t, tokens+1, e.idp.RequestCount(logtotest.EndpointToken), "no further request")
		})
	}
}

// TestRequireAuthExpiredIDTokenLogtoDown: a refresh that cannot reach
// Logto is an error page (not a pass), and leaves the session as it was.
func TestRequireAuthExpiredIDTokenLogtoDown(t *testing.T) {
	e := newEnv(t, envOptions{idp: []logtotest.Option{logtotest.WithIDTokenTTL(10 * time.Minute)}})
	e.h.now = e.idp.Now
	b := e.browser()
	e.signIn(b, "")
	before := e.cookieHeader(b)
	e.idp.Advance(11 * time.Minute)
	e.idp.FailNext(logtotest.EndpointToken, http.StatusServiceUnavailable, `{"error":"temporarily_unavailable"}`)

	resp, body := e.get(b, "/api/x")
	assert.Equal(t, http.StatusBadGateway, resp.StatusCode)
	assert.Contains(t, body, msgUnreachable)
	assert.Equal(t, before, e.cookieHeader(b), "the session is unchanged")
	assert.Contains(t, e.logs.String(), "temporarily_unavailable")

	resp, _ = e.get(b, "/api/x")
	assert.Equal(t, http.StatusOK, resp.StatusCode, "works again once Logto answers")
}

// claimsOf returns the ID token claims of the browser's session.
func (e *env) claimsOf(b *http.Client) logto.IdTokenClaims {
	e.t.Helper()
	w := newRecorder()
	var claims logto.IdTokenClaims
	e.h.Sessions(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		var err error
		claims, err = e.h.Client(r).GetIdTokenClaims(r.Context())
		require.NoError(e.t, err)
	})).ServeHTTP(w, request(http.MethodGet, "/", e.cookieHeader(b)))
	return claims
}
