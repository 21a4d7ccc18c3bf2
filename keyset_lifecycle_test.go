package logto_test

import (
	"context"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto"
	"github.com/gologto/logto/logtotest"
)

// TestKeyRotationRightAfterStart (issue 9 item 4): Logto rotates its
// signing key right after the client first fetched the key set. The next
// sign-in refetches the keys at once instead of failing for a minute.
func TestKeyRotationRightAfterStart(t *testing.T) {
	f := newConformanceFixture(t, nil)
	f.signIn(t, aliceID)
	f.srv.RotateKey()
	f.srv.ResetRequests()
	require.NoError(t, f.client.HandleCallback(context.Background(), f.callbackFor(t, aliceID)),
		"an ID token signed with a key published after the first fetch verifies")
	assertRequests(t, f.srv, signInReqs.plus(reqs{logtotest.EndpointJWKS: 1}))
}

// TestRemovedKeyRefusedByTheClient (issue 9 item 5): once Logto drops a
// signing key, ID tokens it signed are refused as soon as the held key
// set passes its maximum age (default or WithJWKSMaxAge), and accepted
// without a key request before.
func TestRemovedKeyRefusedByTheClient(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name string
		opts []logto.Option
		held time.Duration
	}{
		{"default maximum age", nil, logto.DefaultJWKSMaxAge},
		{"WithJWKSMaxAge", []logto.Option{logto.WithJWKSMaxAge(2 * time.Minute)}, 2 * time.Minute},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newConformanceFixture(t, nil, tt.opts...)
			key := attackerKey(t) // here: a key Logto publishes, then drops
			jwk := publicJWK(t, key, "dropped", string(jose.ES384))
			f.srv.MutateJWKS(func(doc map[string]any) { doc["keys"] = append(doc["keys"].([]any), jwk) })
			replaceIDToken(t, f.srv, func(h, c map[string]any) string {
				return signJWT(t, jose.ES384, key, map[string]any{"kid": "dropped"}, c)
			})
			f.signIn(t, aliceID)

			f.srv.MutateJWKS(nil) // Logto drops the key
			f.srv.Advance(tt.held - time.Second)
			f.srv.ResetRequests()
			f.signIn(t, aliceID)
			assertRequests(t, f.srv, signInReqs) // held keys, no key request

			f.srv.Advance(time.Second)
			cb := f.callbackFor(t, aliceID)
			f.srv.ResetRequests()
			err := f.client.HandleCallback(ctx, cb)
			require.ErrorIs(t, err, logto.ErrInvalidIDToken, "the dropped key is refused")
			assertRequests(t, f.srv, reqs{logtotest.EndpointToken: 1, logtotest.EndpointJWKS: 1})

			f.srv.MutateTokenResponses(nil)
			f.signIn(t, aliceID) // Logto's own key still verifies
		})
	}
}

func TestWithJWKSMaxAgeRange(t *testing.T) {
	for _, d := range []time.Duration{0, -time.Second, 24*time.Hour + time.Second} {
		_, err := logto.NewLogtoClient(logto.LogtoConfig{Endpoint: "https://t.logto.app", AppId: "a"}, nil, logto.WithJWKSMaxAge(d))
		assert.ErrorIs(t, err, logto.ErrInvalidConfig, "%s", d)
	}
	_, err := logto.NewLogtoClient(logto.LogtoConfig{Endpoint: "https://t.logto.app", AppId: "a"}, nil, logto.WithJWKSMaxAge(24*time.Hour))
	assert.NoError(t, err)
}
