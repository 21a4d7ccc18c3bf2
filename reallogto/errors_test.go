package reallogto

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto"
)

// TestServerErrors checks what the SDK makes of the errors the server
// answers, and that each leaves the session as it was.
func TestServerErrors(t *testing.T) {
	forTargets(t, func(t *testing.T, tg target) {
		ctx := context.Background()
		u := tg.newUser(t, userSpec{APIScopes: []string{readData}, Organizations: []string{tg.org()}})
		web := tg.webApp()

		t.Run("non-member organization", func(t *testing.T) {
			other := tg.newOrganization(t)
			rec := newRecorder()
			c := clientFor(t, tg, web, []string{logto.ScopeOrganizations, readData}, []string{tg.api()}, rec)
			signInClient(t, tg, c, nil, u, logto.SignInOptions{})
			rt, _ := c.GetRefreshToken(ctx)

			_, err := c.GetOrganizationToken(ctx, other)
			oe := oauthError(t, err)
			assert.Equal(t, logto.OAuthError{Code: "access_denied", Description: "user is not a member of the organization",
				StatusCode: 403, Endpoint: "token"}, *oe)
			_, err = c.GetOrganizationAccessToken(ctx, other, tg.api())
			oe = oauthError(t, err)
			assert.Equal(t, "access_denied", oe.Code)
			assert.Equal(t, 403, oe.StatusCode)

			// The session goes on: same refresh token, tokens still granted.
			assert.True(t, c.IsAuthenticated(ctx))
			after, _ := c.GetRefreshToken(ctx)
			assert.Equal(t, rt, after)
			_, err = c.GetOrganizationToken(ctx, tg.org())
			require.NoError(t, err)
			_, err = c.GetAccessToken(ctx, tg.api())
			require.NoError(t, err)
		})

		t.Run("resource not configured", func(t *testing.T) {
			// Refused by the SDK before any request (issue 9 item 3), for
			// public and confidential clients alike.
			for _, a := range []app{web, tg.nativeApp()} {
				rec := newRecorder()
				c := clientFor(t, tg, a, []string{logto.ScopeOrganizations, readData}, []string{tg.api()}, rec)
				signInClient(t, tg, c, nil, u, logto.SignInOptions{})
				sent := rec.count("/token")
				_, err := c.GetAccessToken(ctx, "https://typo.example.com")
				assert.ErrorIs(t, err, logto.ErrResourceNotConfigured, "client %s", a.ID)
				_, err = c.GetOrganizationAccessToken(ctx, tg.org(), "https://typo.example.com")
				assert.ErrorIs(t, err, logto.ErrResourceNotConfigured, "client %s", a.ID)
				assert.Equal(t, sent, rec.count("/token"), "nothing sent")
				_, err = c.GetAccessToken(ctx, tg.api())
				require.NoError(t, err)
			}
		})

		t.Run("resource not requested at sign-in", func(t *testing.T) {
			// The app added a resource to its configuration after the user
			// signed in: the session never asked for it.
			extra := tg.newResource(t, resourceSpec{TTL: time.Hour, Scopes: []string{"extra:read"}, GrantTo: []user{u}})
			rec := newRecorder()
			signedIn := clientFor(t, tg, web, []string{readData}, []string{tg.api()}, rec)
			signInClient(t, tg, signedIn, nil, u, logto.SignInOptions{})
			upgraded := clientFor(t, tg, web, []string{readData}, []string{tg.api(), extra}, rec).WithStorage(signedIn.Storage())
			rt, _ := upgraded.GetRefreshToken(ctx)

			_, err := upgraded.GetAccessToken(ctx, extra)
			oe := oauthError(t, err)
			assert.Equal(t, "invalid_target", oe.Code)
			assert.Equal(t, 400, oe.StatusCode)
			assert.Equal(t, "token", oe.Endpoint)
			assert.Equal(t, "resource indicator is missing, or unknown", oe.Description)
			assert.NotErrorIs(t, err, logto.ErrSessionExpired)

			// A confidential client's session is still usable.
			assert.True(t, upgraded.IsAuthenticated(ctx))
			after, _ := upgraded.GetRefreshToken(ctx)
			assert.Equal(t, rt, after)
			tok, err := upgraded.GetAccessToken(ctx, tg.api())
			require.NoError(t, err)
			assert.Equal(t, readData, jwtClaims(t, tok)["scope"])
		})

		t.Run("public client: resource not requested at sign-in", func(t *testing.T) {
			// The same for a public client: Logto spends and rotates the
			// refresh token before it checks the resource, answers
			// invalid_target without the new token, and revokes the grant when
			// the old one is used again after its 3-second reuse leeway. The
			// SDK cannot tell this resource from a configured one.
			extra := tg.newResource(t, resourceSpec{TTL: time.Hour, Scopes: []string{"extra:read"}, GrantTo: []user{u}})
			nat := tg.nativeApp()
			signedIn := clientFor(t, tg, nat, []string{readData}, []string{tg.api()}, nil)
			signInClient(t, tg, signedIn, nil, u, logto.SignInOptions{})
			upgraded := clientFor(t, tg, nat, []string{readData}, []string{tg.api(), extra}, nil).WithStorage(signedIn.Storage())
			_, err := upgraded.GetAccessToken(ctx, extra)
			assert.Equal(t, "invalid_target", oauthError(t, err).Code)
			time.Sleep(3500 * time.Millisecond)
			_, err = upgraded.GetAccessToken(ctx, tg.api())
			assert.ErrorIs(t, err, logto.ErrSessionExpired, "Logto revoked the grant")
			assert.Equal(t, "grant request is invalid", oauthError(t, err).Description)
			assert.False(t, upgraded.IsAuthenticated(ctx))
		})

		t.Run("wrong client secret", func(t *testing.T) {
			wrong := web
			wrong.Secret = "wrong-secret"
			c := clientFor(t, tg, wrong, nil, nil, nil)
			authURL, err := c.SignIn(ctx, logto.SignInOptions{RedirectURI: web.RedirectURI})
			require.NoError(t, err)
			cb := tg.signIn(t, newBrowser(t), authURL, u)
			oe := oauthError(t, c.HandleCallback(ctx, cb))
			assert.Equal(t, "invalid_client", oe.Code)
			assert.Equal(t, 401, oe.StatusCode)
			assert.Equal(t, "token", oe.Endpoint)
			assert.Equal(t, "client authentication failed", oe.Description)
			// Nothing stored.
			assert.False(t, c.IsAuthenticated(ctx))
			for _, k := range []string{logto.StorageKeyIDToken, logto.StorageKeyRefreshToken, logto.StorageKeyAccessTokens} {
				v, err := c.Storage().Get(ctx, k)
				require.NoError(t, err)
				assert.Empty(t, v, k)
			}
		})

		t.Run("prompt=none without a session", func(t *testing.T) {
			c := clientFor(t, tg, web, nil, nil, nil)
			authURL, err := c.SignIn(ctx, logto.SignInOptions{RedirectURI: web.RedirectURI, Prompt: logto.PromptNone})
			require.NoError(t, err)
			cb := tg.authorizeOnly(t, newBrowser(t), authURL)
			cbu, err := url.Parse(cb)
			require.NoError(t, err)
			assert.Equal(t, web.RedirectURI, cbu.Scheme+"://"+cbu.Host+cbu.Path, "the error goes back to the app")
			assert.Equal(t, "login_required", cbu.Query().Get("error"))
			assert.Equal(t, tg.issuer(), cbu.Query().Get("iss"))
			oe := oauthError(t, c.HandleCallback(ctx, cb))
			assert.Equal(t, "login_required", oe.Code)
			assert.Equal(t, "callback", oe.Endpoint)
			assert.Equal(t, 0, oe.StatusCode)
			assert.Equal(t, "End-User authentication is required", oe.Description)
			assert.Equal(t, []string{"error", "error_description", "iss", "state"}, keys(queryMap(cbu.Query())))
			assert.False(t, c.IsAuthenticated(ctx))
		})
	})
}
