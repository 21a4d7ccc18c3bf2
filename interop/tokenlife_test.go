package interop

import (
	"context"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto"
)

// The tests of this file run in real time against the provider's
// short-lived API resources (no WithClock): they wait for real token
// expiries, in parallel with each other, after the sequential tests.

// TestShortLivedTokenNeverServedExpired (issue 9 item 1): with an API
// resource whose access tokens live 2 s, GetAccessToken never returns a
// token past its exp, also to 50 concurrent callers right after the cached
// token expired; those callers share one refresh.
func TestShortLivedTokenNeverServedExpired(t *testing.T) {
	endpoint(t)
	t.Parallel()
	ctx := context.Background()
	log := newCountingTransport()
	cfg := spaConfig(t)
	cfg.Resources = []string{ttl2sResource}
	client := newClient(t, cfg, nil, logto.WithHTTPClient(log.client()))
	signIn(t, client, newBrowser(t), logto.SignInOptions{})

	first := mustToken(t)(client.GetAccessToken(ctx, ttl2sResource))
	requireUnexpired(t, first, "first token")
	iat, exp := jwtTimes(t, first)
	require.Equal(t, int64(2), exp-iat, "the resource's tokens live 2 s")

	// Just past its exp, which is a whole second: the refresh and the 50
	// callers below then fall early in one second.
	sleepUntil(time.Unix(exp, 0).Add(100 * time.Millisecond))
	before := log.count(tokenPath)

	const n = 50
	tokens := make([]string, n)
	errs := make([]error, n)
	returned := make([]time.Time, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tokens[i], errs[i] = client.GetAccessToken(ctx, ttl2sResource)
			returned[i] = time.Now()
		}()
	}
	wg.Wait()

	distinct := map[string]bool{}
	for i := range n {
		require.NoError(t, errs[i], "caller %d", i)
		_, e := jwtTimes(t, tokens[i])
		require.Truef(t, returned[i].Before(time.Unix(e, 0)), "caller %d got a token that expired at %d (returned at %s)",
			i, e, returned[i].UTC().Format(time.RFC3339Nano))
		require.Truef(t, tokens[i] != first, "caller %d got the expired token", i)
		distinct[tokens[i]] = true
	}
	refreshes := log.count(tokenPath) - before
	t.Logf("50 callers: %d refresh request(s), %d distinct token(s)", refreshes, len(distinct))
	assert.GreaterOrEqual(t, refreshes, 1, "the expired token was refreshed")
	// One refresh answers everybody; a second one is possible only if the
	// burst outlasted the new token's freshness.
	assert.LessOrEqual(t, refreshes, 2, "the callers shared the refresh")
	assert.Equal(t, refreshes, len(distinct), "each refresh's token was served")

	// And after the next expiry too, on a single call.
	var latest int64
	for tok := range distinct {
		_, e := jwtTimes(t, tok)
		latest = max(latest, e)
	}
	sleepUntil(time.Unix(latest, 0).Add(100 * time.Millisecond))
	again := mustToken(t)(client.GetAccessToken(ctx, ttl2sResource))
	requireUnexpired(t, again, "token after the second expiry")
	assert.True(t, client.IsAuthenticated(ctx), "the rotating refresh token was never spent twice")
}

// TestShortLifetimeClampsEarlyExpiry (issue 9 item 2): a token that lives
// 4 s is used, despite the default one-minute early-expiry window: a few
// calls within its life cost at most one refresh, and none returns it past
// its exp.
func TestShortLifetimeClampsEarlyExpiry(t *testing.T) {
	endpoint(t)
	t.Parallel()
	ctx := context.Background()
	log := newCountingTransport()
	cfg := spaConfig(t)
	cfg.Resources = []string{ttl4sResource}
	client := newClient(t, cfg, nil, logto.WithHTTPClient(log.client())) // default early expiry
	signIn(t, client, newBrowser(t), logto.SignInOptions{})

	// Start early in a second, so that the offsets below keep their place
	// relative to the token's whole-second exp.
	sleepUntil(time.Now().Truncate(time.Second).Add(time.Second + 100*time.Millisecond))
	before := log.count(tokenPath)
	tok0 := mustToken(t)(client.GetAccessToken(ctx, ttl4sResource))
	start := time.Now()
	require.Equal(t, 1, log.count(tokenPath)-before, "the first token is fetched")
	iat, exp0 := jwtTimes(t, tok0)
	require.Equal(t, int64(4), exp0-iat, "the resource's tokens live 4 s")

	served := map[string]int{tok0: 1}
	for _, at := range []time.Duration{500 * time.Millisecond, 1500 * time.Millisecond, 2500 * time.Millisecond, 3500 * time.Millisecond} {
		sleepUntil(start.Add(at))
		tok := mustToken(t)(client.GetAccessToken(ctx, ttl4sResource))
		requireUnexpired(t, tok, "token at +"+at.String())
		served[tok]++
	}
	within := log.count(tokenPath) - before - 1
	t.Logf("4 calls within the token's life: %d refresh(es); tokens served %v times", within, mapValues(served))
	assert.GreaterOrEqual(t, served[tok0], 2, "the token was used again within its life")
	assert.LessOrEqual(t, within, 1, "at most one refresh within the token's 4 s")

	// Past its exp it is never served.
	sleepUntil(time.Unix(exp0, 0).Add(200 * time.Millisecond))
	after := mustToken(t)(client.GetAccessToken(ctx, ttl4sResource))
	assert.True(t, after != tok0, "the token is not served past its exp")
	requireUnexpired(t, after, "token after the first one's exp")
	assert.True(t, client.IsAuthenticated(ctx))
}

func mapValues(m map[string]int) []int {
	out := make([]int, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// TestUnconfiguredResourceRefusedBeforeSending (issue 9 item 3): asking a
// public client for a token of an API resource that is not in
// LogtoConfig.Resources (also organization-scoped) is refused with
// logto.ErrResourceNotConfigured before any request, and the session
// still works after Logto's 3-second refresh-token reuse leeway. The
// provider's native-app shows why: sent, such a request spends the
// rotating refresh token and the next use revokes the grant.
func TestUnconfiguredResourceRefusedBeforeSending(t *testing.T) {
	endpoint(t)
	t.Parallel()
	ctx := context.Background()

	t.Run("the SDK refuses before sending", func(t *testing.T) {
		t.Parallel()
		ct := newCountingTransport()
		client := newClient(t, nativeConfig(t), nil, logto.WithHTTPClient(ct.client()))
		signIn(t, client, newBrowser(t), logto.SignInOptions{})
		rt0, err := client.GetRefreshToken(ctx)
		require.NoError(t, err)

		sent := ct.total()
		for _, resource := range []string{otherResource, "https://typo.example.com", apiResource + "/"} {
			_, err := client.GetAccessToken(ctx, resource)
			require.ErrorIs(t, err, logto.ErrResourceNotConfigured, resource)
			assert.Contains(t, err.Error(), resource)
			_, err = client.GetOrganizationAccessToken(ctx, "org-1", resource)
			require.ErrorIs(t, err, logto.ErrResourceNotConfigured, "organization-scoped %s", resource)
			_, err = client.TokenSource(ctx, resource).Token()
			require.ErrorIs(t, err, logto.ErrResourceNotConfigured, "token source for %s", resource)
		}
		assert.Equal(t, sent, ct.total(), "no request was sent")
		rt, err := client.GetRefreshToken(ctx)
		require.NoError(t, err)
		assert.Equal(t, rt0, rt, "the refresh token was not touched")

		// Past Logto's reuse leeway: the session is intact.
		time.Sleep(3200 * time.Millisecond)
		c, err := client.GetAccessTokenClaims(ctx, apiResource)
		require.NoError(t, err, "the refresh token still works")
		assert.Equal(t, logto.Audience{apiResource}, c.Audience)
		_, err = client.GetOrganizationAccessToken(ctx, "org-1", apiResource)
		require.NoError(t, err)
		assert.True(t, client.IsAuthenticated(ctx))
		rt, err = client.GetRefreshToken(ctx)
		require.NoError(t, err)
		assert.NotEqual(t, rt0, rt, "native-app rotates at every refresh")
	})

	t.Run("what the provider does if it were sent", func(t *testing.T) {
		t.Parallel()
		client := newClient(t, nativeConfig(t), nil)
		signIn(t, client, newBrowser(t), logto.SignInOptions{})
		rt, err := client.GetRefreshToken(ctx)
		require.NoError(t, err)

		res := postToken(t, nativeAppID, "", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "resource": {otherResource}})
		assert.Equal(t, http.StatusBadRequest, res.status)
		assert.Equal(t, "invalid_target", res.str("error"))
		assert.NotContains(t, res.body, "refresh_token", "the rotated token is not handed out")

		// The token was spent before the resource was checked: its next
		// use is a reuse, which revokes the grant.
		res = postToken(t, nativeAppID, "", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
		assert.Equal(t, http.StatusBadRequest, res.status)
		assert.Equal(t, "invalid_grant", res.str("error"))
		_, err = client.GetAccessToken(ctx, apiResource)
		require.ErrorIs(t, err, logto.ErrSessionExpired, "the user is signed out")
		assert.False(t, client.IsAuthenticated(ctx))
	})
}
