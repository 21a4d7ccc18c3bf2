package backchannel_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto/backchannel"
	"github.com/gologto/logto/logtotest"
)

func handler(t *testing.T, srv *logtotest.Server, l *logouts, edit func(*backchannel.Config)) *backchannel.Handler {
	t.Helper()
	cfg := backchannel.Config{Endpoint: srv.URL(), AppId: "web-app", OnLogout: l.hook, Now: srv.Now}
	if edit != nil {
		edit(&cfg)
	}
	h, err := backchannel.NewHandler(cfg)
	require.NoError(t, err)
	return h
}

func withJTI(jti string) func(h, c map[string]any) {
	return func(h, c map[string]any) { c["jti"] = jti }
}

// TestFullReplayCacheAcceptsGenuineTokens (issue 9 item 13): a replay
// cache full of remembered jtis never refuses a genuine logout token as
// "jti already used". Expired jtis make room first; when every one is
// still live, the one expiring soonest is forgotten (memory stays
// bounded), and the tokens remembered are still refused when replayed.
func TestFullReplayCacheAcceptsGenuineTokens(t *testing.T) {
	ctx := context.Background()
	srv := logtotest.NewServer(t)
	l := &logouts{}
	h := handler(t, srv, l, func(c *backchannel.Config) { c.ReplayCacheSize = 3 })

	live := []string{}
	for i := 0; i < 3; i++ {
		tok := logoutToken(srv, withJTI(fmt.Sprint("live-", i)))
		require.NoError(t, h.Handle(ctx, tok))
		live = append(live, tok)
		srv.Advance(time.Second) // each expires a second after the previous
	}
	// Full of live jtis: a fourth genuine token is accepted.
	fourth := logoutToken(srv, withJTI("fourth"))
	require.NoError(t, h.Handle(ctx, fourth), "a full cache must not refuse a genuine token")
	assert.Len(t, l.calls, 4)
	// The newest remembered tokens are still refused when replayed; the
	// one forgotten was the one expiring soonest (live-0).
	for _, tok := range append(live[1:], fourth) {
		err := h.Handle(ctx, tok)
		require.ErrorIs(t, err, backchannel.ErrInvalidLogoutToken)
		assert.Contains(t, err.Error(), "jti already used")
	}

	// Once they have expired, they make room without forgetting any live one.
	srv.Advance(10 * time.Minute)
	for i := 0; i < 3; i++ {
		require.NoError(t, h.Handle(ctx, logoutToken(srv, withJTI(fmt.Sprint("later-", i)))))
	}
	assert.Len(t, l.calls, 7)
}

// TestReplayRefusedUntilTheTokenCannotBeAccepted: a jti is remembered as
// long as its token would pass verification, whatever else arrives.
func TestReplayRefusedUntilTheTokenCannotBeAccepted(t *testing.T) {
	ctx := context.Background()
	srv := logtotest.NewServer(t)
	l := &logouts{}
	h := handler(t, srv, l, func(c *backchannel.Config) { c.ReplayCacheSize = 10 })
	tok := logoutToken(srv, withJTI("once"))
	require.NoError(t, h.Handle(ctx, tok))
	for i := 0; i < 9; i++ {
		require.NoError(t, h.Handle(ctx, logoutToken(srv, withJTI(fmt.Sprint("other-", i)))))
	}
	srv.Advance(5 * time.Minute)
	require.ErrorIs(t, h.Handle(ctx, tok), backchannel.ErrInvalidLogoutToken)
	assert.Len(t, l.calls, 10)
}

// TestRemovedKeyRefused (issue 9 item 5): a logout token signed with a key
// Logto dropped is refused once the key set passes its maximum age.
func TestRemovedKeyRefused(t *testing.T) {
	ctx := context.Background()
	srv := logtotest.NewServer(t)
	l := &logouts{}
	h := handler(t, srv, l, func(c *backchannel.Config) {
		c.JWKSMaxAge = 2 * time.Minute
		c.MaxAge = time.Hour // the old token stays young enough for the test
	})
	require.NoError(t, h.Handle(ctx, logoutToken(srv, nil)))
	old := logoutToken(srv, func(h, c map[string]any) { c["exp"] = c["iat"].(int64) + 7200 })
	srv.RotateKey()
	srv.RemoveOldKeys()
	srv.Advance(2 * time.Minute)
	_, err := h.Verify(ctx, old)
	require.ErrorIs(t, err, backchannel.ErrInvalidLogoutToken, "the removed key is refused")
	_, err = h.Verify(ctx, logoutToken(srv, nil))
	require.NoError(t, err)
}

func TestNewHandlerValidatesDurations(t *testing.T) {
	srv := logtotest.NewServer(t)
	for _, edit := range []func(*backchannel.Config){
		func(c *backchannel.Config) { c.JWKSMaxAge = -time.Second },
		func(c *backchannel.Config) { c.JWKSMaxAge = 25 * time.Hour },
		func(c *backchannel.Config) { c.ReplayCacheSize = -1 },
		func(c *backchannel.Config) { c.Leeway = -time.Second },
	} {
		cfg := backchannel.Config{Endpoint: srv.URL(), AppId: "a", OnLogout: func(context.Context, string, string) error { return nil }}
		edit(&cfg)
		_, err := backchannel.NewHandler(cfg)
		assert.Error(t, err)
	}
}
