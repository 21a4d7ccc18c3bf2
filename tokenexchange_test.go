package logto_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto"
	"github.com/gologto/logto/logtotest"
)

// Apps of the token exchange tests, on top of newProvider's.
const (
	exchangeAppID     = "exchange-app"
	exchangeAppSecret = "exchange-secret"
	exchangeSPAID     = "exchange-spa"
	opsAppID          = "ops-app" // M2M with token exchange
	opsAppSecret      = "ops-secret"
	adminAppID        = "mgmt-app" // M2M for the Management API
	adminAppSecret    = "mgmt-secret"
)

// newExchangeProvider is newProvider with apps that may exchange tokens
// (a confidential web app, an SPA, an M2M app) and an M2M app for the
// Management API.
func newExchangeProvider(t testing.TB) *logtotest.Server {
	t.Helper()
	srv := newProvider(t)
	srv.AddApp(logtotest.App{ID: exchangeAppID, Secret: exchangeAppSecret, Type: logtotest.AppTraditional,
		RedirectURIs: []string{redirectURI}, AllowTokenExchange: true})
	srv.AddApp(logtotest.App{ID: exchangeSPAID, Type: logtotest.AppSPA,
		RedirectURIs: []string{redirectURI}, AllowTokenExchange: true})
	srv.AddApp(logtotest.App{ID: opsAppID, Secret: opsAppSecret, Type: logtotest.AppMachineToMachine, AllowTokenExchange: true})
	srv.AddApp(logtotest.App{ID: adminAppID, Secret: adminAppSecret, Type: logtotest.AppMachineToMachine,
		ResourceScopes: map[string][]string{logtotest.ManagementAPIResource: {"all"}}})
	return srv
}

func exchangeClient(t testing.TB, srv *logtotest.Server, id, secret string) *logto.LogtoClient {
	t.Helper()
	c, err := logto.NewLogtoClient(logto.LogtoConfig{Endpoint: srv.URL(), AppId: id, AppSecret: secret},
		logto.NewMemoryStorage(), logto.WithClock(srv.Now))
	require.NoError(t, err)
	return c
}

func managementClient(t testing.TB, srv *logtotest.Server, opts ...logto.Option) *logto.M2MClient {
	t.Helper()
	m, err := logto.NewM2MClient(logto.M2MConfig{
		Endpoint: srv.URL(), AppId: adminAppID, AppSecret: adminAppSecret,
		Resource: logto.DefaultManagementAPIResource, Scopes: []string{"all"},
	}, append([]logto.Option{logto.WithClock(srv.Now)}, opts...)...)
	require.NoError(t, err)
	return m
}

func subjectToken(t testing.TB, m *logto.M2MClient, userID string) string {
	t.Helper()
	st, err := m.CreateSubjectToken(context.Background(), userID, nil)
	require.NoError(t, err)
	return st.Token
}

// TestExchangeTokenImpersonation: a subject token for alice is exchanged
// once for her API token, by each kind of app, with the app's client
// authentication; the actor token of bob puts act.sub bob in the token.
func TestExchangeTokenImpersonation(t *testing.T) {
	ctx := context.Background()
	srv := newExchangeProvider(t)
	mgmt := managementClient(t, srv)

	// bob signs in to the exchanging app: his opaque token is the actor.
	bob := exchangeClient(t, srv, exchangeAppID, exchangeAppSecret)
	signInAs(t, srv, bob, bobID)
	actor, err := bob.GetAccessToken(ctx, "")
	require.NoError(t, err)
	before := map[string]string{}
	for _, k := range []string{logto.StorageKeyIDToken, logto.StorageKeyRefreshToken, logto.StorageKeyAccessTokens} {
		before[k], _ = bob.Storage().Get(ctx, k)
	}

	m2m, err := logto.NewM2MClient(logto.M2MConfig{Endpoint: srv.URL(), AppId: opsAppID, AppSecret: opsAppSecret, Resource: apiResource},
		logto.WithClock(srv.Now))
	require.NoError(t, err)
	exchangers := []struct {
		name     string
		clientID string
		basic    bool
		exchange func(context.Context, logto.TokenExchangeRequest) (*logto.ExchangedToken, error)
	}{
		{"confidential web app", exchangeAppID, true, bob.ExchangeToken},
		{"public SPA", exchangeSPAID, false, exchangeClient(t, srv, exchangeSPAID, "").ExchangeToken},
		{"machine-to-machine app", opsAppID, true, m2m.ExchangeToken},
	}
	for _, tt := range exchangers {
		t.Run(tt.name, func(t *testing.T) {
			for _, typ := range []logto.TokenType{logto.TokenTypeImpersonationToken, logto.TokenTypeAccessToken} {
				st := subjectToken(t, mgmt, aliceID)
				srv.ResetRequests()
				req := logto.TokenExchangeRequest{
					SubjectToken: st, SubjectTokenType: typ, ActorToken: actor,
					Resource: apiResource, Scopes: []string{"read:data", "write:data", "delete:data"},
				}
				at := srv.Now()
				tok, err := tt.exchange(ctx, req)
				require.NoError(t, err, typ)
				assert.Equal(t, "read:data write:data", tok.Scope, "the scopes alice's roles grant")
				assert.Equal(t, []string{"read:data", "write:data"}, tok.Scopes())
				assert.Equal(t, "Bearer", tok.TokenType)
				assert.Equal(t, logto.TokenTypeAccessToken, tok.IssuedTokenType, "Logto omits issued_token_type")
				assert.Equal(t, time.Unix(at.Unix()+3600, 0), tok.Expiry)
				claims, err := tok.Claims()
				require.NoError(t, err)
				assert.Equal(t, aliceID, claims.Subject)
				assert.Equal(t, tt.clientID, claims.ClientID)
				assert.Equal(t, logto.Audience{apiResource}, claims.Audience)
				require.NotNil(t, claims.Act)
				assert.Equal(t, &logto.Actor{Subject: bobID}, claims.Act)
				assert.Equal(t, tok.Expiry.Unix(), int64(claims.Expiry))

				// The wire: the RFC 8693 parameters and the app's client
				// authentication.
				sent := srv.Requests(logtotest.EndpointToken)
				require.Len(t, sent, 1)
				f := sent[0].Form
				assert.Equal(t, logto.GrantTypeTokenExchange, f.Get("grant_type"))
				assert.Equal(t, st, f.Get("subject_token"))
				assert.Equal(t, string(typ), f.Get("subject_token_type"))
				assert.Equal(t, actor, f.Get("actor_token"))
				assert.Equal(t, string(logto.TokenTypeAccessToken), f.Get("actor_token_type"))
				assert.Equal(t, apiResource, f.Get("resource"))
				assert.Equal(t, "read:data write:data delete:data", f.Get("scope"))
				_, _, basic := (&http.Request{Header: sent[0].Header}).BasicAuth()
				assert.Equal(t, tt.basic, basic)
				if tt.basic {
					assert.Empty(t, f.Get("client_id"))
				} else {
					assert.Equal(t, tt.clientID, f.Get("client_id"))
				}

				// A subject token is used once.
				_, err = tt.exchange(ctx, req)
				oe := requireOAuthError(t, err, "invalid_grant")
				assert.Equal(t, "grant request is invalid", oe.Description)
			}
		})
	}

	// The session of the exchanging client is untouched.
	for k, v := range before {
		got, _ := bob.Storage().Get(ctx, k)
		assert.Equal(t, v, got, k)
	}
}

func requireOAuthError(t testing.TB, err error, code string) *logto.OAuthError {
	t.Helper()
	var oe *logto.OAuthError
	require.ErrorAs(t, err, &oe, "%v", err)
	assert.Equal(t, code, oe.Code, "%v", err)
	assert.Equal(t, "token", oe.Endpoint)
	return oe
}

// TestExchangeTokenSubjects covers the other subject tokens and what each
// target yields: a personal access token (exchanged again and again until
// deleted), an access token (opaque or JWT), organization tokens and the
// opaque user info token.
func TestExchangeTokenSubjects(t *testing.T) {
	ctx := context.Background()
	srv := newExchangeProvider(t)
	mgmt := managementClient(t, srv)
	c := exchangeClient(t, srv, exchangeAppID, exchangeAppSecret)

	t.Run("personal access token", func(t *testing.T) {
		pat, err := mgmt.CreatePersonalAccessToken(ctx, aliceID, "ci", time.Time{})
		require.NoError(t, err)
		req := logto.TokenExchangeRequest{SubjectToken: pat.Value, SubjectTokenType: logto.TokenTypePersonalAccessToken,
			Resource: apiResource, Scopes: []string{"read:data"}}
		for range 2 {
			tok, err := c.ExchangeToken(ctx, req)
			require.NoError(t, err)
			claims, err := tok.Claims()
			require.NoError(t, err)
			assert.Equal(t, aliceID, claims.Subject)
			assert.Equal(t, "read:data", claims.Scope)
			assert.Nil(t, claims.Act, "no actor, no act")
		}
		// As another type, Logto does not find it.
		_, err = c.ExchangeToken(ctx, logto.TokenExchangeRequest{SubjectToken: pat.Value, SubjectTokenType: logto.TokenTypeAccessToken, Resource: apiResource})
		requireOAuthError(t, err, "invalid_grant")
		require.NoError(t, mgmt.DeletePersonalAccessToken(ctx, aliceID, "ci"))
		_, err = c.ExchangeToken(ctx, req)
		requireOAuthError(t, err, "invalid_grant")
	})

	t.Run("access tokens", func(t *testing.T) {
		alice := signedInAlice(t, srv)
		opaque, err := alice.GetAccessToken(ctx, "")
		require.NoError(t, err)
		jwt, err := alice.GetAccessToken(ctx, apiResource)
		require.NoError(t, err)
		for name, subject := range map[string]string{"opaque": opaque, "JWT": jwt} {
			tok, err := c.ExchangeToken(ctx, logto.TokenExchangeRequest{SubjectToken: subject,
				SubjectTokenType: logto.TokenTypeAccessToken, OrganizationID: memberOrg, Scopes: []string{"read:org"}})
			require.NoError(t, err, name)
			claims, err := tok.Claims()
			require.NoError(t, err, name)
			assert.Equal(t, aliceID, claims.Subject, name)
			assert.Equal(t, logto.Audience{logto.OrganizationURNPrefix + memberOrg}, claims.Audience, name)
			assert.Equal(t, "read:org", tok.Scope, name)
		}
		// An ID token is not an access token.
		id, err := alice.GetIdToken(ctx)
		require.NoError(t, err)
		_, err = c.ExchangeToken(ctx, logto.TokenExchangeRequest{SubjectToken: id, SubjectTokenType: logto.TokenTypeAccessToken})
		requireOAuthError(t, err, "invalid_grant")
	})

	t.Run("organization-scoped API token and user info token", func(t *testing.T) {
		tok, err := c.ExchangeToken(ctx, logto.TokenExchangeRequest{SubjectToken: subjectToken(t, mgmt, aliceID),
			SubjectTokenType: logto.TokenTypeImpersonationToken, Resource: apiResource, OrganizationID: memberOrg,
			Scopes: []string{"read:data", "write:data"}})
		require.NoError(t, err)
		claims, err := tok.Claims()
		require.NoError(t, err)
		assert.Equal(t, memberOrg, claims.OrganizationID)

		tok, err = c.ExchangeToken(ctx, logto.TokenExchangeRequest{SubjectToken: subjectToken(t, mgmt, aliceID),
			SubjectTokenType: logto.TokenTypeImpersonationToken, Scopes: []string{"openid", "profile", "read:data"}})
		require.NoError(t, err)
		assert.Equal(t, "openid profile", tok.Scope, "OIDC scopes only")
		_, err = tok.Claims()
		assert.ErrorIs(t, err, logto.ErrTokenMalformed, "an opaque token has no claims to decode")
		// It is alice's token for the user info endpoint.
		req, _ := http.NewRequest(http.MethodGet, srv.Issuer()+"/me", nil)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode)
	})
}

// signedInAlice is a client of the web app (without token exchange) with
// the API resource, alice signed in.
func signedInAlice(t testing.TB, srv *logtotest.Server) *logto.LogtoClient {
	t.Helper()
	c, err := logto.NewLogtoClient(logto.LogtoConfig{Endpoint: srv.URL(), AppId: appID, AppSecret: appSecret,
		Scopes: []string{"read:data"}, Resources: []string{apiResource}}, logto.NewMemoryStorage(), logto.WithClock(srv.Now))
	require.NoError(t, err)
	signInAs(t, srv, c, aliceID)
	return c
}

// TestExchangeTokenRefused: Logto's refusals are typed *OAuthError with
// its exact codes; a request that cannot work is refused before sending.
func TestExchangeTokenRefused(t *testing.T) {
	ctx := context.Background()
	srv := newExchangeProvider(t)
	mgmt := managementClient(t, srv)
	c := exchangeClient(t, srv, exchangeAppID, exchangeAppSecret)
	imp := func(token string) logto.TokenExchangeRequest {
		return logto.TokenExchangeRequest{SubjectToken: token, SubjectTokenType: logto.TokenTypeImpersonationToken, Resource: apiResource}
	}

	t.Run("server refusals", func(t *testing.T) {
		other := logtotest.NewServer(t)
		other.AddApp(logtotest.App{ID: "x", Secret: "y", Type: logtotest.AppMachineToMachine,
			ResourceScopes: map[string][]string{apiResource: {"read:data"}}})
		other.AddResource(logtotest.Resource{Indicator: apiResource})
		foreignM2M, err := logto.NewM2MClient(logto.M2MConfig{Endpoint: other.URL(), AppId: "x", AppSecret: "y", Resource: apiResource})
		require.NoError(t, err)
		foreign, err := foreignM2M.AccessToken(ctx)
		require.NoError(t, err)

		expired := subjectToken(t, mgmt, aliceID)
		expiring, err := mgmt.CreatePersonalAccessToken(ctx, aliceID, "short", srv.Now().Add(time.Minute))
		require.NoError(t, err)
		srv.Advance(10*time.Minute + time.Second)

		noExchange := exchangeClient(t, srv, appID, appSecret)
		tests := []struct {
			name   string
			client *logto.LogtoClient
			req    logto.TokenExchangeRequest
			status int
			code   string
			desc   string
		}{
			{"expired subject token", c, imp(expired), 400, "invalid_grant", "grant request is invalid"},
			{"unknown subject token", c, imp("sub_unknown"), 400, "invalid_grant", "grant request is invalid"},
			{"expired personal access token", c, logto.TokenExchangeRequest{SubjectToken: expiring.Value,
				SubjectTokenType: logto.TokenTypePersonalAccessToken}, 400, "invalid_grant", "grant request is invalid"},
			{"another tenant's access token", c, logto.TokenExchangeRequest{SubjectToken: foreign,
				SubjectTokenType: logto.TokenTypeAccessToken}, 400, "invalid_grant", "grant request is invalid"},
			{"an M2M token names no user", c, logto.TokenExchangeRequest{SubjectToken: mustM2MToken(t, srv),
				SubjectTokenType: logto.TokenTypeAccessToken}, 400, "invalid_grant", "grant request is invalid"},
			{"app without token exchange", noExchange, imp(subjectToken(t, mgmt, aliceID)), 400, "invalid_request",
				"requested grant type is not allowed for this client"},
			{"actor token that is not an access token", c, logto.TokenExchangeRequest{SubjectToken: subjectToken(t, mgmt, aliceID),
				SubjectTokenType: logto.TokenTypeImpersonationToken, ActorToken: "nope"}, 400, "invalid_grant", "grant request is invalid"},
			{"non-member organization", c, logto.TokenExchangeRequest{SubjectToken: subjectToken(t, mgmt, aliceID),
				SubjectTokenType: logto.TokenTypeImpersonationToken, OrganizationID: nonMemberOrg}, 403, "access_denied",
				"user is not a member of the organization"},
			{"unknown resource", c, logto.TokenExchangeRequest{SubjectToken: subjectToken(t, mgmt, aliceID),
				SubjectTokenType: logto.TokenTypeImpersonationToken, Resource: "https://unknown.example.com"}, 400, "invalid_target",
				"resource indicator is missing, or unknown"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := tt.client.ExchangeToken(ctx, tt.req)
				oe := requireOAuthError(t, err, tt.code)
				assert.Equal(t, tt.status, oe.StatusCode)
				assert.Equal(t, tt.desc, oe.Description)
				assert.NotErrorIs(t, err, logto.ErrInvalidRequest)
				assertNoSecrets(t, err, tt.req.SubjectToken, tt.req.ActorToken, exchangeAppSecret, appSecret)
			})
		}
	})

	t.Run("a refused exchange does not consume the subject token", func(t *testing.T) {
		st := subjectToken(t, mgmt, aliceID)
		_, err := c.ExchangeToken(ctx, logto.TokenExchangeRequest{SubjectToken: st,
			SubjectTokenType: logto.TokenTypeImpersonationToken, Resource: "https://unknown.example.com"})
		requireOAuthError(t, err, "invalid_target")
		_, err = c.ExchangeToken(ctx, imp(st))
		require.NoError(t, err)
	})

	t.Run("refused before sending", func(t *testing.T) {
		tests := []struct {
			name string
			req  logto.TokenExchangeRequest
		}{
			{"no subject token", logto.TokenExchangeRequest{SubjectTokenType: logto.TokenTypeAccessToken}},
			{"no subject token type", logto.TokenExchangeRequest{SubjectToken: "sub_x"}},
			{"unknown subject token type", logto.TokenExchangeRequest{SubjectToken: "sub_x", SubjectTokenType: "urn:ietf:params:oauth:token-type:id_token"}},
			{"unknown actor token type", logto.TokenExchangeRequest{SubjectToken: "sub_x", SubjectTokenType: logto.TokenTypeImpersonationToken,
				ActorToken: "a", ActorTokenType: logto.TokenTypePersonalAccessToken}},
			{"actor token type without actor token", logto.TokenExchangeRequest{SubjectToken: "sub_x", SubjectTokenType: logto.TokenTypeImpersonationToken,
				ActorTokenType: logto.TokenTypeAccessToken}},
			{"relative resource", logto.TokenExchangeRequest{SubjectToken: "sub_x", SubjectTokenType: logto.TokenTypeImpersonationToken, Resource: "api"}},
			{"scope with a space", logto.TokenExchangeRequest{SubjectToken: "sub_x", SubjectTokenType: logto.TokenTypeImpersonationToken, Scopes: []string{"a b"}}},
			{"empty scope", logto.TokenExchangeRequest{SubjectToken: "sub_x", SubjectTokenType: logto.TokenTypeImpersonationToken, Scopes: []string{""}}},
		}
		m2m, err := logto.NewM2MClient(logto.M2MConfig{Endpoint: srv.URL(), AppId: opsAppID, AppSecret: opsAppSecret, Resource: apiResource})
		require.NoError(t, err)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				srv.ResetRequests()
				_, err := c.ExchangeToken(ctx, tt.req)
				assert.ErrorIs(t, err, logto.ErrInvalidRequest)
				_, err = m2m.ExchangeToken(ctx, tt.req)
				assert.ErrorIs(t, err, logto.ErrInvalidRequest)
				assert.Zero(t, len(srv.Requests(logtotest.EndpointToken))+len(srv.Requests(logtotest.EndpointDiscovery)), "nothing sent")
			})
		}
	})

	t.Run("answers the SDK refuses", func(t *testing.T) {
		srv.MutateTokenResponses(func(resp map[string]any) { delete(resp, "expires_in") })
		_, err := c.ExchangeToken(ctx, imp(subjectToken(t, mgmt, aliceID)))
		assert.ErrorIs(t, err, logto.ErrInvalidResponse)
		srv.MutateTokenResponses(func(resp map[string]any) { resp["issued_token_type"] = "urn:ietf:params:oauth:token-type:jwt" })
		tok, err := c.ExchangeToken(ctx, imp(subjectToken(t, mgmt, aliceID)))
		require.NoError(t, err)
		assert.Equal(t, logto.TokenType("urn:ietf:params:oauth:token-type:jwt"), tok.IssuedTokenType, "kept as sent")
		srv.MutateTokenResponses(nil)
	})

	t.Run("context", func(t *testing.T) {
		canceled, cancel := context.WithCancel(ctx)
		cancel()
		_, err := c.ExchangeToken(canceled, imp(subjectToken(t, mgmt, aliceID)))
		assert.True(t, errors.Is(err, context.Canceled), "%v", err)
	})
}

// mustM2MToken is a client-credentials token of the management app.
func mustM2MToken(t testing.TB, srv *logtotest.Server) string {
	t.Helper()
	tok, err := managementClient(t, srv).AccessToken(context.Background())
	require.NoError(t, err)
	return tok
}

func TestTokenTypeValid(t *testing.T) {
	for typ, want := range map[logto.TokenType]bool{
		logto.TokenTypeAccessToken: true, logto.TokenTypePersonalAccessToken: true, logto.TokenTypeImpersonationToken: true,
		"": false, "access_token": false, "urn:ietf:params:oauth:token-type:refresh_token": false,
	} {
		assert.Equal(t, want, typ.Valid(), typ)
	}
}
