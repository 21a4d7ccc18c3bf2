package logtotest_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto/logtotest"
)

const deviceID = "device-app"

func newDeviceFixture(t *testing.T, opts ...logtotest.Option) *logtotest.Server {
	t.Helper()
	srv := newFixture(t, opts...)
	srv.AddApp(logtotest.App{ID: deviceID, Type: logtotest.AppNative, DeviceFlow: true})
	return srv
}

// startDevice asks for a device code as the public device-app.
func startDevice(t *testing.T, srv *logtotest.Server, extra url.Values) map[string]any {
	t.Helper()
	form := url.Values{"client_id": {deviceID}, "scope": {"openid offline_access profile read"}}
	for k, v := range extra {
		form[k] = v
	}
	status, body := postForm(t, srv, "/oidc/device/auth", form, "", "")
	require.Equal(t, http.StatusOK, status, "%v", body)
	return body
}

func pollDevice(t *testing.T, srv *logtotest.Server, deviceCode string, extra url.Values) (int, map[string]any) {
	t.Helper()
	form := url.Values{"client_id": {deviceID}, "grant_type": {logtotest.DeviceCodeGrantType}, "device_code": {deviceCode}}
	for k, v := range extra {
		form[k] = v
	}
	return postForm(t, srv, "/oidc/token", form, "", "")
}

func TestDeviceAuthorizationResponse(t *testing.T) {
	srv := newDeviceFixture(t)
	body := startDevice(t, srv, nil)
	code := str(body["user_code"])
	assert.Regexp(t, `^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$`, code)
	assert.Len(t, str(body["device_code"]), 43)
	assert.Equal(t, srv.URL()+"/device", body["verification_uri"])
	assert.Equal(t, srv.URL()+"/device?user_code="+code, body["verification_uri_complete"])
	assert.Equal(t, 600.0, body["expires_in"])
	assert.NotContains(t, body, "interval", "Logto announces none")
	assert.Equal(t, 1, srv.RequestCount(logtotest.EndpointDeviceAuth))
	assert.Equal(t, []string{code}, srv.PendingDeviceCodes())

	srv2 := newDeviceFixture(t, logtotest.WithDeviceCodeTTL(time.Minute), logtotest.WithDevicePollInterval(1500*time.Millisecond))
	body = startDevice(t, srv2, nil)
	assert.Equal(t, 60.0, body["expires_in"])
	assert.Equal(t, 1.0, body["interval"], "whole seconds")

	_, _, doc := getJSON(t, srv.Issuer()+"/.well-known/openid-configuration", "")
	assert.Equal(t, srv.Issuer()+"/device/auth", doc["device_authorization_endpoint"])
	assert.Contains(t, doc["grant_types_supported"], logtotest.DeviceCodeGrantType)
}

func TestDeviceAuthorizationRefusals(t *testing.T) {
	srv := newDeviceFixture(t)
	tests := []struct {
		name       string
		form       url.Values
		id, secret string
		status     int
		code, desc string
	}{
		{"an app without device flow", url.Values{"scope": {"openid"}}, webID, webSecret, 400, "invalid_request",
			logtotest.DeviceCodeGrantType + " is not allowed for this client"},
		{"a public app without device flow", url.Values{"client_id": {spaID}, "scope": {"openid"}}, "", "", 400, "invalid_request",
			logtotest.DeviceCodeGrantType + " is not allowed for this client"},
		{"a secret for the public app", url.Values{"client_id": {deviceID}, "client_secret": {"x"}}, "", "", 401, "invalid_client", ""},
		{"unknown client", url.Values{"client_id": {"nobody"}}, "", "", 400, "invalid_client", "invalid client nobody"},
		{"unknown resource", url.Values{"client_id": {deviceID}, "resource": {"https://unknown.example.com"}}, "", "", 400, "invalid_target", ""},
		{"repeated scope", url.Values{"client_id": {deviceID}, "scope": {"openid", "profile"}}, "", "", 400, "invalid_request", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := postForm(t, srv, "/oidc/device/auth", tt.form, tt.id, tt.secret)
			assert.Equal(t, tt.status, status, "%v", body)
			assert.Equal(t, tt.code, body["error"])
			if tt.desc != "" {
				assert.Equal(t, tt.desc, body["error_description"])
			}
		})
	}
	assert.Empty(t, srv.PendingDeviceCodes())
}

func TestDeviceGrant(t *testing.T) {
	srv := newDeviceFixture(t)
	body := startDevice(t, srv, url.Values{"resource": {apiA}})
	dc, code := str(body["device_code"]), str(body["user_code"])

	status, resp := pollDevice(t, srv, dc, nil)
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Equal(t, "authorization_pending", resp["error"])

	require.NoError(t, srv.SlowDownDevice(code, 2))
	for i := 0; i < 2; i++ {
		_, resp = pollDevice(t, srv, dc, nil)
		assert.Equal(t, "slow_down", resp["error"], "poll %d", i)
	}
	_, resp = pollDevice(t, srv, dc, nil)
	assert.Equal(t, "authorization_pending", resp["error"], "slow_down only as often as asked")

	// Codes are matched as oidc-provider normalises them.
	require.NoError(t, srv.ApproveDevice(strings.ToLower(strings.ReplaceAll(code, "-", " ")), "alice"))
	assert.Empty(t, srv.PendingDeviceCodes())
	require.ErrorContains(t, srv.ApproveDevice(code, "alice"), "already used")
	require.ErrorContains(t, srv.DenyDevice(code), "already used")

	// A resource parameter gives its JWT at once, as with the code grant.
	status, resp = pollDevice(t, srv, dc, url.Values{"resource": {apiA}})
	require.Equal(t, http.StatusOK, status, "%v", resp)
	_, claims := verifyJWT(t, srv, str(resp["access_token"]))
	assert.Equal(t, apiA, claims["aud"])
	assert.Equal(t, "u-alice", claims["sub"])
	assert.Equal(t, "read", claims["scope"])
	_, id := verifyJWT(t, srv, str(resp["id_token"]))
	assert.Equal(t, deviceID, id["aud"])
	assert.NotContains(t, id, "nonce")
	rt := str(resp["refresh_token"])
	require.NotEmpty(t, rt)
	assert.True(t, srv.RefreshTokenActive(rt))

	// The refresh token works, rotating (a public client).
	status, resp = postForm(t, srv, "/oidc/token", url.Values{"client_id": {deviceID}, "grant_type": {"refresh_token"}, "refresh_token": {rt}}, "", "")
	require.Equal(t, http.StatusOK, status, "%v", resp)
	rt2 := str(resp["refresh_token"])
	assert.NotEqual(t, rt, rt2)

	// A second use of the device code revokes what it issued.
	status, resp = pollDevice(t, srv, dc, nil)
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Equal(t, "invalid_grant", resp["error"])
	assert.False(t, srv.RefreshTokenActive(rt2))

	// Device-flow apps have no authorization code grant; others no device grant.
	status, resp = postForm(t, srv, "/oidc/token", url.Values{"client_id": {deviceID}, "grant_type": {"authorization_code"}, "code": {"x"}, "redirect_uri": {redirectURI}}, "", "")
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Equal(t, "unauthorized_client", resp["error"])
	status, resp = postForm(t, srv, "/oidc/token", url.Values{"grant_type": {logtotest.DeviceCodeGrantType}, "device_code": {dc}}, webID, webSecret)
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Equal(t, "unauthorized_client", resp["error"])
}

func TestDeviceGrantEndings(t *testing.T) {
	tests := []struct {
		name    string
		decide  func(srv *logtotest.Server, code string) error
		status  int
		err     string
		desc    string
		pending bool // the code still awaits a decision
	}{
		{name: "denied", decide: func(srv *logtotest.Server, code string) error { return srv.DenyDevice(code) },
			status: 400, err: "access_denied", desc: "End-User aborted interaction"},
		{name: "expired by ExpireDevice", decide: func(srv *logtotest.Server, code string) error { return srv.ExpireDevice(code) },
			status: 400, err: "expired_token", desc: "device code is expired"},
		{name: "expired by the clock", decide: func(srv *logtotest.Server, code string) error {
			srv.Advance(logtotest.DefaultDeviceCodeTTL)
			return nil
		}, status: 400, err: "expired_token"},
		{name: "unknown device code", decide: nil, status: 400, err: "invalid_grant", pending: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newDeviceFixture(t)
			body := startDevice(t, srv, nil)
			dc, code := str(body["device_code"]), str(body["user_code"])
			if tt.decide != nil {
				require.NoError(t, tt.decide(srv, code))
			} else {
				dc = "not-issued"
			}
			status, resp := pollDevice(t, srv, dc, nil)
			assert.Equal(t, tt.status, status)
			assert.Equal(t, tt.err, resp["error"])
			if tt.desc != "" {
				assert.Equal(t, tt.desc, resp["error_description"])
			}
			assert.Equal(t, tt.pending, len(srv.PendingDeviceCodes()) == 1)
			if !tt.pending {
				assert.Error(t, srv.ApproveDevice(code, "alice"), "a decided or expired code cannot be approved")
			}
		})
	}
}

func TestDeviceApprovalErrors(t *testing.T) {
	srv := newDeviceFixture(t)
	code := str(startDevice(t, srv, nil)["user_code"])
	srv.AddUser(logtotest.User{ID: "u-gone", Username: "gone", Suspended: true})
	assert.ErrorContains(t, srv.ApproveDevice(code, "nobody"), `unknown user "nobody"`)
	assert.ErrorContains(t, srv.ApproveDevice(code, "gone"), "suspended")
	assert.ErrorContains(t, srv.ApproveDevice("BCDF-GHJK", "alice"), "no device authorization")
	assert.ErrorContains(t, srv.ApproveDevice("", "alice"), "no device authorization")
	assert.ErrorContains(t, srv.SlowDownDevice("BCDF-GHJK", 1), "no device authorization")
	assert.Equal(t, []string{code}, srv.PendingDeviceCodes(), "failed calls decide nothing")
}

func TestDeviceAutoApprove(t *testing.T) {
	srv := newDeviceFixture(t)
	srv.SetDeviceAutoApprove("bob")
	dc := str(startDevice(t, srv, nil)["device_code"])
	assert.Empty(t, srv.PendingDeviceCodes())
	status, resp := pollDevice(t, srv, dc, nil)
	require.Equal(t, http.StatusOK, status, "%v", resp)
	_, id := verifyJWT(t, srv, str(resp["id_token"]))
	assert.Equal(t, "u-bob", id["sub"])

	srv.SetDeviceAutoApprove("")
	dc = str(startDevice(t, srv, nil)["device_code"])
	_, resp = pollDevice(t, srv, dc, nil)
	assert.Equal(t, "authorization_pending", resp["error"])
}

func TestDevicePage(t *testing.T) {
	srv := newDeviceFixture(t)
	body := startDevice(t, srv, nil)
	dc, code := str(body["device_code"]), str(body["user_code"])
	get := func(rawURL string) (int, string) {
		resp, err := http.Get(rawURL)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	post := func(form url.Values) (int, string) {
		resp, err := http.PostForm(srv.URL()+"/device", form)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, path := range []string{"/device", "/oidc/device"} {
		status, page := get(srv.URL() + path + "?user_code=" + url.QueryEscape(code))
		assert.Equal(t, http.StatusOK, status)
		assert.Contains(t, page, `name="user_code" value="`+code+`"`, "prefilled from verification_uri_complete")
		assert.Contains(t, page, `action="/device"`)
	}
	status, page := post(url.Values{"user_code": {"BCDF-GHJK"}, "username": {"alice"}, "action": {"approve"}})
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Contains(t, page, "no device authorization has user code")
	status, page = post(url.Values{"user_code": {code}, "username": {"<script>"}, "action": {"approve"}})
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Contains(t, page, "unknown user &#34;&lt;script&gt;&#34;", "escaped")
	status, page = post(url.Values{"user_code": {code}, "username": {"alice"}, "action": {"approve"}})
	assert.Equal(t, http.StatusOK, status)
	assert.Contains(t, page, "Signed in")
	status, resp := pollDevice(t, srv, dc, nil)
	require.Equal(t, http.StatusOK, status, "%v", resp)
	assert.Equal(t, 5, srv.RequestCount(logtotest.EndpointDevice))
}
