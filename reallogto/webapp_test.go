package reallogto

import (
	"context"
	"encoding/json"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto"
)

// TestWebAppFullFlow drives a Traditional web app through everything a
// signed-in user does, one step after the other: sign-in, claims, user
// info, API, organization and organization-scoped API tokens, a refresh
// after the real expiry of a 1-second token, and sign-out.
func TestWebAppFullFlow(t *testing.T) {
	forTargets(t, func(t *testing.T, tg target) {
		ctx := context.Background()
		// No email (email: null), custom data and a social identity (user info
		// only), a global role with write:data only and the organization's
		// member role, whose API scope is read:data.
		u := tg.newUser(t, userSpec{
			CustomData:    map[string]any{"plan": "pro"},
			Identities:    map[string]string{"github": "gh-1"},
			APIScopes:     []string{writeData},
			Organizations: []string{tg.org()},
		})
		short := tg.newResource(t, resourceSpec{TTL: time.Second, Scopes: []string{"short:read"}, GrantTo: []user{u}})
		web := tg.webApp()
		rec := newRecorder()
		c := clientFor(t, tg, web, append([]string{"short:read"}, allUserScopes...), []string{tg.api(), short}, rec)

		// Sign-in: Logto redirects to the registered URI with code, state and
		// the RFC 9207 issuer.
		authURL, err := c.SignIn(ctx, logto.SignInOptions{RedirectURI: web.RedirectURI})
		require.NoError(t, err)
		b := newBrowser(t)
		cb := tg.signIn(t, b, authURL, u)
		cbu, err := url.Parse(cb)
		require.NoError(t, err)
		assert.Equal(t, web.RedirectURI, cbu.Scheme+"://"+cbu.Host+cbu.Path)
		assert.Equal(t, tg.issuer(), cbu.Query().Get("iss"))
		assert.Equal(t, []string{"code", "iss", "state"}, keys(queryMap(cbu.Query())))
		require.NoError(t, c.HandleCallback(ctx, cb))
		assert.Equal(t, 1, rec.count("/token"), "one code exchange")
		require.True(t, c.IsAuthenticated(ctx))

		// ID token: exactly these claims; email and picture null, address
		// absent although its scope was granted, no sid (the app does not
		// require the logout session), no auth_time.
		claims, err := c.GetIdTokenClaims(ctx)
		require.NoError(t, err)
		var raw map[string]any
		require.NoError(t, claims.Claims(&raw))
		assert.Equal(t, []string{
			"aud", "created_at", "email", "email_verified", "exp", "iat", "iss", "name", "nonce",
			"organization_roles", "organizations", "phone_number", "phone_number_verified", "picture",
			"preferred_username", "roles", "sub", "updated_at", "username",
		}, keys(raw))
		assert.Equal(t, tg.issuer(), claims.Issuer)
		assert.Equal(t, u.ID, claims.Subject)
		assert.Equal(t, logto.Audience{web.ID}, claims.Audience)
		assert.Equal(t, int64(3600), int64(claims.Expiry-claims.IssuedAt))
		assert.Empty(t, claims.SID)
		assert.Zero(t, claims.AuthTime)
		assert.Equal(t, u.Name, claims.Name.Get())
		assert.Equal(t, u.Username, claims.Username.Get())
		assert.Equal(t, u.Username, claims.PreferredUsername.Get())
		assert.True(t, claims.Email.Null(), "email is null for a user without one")
		verified, set := claims.EmailVerified.Value()
		assert.True(t, set && !verified, "email_verified is false, not null or absent: %v", claims.EmailVerified)
		assert.True(t, claims.PhoneNumber.Null())
		assert.True(t, claims.Picture.Null())
		assert.False(t, claims.Address.Present(), "address is absent, not null, for a user without one")
		assert.False(t, claims.CustomData.Present(), "custom_data is in user info only")
		assert.False(t, claims.Identities.Present(), "identities are in user info only")
		assert.Len(t, claims.Roles.Get(), 2, "the user's role and the short-lived API's")
		assert.Contains(t, claims.Roles.Get(), u.RoleName)
		assert.Equal(t, []string{tg.org()}, claims.Organizations.Get())
		assert.Equal(t, []string{tg.org() + ":" + orgMemberRole}, claims.OrganizationRoles.Get())
		assert.Greater(t, int64(claims.CreatedAt.Get()), int64(1e12), "created_at is in milliseconds")

		// User info: the ID token's claims plus custom_data, identities,
		// sso_identities and organization_data.
		info, err := c.FetchUserInfo(ctx)
		require.NoError(t, err)
		var rawInfo map[string]any
		require.NoError(t, info.Claims(&rawInfo))
		assert.Equal(t, []string{
			"created_at", "custom_data", "email", "email_verified", "identities", "name",
			"organization_data", "organization_roles", "organizations", "phone_number",
			"phone_number_verified", "picture", "preferred_username", "roles", "sso_identities", "sub",
			"updated_at", "username",
		}, keys(rawInfo))
		assert.JSONEq(t, `{"plan":"pro"}`, string(info.CustomData.Get()))
		assert.Equal(t, map[string]logto.Identity{"github": {UserID: "gh-1", Details: map[string]any{}}}, info.Identities.Get())
		assert.Equal(t, []logto.SSOIdentity{}, info.SSOIdentities.Get())
		require.Len(t, info.OrganizationData.Get(), 1)
		assert.Equal(t, tg.org(), info.OrganizationData.Get()[0].ID)
		assert.True(t, info.Email.Null())
		assert.False(t, info.Address.Present())

		// API token: a JWT for the API with exactly Logto's access token
		// claims. Its scope holds write:data (global role) and read:data,
		// which only the organization role grants: Logto adds the API scopes
		// of the user's organization roles in every organization.
		api, err := c.GetAccessToken(ctx, tg.api())
		require.NoError(t, err)
		ac := jwtClaims(t, api)
		assert.Equal(t, "at+jwt", jwtPart(t, api, 0)["typ"])
		assert.Equal(t, []string{"aud", "client_id", "exp", "iat", "iss", "jti", "scope", "sub"}, keys(ac))
		assert.Equal(t, tg.api(), ac["aud"])
		assert.Equal(t, u.ID, ac["sub"])
		assert.Equal(t, web.ID, ac["client_id"])
		assert.Equal(t, "read:data write:data", ac["scope"])
		assert.Equal(t, int64(3600), numeric(t, ac, "exp")-numeric(t, ac, "iat"))

		// Organization token: the organization scopes of the member role.
		orgTok, err := c.GetOrganizationToken(ctx, tg.org())
		require.NoError(t, err)
		oc := jwtClaims(t, orgTok)
		assert.Equal(t, []string{"aud", "client_id", "exp", "iat", "iss", "jti", "scope", "sub"}, keys(oc))
		assert.Equal(t, organizationURN+tg.org(), oc["aud"])
		assert.Equal(t, orgScope, oc["scope"])

		// Organization-scoped API token: not narrowed to the organization
		// role (read:data): Logto grants the global role's write:data too.
		orgAPI, err := c.GetOrganizationAccessToken(ctx, tg.org(), tg.api())
		require.NoError(t, err)
		oac := jwtClaims(t, orgAPI)
		assert.Equal(t, []string{"aud", "client_id", "exp", "iat", "iss", "jti", "organization_id", "scope", "sub"}, keys(oac))
		assert.Equal(t, tg.api(), oac["aud"])
		assert.Equal(t, tg.org(), oac["organization_id"])
		assert.Equal(t, "read:data write:data", oac["scope"])

		// A 1-second token, used after its real expiry: a new one.
		first, err := c.GetAccessToken(ctx, short)
		require.NoError(t, err)
		fc := jwtClaims(t, first)
		assert.Equal(t, int64(1), numeric(t, fc, "exp")-numeric(t, fc, "iat"))
		assert.Equal(t, "short:read", fc["scope"])
		sleepUntil(time.Unix(numeric(t, fc, "exp"), 0).Add(100 * time.Millisecond))
		before := rec.refreshes()
		called := time.Now()
		second, err := c.GetAccessToken(ctx, short)
		require.NoError(t, err)
		sc := jwtClaims(t, second)
		assert.NotEqual(t, fc["jti"], sc["jti"])
		assert.Greater(t, numeric(t, sc, "exp"), called.Unix(), "never an expired token")
		if !assert.Equal(t, before+1, rec.refreshes(), "one refresh for the expired token") {
			for _, tr := range rec.tokenRequests() {
				t.Logf("token request %s %q %q at %s -> %d", tr.grantType, tr.resource, tr.organizationID, tr.at.Format("15:04:05.000"), tr.status)
			}
			t.Logf("first %v second %v called %s", fc, sc, called.Format("15:04:05.000"))
		}
		rec.requireNoRefreshTokenReuse(t)

		// Sign-out: the refresh token is revoked (introspection: inactive)
		// and the end-session URL, opened in the same browser, completes at
		// the post sign-out URI.
		rt, err := c.GetRefreshToken(ctx)
		require.NoError(t, err)
		assert.Equal(t, true, introspect(t, tg, web, rt)["active"])
		idToken, err := c.GetIdToken(ctx)
		require.NoError(t, err)
		end, err := c.SignOut(ctx, web.PostLogoutRedirectURI)
		require.NoError(t, err)
		assert.False(t, c.IsAuthenticated(ctx))
		eu, err := url.Parse(end)
		require.NoError(t, err)
		assert.Equal(t, tg.issuer()+"/session/end", eu.Scheme+"://"+eu.Host+eu.Path)
		assert.Equal(t, url.Values{"client_id": {web.ID}, "post_logout_redirect_uri": {web.PostLogoutRedirectURI}, "id_token_hint": {idToken}}, eu.Query())
		assert.Equal(t, map[string]any{"active": false}, introspect(t, tg, web, rt))
		assert.Equal(t, web.PostLogoutRedirectURI, b.endSession(t, end))
		_, err = c.GetAccessToken(ctx, tg.api())
		assert.ErrorIs(t, err, logto.ErrNotAuthenticated)
	})
}

// queryMap turns a query into a map (for keys()).
func queryMap(q url.Values) map[string]any {
	m := make(map[string]any, len(q))
	for k, v := range q {
		m[k] = v
	}
	return m
}

// mustJSON renders v for messages.
func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
