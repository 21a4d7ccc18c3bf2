package logto_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto"
	"github.com/gologto/logto/logtotest"
)

// Token lifecycle (issue 9 items 1 to 3): a token is reused only while it
// is fresh, the early-expiry window is bounded by the token's lifetime, and
// a resource that is not configured is refused before anything is sent.

// shortLivedProvider is newProvider whose API resource issues access
// tokens living ttl.
func shortLivedProvider(t testing.TB, ttl time.Duration, opts ...logtotest.Option) *logtotest.Server {
	t.Helper()
	srv := newProvider(t, opts...)
	srv.AddResource(logtotest.Resource{Indicator: apiResource, Scopes: []string{"read:data", "write:data"}, AccessTokenTTL: ttl})
	return srv
}

func webAppConfig(srv *logtotest.Server) logto.LogtoConfig {
	return logto.LogtoConfig{
		Endpoint: srv.URL(), AppId: appID, AppSecret: appSecret,
		Scopes: allScopes(), Resources: []string{apiResource},
	}
}

// tokenExpiry is the exp claim of a JWT access token.
func tokenExpiry(t testing.TB, token string) time.Time {
	t.Helper()
	exp, ok := jwtPart(t, token, 1)["exp"].(float64)
	require.True(t, ok, "the access token has an exp claim")
	return time.Unix(int64(exp), 0)
}

// concurrentTokens asks n goroutines at once for the token of resource,
// each through its own view of c's session.
func concurrentTokens(t testing.TB, c *logto.LogtoClient, resource string, n int) []string {
	t.Helper()
	tokens := make([]string, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			tokens[i], errs[i] = c.WithStorage(c.Storage()).GetAccessToken(context.Background(), resource)
		}()
	}
	close(start)
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	return tokens
}

// TestExpiredResultIsNotReused: a refresh result is shared only while its
// access token is fresh. Before the fix, a result was reused for 10 s
// whatever its token's expiry, so a 2-second token was handed out expired,
// to every concurrent caller, without a request.
func TestExpiredResultIsNotReused(t *testing.T) {
	ctx := context.Background()
	srv := shortLivedProvider(t, 2*time.Second)
	f := newFixtureWith(t, srv, webAppConfig(srv))
	f.signIn(t, aliceID)
	first, err := f.client.GetAccessToken(ctx, apiResource)
	require.NoError(t, err)

	srv.Advance(3 * time.Second) // the first token has expired
	srv.ResetRequests()
	tokens := concurrentTokens(t, f.client, apiResource, 50)
	for _, tok := range tokens {
		assert.NotEqual(t, first, tok, "the expired token is not handed out")
		assert.Equal(t, tokens[0], tok, "one new token for all")
		assert.True(t, srv.Now().Before(tokenExpiry(t, tok)), "the token handed out has not expired")
	}
	assertRequests(t, srv, reqs{logtotest.EndpointToken: 1})
}

// TestExpiredResultIsNotReusedRealTime is the same on the wall clock, with
// a 1-second token.
func TestExpiredResultIsNotReusedRealTime(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := shortLivedProvider(t, time.Second, logtotest.WithWallClock())
	f := newFixtureWith(t, srv, webAppConfig(srv))
	f.signIn(t, aliceID)
	first, err := f.client.GetAccessToken(ctx, apiResource)
	require.NoError(t, err)
	exp := tokenExpiry(t, first)
	require.Eventually(t, func() bool { return !srv.Now().Before(exp) }, 3*time.Second, 10*time.Millisecond)

	srv.ResetRequests()
	tokens := concurrentTokens(t, f.client, apiResource, 50)
	for _, tok := range tokens {
		assert.NotEqual(t, first, tok, "the expired token is not handed out")
		assert.True(t, srv.Now().Before(tokenExpiry(t, tok)), "the token handed out has not expired")
	}
	assert.LessOrEqual(t, srv.RequestCount(logtotest.EndpointToken), 2,
		"one refresh (two only if the new token was itself due before all callers asked)")
}

// TestEarlyExpiryWindowIsBoundedByLifetime: a token is refreshed the early-
// expiry window before its expiry, but the window is at most half its
// lifetime, and a token is never used past its expiry. Before the fix a
// 30-second token was refreshed on every call with the default one-minute
// window (once the 10-second reuse of the last result had passed).
func TestEarlyExpiryWindowIsBoundedByLifetime(t *testing.T) {
	tests := []struct {
		name        string
		ttl         time.Duration
		opts        []logto.Option
		usedUntil   time.Duration // still the cached token at this age
		renewedFrom time.Duration // refreshed at this age
	}{
		{"30 s token, default window: half its life", 30 * time.Second, nil, 14 * time.Second, 15 * time.Second},
		{"30 s token, no window: until it expires", 30 * time.Second, []logto.Option{logto.WithEarlyExpiry(0)}, 29 * time.Second, 30 * time.Second},
		{"10 min token, default window: one minute", 10 * time.Minute, nil, 8*time.Minute + 59*time.Second, 9 * time.Minute},
		{"2 s token, default window: one second", 2 * time.Second, nil, 0, time.Second},
		{"1 h token, 2 h window: half its life", time.Hour, []logto.Option{logto.WithEarlyExpiry(2 * time.Hour)}, 29*time.Minute + 59*time.Second, 30 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			srv := shortLivedProvider(t, tt.ttl)
			f := newFixtureWith(t, srv, webAppConfig(srv), tt.opts...)
			f.signIn(t, aliceID)
			srv.ResetRequests()
			issued := srv.Now()
			first, err := f.client.GetAccessToken(ctx, apiResource)
			require.NoError(t, err)
			require.Equal(t, 1, srv.RequestCount(logtotest.EndpointToken))

			srv.SetNow(issued.Add(tt.usedUntil))
			srv.ResetRequests()
			tok, err := f.client.GetAccessToken(ctx, apiResource)
			require.NoError(t, err)
			assert.Equal(t, first, tok, "still used at %s", tt.usedUntil)
			assert.Zero(t, srv.RequestCount(logtotest.EndpointToken))

			srv.SetNow(issued.Add(tt.renewedFrom))
			tok, err = f.client.GetAccessToken(ctx, apiResource)
			require.NoError(t, err)
			assert.NotEqual(t, first, tok, "renewed at %s", tt.renewedFrom)
			assert.Equal(t, 1, srv.RequestCount(logtotest.EndpointToken))
		})
	}
}

// TestShortLivedTokenRealTime calls for a 2-second token for 2.5 s on the
// wall clock: the token is reused for a good part of its life, never handed
// out expired.
func TestShortLivedTokenRealTime(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := shortLivedProvider(t, 2*time.Second, logtotest.WithWallClock())
	f := newFixtureWith(t, srv, webAppConfig(srv))
	f.signIn(t, aliceID)
	srv.ResetRequests()
	calls, distinct := 0, map[string]bool{}
	for end := time.Now().Add(2500 * time.Millisecond); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		tok, err := f.client.GetAccessToken(ctx, apiResource)
		require.NoError(t, err)
		require.True(t, srv.Now().Before(tokenExpiry(t, tok)), "call %d got an expired token", calls)
		calls++
		distinct[tok] = true
	}
	// Each token lives 1 to 2 s once received and is used for half of that.
	refreshes := srv.RequestCount(logtotest.EndpointToken)
	assert.Equal(t, len(distinct), refreshes)
	assert.LessOrEqual(t, refreshes, 6, "a 2 s token is used, not refreshed on every call (%d calls)", calls)
	assert.GreaterOrEqual(t, refreshes, 2, "and renewed as it ages")
}

// TestM2MShortLivedToken: the M2M client bounds the window the same way.
// Before the fix a 30-second token was fetched again on every call.
func TestM2MShortLivedToken(t *testing.T) {
	ctx := context.Background()
	srv := newM2MProvider(t)
	srv.AddResource(logtotest.Resource{Indicator: apiResource, Scopes: []string{"read:data"}, AccessTokenTTL: 30 * time.Second})
	m, err := logto.NewM2MClient(logto.M2MConfig{
		Endpoint: srv.URL(), AppId: "m2m-app", AppSecret: "m2m-secret", Resource: apiResource,
	}, logto.WithClock(srv.Now))
	require.NoError(t, err)
	first, err := m.AccessToken(ctx)
	require.NoError(t, err)
	srv.Advance(14 * time.Second)
	tok, err := m.AccessToken(ctx)
	require.NoError(t, err)
	assert.Equal(t, first, tok)
	assert.Equal(t, 1, srv.RequestCount(logtotest.EndpointToken))
	srv.Advance(time.Second)
	tok, err = m.AccessToken(ctx)
	require.NoError(t, err)
	assert.NotEqual(t, first, tok)
	assert.Equal(t, 2, srv.RequestCount(logtotest.EndpointToken))
}

// TestUnconfiguredResourceIsRefused: a resource that is not in
// LogtoConfig.Resources, alone or organization-scoped, is refused with
// ErrResourceNotConfigured before a request is sent, and the session is
// left as it was. With a public client Logto would rotate the refresh token
// before refusing the resource and revoke the grant a few seconds later.
func TestUnconfiguredResourceIsRefused(t *testing.T) {
	const typo = "https://typo.example.com"
	tests := []struct {
		name string
		call func(ctx context.Context, c *logto.LogtoClient) error
	}{
		{"GetAccessToken", func(ctx context.Context, c *logto.LogtoClient) error {
			_, err := c.GetAccessToken(ctx, typo)
			return err
		}},
		{"GetAccessTokenClaims", func(ctx context.Context, c *logto.LogtoClient) error {
			_, err := c.GetAccessTokenClaims(ctx, typo)
			return err
		}},
		{"GetOrganizationAccessToken", func(ctx context.Context, c *logto.LogtoClient) error {
			_, err := c.GetOrganizationAccessToken(ctx, memberOrg, typo)
			return err
		}},
		{"GetOrganizationAccessTokenClaims", func(ctx context.Context, c *logto.LogtoClient) error {
			_, err := c.GetOrganizationAccessTokenClaims(ctx, memberOrg, typo)
			return err
		}},
		{"TokenSource", func(ctx context.Context, c *logto.LogtoClient) error {
			_, err := c.TokenSource(ctx, typo).Token()
			return err
		}},
		{"OrganizationAccessTokenSource", func(ctx context.Context, c *logto.LogtoClient) error {
			_, err := c.OrganizationAccessTokenSource(ctx, memberOrg, typo).Token()
			return err
		}},
		{"a configured resource with a trailing slash added", func(ctx context.Context, c *logto.LogtoClient) error {
			_, err := c.GetAccessToken(ctx, apiResource+"/")
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			f := newSPAFixture(t, []logtotest.Option{logtotest.WithRefreshTokenReuseInterval(3 * time.Second)})
			f.signIn(t, aliceID)
			f.srv.Advance(2 * time.Hour) // every cached token is stale
			before := f.snapshot()
			f.srv.ResetRequests()
			err := tt.call(ctx, f.client)
			require.ErrorIs(t, err, logto.ErrResourceNotConfigured)
			var oe *logto.OAuthError
			assert.False(t, errors.As(err, &oe), "not Logto's answer: nothing was sent")
			assertRequests(t, f.srv, reqs{})
			assert.Equal(t, before, f.snapshot(), "the session is left as it was")

			f.srv.Advance(5 * time.Second) // past Logto's reuse leeway
			_, err = f.client.GetAccessToken(ctx, apiResource)
			require.NoError(t, err, "the session goes on")
		})
	}
}

// TestConfiguredResourcesAreAllowed: "" (the user info token), the
// configured resources and organization tokens (which need no resource)
// pass the check. A resource configured after the user signed in is not in
// the session's grant: that one is sent, and Logto refuses it
// (invalid_target).
func TestConfiguredResourcesAreAllowed(t *testing.T) {
	ctx := context.Background()
	const later = "https://later.example.com"
	srv := newProvider(t)
	srv.AddResource(logtotest.Resource{Indicator: later})
	f := newFixtureWith(t, srv, webAppConfig(srv))
	f.signIn(t, aliceID)
	srv.Advance(2 * time.Hour)
	_, err := f.client.GetAccessToken(ctx, "")
	require.NoError(t, err)
	_, err = f.client.GetAccessToken(ctx, apiResource)
	require.NoError(t, err)
	_, err = f.client.GetOrganizationToken(ctx, memberOrg)
	require.NoError(t, err, "an organization token needs no resource")
	_, err = f.client.GetOrganizationAccessToken(ctx, memberOrg, apiResource)
	require.NoError(t, err)

	cfg := webAppConfig(srv)
	cfg.Resources = append(cfg.Resources, later)
	c, err := logto.NewLogtoClient(cfg, f.store, logto.WithClock(srv.Now))
	require.NoError(t, err)
	srv.ResetRequests()
	_, err = c.GetAccessToken(ctx, later)
	assert.NotErrorIs(t, err, logto.ErrResourceNotConfigured)
	var oe *logto.OAuthError
	require.ErrorAs(t, err, &oe)
	assert.Equal(t, "invalid_target", oe.Code)
	assert.Equal(t, 1, srv.RequestCount(logtotest.EndpointToken))
}
