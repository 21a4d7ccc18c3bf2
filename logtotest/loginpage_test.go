package logtotest_test

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto/logtotest"
)

func TestLoginPage(t *testing.T) {
	srv := newFixture(t, logtotest.WithLoginPage())
	p := authParams(webID, "openid offline_access profile")
	p.Set("login_hint", "bob")
	b := browser(t)

	// /oidc/auth sends the browser to the sign-in page, like Logto, with the
	// pending sign-in in the _interaction cookie.
	resp, _ := browserGet(t, b, authURL(srv, p))
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	loc := resp.Header.Get("Location")
	require.Equal(t, "/sign-in?app_id="+webID+"&login_hint=bob", loc)

	page := func(resp *http.Response) string {
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	resp, err := b.Get(srv.URL() + loc)
	require.NoError(t, err)
	html := page(resp)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, resp.Header.Get("Content-Type"), "text/html")
	m := regexp.MustCompile(`name="uid" value="([^"]+)"`).FindStringSubmatch(html)
	require.NotNil(t, m, html)
	uid := m[1]
	for _, want := range []string{
		"<title>Sign in</title>", `id="sign-in-form"`, `method="POST"`, `action="/sign-in"`,
		`name="username" id="username" value="bob"`, `id="submit"`, "Continue",
	} {
		assert.Contains(t, html, want)
	}

	// The hidden uid names the sign-in, so a client without the cookie can
	// post the form too.
	submit := func(username string) *http.Response {
		resp, err := noRedirect.PostForm(srv.URL()+"/sign-in", url.Values{"uid": {uid}, "username": {username}})
		require.NoError(t, err)
		return resp
	}
	resp = submit("nobody")
	html = page(resp)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, html, "Unknown user")
	assert.Contains(t, html, `value="nobody"`)

	resp = submit("alice")
	page(resp)
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	assert.Contains(t, strings.Join(resp.Header.Values("Set-Cookie"), "\n"), "_interaction=;", "the interaction cookie is cleared")
	cb, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(t, err)
	assert.Equal(t, "st-1", cb.Query().Get("state"))
	tok := exchange(t, srv, cb.Query().Get("code"))
	_, claims := verifyJWT(t, srv, str(tok["id_token"]))
	assert.Equal(t, "u-alice", claims["sub"])
	assert.NotEmpty(t, tok["refresh_token"])

	// The interaction is used up.
	resp = submit("alice")
	page(resp)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Equal(t, 4, srv.RequestCount(logtotest.EndpointSignIn))

	// Auto-login and Authorize bypass the page.
	q := authorize(t, srv, "u-bob", p)
	assert.NotEmpty(t, q.Get("code"))
	srv.SetAutoLogin("u-bob")
	resp, _ = getAuth(t, srv, p)
	assert.Equal(t, http.StatusSeeOther, resp.StatusCode)
	assert.True(t, strings.HasPrefix(resp.Header.Get("Location"), redirectURI+"?code="))
}

func TestLoginPageSkippedWithSession(t *testing.T) {
	srv := newFixture(t, logtotest.WithLoginPage())
	b := browser(t)
	p := authParams(webID, "openid")

	// First sign-in: the page; its answer sets the session cookie.
	resp, _ := browserGet(t, b, authURL(srv, p))
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	loc := resp.Header.Get("Location")
	require.Equal(t, "/sign-in?app_id="+webID, loc)
	resp, err := b.PostForm(srv.URL()+"/sign-in", url.Values{"username": {"alice"}}) // the cookie names the sign-in
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	first := exchange(t, srv, callbackQuery(t, resp).Get("code"))
	_, claims := verifyJWT(t, srv, str(first["id_token"]))
	assert.NotContains(t, claims, "auth_time")

	// The same browser signs in again without the page, as in Logto.
	resp, _ = browserGet(t, b, authURL(srv, p))
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	_, claims = verifyJWT(t, srv, str(exchange(t, srv, callbackQuery(t, resp).Get("code"))["id_token"]))
	assert.Equal(t, "u-alice", claims["sub"])

	// prompt=login shows the page again; so does a session older than
	// max_age.
	for _, edit := range []func(url.Values){
		func(p url.Values) { p.Set("prompt", "login consent") },
		func(p url.Values) { p.Set("max_age", "60") },
	} {
		srv.Advance(2 * time.Minute)
		p := authParams(webID, "openid")
		edit(p)
		resp, _ = browserGet(t, b, authURL(srv, p))
		require.Equal(t, http.StatusSeeOther, resp.StatusCode)
		loc = resp.Header.Get("Location")
		require.Equal(t, "/sign-in?app_id="+webID, loc)
		resp, err = b.PostForm(srv.URL()+"/sign-in", url.Values{"username": {"alice"}})
		require.NoError(t, err)
		resp.Body.Close()
		_, claims = verifyJWT(t, srv, str(exchange(t, srv, callbackQuery(t, resp).Get("code"))["id_token"]))
		assert.EqualValues(t, srv.Now().Unix(), claims["auth_time"], "a new authentication, in the ID token")
	}

	// A fresh browser sees the page.
	resp, _ = getAuth(t, srv, p)
	assert.Equal(t, "/sign-in?app_id="+webID, resp.Header.Get("Location"))
}
