package reallogto

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto"
	"github.com/gologto/logto/logtotest"
)

// deviceTarget is a target that also serves the device flow (RFC 8628):
// a Native app with device flow enabled, and the user-code step a person
// completes in a browser.
type deviceTarget interface {
	target
	// newDeviceApp registers a Native app with device flow enabled.
	newDeviceApp(t *testing.T) app
	// deviceUserStep opens verification_uri_complete in b and completes
	// the user-code step as u: confirm the code, sign in, consent (approve)
	// or cancel at the confirmation (!approve).
	deviceUserStep(t *testing.T, b *browser, da *logto.DeviceAuthorization, u user, approve bool)
}

// newDeviceApp creates a Native app with device flow on
// (customClientMetadata.isDeviceFlow). Logto accepts the switch only at
// creation (a PATCH that changes it is refused with 422
// application.device_flow_not_changeable) and only for Native apps; it
// then gives the app the device_code and refresh_token grants, and no
// redirect URI is needed.
func (r *realTarget) newDeviceApp(t *testing.T) app {
	t.Helper()
	var created map[string]any
	r.m.call(t, http.MethodPost, "/applications", map[string]any{
		"name": unique("go-sdk-device"), "type": "Native",
		"oidcClientMetadata":   map[string]any{"redirectUris": []string{}, "postLogoutRedirectUris": []string{}},
		"customClientMetadata": map[string]any{"isDeviceFlow": true},
	}, &created)
	id := idOf(t, created)
	r.m.cleanup(t, "/applications/"+id)
	meta, _ := created["customClientMetadata"].(map[string]any)
	require.Equal(t, true, meta["isDeviceFlow"], "POST /applications answered %v", created)
	return app{ID: id}
}

// deviceUserStep makes the requests of Logto's device page (the
// Experience SPA, not built here) and of the browser around it:
//
//  1. GET verification_uri, Logto's /device: a first visit (no xsrf
//     cookie yet) is sent to oidc-provider's /oidc/device, which opens a
//     session, hands the page its xsrf secret in the _logto_device_flow_xsrf
//     cookie (path /device) and sends the browser back to /device.
//  2. The page POSTs /oidc/device with xsrf and the typed user_code:
//     oidc-provider redirects to /device?user_code=… to confirm.
//  3. The page POSTs /oidc/device again with confirm=yes (or abort=yes).
//     Confirmed, oidc-provider starts an interaction: the sign-in
//     experience (/sign-in, done here through the Experience API), then
//     /oidc/device/<uid>, /consent (automatic for first-party apps),
//     /oidc/device/<uid> again and finally /device/success.
func (r *realTarget) deviceUserStep(t *testing.T, b *browser, da *logto.DeviceAuthorization, u user, approve bool) {
	t.Helper()
	p := b.get(da.VerificationURI)
	require.Equal(t, http.StatusFound, p.status, "%s", p)
	require.Equal(t, r.f.Endpoint+"/oidc/device", p.location)
	p = b.get(p.location)
	require.Equal(t, http.StatusFound, p.status, "%s", p)
	require.Equal(t, r.f.Endpoint+"/device", p.location, "back to the page, now with the xsrf cookie")
	xsrf := r.deviceXSRF(t, b)

	post := r.f.Endpoint + "/oidc/device"
	p = b.postForm(post, url.Values{"xsrf": {xsrf}, "user_code": {strings.ToLower(da.UserCode)}})
	require.Equal(t, http.StatusFound, p.status, "%s", p)
	require.Equal(t, r.f.Endpoint+"/device?user_code="+da.UserCode, p.location, "the confirmation page, the code normalised")

	form := url.Values{"xsrf": {xsrf}, "user_code": {da.UserCode}}
	if !approve {
		form.Set("abort", "yes")
		p = b.postForm(post, form)
		require.Equal(t, http.StatusFound, p.status, "%s", p)
		assert.Equal(t, r.f.Endpoint+"/device?error=AbortedError", p.location, "the page shows the cancellation")
		return
	}
	form.Set("confirm", "yes")
	p = b.postForm(post, form)
	require.Equal(t, http.StatusSeeOther, p.status, "%s", p)
	loc := p.location
	var visited []string
	for hops := 0; hops < 8; hops++ {
		lu, err := url.Parse(loc)
		require.NoError(t, err)
		visited = append(visited, lu.Path)
		switch {
		case lu.Path == "/device/success":
			assert.Equal(t, "/sign-in", visited[0])
			assert.Contains(t, visited, "/consent")
			return
		case strings.HasPrefix(lu.Path, "/oidc/device/"), lu.Path == "/consent":
			p = b.get(loc)
			require.Contains(t, []int{http.StatusFound, http.StatusSeeOther}, p.status, "%s", p)
			loc = p.location
		case lu.Path == "/sign-in":
			loc = r.experienceSignIn(t, b, u)
		default:
			t.Fatalf("unexpected page %s after %v", loc, visited)
		}
	}
	t.Fatalf("the device sign-in did not reach /device/success (visited %v)", visited)
}

// deviceXSRF reads the xsrf secret Logto gave the device page.
func (r *realTarget) deviceXSRF(t *testing.T, b *browser) string {
	t.Helper()
	u, err := url.Parse(r.f.Endpoint + "/device")
	require.NoError(t, err)
	for _, c := range b.jar.Cookies(u) {
		if c.Name == "_logto_device_flow_xsrf" {
			require.NotEmpty(t, c.Value)
			return c.Value
		}
	}
	t.Fatalf("no _logto_device_flow_xsrf cookie for %s", u)
	return ""
}

func (f *fakeTarget) newDeviceApp(t *testing.T) app {
	t.Helper()
	a := app{ID: f.next("device")}
	f.srv.AddApp(logtotest.App{ID: a.ID, Type: logtotest.AppNative, DeviceFlow: true})
	return a
}

// deviceUserStep fills logtotest's device page (code, username, approve
// or deny).
func (f *fakeTarget) deviceUserStep(t *testing.T, b *browser, da *logto.DeviceAuthorization, u user, approve bool) {
	t.Helper()
	p := b.get(da.VerificationURIComplete)
	require.Equal(t, http.StatusOK, p.status, "%s", p)
	action, form := parseForm(t, p)
	assert.Equal(t, da.UserCode, form.Get("user_code"), "the page is prefilled")
	form.Set("username", u.Username)
	form.Set("action", map[bool]string{true: "approve", false: "deny"}[approve])
	p = b.postForm(action, form)
	require.Equal(t, http.StatusOK, p.status, "%s", p)
}

// rawDeviceToken sends a device_code token request for the public app a.
func rawDeviceToken(t *testing.T, tg target, a app, deviceCode string) (int, map[string]any) {
	t.Helper()
	resp, err := (&http.Client{Timeout: 10 * time.Second}).PostForm(tg.issuer()+"/token", url.Values{
		"client_id": {a.ID}, "grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "device_code": {deviceCode},
	})
	require.NoError(t, err)
	defer resp.Body.Close()
	var body map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	return resp.StatusCode, body
}

// deviceClient is a client of the device-flow app a whose waits between
// polls are instant (recorded in waits; Logto does not rate-limit polls)
// and call before ahead of the token request that follows (poll counts
// from 1).
func deviceClient(t *testing.T, tg target, a app, rec *recorder, waits *[]time.Duration, before func(poll int)) *logto.LogtoClient {
	t.Helper()
	return clientFor(t, tg, a, []string{logto.ScopeEmail, logto.ScopeOrganizations, readData, writeData, orgScope},
		[]string{tg.api()}, rec,
		logto.WithSleep(func(ctx context.Context, d time.Duration) error {
			*waits = append(*waits, d)
			before(len(*waits))
			return ctx.Err()
		}))
}

// TestDeviceFlow signs a user in with the device authorization grant
// (RFC 8628): a device-flow app created through the Management API, the
// user code approved in a browser without Logto's pages (the requests
// they make), tokens received after one authorization_pending answer, an
// API token refreshed with rotation, an organization token, user info and
// sign-out.
func TestDeviceFlow(t *testing.T) {
	forTargets(t, func(t *testing.T, tg target) {
		dt := tg.(deviceTarget)
		ctx := context.Background()
		u := tg.newUser(t, userSpec{Email: true, APIScopes: []string{readData, writeData}, Organizations: []string{tg.org()}})
		a := dt.newDeviceApp(t)
		rec := newRecorder()
		var waits []time.Duration
		var da *logto.DeviceAuthorization
		c := deviceClient(t, tg, a, rec, &waits, func(poll int) {
			if poll == 2 {
				dt.deviceUserStep(t, newBrowser(t), da, u, true)
			}
		})

		start := time.Now()
		da, err := c.StartDeviceSignIn(ctx)
		require.NoError(t, err)
		deviceCode := da.DeviceCode
		assert.Equal(t, 1, rec.count("/oidc/device/auth"))
		assert.Regexp(t, `^[B-DF-HJ-NP-TV-XZ]{4}-[B-DF-HJ-NP-TV-XZ]{4}$`, da.UserCode)
		assert.Equal(t, tg.endpoint()+"/device", da.VerificationURI, "Logto's shorthand of /oidc/device")
		assert.Equal(t, tg.endpoint()+"/device?user_code="+da.UserCode, da.VerificationURIComplete)
		assert.Equal(t, logto.DefaultDeviceInterval, da.Interval, "Logto announces no interval")
		assert.WithinDuration(t, start.Add(10*time.Minute), da.ExpiresAt, 5*time.Second, "Logto's 600 s device codes")

		require.NoError(t, c.WaitDeviceSignIn(ctx, da))
		assert.Equal(t, []time.Duration{5 * time.Second, 5 * time.Second}, waits)
		polls := rec.tokenRequests()
		require.Len(t, polls, 2)
		for i, want := range []int{http.StatusBadRequest, http.StatusOK} {
			assert.Equal(t, "urn:ietf:params:oauth:grant-type:device_code", polls[i].grantType)
			assert.Equal(t, want, polls[i].status, "poll %d: authorization_pending, then the tokens", i+1)
		}
		require.NotEmpty(t, polls[1].rotatedTo, "a refresh token was issued (offline_access)")

		claims, err := c.GetIdTokenClaims(ctx)
		require.NoError(t, err)
		assert.Equal(t, u.ID, claims.Subject)
		assert.Equal(t, u.Email, claims.Email.Get())
		assert.Equal(t, []string{a.ID}, []string(claims.Audience))
		assert.Empty(t, claims.Nonce)
		info, err := c.FetchUserInfo(ctx)
		require.NoError(t, err)
		assert.Equal(t, u.ID, info.Subject)

		rt1, err := c.GetRefreshToken(ctx)
		require.NoError(t, err)
		api, err := c.GetAccessTokenClaims(ctx, tg.api())
		require.NoError(t, err)
		assert.Equal(t, []string{tg.api()}, []string(api.Audience))
		assert.ElementsMatch(t, []string{readData, writeData}, strings.Fields(api.Scope))
		rt2, err := c.GetRefreshToken(ctx)
		require.NoError(t, err)
		assert.NotEqual(t, rt1, rt2, "the public client's refresh token rotated")
		org, err := c.GetOrganizationTokenClaims(ctx, tg.org())
		require.NoError(t, err)
		assert.Equal(t, []string{organizationURN + tg.org()}, []string(org.Audience))
		assert.Equal(t, 2, rec.refreshes())
		assert.Equal(t, 2, rec.rotations())
		rec.requireNoRefreshTokenReuse(t)

		// The spent code is cleared, and rightly: its second use makes
		// Logto revoke what it issued.
		assert.Empty(t, da.DeviceCode)
		require.ErrorIs(t, c.WaitDeviceSignIn(ctx, da), logto.ErrInvalidConfig)
		rt3, _ := c.GetRefreshToken(ctx)
		status, body := rawDeviceToken(t, tg, a, deviceCode)
		assert.Equal(t, http.StatusBadRequest, status)
		assert.Equal(t, "invalid_grant", body["error"])
		status, _ = rawRefresh(t, tg, a, rt3)
		assert.Equal(t, http.StatusBadRequest, status, "the grant was revoked")

		_, err = c.SignOut(ctx, "")
		require.NoError(t, err)
		assert.False(t, c.IsAuthenticated(ctx))
	})
}

// TestDeviceFlowDenied cancels the sign-in on the confirmation page: the
// next poll is answered access_denied, nothing is stored.
func TestDeviceFlowDenied(t *testing.T) {
	forTargets(t, func(t *testing.T, tg target) {
		dt := tg.(deviceTarget)
		ctx := context.Background()
		u := tg.newUser(t, userSpec{})
		a := dt.newDeviceApp(t)
		rec := newRecorder()
		var waits []time.Duration
		var da *logto.DeviceAuthorization
		c := deviceClient(t, tg, a, rec, &waits, func(poll int) {
			if poll == 1 {
				dt.deviceUserStep(t, newBrowser(t), da, u, false)
			}
		})
		da, err := c.StartDeviceSignIn(ctx)
		require.NoError(t, err)
		err = c.WaitDeviceSignIn(ctx, da)
		require.ErrorIs(t, err, logto.ErrDeviceAccessDenied)
		oe := oauthError(t, err)
		assert.Equal(t, "access_denied", oe.Code)
		assert.Equal(t, http.StatusBadRequest, oe.StatusCode)
		assert.Equal(t, "End-User aborted interaction", oe.Description)
		assert.Len(t, rec.tokenRequests(), 1)
		assert.False(t, c.IsAuthenticated(ctx))
		_, err = c.GetRefreshToken(ctx)
		assert.ErrorIs(t, err, logto.ErrNotAuthenticated)
	})
}
