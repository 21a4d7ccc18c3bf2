package logto_test

import (
	"context"
	"errors"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto"
)

// TestCallbackErrorFromUnmatchedState checks that an error response whose
// state matches no pending sign-in is reported as ErrSignInSessionNotFound
// alone: its error and error_description may be an attacker's text (a
// forged issuer, a crafted link), so they are neither returned nor typed
// as Logto's *OAuthError.
func TestCallbackErrorFromUnmatchedState(t *testing.T) {
	const attackerText = "Your account is locked: call +1-555-0100"
	for _, tc := range []struct {
		name  string
		state string // "" means no state parameter
		iss   string
	}{
		{"no state, foreign iss", "", "https://evil.example/oidc"},
		{"forged state, foreign iss", "forged-state", "https://evil.example/oidc"},
		{"forged state, Logto's iss", "forged-state", ""},
		{"no state, no iss", "", "-"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newConformanceFixture(t, nil)
			genuine := f.callbackFor(t, aliceID) // a pending sign-in exists
			before := f.snapshot()
			f.srv.ResetRequests()

			q := url.Values{"error": {"access_denied"}, "error_description": {attackerText}}
			if tc.state != "" {
				q.Set("state", tc.state)
			}
			switch tc.iss {
			case "":
				q.Set("iss", f.client.Issuer())
			case "-":
			default:
				q.Set("iss", tc.iss)
			}
			err := f.client.HandleCallback(context.Background(), redirectURI+"?"+q.Encode())

			require.ErrorIs(t, err, logto.ErrSignInSessionNotFound)
			var oe *logto.OAuthError
			assert.False(t, errors.As(err, &oe), "an unmatched callback's error must not be typed as Logto's: %v", err)
			assert.NotContains(t, err.Error(), attackerText)
			assert.NotContains(t, err.Error(), "access_denied")
			assertRequests(t, f.srv, reqs{})
			assert.Equal(t, before, f.snapshot(), "storage is left as it was")
			require.NoError(t, f.client.HandleCallback(context.Background(), genuine), "the genuine sign-in still completes")
		})
	}
}
