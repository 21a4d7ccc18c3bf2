package reallogto

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto"
	"github.com/gologto/logto/apiauth"
	"github.com/gologto/logto/logtotest"
)

// exchangeTarget is what the token exchange scenarios need of a target on
// top of target: apps with token exchange enabled and a client of the
// Management API.
type exchangeTarget interface {
	target
	// newExchangeApp registers an app with allowTokenExchange.
	newExchangeApp(t *testing.T, kind appKind) app
	// managementClient is an M2M client of the Management API (resource
	// https://default.logto.app/api, scope all), sending through rec.
	managementClient(t *testing.T, rec *recorder) *logto.M2MClient
}

// appKind is an application type.
type appKind string

const (
	kindTraditional appKind = "Traditional"
	kindNative      appKind = "Native"
	kindM2M         appKind = "MachineToMachine"
)

func (r *realTarget) newExchangeApp(t *testing.T, kind appKind) app {
	t.Helper()
	body := map[string]any{
		"name": unique("go-sdk-exchange"), "type": string(kind),
		"customClientMetadata": map[string]any{"allowTokenExchange": true},
	}
	a := app{}
	if kind != kindM2M {
		a.RedirectURI, a.PostLogoutRedirectURI = r.f.WebApp.RedirectURI, r.f.WebApp.PostLogoutRedirectURI
		body["oidcClientMetadata"] = map[string]any{
			"redirectUris": []string{a.RedirectURI}, "postLogoutRedirectUris": []string{a.PostLogoutRedirectURI},
		}
	}
	var created map[string]any
	r.m.call(t, http.MethodPost, "/applications", body, &created)
	a.ID = idOf(t, created)
	r.m.cleanup(t, "/applications/"+a.ID)
	meta, _ := created["customClientMetadata"].(map[string]any)
	require.Equal(t, true, meta["allowTokenExchange"], "created %v", created)
	if kind != kindNative {
		var secrets []map[string]any
		r.m.call(t, http.MethodGet, "/applications/"+a.ID+"/secrets", nil, &secrets)
		require.NotEmpty(t, secrets)
		a.Secret, _ = secrets[0]["value"].(string)
		require.NotEmpty(t, a.Secret)
	}
	return a
}

func (r *realTarget) managementClient(t *testing.T, rec *recorder) *logto.M2MClient {
	t.Helper()
	m, err := logto.NewM2MClient(logto.M2MConfig{
		Endpoint: r.f.Endpoint, AppId: r.f.ManagementAPI.BootstrapAppID, AppSecret: r.f.ManagementAPI.BootstrapAppSecret,
		Resource: r.f.ManagementAPI.Resource, Scopes: []string{r.f.ManagementAPI.Scope},
	}, logto.WithHTTPClient(rec.client()))
	require.NoError(t, err)
	return m
}

func (f *fakeTarget) newExchangeApp(t *testing.T, kind appKind) app {
	t.Helper()
	a := app{ID: f.next("exchange")}
	la := logtotest.App{ID: a.ID, AllowTokenExchange: true}
	switch kind {
	case kindTraditional:
		la.Type = logtotest.AppTraditional
	case kindNative:
		la.Type = logtotest.AppNative
	case kindM2M:
		la.Type = logtotest.AppMachineToMachine
	}
	if kind != kindM2M {
		a.RedirectURI, a.PostLogoutRedirectURI = appRedirectURI, appPostLogout
		la.RedirectURIs, la.PostLogoutRedirectURIs = []string{appRedirectURI}, []string{appPostLogout}
	}
	if kind != kindNative {
		a.Secret = a.ID + "-secret"
		la.Secret = a.Secret
	}
	f.srv.AddApp(la)
	return a
}

func (f *fakeTarget) managementClient(t *testing.T, rec *recorder) *logto.M2MClient {
	t.Helper()
	id := f.next("mgmt")
	f.srv.AddApp(logtotest.App{ID: id, Secret: id + "-secret", Type: logtotest.AppMachineToMachine,
		ResourceScopes: map[string][]string{logtotest.ManagementAPIResource: {"all"}}})
	m, err := logto.NewM2MClient(logto.M2MConfig{
		Endpoint: f.srv.URL(), AppId: id, AppSecret: id + "-secret",
		Resource: logto.DefaultManagementAPIResource, Scopes: []string{"all"},
	}, logto.WithHTTPClient(rec.client()))
	require.NoError(t, err)
	return m
}

// foreignToken is an access token of another issuer (a fresh logtotest):
// a token of another tenant.
func foreignToken(t *testing.T) string {
	t.Helper()
	srv := logtotest.NewServer(t)
	srv.AddResource(logtotest.Resource{Indicator: apiIndicator})
	srv.AddApp(logtotest.App{ID: "other", Secret: "other-secret", Type: logtotest.AppMachineToMachine,
		ResourceScopes: map[string][]string{apiIndicator: {readData}}})
	m, err := logto.NewM2MClient(logto.M2MConfig{Endpoint: srv.URL(), AppId: "other", AppSecret: "other-secret",
		Resource: apiIndicator, Scopes: []string{readData}})
	require.NoError(t, err)
	tok, err := m.AccessToken(context.Background())
	require.NoError(t, err)
	return tok
}

// requireGrantError checks the exact OAuth error of a refused exchange.
func requireGrantError(t *testing.T, err error, status int, code, desc string) {
	t.Helper()
	oe := oauthError(t, err)
	assert.Equal(t, code, oe.Code, "%v", err)
	assert.Equal(t, status, oe.StatusCode, "%v", err)
	assert.Equal(t, desc, oe.Description, "%v", err)
	assert.Equal(t, "token", oe.Endpoint)
	assert.NotErrorIs(t, err, logto.ErrInvalidRequest)
}

func requireMgmtError(t *testing.T, err error, status int, code string) *logto.ManagementError {
	t.Helper()
	require.Error(t, err)
	var me *logto.ManagementError
	require.ErrorAs(t, err, &me, "%v", err)
	assert.Equal(t, status, me.StatusCode, "%v", err)
	assert.Equal(t, code, me.Code, "%v", err)
	assert.NotErrorIs(t, err, logto.ErrInvalidResponse)
	return me
}

const invalidGrantDesc = "grant request is invalid"

// TestTokenExchange runs issue 14 items 1 and 2: impersonation (a subject
// token created through the Management API, exchanged with the
// administrator's own access token as the actor), personal access tokens
// (created, listed, exchanged, deleted), one-time tokens, and the exact
// errors of refused exchanges.
func TestTokenExchange(t *testing.T) {
	forTargets(t, func(t *testing.T, tg target) {
		ctx := context.Background()
		xt := tg.(exchangeTarget)
		rec := newRecorder()
		mgmt := xt.managementClient(t, rec)
		u := tg.newUser(t, userSpec{Email: true, APIScopes: []string{readData, writeData}, Organizations: []string{tg.org()}})
		admin := tg.newUser(t, userSpec{})
		web := xt.newExchangeApp(t, kindTraditional)
		// The administrator signs in to the exchanging app: the opaque
		// token of that session is the actor token.
		ac := clientFor(t, tg, web, nil, nil, rec)
		signInClient(t, tg, ac, nil, admin, logto.SignInOptions{})
		actor, err := ac.GetAccessToken(ctx, "")
		require.NoError(t, err)
		require.NotContains(t, actor, ".", "the default token is opaque")
		v := verifier(t, tg, apiauth.Config{})

		t.Run("impersonation with an actor", func(t *testing.T) {
			at := time.Now()
			st, err := mgmt.CreateSubjectToken(ctx, u.ID, map[string]any{"ticket": "T-1"})
			require.NoError(t, err)
			assert.True(t, strings.HasPrefix(st.Token, "sub_"), st.Token)
			assert.WithinDuration(t, at.Add(10*time.Minute), st.Expiry, time.Second)
			assert.False(t, st.Expiry.After(at.Add(10*time.Minute)))

			before := rec.count("/token")
			req := logto.TokenExchangeRequest{
				SubjectToken: st.Token, SubjectTokenType: logto.TokenTypeImpersonationToken, ActorToken: actor,
				Resource: tg.api(), Scopes: []string{readData, writeData, "admin:all"},
			}
			at = time.Now()
			tok, err := ac.ExchangeToken(ctx, req)
			require.NoError(t, err)
			assert.Equal(t, before+1, rec.count("/token"), "one request")
			assert.Equal(t, "read:data write:data", tok.Scope, "the scopes the user's roles grant")
			assert.Equal(t, logto.TokenTypeAccessToken, tok.IssuedTokenType)
			assert.Equal(t, "Bearer", tok.TokenType)
			c := jwtClaims(t, tok.AccessToken)
			assert.Equal(t, []string{"act", "aud", "client_id", "exp", "iat", "iss", "jti", "scope", "sub"}, keys(c))
			assert.Equal(t, map[string]any{"sub": admin.ID}, c["act"])
			assert.Equal(t, int64(3600), numeric(t, c, "exp")-numeric(t, c, "iat"))
			assert.False(t, tok.Expiry.After(time.Unix(numeric(t, c, "exp"), 0)), "never after exp")
			assert.WithinDuration(t, at.Add(time.Hour), tok.Expiry, 2*time.Second)

			// A resource server verifies it: the user's token, acted on by the
			// administrator, issued to the exchanging app.
			claims, err := v.Verify(ctx, tok.AccessToken, apiauth.RequireScopes(readData, writeData))
			require.NoError(t, err)
			assert.Equal(t, u.ID, claims.Subject)
			assert.Equal(t, &logto.Actor{Subject: admin.ID}, claims.Act)
			assert.Equal(t, web.ID, claims.ClientID)
			decoded, err := tok.Claims()
			require.NoError(t, err)
			assert.Equal(t, claims.Act, decoded.Act)

			// Used once.
			_, err = ac.ExchangeToken(ctx, req)
			requireGrantError(t, err, 400, "invalid_grant", invalidGrantDesc)
		})

		t.Run("impersonation without an actor, legacy type, organization token", func(t *testing.T) {
			st, err := mgmt.CreateSubjectToken(ctx, u.ID, nil)
			require.NoError(t, err)
			// Logto still accepts a subject token declared as an access token.
			tok, err := ac.ExchangeToken(ctx, logto.TokenExchangeRequest{SubjectToken: st.Token,
				SubjectTokenType: logto.TokenTypeAccessToken, OrganizationID: tg.org(), Scopes: []string{orgScope, readData}})
			require.NoError(t, err)
			claims, err := tok.Claims()
			require.NoError(t, err)
			assert.Nil(t, claims.Act, "no actor, no act claim")
			assert.Equal(t, u.ID, claims.Subject)
			assert.Equal(t, logto.Audience{organizationURN + tg.org()}, claims.Audience)
			assert.Equal(t, orgScope, tok.Scope)
		})

		t.Run("each kind of app", func(t *testing.T) {
			for _, kind := range []appKind{kindNative, kindM2M} {
				a := xt.newExchangeApp(t, kind)
				st, err := mgmt.CreateSubjectToken(ctx, u.ID, nil)
				require.NoError(t, err)
				req := logto.TokenExchangeRequest{SubjectToken: st.Token, SubjectTokenType: logto.TokenTypeImpersonationToken,
					Resource: tg.api(), Scopes: []string{readData}}
				var tok *logto.ExchangedToken
				if kind == kindM2M {
					m := m2mClient(t, tg, a, tg.api(), "", nil, rec)
					tok, err = m.ExchangeToken(ctx, req)
				} else {
					tok, err = clientFor(t, tg, a, nil, nil, rec).ExchangeToken(ctx, req)
				}
				require.NoError(t, err, kind)
				c := jwtClaims(t, tok.AccessToken)
				assert.Equal(t, u.ID, c["sub"], kind)
				assert.Equal(t, a.ID, c["client_id"], kind)
				assert.Equal(t, readData, c["scope"], kind)
			}
		})

		t.Run("personal access token", func(t *testing.T) {
			name := unique("ci")
			at := time.Now()
			pat, err := mgmt.CreatePersonalAccessToken(ctx, u.ID, name, time.Time{})
			require.NoError(t, err)
			assert.True(t, strings.HasPrefix(pat.Value, "pat_"), pat.Value)
			assert.Equal(t, u.ID, pat.UserID)
			assert.Equal(t, name, pat.Name)
			assert.True(t, pat.ExpiresAt.IsZero())
			assert.WithinDuration(t, at, pat.CreatedAt, 2*time.Second)
			list, err := mgmt.ListPersonalAccessTokens(ctx, u.ID)
			require.NoError(t, err)
			assert.Equal(t, []logto.PersonalAccessToken{*pat}, list)

			_, err = mgmt.CreatePersonalAccessToken(ctx, u.ID, name, time.Time{})
			requireMgmtError(t, err, 422, "user.personal_access_token_name_exists")
			_, err = mgmt.CreatePersonalAccessToken(ctx, u.ID, unique("old"), time.Now().Add(-time.Minute))
			requireMgmtError(t, err, 400, "request.invalid_input")
			_, err = mgmt.CreatePersonalAccessToken(ctx, "no-such-user", name, time.Time{})
			requireMgmtError(t, err, 404, "entity.relation_foreign_key_not_found")
			_, err = mgmt.ListPersonalAccessTokens(ctx, "no-such-user")
			requireMgmtError(t, err, 404, "entity.not_found")

			// Exchanged as often as needed, for the user's API token.
			req := logto.TokenExchangeRequest{SubjectToken: pat.Value, SubjectTokenType: logto.TokenTypePersonalAccessToken,
				Resource: tg.api(), Scopes: []string{readData}}
			for range 2 {
				tok, err := ac.ExchangeToken(ctx, req)
				require.NoError(t, err)
				claims, err := v.Verify(ctx, tok.AccessToken, apiauth.RequireScopes(readData))
				require.NoError(t, err)
				assert.Equal(t, u.ID, claims.Subject)
				assert.Nil(t, claims.Act)
			}
			// Under another type Logto does not find it.
			_, err = ac.ExchangeToken(ctx, logto.TokenExchangeRequest{SubjectToken: pat.Value,
				SubjectTokenType: logto.TokenTypeAccessToken, Resource: tg.api()})
			requireGrantError(t, err, 400, "invalid_grant", invalidGrantDesc)

			// Deleted: refused from then on.
			require.NoError(t, mgmt.DeletePersonalAccessToken(ctx, u.ID, name))
			_, err = ac.ExchangeToken(ctx, req)
			requireGrantError(t, err, 400, "invalid_grant", invalidGrantDesc)
			err = mgmt.DeletePersonalAccessToken(ctx, u.ID, name)
			requireMgmtError(t, err, 404, "entity.not_found")
			list, err = mgmt.ListPersonalAccessTokens(ctx, u.ID)
			require.NoError(t, err)
			assert.Empty(t, list)

			// Expired: refused.
			short, err := mgmt.CreatePersonalAccessToken(ctx, u.ID, unique("short"), time.Now().Add(1500*time.Millisecond))
			require.NoError(t, err)
			_, err = ac.ExchangeToken(ctx, logto.TokenExchangeRequest{SubjectToken: short.Value,
				SubjectTokenType: logto.TokenTypePersonalAccessToken, Resource: tg.api()})
			require.NoError(t, err, "before its expiry")
			sleepUntil(short.ExpiresAt.Add(200 * time.Millisecond))
			_, err = ac.ExchangeToken(ctx, logto.TokenExchangeRequest{SubjectToken: short.Value,
				SubjectTokenType: logto.TokenTypePersonalAccessToken, Resource: tg.api()})
			requireGrantError(t, err, 400, "invalid_grant", invalidGrantDesc)
		})

		t.Run("one-time token", func(t *testing.T) {
			at := time.Now()
			ott, err := mgmt.CreateOneTimeToken(ctx, logto.OneTimeTokenRequest{Email: u.Email, TTL: 90 * time.Second,
				JITOrganizationIDs: []string{tg.org()}})
			require.NoError(t, err)
			assert.Equal(t, u.Email, ott.Email)
			assert.Len(t, ott.Token, 32)
			assert.NotEmpty(t, ott.ID)
			assert.Equal(t, logto.OneTimeTokenActive, ott.Status)
			assert.Equal(t, []string{tg.org()}, ott.JITOrganizationIDs)
			assert.WithinDuration(t, at, ott.CreatedAt, 2*time.Second)
			assert.WithinDuration(t, at.Add(90*time.Second), ott.ExpiresAt, 2*time.Second)
			def, err := mgmt.CreateOneTimeToken(ctx, logto.OneTimeTokenRequest{Email: u.Email})
			require.NoError(t, err)
			if r, ok := tg.(*realTarget); ok {
				r.m.cleanup(t, "/one-time-tokens/"+ott.ID)
				r.m.cleanup(t, "/one-time-tokens/"+def.ID)
			}
			assert.WithinDuration(t, at.Add(10*time.Minute), def.ExpiresAt, 2*time.Second, "Logto's default lifetime")
			assert.Empty(t, def.JITOrganizationIDs)
			assert.NotEqual(t, ott.Token, def.Token)
		})

		t.Run("refused exchanges", func(t *testing.T) {
			sub := func() string {
				st, err := mgmt.CreateSubjectToken(ctx, u.ID, nil)
				require.NoError(t, err)
				return st.Token
			}
			// A short-lived API token of the user, expired by the time it is
			// exchanged; an ID token; an M2M token, which names no user.
			short := tg.newResource(t, resourceSpec{TTL: time.Second, Scopes: []string{"short:read"}, GrantTo: []user{u}})
			uc := clientFor(t, tg, tg.webApp(), []string{"short:read"}, []string{short}, rec)
			signInClient(t, tg, uc, nil, u, logto.SignInOptions{})
			expired, err := uc.GetAccessToken(ctx, short)
			require.NoError(t, err)
			idToken, err := uc.GetIdToken(ctx)
			require.NoError(t, err)
			m2mTok, err := m2mClient(t, tg, tg.m2mApp(), tg.api(), "", []string{readData}, rec).AccessToken(ctx)
			require.NoError(t, err)
			sleepUntil(time.Unix(numeric(t, jwtClaims(t, expired), "exp")+1, 0))
			noExchange := clientFor(t, tg, tg.webApp(), nil, nil, rec)

			access := logto.TokenTypeAccessToken
			tests := []struct {
				name   string
				c      *logto.LogtoClient
				req    logto.TokenExchangeRequest
				status int
				code   string
				desc   string
			}{
				{"unknown subject token", ac, logto.TokenExchangeRequest{SubjectToken: "sub_nosuchtoken",
					SubjectTokenType: logto.TokenTypeImpersonationToken}, 400, "invalid_grant", invalidGrantDesc},
				{"expired access token", ac, logto.TokenExchangeRequest{SubjectToken: expired, SubjectTokenType: access},
					400, "invalid_grant", invalidGrantDesc},
				{"another tenant's access token", ac, logto.TokenExchangeRequest{SubjectToken: foreignToken(t),
					SubjectTokenType: access}, 400, "invalid_grant", invalidGrantDesc},
				{"ID token", ac, logto.TokenExchangeRequest{SubjectToken: idToken, SubjectTokenType: access},
					400, "invalid_grant", invalidGrantDesc},
				{"M2M token", ac, logto.TokenExchangeRequest{SubjectToken: m2mTok, SubjectTokenType: access},
					400, "invalid_grant", invalidGrantDesc},
				{"actor token that is a JWT", ac, logto.TokenExchangeRequest{SubjectToken: sub(),
					SubjectTokenType: logto.TokenTypeImpersonationToken, ActorToken: m2mTok}, 400, "invalid_grant", invalidGrantDesc},
				{"app without token exchange", noExchange, logto.TokenExchangeRequest{SubjectToken: sub(),
					SubjectTokenType: logto.TokenTypeImpersonationToken}, 400, "invalid_request",
					"requested grant type is not allowed for this client"},
				{"non-member organization", ac, logto.TokenExchangeRequest{SubjectToken: sub(),
					SubjectTokenType: logto.TokenTypeImpersonationToken, OrganizationID: tg.newOrganization(t)}, 403,
					"access_denied", "user is not a member of the organization"},
				{"unknown resource", ac, logto.TokenExchangeRequest{SubjectToken: sub(),
					SubjectTokenType: logto.TokenTypeImpersonationToken, Resource: "https://" + unique("nope") + ".example.com"},
					400, "invalid_target", "resource indicator is missing, or unknown"},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					_, err := tt.c.ExchangeToken(ctx, tt.req)
					requireGrantError(t, err, tt.status, tt.code, tt.desc)
				})
			}

			// A refused exchange leaves the subject token unspent.
			st := sub()
			_, err = ac.ExchangeToken(ctx, logto.TokenExchangeRequest{SubjectToken: st,
				SubjectTokenType: logto.TokenTypeImpersonationToken, Resource: "https://" + unique("nope") + ".example.com"})
			requireGrantError(t, err, 400, "invalid_target", "resource indicator is missing, or unknown")
			_, err = ac.ExchangeToken(ctx, logto.TokenExchangeRequest{SubjectToken: st, SubjectTokenType: logto.TokenTypeImpersonationToken})
			require.NoError(t, err)

			_, err = mgmt.CreateSubjectToken(ctx, "no-such-user", nil)
			me := requireMgmtError(t, err, 404, "entity.relation_foreign_key_not_found")
			assert.Equal(t, "/api/subject-tokens", me.Path)

			// Refused by the SDK: nothing reaches Logto.
			before := rec.count("/token")
			_, err = ac.ExchangeToken(ctx, logto.TokenExchangeRequest{SubjectToken: sub(),
				SubjectTokenType: "urn:ietf:params:oauth:token-type:id_token"})
			assert.ErrorIs(t, err, logto.ErrInvalidRequest)
			_, err = ac.ExchangeToken(ctx, logto.TokenExchangeRequest{SubjectToken: sub(),
				SubjectTokenType: logto.TokenTypeImpersonationToken, ActorToken: actor, ActorTokenType: logto.TokenTypeImpersonationToken})
			assert.ErrorIs(t, err, logto.ErrInvalidRequest)
			assert.Equal(t, before, rec.count("/token"), "nothing sent")
		})
	})
}
