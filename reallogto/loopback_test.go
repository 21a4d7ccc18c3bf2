package reallogto

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto"
	"github.com/gologto/logto/logtocli"
)

// loopbackRedirect is the redirect URI a command-line tool registers: no
// port, since its listener takes a free port every run.
const loopbackRedirect = "http://127.0.0.1/callback"

// loopbackSignIn runs logtocli.LoopbackSignIn with c (port 0: a free
// port), u signing in where the browser would (tg.signIn, then the
// redirect to the listener), and returns the redirect URI used and the
// page the listener answered.
func loopbackSignIn(t *testing.T, tg target, c *logto.LogtoClient, u user, port int) (string, page, error) {
	t.Helper()
	urls := make(chan string, 1)
	errc := make(chan error, 1)
	go func() {
		errc <- logtocli.LoopbackSignIn(context.Background(), c, logtocli.LoopbackOptions{
			Port: port, Out: io.Discard, Timeout: time.Minute, AppName: "the Go SDK test",
			OpenBrowser: func(u string) error { urls <- u; return nil },
		})
	}()
	var authURL string
	select {
	case authURL = <-urls:
	case err := <-errc:
		return "", page{}, err
	}
	au, err := url.Parse(authURL)
	require.NoError(t, err)
	redirect := au.Query().Get("redirect_uri")
	b := newBrowser(t)
	loc := tg.signIn(t, b, authURL, u)
	require.True(t, strings.HasPrefix(loc, redirect+"?"), "Logto redirected to the listener: %s", loc)
	p := b.get(loc) // the browser reaches the loopback listener
	return redirect, p, <-errc
}

// TestLoopbackSignIn signs a Native app in through the RFC 8252 loopback
// flow of logtocli, with the redirect URI registered without port: Logto
// accepts the listener's port whatever it is, twice on two ports, then
// the session works (an API token, a refresh with rotation). A
// Traditional app registered alike is refused another port: the
// exception is for Native apps.
func TestLoopbackSignIn(t *testing.T) {
	forTargets(t, func(t *testing.T, tg target) {
		ctx := context.Background()
		u := tg.newUser(t, userSpec{Email: true, APIScopes: []string{readData}})
		nat := tg.newApp(t, appSpec{Native: true, RedirectURI: loopbackRedirect})

		var redirects []string
		for run := 0; run < 2; run++ {
			rec := newRecorder()
			c := clientFor(t, tg, nat, []string{logto.ScopeEmail, readData}, []string{tg.api()}, rec)
			redirect, p, err := loopbackSignIn(t, tg, c, u, 0)
			require.NoError(t, err, "run %d", run)
			redirects = append(redirects, redirect)
			assert.Regexp(t, `^http://127\.0\.0\.1:\d+/callback$`, redirect)
			assert.Equal(t, http.StatusOK, p.status, "%s", p)
			assert.Contains(t, string(p.body), "You are signed in")

			claims, err := c.GetIdTokenClaims(ctx)
			require.NoError(t, err)
			assert.Equal(t, u.ID, claims.Subject)
			assert.Equal(t, u.Email, claims.Email.Get())
			code := rec.tokenRequests()
			require.Len(t, code, 1)
			assert.Equal(t, "authorization_code", code[0].grantType)
			assert.Equal(t, 200, code[0].status)

			rt0, err := c.GetRefreshToken(ctx)
			require.NoError(t, err)
			tok, err := c.GetAccessToken(ctx, tg.api())
			require.NoError(t, err)
			assert.Contains(t, strings.Fields(jwtClaims(t, tok)["scope"].(string)), readData)
			rt1, _ := c.GetRefreshToken(ctx)
			assert.NotEqual(t, rt0, rt1, "a Native app's refresh token rotates")
		}
		assert.NotEqual(t, redirects[0], redirects[1], "two runs, two ports, one registration")

		// A configured port works as well.
		c := clientFor(t, tg, nat, nil, nil, nil)
		port := freePort(t)
		redirect, _, err := loopbackSignIn(t, tg, c, u, port)
		require.NoError(t, err)
		assert.Equal(t, "http://127.0.0.1:"+strconv.Itoa(port)+"/callback", redirect)

		// The same registration on a Traditional app: another port is an
		// invalid redirect URI, shown by the provider, not redirected.
		web := tg.newApp(t, appSpec{RedirectURI: loopbackRedirect})
		wc := clientFor(t, tg, web, nil, nil, nil)
		authURL, err := wc.SignIn(ctx, logto.SignInOptions{RedirectURI: "http://127.0.0.1:" + strconv.Itoa(port) + "/callback"})
		require.NoError(t, err)
		p := newBrowser(t).get(authURL)
		assert.Equal(t, http.StatusBadRequest, p.status, "%s", p)
		assert.Empty(t, p.location)
		assert.Contains(t, string(p.body), "invalid_redirect_uri")
	})
}

// freePort returns a loopback port free at the time of the call.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	require.NoError(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	require.NoError(t, ln.Close())
	return port
}
