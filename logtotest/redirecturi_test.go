package logtotest_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto/logtotest"
)

// TestLoopbackRedirectURIs: a Native app's http loopback redirect URI
// matches whatever its port (RFC 8252 7.3), as Logto's
// packages/core/src/oidc/redirect-uri decides; nothing else loosens, and
// the code is redeemed only with the exact redirect URI it was issued for.
func TestLoopbackRedirectURIs(t *testing.T) {
	for _, tc := range []struct {
		name       string
		typ        logtotest.AppType
		registered string
		requested  string
		ok         bool
	}{
		{"native, no port registered", logtotest.AppNative, "http://127.0.0.1/callback", "http://127.0.0.1:54321/callback", true},
		{"native, other port registered", logtotest.AppNative, "http://127.0.0.1:3000/callback", "http://127.0.0.1:4000/callback", true},
		{"native, port 80 requested", logtotest.AppNative, "http://127.0.0.1:3000/callback", "http://127.0.0.1/callback", true},
		{"native, exact", logtotest.AppNative, "http://127.0.0.1:3000/callback", "http://127.0.0.1:3000/callback", true},
		{"native, localhost", logtotest.AppNative, "http://localhost/callback", "http://localhost:8080/callback", true},
		{"native, localhost in capitals", logtotest.AppNative, "http://localhost/callback", "http://LOCALHOST:8080/callback", true},
		{"native, IPv6 loopback", logtotest.AppNative, "http://[::1]/callback", "http://[::1]:8080/callback", true},
		{"native, other loopback host", logtotest.AppNative, "http://localhost/callback", "http://127.0.0.1:8080/callback", false},
		{"native, other path", logtotest.AppNative, "http://127.0.0.1/callback", "http://127.0.0.1:8080/other", false},
		{"native, added query", logtotest.AppNative, "http://127.0.0.1/callback", "http://127.0.0.1:8080/callback?x=1", false},
		{"native, user info", logtotest.AppNative, "http://127.0.0.1/callback", "http://u@127.0.0.1:8080/callback", false},
		{"native, https loopback", logtotest.AppNative, "https://127.0.0.1/callback", "https://127.0.0.1:8443/callback", false},
		{"native, not loopback", logtotest.AppNative, "http://app.example/callback", "http://app.example:8080/callback", false},
		{"native, 127.0.0.2", logtotest.AppNative, "http://127.0.0.2/callback", "http://127.0.0.2:8080/callback", false},
		{"SPA", logtotest.AppSPA, "http://127.0.0.1/callback", "http://127.0.0.1:8080/callback", false},
		{"traditional", logtotest.AppTraditional, "http://127.0.0.1/callback", "http://127.0.0.1:8080/callback", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := logtotest.NewServer(t)
			app := logtotest.App{ID: "app", Type: tc.typ, RedirectURIs: []string{tc.registered}}
			if tc.typ == logtotest.AppTraditional {
				app.Secret = "secret"
			}
			srv.AddApp(app)
			srv.AddUser(logtotest.User{ID: "u1", Username: "u1"})
			verifier, challenge := newPKCE()
			p := authParams("app", "openid")
			p.Set("redirect_uri", tc.requested)
			p.Set("code_challenge", challenge)
			p.Set("code_challenge_method", "S256")
			cb, err := srv.Authorize(authURL(srv, p), "u1")
			if !tc.ok {
				require.Error(t, err)
				assert.Contains(t, err.Error(), "invalid_redirect_uri")
				return
			}
			require.NoError(t, err)
			require.True(t, strings.HasPrefix(cb, tc.requested+"?"), "redirected to the requested URI: %s", cb)
			u, err := url.Parse(cb)
			require.NoError(t, err)
			code := u.Query().Get("code")

			// The token endpoint wants the very redirect URI of the request.
			redeem := func(uri string) (int, map[string]any) {
				return postForm(t, srv, "/oidc/token", url.Values{
					"grant_type": {"authorization_code"}, "code": {code}, "client_id": {"app"},
					"redirect_uri": {uri}, "code_verifier": {verifier},
				}, "", "")
			}
			if tc.registered != tc.requested {
				status, body := redeem(tc.registered)
				assert.Equal(t, http.StatusBadRequest, status, "the registered URI is not the one requested")
				assert.Equal(t, "invalid_grant", body["error"])
			}
			status, body := redeem(tc.requested)
			assert.Equal(t, http.StatusOK, status, body)
		})
	}

	// The loopback exception is for the authorization redirect alone:
	// post-logout redirect URIs match exactly, as in Logto.
	srv := logtotest.NewServer(t)
	srv.AddApp(logtotest.App{ID: "app", Type: logtotest.AppNative, RedirectURIs: []string{"http://127.0.0.1/callback"},
		PostLogoutRedirectURIs: []string{"http://127.0.0.1/"}})
	resp, err := noRedirect.Get(srv.Issuer() + "/session/end?" + url.Values{
		"client_id": {"app"}, "post_logout_redirect_uri": {"http://127.0.0.1:8080/"},
	}.Encode())
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "post_logout_redirect_uri with another port")
}
