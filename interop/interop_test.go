// Package interop runs the SDK, through its public API only, against
// interop/provider: oidc-provider 9 configured like Logto. The tests skip
// unless LOGTO_INTEROP_ENDPOINT is set; run them with `bash .ci/interop.sh`
// from the repository root (see interop/README.md).
//
// The provider is shared by every test, so each test signs in with its own
// browser (cookie jar) and its own storage, and none depends on another's
// state or order.
package interop

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto"
)

// step runs one stage of a flow; later stages are pointless once one fails.
func step(t *testing.T, name string, fn func(t *testing.T)) {
	t.Helper()
	if !t.Run(name, fn) {
		t.FailNow()
	}
}

// TestFullFlow walks a traditional web app (client_secret_basic) through the
// whole life of a session: sign-in, claims, user info, API, organization and
// organization-scoped API tokens, refresh with rotation after expiry, and
// sign-out with revocation and the provider's logout form.
func TestFullFlow(t *testing.T) {
	ctx := context.Background()
	iss := issuer(t)
	clock := &testClock{}
	storage := logto.NewMemoryStorage()
	client := newClient(t, webConfig(t), storage, logto.WithClock(clock.now))
	b := newBrowser(t)

	var authURL, callbackURL string
	step(t, "sign-in URL", func(t *testing.T) {
		var err error
		authURL, err = client.SignIn(ctx, logto.SignInOptions{RedirectURI: redirectURI, LoginHint: "alice"})
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(authURL, iss+"/auth?"), authURL)
		q := query(t, authURL)
		assert.Equal(t, webAppID, q.Get("client_id"))
		assert.Equal(t, redirectURI, q.Get("redirect_uri"))
		assert.Equal(t, "code", q.Get("response_type"))
		assert.Equal(t, "consent", q.Get("prompt"))
		assert.Equal(t, "S256", q.Get("code_challenge_method"))
		assert.NotEmpty(t, q.Get("code_challenge"))
		assert.NotEmpty(t, q.Get("state"))
		assert.Equal(t, "alice", q.Get("login_hint"))
		scopes := strings.Fields(q.Get("scope"))
		for _, s := range append([]string{"openid", "offline_access", "profile"}, allScopes...) {
			assert.Contains(t, scopes, s)
		}
		assert.ElementsMatch(t, []string{apiResource, logto.ResourceOrganizations}, q["resource"])
	})

	step(t, "interaction and callback", func(t *testing.T) {
		w := b.authorize(t, authURL)
		callbackURL = w.callback
		assert.Equal(t, 2, w.interactions(), "a fresh browser goes through login and consent: %v", w.visited)
		q := query(t, callbackURL)
		assert.True(t, strings.HasPrefix(callbackURL, redirectURI+"?"), callbackURL)
		assert.NotEmpty(t, q.Get("code"))
		assert.Equal(t, query(t, authURL).Get("state"), q.Get("state"))
		assert.Equal(t, iss, q.Get("iss"), "RFC 9207 iss parameter")
		assert.Empty(t, q.Get("error"))

		require.False(t, client.IsAuthenticated(ctx))
		require.NoError(t, client.HandleCallback(ctx, callbackURL))
		require.True(t, client.IsAuthenticated(ctx))

		// The code is single use: the provider refuses it a second time
		// (the transaction is gone too, so the SDK refuses first).
		err := client.HandleCallback(ctx, callbackURL)
		require.ErrorIs(t, err, logto.ErrSignInSessionNotFound)
	})

	step(t, "ID token claims", func(t *testing.T) {
		c, err := client.GetIdTokenClaims(ctx)
		require.NoError(t, err)
		assert.Equal(t, iss, c.Issuer)
		assert.Equal(t, aliceID, c.Subject)
		assert.Equal(t, logto.Audience{webAppID}, c.Audience)
		assert.Equal(t, query(t, authURL).Get("nonce"), c.Nonce, "the SDK's nonce comes back")
		assert.Equal(t, idTokenTTL(t), int64(c.Expiry-c.IssuedAt), "exp - iat = ID_TOKEN_TTL")
		assert.WithinDuration(t, time.Now(), c.IssuedAt.Time(), time.Minute)
		assert.Zero(t, c.AuthTime, "no auth_time unless max_age was sent")
		if backchannelConfigured() {
			assert.NotEmpty(t, c.SID, "web-app has a back-channel logout URI (BACKCHANNEL_LOGOUT_URI): sid in the ID token")
		} else {
			assert.Empty(t, c.SID, "sid only with a back-channel logout URI")
		}
		assert.Empty(t, c.AtHash, "oidc-provider 9 puts no at_hash in token-endpoint ID tokens")

		// profile
		assertClaim(t, "Alice Liddell", c.Name, "name")
		assertClaim(t, "alice", c.Username, "username")
		assertClaim(t, "alice", c.PreferredUsername, "preferred_username")
		assertNullClaim(t, c.Picture, "picture")
		assertClaim(t, logto.EpochMillis(1700000000000), c.CreatedAt, "created_at")
		assertClaim(t, logto.EpochMillis(1700000500000), c.UpdatedAt, "updated_at")
		assert.Equal(t, 2023, c.CreatedAt.Get().Time().UTC().Year(), "created_at is in milliseconds")
		assert.False(t, c.GivenName.Present(), "unset profile fields are absent, not null")
		assert.False(t, c.Address.Present(), "address scope not requested")
		// email, phone
		assertClaim(t, "alice@example.com", c.Email, "email")
		assertClaim(t, true, c.EmailVerified, "email_verified")
		assertNullClaim(t, c.PhoneNumber, "phone_number")
		assertClaim(t, false, c.PhoneNumberVerified, "phone_number_verified")
		// Logto's default extended claims: roles and organizations in the
		// ID token; custom_data, identities and organization_data only at
		// user info.
		assertClaim(t, []string{"admin"}, c.Roles, "roles")
		assertClaim(t, []string{"org-1"}, c.Organizations, "organizations")
		assertClaim(t, []string{"org-1:member"}, c.OrganizationRoles, "organization_roles")
		assert.False(t, c.CustomData.Present(), "custom_data is user info only")
		assert.False(t, c.Identities.Present(), "identities is user info only")
		assert.False(t, c.SSOIdentities.Present(), "sso_identities is user info only")
		assert.False(t, c.OrganizationData.Present(), "organization_data is user info only")

		var raw map[string]any
		require.NoError(t, c.Claims(&raw))
		assert.Contains(t, raw, "picture")
		assert.Nil(t, raw["picture"])
		assert.NotContains(t, raw, "custom_data")
	})

	step(t, "user info", func(t *testing.T) {
		info, err := client.FetchUserInfo(ctx)
		require.NoError(t, err)
		assert.Equal(t, aliceID, info.Subject)
		assertClaim(t, "Alice Liddell", info.Name, "name")
		assertClaim(t, "alice", info.Username, "username")
		assertNullClaim(t, info.Picture, "picture")
		assertClaim(t, logto.EpochMillis(1700000000000), info.CreatedAt, "created_at")
		assertClaim(t, "alice@example.com", info.Email, "email")
		assertNullClaim(t, info.PhoneNumber, "phone_number")
		assertClaim(t, []string{"admin"}, info.Roles, "roles")
		assertClaim(t, []string{"org-1"}, info.Organizations, "organizations")
		assertClaim(t, []string{"org-1:member"}, info.OrganizationRoles, "organization_roles")

		cd, ok := info.CustomData.Value()
		require.True(t, ok, "custom_data at user info")
		assert.JSONEq(t, `{"plan":"pro"}`, string(cd))
		ids, ok := info.Identities.Value()
		require.True(t, ok, "identities at user info")
		assert.Equal(t, map[string]logto.Identity{"github": {UserID: "gh-1"}}, ids)
		sso, ok := info.SSOIdentities.Value()
		require.True(t, ok, "sso_identities at user info")
		assert.Empty(t, sso)
		orgs, ok := info.OrganizationData.Value()
		require.True(t, ok, "organization_data at user info")
		assert.Equal(t, []logto.OrganizationData{{ID: "org-1", Name: "Organization One", Description: "The first test organization"}}, orgs)
	})

	var rtAfterSignIn, opaque string
	step(t, "default access token is opaque", func(t *testing.T) {
		var err error
		rtAfterSignIn, err = client.GetRefreshToken(ctx)
		require.NoError(t, err)
		opaque, err = client.GetAccessToken(ctx, "")
		require.NoError(t, err)
		assert.Len(t, opaque, 43)
		assert.NotContains(t, opaque, ".")
		_, err = client.GetAccessTokenClaims(ctx, "")
		assert.ErrorIs(t, err, logto.ErrTokenMalformed, "an opaque token has no claims")
		rt, _ := client.GetRefreshToken(ctx)
		assert.Equal(t, rtAfterSignIn, rt, "the code exchange's token is cached: no refresh")
	})

	var apiToken, rtAfterAPI string
	var apiClaims logto.AccessTokenClaims
	step(t, "API access token", func(t *testing.T) {
		var err error
		apiToken, err = client.GetAccessToken(ctx, apiResource)
		require.NoError(t, err)
		apiClaims, err = client.GetAccessTokenClaims(ctx, apiResource)
		require.NoError(t, err)
		assert.Equal(t, iss, apiClaims.Issuer)
		assert.Equal(t, aliceID, apiClaims.Subject)
		assert.Equal(t, logto.Audience{apiResource}, apiClaims.Audience)
		assert.Equal(t, webAppID, apiClaims.ClientID)
		assert.ElementsMatch(t, []string{"read:data", "write:data"}, apiClaims.Scopes(), "alice's admin role grants both")
		assert.Empty(t, apiClaims.OrganizationID)
		assert.NotEmpty(t, apiClaims.JWTID)
		assert.Equal(t, accessTokenTTL(t), int64(apiClaims.Expiry-apiClaims.IssuedAt))

		raw := verifyAccessToken(t, apiToken)
		keys := make([]string, 0, len(raw))
		for k := range raw {
			keys = append(keys, k)
		}
		assert.ElementsMatch(t, []string{"jti", "sub", "iat", "exp", "scope", "client_id", "iss", "aud"}, keys)

		rtAfterAPI, err = client.GetRefreshToken(ctx)
		require.NoError(t, err)
		assert.NotEqual(t, rtAfterSignIn, rtAfterAPI, "the provider rotates the refresh token at every refresh")

		again, err := client.GetAccessToken(ctx, apiResource)
		require.NoError(t, err)
		assert.Equal(t, apiToken, again, "a fresh token is served from the cache")
		rt, _ := client.GetRefreshToken(ctx)
		assert.Equal(t, rtAfterAPI, rt)
	})

	step(t, "organization token", func(t *testing.T) {
		tok, err := client.GetOrganizationToken(ctx, "org-1")
		require.NoError(t, err)
		c, err := client.GetOrganizationTokenClaims(ctx, "org-1")
		require.NoError(t, err)
		assert.Equal(t, logto.Audience{logto.OrganizationURNPrefix + "org-1"}, c.Audience)
		assert.Equal(t, "read:org", c.Scope, "org role member grants read:org only")
		assert.Equal(t, aliceID, c.Subject)
		assert.Equal(t, webAppID, c.ClientID)
		assert.Equal(t, iss, c.Issuer)
		assert.Empty(t, c.OrganizationID, "organization tokens carry the organization in aud")
		raw := verifyAccessToken(t, tok)
		assert.Equal(t, "urn:logto:organization:org-1", raw["aud"])
	})

	step(t, "organization-scoped API token", func(t *testing.T) {
		tok, err := client.GetOrganizationAccessToken(ctx, "org-1", apiResource)
		require.NoError(t, err)
		c, err := client.GetOrganizationAccessTokenClaims(ctx, "org-1", apiResource)
		require.NoError(t, err)
		assert.Equal(t, logto.Audience{apiResource}, c.Audience)
		assert.Equal(t, "org-1", c.OrganizationID)
		assert.ElementsMatch(t, []string{"read:data", "write:data"}, c.Scopes(),
			"alice's admin role grants both on top of org role member's read:data: not narrowed to the organization")
		assert.Equal(t, aliceID, c.Subject)
		assert.NotEqual(t, apiToken, tok, "cached apart from the plain API token")
		raw := verifyAccessToken(t, tok)
		assert.Equal(t, "org-1", raw["organization_id"])
	})

	var rtBeforeExpiry string
	step(t, "refresh after expiry rotates the refresh token", func(t *testing.T) {
		var err error
		rtBeforeExpiry, err = client.GetRefreshToken(ctx)
		require.NoError(t, err)
		idBefore, err := client.GetIdTokenClaims(ctx)
		require.NoError(t, err)

		// Past the API token's expiry on the SDK's clock. (The provider keeps
		// real time, so the new ID token must still be valid at the moved
		// time: ACCESS_TOKEN_TTL + 1 s is within ID_TOKEN_TTL + leeway.)
		clock.advance(time.Duration(accessTokenTTL(t)+1) * time.Second)
		require.True(t, time.Unix(int64(apiClaims.Expiry), 0).Before(clock.now()))

		tok, err := client.GetAccessToken(ctx, apiResource)
		require.NoError(t, err)
		assert.NotEqual(t, apiToken, tok, "an expired token is refreshed")
		c, err := client.GetAccessTokenClaims(ctx, apiResource)
		require.NoError(t, err)
		assert.NotEqual(t, apiClaims.JWTID, c.JWTID)
		assert.Equal(t, logto.Audience{apiResource}, c.Audience)
		assert.ElementsMatch(t, []string{"read:data", "write:data"}, c.Scopes())
		assert.Greater(t, int64(c.Expiry), int64(apiClaims.IssuedAt))

		rt, err := client.GetRefreshToken(ctx)
		require.NoError(t, err)
		assert.NotEqual(t, rtBeforeExpiry, rt, "rotated")

		// The refresh response carried a new ID token for the same user.
		idAfter, err := client.GetIdTokenClaims(ctx)
		require.NoError(t, err)
		assert.Equal(t, aliceID, idAfter.Subject)
		assert.GreaterOrEqual(t, int64(idAfter.IssuedAt), int64(idBefore.IssuedAt))

		// The default token expired as well: user info refreshes it.
		info, err := client.FetchUserInfo(ctx)
		require.NoError(t, err)
		assert.Equal(t, aliceID, info.Subject)
		newOpaque, err := client.GetAccessToken(ctx, "")
		require.NoError(t, err)
		assert.NotEqual(t, opaque, newOpaque)
		rt2, err := client.GetRefreshToken(ctx)
		require.NoError(t, err)
		assert.NotEqual(t, rt, rt2, "rotated again")
	})

	var endSessionURL string
	var beforeSignOut *logto.MemoryStorage
	step(t, "sign-out revokes the refresh token", func(t *testing.T) {
		// What another server holding a copy of this session would have.
		beforeSignOut = copyStorage(t, storage, logto.StorageKeyIDToken, logto.StorageKeyRefreshToken)
		rt, err := client.GetRefreshToken(ctx)
		require.NoError(t, err)

		endSessionURL, err = client.SignOut(ctx, postLogoutURI)
		require.NoError(t, err)
		assert.False(t, client.IsAuthenticated(ctx))
		_, err = client.GetRefreshToken(ctx)
		assert.ErrorIs(t, err, logto.ErrNotAuthenticated)
		_, err = client.GetAccessToken(ctx, apiResource)
		assert.ErrorIs(t, err, logto.ErrNotAuthenticated)
		for _, key := range []string{logto.StorageKeyIDToken, logto.StorageKeyRefreshToken, logto.StorageKeyAccessTokens, logto.StorageKeySignInSession} {
			v, err := storage.Get(ctx, key)
			require.NoError(t, err)
			assert.Empty(t, v, "every key removed: %s", key)
		}

		// Revocation took effect at the provider: the raw refresh fails…
		res := postToken(t, webAppID, webAppSecret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
		assert.Equal(t, http.StatusBadRequest, res.status)
		assert.Equal(t, "invalid_grant", res.str("error"))

		// …and so does the SDK with a copy of the session.
		other := newClient(t, webConfig(t), beforeSignOut)
		_, err = other.GetAccessToken(ctx, "")
		require.ErrorIs(t, err, logto.ErrSessionExpired)
		oe := oauthError(t, err)
		assert.Equal(t, "invalid_grant", oe.Code)
		assert.Equal(t, http.StatusBadRequest, oe.StatusCode)
		assert.Equal(t, "token", oe.Endpoint)
		assert.False(t, other.IsAuthenticated(ctx), "the SDK cleared the expired session")
	})

	step(t, "end-session URL is accepted by the provider", func(t *testing.T) {
		require.True(t, strings.HasPrefix(endSessionURL, iss+"/session/end?"), endSessionURL)
		q := query(t, endSessionURL)
		assert.Equal(t, webAppID, q.Get("client_id"))
		assert.Equal(t, postLogoutURI, q.Get("post_logout_redirect_uri"))
		assert.NotEmpty(t, q.Get("id_token_hint"))

		resp, err := b.client.Get(endSessionURL)
		require.NoError(t, err)
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equalf(t, http.StatusOK, resp.StatusCode, "end-session page: %s", page)
		assert.Contains(t, resp.Header.Get("Content-Type"), "text/html")
		require.Contains(t, string(page), "op.logoutForm")

		action, fields := logoutForm(t, string(page))
		assert.Equal(t, iss+"/session/end/confirm", action)
		require.NotEmpty(t, fields.Get("xsrf"))
		assert.Equal(t, "yes", fields.Get("logout"))

		resp, err = b.client.PostForm(action, fields)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equalf(t, http.StatusSeeOther, resp.StatusCode, "logout confirm: %s", body)
		assert.Equal(t, postLogoutURI, resp.Header.Get("Location"))
	})

	step(t, "signed out at the provider too", func(t *testing.T) {
		// A new sign-in in the same browser must log in again: the OP
		// session is gone.
		c := newClient(t, webConfig(t), logto.NewMemoryStorage())
		w := signIn(t, c, b, logto.SignInOptions{})
		assert.Equal(t, 2, w.interactions(), "login and consent again: %v", w.visited)
	})
}

// TestExistingProviderSessionSkipsLogin checks the provider's side of a
// second sign-in in the same browser: only the consent interaction runs.
func TestExistingProviderSessionSkipsLogin(t *testing.T) {
	b := newBrowser(t)
	first := signIn(t, newClient(t, webConfig(t), nil), b, logto.SignInOptions{})
	assert.Equal(t, 2, first.interactions(), first.visited)
	second := signIn(t, newClient(t, webConfig(t), nil), b, logto.SignInOptions{})
	assert.Equal(t, 1, second.interactions(), second.visited)
}

// TestPromptLogin: prompt=login makes the provider authenticate again even
// with an OP session, and only then does the ID token carry auth_time.
func TestPromptLogin(t *testing.T) {
	ctx := context.Background()
	b := newBrowser(t)
	first := newClient(t, webConfig(t), nil)
	signIn(t, first, b, logto.SignInOptions{})
	c, err := first.GetIdTokenClaims(ctx)
	require.NoError(t, err)
	assert.Zero(t, c.AuthTime, "no auth_time without max_age or prompt=login")

	again := newClient(t, webConfig(t), nil)
	w := signIn(t, again, b, logto.SignInOptions{Prompt: logto.PromptLogin + " " + logto.PromptConsent})
	assert.Equal(t, 2, w.interactions(), "login again, then consent: %v", w.visited)
	c, err = again.GetIdTokenClaims(ctx)
	require.NoError(t, err)
	assert.WithinDuration(t, time.Now(), c.AuthTime.Time(), time.Minute, "auth_time present with prompt=login")
	_, err = again.GetRefreshToken(ctx)
	assert.NoError(t, err, "prompt contains consent: offline_access granted")
}

// TestPublicClientFlow runs the SPA (public, PKCE required, client_id in the
// body) as bob, who has no roles, no organization and null profile fields.
func TestPublicClientFlow(t *testing.T) {
	ctx := context.Background()
	storage := logto.NewMemoryStorage()
	client := newClient(t, spaConfig(t), storage)
	b := newBrowser(t)
	signIn(t, client, b, logto.SignInOptions{LoginHint: "bob"})

	c, err := client.GetIdTokenClaims(ctx)
	require.NoError(t, err)
	assert.Equal(t, bobID, c.Subject)
	assert.Equal(t, logto.Audience{spaAppID}, c.Audience)
	assert.Empty(t, c.SID, "spa-app has no back-channel logout URI: no sid, whatever BACKCHANNEL_LOGOUT_URI says")
	assertNullClaim(t, c.Name, "name")
	assertNullClaim(t, c.Email, "email")
	assertClaim(t, false, c.EmailVerified, "email_verified")
	assertClaim(t, "bob", c.Username, "username")
	assertClaim(t, logto.EpochMillis(1700001000000), c.CreatedAt, "created_at")
	assertClaim(t, []string{}, c.Roles, "roles")
	assertClaim(t, []string{}, c.Organizations, "organizations")
	assertClaim(t, []string{}, c.OrganizationRoles, "organization_roles")

	info, err := client.FetchUserInfo(ctx)
	require.NoError(t, err)
	assert.Equal(t, bobID, info.Subject)
	cd, ok := info.CustomData.Value()
	require.True(t, ok)
	assert.JSONEq(t, `{}`, string(cd))
	assertClaim(t, map[string]logto.Identity{}, info.Identities, "identities")
	assertClaim(t, []logto.OrganizationData{}, info.OrganizationData, "organization_data")

	rt0, err := client.GetRefreshToken(ctx)
	require.NoError(t, err)
	ac, err := client.GetAccessTokenClaims(ctx, apiResource)
	require.NoError(t, err)
	assert.Equal(t, logto.Audience{apiResource}, ac.Audience)
	assert.Equal(t, bobID, ac.Subject)
	assert.Equal(t, spaAppID, ac.ClientID)
	assert.Empty(t, ac.Scopes(), "bob holds no role: the token carries no scope")
	raw := verifyAccessToken(t, mustToken(t)(client.GetAccessToken(ctx, apiResource)))
	assert.NotContains(t, raw, "scope", "oidc-provider leaves an empty scope out of the JWT")
	rt1, err := client.GetRefreshToken(ctx)
	require.NoError(t, err)
	assert.NotEqual(t, rt0, rt1, "public clients always rotate")

	// The old token is spent: reusing it is refused.
	res := postToken(t, spaAppID, "", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt0}})
	assert.Equal(t, http.StatusBadRequest, res.status)
	assert.Equal(t, "invalid_grant", res.str("error"))

	// Reuse revoked the whole grant, the newest token included.
	_, err = client.GetOrganizationToken(ctx, "org-1")
	require.ErrorIs(t, err, logto.ErrSessionExpired)
	assert.False(t, client.IsAuthenticated(ctx))

	// Sign-out of a public client revokes its refresh token too (client_id
	// in the body) and gives a working end-session URL.
	signIn(t, client, b, logto.SignInOptions{LoginHint: "bob"})
	rt, err := client.GetRefreshToken(ctx)
	require.NoError(t, err)
	endSession, err := client.SignOut(ctx, postLogoutURI)
	require.NoError(t, err)
	res = postToken(t, spaAppID, "", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
	assert.Equal(t, http.StatusBadRequest, res.status)
	assert.Equal(t, "invalid_grant", res.str("error"), "revoked at sign-out")
	assert.Equal(t, spaAppID, query(t, endSession).Get("client_id"))
	resp, err := b.client.Get(endSession)
	require.NoError(t, err)
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, string(page))
	action, fields := logoutForm(t, string(page))
	resp, err = b.client.PostForm(action, fields)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusSeeOther, resp.StatusCode)
	assert.Equal(t, postLogoutURI, resp.Header.Get("Location"))
}

// TestConcurrentRefreshSameToken: goroutines asking at once for the same
// expired token share one refresh, so the rotating refresh token is spent
// once and the session survives.
func TestConcurrentRefreshSameToken(t *testing.T) {
	ctx := context.Background()
	client := newClient(t, spaConfig(t), nil)
	signIn(t, client, newBrowser(t), logto.SignInOptions{})
	rt0, err := client.GetRefreshToken(ctx)
	require.NoError(t, err)

	const n = 8
	tokens := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tokens[i], errs[i] = client.GetAccessToken(ctx, apiResource)
		}()
	}
	wg.Wait()
	for i := range n {
		require.NoError(t, errs[i])
		assert.Equal(t, tokens[0], tokens[i], "one refresh answered everybody")
	}
	rt1, err := client.GetRefreshToken(ctx)
	require.NoError(t, err)
	assert.NotEqual(t, rt0, rt1)
	// Had the old token been spent twice, the provider would have revoked
	// the grant: the new one must still work.
	_, err = client.GetOrganizationToken(ctx, "org-1")
	require.NoError(t, err)
	assert.True(t, client.IsAuthenticated(ctx))
}

// TestConcurrentRefreshDifferentTokens: goroutines asking at once for
// tokens of different resources or organizations must not spend the same
// rotating refresh token twice: the provider (like upstream oidc-provider,
// without Logto's 3-second reuse leeway) would see reuse, revoke the grant
// and the session would end with ErrSessionExpired. The SDK runs refreshes
// of one refresh token one at a time and follows rotations.
func TestConcurrentRefreshDifferentTokens(t *testing.T) {
	endpoint(t)
	ctx := context.Background()
	client := newClient(t, spaConfig(t), nil)
	signIn(t, client, newBrowser(t), logto.SignInOptions{})

	calls := []func() error{
		func() error { _, err := client.GetAccessToken(ctx, apiResource); return err },
		func() error { _, err := client.GetOrganizationToken(ctx, "org-1"); return err },
		func() error { _, err := client.GetOrganizationAccessToken(ctx, "org-1", apiResource); return err },
	}
	errs := make([]error, len(calls))
	var wg sync.WaitGroup
	for i, call := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = call()
		}()
	}
	wg.Wait()
	for i, err := range errs {
		assert.NoError(t, err, "call %d", i)
	}
	assert.True(t, client.IsAuthenticated(ctx), "the session survives")
	_, err := client.GetAccessToken(ctx, "")
	assert.NoError(t, err)
}

// TestWrongClientSecret: the code exchange is refused with 401 invalid_client
// and nothing is stored.
func TestWrongClientSecret(t *testing.T) {
	ctx := context.Background()
	cfg := webConfig(t)
	cfg.AppSecret = "not-the-secret"
	client := newClient(t, cfg, nil)
	authURL, err := client.SignIn(ctx, logto.SignInOptions{RedirectURI: redirectURI})
	require.NoError(t, err)
	cb := completeAuth(t, authURL)
	require.NotEmpty(t, query(t, cb).Get("code"), "the authorization step does not check the secret")

	err = client.HandleCallback(ctx, cb)
	oe := oauthError(t, err)
	assert.Equal(t, "invalid_client", oe.Code)
	assert.Equal(t, "client authentication failed", oe.Description)
	assert.Equal(t, http.StatusUnauthorized, oe.StatusCode)
	assert.Equal(t, "token", oe.Endpoint)
	assert.False(t, client.IsAuthenticated(ctx))
}

// TestUnknownResourceAtSignIn: /auth refuses an unknown resource indicator
// and says so on the redirect URI; the SDK reports it from the callback.
func TestUnknownResourceAtSignIn(t *testing.T) {
	ctx := context.Background()
	cfg := webConfig(t)
	cfg.Resources = []string{"https://unknown.example.com"}
	client := newClient(t, cfg, nil)
	authURL, err := client.SignIn(ctx, logto.SignInOptions{RedirectURI: redirectURI})
	require.NoError(t, err)
	cb := completeAuth(t, authURL)
	q := query(t, cb)
	assert.Equal(t, "invalid_target", q.Get("error"))
	assert.Empty(t, q.Get("code"))
	assert.Equal(t, query(t, authURL).Get("state"), q.Get("state"))
	assert.Equal(t, issuer(t), q.Get("iss"))

	err = client.HandleCallback(ctx, cb)
	oe := oauthError(t, err)
	assert.Equal(t, "invalid_target", oe.Code)
	assert.Equal(t, q.Get("error_description"), oe.Description)
	assert.Equal(t, "callback", oe.Endpoint)
	assert.Zero(t, oe.StatusCode)
	assert.False(t, client.IsAuthenticated(ctx))
}

// TestResourceNotRequestedAtSignIn: the token endpoint refuses a resource
// the sign-in did not ask for (and one it does not know) with 400
// invalid_target; the session survives. The SDK sends such a request only
// when the resource was added to LogtoConfig.Resources after the sign-in
// (another deployment reading the same session): for web-app the
// stand-in checks the resource before it rotates the refresh token.
func TestResourceNotRequestedAtSignIn(t *testing.T) {
	ctx := context.Background()
	storage := logto.NewMemoryStorage()
	signIn(t, newClient(t, webConfig(t), storage), newBrowser(t), logto.SignInOptions{})
	cfg := webConfig(t)
	cfg.Resources = append(cfg.Resources, otherResource, "https://unknown.example.com")
	client := newClient(t, cfg, storage)
	rt, err := client.GetRefreshToken(ctx)
	require.NoError(t, err)

	for _, resource := range []string{otherResource, "https://unknown.example.com"} {
		_, err = client.GetAccessToken(ctx, resource)
		oe := oauthError(t, err)
		assert.Equal(t, "invalid_target", oe.Code, resource)
		assert.Equal(t, http.StatusBadRequest, oe.StatusCode, resource)
		assert.Equal(t, "token", oe.Endpoint, resource)
		assert.NotErrorIs(t, err, logto.ErrSessionExpired, resource)
		assert.NotErrorIs(t, err, logto.ErrResourceNotConfigured, resource)
	}

	assert.True(t, client.IsAuthenticated(ctx), "invalid_target does not end the session")
	after, err := client.GetRefreshToken(ctx)
	require.NoError(t, err)
	assert.Equal(t, rt, after, "the failed refresh did not rotate the token")
	c, err := client.GetAccessTokenClaims(ctx, apiResource)
	require.NoError(t, err, "the refresh token is still good")
	assert.Equal(t, logto.Audience{apiResource}, c.Audience)
}

// TestRefreshTokenReuse: once rotated, a refresh token cannot be used again,
// and reusing it revokes the whole grant (the newest token too).
func TestRefreshTokenReuse(t *testing.T) {
	t.Run("raw reuse at the token endpoint", func(t *testing.T) {
		ctx := context.Background()
		client := newClient(t, webConfig(t), nil)
		signIn(t, client, newBrowser(t), logto.SignInOptions{})
		rt0, err := client.GetRefreshToken(ctx)
		require.NoError(t, err)
		_, err = client.GetAccessToken(ctx, apiResource)
		require.NoError(t, err)
		rt1, err := client.GetRefreshToken(ctx)
		require.NoError(t, err)
		require.NotEqual(t, rt0, rt1)

		res := postToken(t, webAppID, webAppSecret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt0}})
		assert.Equal(t, http.StatusBadRequest, res.status)
		assert.Equal(t, "invalid_grant", res.str("error"))
		assert.Equal(t, "grant request is invalid", res.str("error_description"))

		// The SDK's current token died with the grant.
		_, err = client.GetOrganizationToken(ctx, "org-1")
		require.ErrorIs(t, err, logto.ErrSessionExpired)
		oe := oauthError(t, err)
		assert.Equal(t, "invalid_grant", oe.Code)
		assert.Equal(t, http.StatusBadRequest, oe.StatusCode)
		assert.False(t, client.IsAuthenticated(ctx))
		_, err = client.GetAccessToken(ctx, apiResource)
		assert.ErrorIs(t, err, logto.ErrNotAuthenticated, "the SDK cleared the session")
	})

	t.Run("stale session copy", func(t *testing.T) {
		ctx := context.Background()
		storage := logto.NewMemoryStorage()
		client := newClient(t, webConfig(t), storage)
		signIn(t, client, newBrowser(t), logto.SignInOptions{})
		stale := copyStorage(t, storage)

		_, err := client.GetAccessToken(ctx, apiResource)
		require.NoError(t, err, "rotates the refresh token")

		// Another process (its own client, so no shared in-flight refresh)
		// still holds the consumed token.
		other := newClient(t, webConfig(t), stale)
		_, err = other.GetAccessToken(ctx, apiResource)
		require.ErrorIs(t, err, logto.ErrSessionExpired)
		assert.Equal(t, "invalid_grant", oauthError(t, err).Code)
		assert.False(t, other.IsAuthenticated(ctx))

		_, err = client.GetOrganizationToken(ctx, "org-1")
		require.ErrorIs(t, err, logto.ErrSessionExpired, "reuse revoked the grant")
		assert.False(t, client.IsAuthenticated(ctx))
	})
}

// TestOrganizationNotMember: 403 access_denied for an organization the user
// does not belong to; the session survives.
func TestOrganizationNotMember(t *testing.T) {
	cases := []struct{ name, hint, org string }{
		{"alice in an organization without her", "alice", "org-2"},
		{"alice in an unknown organization", "alice", "org-404"},
		{"bob without organizations", "bob", "org-1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			client := newClient(t, webConfig(t), nil)
			signIn(t, client, newBrowser(t), logto.SignInOptions{LoginHint: tc.hint})
			rt, err := client.GetRefreshToken(ctx)
			require.NoError(t, err)

			_, err = client.GetOrganizationToken(ctx, tc.org)
			oe := oauthError(t, err)
			assert.Equal(t, "access_denied", oe.Code)
			assert.Equal(t, "user is not a member of the organization", oe.Description)
			assert.Equal(t, http.StatusForbidden, oe.StatusCode)
			assert.Equal(t, "token", oe.Endpoint)
			assert.NotErrorIs(t, err, logto.ErrSessionExpired)

			_, err = client.GetOrganizationAccessToken(ctx, tc.org, apiResource)
			oe = oauthError(t, err)
			assert.Equal(t, "access_denied", oe.Code)
			assert.Equal(t, http.StatusForbidden, oe.StatusCode)

			assert.True(t, client.IsAuthenticated(ctx))
			after, err := client.GetRefreshToken(ctx)
			require.NoError(t, err)
			assert.Equal(t, rt, after, "checked before rotation")
			_, err = client.GetAccessToken(ctx, apiResource)
			assert.NoError(t, err, "the session still works")
		})
	}
}

// TestOrganizationScopeMissing: without the organizations scope the SDK
// refuses before asking, and the sign-in requests no organizations
// resource.
func TestOrganizationScopeMissing(t *testing.T) {
	ctx := context.Background()
	cfg := webConfig(t)
	cfg.Scopes = []string{"read:data"}
	client := newClient(t, cfg, nil)
	signIn(t, client, newBrowser(t), logto.SignInOptions{})
	_, err := client.GetOrganizationToken(ctx, "org-1")
	assert.ErrorIs(t, err, logto.ErrOrganizationScopeRequired)

	c, err := client.GetIdTokenClaims(ctx)
	require.NoError(t, err)
	assert.False(t, c.Organizations.Present(), "organizations scope not granted")
	assert.False(t, c.Roles.Present(), "roles scope not granted")
	assert.False(t, c.Email.Present(), "email scope not granted")

	ac, err := client.GetAccessTokenClaims(ctx, apiResource)
	require.NoError(t, err)
	assert.Equal(t, []string{"read:data"}, ac.Scopes(), "only the API scopes listed at /auth")

	// The provider agrees: the refresh token lacks the organizations
	// resource, so an organization token request is refused.
	rt, err := client.GetRefreshToken(ctx)
	require.NoError(t, err)
	res := postToken(t, webAppID, webAppSecret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "organization_id": {"org-1"}})
	assert.Equal(t, http.StatusForbidden, res.status, res.body)
	assert.Equal(t, "insufficient_scope", res.str("error"), res.body)
}

// TestUserDenies: the user refuses at the provider; the callback carries
// access_denied and the SDK reports it as a callback OAuthError.
func TestUserDenies(t *testing.T) {
	for _, tc := range []struct{ hint, desc string }{
		{"deny", "user denied"},
		{"nobody", "user not found: nobody"},
	} {
		t.Run(tc.hint, func(t *testing.T) {
			ctx := context.Background()
			client := newClient(t, webConfig(t), nil)
			authURL, err := client.SignIn(ctx, logto.SignInOptions{RedirectURI: redirectURI, LoginHint: tc.hint})
			require.NoError(t, err)
			cb := completeAuth(t, authURL)
			q := query(t, cb)
			assert.Equal(t, "access_denied", q.Get("error"))
			assert.Equal(t, tc.desc, q.Get("error_description"))
			assert.Equal(t, query(t, authURL).Get("state"), q.Get("state"))
			assert.Equal(t, issuer(t), q.Get("iss"))
			assert.Empty(t, q.Get("code"))

			err = client.HandleCallback(ctx, cb)
			oe := oauthError(t, err)
			assert.Equal(t, "access_denied", oe.Code)
			assert.Equal(t, tc.desc, oe.Description)
			assert.Equal(t, "callback", oe.Endpoint)
			assert.Zero(t, oe.StatusCode)
			assert.False(t, client.IsAuthenticated(ctx))

			// The sign-in transaction was used up by the error.
			err = client.HandleCallback(ctx, cb)
			assert.ErrorIs(t, err, logto.ErrSignInSessionNotFound)
		})
	}
}

// TestUserDeniesAtConsent: with an OP session the first interaction is the
// consent one, and refusing there ends the same way.
func TestUserDeniesAtConsent(t *testing.T) {
	ctx := context.Background()
	b := newBrowser(t)
	signIn(t, newClient(t, webConfig(t), nil), b, logto.SignInOptions{})

	client := newClient(t, webConfig(t), nil)
	authURL, err := client.SignIn(ctx, logto.SignInOptions{RedirectURI: redirectURI, LoginHint: "deny"})
	require.NoError(t, err)
	w := b.authorize(t, authURL)
	assert.Equal(t, 1, w.interactions(), "consent only: %v", w.visited)
	assert.Equal(t, "access_denied", query(t, w.callback).Get("error"))
	oe := oauthError(t, client.HandleCallback(ctx, w.callback))
	assert.Equal(t, "access_denied", oe.Code)
	assert.Equal(t, "user denied", oe.Description)
	assert.Equal(t, "callback", oe.Endpoint)
	assert.False(t, client.IsAuthenticated(ctx))
}

// TestSignOutWithoutRedirect: without a post-logout redirect URI the
// provider ends on its own success page.
func TestSignOutWithoutRedirect(t *testing.T) {
	ctx := context.Background()
	client := newClient(t, webConfig(t), nil)
	b := newBrowser(t)
	signIn(t, client, b, logto.SignInOptions{})
	endSession, err := client.SignOut(ctx, "")
	require.NoError(t, err)
	q := query(t, endSession)
	assert.False(t, q.Has("post_logout_redirect_uri"))

	resp, err := b.client.Get(endSession)
	require.NoError(t, err)
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, string(page))
	action, fields := logoutForm(t, string(page))
	resp, err = b.client.PostForm(action, fields) // follows to the success page
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "/oidc/session/end/success", resp.Request.URL.Path)
	assert.Contains(t, string(body), "successfully signed out")
}

// mustToken adapts a (token, error) result for inline use.
func mustToken(t *testing.T) func(string, error) string {
	return func(tok string, err error) string {
		t.Helper()
		require.NoError(t, err)
		return tok
	}
}

// assertClaim requires c to be set to want.
func assertClaim[T any](t *testing.T, want T, c logto.Claim[T], name string) {
	t.Helper()
	got, ok := c.Value()
	if !assert.Truef(t, ok, "%s: want %v, got %s", name, want, c) {
		return
	}
	wantJSON, _ := json.Marshal(want)
	gotJSON, _ := json.Marshal(got)
	assert.JSONEqf(t, string(wantJSON), string(gotJSON), "%s", name)
}

// assertNullClaim requires c to be present with the value null.
func assertNullClaim[T any](t *testing.T, c logto.Claim[T], name string) {
	t.Helper()
	assert.Truef(t, c.Present() && c.Null(), "%s must be present and null, got %s", name, c)
}
