package logtotest_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto/logtotest"
)

// magicParams are authorization parameters of a magic link: the one-time
// token and the email address it was issued for.
func magicParams(token, email string) url.Values {
	p := authParams(webID, "openid offline_access profile email")
	p.Set("one_time_token", token)
	p.Set("login_hint", email)
	return p
}

// subOf exchanges the code of callback query q and returns the ID
// token's sub.
func subOf(t *testing.T, srv *logtotest.Server, q url.Values) string {
	t.Helper()
	require.NotEmpty(t, q.Get("code"), q.Encode())
	status, body := postForm(t, srv, "/oidc/token", url.Values{
		"grant_type": {"authorization_code"}, "code": {q.Get("code")}, "redirect_uri": {redirectURI},
	}, webID, webSecret)
	require.Equal(t, http.StatusOK, status, body)
	_, claims := verifyJWT(t, srv, str(body["id_token"]))
	return str(claims["sub"])
}

// TestOneTimeTokenAuthorize: without a page (Authorize, or a server
// without WithLoginPage) the token is verified and consumed at once, and
// the user with its email is signed in, whatever user Authorize or
// SetAutoLogin name; every refusal carries Logto's code and status, and a
// refused token stays as it was.
func TestOneTimeTokenAuthorize(t *testing.T) {
	srv := newFixture(t)
	srv.SetAutoLogin("u-bob")
	tok := srv.AddOneTimeToken(logtotest.OneTimeToken{Email: "alice@example.com"})
	assert.Len(t, tok, 32)
	assert.Equal(t, logtotest.OneTimeTokenActive, srv.OneTimeTokenStatus(tok))

	assert.Equal(t, "u-alice", subOf(t, srv, authorize(t, srv, "u-bob", magicParams(tok, "alice@example.com"))))
	assert.Equal(t, logtotest.OneTimeTokenConsumed, srv.OneTimeTokenStatus(tok))

	expired := srv.AddOneTimeToken(logtotest.OneTimeToken{Email: "alice@example.com", TTL: time.Minute})
	revoked := srv.AddOneTimeToken(logtotest.OneTimeToken{Email: "alice@example.com", Token: "chosen-token"})
	assert.Equal(t, "chosen-token", revoked)
	require.True(t, srv.RevokeOneTimeToken(revoked))
	assert.False(t, srv.RevokeOneTimeToken(revoked), "revoked once")
	srv.Advance(time.Minute)
	tests := []struct {
		name, token, email, code string
		status                   int
		after                    string
	}{
		{"reused", tok, "alice@example.com", "one_time_token.token_consumed", http.StatusBadRequest, logtotest.OneTimeTokenConsumed},
		{"unknown", "nope", "alice@example.com", "one_time_token.token_not_found", http.StatusNotFound, ""},
		{"another email", revoked, "bob@example.com", "one_time_token.email_mismatch", http.StatusBadRequest, logtotest.OneTimeTokenRevoked},
		{"expired", expired, "alice@example.com", "one_time_token.token_expired", http.StatusBadRequest, logtotest.OneTimeTokenExpired},
		{"revoked", revoked, "alice@example.com", "one_time_token.token_revoked", http.StatusBadRequest, logtotest.OneTimeTokenRevoked},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv.ResetRequests()
			_, err := srv.Authorize(authURL(srv, magicParams(tt.token, tt.email)), "")
			require.Error(t, err)
			assert.Contains(t, err.Error(), `"code":"`+tt.code+`"`)
			assert.Contains(t, err.Error(), "did not redirect: "+strconv.Itoa(tt.status)+" ")
			assert.Equal(t, tt.after, srv.OneTimeTokenStatus(tt.token))
			assert.Zero(t, srv.RequestCount(logtotest.EndpointToken))
		})
	}

	// A token for an email no user has registers a new user with it.
	fresh := srv.AddOneTimeToken(logtotest.OneTimeToken{Email: "carol@example.com"})
	status, body := postForm(t, srv, "/oidc/token", url.Values{
		"grant_type": {"authorization_code"}, "redirect_uri": {redirectURI},
		"code": {authorize(t, srv, "", magicParams(fresh, "carol@example.com")).Get("code")},
	}, webID, webSecret)
	require.Equal(t, http.StatusOK, status, body)
	_, claims := verifyJWT(t, srv, str(body["id_token"]))
	assert.True(t, strings.HasPrefix(str(claims["sub"]), "user-"), claims["sub"])
	assert.Equal(t, "carol@example.com", claims["email"])

	// Without login_hint the token is ignored, as by Logto's page.
	other := srv.AddOneTimeToken(logtotest.OneTimeToken{Email: "alice@example.com"})
	p := magicParams(other, "")
	p.Del("login_hint")
	assert.Equal(t, "u-bob", subOf(t, srv, authorize(t, srv, "", p)))
	assert.Equal(t, logtotest.OneTimeTokenActive, srv.OneTimeTokenStatus(other))
}

// TestOneTimeTokenLoginPage: with the sign-in page, /oidc/auth sends the
// browser to /sign-in with the token and email, as Logto does; opening the
// page spends nothing (a mail scanner's prefetch), continuing signs the
// token's user in and consumes it, and the link used again shows Logto's
// error on the page.
func TestOneTimeTokenLoginPage(t *testing.T) {
	srv := newFixture(t, logtotest.WithLoginPage())
	tok := srv.AddOneTimeToken(logtotest.OneTimeToken{Email: "alice@example.com", Token: "tok-1"})
	b := browser(t)

	open := func() (string, string) {
		t.Helper()
		resp, _ := browserGet(t, b, authURL(srv, magicParams(tok, "alice@example.com")))
		require.Equal(t, http.StatusSeeOther, resp.StatusCode)
		loc := resp.Header.Get("Location")
		assert.Equal(t, "/sign-in?app_id="+webID+"&one_time_token=tok-1&login_hint=alice%40example.com", loc)
		resp, html := browserGet(t, b, srv.URL()+loc)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		m := regexp.MustCompile(`name="uid" value="([^"]+)"`).FindStringSubmatch(html)
		require.NotNil(t, m, html)
		return m[1], html
	}
	uid, html := open()
	assert.Contains(t, html, "<title>Sign in with a one-time link</title>")
	assert.Contains(t, html, "Continue as <strong>alice@example.com</strong>")
	assert.NotContains(t, html, `name="username"`)
	assert.Equal(t, logtotest.OneTimeTokenActive, srv.OneTimeTokenStatus(tok), "opening the page spends nothing")

	resp, err := b.PostForm(srv.URL()+"/sign-in", url.Values{"uid": {uid}, "one_time_token": {"yes"}})
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	assert.Equal(t, "u-alice", subOf(t, srv, callbackQuery(t, resp)))
	assert.Equal(t, logtotest.OneTimeTokenConsumed, srv.OneTimeTokenStatus(tok))

	// The same link again, in the same browser (now signed in as Alice):
	// the page opens and continuing is refused.
	uid, _ = open()
	resp, err = b.PostForm(srv.URL()+"/sign-in", url.Values{"uid": {uid}, "one_time_token": {"yes"}})
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	raw := make([]byte, 4096)
	n, _ := resp.Body.Read(raw)
	assert.Contains(t, string(raw[:n]), `data-code="one_time_token.token_consumed"`)
	assert.Contains(t, string(raw[:n]), "The token has been consumed.")
}
