package reallogto

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto"
	"github.com/gologto/logto/apiauth"
)

func verifier(t *testing.T, tg target, cfg apiauth.Config) *apiauth.Verifier {
	t.Helper()
	cfg.Endpoint = tg.endpoint()
	if cfg.Audience == "" {
		cfg.Audience = tg.api()
	}
	v, err := apiauth.NewVerifier(cfg)
	require.NoError(t, err)
	return v
}

// requireAPIError checks the RFC 6750 code of an apiauth failure.
func requireAPIError(t *testing.T, err error, code string) *apiauth.Error {
	t.Helper()
	require.Error(t, err)
	var ae *apiauth.Error
	require.ErrorAs(t, err, &ae, "%v", err)
	assert.Equal(t, code, ae.Code, "%v", err)
	return ae
}

// TestAPIAuth verifies real tokens in a resource server: user, M2M,
// organization and organization-scoped tokens, with the scopes roles
// grant, and tokens meant for another audience.
func TestAPIAuth(t *testing.T) {
	forTargets(t, func(t *testing.T, tg target) {
		ctx := context.Background()
		admin := tg.newUser(t, userSpec{APIScopes: []string{readData, writeData}, Organizations: []string{tg.org()}})
		// A user whose only API scope comes from the organization role.
		member := tg.newUser(t, userSpec{Organizations: []string{tg.org()}})
		other := tg.newResource(t, resourceSpec{TTL: time.Hour, Scopes: []string{"other:read"}, GrantTo: []user{admin}})
		scopes := []string{logto.ScopeOrganizations, readData, writeData, orgScope, "other:read"}
		web := tg.webApp()
		ca := clientFor(t, tg, web, scopes, []string{tg.api(), other}, nil)
		signInClient(t, tg, ca, nil, admin, logto.SignInOptions{})
		cm := clientFor(t, tg, web, scopes, []string{tg.api(), other}, nil)
		signInClient(t, tg, cm, nil, member, logto.SignInOptions{})

		v := verifier(t, tg, apiauth.Config{})
		vo := verifier(t, tg, apiauth.Config{AcceptOrganizationTokens: true})

		t.Run("user token", func(t *testing.T) {
			tok, err := ca.GetAccessToken(ctx, tg.api())
			require.NoError(t, err)
			c, err := v.Verify(ctx, tok, apiauth.RequireScopes(readData, writeData))
			require.NoError(t, err)
			assert.Equal(t, admin.ID, c.Subject)
			assert.Equal(t, web.ID, c.ClientID)
			assert.Equal(t, []string{readData, writeData}, c.Scopes())
			_, isOrg := c.IsOrganizationToken()
			assert.False(t, isOrg)
			ae := requireAPIError(t, func() error { _, err := v.Verify(ctx, tok, apiauth.RequireScopes("admin:all")); return err }(), "insufficient_scope")
			assert.Equal(t, []string{"admin:all"}, ae.Scope)

			// The member's read:data comes from the organization role, yet it
			// is in a plain API token: Logto adds organization roles' API
			// scopes of every organization of the user.
			tok, err = cm.GetAccessToken(ctx, tg.api())
			require.NoError(t, err)
			c, err = v.Verify(ctx, tok, apiauth.RequireScopes(readData))
			require.NoError(t, err)
			assert.Equal(t, []string{readData}, c.Scopes())
			requireAPIError(t, func() error { _, err := v.Verify(ctx, tok, apiauth.RequireScopes(writeData)); return err }(), "insufficient_scope")
		})

		t.Run("M2M token", func(t *testing.T) {
			tok, err := m2mClient(t, tg, tg.m2mApp(), tg.api(), "", []string{readData}, newRecorder()).AccessToken(ctx)
			require.NoError(t, err)
			c, err := v.Verify(ctx, tok, apiauth.RequireScopes(readData))
			require.NoError(t, err)
			assert.Equal(t, tg.m2mApp().ID, c.Subject)
			assert.Equal(t, tg.m2mApp().ID, c.ClientID)
		})

		t.Run("organization tokens", func(t *testing.T) {
			tok, err := ca.GetOrganizationToken(ctx, tg.org())
			require.NoError(t, err)
			c, err := vo.Verify(ctx, tok, apiauth.RequireOrganization(tg.org()), apiauth.RequireScopes(orgScope))
			require.NoError(t, err)
			org, isOrg := c.IsOrganizationToken()
			assert.True(t, isOrg)
			assert.Equal(t, tg.org(), org)
			requireAPIError(t, func() error { _, err := vo.Verify(ctx, tok, apiauth.RequireOrganization("another-org")); return err }(), "insufficient_scope")
			requireAPIError(t, func() error { _, err := v.Verify(ctx, tok); return err }(), "invalid_token")

			// Organization-scoped API token (the member: read:data only).
			tok, err = cm.GetOrganizationAccessToken(ctx, tg.org(), tg.api())
			require.NoError(t, err)
			c, err = v.Verify(ctx, tok, apiauth.RequireOrganization(tg.org()), apiauth.RequireScopes(readData))
			require.NoError(t, err)
			assert.Equal(t, tg.org(), c.OrganizationID)
			requireAPIError(t, func() error { _, err := v.Verify(ctx, tok, apiauth.RequireScopes(writeData)); return err }(), "insufficient_scope")

			// An M2M organization token.
			tok, err = m2mClient(t, tg, tg.m2mApp(), "", tg.org(), []string{orgScope}, newRecorder()).AccessToken(ctx)
			require.NoError(t, err)
			c, err = vo.Verify(ctx, tok, apiauth.RequireOrganization(tg.org()), apiauth.RequireScopes(orgScope))
			require.NoError(t, err)
			assert.Equal(t, tg.m2mApp().ID, c.Subject)
		})

		t.Run("wrong audience", func(t *testing.T) {
			tok, err := ca.GetAccessToken(ctx, other)
			require.NoError(t, err)
			requireAPIError(t, func() error { _, err := v.Verify(ctx, tok); return err }(), "invalid_token")
			_, err = verifier(t, tg, apiauth.Config{Audience: other}).Verify(ctx, tok, apiauth.RequireScopes("other:read"))
			require.NoError(t, err)
			// The opaque user-info token is no JWT at all.
			opaque, err := ca.GetAccessToken(ctx, "")
			require.NoError(t, err)
			requireAPIError(t, func() error { _, err := v.Verify(ctx, opaque); return err }(), "invalid_token")
		})

		t.Run("middleware", func(t *testing.T) {
			srv := httptest.NewServer(v.Middleware(apiauth.RequireScopes(writeData))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				c, _ := apiauth.FromContext(r.Context())
				_ = json.NewEncoder(w).Encode(map[string]string{"sub": c.Subject})
			})))
			defer srv.Close()
			call := func(tok string) (int, string, string) {
				req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
				if tok != "" {
					req.Header.Set("Authorization", "Bearer "+tok)
				}
				resp, err := srv.Client().Do(req)
				require.NoError(t, err)
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return resp.StatusCode, resp.Header.Get("WWW-Authenticate"), string(b)
			}
			adminTok, _ := ca.GetAccessToken(ctx, tg.api())
			memberTok, _ := cm.GetAccessToken(ctx, tg.api())
			status, _, body := call(adminTok)
			assert.Equal(t, http.StatusOK, status)
			assert.JSONEq(t, mustJSON(map[string]string{"sub": admin.ID}), body)
			status, www, _ := call(memberTok)
			assert.Equal(t, http.StatusForbidden, status)
			assert.Contains(t, www, `error="insufficient_scope"`)
			assert.Contains(t, www, `scope="write:data"`)
			status, www, _ = call("")
			assert.Equal(t, http.StatusUnauthorized, status)
			assert.Contains(t, www, "Bearer")
			status, www, _ = call(adminTok[:len(adminTok)-4] + "AAAA")
			assert.Equal(t, http.StatusUnauthorized, status)
			assert.Contains(t, www, `error="invalid_token"`)
		})
	})
}
