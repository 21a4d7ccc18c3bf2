package logtohttp

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto"
)

// TestSignInFloodKeepsPendingSignIns: with server sessions on a memory
// store of 100 records, 10,000 anonymous /sign-in requests neither fill
// the store nor make a genuine user's callback fail.
func TestSignInFloodKeepsPendingSignIns(t *testing.T) {
	e := newEnv(t, envOptions{kind: "server"})
	// A signed-in user, whose session must survive too.
	other := e.browser()
	e.signIn(other, "")

	b := noRedirects(e.browser())
	resp, err := b.Get(e.app.URL + "/sign-in?return_to=/protected/welcome")
	require.NoError(t, err)
	resp.Body.Close()
	authURL := resp.Header.Get("Location")

	flood := e.h.SignIn()
	for i := range 10_000 {
		w := newRecorder()
		flood.ServeHTTP(w, request(http.MethodGet, "/sign-in", ""))
		require.Equal(t, http.StatusFound, w.Code, "request %d", i)
	}
	assert.Equal(t, 1, e.store.Len(), "anonymous visitors create no record")

	cb, err := e.idp.Authorize(authURL, testUserID)
	require.NoError(t, err)
	resp, err = b.Get(cb)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusFound, resp.StatusCode)
	assert.Equal(t, "/protected/welcome", resp.Header.Get("Location"))
	_, body := e.get(e.browserWithJar(b), "/protected/welcome")
	assert.Equal(t, "protected /protected/welcome for "+testUserID, body)
	resp, _ = e.get(other, "/api/x")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}

// TestPendingSignInCookie: the pending sign-ins of server sessions are
// sealed in their own cookie: unreadable ones are cleared and read as no
// pending sign-in, and the store never holds them.
func TestPendingSignInCookie(t *testing.T) {
	e := newEnv(t, envOptions{kind: "server"})
	b := noRedirects(e.browser())
	resp, err := b.Get(e.app.URL + "/sign-in")
	require.NoError(t, err)
	resp.Body.Close()
	pending := e.appCookies(b)[DefaultServerSessionName+"_pending"]
	require.NotEmpty(t, pending)
	assert.NotContains(t, pending, "state", "sealed")
	assert.Zero(t, e.store.Len())

	// Tampered: cleared, and the callback finds no pending sign-in.
	cb, err := e.idp.Authorize(resp.Header.Get("Location"), testUserID)
	require.NoError(t, err)
	u := strings.TrimPrefix(cb, e.app.URL)
	w := newRecorder()
	e.mux.ServeHTTP(w, request(http.MethodGet, u, DefaultServerSessionName+"_pending="+pending[:len(pending)-4]+"AAAA"))
	assert.Equal(t, http.StatusBadRequest, w.Code)
	assert.Contains(t, w.Body.String(), msgStale)
	assert.Contains(t, setCookie(w.Header(), DefaultServerSessionName+"_pending"), "Max-Age=0")

	// The genuine cookie completes it; the record holds tokens only.
	resp, err = b.Get(cb)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusFound, resp.StatusCode)
	rec, ok, err := e.store.Get(context.Background(), storeID(e.sidCookie(b)))
	require.NoError(t, err)
	require.True(t, ok)
	assert.NotContains(t, rec.Values, logto.StorageKeySignInSession)
	assert.NotContains(t, rec.Values, storageKeyReturnTo)
	assert.NotContains(t, e.appCookies(b), DefaultServerSessionName+"_pending", "spent: cleared")
}

// TestServerSessionsNeedKeysForSharedStores: only a memory store may do
// without keys.
func TestServerSessionsNeedKeysForSharedStores(t *testing.T) {
	shared := struct{ SessionStore }{NewMemorySessionStore(0, 0)}
	_, err := NewServerSessions(shared, CookieOptions{})
	assert.ErrorContains(t, err, "CookieOptions.Keys")
	_, err = NewServerSessions(shared, CookieOptions{Keys: [][]byte{testKey}})
	assert.NoError(t, err)
	_, err = NewServerSessions(NewMemorySessionStore(0, 0), CookieOptions{})
	assert.NoError(t, err)
	_, err = NewServerSessions(shared, CookieOptions{Keys: [][]byte{[]byte("short")}})
	assert.Error(t, err)
}

// browserWithJar returns a redirect-following client sharing c's cookies.
func (e *env) browserWithJar(c *http.Client) *http.Client {
	return &http.Client{Jar: c.Jar}
}
