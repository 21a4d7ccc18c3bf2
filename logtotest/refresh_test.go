package logtotest_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto/logtotest"
)

func TestRefreshOpaque(t *testing.T) {
	srv := newFixture(t)
	first := signIn(t, srv, "u-alice", "openid offline_access profile", nil)
	rt := str(first["refresh_token"])
	srv.Advance(time.Minute)

	status, body := refresh(t, srv, false, rt, nil)
	require.Equal(t, http.StatusOK, status, body)
	assert.NotEqual(t, first["access_token"], body["access_token"])
	assert.Equal(t, rt, body["refresh_token"], "confidential apps do not rotate")
	assert.Equal(t, "openid offline_access profile", body["scope"])
	_, claims := verifyJWT(t, srv, str(body["id_token"]))
	_, firstClaims := verifyJWT(t, srv, str(first["id_token"]))
	assert.Equal(t, "u-alice", claims["sub"])
	assert.EqualValues(t, srv.Now().Unix(), claims["iat"])
	assert.NotContains(t, firstClaims, "auth_time", "no max_age, prompt=login or require_auth_time")
	assert.NotContains(t, claims, "auth_time")
	assert.Equal(t, "Alice Liddell", claims["name"])

	// Down-scoped refresh without openid: no ID token.
	status, body = refresh(t, srv, false, rt, url.Values{"scope": {"offline_access"}})
	require.Equal(t, http.StatusOK, status, body)
	assert.Nil(t, body["id_token"])
	assert.Equal(t, "offline_access", body["scope"])

	// Scope wider than granted.
	status, body = refresh(t, srv, false, rt, url.Values{"scope": {"openid email"}})
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Equal(t, "invalid_scope", body["error"])
	assert.Equal(t, "refresh token missing requested scope", body["error_description"])
	assert.Equal(t, "email", body["scope"], "the missing scopes")
	status, body = refresh(t, srv, false, rt, url.Values{"scope": {"openid email phone"}})
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Equal(t, "refresh token missing requested scopes", body["error_description"])
	assert.Equal(t, "email phone", body["scope"])

	// Another client's refresh token.
	status, body = refresh(t, srv, true, rt, nil)
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Equal(t, "invalid_grant", body["error"])
	assert.True(t, srv.RefreshTokenActive(rt))
}

func TestRefreshResourceToken(t *testing.T) {
	srv := newFixture(t)
	first := signIn(t, srv, "u-alice", "openid offline_access read write", url.Values{"resource": {apiA, apiB}})
	rt := str(first["refresh_token"])

	tests := []struct {
		name      string
		extra     url.Values
		wantAud   string
		wantScope string
		wantTTL   float64
	}{
		{"global and organization role scopes intersected with requested", url.Values{"resource": {apiA}}, apiA, "read write", 3600},
		{"narrowed by scope param", url.Values{"resource": {apiA}, "scope": {"openid write"}}, apiA, "write", 3600},
		{"resource with its own TTL and no granted scope", url.Values{"resource": {apiB}}, apiB, "", 300},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := refresh(t, srv, false, rt, tt.extra)
			require.Equal(t, http.StatusOK, status, body)
			assert.Equal(t, tt.wantScope, body["scope"])
			assert.Equal(t, tt.wantTTL, body["expires_in"])
			h, claims := verifyJWT(t, srv, str(body["access_token"]))
			assert.Equal(t, "at+jwt", h["typ"])
			assert.Equal(t, srv.SigningKID(), h["kid"])
			assert.Equal(t, tt.wantAud, claims["aud"])
			if tt.wantScope == "" {
				assert.NotContains(t, claims, "scope", "no scope claim when nothing is granted")
			} else {
				assert.Equal(t, tt.wantScope, claims["scope"])
			}
			assert.Equal(t, "u-alice", claims["sub"])
			assert.Equal(t, webID, claims["client_id"])
			assert.Equal(t, srv.Issuer(), claims["iss"])
			assert.Len(t, claims["jti"], 43)
			assert.EqualValues(t, srv.Now().Unix(), claims["iat"])
			assert.EqualValues(t, srv.Now().Unix()+int64(tt.wantTTL), claims["exp"])
		})
	}

	t.Run("several resources", func(t *testing.T) {
		status, body := refresh(t, srv, false, rt, url.Values{"resource": {apiA, apiB}})
		assert.Equal(t, http.StatusBadRequest, status)
		assert.Equal(t, "invalid_target", body["error"])
		assert.Equal(t, "only a single resource indicator value must be requested/resolved during Access Token Request", body["error_description"])
		assert.True(t, srv.RefreshTokenActive(rt))
	})

	t.Run("resource not requested at auth", func(t *testing.T) {
		other := signIn(t, srv, "u-alice", "openid offline_access read", url.Values{"resource": {apiB}})
		status, body := refresh(t, srv, false, str(other["refresh_token"]), url.Values{"resource": {apiA}})
		assert.Equal(t, http.StatusBadRequest, status)
		assert.Equal(t, "invalid_target", body["error"])
	})
}

func TestOrganizationTokens(t *testing.T) {
	srv := newFixture(t)
	orgScope := "openid offline_access urn:logto:scope:organizations read:org write"
	extra := url.Values{"resource": {apiA, "urn:logto:resource:organizations"}}
	alice := str(signIn(t, srv, "u-alice", orgScope, extra)["refresh_token"])
	bob := str(signIn(t, srv, "u-bob", orgScope, extra)["refresh_token"])
	noScope := str(signIn(t, srv, "u-alice", "openid offline_access read:org", nil)["refresh_token"])

	tests := []struct {
		name       string
		rt         string
		extra      url.Values
		wantStatus int
		wantErr    string
		wantAud    string
		wantScope  string
		wantOrg    any
	}{
		{"member", alice, url.Values{"organization_id": {"org1"}}, 200, "", "urn:logto:organization:org1", "read:org", nil},
		{"member narrowed", alice, url.Values{"organization_id": {"org1"}, "scope": {"openid urn:logto:scope:organizations"}}, 200, "", "urn:logto:organization:org1", "", nil},
		{"member with resource", alice, url.Values{"organization_id": {"org1"}, "resource": {apiA}}, 200, "", apiA, "write", "org1"},
		{"non-member", bob, url.Values{"organization_id": {"org1"}}, 403, "access_denied", "", "", nil},
		{"other organization", alice, url.Values{"organization_id": {"org2"}}, 403, "access_denied", "", "", nil},
		{"missing organizations scope", noScope, url.Values{"organization_id": {"org1"}}, 403, "insufficient_scope", "", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := refresh(t, srv, false, tt.rt, tt.extra)
			require.Equal(t, tt.wantStatus, status, body)
			if tt.wantErr != "" {
				assert.Equal(t, tt.wantErr, body["error"])
				assert.Equal(t, "oidc."+tt.wantErr, body["code"])
				if tt.wantErr == "insufficient_scope" {
					assert.Equal(t, "urn:logto:scope:organizations", body["scope"])
				} else {
					assert.NotContains(t, body, "scope")
				}
				return
			}
			assert.EqualValues(t, 3600, body["expires_in"])
			assert.Equal(t, tt.wantScope, body["scope"])
			assert.NotEmpty(t, body["id_token"])
			_, claims := verifyJWT(t, srv, str(body["access_token"]))
			assert.Equal(t, tt.wantAud, claims["aud"])
			if tt.wantScope == "" {
				assert.NotContains(t, claims, "scope")
			} else {
				assert.Equal(t, tt.wantScope, claims["scope"])
			}
			assert.Equal(t, tt.wantOrg, claims["organization_id"])
		})
	}
}

func TestRefreshRotationAndReuse(t *testing.T) {
	srv := newFixture(t)
	first := signInSPA(t, srv, "u-alice", "openid offline_access", nil)
	rt1 := str(first["refresh_token"])

	status, body := refresh(t, srv, true, rt1, nil)
	require.Equal(t, http.StatusOK, status, body)
	rt2 := str(body["refresh_token"])
	require.NotEmpty(t, rt2)
	assert.NotEqual(t, rt1, rt2, "public apps rotate")
	assert.False(t, srv.RefreshTokenActive(rt1))
	assert.True(t, srv.RefreshTokenActive(rt2))

	// Reusing the rotated-away token revokes the whole grant.
	status, body = refresh(t, srv, true, rt1, nil)
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Equal(t, "invalid_grant", body["error"])
	assert.False(t, srv.RefreshTokenActive(rt2))
	status, _ = refresh(t, srv, true, rt2, nil)
	assert.Equal(t, http.StatusBadRequest, status)
}

func TestRefreshRotationPolicies(t *testing.T) {
	tests := []struct {
		name     string
		app      logtotest.App
		rotates  bool
		withPKCE bool
	}{
		{"confidential always", logtotest.App{ID: "c1", Secret: "s", RefreshTokenRotation: logtotest.RotateAlways}, true, false},
		{"public never", logtotest.App{ID: "p1", Type: logtotest.AppNative, RefreshTokenRotation: logtotest.RotateNever}, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFixture(t)
			tt.app.RedirectURIs = []string{redirectURI}
			srv.AddApp(tt.app)
			p := authParams(tt.app.ID, "openid offline_access")
			verifier, challenge := newPKCE()
			form := url.Values{"grant_type": {"authorization_code"}, "redirect_uri": {redirectURI}, "client_id": {tt.app.ID}}
			if tt.withPKCE {
				p.Set("code_challenge", challenge)
				p.Set("code_challenge_method", "S256")
				form.Set("code_verifier", verifier)
			} else {
				form.Set("client_secret", tt.app.Secret)
			}
			form.Set("code", authorize(t, srv, "u-alice", p).Get("code"))
			status, body := postForm(t, srv, "/oidc/token", form, "", "")
			require.Equal(t, http.StatusOK, status, body)
			rt := str(body["refresh_token"])

			form = url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {tt.app.ID}}
			if !tt.withPKCE {
				form.Set("client_secret", tt.app.Secret)
			}
			status, body = postForm(t, srv, "/oidc/token", form, "", "")
			require.Equal(t, http.StatusOK, status, body)
			assert.Equal(t, tt.rotates, body["refresh_token"] != rt)
			assert.Equal(t, !tt.rotates, srv.RefreshTokenActive(rt))
		})
	}
}

func TestRefreshRotationDefaultConfidential(t *testing.T) {
	srv := newFixture(t, logtotest.WithRefreshTokenTTL(10*24*time.Hour))
	rt := str(signIn(t, srv, "u-alice", "openid offline_access", nil)["refresh_token"])
	introspectExp := func(token string) int64 {
		status, body := postForm(t, srv, "/oidc/token/introspection", url.Values{"token": {token}}, webID, webSecret)
		require.Equal(t, http.StatusOK, status, body)
		require.Equal(t, true, body["active"], body)
		return int64(body["exp"].(float64))
	}
	firstExp := introspectExp(rt)

	// Before 70% of the lifetime: the same token comes back.
	srv.Advance(6*24*time.Hour + 23*time.Hour) // 69.6%
	status, body := refresh(t, srv, false, rt, nil)
	require.Equal(t, http.StatusOK, status, body)
	assert.Equal(t, rt, body["refresh_token"])

	// From 70%: rotation, with a full lifetime for the new token.
	srv.Advance(time.Hour)
	status, body = refresh(t, srv, false, rt, nil)
	require.Equal(t, http.StatusOK, status, body)
	rt2 := str(body["refresh_token"])
	assert.NotEqual(t, rt, rt2)
	assert.False(t, srv.RefreshTokenActive(rt))
	assert.Equal(t, srv.Now().Add(10*24*time.Hour).Unix(), introspectExp(rt2))
	assert.Greater(t, introspectExp(rt2), firstExp)

	// Reusing the old token revokes the grant, as for public apps.
	status, _ = refresh(t, srv, false, rt, nil)
	assert.Equal(t, http.StatusBadRequest, status)
	assert.False(t, srv.RefreshTokenActive(rt2))
}

func TestRefreshRotationStopsAfterOneYear(t *testing.T) {
	srv := newFixture(t, logtotest.WithRefreshTokenTTL(250*24*time.Hour))
	rt := str(signIn(t, srv, "u-alice", "openid offline_access", nil)["refresh_token"])
	srv.Advance(180 * 24 * time.Hour) // 72%: rotates; the chain now lasts 430 days
	status, body := refresh(t, srv, false, rt, nil)
	require.Equal(t, http.StatusOK, status, body)
	rt2 := str(body["refresh_token"])
	require.NotEqual(t, rt, rt2)
	srv.Advance(180 * 24 * time.Hour) // 72% again, but the chain lasts over a year
	status, body = refresh(t, srv, false, rt2, nil)
	require.Equal(t, http.StatusOK, status, body)
	assert.Equal(t, rt2, body["refresh_token"], "no rotation past a total lifetime of one year")
}

func TestRefreshReuseInterval(t *testing.T) {
	srv := newFixture(t, logtotest.WithRefreshTokenReuseInterval(3*time.Second))
	rt1 := str(signInSPA(t, srv, "u-alice", "openid offline_access", nil)["refresh_token"])
	status, _ := refresh(t, srv, true, rt1, nil)
	require.Equal(t, http.StatusOK, status)

	srv.Advance(2 * time.Second)
	status, body := refresh(t, srv, true, rt1, nil)
	require.Equal(t, http.StatusOK, status, "within the leeway")
	assert.NotEqual(t, rt1, body["refresh_token"])

	srv.Advance(2 * time.Second)
	status, _ = refresh(t, srv, true, rt1, nil)
	assert.Equal(t, http.StatusBadRequest, status)
}

func TestRefreshTokenExpiryAndRevocationByUser(t *testing.T) {
	srv := newFixture(t, logtotest.WithRefreshTokenTTL(24*time.Hour))
	rt := str(signInSPA(t, srv, "u-alice", "openid offline_access", nil)["refresh_token"])

	srv.Advance(23 * time.Hour)
	status, body := refresh(t, srv, true, rt, nil)
	require.Equal(t, http.StatusOK, status)
	rt = str(body["refresh_token"])

	srv.Advance(time.Hour) // rotation does not extend the lifetime
	assert.False(t, srv.RefreshTokenActive(rt))
	status, body = refresh(t, srv, true, rt, nil)
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Equal(t, "invalid_grant", body["error"])

	web := str(signIn(t, srv, "u-alice", "openid offline_access", nil)["refresh_token"])
	srv.RevokeGrantsOf("u-alice")
	assert.False(t, srv.RefreshTokenActive(web))

	bob := str(signIn(t, srv, "u-bob", "openid offline_access", nil)["refresh_token"])
	srv.UpdateUser("u-bob", func(u *logtotest.User) { u.Suspended = true })
	status, body = refresh(t, srv, false, bob, nil)
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Equal(t, "invalid_grant", body["error"])
}

func TestClientCredentials(t *testing.T) {
	srv := newFixture(t)
	tests := []struct {
		name       string
		form       url.Values
		wantStatus int
		wantErr    string
		wantAud    string
		wantScope  string
	}{
		{"resource, no scope requested, none granted", url.Values{"resource": {apiA}}, 200, "", apiA, ""},
		{"resource, requested scopes", url.Values{"resource": {apiA}, "scope": {"read write"}}, 200, "", apiA, "read write"},
		{"resource, requested scope", url.Values{"resource": {apiA}, "scope": {"write admin"}}, 200, "", apiA, "write"},
		{"organization, no scope requested", url.Values{"organization_id": {"org1"}}, 200, "", "urn:logto:organization:org1", ""},
		{"organization", url.Values{"organization_id": {"org1"}, "scope": {"read:org write:org other"}}, 200, "", "urn:logto:organization:org1", "read:org write:org"},
		{"neither resource nor organization", url.Values{}, 400, "invalid_target", "", ""},
		{"unknown resource", url.Values{"resource": {"https://nope.example"}}, 400, "invalid_target", "", ""},
		{"several resources", url.Values{"resource": {apiA, apiB}}, 400, "invalid_target", "", ""},
		{"foreign organization", url.Values{"organization_id": {"org2"}}, 403, "access_denied", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.form.Set("grant_type", "client_credentials")
			status, body := postForm(t, srv, "/oidc/token", tt.form, m2mID, m2mSecret)
			require.Equal(t, tt.wantStatus, status, body)
			if tt.wantErr != "" {
				assert.Equal(t, tt.wantErr, body["error"])
				return
			}
			assert.Nil(t, body["refresh_token"])
			assert.Nil(t, body["id_token"])
			h, claims := verifyJWT(t, srv, str(body["access_token"]))
			assert.Equal(t, "at+jwt", h["typ"])
			assert.Equal(t, m2mID, claims["sub"])
			assert.Equal(t, m2mID, claims["client_id"])
			assert.Equal(t, tt.wantAud, claims["aud"])
			if tt.wantScope == "" {
				assert.NotContains(t, body, "scope", "Logto leaves an empty scope out")
				assert.NotContains(t, claims, "scope")
				return
			}
			assert.Equal(t, tt.wantScope, body["scope"])
			assert.Equal(t, tt.wantScope, claims["scope"])
		})
	}
}
