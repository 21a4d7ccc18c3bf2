package interop

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto"
)

// deviceAppID is the provider's device-flow app (a Native app with
// isDeviceFlow, interop/README.md).
const deviceAppID = "device-app"

var deviceFormActionRE = regexp.MustCompile(`<form[^>]*action="([^"]+)"`)

// deviceConfig is the public device-app with every scope and the API.
func deviceConfig(t *testing.T) logto.LogtoConfig {
	t.Helper()
	cfg := spaConfig(t)
	cfg.AppId = deviceAppID
	return cfg
}

// deviceWaits makes the SDK's device-flow waits instant: each one moves the
// SDK's clock (not the provider's) forward by the interval asked, and is
// recorded. The provider does not rate-limit polls, so only the SDK's view
// of the code's lifetime moves; then before runs, ahead of the token
// request that follows (poll counts from 1).
type deviceWaits struct {
	clock  *testClock
	waits  []time.Duration
	before func(poll int)
}

func (d *deviceWaits) sleep(ctx context.Context, dur time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	d.clock.advance(dur)
	d.waits = append(d.waits, dur)
	if d.before != nil {
		d.before(len(d.waits))
	}
	return ctx.Err()
}

// formFields reads the action of the first form of page and its hidden
// fields.
func formFields(t *testing.T, page string) (string, url.Values) {
	t.Helper()
	m := deviceFormActionRE.FindStringSubmatch(page)
	require.NotNilf(t, m, "no form in the page:\n%s", page)
	fields := url.Values{}
	for _, input := range hiddenRE.FindAllString(page, -1) {
		n := nameRE.FindStringSubmatch(input)
		v := valueRE.FindStringSubmatch(input)
		if n != nil && v != nil {
			fields.Add(html.UnescapeString(n[1]), html.UnescapeString(v[1]))
		}
	}
	return html.UnescapeString(m[1]), fields
}

// page fetches a page in the browser (following redirects) and returns its
// final URL and body; it must answer 200.
func (b *browser) page(t *testing.T, req *http.Request) (string, string) {
	t.Helper()
	resp, err := b.client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equalf(t, http.StatusOK, resp.StatusCode, "%s %s: %s", req.Method, resp.Request.URL, body)
	return resp.Request.URL.String(), string(body)
}

func (b *browser) post(t *testing.T, action string, fields url.Values) (string, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, action, strings.NewReader(fields.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.page(t, req)
}

// deviceUserStep does what the user does on the provider's device pages:
// open verification_uri_complete (a form that posts the code with the
// page's xsrf), then on the confirmation page continue, which signs the
// user in through the headless interaction and grants consent, or cancel.
// It returns the last page.
func (b *browser) deviceUserStep(t *testing.T, completeURI string, approve bool) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, completeURI, nil)
	require.NoError(t, err)
	_, page := b.page(t, req)
	action, fields := formFields(t, page)
	require.NotEmpty(t, fields.Get("xsrf"), "the code form carries an xsrf token")
	require.NotEmpty(t, fields.Get("user_code"))

	_, page = b.post(t, action, fields)
	require.Contains(t, page, "op.deviceConfirmForm", "the confirmation page")
	action, fields = formFields(t, page)
	require.Equal(t, "yes", fields.Get("confirm"))
	if !approve {
		fields.Del("confirm")
		fields.Set("abort", "yes")
	}
	_, page = b.post(t, action, fields)
	return page
}

func TestDeviceFlow(t *testing.T) {
	ctx := context.Background()
	clock := &testClock{}
	waits := &deviceWaits{clock: clock}
	counter := newCountingTransport()
	store := logto.NewMemoryStorage()
	c := newClient(t, deviceConfig(t), store,
		logto.WithClock(clock.now), logto.WithSleep(waits.sleep), logto.WithHTTPClient(counter.client()))

	var da *logto.DeviceAuthorization
	var deviceCode string
	step(t, "device authorization", func(t *testing.T) {
		var err error
		start := time.Now()
		da, err = c.StartDeviceSignIn(ctx)
		require.NoError(t, err)
		assert.Regexp(t, `^[B-DF-HJ-NP-TV-XZ]{4}-[B-DF-HJ-NP-TV-XZ]{4}$`, da.UserCode, "oidc-provider's default user codes")
		assert.Equal(t, issuer(t)+"/device", da.VerificationURI)
		assert.Equal(t, issuer(t)+"/device?user_code="+da.UserCode, da.VerificationURIComplete)
		assert.Equal(t, logto.DefaultDeviceInterval, da.Interval, "oidc-provider announces no interval")
		assert.WithinDuration(t, start.Add(10*time.Minute), da.ExpiresAt, 2*time.Second)
	})

	step(t, "approved after one pending poll", func(t *testing.T) {
		waits.before = func(poll int) {
			if poll == 2 {
				page := newBrowser(t).deviceUserStep(t, da.VerificationURIComplete, true)
				assert.Contains(t, page, "Sign-in Success")
			}
		}
		deviceCode = da.DeviceCode
		require.NoError(t, c.WaitDeviceSignIn(ctx, da))
		assert.Equal(t, []time.Duration{5 * time.Second, 5 * time.Second}, waits.waits)
		assert.Equal(t, 2, counter.tokenRequests(), "authorization_pending, then the tokens")
		claims, err := c.GetIdTokenClaims(ctx)
		require.NoError(t, err)
		assert.Equal(t, aliceID, claims.Subject)
		assert.Empty(t, claims.Nonce)
		info, err := c.FetchUserInfo(ctx)
		require.NoError(t, err)
		assert.Equal(t, aliceID, info.Subject)
	})

	step(t, "API token refreshed with rotation", func(t *testing.T) {
		rt1, err := c.GetRefreshToken(ctx)
		require.NoError(t, err, "offline_access was granted")
		at, err := c.GetAccessToken(ctx, apiResource)
		require.NoError(t, err)
		claims := verifyAccessToken(t, at)
		assert.Equal(t, apiResource, claims["aud"])
		assert.Equal(t, deviceAppID, claims["client_id"])
		rt2, err := c.GetRefreshToken(ctx)
		require.NoError(t, err)
		assert.NotEqual(t, rt1, rt2, "the refresh token rotated")
		org, err := c.GetOrganizationTokenClaims(ctx, "org-1")
		require.NoError(t, err)
		assert.Equal(t, "urn:logto:organization:org-1", org.Audience[0])
	})

	step(t, "a second use of the device code revokes the tokens", func(t *testing.T) {
		// Why WaitDeviceSignIn clears the spent code: it refuses to wait on da again.
		assert.Empty(t, da.DeviceCode)
		require.ErrorIs(t, c.WaitDeviceSignIn(ctx, da), logto.ErrInvalidConfig)
		rt, err := c.GetRefreshToken(ctx)
		require.NoError(t, err)
		res := postToken(t, deviceAppID, "", url.Values{
			"grant_type":  {"urn:ietf:params:oauth:grant-type:device_code"},
			"device_code": {deviceCode},
		})
		assert.Equal(t, http.StatusBadRequest, res.status)
		assert.Equal(t, "invalid_grant", res.str("error"))
		res = postToken(t, deviceAppID, "", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
		assert.Equal(t, "invalid_grant", res.str("error"), "oidc-provider revoked the grant")
		_, err = c.SignOut(ctx, "")
		require.NoError(t, err)
		assert.False(t, c.IsAuthenticated(ctx))
	})
}

func TestDeviceFlowDenied(t *testing.T) {
	ctx := context.Background()
	clock := &testClock{}
	waits := &deviceWaits{clock: clock}
	store := logto.NewMemoryStorage()
	c := newClient(t, deviceConfig(t), store, logto.WithClock(clock.now), logto.WithSleep(waits.sleep))
	da, err := c.StartDeviceSignIn(ctx)
	require.NoError(t, err)
	waits.before = func(poll int) {
		if poll == 1 {
			page := newBrowser(t).deviceUserStep(t, da.VerificationURIComplete, false)
			assert.Contains(t, page, "interrupted")
		}
	}
	err = c.WaitDeviceSignIn(ctx, da)
	require.ErrorIs(t, err, logto.ErrDeviceAccessDenied)
	oe := oauthError(t, err)
	assert.Equal(t, "access_denied", oe.Code)
	assert.Equal(t, "End-User aborted interaction", oe.Description)
	assert.Len(t, waits.waits, 1)
	assert.False(t, c.IsAuthenticated(ctx))
	for _, k := range []string{logto.StorageKeyIDToken, logto.StorageKeyRefreshToken, logto.StorageKeyAccessTokens} {
		v, err := store.Get(ctx, k)
		require.NoError(t, err)
		assert.Empty(t, v, k)
	}
}

func TestDeviceFlowRefusedForOtherApps(t *testing.T) {
	ctx := context.Background()
	// web-app has no device_code grant: oidc-provider answers
	// invalid_request (the SDK authenticated with client_secret_basic, as
	// at the token endpoint).
	_, err := newClient(t, webConfig(t), nil).StartDeviceSignIn(ctx)
	oe := oauthError(t, err)
	assert.Equal(t, "invalid_request", oe.Code)
	assert.Equal(t, "urn:ietf:params:oauth:grant-type:device_code is not allowed for this client", oe.Description)
	assert.Equal(t, http.StatusBadRequest, oe.StatusCode)
	assert.Equal(t, "device_authorization", oe.Endpoint)

	// A device code that was never issued.
	c := newClient(t, deviceConfig(t), nil, logto.WithSleep(func(ctx context.Context, d time.Duration) error { return nil }))
	err = c.WaitDeviceSignIn(ctx, &logto.DeviceAuthorization{DeviceCode: "not-issued", ExpiresAt: time.Now().Add(time.Minute)})
	oe = oauthError(t, err)
	assert.Equal(t, "invalid_grant", oe.Code)
}
