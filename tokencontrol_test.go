package logto_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto"
	"github.com/gologto/logto/logtotest"
)

// controlSession is a signed-in web-app session holding a cached API token.
func controlSession(t *testing.T) (*logtotest.Server, *logto.LogtoClient, string) {
	t.Helper()
	srv := newProvider(t)
	c := stormClient(t, srv, false).WithStorage(logto.NewMemoryStorage())
	signInAs(t, srv, c, aliceID)
	tok, err := c.GetAccessToken(context.Background(), apiResource)
	require.NoError(t, err)
	srv.ResetRequests()
	return srv, c, tok
}

// TestAccessTokenControl: a forced refresh, a narrowed scope and clearing
// the cache each send exactly the requests they promise, and a refused
// narrowing sends nothing.
func TestAccessTokenControl(t *testing.T) {
	ctx := context.Background()
	t.Run("force refresh", func(t *testing.T) {
		srv, c, cached := controlSession(t)
		// The cached token's refresh was sent before the call began (the
		// fake clock is frozen otherwise).
		srv.Advance(time.Second)
		tok, err := c.GetAccessTokenWith(ctx, logto.AccessTokenRequest{Resource: apiResource, ForceRefresh: true})
		require.NoError(t, err)
		assert.NotEqual(t, cached, tok, "a new token, not the cached one")
		assert.Equal(t, 1, srv.RequestCount(logtotest.EndpointToken))
		again, err := c.GetAccessToken(ctx, apiResource)
		require.NoError(t, err)
		assert.Equal(t, tok, again, "the forced token replaced the cached one")
		assert.Equal(t, 1, srv.RequestCount(logtotest.EndpointToken))
	})
	t.Run("narrowed scope cached apart", func(t *testing.T) {
		srv, c, full := controlSession(t)
		narrow, err := c.GetAccessTokenWith(ctx, logto.AccessTokenRequest{Resource: apiResource, Scopes: []string{"read:data"}})
		require.NoError(t, err)
		assert.NotEqual(t, full, narrow)
		reqs := srv.Requests(logtotest.EndpointToken)
		require.Len(t, reqs, 1)
		assert.Equal(t, "read:data", reqs[0].Form.Get("scope"))
		again, err := c.GetAccessToken(ctx, apiResource)
		require.NoError(t, err)
		assert.Equal(t, full, again, "the narrow token never answers for the full one")
		assert.Equal(t, 1, srv.RequestCount(logtotest.EndpointToken))
	})
	t.Run("scope not configured", func(t *testing.T) {
		srv, c, _ := controlSession(t)
		_, err := c.GetAccessTokenWith(ctx, logto.AccessTokenRequest{Resource: apiResource, Scopes: []string{"delete:everything"}})
		require.ErrorIs(t, err, logto.ErrScopeNotConfigured)
		assert.Zero(t, srv.RequestCount(logtotest.EndpointToken), "refused before sending")
	})
	t.Run("clear access tokens", func(t *testing.T) {
		srv, c, cached := controlSession(t)
		require.NoError(t, c.ClearAccessTokens(ctx))
		assert.True(t, c.IsAuthenticated(ctx), "still signed in")
		tok, err := c.GetAccessToken(ctx, apiResource)
		require.NoError(t, err)
		assert.NotEqual(t, cached, tok)
		assert.Equal(t, 1, srv.RequestCount(logtotest.EndpointToken), "one refresh after clearing")
	})
}
