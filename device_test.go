package logto_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto"
	"github.com/gologto/logto/logtotest"
)

// deviceAppID is the fixture's Native app with device flow enabled.
const deviceAppID = "device-app"

// deviceClock drives the device flow's waits on the provider's clock: each
// wait advances it by the duration asked, records it, and then lets the
// test act before the token request that follows (approve, deny, ...).
type deviceClock struct {
	srv    *logtotest.Server
	waits  []time.Duration
	before func(poll int) // poll counts from 1
}

func (d *deviceClock) sleep(ctx context.Context, dur time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	d.srv.Advance(dur)
	d.waits = append(d.waits, dur)
	if d.before != nil {
		d.before(len(d.waits))
	}
	return ctx.Err() // as a timer cancelled during the wait
}

// deviceFixture is a provider with a device-flow app and a client of it
// whose clock and timer are the provider's clock.
type deviceFixture struct {
	srv    *logtotest.Server
	client *logto.LogtoClient
	store  *logto.MemoryStorage
	clock  *deviceClock
}

func newDeviceFixture(t *testing.T, provOpts []logtotest.Option, opts ...logto.Option) *deviceFixture {
	t.Helper()
	srv := newProvider(t, provOpts...)
	srv.AddApp(logtotest.App{ID: deviceAppID, Type: logtotest.AppNative, DeviceFlow: true})
	clock := &deviceClock{srv: srv}
	store := logto.NewMemoryStorage()
	opts = append([]logto.Option{logto.WithClock(srv.Now), logto.WithSleep(clock.sleep)}, opts...)
	c, err := logto.NewLogtoClient(logto.LogtoConfig{
		Endpoint: srv.URL(), AppId: deviceAppID,
		Scopes: allScopes(), Resources: []string{apiResource},
	}, store, opts...)
	require.NoError(t, err)
	return &deviceFixture{srv: srv, client: c, store: store, clock: clock}
}

// signInAs completes a device sign-in of user approved at once.
func (f *deviceFixture) signInAs(t *testing.T, user string) {
	t.Helper()
	ctx := context.Background()
	da, err := f.client.StartDeviceSignIn(ctx)
	require.NoError(t, err)
	require.NoError(t, f.srv.ApproveDevice(da.UserCode, user))
	require.NoError(t, f.client.WaitDeviceSignIn(ctx, da))
}

func TestDeviceSignInApprovedTokensWork(t *testing.T) {
	f := newDeviceFixture(t, nil)
	ctx := context.Background()
	da, err := f.client.StartDeviceSignIn(ctx)
	require.NoError(t, err)

	// What the client sent: a public client's request with every scope
	// and resource of the configuration.
	reqs := f.srv.Requests(logtotest.EndpointDeviceAuth)
	require.Len(t, reqs, 1)
	assert.Empty(t, reqs[0].Header.Get("Authorization"))
	assert.Equal(t, deviceAppID, reqs[0].Form.Get("client_id"))
	assert.Equal(t, f.client.Config().Scopes, strings.Fields(reqs[0].Form.Get("scope")))
	assert.Equal(t, f.client.Config().Resources, reqs[0].Form["resource"])

	assert.Regexp(t, `^[B-DF-HJ-NP-TV-XZ]{4}-[B-DF-HJ-NP-TV-XZ]{4}$`, da.UserCode)
	assert.Equal(t, f.srv.URL()+"/device", da.VerificationURI, "Logto's /device shorthand")
	assert.Equal(t, f.srv.URL()+"/device?user_code="+da.UserCode, da.VerificationURIComplete)
	assert.Equal(t, f.srv.Now().Add(logtotest.DefaultDeviceCodeTTL), da.ExpiresAt)
	assert.Equal(t, logto.DefaultDeviceInterval, da.Interval, "Logto announces no interval")
	assert.False(t, f.client.IsAuthenticated(ctx), "nothing is stored before approval")

	f.clock.before = func(poll int) {
		if poll == 3 {
			require.NoError(t, f.srv.ApproveDevice(strings.ToLower(da.UserCode), "alice"))
		}
	}
	f.srv.ResetRequests()
	deviceCode := da.DeviceCode
	require.NoError(t, f.client.WaitDeviceSignIn(ctx, da))
	assert.Empty(t, da.DeviceCode, "the spent code is cleared")
	assert.Equal(t, []time.Duration{5 * time.Second, 5 * time.Second, 5 * time.Second}, f.clock.waits)
	polls := f.srv.Requests(logtotest.EndpointToken)
	require.Len(t, polls, 3, "pending, pending, tokens")
	for _, p := range polls {
		assert.Equal(t, logtotest.DeviceCodeGrantType, p.Form.Get("grant_type"))
		assert.Equal(t, deviceCode, p.Form.Get("device_code"))
		assert.Equal(t, deviceAppID, p.Form.Get("client_id"))
	}

	// The session works as after HandleCallback.
	require.True(t, f.client.IsAuthenticated(ctx))
	claims, err := f.client.GetIdTokenClaims(ctx)
	require.NoError(t, err)
	assert.Equal(t, aliceID, claims.Subject)
	assert.Empty(t, claims.Nonce)
	f.srv.ResetRequests()
	opaque, err := f.client.GetAccessToken(ctx, "")
	require.NoError(t, err)
	assert.NotEmpty(t, opaque)
	assert.Zero(t, f.srv.RequestCount(logtotest.EndpointToken), "the default token was stored by the sign-in")
	info, err := f.client.FetchUserInfo(ctx)
	require.NoError(t, err)
	assert.Equal(t, aliceID, info.Subject)

	rt1, err := f.client.GetRefreshToken(ctx)
	require.NoError(t, err)
	apiTok, err := f.client.GetAccessTokenClaims(ctx, apiResource)
	require.NoError(t, err)
	assert.Equal(t, []string{apiResource}, []string(apiTok.Audience))
	assert.Equal(t, 1, f.srv.RequestCount(logtotest.EndpointToken), "one refresh for the API token")
	rt2, err := f.client.GetRefreshToken(ctx)
	require.NoError(t, err)
	assert.NotEqual(t, rt1, rt2, "a public client's refresh token rotates")
	assert.True(t, f.srv.RefreshTokenActive(rt2))

	orgTok, err := f.client.GetOrganizationToken(ctx, memberOrg)
	require.NoError(t, err)
	assert.NotEmpty(t, orgTok)

	_, err = f.client.SignOut(ctx, "")
	require.NoError(t, err)
	assert.False(t, f.client.IsAuthenticated(ctx))
	assert.False(t, f.srv.RefreshTokenActive(rt2), "sign-out revoked the refresh token")
}

func TestDeviceSignInPollingLoop(t *testing.T) {
	s := time.Second
	tests := []struct {
		name     string
		provOpts []logtotest.Option
		// act runs before the token request number poll, with the code.
		act       func(t *testing.T, srv *logtotest.Server, userCode string, poll int, cancel func())
		wantErr   []error
		wantCode  string // the *OAuthError code in the chain, if any
		wantWaits []time.Duration
		wantPolls int
		wantLeft  []time.Duration // OnPoll values; nil: not checked
	}{
		{
			name: "slow down twice raises the interval by 5 s each time",
			act: func(t *testing.T, srv *logtotest.Server, code string, poll int, _ func()) {
				switch poll {
				case 1:
					require.NoError(t, srv.SlowDownDevice(code, 2))
				case 4:
					require.NoError(t, srv.ApproveDevice(code, aliceID))
				}
			},
			wantWaits: []time.Duration{5 * s, 10 * s, 15 * s, 15 * s},
			wantPolls: 4,
			wantLeft:  []time.Duration{600 * s, 595 * s, 585 * s, 570 * s},
		},
		{
			name: "denied",
			act: func(t *testing.T, srv *logtotest.Server, code string, poll int, _ func()) {
				if poll == 2 {
					require.NoError(t, srv.DenyDevice(code))
				}
			},
			wantErr:   []error{logto.ErrDeviceAccessDenied},
			wantCode:  "access_denied",
			wantWaits: []time.Duration{5 * s, 5 * s},
			wantPolls: 2,
		},
		{
			name: "expired_token from Logto",
			act: func(t *testing.T, srv *logtotest.Server, code string, poll int, _ func()) {
				if poll == 3 {
					require.NoError(t, srv.ExpireDevice(code))
				}
			},
			wantErr:   []error{logto.ErrDeviceCodeExpired},
			wantCode:  "expired_token",
			wantWaits: []time.Duration{5 * s, 5 * s, 5 * s},
			wantPolls: 3,
		},
		{
			// Polls at 5, 10, ..., 55 s; at 60 s the code has expired by
			// the client's clock and no request is sent.
			name:      "expiry by the client's clock: one request per interval, none after",
			provOpts:  []logtotest.Option{logtotest.WithDeviceCodeTTL(time.Minute)},
			wantErr:   []error{logto.ErrDeviceCodeExpired},
			wantWaits: repeat(5*s, 12),
			wantPolls: 11,
			wantLeft:  []time.Duration{60 * s, 55 * s, 50 * s, 45 * s, 40 * s, 35 * s, 30 * s, 25 * s, 20 * s, 15 * s, 10 * s, 5 * s},
		},
		{
			// An announced interval is honoured; the last wait is cut to
			// the expiry.
			name:      "announced interval of 7 s",
			provOpts:  []logtotest.Option{logtotest.WithDeviceCodeTTL(time.Minute), logtotest.WithDevicePollInterval(7 * s)},
			wantErr:   []error{logto.ErrDeviceCodeExpired},
			wantWaits: append(repeat(7*s, 8), 4*s),
			wantPolls: 8,
		},
		{
			name: "context cancelled while pending",
			act: func(t *testing.T, srv *logtotest.Server, code string, poll int, cancel func()) {
				if poll == 2 {
					cancel() // during the wait before the second request
				}
			},
			wantErr:   []error{context.Canceled},
			wantWaits: []time.Duration{5 * s, 5 * s},
			wantPolls: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newDeviceFixture(t, tt.provOpts)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			// A previous session, which a failed sign-in must leave alone.
			f.signInAs(t, "bob")
			before := snapshotOf(f.store)
			f.clock.waits = nil

			da, err := f.client.StartDeviceSignIn(ctx)
			require.NoError(t, err)
			if tt.act != nil {
				f.clock.before = func(poll int) { tt.act(t, f.srv, da.UserCode, poll, cancel) }
			}
			var left []time.Duration
			f.srv.ResetRequests()
			err = f.client.WaitDeviceSignInWith(ctx, da, logto.DeviceWaitOptions{
				OnPoll: func(l time.Duration) { left = append(left, l) },
			})
			assert.Equal(t, tt.wantWaits, f.clock.waits, "waits")
			assert.Equal(t, tt.wantPolls, f.srv.RequestCount(logtotest.EndpointToken), "token requests")
			if tt.wantLeft != nil {
				assert.Equal(t, tt.wantLeft, left, "time left passed to OnPoll")
			}
			var oe *logto.OAuthError
			if tt.wantCode != "" {
				require.ErrorAs(t, err, &oe)
				assert.Equal(t, tt.wantCode, oe.Code)
			} else if err != nil {
				assert.False(t, errors.As(err, &oe), "no OAuth error in %v", err)
			}
			if tt.wantErr == nil {
				require.NoError(t, err)
				claims, err := f.client.GetIdTokenClaims(ctx)
				require.NoError(t, err)
				assert.Equal(t, aliceID, claims.Subject)
				return
			}
			for _, want := range tt.wantErr {
				assert.ErrorIs(t, err, want)
			}
			assert.Equal(t, before, snapshotOf(f.store), "storage left as it was")
		})
	}
}

func repeat(d time.Duration, n int) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = d
	}
	return out
}
