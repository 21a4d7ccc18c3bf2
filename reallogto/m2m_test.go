package reallogto

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto"
)

func m2mClient(t *testing.T, tg target, a app, resource, org string, scopes []string, rec *recorder) *logto.M2MClient {
	t.Helper()
	m, err := logto.NewM2MClient(logto.M2MConfig{
		Endpoint: tg.endpoint(), AppId: a.ID, AppSecret: a.Secret,
		Resource: resource, OrganizationID: org, Scopes: scopes,
	}, logto.WithHTTPClient(rec.client()))
	require.NoError(t, err)
	return m
}

// TestM2M runs the client-credentials grant of a machine-to-machine app:
// API tokens, organization tokens, caching and the server's errors.
func TestM2M(t *testing.T) {
	forTargets(t, func(t *testing.T, tg target) {
		ctx := context.Background()
		m2m := tg.m2mApp()

		t.Run("API token", func(t *testing.T) {
			rec := newRecorder()
			m := m2mClient(t, tg, m2m, tg.api(), "", []string{readData, writeData}, rec)
			var wg sync.WaitGroup
			toks := make([]string, 8)
			for i := range toks {
				wg.Add(1)
				go func() {
					defer wg.Done()
					var err error
					toks[i], err = m.AccessToken(ctx)
					assert.NoError(t, err)
				}()
			}
			wg.Wait()
			assert.Equal(t, 1, rec.count("/token"), "eight callers, one request")
			for i := range toks {
				assert.Equal(t, toks[0], toks[i])
			}
			c := jwtClaims(t, toks[0])
			assert.Equal(t, []string{"aud", "client_id", "exp", "iat", "iss", "jti", "scope", "sub"}, keys(c))
			assert.Equal(t, tg.api(), c["aud"])
			assert.Equal(t, m2m.ID, c["sub"])
			assert.Equal(t, m2m.ID, c["client_id"])
			assert.Equal(t, tg.issuer(), c["iss"])
			assert.Equal(t, "read:data write:data", c["scope"])
			assert.Equal(t, int64(3600), numeric(t, c, "exp")-numeric(t, c, "iat"))
			tok, err := m.Token(ctx)
			require.NoError(t, err)
			assert.WithinDuration(t, time.Unix(numeric(t, c, "exp"), 0).Add(-logto.DefaultEarlyExpiry), tok.Expiry, 2*time.Second)
			assert.Equal(t, "read:data write:data", tok.Extra("scope"))
			assert.Equal(t, 1, rec.count("/token"), "served from the cache")
		})

		t.Run("scopes not granted are dropped", func(t *testing.T) {
			rec := newRecorder()
			tok, err := m2mClient(t, tg, m2m, tg.api(), "", []string{readData, "admin:all"}, rec).AccessToken(ctx)
			require.NoError(t, err)
			assert.Equal(t, readData, jwtClaims(t, tok)["scope"])
			tok, err = m2mClient(t, tg, m2m, tg.api(), "", nil, rec).AccessToken(ctx)
			require.NoError(t, err)
			_, has := jwtClaims(t, tok)["scope"]
			assert.False(t, has, "no scope asked, none granted: %v", jwtClaims(t, tok))
		})

		t.Run("organization token", func(t *testing.T) {
			rec := newRecorder()
			tok, err := m2mClient(t, tg, m2m, "", tg.org(), []string{orgScope}, rec).AccessToken(ctx)
			require.NoError(t, err)
			c := jwtClaims(t, tok)
			assert.Equal(t, organizationURN+tg.org(), c["aud"])
			assert.Equal(t, m2m.ID, c["sub"])
			assert.Equal(t, orgScope, c["scope"])
			_, has := c["organization_id"]
			assert.False(t, has)

			// With a resource too: the API scopes of the app's organization
			// role only (its global role's write:data is not added).
			tok, err = m2mClient(t, tg, m2m, tg.api(), tg.org(), []string{readData, writeData}, rec).AccessToken(ctx)
			require.NoError(t, err)
			c = jwtClaims(t, tok)
			assert.Equal(t, tg.api(), c["aud"])
			assert.Equal(t, tg.org(), c["organization_id"])
			assert.Equal(t, readData, c["scope"])
		})

		t.Run("errors", func(t *testing.T) {
			rec := newRecorder()
			wrong := m2m
			wrong.Secret = "wrong-secret"
			bad := m2mClient(t, tg, wrong, tg.api(), "", nil, rec)
			for range 2 {
				_, err := bad.AccessToken(ctx)
				oe := oauthError(t, err)
				assert.Equal(t, logto.OAuthError{Code: "invalid_client", Description: "client authentication failed", StatusCode: 401, Endpoint: "token"}, *oe)
			}
			assert.Equal(t, 2, rec.count("/token"), "a failure is not cached")

			other := tg.newOrganization(t)
			_, err := m2mClient(t, tg, m2m, "", other, []string{orgScope}, rec).AccessToken(ctx)
			oe := oauthError(t, err)
			assert.Equal(t, "access_denied", oe.Code)
			assert.Equal(t, 403, oe.StatusCode)
			assert.Equal(t, "app has not associated with the organization", oe.Description)

			_, err = m2mClient(t, tg, m2m, "https://unknown.example.com", "", nil, rec).AccessToken(ctx)
			oe = oauthError(t, err)
			assert.Equal(t, "invalid_target", oe.Code)
			assert.Equal(t, 400, oe.StatusCode)
		})
	})
}

// TestManagementAPI calls the real Management API with a token of the
// SDK's M2M client (the fixtures' bootstrap app holds the "Logto
// Management API access" role). logtotest has no Management API.
func TestManagementAPI(t *testing.T) {
	t.Parallel()
	r := newRealTarget(t)
	ctx := context.Background()
	rec := newRecorder()
	m, err := logto.NewM2MClient(logto.M2MConfig{
		Endpoint: r.endpoint(), AppId: r.f.ManagementAPI.BootstrapAppID, AppSecret: r.f.ManagementAPI.BootstrapAppSecret,
		Resource: logto.DefaultManagementAPIResource, Scopes: []string{"all"},
	}, logto.WithHTTPClient(rec.client()))
	require.NoError(t, err)
	hc := m.HTTPClient(ctx)
	for range 2 {
		resp, err := hc.Get(r.endpoint() + "/api/applications?page_size=100")
		require.NoError(t, err)
		raw, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s", raw)
		var apps []struct {
			ID   string `json:"id"`
			Type string `json:"type"`
		}
		require.NoError(t, json.Unmarshal(raw, &apps))
		types := map[string]string{}
		for _, a := range apps {
			types[a.ID] = a.Type
		}
		assert.Equal(t, "Traditional", types[r.f.WebApp.ID])
		assert.Equal(t, "MachineToMachine", types[r.f.M2MApp.ID])
	}
	assert.Equal(t, 1, rec.count("/oidc/token"), "one token for both calls")
	tok, err := m.AccessToken(ctx)
	require.NoError(t, err)
	c := jwtClaims(t, tok)
	assert.Equal(t, logto.DefaultManagementAPIResource, c["aud"])
	assert.Equal(t, "all", c["scope"])

	// Without the scope the token carries none, and the Management API
	// refuses it.
	none, err := logto.NewM2MClient(logto.M2MConfig{
		Endpoint: r.endpoint(), AppId: r.f.M2MApp.ID, AppSecret: r.f.M2MApp.Secret,
		Resource: logto.DefaultManagementAPIResource, Scopes: []string{"all"},
	}, logto.WithHTTPClient(rec.client()))
	require.NoError(t, err)
	resp, err := none.HTTPClient(ctx).Get(r.endpoint() + "/api/applications")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusForbidden, resp.StatusCode, "an app without the Management API role")
}
