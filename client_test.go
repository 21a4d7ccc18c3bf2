package logto_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto"
	"github.com/gologto/logto/logtotest"
)

// TestFullFlow walks sign-in → callback → claims → user info → API token →
// organization token → refresh → sign-out against the fake Logto and checks
// what each step returned and which requests it sent.
func TestFullFlow(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	srv, c := f.srv, f.client

	assert.False(t, c.IsAuthenticated(ctx))
	_, err := c.GetIdTokenClaims(ctx)
	assert.ErrorIs(t, err, logto.ErrNotAuthenticated)

	// Sign-in URL.
	signInURL, err := c.SignIn(ctx, logto.SignInOptions{RedirectURI: redirectURI, FirstScreen: logto.FirstScreenSignIn})
	require.NoError(t, err)
	u, err := url.Parse(signInURL)
	require.NoError(t, err)
	q := u.Query()
	assert.Equal(t, srv.Issuer()+"/auth", u.Scheme+"://"+u.Host+u.Path)
	assert.Equal(t, appID, q.Get("client_id"))
	assert.Equal(t, "code", q.Get("response_type"))
	assert.Equal(t, "S256", q.Get("code_challenge_method"))
	assert.Equal(t, "consent", q.Get("prompt"))
	assert.Equal(t, []string{apiResource, logto.ResourceOrganizations}, q["resource"])
	assert.Equal(t, strings.Join(append(allScopes(), "openid", "offline_access", "profile"), " "), q.Get("scope"))

	// Callback.
	cb, err := srv.Authorize(signInURL, aliceID)
	require.NoError(t, err)
	srv.ResetRequests()
	require.NoError(t, c.HandleCallback(ctx, cb))
	assert.True(t, c.IsAuthenticated(ctx))
	assert.Equal(t, 1, srv.RequestCount(logtotest.EndpointToken), "one code exchange")
	tokenReq := srv.Requests(logtotest.EndpointToken)[0]
	id, secret, ok := (&http.Request{Header: tokenReq.Header}).BasicAuth()
	require.True(t, ok, "client_secret_basic")
	assert.Equal(t, appID, id)
	assert.Equal(t, appSecret, secret)
	assert.Empty(t, tokenReq.Form.Get("client_secret"), "the secret is never in the body")
	assert.Equal(t, "authorization_code", tokenReq.Form.Get("grant_type"))
	assert.Equal(t, redirectURI, tokenReq.Form.Get("redirect_uri"))
	assert.Len(t, tokenReq.Form.Get("code_verifier"), 43)

	// ID token claims.
	claims, err := c.GetIdTokenClaims(ctx)
	require.NoError(t, err)
	assert.Equal(t, srv.Issuer(), claims.Issuer)
	assert.Equal(t, aliceID, claims.Subject)
	assert.Equal(t, logto.Audience{appID}, claims.Audience)
	assert.Equal(t, logto.ClaimOf("Alice Liddell"), claims.Name)
	assert.Equal(t, logto.ClaimOf("alice@example.com"), claims.Email)
	assert.Equal(t, logto.ClaimOf(true), claims.EmailVerified)
	assert.True(t, claims.PhoneNumber.Null(), "requested, but alice has no phone")
	assert.True(t, claims.Picture.Null())
	assert.Equal(t, logto.ClaimOf([]string{"admin"}), claims.Roles)
	assert.Equal(t, logto.ClaimOf([]string{memberOrg}), claims.Organizations)
	assert.Equal(t, logto.ClaimOf([]string{memberOrg + ":member"}), claims.OrganizationRoles)
	assert.False(t, claims.CustomData.Present(), "custom_data is a user-info-only claim")
	assert.Equal(t, logto.ClaimOf(logto.EpochMillis(1700000000123)), claims.CreatedAt)
	assert.NotEmpty(t, claims.Nonce)

	// User info.
	srv.ResetRequests()
	info, err := c.FetchUserInfo(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, srv.RequestCount(logtotest.EndpointUserInfo))
	assert.Equal(t, 0, srv.RequestCount(logtotest.EndpointToken), "the default token from the code exchange is still fresh")
	assert.Equal(t, aliceID, info.Subject)
	assert.JSONEq(t, `{"plan":"pro"}`, string(info.CustomData.Get()))
	assert.Equal(t, "gh-1", info.Identities.Get()["github"].UserID)
	assert.Equal(t, "High Table", info.OrganizationData.Get()[0].Name)

	// API token.
	srv.ResetRequests()
	apiToken, err := c.GetAccessToken(ctx, apiResource)
	require.NoError(t, err)
	require.Equal(t, 1, srv.RequestCount(logtotest.EndpointToken))
	refreshReq := srv.Requests(logtotest.EndpointToken)[0]
	assert.Equal(t, "refresh_token", refreshReq.Form.Get("grant_type"))
	assert.Equal(t, apiResource, refreshReq.Form.Get("resource"))
	apiClaims, err := c.GetAccessTokenClaims(ctx, apiResource)
	require.NoError(t, err)
	assert.Equal(t, logto.Audience{apiResource}, apiClaims.Audience)
	assert.ElementsMatch(t, []string{"read:data", "write:data"}, apiClaims.Scopes())
	assert.Equal(t, aliceID, apiClaims.Subject)
	again, err := c.GetAccessToken(ctx, apiResource)
	require.NoError(t, err)
	assert.Equal(t, apiToken, again)
	assert.Equal(t, 1, srv.RequestCount(logtotest.EndpointToken), "cached")

	// Organization token.
	srv.ResetRequests()
	orgClaims, err := c.GetOrganizationTokenClaims(ctx, memberOrg)
	require.NoError(t, err)
	assert.Equal(t, logto.Audience{"urn:logto:organization:" + memberOrg}, orgClaims.Audience)
	assert.Equal(t, "read:org", orgClaims.Scope)
	orgReq := srv.Requests(logtotest.EndpointToken)[0]
	assert.Equal(t, memberOrg, orgReq.Form.Get("organization_id"))
	assert.Empty(t, orgReq.Form.Get("resource"))

	// Organization-scoped API token.
	orgAPI, err := c.GetOrganizationAccessTokenClaims(ctx, memberOrg, apiResource)
	require.NoError(t, err)
	assert.Equal(t, logto.Audience{apiResource}, orgAPI.Audience)
	assert.Equal(t, memberOrg, orgAPI.OrganizationID)
	// As in Logto: the user's global-role scopes for the resource plus the
	// organization role's, not narrowed to the organization.
	assert.Equal(t, "read:data write:data", orgAPI.Scope)

	// Refresh after expiry: one request, the refresh token kept (Logto
	// rotates a confidential client's refresh token only once 70% of its
	// 14-day lifetime has passed).
	rt, err := c.GetRefreshToken(ctx)
	require.NoError(t, err)
	srv.Advance(2 * time.Hour)
	srv.ResetRequests()
	refreshed, err := c.GetAccessToken(ctx, apiResource)
	require.NoError(t, err)
	assert.NotEqual(t, apiToken, refreshed)
	assert.Equal(t, 1, srv.RequestCount(logtotest.EndpointToken))
	rt2, err := c.GetRefreshToken(ctx)
	require.NoError(t, err)
	assert.Equal(t, rt, rt2, "a refresh response without refresh_token keeps the stored one")

	// Sign-out.
	idToken, _ := c.GetIdToken(ctx)
	srv.ResetRequests()
	endURL, err := c.SignOut(ctx, postLogout)
	require.NoError(t, err)
	require.Equal(t, 1, srv.RequestCount(logtotest.EndpointRevocation))
	rev := srv.Requests(logtotest.EndpointRevocation)[0]
	assert.Equal(t, rt, rev.Form.Get("token"))
	_, _, ok = (&http.Request{Header: rev.Header}).BasicAuth()
	assert.True(t, ok, "revocation is client-authenticated")
	assert.False(t, srv.RefreshTokenActive(rt), "refresh token revoked at Logto")
	eu, err := url.Parse(endURL)
	require.NoError(t, err)
	assert.Equal(t, srv.Issuer()+"/session/end", eu.Scheme+"://"+eu.Host+eu.Path)
	assert.Equal(t, appID, eu.Query().Get("client_id"))
	assert.Equal(t, postLogout, eu.Query().Get("post_logout_redirect_uri"))
	assert.Equal(t, idToken, eu.Query().Get("id_token_hint"))
	assert.False(t, c.IsAuthenticated(ctx))
	assert.Empty(t, f.snapshot(), "sign-out clears every key")
	_, err = c.GetAccessToken(ctx, apiResource)
	assert.ErrorIs(t, err, logto.ErrNotAuthenticated)

	// The provider accepts the end-session URL: it answers with Logto's
	// logout page, whose form (submitted by its script in a browser) ends
	// the session and redirects to the post-logout URI.
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Get(endURL)
	require.NoError(t, err)
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, string(page), `id="op.logoutForm"`)
	landing, err := srv.EndSession(endURL)
	require.NoError(t, err)
	assert.Equal(t, postLogout, landing)
	assert.Equal(t, 1, srv.RequestCount(logtotest.EndpointEndSessionConfirm))
}

func TestDiscoveryAndKeysFetchedOnceAcrossViews(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.signIn(t, aliceID)
	for i := 0; i < 5; i++ {
		view := f.client.WithStorage(logto.NewMemoryStorage())
		_, err := view.SignIn(ctx, logto.SignInOptions{RedirectURI: redirectURI})
		require.NoError(t, err)
		cb, err := f.srv.Authorize(mustSignIn(t, view), aliceID)
		require.NoError(t, err)
		require.NoError(t, view.HandleCallback(ctx, cb))
	}
	assert.Equal(t, 1, f.srv.RequestCount(logtotest.EndpointDiscovery))
	assert.Equal(t, 1, f.srv.RequestCount(logtotest.EndpointJWKS))
}

func mustSignIn(t *testing.T, c *logto.LogtoClient) string {
	t.Helper()
	u, err := c.SignIn(context.Background(), logto.SignInOptions{RedirectURI: redirectURI})
	require.NoError(t, err)
	return u
}

func TestTwoTabsSignIn(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	first := f.callbackFor(t, aliceID)
	second := f.callbackFor(t, aliceID)
	// The second tab completes first; the first still works.
	require.NoError(t, f.client.HandleCallback(ctx, second))
	require.NoError(t, f.client.HandleCallback(ctx, first))
	// Each transaction was single-use.
	err := f.client.HandleCallback(ctx, first)
	assert.ErrorIs(t, err, logto.ErrSignInSessionNotFound)
}

func TestCallbackErrors(t *testing.T) {
	tests := []struct {
		name    string
		mangle  func(t *testing.T, f *fixture, cb string) string
		wantIs  error
		wantAs  string // OAuth error code
		tokenRq int
	}{
		{
			name: "no pending sign-in",
			mangle: func(t *testing.T, f *fixture, cb string) string {
				f.store.Delete(context.Background(), logto.StorageKeySignInSession)
				return cb
			},
			wantIs: logto.ErrSignInSessionNotFound,
		},
		{
			name:   "state mismatch",
			mangle: func(t *testing.T, f *fixture, cb string) string { return setParam(t, cb, "state", "state2") },
			wantIs: logto.ErrSignInSessionNotFound,
		},
		{
			name:   "state missing",
			mangle: func(t *testing.T, f *fixture, cb string) string { return setParam(t, cb, "state", "") },
			wantIs: logto.ErrSignInSessionNotFound,
		},
		{
			name:   "path mismatch",
			mangle: func(t *testing.T, f *fixture, cb string) string { return strings.Replace(cb, "/callback", "/other", 1) },
			wantIs: logto.ErrRedirectURIMismatch,
		},
		{
			name: "host mismatch",
			mangle: func(t *testing.T, f *fixture, cb string) string {
				return strings.Replace(cb, "app.example", "evil.example", 1)
			},
			wantIs: logto.ErrRedirectURIMismatch,
		},
		{
			name:   "scheme mismatch",
			mangle: func(t *testing.T, f *fixture, cb string) string { return strings.Replace(cb, "https://", "http://", 1) },
			wantIs: logto.ErrRedirectURIMismatch,
		},
		{
			name:   "iss missing although announced",
			mangle: func(t *testing.T, f *fixture, cb string) string { return setParam(t, cb, "iss", "") },
			wantIs: logto.ErrIssuerMismatch,
		},
		{
			name: "iss of another provider (mix-up)",
			mangle: func(t *testing.T, f *fixture, cb string) string {
				return setParam(t, cb, "iss", "https://evil.example/oidc")
			},
			wantIs: logto.ErrIssuerMismatch,
		},
		{
			name:   "code missing",
			mangle: func(t *testing.T, f *fixture, cb string) string { return setParam(t, cb, "code", "") },
			wantIs: logto.ErrMissingCode,
		},
		{
			name:   "duplicated state",
			mangle: func(t *testing.T, f *fixture, cb string) string { return cb + "&state=x" },
		},
		{
			name:    "code rejected by Logto",
			mangle:  func(t *testing.T, f *fixture, cb string) string { return setParam(t, cb, "code", "forged") },
			wantAs:  "invalid_grant",
			tokenRq: 1,
		},
		{
			name:   "unparsable URL",
			mangle: func(t *testing.T, f *fixture, cb string) string { return "http://[::1" },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t)
			cb := tt.mangle(t, f, f.callbackFor(t, aliceID))
			before := f.snapshot()
			f.srv.ResetRequests()
			err := f.client.HandleCallback(ctx, cb)
			require.Error(t, err)
			assert.True(t, strings.HasPrefix(err.Error(), "logto: "), err.Error())
			if tt.wantIs != nil {
				assert.ErrorIs(t, err, tt.wantIs)
			}
			if tt.wantAs != "" {
				var oe *logto.OAuthError
				require.ErrorAs(t, err, &oe)
				assert.Equal(t, tt.wantAs, oe.Code)
			}
			assert.Equal(t, tt.tokenRq, f.srv.RequestCount(logtotest.EndpointToken))
			assert.False(t, f.client.IsAuthenticated(ctx))
			after := f.snapshot()
			delete(before, logto.StorageKeySignInSession)
			delete(after, logto.StorageKeySignInSession)
			assert.Equal(t, before, after, "no token stored")
			if q, perr := url.Parse(cb); perr == nil {
				if code := q.Query().Get("code"); code != "" {
					assert.NotContains(t, err.Error(), code, "the code never appears in errors")
				}
			}
		})
	}
}

func TestCallbackErrorFromLogto(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.srv.DenyNextAuthorization("access_denied", "user denied the request")
	cb := f.callbackFor(t, aliceID)
	err := f.client.HandleCallback(ctx, cb)
	var oe *logto.OAuthError
	require.ErrorAs(t, err, &oe)
	assert.Equal(t, "access_denied", oe.Code)
	assert.Equal(t, "user denied the request", oe.Description)
	assert.Equal(t, "callback", oe.Endpoint)
	assert.Equal(t, 0, f.srv.RequestCount(logtotest.EndpointToken))
	// The transaction is consumed: a replay matches no sign-in, so its
	// error text can no longer be trusted as Logto's.
	err = f.client.HandleCallback(ctx, cb)
	assert.ErrorIs(t, err, logto.ErrSignInSessionNotFound)
	assert.False(t, errors.As(err, &oe), "a replayed error is not typed as Logto's")
}

func TestCallbackExpiredTransaction(t *testing.T) {
	f := newFixture(t)
	cb := f.callbackFor(t, aliceID)
	f.srv.Advance(logto.DefaultTransactionTTL + time.Minute)
	err := f.client.HandleCallback(context.Background(), cb)
	assert.ErrorIs(t, err, logto.ErrSignInSessionNotFound)
	assert.Equal(t, 0, f.srv.RequestCount(logtotest.EndpointToken))
}

func TestCallbackReplayIsRejected(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	cb := f.callbackFor(t, aliceID)
	require.NoError(t, f.client.HandleCallback(ctx, cb))
	f.srv.ResetRequests()
	assert.ErrorIs(t, f.client.HandleCallback(ctx, cb), logto.ErrSignInSessionNotFound)
	assert.Equal(t, 0, f.srv.RequestCount(logtotest.EndpointToken))
}

func setParam(t *testing.T, raw, key, value string) string {
	t.Helper()
	u, err := url.Parse(raw)
	require.NoError(t, err)
	q := u.Query()
	if value == "" {
		q.Del(key)
	} else {
		q.Set(key, value)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

func TestIDTokenVerificationFailures(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(header, claims map[string]any)
	}{
		{"wrong issuer", func(h, c map[string]any) { c["iss"] = "https://evil.example/oidc" }},
		{"wrong audience", func(h, c map[string]any) { c["aud"] = "other-app" }},
		{"several audiences without azp", func(h, c map[string]any) { c["aud"] = []string{appID, "other-app"} }},
		{"azp of another app", func(h, c map[string]any) { c["aud"] = []string{appID, "other-app"}; c["azp"] = "other-app" }},
		{"missing sub", func(h, c map[string]any) { delete(c, "sub") }},
		{"missing iat", func(h, c map[string]any) { delete(c, "iat") }},
		{"missing exp", func(h, c map[string]any) { delete(c, "exp") }},
		{"iat in the future", func(h, c map[string]any) { c["iat"] = c["iat"].(int64) + 3600 }},
		{"expired", func(h, c map[string]any) { c["exp"] = c["iat"].(int64) - 3600 }},
		{"nbf in the future", func(h, c map[string]any) { c["nbf"] = c["iat"].(int64) + 3600 }},
		{"huge iat (no wrap-around to the past)", func(h, c map[string]any) { c["iat"] = int64(math.MaxInt64) }},
		{"huge nbf (no wrap-around to the past)", func(h, c map[string]any) { c["nbf"] = int64(math.MaxInt64) }},
		{"wrong nonce", func(h, c map[string]any) { c["nonce"] = "forged" }},
		{"missing nonce", func(h, c map[string]any) { delete(c, "nonce") }},
		{"alg none", func(h, c map[string]any) { h["alg"] = "none" }},
		{"HMAC with the public key", func(h, c map[string]any) { h["alg"] = "HS256" }},
		{"unknown kid", func(h, c map[string]any) { h["kid"] = "no-such-key" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t)
			f.srv.MutateIDTokens(func(h, c map[string]any) {
				normalizeTimes(c)
				tt.mutate(h, c)
			})
			err := f.client.HandleCallback(ctx, f.callbackFor(t, aliceID))
			assert.ErrorIs(t, err, logto.ErrInvalidIDToken)
			assert.False(t, f.client.IsAuthenticated(ctx))
			assert.Empty(t, f.snapshot(), "nothing stored; the transaction is spent")
		})
	}
}

// normalizeTimes makes iat/exp int64 whatever numeric type the fake uses.
func normalizeTimes(c map[string]any) {
	for _, k := range []string{"iat", "exp"} {
		switch v := c[k].(type) {
		case float64:
			c[k] = int64(v)
		case int:
			c[k] = int64(v)
		case json.Number:
			n, _ := v.Int64()
			c[k] = n
		}
	}
}

func TestLeewayAcceptsSmallSkew(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, logto.WithLeeway(30*time.Second))
	f.srv.MutateIDTokens(func(h, c map[string]any) {
		normalizeTimes(c)
		c["exp"] = c["iat"].(int64) - 10 // expired 10 s ago, like the Python vector
		c["iat"] = c["iat"].(int64) + 20 // and issued 20 s ahead of our clock
	})
	require.NoError(t, f.client.HandleCallback(ctx, f.callbackFor(t, aliceID)))
}

func TestPublicClientSendsClientIDInBody(t *testing.T) {
	ctx := context.Background()
	srv := newProvider(t)
	f := newFixtureWith(t, srv, logto.LogtoConfig{Endpoint: srv.URL(), AppId: spaID, Scopes: allScopes(), Resources: []string{apiResource}})
	f.signIn(t, aliceID)
	req := srv.Requests(logtotest.EndpointToken)[0]
	assert.Empty(t, req.Header.Get("Authorization"))
	assert.Equal(t, spaID, req.Form.Get("client_id"))

	// Public clients get their refresh token rotated: the new one is kept.
	rt, _ := f.client.GetRefreshToken(ctx)
	_, err := f.client.GetAccessToken(ctx, apiResource)
	require.NoError(t, err)
	rt2, _ := f.client.GetRefreshToken(ctx)
	assert.NotEqual(t, rt, rt2)
	assert.False(t, srv.RefreshTokenActive(rt))
	assert.True(t, srv.RefreshTokenActive(rt2))
}

func TestClientSecretIsFormEncodedInBasicAuth(t *testing.T) {
	srv := newProvider(t)
	id, secret := "app:with%odd chars", "s3cr+t:&=/"
	srv.AddApp(logtotest.App{ID: id, Secret: secret, Type: logtotest.AppTraditional, RedirectURIs: []string{redirectURI}})
	f := newFixtureWith(t, srv, logto.LogtoConfig{Endpoint: srv.URL(), AppId: id, AppSecret: secret})
	f.signIn(t, aliceID)
	hdr := srv.Requests(logtotest.EndpointToken)[0].Header.Get("Authorization")
	assert.Equal(t, "Basic "+basic(url.QueryEscape(id)+":"+url.QueryEscape(secret)), hdr)
}

func TestWrongSecretIsInvalidClient(t *testing.T) {
	srv := newProvider(t)
	f := newFixtureWith(t, srv, logto.LogtoConfig{Endpoint: srv.URL(), AppId: appID, AppSecret: "wrong"})
	err := f.client.HandleCallback(context.Background(), f.callbackFor(t, aliceID))
	var oe *logto.OAuthError
	require.ErrorAs(t, err, &oe)
	assert.Equal(t, "invalid_client", oe.Code)
	assert.Equal(t, http.StatusUnauthorized, oe.StatusCode)
	assert.NotContains(t, err.Error(), "wrong", "the secret never appears in errors")
	assert.Equal(t, 1, srv.RequestCount(logtotest.EndpointToken), "no retry with another auth style")
}

func TestRefreshInvalidGrantEndsSession(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.signIn(t, aliceID)
	f.srv.RevokeGrantsOf(aliceID)
	_, err := f.client.GetAccessToken(ctx, apiResource)
	assert.ErrorIs(t, err, logto.ErrSessionExpired)
	var oe *logto.OAuthError
	require.ErrorAs(t, err, &oe)
	assert.Equal(t, "invalid_grant", oe.Code)
	assert.False(t, f.client.IsAuthenticated(ctx))
	assert.Empty(t, f.snapshot())
}

func TestRefreshedIDTokenMustKeepSubject(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.signIn(t, aliceID)
	before := f.snapshot()
	f.srv.MutateIDTokens(func(h, c map[string]any) { c["sub"] = bobID })
	f.srv.Advance(2 * time.Hour)
	_, err := f.client.GetAccessToken(ctx, "")
	assert.ErrorIs(t, err, logto.ErrInvalidIDToken)
	assert.ErrorIs(t, err, logto.ErrSubjectMismatch)
	assert.Equal(t, before, f.snapshot(), "storage untouched")
}

func TestRefreshVerifiesNewIDToken(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.signIn(t, aliceID)
	f.srv.UpdateUser(aliceID, func(u *logtotest.User) { u.Name = "Alice L." })
	f.srv.Advance(2 * time.Hour)
	_, err := f.client.GetAccessToken(ctx, "")
	require.NoError(t, err)
	claims, err := f.client.GetIdTokenClaims(ctx)
	require.NoError(t, err)
	assert.Equal(t, logto.ClaimOf("Alice L."), claims.Name, "the refreshed ID token replaced the old one")
}

func TestOrganizationErrors(t *testing.T) {
	ctx := context.Background()
	srv := newProvider(t)
	noOrg := newFixtureWith(t, srv, logto.LogtoConfig{Endpoint: srv.URL(), AppId: appID, AppSecret: appSecret})
	noOrg.signIn(t, aliceID)
	_, err := noOrg.client.GetOrganizationToken(ctx, memberOrg)
	assert.ErrorIs(t, err, logto.ErrOrganizationScopeRequired)

	f := newFixture(t)
	f.signIn(t, aliceID)
	_, err = f.client.GetOrganizationToken(ctx, nonMemberOrg)
	var oe *logto.OAuthError
	require.ErrorAs(t, err, &oe)
	assert.Equal(t, "access_denied", oe.Code)
	assert.Equal(t, http.StatusForbidden, oe.StatusCode)
	assert.True(t, f.client.IsAuthenticated(ctx), "a refused organization does not end the session")
	_, err = f.client.GetOrganizationToken(ctx, "")
	assert.ErrorIs(t, err, logto.ErrInvalidConfig)
}

func TestUserInfoSubjectMismatch(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.signIn(t, aliceID)
	f.srv.Intercept(logtotest.EndpointUserInfo, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"sub":"` + bobID + `"}`))
	})
	_, err := f.client.FetchUserInfo(ctx)
	assert.ErrorIs(t, err, logto.ErrSubjectMismatch)
}

func TestSignOutWhenRevocationFails(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.signIn(t, aliceID)
	f.srv.FailNext(logtotest.EndpointRevocation, http.StatusInternalServerError, `{"error":"server_error"}`)
	u, err := f.client.SignOut(ctx, "")
	require.NoError(t, err, "revocation is best effort")
	assert.Empty(t, f.snapshot())
	q, _ := url.Parse(u)
	assert.Empty(t, q.Query().Get("post_logout_redirect_uri"))
	assert.NotEmpty(t, q.Query().Get("id_token_hint"))
}

func TestSignOutWithoutSession(t *testing.T) {
	f := newFixture(t)
	u, err := f.client.SignOut(context.Background(), postLogout)
	require.NoError(t, err)
	assert.Equal(t, 0, f.srv.RequestCount(logtotest.EndpointRevocation), "nothing to revoke")
	q, _ := url.Parse(u)
	assert.Empty(t, q.Query().Get("id_token_hint"))
}

func TestTokensSurviveInStorage(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.signIn(t, aliceID)
	_, err := f.client.GetAccessToken(ctx, apiResource)
	require.NoError(t, err)
	// Another client (a restarted process) reading the same storage.
	c2, err := logto.NewLogtoClient(f.cfg, f.store, logto.WithClock(f.srv.Now))
	require.NoError(t, err)
	f.srv.ResetRequests()
	tok, err := c2.GetAccessToken(ctx, apiResource)
	require.NoError(t, err)
	assert.NotEmpty(t, tok)
	assert.Equal(t, 0, f.srv.RequestCount(logtotest.EndpointToken))
	var m map[string]struct {
		Token     string `json:"token"`
		ExpiresAt int64  `json:"expiresAt"`
	}
	raw, _ := f.store.Get(ctx, logto.StorageKeyAccessTokens)
	require.NoError(t, json.Unmarshal([]byte(raw), &m))
	assert.Contains(t, m, "")
	assert.Contains(t, m, apiResource)
	assert.Equal(t, f.srv.Now().Add(time.Hour).Unix(), m[apiResource].ExpiresAt)
}

func TestCorruptedStorageIsAnError(t *testing.T) {
	ctx := context.Background()
	tests := []struct{ key, value string }{
		{logto.StorageKeyAccessTokens, "{not json"},
		{logto.StorageKeyAccessTokens, `["a"]`},
		{logto.StorageKeyIDToken, "not.a.jwt"},
		{logto.StorageKeySignInSession, `{"state":1}`},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			f := newFixture(t)
			f.signIn(t, aliceID)
			cb := f.callbackFor(t, aliceID)
			require.NoError(t, f.store.Set(ctx, tt.key, tt.value))
			var err error
			switch tt.key {
			case logto.StorageKeyAccessTokens:
				_, err = f.client.GetAccessToken(ctx, apiResource)
			case logto.StorageKeyIDToken:
				_, err = f.client.GetIdTokenClaims(ctx)
			case logto.StorageKeySignInSession:
				err = f.client.HandleCallback(ctx, cb)
			}
			assert.ErrorIs(t, err, logto.ErrStorage)
			v, _ := f.store.Get(ctx, tt.key)
			assert.Equal(t, tt.value, v, "the value is left for the application to inspect")
		})
	}
}

func basic(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// TestConcurrentRefreshSendsOneRequest: 100 goroutines, some on the shared
// client and some on per-request views of the same session, ask for one
// expired token at once; exactly one token request reaches Logto.
func TestConcurrentRefreshSendsOneRequest(t *testing.T) {
	ctx := context.Background()
	srv := newProvider(t)
	f := newFixtureWith(t, srv, logto.LogtoConfig{Endpoint: srv.URL(), AppId: spaID, Scopes: allScopes(), Resources: []string{apiResource}})
	f.signIn(t, aliceID)
	_, err := f.client.GetAccessToken(ctx, apiResource)
	require.NoError(t, err)
	srv.Advance(2 * time.Hour)
	srv.ResetRequests()

	var wg sync.WaitGroup
	tokens := make([]string, 100)
	errs := make([]error, 100)
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c := f.client
			if i%2 == 1 {
				c = f.client.WithStorage(f.store)
			}
			tokens[i], errs[i] = c.GetAccessToken(ctx, apiResource)
		}(i)
	}
	wg.Wait()
	for i := range errs {
		require.NoError(t, errs[i])
		assert.Equal(t, tokens[0], tokens[i])
	}
	assert.Equal(t, 1, srv.RequestCount(logtotest.EndpointToken))
	// The rotated refresh token was stored and works.
	rt, _ := f.client.GetRefreshToken(ctx)
	assert.True(t, srv.RefreshTokenActive(rt))
}

// TestConcurrentRefreshOfDifferentTokensWithRotation asks at once for an
// API token, an organization token and an organization-scoped API token
// with a public client, whose refresh token Logto rotates on every use.
// The requests must run one after the other, each with the refresh token
// the previous one produced: none may spend a rotated token (which Logto
// treats as theft, revoking the session).
func TestConcurrentRefreshOfDifferentTokensWithRotation(t *testing.T) {
	ctx := context.Background()
	srv := newProvider(t)
	f := newFixtureWith(t, srv, logto.LogtoConfig{Endpoint: srv.URL(), AppId: spaID, Scopes: allScopes(), Resources: []string{apiResource}})
	f.signIn(t, aliceID)
	srv.ResetRequests()

	calls := []func(c *logto.LogtoClient) (string, error){
		func(c *logto.LogtoClient) (string, error) { return c.GetAccessToken(ctx, apiResource) },
		func(c *logto.LogtoClient) (string, error) { return c.GetOrganizationToken(ctx, memberOrg) },
		func(c *logto.LogtoClient) (string, error) {
			return c.GetOrganizationAccessToken(ctx, memberOrg, apiResource)
		},
	}
	var wg sync.WaitGroup
	errs := make([]error, 30)
	for i := range errs {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c := f.client
			if i%2 == 1 {
				c = f.client.WithStorage(f.store) // another request of the same session
			}
			_, errs[i] = calls[i%len(calls)](c)
		}(i)
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	assert.Equal(t, 3, srv.RequestCount(logtotest.EndpointToken), "one request per token")
	rt, err := f.client.GetRefreshToken(ctx)
	require.NoError(t, err)
	assert.True(t, srv.RefreshTokenActive(rt), "the stored refresh token is the newest")
	assert.True(t, f.client.IsAuthenticated(ctx))
}

func TestDiscoveryFailures(t *testing.T) {
	tests := []struct {
		name   string
		setup  func(srv *logtotest.Server)
		expect string
	}{
		{"HTTP error", func(srv *logtotest.Server) { srv.FailNext(logtotest.EndpointDiscovery, 500, "oops") }, "unexpected HTTP status 500"},
		{"not JSON", func(srv *logtotest.Server) { srv.FailNext(logtotest.EndpointDiscovery, 200, "<html>") }, "decode configuration"},
		{"issuer mismatch", func(srv *logtotest.Server) {
			srv.MutateDiscovery(func(d map[string]any) { d["issuer"] = "https://evil.example/oidc" })
		}, "does not match the expected"},
		{"no token endpoint", func(srv *logtotest.Server) {
			srv.MutateDiscovery(func(d map[string]any) { delete(d, "token_endpoint") })
		}, "token_endpoint is missing"},
		{"plain-http endpoint of another host", func(srv *logtotest.Server) {
			srv.MutateDiscovery(func(d map[string]any) { d["token_endpoint"] = "http://evil.example/token" })
		}, "token_endpoint is not an allowed URL"},
		{"only HMAC algorithms", func(srv *logtotest.Server) {
			srv.MutateDiscovery(func(d map[string]any) { d["id_token_signing_alg_values_supported"] = []string{"HS256", "none"} })
		}, "no supported ID token signing algorithm"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			tt.setup(f.srv)
			_, err := f.client.SignIn(context.Background(), logto.SignInOptions{RedirectURI: redirectURI})
			require.ErrorIs(t, err, logto.ErrDiscovery)
			assert.Contains(t, err.Error(), tt.expect)
			assert.Equal(t, 1, strings.Count(err.Error(), "discovery failed"), err.Error())
			assert.Equal(t, 0, f.store.Len(), "nothing stored")
		})
	}
}
