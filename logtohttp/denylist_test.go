package logtohttp

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto/logtotest"
)

// TestCookieSessionsEndUserSessions: the back-channel logout hook of
// cookie sessions ends every copy of the user's sessions (by subject, or
// by Logto session id), at once, and a new sign-in works again.
func TestCookieSessionsEndUserSessions(t *testing.T) {
	e := newEnv(t, envOptions{app: func(a *logtotest.App) {
		a.BackchannelLogoutURI = "http://127.0.0.1:1/logout" // makes ID tokens carry sid
		a.BackchannelLogoutSessionRequired = true
	}})
	e.idp.AddUser(logtotest.User{ID: "user-2", Username: "bob"})
	browsers := map[string]*http.Client{}
	copies := map[string]string{}
	for _, name := range []string{"jane-laptop", "jane-phone", "bob"} {
		user := testUserID
		if name == "bob" {
			user = "user-2"
		}
		e.idp.SetAutoLogin(user)
		browsers[name] = e.browser()
		e.signIn(browsers[name], "")
		copies[name] = e.cookieHeader(browsers[name])
	}
	e.idp.SetAutoLogin(testUserID)
	status := func(cookie string) int {
		w := newRecorder()
		e.mux.ServeHTTP(w, request(http.MethodGet, "/api/x", cookie))
		return w.Code
	}
	ctx := context.Background()

	// One Logto session: the laptop's, and every copy of it.
	laptop := e.claimsOf(browsers["jane-laptop"])
	require.NotEmpty(t, laptop.SID)
	require.NoError(t, e.cookies.EndUserSessions(ctx, "", laptop.SID))
	assert.Equal(t, http.StatusUnauthorized, status(copies["jane-laptop"]))
	assert.Equal(t, http.StatusOK, status(copies["jane-phone"]))
	assert.Equal(t, http.StatusOK, status(copies["bob"]))
	resp, _ := e.get(browsers["jane-laptop"], "/api/x")
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.Empty(t, e.appCookies(browsers["jane-laptop"]), "the ended session's cookies are cleared")

	// Every session of Jane signed in until now.
	require.NoError(t, e.cookies.EndUserSessions(ctx, testUserID, ""))
	assert.Equal(t, http.StatusUnauthorized, status(copies["jane-phone"]))
	assert.Equal(t, http.StatusOK, status(copies["bob"]))

	// Signing in again afterwards works.
	time.Sleep(2 * time.Millisecond) // sign-in times are in milliseconds
	again := e.browser()
	e.signIn(again, "")
	resp, _ = e.get(again, "/api/x")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, http.StatusUnauthorized, status(copies["jane-phone"]), "the old copy stays ended")

	assert.Error(t, e.cookies.EndUserSessions(ctx, "", ""))
}

// TestDenyListExpiresAndIsBounded: entries live MaxAge, and the list
// refuses new entries when full instead of forgetting old ones.
func TestDenyListExpiresAndIsBounded(t *testing.T) {
	var d denyList
	entry := func(sub, sid string, since int64) *openedEntry {
		e := &openedEntry{}
		e.identOnce.Do(func() { e.ident = sessionIdent{sub: sub, sid: sid, since: since} })
		return e
	}
	assert.False(t, d.denies(entry("u", "s", 1)), "empty")
	require.NoError(t, d.add("u", "", 100, 200))
	assert.True(t, d.denies(entry("u", "", 100)))
	assert.True(t, d.denies(entry("u", "", 0)), "no recorded sign-in time: ended")
	assert.False(t, d.denies(entry("u", "", 101)), "signed in after")
	assert.False(t, d.denies(entry("v", "", 50)))
	require.NoError(t, d.add("", "s1", 100, 200))
	assert.True(t, d.denies(entry("anyone", "s1", 150)))
	require.NoError(t, d.add("w", "s2", 100, 200))
	assert.False(t, d.denies(entry("other", "s2", 0)), "sid given with another subject")

	// At 200 the entries expire and are dropped by the next add.
	require.NoError(t, d.add("x", "", 200, 300))
	assert.Len(t, d.queue, 1)
	assert.Len(t, d.subs, 1)
	assert.Empty(t, d.sids)

	for i := range maxDenied - 1 {
		require.NoError(t, d.add("", string(rune(i)), 201, 300))
	}
	assert.Error(t, d.add("y", "", 202, 300), "full")
	assert.True(t, d.denies(entry("x", "", 150)), "nothing forgotten")
}
